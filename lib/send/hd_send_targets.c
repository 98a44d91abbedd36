#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "hd_send_targets.h"
#include "hd_time.h"

/* One procedure, one round trip (schema/migrations/0010_send_targets.sql). */
static const char SQL_SEND_TARGETS[] =
    "CALL hd_send_targets(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

enum { C_MESSAGE, C_COUNT, C_REPLAYED, C_USERS, C_RETRY, C_GROUPS, C__MAX };

static struct hd_dbp
hd_opt_text(const char *s, size_t len)
{
	return s ? HD_DBP_TEXT(s, len) : HD_DBP_NULL;
}

/* The item list as the procedure reads it: [{"g":…,"k":…,"p":…,"v":"…"}, …]. The
 * caller frees *out (json_object_put of *doc). */
static enum hd_err
hd_targets_json(const struct hd_targets_send *s, json_object **doc, const char **out)
{
	json_object *arr = json_object_new_array_ext((int)s->nitems);

	if (arr == NULL)
		return HD_ERR_NOMEM;
	for (size_t i = 0; i < s->nitems; i++) {
		const struct hd_target_item *it = &s->items[i];
		json_object *o = json_object_new_object();

		if (o == NULL || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return HD_ERR_NOMEM;
		}
		if (json_object_object_add(o, "g", json_object_new_int64(it->group)) != 0 ||
		    json_object_object_add(o, "k", json_object_new_int(it->kind)) != 0 ||
		    json_object_object_add(o, "p", json_object_new_int((int)it->platforms)) != 0 ||
		    json_object_object_add(o, "v", json_object_new_string_len(
		        it->value ? it->value : "", (int)it->len)) != 0) {
			json_object_put(arr);
			return HD_ERR_NOMEM;
		}
	}
	*out = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	if (*out == NULL) {
		json_object_put(arr);
		return HD_ERR_NOMEM;
	}
	*doc = arr;
	return HD_OK;
}

/* Reads {"group": devices, …} into counts[0..n). */
static enum hd_err
hd_group_counts(const char *text, size_t len, unsigned *counts, size_t n)
{
	json_tokener *tok = json_tokener_new();
	json_object *obj = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	enum hd_err err = HD_OK;

	memset(counts, 0, n * sizeof(*counts));
	if (tok == NULL)
		return HD_ERR_NOMEM;
	if (!json_object_is_type(obj, json_type_object)) {
		err = HD_ERR_DB;
		goto done;
	}
	json_object_object_foreach(obj, key, val) {
		char *end;
		unsigned long g;

		errno = 0;
		g = strtoul(key, &end, 10);
		if (errno != 0 || *end != '\0' || g >= n) {
			err = HD_ERR_DB;
			goto done;
		}
		counts[g] = (unsigned)json_object_get_int64(val);
	}
done:
	json_object_put(obj);
	json_tokener_free(tok);
	return err;
}

enum hd_err
hd_send_targets(struct hd_db *db, const struct hd_principal *who,
    const struct hd_targets_send *s, struct hd_targets_result *out)
{
	const struct hd_message *m = s->m;
	unsigned *group_devices = out->group_devices;
	int64_t message_id = 0, count = 0, replayed = 0, users = 0, retry = 0;
	size_t groups_cap = 16 + 24 * s->ngroups;
	char *groups = NULL;
	json_object *doc = NULL;
	const char *targets = NULL;
	enum hd_err err;
	bool found = false;

	memset(out, 0, sizeof(*out));
	out->group_devices = group_devices;
	if (group_devices)
		memset(group_devices, 0, s->ngroups * sizeof(*group_devices));
	if (s->nitems == 0 || s->nitems > HD_TARGETS_MAX || s->ngroups == 0 ||
	    s->ngroups > HD_TARGETS_MAX)
		return HD_ERR_INTERNAL;
	for (size_t i = 0; i < s->nitems; i++)
		if ((unsigned)s->items[i].kind >= HD_TK__MAX || s->items[i].group >= s->ngroups ||
		    s->items[i].len > HD_TARGET_VALUE_MAX)
			return HD_ERR_INTERNAL;
	if (!who->push_enabled) {
		out->disabled = true;
		return HD_OK;
	}
	if ((groups = malloc(groups_cap)) == NULL)
		return HD_ERR_NOMEM;
	if ((err = hd_targets_json(s, &doc, &targets)) != HD_OK)
		goto done;
	{
		struct hd_dbc cols[C__MAX] = {
			[C_MESSAGE] = { .type = HD_DBT_I64, .num = &message_id },
			[C_COUNT] = { .type = HD_DBT_I64, .num = &count },
			[C_REPLAYED] = { .type = HD_DBT_I64, .num = &replayed },
			[C_USERS] = { .type = HD_DBT_I64, .num = &users },
			[C_RETRY] = { .type = HD_DBT_I64, .num = &retry },
			[C_GROUPS] = { .type = HD_DBT_TEXT, .buf = groups, .cap = groups_cap },
		};
		int64_t window = s->dedupe_window_s >= 0 ? s->dedupe_window_s :
		    (int64_t)who->dedupe_window_s;
		struct hd_dbp p[18] = {
			HD_DBP_U64(who->app_id),
			HD_DBP_STR(hd_source_name(m->source)),
			HD_DBP_STR(targets),
			hd_opt_text(m->title, m->title_len),
			hd_opt_text(m->body, m->body_len),
			m->data_json ? HD_DBP_STR(m->data_json) : HD_DBP_NULL,
			m->sound ? HD_DBP_STR(m->sound) : HD_DBP_NULL,
			m->ttl_s >= 0 ? HD_DBP_U64(m->ttl_s) : HD_DBP_NULL,
			HD_DBP_U64(m->priority),
			m->schedule_at > hd_now_usec() ? HD_DBP_TIME(m->schedule_at) : HD_DBP_NULL,
			hd_opt_text(m->campaign, m->campaign_len),
			m->extras_json ? HD_DBP_STR(m->extras_json) : HD_DBP_NULL,
			hd_opt_text(m->dedupe_key, m->dedupe_len),
			HD_DBP_U64(window),
			who->quota_hourly >= 0 ? HD_DBP_U64(who->quota_hourly) : HD_DBP_NULL,
			who->quota_daily >= 0 ? HD_DBP_U64(who->quota_daily) : HD_DBP_NULL,
			HD_DBP_U64(s->inbox ? 1 : 0),
			HD_DBP_U64(s->no_push ? 1 : 0),
		};

		err = hd_db_call_txn(db, SQL_SEND_TARGETS, p, 18, cols, C__MAX, &found);
		if (err != HD_OK)
			goto done;
		if (!found) {
			err = HD_ERR_DB;
			goto done;
		}
		out->stored = !cols[C_MESSAGE].is_null;
		out->message_id = out->stored ? (uint64_t)message_id : 0;
		out->push_count = (unsigned)count;
		out->replayed = replayed != 0;
		out->users = (unsigned)users;
		out->quota_retry_after = cols[C_RETRY].is_null ? 0 : (unsigned)retry;
		if (group_devices && !cols[C_GROUPS].is_null)
			err = hd_group_counts(groups, cols[C_GROUPS].len, group_devices,
			    s->ngroups);
	}
done:
	json_object_put(doc);
	free(groups);
	return err;
}
