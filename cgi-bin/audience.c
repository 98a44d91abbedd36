/*
 * The audience dialect (seed 001): POST /api/v1/push/send with a user_token (query or
 * body) that is granted the app named by app_id. The body names up to 1000 audience
 * elements and per-platform objects (ios, android, win, uwp), checked strictly; the
 * send is stored durably, then delivered inline within sync_wait_ms, and the
 * answer counts the providers' outcomes. Errors are the seed's numeric codes,
 * {"status_code":N,"errors":[{"code":C,"msg":"…"}]}. JSON by default; XML bodies
 * and answers (any root element; answers <response>) by herald's one mapping.
 * docs/audience.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd_audience_codes.h"
#include "hd_audience_map.h"
#include "hd_audience_report.h"
#include "hd_audience_schema.h"
#include "hd_endpoint.h"
#include "hd_grant.h"
#include "hd_log.h"
#include "hd_send_targets.h"

/* The body is checked by the dialect's own schema (hd_audience_schema.c). */
static const struct hd_fieldset send_fieldset = HD_FIELDSET_FREE_FORM;

/* pack_id shares the app's dedupe keys with the other dialects: prefixed, it never
 * meets a developer dedupe_key. The seed's window is 10 minutes, whatever the app's. */
#define PACK_PREFIX "audience-pack:"
#define PACK_WINDOW_S 600

/* What the seed's msg shows of a wrong token: its start, never the whole secret. */
#define TOKEN_SHOWN 4

static enum hd_problem
authenticate(struct hd_call *call)
{
	char query[HD_KEY_MAX_LEN + 1], shown[TOKEN_SHOWN + 4];
	const char *token = NULL, *app;
	size_t len = 0, app_len;
	enum hd_grant grant;
	enum hd_err err;
	bool found = false;
	int q = hd_request_query(call->req, "user_token", query, sizeof(query));

	/* A query value that is malformed or longer than any key names no key. */
	if (q == -1)
		return hd_audience_refuse(&call->why, HD_AC_WRONG_TOKEN, "user_token", "...", NULL);
	if (q == 1 && query[0]) {
		token = query;
		len = strlen(query);
	} else {
		token = hd_as_str(call->body, "user_token", &len);
	}
	if (token == NULL || len == 0)
		return hd_audience_refuse(&call->why, HD_AC_TOKEN_NOT_SET, "user_token", NULL, NULL);
	if (hd_key_acceptable(HD_KEY_USER_TOKEN, len) &&
	    (err = hd_auth_lookup(call->ctx->db, HD_KEY_USER_TOKEN, token, len, &call->who,
	    &found)) != HD_OK)
		return hd_fail(call, err);
	if (!found) {
		if (call->who.other_kind != HD_KEY_NONE)
			return hd_audience_refuse(&call->why, HD_AC_NO_API_ACCESS, NULL, NULL, NULL);
		memcpy(shown, token, len < TOKEN_SHOWN ? len : TOKEN_SHOWN);
		memcpy(shown + (len < TOKEN_SHOWN ? len : TOKEN_SHOWN), "...", 4);
		return hd_audience_refuse(&call->why, HD_AC_WRONG_TOKEN, "user_token", shown, NULL);
	}
	if ((app = hd_as_str(call->body, "app_id", &app_len)) == NULL || app_len == 0)
		return hd_audience_refuse(&call->why, HD_AC_FIELD_NOT_FOUND, "app_id", NULL, NULL);
	if ((err = hd_grant_app(call->ctx->db, &call->who, app, app_len, &grant)) != HD_OK)
		return hd_fail(call, err);
	switch (grant) {
	case HD_GRANT_OK:
		return HD_P_NONE;
	case HD_GRANT_NOT_APP:
		return hd_audience_refuse(&call->why, HD_AC_NO_APP_ACCESS, "app_id", app, NULL);
	case HD_GRANT_NONE:
		return hd_audience_refuse(&call->why, HD_AC_NO_PUSH_ACCESS, "app_id", NULL, NULL);
	default:
		return hd_audience_refuse(&call->why, HD_AC_INVALID_APP, "app_id", app, NULL);
	}
}

/* The seed's success document. */
static enum hd_problem
answer(struct hd_call *call, unsigned users, struct hd_audience_outcome *o)
{
	json_object *doc = json_object_new_object(), *data = json_object_new_object(),
	    *result = json_object_new_object();

	if (doc == NULL || data == NULL || result == NULL) {
		json_object_put(doc);
		json_object_put(data);
		json_object_put(result);
		json_object_put(o->details);
		return hd_fail(call, HD_ERR_NOMEM);
	}
	hd_json_set_int(result, "audience", users);
	hd_json_set_int(result, "successful", o->successful);
	hd_json_set_int(result, "erroneous", o->erroneous);
	json_object_object_add(result, "error_details", o->details);
	hd_json_set_str(data, "status", "complete", 8);
	json_object_object_add(data, "result", result);
	hd_json_set_int(doc, "status_code", 200);
	json_object_object_add(doc, "data", data);
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
send_push(struct hd_call *call)
{
	struct hd_target_item *items = NULL;
	char (*numbers)[HD_AUDIENCE_NUMBER_TEXT] = NULL;
	struct hd_audience_notice notice;
	struct hd_targets_result res;
	struct hd_audience_outcome outcome = { 0, 0, NULL };
	enum hd_audience_code none;
	char pack[sizeof(PACK_PREFIX) + 200];
	const char *pack_id;
	size_t pack_len, nitems, ngroups = 0, total = 0;
	enum hd_problem p;
	enum hd_err err;

	memset(&notice, 0, sizeof(notice));
	if ((p = hd_audience_check(call->body, call->in_fmt == HD_FMT_XML, &call->why)) !=
	    HD_P_NONE)
		return p;
	if ((p = hd_audience_map(call->body, &notice, &call->why)) != HD_P_NONE)
		return p;
	hd_as_item(call->body, "audience", 0, &total);
	items = calloc(total * HD_AUDIENCE_IDENTIFIERS, sizeof(*items));
	numbers = calloc(total, sizeof(*numbers));
	if (items == NULL || numbers == NULL) {
		p = hd_fail(call, HD_ERR_NOMEM);
		goto out;
	}
	nitems = hd_audience_targets(call->body, notice.platforms, items, numbers, &ngroups);
	notice.m.campaign = hd_as_str(call->body, "campaign_tag", &notice.m.campaign_len);
	if ((pack_id = hd_as_str(call->body, "pack_id", &pack_len)) != NULL) {
		notice.m.dedupe_len = (size_t)snprintf(pack, sizeof(pack), "%s%.*s", PACK_PREFIX,
		    (int)pack_len, pack_id);
		notice.m.dedupe_key = pack;
	}
	if ((p = hd_backlog_call(call)) != HD_P_NONE)
		goto out;
	memset(&res, 0, sizeof(res));
	if (nitems > 0) {
		struct hd_targets_send s = { items, nitems, ngroups, &notice.m, PACK_WINDOW_S,
			false, false };

		if (pack_id == NULL)
			s.dedupe_window_s = -1;
		if ((err = hd_send_targets(call->ctx->db, &call->who, &s, &res)) != HD_OK) {
			p = hd_fail(call, err);
			goto out;
		}
	} else {
		res.disabled = !call->who.push_enabled;
	}
	if (res.disabled) {
		p = hd_audience_refuse(&call->why, HD_AC_PUSH_DISABLED, NULL, NULL, NULL);
		goto out;
	}
	if (res.replayed) {
		p = hd_audience_refuse(&call->why, HD_AC_REPEATED_PACK, "pack_id", pack_id, NULL);
		goto out;
	}
	if (res.quota_retry_after) {
		struct hd_send_result quota = { .quota_retry_after = res.quota_retry_after };

		p = hd_refuse_send(call, &quota, HD_P_NO_DEVICES);
		goto out;
	}
	if (!res.stored) {
		if ((err = hd_audience_why_none(call->ctx->db, call->who.app_id, &none)) != HD_OK)
			p = hd_fail(call, err);
		else
			p = hd_audience_refuse(&call->why, none, NULL, NULL, NULL);
		goto out;
	}
	/* Stored and committed: from here on the answer is 200, whatever the providers
	 * say; a delivery the wait leaves unfinished stays queued for the worker. */
	if ((err = hd_deliver_call(call, res.message_id, NULL)) != HD_OK)
		hd_log_warn("inline delivery of message %llu: %s",
		    (unsigned long long)res.message_id, hd_strerror(err));
	if ((err = hd_audience_outcome(call->ctx->db, call->who.app_id, res.message_id,
	    &outcome)) != HD_OK) {
		p = hd_fail(call, err);
		goto out;
	}
	p = answer(call, res.users, &outcome);
out:
	free(items);
	free(numbers);
	hd_audience_notice_free(&notice);
	return p;
}

static size_t
max_body(const struct hd_config *cfg)
{
	return cfg->audience_max_body_bytes;
}

static const struct hd_dialect audience = {
	.name = "audience",
	.default_format = HD_FMT_JSON,
	.key_kind = HD_KEY_USER_TOKEN,
	.auth_body = authenticate,
	.max_body = max_body,
	.refine_refusal = hd_audience_refine,
	.error_doc = hd_audience_error_doc,
	.error_root = "response",
};

static const struct hd_endpoint endpoints[] = {
	{ HD_POST, "/api/v1/push/send", &audience, &send_fieldset, { NULL, false },
	  "response", HD_EP_DELIVERS, send_push },
};

int
main(void)
{
	static const struct hd_program prog = { "herald-audience", endpoints,
		sizeof(endpoints) / sizeof(endpoints[0]), &audience };

	return hd_serve(&prog);
}
