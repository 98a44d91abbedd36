/*
 * The webpush dialect's sends: targeting, the payload, the send and its answer
 * (hd_webpush_send.h). Every request gets a fresh request id ("req_" + 32 hex
 * digits); it is part of the stored payload, so the worker's later deliveries carry
 * the same one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hd_ece.h"
#include "hd_log.h"
#include "hd_provider.h"
#include "hd_pushid.h"
#include "hd_random.h"
#include "hd_send_targets.h"
#include "hd_webpush_send.h"

const char *const hd_wp_urgencies[] = { "very-low", "low", "normal", "high", NULL };

/* Queue order for the urgencies above (herald's priority 1..10); none given: 5. */
static const int wp_priorities[] = { 1, 3, 5, 10 };

#define WP_REQ_ID_BYTES 16
#define WP_REQ_ID_LEN (4 + 2 * WP_REQ_ID_BYTES)

static const struct {
	enum hd_wp_field list;
	enum hd_target_kind kind;
} wp_lists[] = {
	{ HD_WPF_EMAILS, HD_TK_USER_EMAIL },
	{ HD_WPF_USER_IDS, HD_TK_USER_EXTERNAL_ID },
	{ HD_WPF_REG_IDS, HD_TK_DEVICE_UID },
};

#define WP_NLISTS (sizeof(wp_lists) / sizeof(wp_lists[0]))

/* The declared name of field f (for refusals). */
static const char *
wp_name(const struct hd_call *call, enum hd_wp_field f)
{
	return call->ep->fields->fields[f].name;
}

/* An icon, badge or image: an absolute http(s) URL with a host, or a path on the
 * page's own origin ("/icons/x.png", which the service worker resolves); printable
 * ASCII or UTF-8 text without spaces or backslashes. */
static bool
wp_url_ok(const char *s, size_t len)
{
	size_t host;

	if (len > 8 && strncasecmp(s, "https://", 8) == 0)
		host = 8;
	else if (len > 7 && strncasecmp(s, "http://", 7) == 0)
		host = 7;
	else if (len >= 1 && s[0] == '/' && (len == 1 || s[1] != '/'))
		host = 0;
	else
		return false;
	if (host > 0 && strchr("/?#:@", s[host]) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '\\')
			return false;
	return true;
}

/* Exactly one targeting option (broadcast: none but target_all), as target items for
 * the app's web devices. *items is the caller's to free. */
static enum hd_problem
wp_targets(struct hd_call *call, bool broadcast, struct hd_target_item **items,
    size_t *n)
{
	const struct hd_value *v = call->values;
	const char *given[WP_NLISTS + 1];
	size_t ngiven = 0, list = WP_NLISTS;
	char uid[HD_DEVICE_UID_LEN + 1];

	*items = NULL;
	*n = 0;
	if (v[HD_WPF_ALL].present && v[HD_WPF_ALL].i)
		given[ngiven++] = wp_name(call, HD_WPF_ALL);
	for (size_t k = 0; k < WP_NLISTS; k++)
		if (v[wp_lists[k].list].present) {
			given[ngiven++] = wp_name(call, wp_lists[k].list);
			list = k;
		}
	if (broadcast && v[HD_WPF_ALL].present && !v[HD_WPF_ALL].i)
		return hd_refuse(&call->why, HD_P_CONFLICT_FIELDS, wp_name(call, HD_WPF_ALL),
		    "/broadcast sends to all clients: target_all cannot be false here");
	if (broadcast && list < WP_NLISTS) {
		const char *name = wp_name(call, wp_lists[list].list);

		return hd_refuse(&call->why, HD_P_CONFLICT_FIELDS, name,
		    "/broadcast sends to all clients: %s is not taken here; use /send", name);
	}
	if (!broadcast && ngiven == 0)
		return hd_refuse(&call->why, HD_P_MISSING_FIELD, NULL,
		    "one targeting option is required: target_all (true), target_user_emails, "
		    "target_user_ids or target_registration_ids");
	if (ngiven > 1)
		return hd_refuse(&call->why, HD_P_CONFLICT_FIELDS, given[1],
		    "give exactly one targeting option: %s and %s were both given", given[0],
		    given[1]);
	if (list == WP_NLISTS) {
		if ((*items = calloc(1, sizeof(**items))) == NULL)
			return hd_fail(call, HD_ERR_NOMEM);
		(*items)[0] = (struct hd_target_item){ .kind = HD_TK_ALL,
		    .platforms = HD_PF_WEB };
		*n = 1;
		return HD_P_NONE;
	}
	const struct hd_value *lv = &v[wp_lists[list].list];
	if ((*items = calloc(lv->n, sizeof(**items))) == NULL)
		return hd_fail(call, HD_ERR_NOMEM);
	for (size_t i = 0; i < lv->n; i++) {
		struct hd_target_item *it = &(*items)[i];

		it->kind = wp_lists[list].kind;
		it->platforms = HD_PF_WEB;
		it->value = hd_value_item(lv, i, &it->len);
		if (it->kind != HD_TK_DEVICE_UID)
			continue;
		if (!hd_reg_id_parse(it->value, uid)) {
			free(*items);
			*items = NULL;
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, NULL,
			    "target_registration_ids[%zu] is not a registration id "
			    "(reg_ and 32 lowercase hex digits)", i);
		}
		/* The device id is the text's last HD_DEVICE_UID_LEN bytes, "reg_" or not. */
		it->value += it->len - HD_DEVICE_UID_LEN;
		it->len = HD_DEVICE_UID_LEN;
	}
	*n = lv->n;
	return HD_P_NONE;
}

static enum hd_problem
wp_check_urls(struct hd_call *call)
{
	static const enum hd_wp_field urls[] = { HD_WPF_ICON, HD_WPF_BADGE, HD_WPF_IMAGE };
	const struct hd_value *v = call->values;

	for (size_t k = 0; k < sizeof(urls) / sizeof(urls[0]); k++)
		if (v[urls[k]].present && !wp_url_ok(v[urls[k]].s, v[urls[k]].len))
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, wp_name(call, urls[k]),
			    "%s must be an http(s) URL or a path starting with /",
			    wp_name(call, urls[k]));
	return HD_P_NONE;
}

static json_object *
wp_string(const struct hd_value *v)
{
	return json_object_new_string_len(v->s, (int)v->len);
}

/* Compact, without escaped slashes (URLs stay as given): what the worker sends. */
static const char *
wp_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The service worker's payload (hd_webpush_send.h). */
static enum hd_err
wp_payload(struct hd_call *call, const char *request_id, json_object **out)
{
	static const enum hd_wp_field strings[] = { HD_WPF_TITLE, HD_WPF_BODY, HD_WPF_ICON,
		HD_WPF_BADGE, HD_WPF_IMAGE, HD_WPF_TAG };
	const struct hd_value *v = call->values;
	json_object *doc;
	enum hd_err err = HD_OK;

	if ((doc = json_object_new_object()) == NULL)
		return HD_ERR_NOMEM;
	for (size_t k = 0; k < sizeof(strings) / sizeof(strings[0]) && err == HD_OK; k++)
		if (v[strings[k]].present)
			err = hd_json_put(doc, wp_name(call, strings[k]), wp_string(&v[strings[k]]));
	if (err == HD_OK && v[HD_WPF_DATA].present)
		err = hd_json_put(doc, "data", json_object_get(v[HD_WPF_DATA].obj));
	if (err == HD_OK)
		err = hd_json_put(doc, "request_id", json_object_new_string(request_id));
	if (err != HD_OK) {
		json_object_put(doc);
		return err;
	}
	*out = doc;
	return HD_OK;
}

/* messages.extras: the payload as the raw Web Push plaintext, the urgency, and the
 * tag as collapse id (the Topic: a newer message with the tag replaces one the push
 * service still holds). */
static enum hd_err
wp_extras(struct hd_call *call, json_object *payload, json_object **out)
{
	const struct hd_value *v = call->values;
	json_object *extras, *raw = json_object_new_object();
	enum hd_err err;

	if ((extras = json_object_new_object()) == NULL) {
		json_object_put(raw);
		return HD_ERR_NOMEM;
	}
	/* Once under extras, raw is freed with it. */
	if ((err = hd_json_put(extras, "raw", raw)) != HD_OK ||
	    (err = hd_json_put(raw, "webpush", json_object_get(payload))) != HD_OK)
		goto fail;
	if (v[HD_WPF_URGENCY].present && (err = hd_json_put(extras, "urgency",
	    json_object_new_string(hd_wp_urgencies[v[HD_WPF_URGENCY].i]))) != HD_OK)
		goto fail;
	if (v[HD_WPF_TAG].present &&
	    (err = hd_json_put(extras, "collapse_id", wp_string(&v[HD_WPF_TAG]))) != HD_OK)
		goto fail;
	*out = extras;
	return HD_OK;
fail:
	json_object_put(extras);
	return err;
}

/* The seed's send answer; takes invalid (NULL: an empty list). */
static enum hd_problem
wp_answer(struct hd_call *call, const char *request_id, uint64_t total, uint64_t ok,
    uint64_t failed, json_object *invalid, bool queued)
{
	const char *message = queued ? "Notifications queued for processing" :
	    total == 0 ? "No active clients matched the targets" :
	    failed == 0 ? "Notifications sent successfully" :
	    ok == 0 ? "No notification could be delivered" :
	    "Notifications sent; some could not be delivered";
	const char *status = queued ? "queued" : "completed";
	json_object *doc;

	if (invalid == NULL)
		invalid = json_object_new_array();
	if ((doc = json_object_new_object()) == NULL || invalid == NULL) {
		json_object_put(invalid);
		json_object_put(doc);
		return hd_fail(call, HD_ERR_NOMEM);
	}
	hd_json_set_str(doc, "request_id", request_id, strlen(request_id));
	hd_json_set_int(doc, "total_targets", (int64_t)total);
	hd_json_set_int(doc, "successful_sends", (int64_t)ok);
	hd_json_set_int(doc, "failed_sends", (int64_t)failed);
	json_object_object_add(doc, "invalid_registrations", invalid);
	hd_json_set_str(doc, "message", message, strlen(message));
	hd_json_set_str(doc, "status", status, strlen(status));
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
wp_refuse_result(struct hd_call *call, const struct hd_targets_result *r)
{
	char value[16];

	if (r->disabled)
		return hd_refuse(&call->why, HD_P_PUSH_DISABLED, NULL,
		    "notifications are disabled for this service");
	snprintf(value, sizeof(value), "%u", r->quota_retry_after);
	hd_answer_header(call, "Retry-After", value);
	return hd_refuse(&call->why, HD_P_QUOTA_EXCEEDED, NULL,
	    "notification quota exceeded: this send needs more deliveries than the service's "
	    "hourly or daily quota has left; the window ends in %u s", r->quota_retry_after);
}

/* Delivers the stored message now and answers its outcome. A failure here leaves the
 * deliveries queued, so the answer then says queued: the worker delivers them. */
static enum hd_problem
wp_deliver_now(struct hd_call *call, const char *request_id,
    const struct hd_targets_result *r)
{
	struct hd_wp_outcome o = { 0 };
	enum hd_err err;

	if ((err = hd_deliver_call(call, r->message_id, NULL)) != HD_OK ||
	    (err = hd_wp_outcomes(call->ctx->db, r->message_id, &o)) != HD_OK) {
		hd_log_warn("webpush message %llu: synchronous delivery failed (%s); the worker "
		    "delivers it", (unsigned long long)r->message_id, hd_strerror(err));
		json_object_put(o.gone);
		return wp_answer(call, request_id, r->push_count, 0, 0, NULL, true);
	}
	return wp_answer(call, request_id, r->push_count, o.delivered, o.failed, o.gone,
	    false);
}

enum hd_problem
hd_wp_send(struct hd_call *call, bool broadcast)
{
	const struct hd_value *v = call->values;
	struct hd_message m = {
		.source = HD_SRC_WEBPUSH,
		.title = v[HD_WPF_TITLE].s,
		.title_len = v[HD_WPF_TITLE].len,
		.body = v[HD_WPF_BODY].s,
		.body_len = v[HD_WPF_BODY].len,
		.ttl_s = v[HD_WPF_TTL].present ? v[HD_WPF_TTL].i : -1,
		.priority = v[HD_WPF_URGENCY].present ? wp_priorities[v[HD_WPF_URGENCY].i] : 5,
	};
	struct hd_targets_send s = { .ngroups = 1, .m = &m, .dedupe_window_s = -1 };
	struct hd_targets_result r = { 0 };
	struct hd_target_item *items = NULL;
	json_object *payload = NULL, *extras = NULL;
	char request_id[WP_REQ_ID_LEN + 1] = "req_";
	const char *text;
	enum hd_problem p;
	enum hd_err err;

	if ((p = wp_targets(call, broadcast, &items, &s.nitems)) != HD_P_NONE ||
	    (p = wp_check_urls(call)) != HD_P_NONE)
		goto out;
	s.items = items;
	if ((err = hd_random_hex(request_id + 4, WP_REQ_ID_BYTES)) != HD_OK ||
	    (err = wp_payload(call, request_id, &payload)) != HD_OK) {
		p = hd_fail(call, err);
		goto out;
	}
	if ((text = wp_text(payload)) == NULL) {
		p = hd_fail(call, HD_ERR_NOMEM);
		goto out;
	}
	if (strlen(text) > HD_ECE_MAX_PLAINTEXT) {
		p = hd_refuse(&call->why, HD_P_TOO_LONG, NULL,
		    "the notification is %zu bytes as JSON (request_id included); Web Push "
		    "carries at most %d: shorten data, the URLs or the texts", strlen(text),
		    HD_ECE_MAX_PLAINTEXT);
		goto out;
	}
	if (v[HD_WPF_DATA].present && (m.data_json = json_object_to_json_string_ext(
	    v[HD_WPF_DATA].obj, JSON_C_TO_STRING_PLAIN)) == NULL) {
		p = hd_fail(call, HD_ERR_NOMEM);
		goto out;
	}
	if ((err = wp_extras(call, payload, &extras)) != HD_OK ||
	    (m.extras_json = wp_text(extras)) == NULL) {
		p = hd_fail(call, err != HD_OK ? err : HD_ERR_NOMEM);
		goto out;
	}
	if ((p = hd_backlog_call(call)) != HD_P_NONE)
		goto out;
	if ((err = hd_send_targets(call->ctx->db, &call->who, &s, &r)) != HD_OK) {
		p = hd_fail(call, err);
		goto out;
	}
	if (r.disabled || r.quota_retry_after > 0)
		p = wp_refuse_result(call, &r);
	else if (r.push_count == 0)
		p = wp_answer(call, request_id, 0, 0, 0, NULL, false);
	else if ((v[HD_WPF_ASYNC].present && v[HD_WPF_ASYNC].i) ||
	    r.push_count > HD_WP_SYNC_MAX)
		p = wp_answer(call, request_id, r.push_count, 0, 0, NULL, true);
	else
		p = wp_deliver_now(call, request_id, &r);
out:
	json_object_put(extras);
	json_object_put(payload);
	free(items);
	return p;
}
