/*
 * A deferred request's send (hd_send_call while call->defer is set): hands the send
 * with the request's admission to the process's batcher and turns the batch's
 * decision into the answer the request would have got on its own, in the request
 * path's order: 429 rate limit, 401 key, 503 backlog, then the send's own outcome
 * (hd_refuse_send); 503 when the batch failed. Memory: everything handed over lives on this thread's stack or
 * in the request until hd_batch_run() returns.
 */
#include <string.h>

#include "hd_batch.h"
#include "hd_endpoint.h"

enum hd_problem
hd_batch_send_call(struct hd_call *call, const struct hd_target *t,
    const struct hd_message *m, struct hd_send_result *res)
{
	struct hd_admission *adm = call->defer;
	struct hd_batch_send s;

	memset(&s, 0, sizeof(s));
	s.adm = adm;
	s.t = t;
	s.m = m;
	adm->submitted = true;
	hd_batch_run(call->ctx->batch, &s);
	/* A batch whose transaction failed (after its reruns for deadlocks) stored
	 * nothing: every send in it answers 503, to be retried. */
	if (s.err != HD_OK)
		return hd_fail(call, s.err == HD_ERR_DB ? HD_ERR_DB_UNAVAILABLE : s.err);
	switch (s.state) {
	case HD_BS_LIMITED:
		return hd_refuse(&call->why, HD_P_RATE_LIMITED, NULL,
		    "rate limit exceeded (%u requests per second per address)",
		    adm->rate_limit);
	case HD_BS_BAD_KEY:
		return hd_refuse(&call->why, HD_P_INVALID_KEY, NULL, "%s",
		    adm->invalid_key_message);
	case HD_BS_BACKLOG:
		return hd_refuse(&call->why, HD_P_UNAVAILABLE, NULL,
		    "the delivery queue is over its limit; retry after a short delay");
	default:
		break;
	}
	call->who.kind = adm->kind;
	memcpy(call->who.app_uid, s.app_uid, sizeof(call->who.app_uid));
	*res = s.res;
	return HD_P_NONE;
}
