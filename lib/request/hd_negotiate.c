/*
 * Content negotiation (DESIGN.md §4): the request's format from Content-Type, the
 * answer's from ?format=, then Accept (RFC 9110 §12.5.1, q values), then the request's.
 */
#include <string.h>

#include "hd_pipeline_steps.h"
#include "hd_text.h"

/* Whether the media type s[0..len) (parameters cut off) is type, blanks around it
 * and case aside. */
static bool
hd_media_is(const char *s, size_t len, const char *type)
{
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return hd_ascii_ieq(s, len, type);
}

/* application/json, application/xml or text/xml, parameters ignored. */
static enum hd_format
hd_media_format(const char *s, size_t len)
{
	if (hd_media_is(s, len, "application/json"))
		return HD_FMT_JSON;
	if (hd_media_is(s, len, "application/xml") || hd_media_is(s, len, "text/xml"))
		return HD_FMT_XML;
	return HD_FMT_NONE;
}

/* The q value of one Accept element (RFC 9110 §12.4.2): 0 to 1, three decimals. */
static int
hd_qvalue(const char *params, size_t len)
{
	const char *q = NULL;
	int v = 0, scale = 100;

	for (size_t i = 0; i + 1 < len; i++)
		if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=' &&
		    (i == 0 || params[i - 1] == ';' || params[i - 1] == ' '))
			q = params + i + 2;
	if (q == NULL)
		return 1000;
	len -= (size_t)(q - params);
	if (len == 0 || (*q != '0' && *q != '1'))
		return 0;
	v = (*q - '0') * 1000;
	if (len > 1 && q[1] == '.')
		for (size_t i = 2; i < len && i < 5 && q[i] >= '0' && q[i] <= '9'; i++) {
			v += (q[i] - '0') * scale;
			scale /= 10;
		}
	return v > 1000 ? 1000 : v;
}

/* The JSON or XML type an Accept header prefers (highest q, first on ties). Wildcards
 * leave the choice to the request's format, so they are not counted here. */
static enum hd_format
hd_accept_format(const char *accept)
{
	const char *p = accept;
	enum hd_format best = HD_FMT_NONE;
	int bestq = 0;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *semi = memchr(p, ';', len);
		size_t tlen = semi ? (size_t)(semi - p) : len;
		enum hd_format f = hd_media_format(p, tlen);
		int q = semi ? hd_qvalue(semi + 1, len - tlen - 1) : 1000;

		if (f != HD_FMT_NONE && q > bestq) {
			best = f;
			bestq = q;
		}
		p = end ? end + 1 : NULL;
	}
	return best;
}

/* Formats (DESIGN.md §4): the request's by Content-Type, else the dialect's default;
 * the answer's by ?format=, then Accept, then the request's. Problems are kept in
 * call->format_why for later, and the formats fall back so errors can be written. */
void
hd_negotiate(struct hd_call *call, const struct hd_dialect *d)
{
	const struct hd_request *req = call->req;
	const char *ctype = hd_request_param(req, "CONTENT_TYPE");
	const char *accept = hd_request_param(req, "HTTP_ACCEPT");
	char fmt[16];
	int q;

	call->in_fmt = d->default_format;
	if (ctype && *ctype) {
		const char *semi = strchr(ctype, ';');
		size_t len = semi ? (size_t)(semi - ctype) : strlen(ctype);
		enum hd_format f = hd_media_format(ctype, len);

		if (f != HD_FMT_NONE)
			call->in_fmt = f;
		else if (!d->form_type_is_unset ||
		    !hd_media_is(ctype, len, "application/x-www-form-urlencoded"))
			hd_refuse(&call->format_why, HD_P_MEDIA_TYPE, NULL,
			    "Content-Type must be application/json, application/xml or text/xml");
	}
	call->out_fmt = call->in_fmt;
	if (accept && !d->ignore_accept && hd_accept_format(accept) != HD_FMT_NONE)
		call->out_fmt = hd_accept_format(accept);
	q = hd_request_query(req, "format", fmt, sizeof(fmt));
	if (q == 1 && hd_ascii_ieq(fmt, strlen(fmt), "json"))
		call->out_fmt = HD_FMT_JSON;
	else if (q == 1 && hd_ascii_ieq(fmt, strlen(fmt), "xml"))
		call->out_fmt = HD_FMT_XML;
	else if (q != 0)
		hd_refuse(&call->format_why, HD_P_BAD_PARAMETER, "format",
		    "format must be json or xml");
}
