/*
 * The request pipeline shared by every endpoint of every dialect (DESIGN.md §2).
 * Every refusal leaves through hd_pipeline_refuse(), which renders the dialect's error
 * shape in the negotiated format, so no call site writes an error document by hand.
 */
#include <stdio.h>
#include <string.h>

#include "hd_log.h"
#include "hd_pipeline_steps.h"

static const char HD_INVALID_KEY_TEXT[] =
    "the key is unknown, revoked or not valid for this endpoint";

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
	call.ep = ep;
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
