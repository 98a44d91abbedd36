/*
 * The delivery engine's transport: provider requests over one libcurl multi handle per
 * process, HTTP/2 over TLS, multiplexed. Connections (and their TLS sessions) stay open
 * in the multi handle between requests and between batches, so a worker or a
 * FastCGI process pays the handshake once per provider host, not per delivery.
 *
 * Requests whose URL came from a device (Web Push endpoints, WNS channels) connect only
 * to public addresses, or to a provider_connect_to target the operator configured:
 * the address is checked when the socket is opened, after DNS, so a name that
 * resolves to a private address is refused too.
 *
 * Memory: hd_engine_submit() takes the request (the engine clears it when the transfer
 * ends). The response handed to the done callback lives only during the call.
 */
#ifndef HD_ENGINE_H
#define HD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "hd_buf.h"
#include "hd_config.h"
#include "hd_error.h"
#include "hd_provider.h"

struct hd_engine;

typedef void (*hd_engine_done_fn)(void *arg, const struct hd_http_response *resp);

struct hd_engine_stats {
	uint64_t requests;      /* transfers finished */
	uint64_t connections;   /* connections opened */
	size_t max_in_flight;   /* most transfers running at once */
};

/* Creates an engine with cfg's limits (borrowed; must outlive the engine). */
enum hd_err hd_engine_new(const struct hd_config *cfg, struct hd_engine **out);
void hd_engine_free(struct hd_engine *e);

/* Starts req (taken, even on error). done(arg, resp) is called from a later
 * hd_engine_run() or hd_engine_abort_all(). */
enum hd_err hd_engine_submit(struct hd_engine *e, struct hd_http_request *req,
    hd_engine_done_fn done, void *arg);

/* Drives the transfers for at most timeout_ms, returning early once at least one
 * finished (its done callback has run) or none is in flight. */
enum hd_err hd_engine_run(struct hd_engine *e, int timeout_ms);

/* Ends every transfer still running; each done callback sees status 0 with
 * transport_error "aborted". */
void hd_engine_abort_all(struct hd_engine *e);

size_t hd_engine_in_flight(const struct hd_engine *e);
void hd_engine_stats(const struct hd_engine *e, struct hd_engine_stats *out);

/* A blocking POST on the engine's own connection, for OAuth token endpoints: the
 * hd_provider_ctx.post function (post_arg is the engine). */
enum hd_err hd_engine_post(struct hd_provider_ctx *ctx, const char *url, const char *ctype,
    const char *body, size_t body_len, long *status, struct hd_buf *resp);

#endif
