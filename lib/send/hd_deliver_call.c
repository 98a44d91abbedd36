/*
 * Synchronous delivery for a request, on the request thread's deliverer
 * (hd_deliver.h): hd_serve() makes one per thread for programs with HD_EP_DELIVERS
 * endpoints, and it keeps its connections and caches from one request to the next.
 *
 * With sync_delivery = worker the program holds no provider secret and opens none
 * (docs/credentials.md): it leaves the delivery to the workers and waits, within the
 * same bound, for their outcomes.
 */
#include <time.h>

#include "hd_deliver.h"
#include "hd_endpoint.h"
#include "hd_time.h"

/* How often the rows of deliveries a worker holds are looked at while waiting. */
#define HD_DELIVER_CALL_POLL_USEC 20000

static const char SQL_UNFINISHED[] = "CALL hd_message_unfinished(?, ?)";

enum hd_err
hd_deliver_call(struct hd_call *call, uint64_t message_id, const char *collapse_id)
{
	struct hd_ctx *ctx = call->ctx;
	int64_t deadline = hd_now_usec() + (int64_t)ctx->cfg.sync_wait_ms * 1000;
	struct timespec pause = { 0, HD_DELIVER_CALL_POLL_USEC * 1000 };
	struct hd_deliver_counts counts;
	/* With the workers delivering, what they have not yet tried is waited for too. */
	struct hd_dbp p[] = { HD_DBP_U64(message_id),
		HD_DBP_I64(ctx->cfg.sync_delivery == HD_SYNC_WORKER) };
	int64_t sending = 0;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &sending };
	enum hd_err err;
	bool found;

	if (ctx->cfg.sync_delivery == HD_SYNC_INLINE) {
		if (ctx->deliverer == NULL)
			return HD_ERR_INTERNAL;
		if ((err = hd_deliver_message(ctx->deliverer, message_id, collapse_id,
		    (int)ctx->cfg.sync_wait_ms, &counts)) != HD_OK)
			return err;
	}
	/* Deliveries a worker claimed before this request could are its to finish: the
	 * answer waits for them, within the same bound, so that it counts them too. */
	while ((err = hd_db_call(ctx->db, SQL_UNFINISHED, p, 2, &col, 1, &found)) == HD_OK &&
	    found && sending > 0 && hd_now_usec() + HD_DELIVER_CALL_POLL_USEC < deadline)
		nanosleep(&pause, NULL);
	return err;
}
