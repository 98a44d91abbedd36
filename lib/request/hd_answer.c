/*
 * Answers: the json-c setters every handler uses, the answer and its headers, the
 * native error document, and the mapping of library errors to refusals. The
 * answer document belongs to the call (hd_answer() takes it over).
 */
#include <stdio.h>
#include <string.h>

#include "hd_endpoint.h"
#include "hd_log.h"

/* Adds value under key, releasing it when it cannot be added (out of memory). */
static void
hd_json_set(json_object *obj, const char *key, json_object *value)
{
	if (obj == NULL || value == NULL || json_object_object_add(obj, key, value) != 0)
		json_object_put(value);
}

void
hd_json_set_str(json_object *obj, const char *key, const char *s, size_t len)
{
	hd_json_set(obj, key, json_object_new_string_len(s, (int)len));
}

void
hd_json_set_int(json_object *obj, const char *key, int64_t v)
{
	hd_json_set(obj, key, json_object_new_int64(v));
}

void
hd_json_set_bool(json_object *obj, const char *key, bool v)
{
	hd_json_set(obj, key, json_object_new_boolean(v));
}

json_object *
hd_native_error_doc(const struct hd_refusal *why)
{
	const struct hd_problem_info *info = hd_problem_info(why->problem);
	json_object *doc = json_object_new_object(), *err = json_object_new_object();

	if (doc == NULL || err == NULL) {
		json_object_put(doc);
		json_object_put(err);
		return NULL;
	}
	hd_json_set_str(err, "code", info->code, strlen(info->code));
	hd_json_set_str(err, "message", why->message, strlen(why->message));
	if (why->field[0])
		hd_json_set_str(err, "field", why->field, strlen(why->field));
	if (json_object_object_add(doc, "error", err) != 0) {
		json_object_put(err);
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

void
hd_answer(struct hd_call *call, int status, json_object *doc)
{
	json_object_put(call->answer);
	call->status = status;
	call->answer = doc;
}

void
hd_answer_text(struct hd_call *call, int status, const char *content_type)
{
	hd_answer(call, status, NULL);
	call->reply->content_type = content_type;
}

enum hd_err
hd_answer_header(struct hd_call *call, const char *name, const char *value)
{
	return hd_buf_printf(&call->reply->headers, "%s: %s\r\n", name, value);
}

enum hd_problem
hd_fail(struct hd_call *call, enum hd_err err)
{
	if (err == HD_ERR_DB_UNAVAILABLE || err == HD_ERR_DB_RETRY)
		return hd_refuse(&call->why, HD_P_UNAVAILABLE, NULL,
		    "the database is unavailable; retry after a short delay");
	hd_log_error("request failed: %s", hd_strerror(err));
	return hd_refuse(&call->why, HD_P_INTERNAL, NULL, "internal error");
}

size_t
hd_body_limit(const struct hd_dialect *d, const struct hd_config *cfg)
{
	return d && d->max_body ? d->max_body(cfg) : cfg->max_body_bytes;
}
