/*
 * Synchronous delivery for a request, on the request thread's deliverer
 * (hd_deliver.h): hd_serve() makes one per thread for programs with HD_EP_DELIVERS
 * endpoints, and it keeps its connections and caches from one request to the next.
 */
#include "hd_deliver.h"
#include "hd_endpoint.h"

enum hd_err
hd_deliver_call(struct hd_call *call, uint64_t message_id)
{
	struct hd_ctx *ctx = call->ctx;
	struct hd_deliver_counts counts;

	if (ctx->deliverer == NULL)
		return HD_ERR_INTERNAL;
	return hd_deliver_message(ctx->deliverer, message_id, (int)ctx->cfg.sync_wait_ms,
	    &counts);
}
