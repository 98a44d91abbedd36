/* The neutral notification: its lifetime and its stored extras. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hd_notification.h"
#include "hd_text.h"
#include "hd_time.h"

void
hd_notification_clear(struct hd_notification *n)
{
	char **strings[] = { &n->title, &n->subtitle, &n->body, &n->data_json, &n->sound,
		&n->image, &n->icon, &n->url, &n->category, &n->thread_id, &n->collapse_id,
		&n->raw_apns, &n->raw_fcm, &n->raw_webpush, &n->raw_wns };

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
	for (size_t i = 0; i < n->nactions; i++) {
		free(n->actions[i].id);
		free(n->actions[i].title);
	}
	free(n->actions);
	memset(n, 0, sizeof(*n));
}

int64_t
hd_notification_ttl_left(const struct hd_notification *n, int64_t now)
{
	if (n->expires_at == 0)
		return -1;
	if (n->expires_at <= now)
		return 0;
	return (n->expires_at - now) / HD_USEC_PER_SEC;
}

static enum hd_err
hd_take_string(struct json_object *o, const char *key, char **out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return HD_OK;
	if (!json_object_is_type(v, json_type_string))
		return HD_ERR_INTERNAL;
	free(*out);
	return (*out = strdup(json_object_get_string(v))) ? HD_OK : HD_ERR_NOMEM;
}

/* A raw override: JSON objects are kept as their text, strings as they are. */
static enum hd_err
hd_take_raw(struct json_object *raw, const char *key, char **out)
{
	struct json_object *v;
	const char *text;

	if (!json_object_object_get_ex(raw, key, &v) || json_object_is_type(v, json_type_null))
		return HD_OK;
	if (json_object_is_type(v, json_type_string))
		text = json_object_get_string(v);
	else if (json_object_is_type(v, json_type_object))
		text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE);
	else
		return HD_ERR_INTERNAL;
	free(*out);
	return (*out = strdup(text)) ? HD_OK : HD_ERR_NOMEM;
}

static enum hd_err
hd_take_bool(struct json_object *o, const char *key, bool *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return HD_OK;
	if (!json_object_is_type(v, json_type_boolean))
		return HD_ERR_INTERNAL;
	*out = json_object_get_boolean(v);
	return HD_OK;
}

static enum hd_err
hd_take_actions(struct hd_notification *n, struct json_object *o)
{
	struct json_object *list, *a;
	size_t count;

	if (!json_object_object_get_ex(o, "actions", &list))
		return HD_OK;
	if (!json_object_is_type(list, json_type_array))
		return HD_ERR_INTERNAL;
	if ((count = json_object_array_length(list)) == 0)
		return HD_OK;
	if ((n->actions = calloc(count, sizeof(*n->actions))) == NULL)
		return HD_ERR_NOMEM;
	for (size_t i = 0; i < count; i++) {
		enum hd_err err;

		a = json_object_array_get_idx(list, i);
		if (!json_object_is_type(a, json_type_object))
			return HD_ERR_INTERNAL;
		n->nactions = i + 1;
		if ((err = hd_take_string(a, "id", &n->actions[i].id)) != HD_OK ||
		    (err = hd_take_string(a, "title", &n->actions[i].title)) != HD_OK)
			return err;
		if (n->actions[i].id == NULL || n->actions[i].title == NULL)
			return HD_ERR_INTERNAL;
	}
	return HD_OK;
}

/* A member whose value is one of names[] (NULL-terminated): *out = its index + 1,
 * the enums' first value being their default. Absent: *out is left alone. */
static enum hd_err
hd_take_name(struct json_object *o, const char *key, const char *const *names, int *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return HD_OK;
	for (int i = 0; names[i]; i++)
		if (json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), names[i]) == 0) {
			*out = i + 1;
			return HD_OK;
		}
	return HD_ERR_INTERNAL;
}

static enum hd_err
hd_take_enums(struct hd_notification *n, struct json_object *o)
{
	static const char *const interruptions[] = { "passive", "active", "time-sensitive",
		"critical", NULL };
	static const char *const urgencies[] = { "very-low", "low", "normal", "high", NULL };
	int intr = (int)n->interruption, urg = (int)n->urgency;
	enum hd_err err;

	if ((err = hd_take_name(o, "interruption", interruptions, &intr)) != HD_OK ||
	    (err = hd_take_name(o, "urgency", urgencies, &urg)) != HD_OK)
		return err;
	n->interruption = (enum hd_interruption)intr;
	n->urgency = (enum hd_urgency)urg;
	return HD_OK;
}

enum hd_err
hd_notification_set_extras(struct hd_notification *n, const char *json, size_t len)
{
	static const struct { const char *key; size_t offset; } strings[] = {
		{ "subtitle", offsetof(struct hd_notification, subtitle) },
		{ "image", offsetof(struct hd_notification, image) },
		{ "icon", offsetof(struct hd_notification, icon) },
		{ "url", offsetof(struct hd_notification, url) },
		{ "category", offsetof(struct hd_notification, category) },
		{ "thread_id", offsetof(struct hd_notification, thread_id) },
		{ "collapse_id", offsetof(struct hd_notification, collapse_id) },
	};
	static const struct { const char *key; size_t offset; } raws[] = {
		{ "apns", offsetof(struct hd_notification, raw_apns) },
		{ "fcm", offsetof(struct hd_notification, raw_fcm) },
		{ "webpush", offsetof(struct hd_notification, raw_webpush) },
		{ "wns", offsetof(struct hd_notification, raw_wns) },
	};
	struct json_tokener *tok;
	struct json_object *o = NULL, *v, *raw;
	enum hd_err err = HD_ERR_INTERNAL;

	/* The strings go into provider payloads: invalid UTF-8 (json-c lets encoded
	 * surrogates through) would make them invalid JSON or XML there. */
	if (!hd_utf8_valid(json, len))
		return HD_ERR_INTERNAL;
	if ((tok = json_tokener_new()) == NULL)
		return HD_ERR_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))
		goto out;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if ((err = hd_take_string(o, strings[i].key,
		    (char **)(void *)((char *)n + strings[i].offset))) != HD_OK)
			goto out;
	if (json_object_object_get_ex(o, "raw", &raw)) {
		err = HD_ERR_INTERNAL;
		if (!json_object_is_type(raw, json_type_object))
			goto out;
		for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++)
			if ((err = hd_take_raw(raw, raws[i].key,
			    (char **)(void *)((char *)n + raws[i].offset))) != HD_OK)
				goto out;
	}
	if (json_object_object_get_ex(o, "badge", &v)) {
		err = HD_ERR_INTERNAL;
		if (!json_object_is_type(v, json_type_int))
			goto out;
		n->has_badge = true;
		n->badge = (long)json_object_get_int64(v);
	}
	if ((err = hd_take_bool(o, "content_available", &n->content_available)) != HD_OK ||
	    (err = hd_take_bool(o, "mutable_content", &n->mutable_content)) != HD_OK ||
	    (err = hd_take_actions(n, o)) != HD_OK ||
	    (err = hd_take_enums(n, o)) != HD_OK)
		goto out;
	err = HD_OK;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return err;
}
