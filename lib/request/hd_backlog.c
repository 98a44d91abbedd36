/* The queue backlog's measurement and check (see hd_backlog.h). */
#include <stdint.h>

#include "hd_backlog.h"

enum hd_err
hd_backlog_measure(struct hd_db *db, unsigned limit)
{
	static const char sql[] = "CALL hd_measure_backlog(?)";
	struct hd_dbp p[] = { HD_DBP_I64((int64_t)limit + 1) };
	int64_t due = 0;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &due };
	bool found;

	hd_db_request_start(db);
	/* Every worker writes the one row: on a Galera cluster, workers on two nodes
	 * conflict at commit, and the measurement is simply taken again. */
	return hd_db_call_txn(db, sql, p, 1, &col, 1, &found);
}

enum hd_err
hd_backlog_over(struct hd_db *db, unsigned limit, bool *over)
{
	static const char sql[] = "CALL hd_backlog_due(?)";
	struct hd_dbp p[] = { HD_DBP_I64(HD_BACKLOG_FRESH_S) };
	int64_t due = 0;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &due };
	bool found = false;
	enum hd_err err;

	*over = false;
	if ((err = hd_db_call(db, sql, p, 1, &col, 1, &found)) != HD_OK)
		return err;
	*over = found && due > (int64_t)limit;
	return HD_OK;
}
