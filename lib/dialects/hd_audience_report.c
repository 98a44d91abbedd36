#include <string.h>

#include "hd_audience_report.h"

static const char SQL_OUTCOMES[] = "CALL hd_audience_outcomes(?, ?)";
static const char SQL_APP_DEVICES[] = "CALL hd_audience_reach(?)";

/* Longest token (devices.token) and reason (deliveries.reason) read back. */
#define TOKEN_CAP 2049
#define REASON_CAP 256

static json_object *
hd_detail(const char *token, const char *platform, const char *state, const char *reason)
{
	json_object *o = json_object_new_object();
	const char *why = reason;

	/* Not finished within the wait: the worker goes on with it. */
	if (strcmp(state, "queued") == 0 || strcmp(state, "sending") == 0)
		why = "still being retried when the answer was due; herald's worker goes on"
		    " delivering it";
	else if (why == NULL || *why == '\0')
		why = state;
	if (o == NULL ||
	    json_object_object_add(o, "identifier", json_object_new_string(token)) != 0 ||
	    json_object_object_add(o, "platform", json_object_new_string(platform)) != 0 ||
	    json_object_object_add(o, "status", json_object_new_string(state)) != 0 ||
	    json_object_object_add(o, "reason", json_object_new_string(why)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

enum hd_err
hd_audience_outcome(struct hd_db *db, uint64_t app_id, uint64_t message_id,
    struct hd_audience_outcome *out)
{
	char platform[16], token[TOKEN_CAP], state[16], reason[REASON_CAP];
	struct hd_dbc cols[4] = {
		{ .type = HD_DBT_TEXT, .buf = platform, .cap = sizeof(platform) },
		{ .type = HD_DBT_TEXT, .buf = token, .cap = sizeof(token) },
		{ .type = HD_DBT_TEXT, .buf = state, .cap = sizeof(state) },
		{ .type = HD_DBT_TEXT, .buf = reason, .cap = sizeof(reason) },
	};
	struct hd_dbp p[2] = { HD_DBP_U64(message_id), HD_DBP_U64(app_id) };
	enum hd_err err;
	bool row = false;

	memset(out, 0, sizeof(*out));
	if ((out->details = json_object_new_array()) == NULL)
		return HD_ERR_NOMEM;
	if ((err = hd_db_query(db, SQL_OUTCOMES, p, 2, cols, 4)) != HD_OK)
		goto fail;
	while ((err = hd_db_fetch(db, &row)) == HD_OK && row) {
		json_object *d;

		if (strcmp(state, "delivered") == 0) {
			out->successful++;
			continue;
		}
		out->erroneous++;
		d = hd_detail(token, platform, state, cols[3].is_null ? NULL : reason);
		if (d == NULL || json_object_array_add(out->details, d) != 0) {
			json_object_put(d);
			err = HD_ERR_NOMEM;
			break;
		}
	}
	hd_db_done(db);
	if (err == HD_OK)
		return HD_OK;
fail:
	json_object_put(out->details);
	out->details = NULL;
	return err;
}

enum hd_err
hd_audience_why_none(struct hd_db *db, uint64_t app_id, enum hd_audience_code *out)
{
	int64_t any = 0, pushable = 0;
	struct hd_dbc cols[2] = {
		{ .type = HD_DBT_I64, .num = &any },
		{ .type = HD_DBT_I64, .num = &pushable },
	};
	struct hd_dbp p = HD_DBP_U64(app_id);
	bool found = false;
	enum hd_err err;

	if ((err = hd_db_call(db, SQL_APP_DEVICES, &p, 1, cols, 2, &found)) != HD_OK)
		return err;
	*out = !found || !any ? HD_AC_NOT_INTEGRATED : !pushable ? HD_AC_NO_PUSH_TOKENS :
	    HD_AC_NO_USERS;
	return HD_OK;
}
