/*
 * What became of a webpush send's deliveries once its synchronous wait is over
 * (hd_webpush_send.h): read from the deliveries themselves, so that deliveries a
 * worker happened to claim first are counted as well as this request's own
 * (hd_deliver_call has waited for them within the same bound).
 */
#include <string.h>

#include "hd_pushid.h"
#include "hd_webpush_send.h"

static const char wp_outcomes_sql[] = "CALL hd_webpush_outcomes(?)";

enum hd_err
hd_wp_outcomes(struct hd_db *db, uint64_t message_id, struct hd_wp_outcome *out)
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

	out->delivered = out->failed = 0;
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
