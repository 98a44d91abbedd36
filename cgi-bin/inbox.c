/*
 * The inbox dialect (seed 002, docs/inbox.md): an app user's notification inbox,
 * with Authorization: Bearer <key of that user>.
 *   POST   /notifications        store a notification (and push it, inline)
 *   GET    /notifications        the inbox, newest first, by cursor
 *   GET    /notifications/{id}   one notification
 *   PATCH  /notifications/{id}   mark read or unread
 *   DELETE /notifications/{id}   remove it from the inbox
 * JSON by default; XML bodies use root element <notification>. Errors are RFC 9457
 * problem documents (application/problem+json, or +xml when XML is negotiated).
 * Another user's notification is 404, never 403.
 */
#include <stdio.h>
#include <string.h>

#include "hd_backlog.h"
#include "hd_deliver.h"
#include "hd_endpoint.h"
#include "hd_inbox_map.h"
#include "hd_inbox_store.h"
#include "hd_send.h"
#include "hd_send_targets.h"
#include "hd_text.h"

enum { F_TITLE, F_BODY, F_SUBTITLE, F_LEVEL, F_THREAD_ID, F_COLLAPSE_ID, F_SOURCE,
	F_SOURCE_DISPLAY_NAME, F_URL, F_MEDIA, F_MEDIA_URL, F_MEDIA_TYPE, F_ACTIONS,
	F_ICON_URL, F_METADATA, F_ACTIVITY_SLUG, F_PUSH, F__MAX };

/* The seed's limits where it gives them; herald's (docs/inbox.md) elsewhere, sized so
 * that a notification fits APNs' 4 KiB payload unless its texts are long. */
static const struct hd_field create_fields[F__MAX] = {
	[F_TITLE] = { "title", HD_FT_STRING, HD_F_REQUIRED, 1, 256, NULL },
	[F_BODY] = { "body", HD_FT_STRING, HD_F_REQUIRED, 1, 4096, NULL },
	[F_SUBTITLE] = { "subtitle", HD_FT_STRING, 0, 0, 256, NULL },
	[F_LEVEL] = { "level", HD_FT_ENUM, 0, 0, 0, hd_inbox_levels },
	[F_THREAD_ID] = { "thread_id", HD_FT_STRING, 0, 0, 256, NULL },
	[F_COLLAPSE_ID] = { "collapse_id", HD_FT_STRING, 0, 0, 64, NULL },
	[F_SOURCE] = { "source", HD_FT_STRING, 0, 0, 128, NULL },
	[F_SOURCE_DISPLAY_NAME] = { "source_display_name", HD_FT_STRING, 0, 0, 128, NULL },
	[F_URL] = { "url", HD_FT_STRING, 0, 0, HD_INBOX_URL_MAX, NULL },
	[F_MEDIA] = { "media", HD_FT_OBJECT, 0, 0, 8192, NULL },
	[F_MEDIA_URL] = { "media.url", HD_FT_STRING, 0, 0, HD_INBOX_URL_MAX, NULL },
	[F_MEDIA_TYPE] = { "media.type", HD_FT_ENUM, 0, 0, 0, hd_inbox_media_types },
	[F_ACTIONS] = { "actions", HD_FT_ARRAY, 0, 0, HD_INBOX_ACTIONS_MAX, NULL },
	[F_ICON_URL] = { "icon_url", HD_FT_STRING, 0, 0, HD_INBOX_URL_MAX, NULL },
	[F_METADATA] = { "metadata", HD_FT_OBJECT, HD_F_OPEN, 0, 200000, NULL },
	[F_ACTIVITY_SLUG] = { "activity_slug", HD_FT_STRING, 0, 0, 128, NULL },
	[F_PUSH] = { "push", HD_FT_BOOL, 0, 0, 0, NULL },
};

static const struct hd_fieldset create_fieldset = { create_fields, F__MAX, NULL };

enum { P_READ, P__MAX };
static const struct hd_field patch_fields[P__MAX] = {
	[P_READ] = { "read", HD_FT_BOOL, HD_F_REQUIRED, 0, 0, NULL },
};
static const struct hd_fieldset patch_fieldset = { patch_fields, P__MAX, NULL };

static const struct hd_value *
given(const struct hd_value *v)
{
	return v->present && v->len ? v : NULL;
}

/* A notification id from the path: digits only, else no such notification. */
static bool
path_id(const struct hd_call *call, uint64_t *id)
{
	const char *s = call->path_arg;
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return hd_parse_u64(s, len, id) == 0 && *id > 0;
}

/* A bearer key bound to no app user (hd_issue_key) has no inbox. */
static enum hd_problem
need_user(struct hd_call *call)
{
	if (call->who.app_user_id == 0)
		return hd_refuse(&call->why, HD_P_KEY_KIND, NULL,
		    "this bearer key names no app user (issue it with hd_issue_bearer_key)");
	return HD_P_NONE;
}

static enum hd_err
item_into(void *arg, const struct hd_inbox_row *row)
{
	json_object **out = arg;

	json_object_put(*out);
	*out = hd_inbox_item_doc(row->id, row->title, row->body, row->extras,
	    row->extras_len, row->created_at, row->read_at);
	return *out ? HD_OK : HD_ERR_NOMEM;
}

/* Delivers the stored message inline and reads how its push went. */
static enum hd_err
deliver_inline(struct hd_call *call, uint64_t message_id, const char *collapse_id,
    struct hd_inbox_outcome *oc)
{
	enum hd_err err;

	if ((err = hd_deliver_call(call, message_id, collapse_id)) != HD_OK)
		return err;
	return hd_inbox_outcome(call->ctx->db, call->who.app_user_id, message_id, oc);
}

/* The seed's delivery and reason of a push (docs/inbox.md). */
static void
delivery_of(bool app_push, unsigned push_count, const struct hd_inbox_outcome *oc,
    const char **delivery, const char **reason)
{
	*delivery = "none";
	if (!app_push)
		*reason = "push_disabled";
	else if (push_count == 0)
		*reason = oc->unpermitted_devices ? "push_disabled" : "no_apns_token";
	else if (oc->delivered == oc->deliveries) {
		*delivery = "all";
		*reason = "";
	} else {
		if (oc->delivered > 0)
			*delivery = "partial";
		*reason = "apns_rejected";
	}
}

static enum hd_problem
create(struct hd_call *call)
{
	const struct hd_value *v = call->values;
	bool from_xml = call->in_fmt == HD_FMT_XML;
	struct hd_inbox_note note = {
		.title = given(&v[F_TITLE]), .body = given(&v[F_BODY]),
		.subtitle = given(&v[F_SUBTITLE]), .thread_id = given(&v[F_THREAD_ID]),
		.source = given(&v[F_SOURCE]),
		.source_display_name = given(&v[F_SOURCE_DISPLAY_NAME]),
		.url = given(&v[F_URL]), .icon_url = given(&v[F_ICON_URL]),
		.activity_slug = given(&v[F_ACTIVITY_SLUG]),
		.level = v[F_LEVEL].present ? (int)v[F_LEVEL].i : -1,
		.media = v[F_MEDIA].present,
		.media_url = v[F_MEDIA].present ? given(&v[F_MEDIA_URL]) : NULL,
		.media_type = v[F_MEDIA].present && v[F_MEDIA_TYPE].present ?
		    (int)v[F_MEDIA_TYPE].i : -1,
		.actions = v[F_ACTIONS].present ? &v[F_ACTIONS] : NULL,
		.metadata = v[F_METADATA].present ? v[F_METADATA].obj : NULL,
		.push = v[F_PUSH].present ? v[F_PUSH].i != 0 : true,
	};
	/* Kept in memory for the inline delivery only: never stored, never answered. */
	const char *collapse_id = given(&v[F_COLLAPSE_ID]) ? v[F_COLLAPSE_ID].s : NULL;
	json_object *extras = NULL, *data = NULL, *doc = NULL;
	struct hd_principal who = call->who;
	struct hd_targets_result res = { 0 };
	struct hd_inbox_outcome oc = { 0 };
	const char *extras_text, *data_text, *delivery, *reason;
	char user[24], retry[16];
	struct hd_target_item item;
	struct hd_message m;
	enum hd_problem p;
	enum hd_err err;
	bool subscribed, activity, found, over = false;

	if ((p = need_user(call)) != HD_P_NONE)
		return p;
	if ((p = hd_inbox_note_check(&note, from_xml, &call->why)) != HD_P_NONE)
		return p;
	if ((extras = hd_inbox_extras(&note, from_xml)) == NULL ||
	    (data = hd_inbox_push_data(&note, from_xml)) == NULL ||
	    (extras_text = json_object_to_json_string_ext(extras, JSON_C_TO_STRING_PLAIN)) == NULL ||
	    (data_text = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN)) == NULL) {
		p = hd_fail(call, HD_ERR_NOMEM);
		goto out;
	}
	if (strlen(extras_text) > HD_INBOX_EXTRAS_MAX || strlen(data_text) > HD_INBOX_EXTRAS_MAX) {
		p = hd_refuse(&call->why, HD_P_TOO_LONG, NULL,
		    "the notification is too large to store (%d bytes at most)",
		    HD_INBOX_EXTRAS_MAX);
		goto out;
	}
	if ((err = hd_inbox_check(call->ctx->db, who.app_id, who.app_user_id,
	    note.activity_slug ? note.activity_slug->s : NULL,
	    note.activity_slug ? note.activity_slug->len : 0, &subscribed, &activity)) != HD_OK) {
		p = hd_fail(call, err);
		goto out;
	}
	if (!subscribed) {
		p = hd_refuse(&call->why, HD_P_SUBSCRIPTION, NULL,
		    "the app has no active inbox subscription");
		goto out;
	}
	if (note.activity_slug && !activity) {
		p = hd_refuse(&call->why, HD_P_UNKNOWN_REFERENCE, "activity_slug",
		    "no activity with this slug");
		goto out;
	}
	/* Refused at once while the delivery queue is over its limit (docs/delivery.md),
	 * as every send is; an inbox-only store queues nothing. */
	if (note.push && call->ctx->cfg.max_queue_backlog > 0) {
		if ((err = hd_backlog_over(call->ctx->db, call->ctx->cfg.max_queue_backlog,
		    &over)) != HD_OK) {
			p = hd_fail(call, err);
			goto out;
		}
		if (over) {
			p = hd_refuse(&call->why, HD_P_UNAVAILABLE, NULL,
			    "the delivery queue is over its limit; retry after a short delay");
			goto out;
		}
	}
	snprintf(user, sizeof(user), "%llu", (unsigned long long)who.app_user_id);
	item = (struct hd_target_item){ HD_TK_USER_NUMBER, 0, 0, user, strlen(user) };
	m = (struct hd_message){
		.source = HD_SRC_INBOX,
		.title = note.title->s, .title_len = note.title->len,
		.body = note.body->s, .body_len = note.body->len,
		.data_json = json_object_object_length(data) ? data_text : NULL,
		.ttl_s = -1,
		.priority = note.level == 0 ? 5 : 10,
		.extras_json = extras_text,
	};
	/* An app whose sending is switched off still keeps inboxes: stored, not pushed. */
	who.push_enabled = true;
	struct hd_targets_send s = { &item, 1, 1, &m, -1, true,
		!note.push || !call->who.push_enabled };
	if ((err = hd_send_targets(call->ctx->db, &who, &s, &res)) != HD_OK) {
		p = hd_fail(call, err);
		goto out;
	}
	if (res.quota_retry_after) {
		snprintf(retry, sizeof(retry), "%u", res.quota_retry_after);
		hd_answer_header(call, "Retry-After", retry);
		hd_refuse(&call->why, HD_P_QUOTA_EXCEEDED, NULL,
		    "the app's delivery quota is spent until the current window ends in %u s",
		    res.quota_retry_after);
		if ((doc = hd_inbox_problem_doc(&call->why)) == NULL) {
			p = hd_fail(call, HD_ERR_NOMEM);
			goto out;
		}
		hd_json_set_int(doc, "retry_after_ms", (int64_t)res.quota_retry_after * 1000);
		hd_answer(call, 429, doc);
		doc = NULL;
		p = HD_P_NONE;
		goto out;
	}
	if (!res.stored) {
		p = hd_refuse(&call->why, HD_P_INTERNAL, NULL, "the notification was not stored");
		goto out;
	}
	if (note.push && call->who.push_enabled && res.push_count > 0 &&
	    (err = deliver_inline(call, res.message_id, collapse_id, &oc)) != HD_OK) {
		p = hd_fail(call, err);
		goto out;
	}
	if (note.push && call->who.push_enabled && res.push_count == 0 &&
	    (err = hd_inbox_outcome(call->ctx->db, who.app_user_id, res.message_id, &oc)) != HD_OK) {
		p = hd_fail(call, err);
		goto out;
	}
	if ((err = hd_inbox_get(call->ctx->db, who.app_user_id, res.message_id, item_into, &doc,
	    &found)) != HD_OK || !found) {
		p = hd_fail(call, err != HD_OK ? err : HD_ERR_INTERNAL);
		goto out;
	}
	if (note.push) {
		delivery_of(call->who.push_enabled, res.push_count, &oc, &delivery, &reason);
		hd_json_set_str(doc, "delivery", delivery, strlen(delivery));
		hd_json_set_str(doc, "reason", reason, strlen(reason));
	}
	hd_answer(call, 201, doc);
	doc = NULL;
	p = HD_P_NONE;
out:
	json_object_put(doc);
	json_object_put(extras);
	json_object_put(data);
	return p;
}

struct page {
	json_object *list;
	unsigned limit, n;
	uint64_t last_id;
};

static enum hd_err
page_add(void *arg, const struct hd_inbox_row *row)
{
	struct page *pg = arg;
	json_object *doc = NULL;

	/* The row past the page only says that there is more. */
	if (++pg->n > pg->limit)
		return HD_OK;
	if (item_into(&doc, row) != HD_OK || json_object_array_add(pg->list, doc) != 0) {
		json_object_put(doc);
		return HD_ERR_NOMEM;
	}
	pg->last_id = row->id;
	return HD_OK;
}

/* A query parameter that is a whole number from min to max; absent: dflt. */
static enum hd_problem
query_number(struct hd_call *call, const char *name, uint64_t min, uint64_t max,
    uint64_t dflt, uint64_t *out)
{
	char buf[24];
	int q = hd_request_query(call->req, name, buf, sizeof(buf));
	size_t len = q == 1 ? strlen(buf) : 0;

	*out = dflt;
	if (q == 0)
		return HD_P_NONE;
	for (size_t i = 0; i < len; i++)
		if (buf[i] < '0' || buf[i] > '9')
			q = -1;
	if (q != 1 || len == 0 || hd_parse_u64(buf, len, out) != 0 || *out < min || *out > max)
		return hd_refuse(&call->why, HD_P_BAD_PARAMETER, name,
		    "%s must be a whole number from %llu to %llu", name, (unsigned long long)min,
		    (unsigned long long)max);
	return HD_P_NONE;
}

static enum hd_problem
list(struct hd_call *call)
{
	struct page pg = { NULL, 0, 0, 0 };
	uint64_t limit, cursor;
	json_object *doc;
	char flag[8], next[24];
	bool unread = false;
	enum hd_problem p;
	enum hd_err err;
	int q;

	if ((p = need_user(call)) != HD_P_NONE ||
	    (p = query_number(call, "limit", 1, HD_INBOX_PAGE_MAX, HD_INBOX_PAGE_DEFAULT,
	    &limit)) != HD_P_NONE ||
	    (p = query_number(call, "cursor", 1, UINT64_MAX, 0, &cursor)) != HD_P_NONE)
		return p;
	if ((q = hd_request_query(call->req, "unread", flag, sizeof(flag))) == 1 &&
	    (strcmp(flag, "true") == 0 || strcmp(flag, "1") == 0))
		unread = true;
	else if (q != 0 && !(q == 1 && (strcmp(flag, "false") == 0 || strcmp(flag, "0") == 0)))
		return hd_refuse(&call->why, HD_P_BAD_PARAMETER, "unread",
		    "unread must be true or false");
	if ((doc = json_object_new_object()) == NULL || (pg.list = json_object_new_array()) == NULL) {
		json_object_put(doc);
		return hd_fail(call, HD_ERR_NOMEM);
	}
	hd_json_set_int(doc, "limit", (int64_t)limit);
	if (json_object_object_add(doc, "notifications", pg.list) != 0) {
		json_object_put(pg.list);
		json_object_put(doc);
		return hd_fail(call, HD_ERR_NOMEM);
	}
	pg.limit = (unsigned)limit;
	if ((err = hd_inbox_list(call->ctx->db, call->who.app_user_id, cursor, unread,
	    pg.limit + 1, page_add, &pg)) != HD_OK) {
		json_object_put(doc);
		return hd_fail(call, err);
	}
	hd_json_set_bool(doc, "has_more", pg.n > pg.limit);
	if (pg.n > pg.limit) {
		snprintf(next, sizeof(next), "%llu", (unsigned long long)pg.last_id);
		hd_json_set_str(doc, "next_cursor", next, strlen(next));
	} else {
		json_object_object_add(doc, "next_cursor", NULL);
	}
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
not_found(struct hd_call *call)
{
	return hd_refuse(&call->why, HD_P_NOT_FOUND, NULL, "no such notification");
}

static enum hd_problem
get_one(struct hd_call *call)
{
	json_object *doc = NULL;
	uint64_t id;
	enum hd_problem p;
	enum hd_err err;
	bool found;

	if ((p = need_user(call)) != HD_P_NONE)
		return p;
	if (!path_id(call, &id))
		return not_found(call);
	if ((err = hd_inbox_get(call->ctx->db, call->who.app_user_id, id, item_into, &doc,
	    &found)) != HD_OK) {
		json_object_put(doc);
		return hd_fail(call, err);
	}
	if (!found)
		return not_found(call);
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
patch(struct hd_call *call)
{
	json_object *doc = NULL;
	uint64_t id;
	enum hd_problem p;
	enum hd_err err;
	bool found;

	if ((p = need_user(call)) != HD_P_NONE)
		return p;
	if (!path_id(call, &id))
		return not_found(call);
	if ((err = hd_inbox_mark(call->ctx->db, call->who.app_user_id, id,
	    call->values[P_READ].i != 0, item_into, &doc, &found)) != HD_OK) {
		json_object_put(doc);
		return hd_fail(call, err);
	}
	if (!found)
		return not_found(call);
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
delete(struct hd_call *call)
{
	uint64_t id;
	enum hd_problem p;
	enum hd_err err;
	bool deleted;

	if ((p = need_user(call)) != HD_P_NONE)
		return p;
	if (!path_id(call, &id))
		return not_found(call);
	if ((err = hd_inbox_delete(call->ctx->db, call->who.app_user_id, id, &deleted)) != HD_OK)
		return hd_fail(call, err);
	if (!deleted)
		return not_found(call);
	hd_answer(call, 204, NULL);
	return HD_P_NONE;
}

static const struct hd_dialect inbox = {
	.name = "inbox",
	.default_format = HD_FMT_JSON,
	.key_kind = HD_KEY_BEARER,
	.other_kind_forbidden = true,
	.key_header = "HTTP_AUTHORIZATION",
	.key_header_name = "Authorization",
	.key_scheme = "Bearer",
	.refine_refusal = hd_inbox_refine_refusal,
	.error_doc = hd_inbox_problem_doc,
	.error_root = "problem",
	.problem_media = true,
	.error_ns = "urn:ietf:rfc:7807",
};

static const struct hd_endpoint endpoints[] = {
	{ HD_POST, "/notifications", &inbox, &create_fieldset, { "notification", false },
	  "notification", HD_EP_DELIVERS, create },
	{ HD_GET, "/notifications", &inbox, NULL, { NULL, false }, "inbox", 0, list },
	{ HD_GET, "/notifications/{id}", &inbox, NULL, { NULL, false }, "notification", 0,
	  get_one },
	{ HD_PATCH, "/notifications/{id}", &inbox, &patch_fieldset, { "notification", false },
	  "notification", 0, patch },
	{ HD_DELETE, "/notifications/{id}", &inbox, NULL, { NULL, false }, "notification", 0,
	  delete },
};

int
main(void)
{
	static const struct hd_program prog = { "herald-inbox", endpoints,
		sizeof(endpoints) / sizeof(endpoints[0]), &inbox };

	return hd_serve(&prog);
}
