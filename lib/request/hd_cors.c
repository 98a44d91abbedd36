/*
 * CORS (Fetch standard) for browser-callable endpoints: preflights are answered for
 * origins some app allows; actual requests carry the app's key, and their origin must
 * be one of that app's (hd_cors_check()).
 */
#include <string.h>

#include "hd_pipeline_steps.h"

#define HD_CORS_MAX_AGE "600"

static const char SQL_ORIGIN_ALLOWED[] = "CALL hd_origin_allowed(?, ?)";

enum hd_problem
hd_cors_check(struct hd_call *call, const char *origin, bool preflight)
{
	int64_t one;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &one };
	struct hd_dbp p[2] = { HD_DBP_NULL, HD_DBP_TEXT(origin, strlen(origin)) };
	bool found = false;
	enum hd_err err;

	if (p[1].len > 255)
		return hd_refuse(&call->why, HD_P_ORIGIN_NOT_ALLOWED, NULL,
		    "this origin is not allowed for the app");
	/* A preflight carries no key: any app's origin is let through to the real request,
	 * which is checked against its own app's. */
	if (!preflight)
		p[0] = HD_DBP_U64(call->who.app_id);
	if ((err = hd_db_call(call->ctx->db, SQL_ORIGIN_ALLOWED, p, 2, &col, 1, &found)) != HD_OK)
		return hd_fail(call, err);
	if (!found)
		return hd_refuse(&call->why, HD_P_ORIGIN_NOT_ALLOWED, NULL,
		    "this origin is not allowed for the app");
	hd_answer_header(call, "Access-Control-Allow-Origin", origin);
	hd_answer_header(call, "Vary", "Origin");
	return HD_P_NONE;
}

bool
hd_origin_safe(const char *origin)
{
	/* Echoed into a header: printable ASCII only. */
	for (const char *p = origin; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

enum hd_problem
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

bool
hd_is_cors_path(const struct hd_program *prog, const char *path)
{
	const char *arg;

	for (size_t i = 0; i < prog->nendpoints; i++)
		if ((prog->endpoints[i].flags & HD_EP_CORS) &&
		    hd_path_match(&prog->endpoints[i], path, &arg))
			return true;
	return false;
}
