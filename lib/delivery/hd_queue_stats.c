/* The queue's measurement of hd_queue_stats.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hd_queue_stats.h"

/* States times priorities (0..255) bound the rows; more would be a schema change. */
#define HD_QUEUE_ROWS_MAX 512

enum hd_err
hd_queue_stats(struct hd_db *db, struct hd_queue_row **rows, size_t *n)
{
	static const char sql[] = "CALL hd_queue_metrics()";
	struct hd_queue_row row, *all = NULL;
	struct hd_dbc cols[4] = {
		{ .type = HD_DBT_TEXT, .buf = row.state, .cap = sizeof(row.state) },
		{ .type = HD_DBT_I64, .num = &row.priority },
		{ .type = HD_DBT_I64, .num = &row.deliveries },
		{ .type = HD_DBT_I64, .num = &row.oldest_due_us },
	};
	size_t used = 0;
	bool more = true;
	enum hd_err err;

	*rows = NULL;
	*n = 0;
	memset(&row, 0, sizeof(row));
	if ((err = hd_db_query(db, sql, NULL, 0, cols, 4)) != HD_OK)
		return err;
	if ((all = calloc(HD_QUEUE_ROWS_MAX, sizeof(*all))) == NULL)
		err = HD_ERR_NOMEM;
	while (err == HD_OK && (err = hd_db_fetch(db, &more)) == HD_OK && more) {
		if (used == HD_QUEUE_ROWS_MAX) {
			err = HD_ERR_INTERNAL;
			break;
		}
		all[used++] = row;
	}
	hd_db_done(db);
	if (err != HD_OK) {
		free(all);
		return err;
	}
	*rows = all;
	*n = used;
	return HD_OK;
}
