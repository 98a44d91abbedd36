/*
 * What became of a webpush send's deliveries once its synchronous wait is over
 * (hd_webpush_send.h): read from the deliveries themselves, so that deliveries a
 * worker happened to claim first are counted as well as this request's own. While
 * such a claim is still in flight ('sending') the rows are read again, every
 * WP_POLL_USEC, until the deadline.
 */
#include <string.h>
#include <time.h>

#include "hd_pushid.h"
#include "hd_time.h"
#include "hd_webpush_send.h"

#define WP_POLL_USEC 20000

static const char wp_outcomes_sql[] =
    "SELECT dl.state, d.uid FROM deliveries dl JOIN devices d ON d.id = dl.device_id"
    " WHERE dl.message_id = ? ORDER BY dl.id";

/* One reading; *sending counts the deliveries in flight. */
static enum hd_err
wp_read(struct hd_db *db, uint64_t message_id, struct hd_wp_outcome *out,
    uint64_t *sending)
{
	struct hd_dbp params[] = { HD_DBP_U64(message_id) };
	char state[16], uid[HD_DEVICE_UID_LEN + 1], reg[HD_REG_ID_LEN + 1];
	struct hd_dbc cols[] = {
		{ .type = HD_DBT_TEXT, .buf = state, .cap = sizeof(state) },
		{ .type = HD_DBT_TEXT, .buf = uid, .cap = sizeof(uid) },
	};
	json_object *id;
	enum hd_err err;
	bool row;

	out->delivered = out->failed = *sending = 0;
	json_object_put(out->gone);
	if ((out->gone = json_object_new_array()) == NULL)
		return HD_ERR_NOMEM;
	if ((err = hd_db_query(db, wp_outcomes_sql, params, 1, cols, 2)) != HD_OK)
		return err;
	while ((err = hd_db_fetch(db, &row)) == HD_OK && row) {
		if (strcmp(state, "delivered") == 0) {
			out->delivered++;
			continue;
		}
		out->failed++;
		*sending += strcmp(state, "sending") == 0;
		if (strcmp(state, "gone") != 0)
			continue;
		hd_reg_id(uid, reg);
		if ((id = json_object_new_string(reg)) == NULL ||
		    json_object_array_add(out->gone, id) != 0) {
			json_object_put(id);
			err = HD_ERR_NOMEM;
			break;
		}
	}
	hd_db_done(db);
	return err;
}

enum hd_err
hd_wp_outcomes(struct hd_db *db, uint64_t message_id, int64_t deadline,
    struct hd_wp_outcome *out)
{
	struct timespec pause = { 0, WP_POLL_USEC * 1000 };
	uint64_t sending;
	enum hd_err err;

	while ((err = wp_read(db, message_id, out, &sending)) == HD_OK && sending > 0 &&
	    hd_now_usec() + WP_POLL_USEC < deadline)
		nanosleep(&pause, NULL);
	return err;
}
