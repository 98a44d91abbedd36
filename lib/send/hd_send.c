#include <string.h>

#include "hd_send.h"
#include "hd_time.h"

static const char *const hd_source_names[HD_SRC__MAX] = {
	[HD_SRC_DEVELOPER] = "developer",
	[HD_SRC_AUDIENCE] = "audience",
	[HD_SRC_INBOX] = "inbox",
	[HD_SRC_LEGACY] = "legacy",
	[HD_SRC_WEBPUSH] = "webpush",
};

const char *
hd_source_name(enum hd_source source)
{
	return (unsigned)source < HD_SRC__MAX ? hd_source_names[source] : "";
}

/* The whole transaction is one procedure (schema/migrations/0003_request_path.sql):
 * one round trip instead of five keeps group commit fed. */
static const char SQL_QUEUE_MESSAGE[] =
    "CALL hd_queue_message(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static struct hd_dbp
hd_opt_text(const char *s, size_t len)
{
	return s ? HD_DBP_TEXT(s, len) : HD_DBP_NULL;
}

enum hd_err
hd_send(struct hd_db *db, const struct hd_principal *who, const struct hd_target *t,
    const struct hd_message *m, struct hd_send_result *out)
{
	int64_t count = 0, replayed = 0, user_found = 0, retry = 0;
	struct hd_dbc cols[5] = {
		{ .type = HD_DBT_I64, .num = &count },
		{ .type = HD_DBT_I64, .num = &replayed },
		{ .type = HD_DBT_I64, .num = &user_found },
		{ .type = HD_DBT_I64, .num = &retry },
		{ .type = HD_DBT_TEXT, .buf = out->first_target, .cap = sizeof(out->first_target) },
	};
	struct hd_dbp p[15] = {
		HD_DBP_U64(who->app_id),
		HD_DBP_STR(hd_source_names[m->source]),
		HD_DBP_U64(t->by),
		HD_DBP_TEXT(t->value, t->len),
		hd_opt_text(m->title, m->title_len),
		hd_opt_text(m->body, m->body_len),
		m->data_json ? HD_DBP_STR(m->data_json) : HD_DBP_NULL,
		m->sound ? HD_DBP_STR(m->sound) : HD_DBP_NULL,
		m->ttl_s >= 0 ? HD_DBP_U64(m->ttl_s) : HD_DBP_NULL,
		HD_DBP_U64(m->priority),
		m->schedule_at > hd_now_usec() ? HD_DBP_TIME(m->schedule_at) : HD_DBP_NULL,
		hd_opt_text(m->dedupe_key, m->dedupe_len),
		HD_DBP_U64(who->dedupe_window_s),
		who->quota_hourly >= 0 ? HD_DBP_U64(who->quota_hourly) : HD_DBP_NULL,
		who->quota_daily >= 0 ? HD_DBP_U64(who->quota_daily) : HD_DBP_NULL,
	};
	enum hd_err err;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (!who->push_enabled) {
		out->disabled = true;
		return HD_OK;
	}
	if ((err = hd_db_call_txn(db, SQL_QUEUE_MESSAGE, p, 15, cols, 5, &found)) != HD_OK)
		return err;
	if (!found)
		return HD_ERR_DB;
	out->push_count = (unsigned)count;
	out->replayed = replayed != 0;
	out->user_found = user_found != 0;
	out->user_ambiguous = user_found == 2;
	out->quota_retry_after = cols[3].is_null ? 0 : (unsigned)retry;
	if (cols[4].is_null)
		out->first_target[0] = '\0';
	return HD_OK;
}
