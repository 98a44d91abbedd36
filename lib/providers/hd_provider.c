/* What every provider shares: reading the engine's answer headers, Retry-After,
 * building and releasing a request, refusals and reasons from outside text, and the
 * json-c calls every provider makes the same way. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"

#define HD_RETRY_AFTER_MAX (24 * 3600 * HD_USEC_PER_SEC)
#define HD_RETRY_AFTER_TEXT 128       /* longer than any valid value */
#define HD_REQUEST_URL_MAX 4096
#define HD_HEADER_LINE_MAX 8192
#define HD_JSON_DEPTH 32
#define HD_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void
hd_http_request_clear(struct hd_http_request *req)
{
	free(req->url);
	curl_slist_free_all(req->headers);
	hd_buf_free(&req->body);
	memset(req, 0, sizeof(*req));
}

static bool
hd_is_space(char c)
{
	return c == ' ' || c == '\t';
}

bool
hd_http_header(const struct hd_http_response *resp, const char *name, char *out,
    size_t outcap)
{
	const char *p = resp->headers, *end = p ? p + resp->headers_len : NULL;
	const char *found = NULL;
	size_t nlen = strlen(name), flen = 0;

	/* The engine keeps only the final answer's header block; a repeated header
	 * counts by its last occurrence. */
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *lend = eol ? eol : end;
		size_t llen = (size_t)(lend - p);

		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (llen > nlen && p[nlen] == ':' && hd_ascii_ieq(p, nlen, name)) {
			const char *v = p + nlen + 1, *vend = p + llen;

			while (v < vend && hd_is_space(*v))
				v++;
			while (vend > v && hd_is_space(vend[-1]))
				vend--;
			found = v;
			flen = (size_t)(vend - v);
		}
		p = eol ? eol + 1 : end;
	}
	if (found == NULL || flen >= outcap)
		return false;
	memcpy(out, found, flen);
	out[flen] = '\0';
	return true;
}

static int
hd_month_index(const char *m)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (memcmp(months + 3 * i, m, 3) == 0)
			return i + 1;
	return 0;
}

/* IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT", exactly 29 bytes. */
static int64_t
hd_imf_fixdate(const char *s, size_t len)
{
	int64_t day, year, hh, mm, ss;
	int month;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    memcmp(s + 26, "GMT", 3) != 0)
		return 0;
	if (hd_parse_i64(s + 5, 2, &day) != 0 || (month = hd_month_index(s + 8)) == 0 ||
	    hd_parse_i64(s + 12, 4, &year) != 0 || hd_parse_i64(s + 17, 2, &hh) != 0 ||
	    hd_parse_i64(s + 20, 2, &mm) != 0 || hd_parse_i64(s + 23, 2, &ss) != 0)
		return 0;
	if (day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60)
		return 0;
	return ((hd_days_from_civil(year, month, (int)day) * 86400) + hh * 3600 + mm * 60 +
	    ss) * HD_USEC_PER_SEC;
}

int64_t
hd_retry_after_parse(const char *value, int64_t now)
{
	size_t len;
	uint64_t secs;
	int64_t at;

	if (value == NULL || (len = strlen(value)) == 0)
		return 0;
	if (value[0] >= '0' && value[0] <= '9') {
		if (len > 10 || hd_parse_u64(value, len, &secs) != 0)
			return 0;
		at = now + (int64_t)secs * HD_USEC_PER_SEC;
	} else if ((at = hd_imf_fixdate(value, len)) == 0) {
		return 0;
	}
	if (at < now)
		at = now;
	if (at > now + HD_RETRY_AFTER_MAX)
		at = now + HD_RETRY_AFTER_MAX;
	return at;
}

int64_t
hd_retry_after(const struct hd_http_response *resp, int64_t now)
{
	char value[HD_RETRY_AFTER_TEXT];

	if (!hd_http_header(resp, "Retry-After", value, sizeof(value)))
		return 0;
	return hd_retry_after_parse(value, now);
}

int
hd_outcome_refuse(struct hd_outcome *o, const char *fmt, ...)
{
	va_list ap;

	memset(o, 0, sizeof(*o));
	o->kind = HD_OUTCOME_REJECTED;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	return HD_BUILD_REFUSED;
}

size_t
hd_text_clean(char *out, size_t cap, const char *s, size_t len)
{
	size_t i;

	for (i = 0; s && i < len && i + 1 < cap; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return i;
}

void
hd_outcome_reason(struct hd_outcome *o, const char *prefix, const char *s)
{
	size_t n;

	snprintf(o->reason, sizeof(o->reason), "%s", prefix);
	n = strlen(o->reason);
	hd_text_clean(o->reason + n, sizeof(o->reason) - n, s, s ? strlen(s) : 0);
	/* A provider may give an empty reason: the status still says something. */
	if (o->reason[0] == '\0')
		snprintf(o->reason, sizeof(o->reason), "HTTP %d", o->provider_status);
}

void
hd_outcome_explain(struct hd_outcome *o, const char *what, const char *detail)
{
	size_t n;

	snprintf(o->reason, sizeof(o->reason), "%s", what);
	n = strlen(o->reason);
	if (detail[0] && n + 1 < sizeof(o->reason))
		snprintf(o->reason + n, sizeof(o->reason) - n, ": %s", detail);
}

/* Formats into *out (malloc'd); HD_ERR_NOMEM when longer than max bytes. */
static enum hd_err
hd_vformat(size_t max, char **out, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	*out = NULL;
	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n >= 0 && (size_t)n <= max && (*out = malloc((size_t)n + 1)) != NULL)
		vsnprintf(*out, (size_t)n + 1, fmt, again);
	va_end(again);
	return *out ? HD_OK : n < 0 ? HD_ERR_INTERNAL : HD_ERR_NOMEM;
}

bool
hd_outcome_begin(struct hd_outcome *out, const struct hd_http_response *resp,
    const char *what)
{
	char detail[sizeof(out->reason)];
	const char *t = resp->transport_error;

	memset(out, 0, sizeof(*out));
	out->provider_status = (int)resp->status;
	if (resp->status != 0)
		return true;
	out->kind = HD_OUTCOME_RETRY;
	hd_text_clean(detail, sizeof(detail), t, t ? strlen(t) : 0);
	hd_outcome_explain(out, what, detail);
	return false;
}

const struct hd_reason_kind *
hd_reason_find(const struct hd_reason_kind *table, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

enum hd_err
hd_http_request_url(struct hd_http_request *req, const char *fmt, ...)
{
	char *url;
	va_list ap;
	enum hd_err err;

	va_start(ap, fmt);
	err = hd_vformat(HD_REQUEST_URL_MAX, &url, fmt, ap);
	va_end(ap);
	if (err != HD_OK)
		return err;
	free(req->url);
	req->url = url;
	return HD_OK;
}

enum hd_err
hd_header_add(struct curl_slist **list, const char *fmt, ...)
{
	struct curl_slist *l;
	char *line;
	va_list ap;
	enum hd_err err;

	va_start(ap, fmt);
	err = hd_vformat(HD_HEADER_LINE_MAX, &line, fmt, ap);
	va_end(ap);
	if (err != HD_OK)
		return err;
	if ((l = curl_slist_append(*list, line)) == NULL)
		err = HD_ERR_NOMEM;
	else
		*list = l;
	free(line);
	return err;
}

int
hd_json_parse_object(const char *text, size_t len, json_object **out)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end;

	*out = NULL;
	if (len > INT32_MAX)
		return 1;
	if ((tok = json_tokener_new_ex(HD_JSON_DEPTH)) == NULL)
		return -HD_ERR_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		end = 0;
	while (end && end < len && (text[end] == ' ' || text[end] == '\t' ||
	    text[end] == '\r' || text[end] == '\n'))
		end++;
	json_tokener_free(tok);
	if (end != len || len == 0) {
		json_object_put(o);
		return 1;
	}
	*out = o;
	return 0;
}

const char *
hd_json_get_str(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

enum hd_err
hd_json_put(json_object *o, const char *key, json_object *v)
{
	if (v == NULL)
		return HD_ERR_NOMEM;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return HD_ERR_NOMEM;
	}
	return HD_OK;
}

enum hd_err
hd_json_put_str(json_object *o, const char *key, const char *s)
{
	return s ? hd_json_put(o, key, json_object_new_string(s)) : HD_OK;
}

const char *
hd_json_text(json_object *o)
{
	return json_object_to_json_string_ext(o, HD_JSON_FLAGS);
}

enum hd_err
hd_json_sign(const struct hd_signer *key, json_object *header, json_object *claims,
    char **jwt)
{
	const char *htext, *ctext;

	if ((htext = hd_json_text(header)) == NULL || (ctext = hd_json_text(claims)) == NULL)
		return HD_ERR_NOMEM;
	return hd_jws_sign(key, htext, ctext, jwt);
}
