/*
 * The bridge from a request to the send path: a send's outcome turned into the
 * request's answer (hd_refuse_send), and the send run on its own or, deferred, in
 * the process's batch (hd_send_call; hd_batch_call.c).
 */
#include <stdio.h>

#include "hd_backlog.h"
#include "hd_endpoint.h"
#include "hd_send.h"

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
hd_backlog_call(struct hd_call *call)
{
	unsigned limit = call->ctx->cfg.max_queue_backlog;
	bool over = false;
	enum hd_err err;

	if (limit > 0 && (err = hd_backlog_over(call->ctx->db, limit, &over)) != HD_OK)
		return hd_fail(call, err);
	if (over)
		return hd_refuse(&call->why, HD_P_UNAVAILABLE, NULL,
		    "the delivery queue is over its limit; retry after a short delay");
	return HD_P_NONE;
}

enum hd_problem
hd_send_call(struct hd_call *call, const struct hd_target *t, const struct hd_message *m,
    struct hd_send_result *res)
{
	enum hd_problem p;
	enum hd_err err;

	if (call->defer)
		return hd_batch_send_call(call, t, m, res);
	if ((p = hd_backlog_call(call)) != HD_P_NONE)
		return p;
	if ((err = hd_send(call->ctx->db, &call->who, t, m, res)) != HD_OK)
		return hd_fail(call, err);
	return HD_P_NONE;
}
