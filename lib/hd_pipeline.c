/*
 * The request pipeline shared by every endpoint of every dialect (DESIGN.md §2).
 * Every refusal leaves through hd_pipeline_refuse(), which renders the dialect's error
 * shape in the negotiated format, so no call site writes an error document by hand.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hd_backlog.h"
#include "hd_endpoint.h"
#include "hd_log.h"
#include "hd_send.h"
#include "hd_text.h"

#define HD_CORS_MAX_AGE "600"

static const char HD_INVALID_KEY_TEXT[] =
    "the key is unknown, revoked or not valid for this endpoint";

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

enum hd_err
hd_answer_header(struct hd_call *call, const char *name, const char *value)
{
	return hd_buf_printf(&call->reply->headers, "%s: %s\r\n", name, value);
}

enum hd_problem
hd_refuse_send(struct hd_call *call, const struct hd_send_result *res,
    enum hd_problem no_user)
{
	char value[16];

	if (res->disabled)
		return hd_refuse(&call->why, HD_P_PUSH_DISABLED, NULL,
		    "sending is disabled for this app");
	if (res->quota_retry_after) {
		snprintf(value, sizeof(value), "%u", res->quota_retry_after);
		hd_answer_header(call, "Retry-After", value);
		return hd_refuse(&call->why, HD_P_QUOTA_EXCEEDED, NULL,
		    "the app's delivery quota is spent until the current window ends in %u s",
		    res->quota_retry_after);
	}
	if (res->push_count > 0)
		return HD_P_NONE;
	if (res->user_ambiguous)
		return hd_refuse(&call->why, HD_P_AMBIGUOUS_USER, NULL,
		    "several users have this email; name the user by UserId or UserExternalId");
	if (!res->user_found && no_user == HD_P_USER_NOT_FOUND)
		return hd_refuse(&call->why, HD_P_USER_NOT_FOUND, NULL,
		    "no user matches the given identifier");
	return hd_refuse(&call->why, HD_P_NO_DEVICES, NULL,
	    "no devices with push permission found for this user");
}

enum hd_problem
hd_send_call(struct hd_call *call, const struct hd_target *t, const struct hd_message *m,
    struct hd_send_result *res)
{
	unsigned limit = call->ctx->cfg.max_queue_backlog;
	bool over = false;
	enum hd_err err;

	if (call->defer)
		return hd_batch_send_call(call, t, m, res);
	if (limit > 0 && (err = hd_backlog_over(call->ctx->db, limit, &over)) != HD_OK)
		return hd_fail(call, err);
	if (over)
		return hd_refuse(&call->why, HD_P_UNAVAILABLE, NULL,
		    "the delivery queue is over its limit; retry after a short delay");
	if ((err = hd_send(call->ctx->db, &call->who, t, m, res)) != HD_OK)
		return hd_fail(call, err);
	return HD_P_NONE;
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

/* Writes the answer document (or the refusal) into the reply. */
static void
hd_pipeline_render(struct hd_call *call, const struct hd_dialect *d,
    const char *answer_root)
{
	struct hd_reply *r = call->reply;
	const char *root = answer_root;
	enum hd_format fmt = call->out_fmt ? call->out_fmt : d->default_format;

	r->status = call->status;
	if (call->answer == NULL)
		return;
	if (call->status >= 400)
		root = d->error_root;
	hd_buf_reset(&r->body);
	if (hd_doc_write(call->answer, fmt, root ? root : "response", &r->body) != HD_OK) {
		hd_buf_reset(&r->body);
		r->status = 500;
		r->content_type = "text/plain; charset=utf-8";
		hd_buf_puts(&r->body, "internal error\n");
		return;
	}
	r->content_type = fmt == HD_FMT_XML ? "application/xml; charset=utf-8" :
	    "application/json; charset=utf-8";
}

static void
hd_pipeline_refuse(struct hd_call *call, const struct hd_dialect *d)
{
	const struct hd_problem_info *info = hd_problem_info(call->why.problem);

	if (call->why.message[0] == '\0')
		snprintf(call->why.message, sizeof(call->why.message), "%s", info->message);
	if (info->status >= 500)
		hd_log_warn("%s %s -> %d %s", hd_method_name(call->req->method),
		    call->req->path, info->status, call->why.message);
	else
		hd_log_debug("%s %s -> %d %s: %s", hd_method_name(call->req->method),
		    call->req->path, info->status, info->code, call->why.message);
	hd_answer(call, info->status, d->error_doc(&call->why));
	if (call->answer == NULL) {
		call->status = 500;
		return;
	}
	if (call->why.problem == HD_P_RATE_LIMITED || call->why.problem == HD_P_UNAVAILABLE)
		hd_answer_header(call, "Retry-After", "1");
}

/* Whether path is ep's path; a "{id}" segment matches one non-empty segment of at
 * most HD_PATH_ARG_MAX bytes, which *arg then points at (else NULL). */
static bool
hd_path_match(const struct hd_endpoint *ep, const char *path, const char **arg)
{
	const char *brace = strstr(ep->path, "{id}");
	size_t plen = brace ? (size_t)(brace - ep->path) : strlen(ep->path);
	const char *rest = path + plen;

	*arg = NULL;
	if (brace == NULL)
		return strcmp(path, ep->path) == 0;
	if (strncmp(path, ep->path, plen) != 0 || *rest == '\0' || strchr(rest, '/') ||
	    strlen(rest) > HD_PATH_ARG_MAX)
		return false;
	*arg = rest;
	return true;
}

/* Finds the endpoint for the request; on a miss fills why with 404 or 405. */
static const struct hd_endpoint *
hd_route(const struct hd_program *prog, struct hd_call *call)
{
	const struct hd_request *req = call->req;
	char allow[96] = "";
	size_t used = 0;
	bool path_known = false;

	for (size_t i = 0; i < prog->nendpoints; i++) {
		const struct hd_endpoint *ep = &prog->endpoints[i];
		const char *arg;
		int n;

		if (!hd_path_match(ep, req->path, &arg))
			continue;
		path_known = true;
		if (ep->method == req->method || (req->method == HD_HEAD && ep->method == HD_GET)) {
			if (arg)
				snprintf(call->path_arg, sizeof(call->path_arg), "%s", arg);
			return ep;
		}
		n = snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "",
		    hd_method_name(ep->method));
		if (n > 0 && (size_t)n < sizeof(allow) - used)
			used += (size_t)n;
	}
	if (path_known) {
		hd_answer_header(call, "Allow", allow);
		hd_refuse(&call->why, HD_P_METHOD, NULL, "method not allowed; allowed: %s", allow);
	} else
		hd_refuse(&call->why, HD_P_NOT_FOUND, NULL, "no such endpoint");
	return NULL;
}

/* Formats (DESIGN.md §4): the request's by Content-Type, else the dialect's default;
 * the answer's by ?format=, then Accept, then the request's. Problems are kept in
 * call->format_why for later, and the formats fall back so errors can be written. */
static void
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

/* CORS (Fetch standard): preflights are answered for origins some app allows; actual
 * requests carry the app's key, and their origin must be one of that app's. */
static const char SQL_ORIGIN_ANY_APP[] =
    "SELECT 1 FROM app_origins WHERE origin = ? LIMIT 1";
static const char SQL_ORIGIN_OF_APP[] =
    "SELECT 1 FROM app_origins WHERE app_id = ? AND origin = ?";

static enum hd_problem
hd_cors_check(struct hd_call *call, const char *origin, bool preflight)
{
	int64_t one;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &one };
	struct hd_dbp p[2];
	bool found = false;
	enum hd_err err;
	size_t len = strlen(origin);

	if (len > 255)
		return hd_refuse(&call->why, HD_P_ORIGIN_NOT_ALLOWED, NULL,
		    "this origin is not allowed for the app");
	if (preflight) {
		p[0] = HD_DBP_TEXT(origin, len);
		err = hd_db_query_one(call->ctx->db, SQL_ORIGIN_ANY_APP, p, 1, &col, 1, &found);
	} else {
		p[0] = HD_DBP_U64(call->who.app_id);
		p[1] = HD_DBP_TEXT(origin, len);
		err = hd_db_query_one(call->ctx->db, SQL_ORIGIN_OF_APP, p, 2, &col, 1, &found);
	}
	if (err != HD_OK)
		return hd_fail(call, err);
	if (!found)
		return hd_refuse(&call->why, HD_P_ORIGIN_NOT_ALLOWED, NULL,
		    "this origin is not allowed for the app");
	hd_answer_header(call, "Access-Control-Allow-Origin", origin);
	hd_answer_header(call, "Vary", "Origin");
	return HD_P_NONE;
}

static bool
hd_origin_safe(const char *origin)
{
	/* Echoed into a header: printable ASCII only. */
	for (const char *p = origin; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static enum hd_problem
hd_preflight(struct hd_call *call, const struct hd_program *prog)
{
	const char *origin = hd_request_param(call->req, "HTTP_ORIGIN");
	char methods[64] = "OPTIONS";
	unsigned seen = 0;
	enum hd_problem p;

	struct hd_principal nobody;
	bool limited, found;
	enum hd_err err;

	/* Preflights carry no key, but count against the address's rate limit. */
	err = hd_admit(call->ctx->db, call->req->remote_addr,
	    call->ctx->cfg.rate_limit_per_address, HD_KEY_NONE, NULL, 0, &nobody, &limited,
	    &found);
	if (err != HD_OK)
		return hd_fail(call, err);
	if (limited)
		return hd_refuse(&call->why, HD_P_RATE_LIMITED, NULL,
		    "rate limit exceeded (%u requests per second per address)",
		    call->ctx->cfg.rate_limit_per_address);
	if (origin == NULL || !hd_origin_safe(origin))
		return hd_refuse(&call->why, HD_P_ORIGIN_NOT_ALLOWED, NULL,
		    "a CORS preflight needs an allowed Origin");
	if ((p = hd_cors_check(call, origin, true)) != HD_P_NONE)
		return p;
	for (size_t i = 0; i < prog->nendpoints; i++) {
		enum hd_method m = prog->endpoints[i].method;
		if (!(prog->endpoints[i].flags & HD_EP_CORS) || (seen & (1u << m)))
			continue;
		seen |= 1u << m;
		strncat(methods, ", ", sizeof(methods) - strlen(methods) - 1);
		strncat(methods, hd_method_name(m), sizeof(methods) - strlen(methods) - 1);
	}
	hd_answer_header(call, "Access-Control-Allow-Methods", methods);
	hd_answer_header(call, "Access-Control-Allow-Headers", "Content-Type, Accept, X-Client-Key");
	hd_answer_header(call, "Access-Control-Max-Age", HD_CORS_MAX_AGE);
	hd_answer(call, 204, NULL);
	return HD_P_NONE;
}

static bool
hd_is_cors_path(const struct hd_program *prog, const char *path)
{
	const char *arg;

	for (size_t i = 0; i < prog->nendpoints; i++)
		if ((prog->endpoints[i].flags & HD_EP_CORS) &&
		    hd_path_match(&prog->endpoints[i], path, &arg))
			return true;
	return false;
}

/* Steps 2-6 of the pipeline, for a routed request. */
static enum hd_problem
hd_pipeline_steps(struct hd_call *call, const struct hd_endpoint *ep)
{
	const struct hd_dialect *d = ep->dialect;
	struct hd_ctx *ctx = call->ctx;
	const struct hd_request *req = call->req;
	const char *origin = (ep->flags & HD_EP_CORS) ? hd_request_param(req, "HTTP_ORIGIN") : NULL;
	const char *why = NULL, *key = NULL;
	enum hd_problem p;
	enum hd_err err;
	bool limited, found;

	if (req->body_too_large)
		return hd_refuse(&call->why, HD_P_BODY_TOO_LARGE, NULL,
		    "the body is larger than %zu bytes", ctx->cfg.max_body_bytes);
	if (req->body_bad_length)
		return hd_refuse(&call->why, HD_P_MALFORMED, NULL,
		    "the body does not match its Content-Length");
	/* Rate limit and header key: one round trip (hd_admit). */
	if (!(ep->flags & HD_EP_PUBLIC) && d->key_header) {
		key = hd_request_param(req, d->key_header);
		if (key != NULL && *key == '\0')
			key = NULL;
	}
	limited = false;
	found = true;
	if (call->defer)
		*call->defer = (struct hd_admission){ req->remote_addr,
		    (ep->flags & HD_EP_NO_RATE) ? 0 : ctx->cfg.rate_limit_per_address,
		    d->key_kind, key, key ? strlen(key) : 0, -1, HD_INVALID_KEY_TEXT, false };
	else if ((err = hd_admit(ctx->db, req->remote_addr,
	    (ep->flags & HD_EP_NO_RATE) ? 0 : ctx->cfg.rate_limit_per_address,
	    d->key_kind, key, key ? strlen(key) : 0, &call->who, &limited, &found)) != HD_OK)
		return hd_fail(call, err);
	if (limited)
		return hd_refuse(&call->why, HD_P_RATE_LIMITED, NULL,
		    "rate limit exceeded (%u requests per second per address)",
		    ctx->cfg.rate_limit_per_address);
	if (!(ep->flags & HD_EP_PUBLIC) && d->key_header) {
		if (key == NULL)
			return hd_refuse(&call->why, HD_P_MISSING_KEY, NULL,
			    "the request needs a key in the %s header", d->key_header_name);
		if (!found && d->other_kind_forbidden && call->who.other_kind != HD_KEY_NONE)
			return hd_refuse(&call->why, HD_P_KEY_KIND, NULL,
			    "the key in %s is a valid key of another kind, which this endpoint"
			    " does not take", d->key_header_name);
		if (!found)
			return hd_refuse(&call->why, HD_P_INVALID_KEY, NULL, "%s",
			    HD_INVALID_KEY_TEXT);
	}
	/* Checked as soon as the app is known, so that every later refusal carries the
	 * CORS headers and the page can read it. */
	if (origin && d->key_header) {
		if (!hd_origin_safe(origin))
			return hd_refuse(&call->why, HD_P_ORIGIN_NOT_ALLOWED, NULL,
			    "this origin is not allowed for the app");
		if ((p = hd_cors_check(call, origin, false)) != HD_P_NONE)
			return p;
	}
	/* A Content-Type only matters for a request with a body. */
	if (call->format_why.problem == HD_P_BAD_PARAMETER ||
	    (call->format_why.problem == HD_P_MEDIA_TYPE && ep->fields)) {
		call->why = call->format_why;
		return call->why.problem;
	}
	if (ep->fields) {
		if (ep->fields->n > HD_MAX_FIELDS)
			return hd_refuse(&call->why, HD_P_INTERNAL, NULL, "too many declared fields");
		if (req->body_len == 0)
			return hd_refuse(&call->why, HD_P_MALFORMED, NULL, "the body is empty");
		if (call->in_fmt == HD_FMT_XML)
			p = hd_xml_parse(req->body, req->body_len, &ep->xml, &call->body, &why);
		else
			p = hd_json_parse(req->body, req->body_len, &call->body, &why);
		if (p != HD_P_NONE)
			return hd_refuse(&call->why, p, NULL, "%s", why);
		if ((p = hd_fields_validate(ep->fields, call->body, call->in_fmt == HD_FMT_XML,
		    call->values, &call->why)) != HD_P_NONE)
			return p;
	}
	if (!(ep->flags & HD_EP_PUBLIC) && d->auth_body && (p = d->auth_body(call)) != HD_P_NONE)
		return p;
	return ep->handler(call);
}

/* A batched send runs deferred first: parsed and validated with its admission left to
 * the send's batch. Anything that ends it before the send (a refusal, which must
 * keep its place after the rate limit and the key) runs it again in full. */
static enum hd_problem
hd_pipeline_batched(struct hd_call *call, const struct hd_endpoint *ep)
{
	struct hd_admission adm;
	enum hd_problem p;

	memset(&adm, 0, sizeof(adm));
	call->defer = &adm;
	p = hd_pipeline_steps(call, ep);
	call->defer = NULL;
	if (adm.submitted)
		return p;
	json_object_put(call->body);
	json_object_put(call->answer);
	call->body = call->answer = NULL;
	call->status = 0;
	memset(&call->who, 0, sizeof(call->who));
	memset(call->values, 0, sizeof(call->values));
	memset(&call->why, 0, sizeof(call->why));
	hd_buf_reset(&call->reply->headers);
	return hd_pipeline_steps(call, ep);
}

void
hd_pipeline_run(struct hd_ctx *ctx, const struct hd_program *prog,
    const struct hd_request *req, struct hd_reply *reply)
{
	struct hd_call call;
	const struct hd_endpoint *ep;
	const struct hd_dialect *d = prog->dialect;
	enum hd_problem p;

	memset(&call, 0, sizeof(call));
	call.ctx = ctx;
	call.req = req;
	call.reply = reply;
	hd_db_request_start(ctx->db);

	ep = hd_route(prog, &call);
	if (ep)
		d = ep->dialect;
	hd_negotiate(&call, d);
	if (ep != NULL && (ep->flags & HD_EP_BATCHED) && !(ep->flags & HD_EP_CORS) && ctx->batch)
		p = hd_pipeline_batched(&call, ep);
	else if (ep != NULL)
		p = hd_pipeline_steps(&call, ep);
	else if (req->method == HD_OPTIONS && hd_is_cors_path(prog, req->path)) {
		hd_buf_reset(&reply->headers);
		memset(&call.why, 0, sizeof(call.why));
		p = hd_preflight(&call, prog);
	} else
		p = call.why.problem;
	if (p != HD_P_NONE)
		hd_pipeline_refuse(&call, d);
	hd_db_rollback(ctx->db);
	hd_pipeline_render(&call, d, ep ? ep->answer_root : NULL);
	json_object_put(call.answer);
	json_object_put(call.body);
}
