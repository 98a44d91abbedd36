/*
 * What the provider unit tests share: finding headers in a built request, walking
 * JSON documents, decoding JWS segments, and checking classify() against a table of
 * answers. Include after unit.h. Functions are static inline so a test that uses
 * only some of them still compiles cleanly.
 */
#ifndef HD_PROVIDER_TEST_H
#define HD_PROVIDER_TEST_H

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"
#include "unit.h"

/* The value of header name in list (case-insensitive), or NULL; *count, when asked,
 * says how many lines had that name (the last one's value is returned). */
static inline const char *
header_in(const struct curl_slist *list, const char *name, int *count)
{
	const char *found = NULL;
	size_t n = strlen(name);
	int seen = 0;

	for (; list; list = list->next)
		if (strncasecmp(list->data, name, n) == 0 && list->data[n] == ':') {
			found = list->data + n + 1;
			while (*found == ' ')
				found++;
			seen++;
		}
	if (count)
		*count = seen;
	return found;
}

static inline int
count_headers(const struct hd_http_request *req)
{
	int n = 0;

	for (const struct curl_slist *h = req->headers; h; h = h->next)
		n++;
	return n;
}

/* The member at a '/'-separated path, or NULL. */
static inline json_object *
jpath(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, "/", &save); k && o; k = strtok_r(NULL, "/", &save))
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	return o;
}

/* The integer at path, or -999. */
static inline int64_t
jint(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);
	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -999;
}

/* A base64url JWS segment decoded and parsed as JSON, or NULL. */
static inline json_object *
decode_segment(const char *s, size_t len)
{
	unsigned char buf[1024];
	long n = hd_base64url_decode(s, len, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return json_tokener_parse((const char *)buf);
}

/* One provider answer and the outcome classify() must make of it. */
struct classify_case {
	int line;
	long status;
	const char *body, *headers;
	enum hd_outcome_kind kind;
	bool auth;
	const char *reason;
	int64_t retry_s;       /* > 0: retry_at is now + this, from Retry-After */
};

/* Classifies c's answer with p and checks every field of the outcome. */
static inline void
check_classify(const struct hd_provider *p, struct hd_provider_ctx *ctx, void *state,
    const struct hd_app_creds *creds, const struct classify_case *c)
{
	struct hd_http_response resp = { .status = c->status, .body = c->body,
		.body_len = strlen(c->body), .headers = c->headers,
		.headers_len = c->headers ? strlen(c->headers) : 0 };
	struct hd_outcome out;
	int64_t before = hd_now_usec();

	p->classify(ctx, state, creds, &resp, &out);
	CHECK_MSG(out.kind == c->kind, "line %d: kind %d", c->line, out.kind);
	CHECK_MSG(out.auth_expired == c->auth, "line %d", c->line);
	CHECK_MSG(out.provider_status == c->status, "line %d", c->line);
	CHECK_MSG(strcmp(out.reason, c->reason) == 0, "line %d: %s", c->line, out.reason);
	CHECK_MSG(out.gone_since == 0, "line %d", c->line);
	if (c->retry_s)
		CHECK_MSG(out.retry_at >= before + c->retry_s * HD_USEC_PER_SEC &&
		    out.retry_at <= hd_now_usec() + c->retry_s * HD_USEC_PER_SEC,
		    "line %d", c->line);
	else
		CHECK_MSG(out.retry_at == 0, "line %d", c->line);
}

#endif
