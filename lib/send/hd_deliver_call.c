/*
 * Synchronous delivery for a request: the request thread's deliverer (hd_deliver.h),
 * made on the thread's first synchronous send and kept with its connections and
 * caches for the next; hd_serve() frees it with the thread.
 */
#include "hd_deliver.h"
#include "hd_endpoint.h"

enum hd_err
hd_deliver_call(struct hd_call *call, uint64_t message_id)
{
	struct hd_ctx *ctx = call->ctx;
	struct hd_deliver_counts counts;
	enum hd_err err;

	if (ctx->deliverer == NULL &&
	    (err = hd_deliverer_new(&ctx->cfg, ctx->db, &ctx->deliverer)) != HD_OK)
		return err;
	return hd_deliver_message(ctx->deliverer, message_id, (int)ctx->cfg.sync_wait_ms,
	    &counts);
}
