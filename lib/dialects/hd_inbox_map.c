/* The inbox dialect's payload mapping (see hd_inbox_map.h). */
#include <stdio.h>
#include <string.h>

#include "hd_endpoint.h"
#include "hd_inbox_map.h"
#include "hd_provider.h"
#include "hd_text.h"

const char *const hd_inbox_levels[] = { "passive", "active", "time-sensitive", NULL };
const char *const hd_inbox_media_types[] = { "image", "video", "audio", NULL };

/* APNs custom key and category of notifications with actions: the app's notification
 * service extension registers the category's buttons from "actions" at delivery. */
#define HD_INBOX_ACTIONS_CATEGORY "herald.actions"

/* Whether s[0..len) is an absolute http(s) URL with a host: scheme://host... */
static bool
hd_url_ok(const char *s, size_t len, bool https_only)
{
	size_t skip;

	if (len > 8 && hd_ascii_ieq(s, 8, "https://"))
		skip = 8;
	else if (!https_only && len > 7 && hd_ascii_ieq(s, 7, "http://"))
		skip = 7;
	else
		return false;
	if (s[skip] == '/' || s[skip] == '?' || s[skip] == '#')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static enum hd_problem
hd_check_url(const char *name, const char *s, size_t len, bool https_only,
    struct hd_refusal *why)
{
	if (len > HD_INBOX_URL_MAX)
		return hd_refuse(why, HD_P_TOO_LONG, name, "%s must be at most %d characters",
		    name, HD_INBOX_URL_MAX);
	if (!hd_url_ok(s, len, https_only))
		return hd_refuse(why, HD_P_INVALID_VALUE, name, https_only ?
		    "%s must be an https:// URL" : "%s must start with http:// or https://", name);
	return HD_P_NONE;
}

/* A JSON string, or in XML the text of an element. */
static bool
hd_is_bool(json_object *v, bool from_xml, bool *out)
{
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return true;
	}
	if (from_xml && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);
		if (hd_ascii_ieq(s, len, "true") || hd_ascii_ieq(s, len, "1")) {
			*out = true;
			return true;
		}
		if (hd_ascii_ieq(s, len, "false") || hd_ascii_ieq(s, len, "0")) {
			*out = false;
			return true;
		}
	}
	return false;
}

static const char *const hd_action_bools[] = { "foreground", "destructive",
	"authentication_required" };

static bool
hd_action_bool(const char *key)
{
	for (size_t k = 0; k < sizeof(hd_action_bools) / sizeof(hd_action_bools[0]); k++)
		if (strcmp(key, hd_action_bools[k]) == 0)
			return true;
	return false;
}

static enum hd_problem
hd_check_action(json_object *a, size_t i, bool from_xml, struct hd_refusal *why)
{
	char name[48];
	bool b;

	snprintf(name, sizeof(name), "actions[%zu]", i);
	if (!json_object_is_type(a, json_type_object))
		return hd_refuse(why, HD_P_INVALID_TYPE, name, "%s must be an object", name);
	json_object_object_foreach(a, key, v) {
		size_t len = json_object_is_type(v, json_type_string) ?
		    (size_t)json_object_get_string_len(v) : 0;
		if (json_object_is_type(v, json_type_null))
			continue;
		if (hd_action_bool(key)) {
			if (!hd_is_bool(v, from_xml, &b))
				return hd_refuse(why, HD_P_INVALID_TYPE, name,
				    "%s.%s must be true or false", name, key);
			continue;
		}
		if (strcmp(key, "id") != 0 && strcmp(key, "title") != 0 &&
		    strcmp(key, "url") != 0 && strcmp(key, "icon") != 0)
			return hd_refuse(why, HD_P_UNKNOWN_FIELD, name,
			    "unknown field '%s.%.60s'", name, key);
		if (!json_object_is_type(v, json_type_string))
			return hd_refuse(why, HD_P_INVALID_TYPE, name, "%s.%s must be a string",
			    name, key);
		if (strcmp(key, "url") == 0) {
			enum hd_problem p = hd_check_url("actions[].url", json_object_get_string(v),
			    len, false, why);
			if (p != HD_P_NONE)
				return p;
		} else if (len > HD_INBOX_ACTION_TEXT_MAX) {
			return hd_refuse(why, HD_P_TOO_LONG, name, "%s.%s must be at most %d characters",
			    name, key, HD_INBOX_ACTION_TEXT_MAX);
		}
	}
	for (size_t k = 0; k < 2; k++) {
		const char *req = k ? "title" : "id";
		json_object *got;
		if (!json_object_object_get_ex(a, req, &got) ||
		    !json_object_is_type(got, json_type_string) || json_object_get_string_len(got) == 0)
			return hd_refuse(why, HD_P_MISSING_FIELD, name, "%s.%s is required", name, req);
	}
	return HD_P_NONE;
}

static enum hd_problem
hd_check_metadata(json_object *md, struct hd_refusal *why)
{
	size_t n = 0;

	json_object_object_foreach(md, key, v) {
		if (!json_object_is_type(v, json_type_string))
			return hd_refuse(why, HD_P_INVALID_TYPE, "metadata",
			    "metadata values must be strings");
		if (++n > HD_INBOX_METADATA_KEYS_MAX)
			return hd_refuse(why, HD_P_OUT_OF_RANGE, "metadata",
			    "metadata may have at most %d keys", HD_INBOX_METADATA_KEYS_MAX);
		if (key[0] == '\0' || strlen(key) > HD_INBOX_METADATA_KEY_MAX)
			return hd_refuse(why, key[0] ? HD_P_TOO_LONG : HD_P_INVALID_VALUE, "metadata",
			    "metadata keys must be 1 to %d characters", HD_INBOX_METADATA_KEY_MAX);
		if (json_object_get_string_len(v) > HD_INBOX_METADATA_VALUE_MAX)
			return hd_refuse(why, HD_P_TOO_LONG, "metadata",
			    "metadata values must be at most %d characters",
			    HD_INBOX_METADATA_VALUE_MAX);
	}
	return HD_P_NONE;
}

enum hd_problem
hd_inbox_note_check(const struct hd_inbox_note *n, bool from_xml, struct hd_refusal *why)
{
	enum hd_problem p;

	if (n->url && (p = hd_check_url("url", n->url->s, n->url->len, false, why)) != HD_P_NONE)
		return p;
	if (n->icon_url && (p = hd_check_url("icon_url", n->icon_url->s, n->icon_url->len,
	    false, why)) != HD_P_NONE)
		return p;
	if (n->media && (n->media_url == NULL || n->media_type < 0))
		return hd_refuse(why, HD_P_MISSING_FIELD, n->media_url ? "media.type" : "media.url",
		    "media needs both url and type");
	if (n->media_url && (p = hd_check_url("media.url", n->media_url->s, n->media_url->len,
	    true, why)) != HD_P_NONE)
		return p;
	if (n->actions) {
		for (size_t i = 0; i < n->actions->n; i++)
			if ((p = hd_check_action(hd_value_at(n->actions, i), i, from_xml, why)) != HD_P_NONE)
				return p;
		for (size_t i = 0; i < n->actions->n; i++)
			for (size_t j = 0; j < i; j++) {
				json_object *a, *b;
				json_object_object_get_ex(hd_value_at(n->actions, i), "id", &a);
				json_object_object_get_ex(hd_value_at(n->actions, j), "id", &b);
				if (strcmp(json_object_get_string(a), json_object_get_string(b)) == 0)
					return hd_refuse(why, HD_P_INVALID_VALUE, "actions",
					    "action ids must be distinct");
			}
	}
	if (n->metadata && (p = hd_check_metadata(n->metadata, why)) != HD_P_NONE)
		return p;
	return HD_P_NONE;
}

/* Adds value under key (o may be NULL: its allocation failed); on failure releases
 * value and returns -1. */
static int
hd_put(json_object *o, const char *key, json_object *value)
{
	if (o == NULL) {
		json_object_put(value);
		return -1;
	}
	return hd_json_put(o, key, value) == HD_OK ? 0 : -1;
}

static int
hd_put_value(json_object *o, const char *key, const struct hd_value *v)
{
	if (v == NULL)
		return 0;
	return hd_put(o, key, json_object_new_string_len(v->s, (int)v->len));
}

/* The actions as stored and pushed: every member given, booleans typed. */
static json_object *
hd_actions_doc(const struct hd_inbox_note *n, bool from_xml)
{
	json_object *list = json_object_new_array();

	for (size_t i = 0; list && i < n->actions->n; i++) {
		json_object *a = hd_value_at(n->actions, i), *out = json_object_new_object();
		bool b;

		if (out == NULL || json_object_array_add(list, out) != 0) {
			json_object_put(out);
			goto fail;
		}
		json_object_object_foreach(a, key, v) {
			json_object *typed;

			if (json_object_is_type(v, json_type_null))
				continue;
			typed = hd_action_bool(key) && hd_is_bool(v, from_xml, &b) ?
			    json_object_new_boolean(b) : json_object_get(v);
			if (hd_put(out, key, typed) != 0)
				goto fail;
		}
	}
	return list;
fail:
	json_object_put(list);
	return NULL;
}

json_object *
hd_inbox_extras(const struct hd_inbox_note *n, bool from_xml)
{
	json_object *x = json_object_new_object(), *inbox = json_object_new_object();
	const char *level = hd_inbox_levels[n->level < 0 ? 1 : n->level];

	if (x == NULL || inbox == NULL || hd_put(x, "inbox", inbox) != 0) {
		json_object_put(inbox);
		goto fail;
	}
	if (hd_put_value(x, "subtitle", n->subtitle) || hd_put_value(x, "thread_id", n->thread_id) ||
	    hd_put_value(x, "url", n->url) || hd_put_value(x, "icon", n->icon_url) ||
	    hd_put(x, "interruption", json_object_new_string(level)))
		goto fail;
	/* Only an image is an image to FCM and Web Push; the iOS extension attaches any
	 * media from the pushed media_url. */
	if (n->media_url && n->media_type == 0 && hd_put_value(x, "image", n->media_url))
		goto fail;
	if ((n->media_url || n->icon_url) &&
	    hd_put(x, "mutable_content", json_object_new_boolean(true)))
		goto fail;
	if (n->actions && n->actions->n > 0 &&
	    (hd_put(x, "actions", hd_actions_doc(n, from_xml)) ||
	    hd_put(x, "category", json_object_new_string(HD_INBOX_ACTIONS_CATEGORY))))
		goto fail;
	if (hd_put(inbox, "level", json_object_new_string(level)) ||
	    hd_put_value(inbox, "source", n->source) ||
	    hd_put_value(inbox, "source_display_name", n->source_display_name) ||
	    hd_put_value(inbox, "media_url", n->media_url) ||
	    (n->media_type >= 0 && hd_put(inbox, "media_type",
	    json_object_new_string(hd_inbox_media_types[n->media_type]))) ||
	    (n->metadata && hd_put(inbox, "metadata", json_object_get(n->metadata))) ||
	    hd_put_value(inbox, "activity_slug", n->activity_slug) ||
	    hd_put(inbox, "pushed", json_object_new_boolean(n->push)))
		goto fail;
	return x;
fail:
	json_object_put(x);
	return NULL;
}

json_object *
hd_inbox_push_data(const struct hd_inbox_note *n, bool from_xml)
{
	json_object *d = json_object_new_object();

	if (d == NULL || hd_put_value(d, "icon", n->icon_url) ||
	    hd_put_value(d, "media_url", n->media_url) ||
	    (n->media_type >= 0 && hd_put(d, "media_type",
	    json_object_new_string(hd_inbox_media_types[n->media_type]))) ||
	    hd_put_value(d, "source", n->source) ||
	    hd_put_value(d, "source_display_name", n->source_display_name) ||
	    hd_put_value(d, "activity_slug", n->activity_slug) ||
	    (n->actions && n->actions->n > 0 && hd_put(d, "actions", hd_actions_doc(n, from_xml)))) {
		json_object_put(d);
		return NULL;
	}
	return d;
}

/* The string member key of o, or "". */
static const char *
hd_str(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

static int
hd_put_str(json_object *o, const char *key, const char *s)
{
	return hd_put(o, key, json_object_new_string(s ? s : ""));
}

json_object *
hd_inbox_item_doc(unsigned long long id, const char *title, const char *body,
    const char *extras, size_t extras_len, const char *created_at, const char *read_at)
{
	json_object *x = NULL, *inbox = NULL, *doc = json_object_new_object(), *v;

	if (extras && extras_len) {
		x = json_tokener_parse(extras);
		if (x && json_object_is_type(x, json_type_object))
			json_object_object_get_ex(x, "inbox", &inbox);
	}
	if (doc == NULL || hd_put(doc, "id", json_object_new_uint64(id)) ||
	    hd_put_str(doc, "title", title) || hd_put_str(doc, "subtitle", hd_str(x, "subtitle")) ||
	    hd_put_str(doc, "body", body) || hd_put_str(doc, "thread_id", hd_str(x, "thread_id")) ||
	    hd_put_str(doc, "level", *hd_str(inbox, "level") ? hd_str(inbox, "level") : "active") ||
	    hd_put_str(doc, "source", hd_str(inbox, "source")) ||
	    hd_put_str(doc, "source_display_name", hd_str(inbox, "source_display_name")) ||
	    hd_put_str(doc, "url", hd_str(x, "url")) ||
	    hd_put_str(doc, "media_url", hd_str(inbox, "media_url")) ||
	    hd_put_str(doc, "media_type", hd_str(inbox, "media_type")))
		goto fail;
	if (x && json_object_object_get_ex(x, "actions", &v) && json_object_is_type(v, json_type_array))
		v = json_object_get(v);
	else
		v = json_object_new_array();
	if (hd_put(doc, "actions", v) || hd_put_str(doc, "icon_url", hd_str(x, "icon")))
		goto fail;
	if (inbox && json_object_object_get_ex(inbox, "metadata", &v) &&
	    json_object_is_type(v, json_type_object))
		v = json_object_get(v);
	else
		v = json_object_new_object();
	if (hd_put(doc, "metadata", v) ||
	    hd_put_str(doc, "activity_slug", hd_str(inbox, "activity_slug")))
		goto fail;
	v = NULL;
	if (inbox)
		json_object_object_get_ex(inbox, "pushed", &v);
	if (hd_put(doc, "pushed", json_object_new_boolean(v && json_object_get_boolean(v))) ||
	    hd_put_str(doc, "created_at", created_at) ||
	    hd_put(doc, "read", json_object_new_boolean(read_at != NULL)) ||
	    (read_at ? hd_put_str(doc, "read_at", read_at) :
	    json_object_object_add(doc, "read_at", NULL)))
		goto fail;
	json_object_put(x);
	return doc;
fail:
	json_object_put(x);
	json_object_put(doc);
	return NULL;
}

/* The inbox dialect's codes: the reference's where it names one (subscription.required,
 * rate_limit.exceeded), herald's in the same <area>.<outcome> form elsewhere. */
static const char *const hd_inbox_codes[HD_P__MAX] = {
	[HD_P_NONE] = "ok",
	[HD_P_MALFORMED] = "request.malformed",
	[HD_P_EMPTY_BODY] = "request.malformed",
	[HD_P_MISSING_FIELD] = "validation.failed",
	[HD_P_INVALID_TYPE] = "request.invalid_shape",
	[HD_P_OUT_OF_RANGE] = "validation.failed",
	[HD_P_TOO_LONG] = "validation.failed",
	[HD_P_UNKNOWN_FIELD] = "request.invalid_shape",
	[HD_P_INVALID_VALUE] = "validation.failed",
	[HD_P_CONFLICT_FIELDS] = "request.invalid_shape",
	[HD_P_MISSING_NAMESPACE] = "request.malformed",
	[HD_P_BAD_PARAMETER] = "request.invalid_parameter",
	[HD_P_MISSING_KEY] = "auth.missing_token",
	[HD_P_INVALID_KEY] = "auth.invalid_token",
	[HD_P_KEY_KIND] = "auth.forbidden",
	[HD_P_ORIGIN_NOT_ALLOWED] = "auth.forbidden",
	[HD_P_PUSH_DISABLED] = "push.disabled",
	[HD_P_IDENTITY] = "auth.forbidden",
	[HD_P_NOT_FOUND] = "notification.not_found",
	[HD_P_USER_NOT_FOUND] = "user.not_found",
	[HD_P_NO_DEVICES] = "device.not_found",
	[HD_P_METHOD] = "request.method_not_allowed",
	[HD_P_AMBIGUOUS_USER] = "user.ambiguous",
	[HD_P_BODY_TOO_LARGE] = "request.too_large",
	[HD_P_MEDIA_TYPE] = "request.unsupported_media_type",
	[HD_P_RATE_LIMITED] = "rate_limit.exceeded",
	[HD_P_QUOTA_EXCEEDED] = "quota.exceeded",
	[HD_P_SUBSCRIPTION] = "subscription.required",
	[HD_P_UNKNOWN_REFERENCE] = "activity.not_found",
	[HD_P_INTERNAL] = "internal.error",
	[HD_P_UNAVAILABLE] = "service.unavailable",
};

const char *
hd_inbox_code(enum hd_problem p)
{
	if ((unsigned)p >= HD_P__MAX || hd_inbox_codes[p] == NULL)
		return hd_inbox_codes[HD_P_INTERNAL];
	return hd_inbox_codes[p];
}

void
hd_inbox_refine_refusal(struct hd_refusal *why)
{
	switch (why->problem) {
	case HD_P_MISSING_FIELD:
	case HD_P_OUT_OF_RANGE:
	case HD_P_TOO_LONG:
	case HD_P_INVALID_VALUE:
	case HD_P_UNKNOWN_REFERENCE:
		why->status = 422;
		break;
	default:
		break;
	}
}

json_object *
hd_inbox_problem_doc(const struct hd_refusal *why)
{
	const struct hd_problem_info *info = hd_problem_info(why->problem);
	int status = why->status ? why->status : info->status;
	const char *code = hd_inbox_code(why->problem);
	json_object *doc = json_object_new_object();
	char type[96];

	snprintf(type, sizeof(type), "urn:herald:problem:%s", code);
	if (doc == NULL || hd_put_str(doc, "type", type) ||
	    hd_put_str(doc, "title", hd_status_reason(status)) ||
	    hd_put(doc, "status", json_object_new_int(status)) ||
	    hd_put_str(doc, "detail", why->message) || hd_put_str(doc, "code", code) ||
	    (why->field[0] && hd_put_str(doc, "field", why->field)) ||
	    (status == 429 && hd_put(doc, "retry_after_ms", json_object_new_int64(1000)))) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}
