#include <string.h>

#include "hd_log.h"
#include "hd_send.h"
#include "hd_time.h"

/* Transactions that lose a deadlock or a Galera certification are rerun this often. */
#define HD_SEND_ATTEMPTS 5

static const char *const hd_source_names[HD_SRC__MAX] = {
	[HD_SRC_DEVELOPER] = "developer",
	[HD_SRC_AUDIENCE] = "audience",
	[HD_SRC_INBOX] = "inbox",
	[HD_SRC_LEGACY] = "legacy",
	[HD_SRC_WEBPUSH] = "webpush",
};

static const char SQL_INSERT_MESSAGE[] =
    "INSERT INTO messages (app_id, source, title, body, data, sound, ttl_s, priority,"
    " schedule_at, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, NOW(6)), ?)";

/* One statement per way of naming the user, so each uses its index. */
#define HD_SQL_QUEUE(cond) \
    "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)" \
    " SELECT ?, d.id, d.app_id, ?, COALESCE(?, NOW(6))" \
    " FROM app_users u JOIN devices d ON d.app_user_id = u.id" \
    " WHERE u.app_id = ? AND " cond \
    " AND d.status = 'active' AND d.push_permission = 1"

static const char SQL_QUEUE_BY_EXTERNAL_ID[] = HD_SQL_QUEUE("u.external_id = ?");
static const char SQL_QUEUE_BY_UID[] = HD_SQL_QUEUE("u.uid = ?");
static const char SQL_QUEUE_BY_EMAIL[] = HD_SQL_QUEUE("u.email = ?");

static const char *const hd_queue_sql[HD_BY__MAX] = {
	[HD_BY_EXTERNAL_ID] = SQL_QUEUE_BY_EXTERNAL_ID,
	[HD_BY_USER_UID] = SQL_QUEUE_BY_UID,
	[HD_BY_EMAIL] = SQL_QUEUE_BY_EMAIL,
};

static const char SQL_USER_BY_EXTERNAL_ID[] =
    "SELECT 1 FROM app_users WHERE app_id = ? AND external_id = ? LIMIT 1";
static const char SQL_USER_BY_UID[] =
    "SELECT 1 FROM app_users WHERE app_id = ? AND uid = ? LIMIT 1";
static const char SQL_USER_BY_EMAIL[] =
    "SELECT 1 FROM app_users WHERE app_id = ? AND email = ? LIMIT 1";

static const char *const hd_user_sql[HD_BY__MAX] = {
	[HD_BY_EXTERNAL_ID] = SQL_USER_BY_EXTERNAL_ID,
	[HD_BY_USER_UID] = SQL_USER_BY_UID,
	[HD_BY_EMAIL] = SQL_USER_BY_EMAIL,
};

/* Affected rows: 1 inserted, 2 an expired record taken over, 0 a live duplicate. */
static const char SQL_DEDUPE_CLAIM[] =
    "INSERT INTO dedupe (app_id, dedupe_key, message_id, push_count, created_at)"
    " VALUES (?, ?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE"
    " message_id = IF(created_at < NOW(6) - INTERVAL ? SECOND, VALUES(message_id), message_id),"
    " push_count = IF(message_id = VALUES(message_id), VALUES(push_count), push_count),"
    " created_at = IF(message_id = VALUES(message_id), VALUES(created_at), created_at)";

static const char SQL_DEDUPE_REPLAY[] =
    "SELECT push_count FROM dedupe WHERE app_id = ? AND dedupe_key = ?"
    " AND created_at >= NOW(6) - INTERVAL ? SECOND";

static struct hd_dbp
hd_opt_text(const char *s, size_t len)
{
	return s ? HD_DBP_TEXT(s, len) : HD_DBP_NULL;
}

/* Looks for a live dedupe record: the first request's answer is replayed. */
static enum hd_err
hd_send_replay(struct hd_db *db, const struct hd_principal *who,
    const struct hd_message *m, struct hd_send_result *out, bool *found)
{
	int64_t count = 0;
	struct hd_dbc col = { .type = HD_DBT_U64, .num = &count };
	struct hd_dbp p[3] = {
		HD_DBP_U64(who->app_id),
		HD_DBP_TEXT(m->dedupe_key, m->dedupe_len),
		HD_DBP_U64(who->dedupe_window_s),
	};
	enum hd_err err;

	if ((err = hd_db_query_one(db, SQL_DEDUPE_REPLAY, p, 3, &col, 1, found)) != HD_OK)
		return err;
	if (*found) {
		out->push_count = (unsigned)count;
		out->replayed = true;
		out->user_found = true;
	}
	return HD_OK;
}

static enum hd_err
hd_send_once(struct hd_db *db, const struct hd_principal *who,
    const struct hd_target *t, const struct hd_message *m, struct hd_send_result *out)
{
	uint64_t message_id = 0, queued = 0, claimed = 0;
	struct hd_dbp due = m->schedule_at > hd_now_usec() ? HD_DBP_TIME(m->schedule_at) :
	    HD_DBP_NULL;
	struct hd_dbp msg[10] = {
		HD_DBP_U64(who->app_id),
		HD_DBP_STR(hd_source_names[m->source]),
		hd_opt_text(m->title, m->title_len),
		hd_opt_text(m->body, m->body_len),
		m->data_json ? HD_DBP_STR(m->data_json) : HD_DBP_NULL,
		m->sound ? HD_DBP_STR(m->sound) : HD_DBP_NULL,
		m->ttl_s >= 0 ? HD_DBP_U64(m->ttl_s) : HD_DBP_NULL,
		HD_DBP_U64(m->priority),
		due,
		hd_opt_text(m->dedupe_key, m->dedupe_len),
	};
	struct hd_dbp q[5];
	struct hd_dbp d[5];
	int64_t exists = 0;
	struct hd_dbc one = { .type = HD_DBT_I64, .num = &exists };
	bool found;
	enum hd_err err;

	memset(out, 0, sizeof(*out));
	if ((err = hd_db_begin(db)) != HD_OK)
		return err;
	if ((err = hd_db_exec(db, SQL_INSERT_MESSAGE, msg, 10, NULL, &message_id)) != HD_OK)
		goto fail;
	q[0] = HD_DBP_U64(message_id);
	q[1] = HD_DBP_U64(m->priority);
	q[2] = due;
	q[3] = HD_DBP_U64(who->app_id);
	q[4] = HD_DBP_TEXT(t->value, t->len);
	if ((err = hd_db_exec(db, hd_queue_sql[t->by], q, 5, &queued, NULL)) != HD_OK)
		goto fail;
	if (queued == 0) {
		hd_db_rollback(db);
		if (m->dedupe_key && ((err = hd_send_replay(db, who, m, out, &found)) != HD_OK || found))
			return err;
		return hd_db_query_one(db, hd_user_sql[t->by], &q[3], 2, &one, 1,
		    &out->user_found);
	}
	if (m->dedupe_key) {
		d[0] = HD_DBP_U64(who->app_id);
		d[1] = HD_DBP_TEXT(m->dedupe_key, m->dedupe_len);
		d[2] = HD_DBP_U64(message_id);
		d[3] = HD_DBP_U64(queued);
		d[4] = HD_DBP_U64(who->dedupe_window_s);
		if ((err = hd_db_exec(db, SQL_DEDUPE_CLAIM, d, 5, &claimed, NULL)) != HD_OK)
			goto fail;
		if (claimed == 0) {
			/* Another request holds the key: it committed before our insert could
			 * proceed, so its record is visible once we roll back. */
			hd_db_rollback(db);
			if ((err = hd_send_replay(db, who, m, out, &found)) != HD_OK)
				return err;
			return found ? HD_OK : HD_ERR_DB_RETRY;
		}
	}
	if ((err = hd_db_commit(db)) != HD_OK)
		return err;
	out->push_count = (unsigned)queued;
	out->user_found = true;
	return HD_OK;
fail:
	hd_db_rollback(db);
	return err;
}

enum hd_err
hd_send(struct hd_db *db, const struct hd_principal *who, const struct hd_target *t,
    const struct hd_message *m, struct hd_send_result *out)
{
	enum hd_err err = HD_ERR_DB_RETRY;

	for (int attempt = 0; attempt < HD_SEND_ATTEMPTS && err == HD_ERR_DB_RETRY; attempt++) {
		err = hd_send_once(db, who, t, m, out);
		if (err == HD_ERR_DB_RETRY)
			hd_log_debug("send transaction conflict, attempt %d", attempt + 1);
	}
	return err;
}
