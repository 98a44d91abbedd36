/*
 * The delivery layer: claims due deliveries from the database (leases decided by
 * MariaDB with SKIP LOCKED), builds each provider request from the neutral
 * notification, sends it on the engine (hd_engine.h), and records every attempt's
 * outcome in batches. One deliverer per process; the worker drives it in a loop, and
 * synchronous dialects send one message's deliveries with a bounded wait.
 *
 * Memory: the deliverer owns its engine, credential and token caches and everything
 * in flight. cfg and db are borrowed and must outlive it.
 */
#ifndef HD_DELIVER_H
#define HD_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "hd_config.h"
#include "hd_db.h"
#include "hd_engine.h"
#include "hd_error.h"

struct hd_deliverer;

/* Outcomes recorded, by the delivery's new state. */
struct hd_deliver_counts {
	uint64_t delivered;
	uint64_t queued;     /* to be retried */
	uint64_t gone;
	uint64_t rejected;
	uint64_t expired;
	uint64_t lost;       /* the lease had passed to another worker: not recorded */
};

/* Reads credentials_key_file when the configuration names one: HD_ERR_CONFIG (and a
 * logged reason) when it cannot be used. */
enum hd_err hd_deliverer_new(const struct hd_config *cfg, struct hd_db *db,
    struct hd_deliverer **out);
/* Ends what is in flight without waiting (those deliveries stay claimed until their
 * lease ends) and frees everything. Call hd_deliverer_drain() first to finish them. */
void hd_deliverer_free(struct hd_deliverer *d);

/* Claims up to max due deliveries and starts them; *claimed says how many. */
enum hd_err hd_deliverer_claim(struct hd_deliverer *d, size_t max, size_t *claimed);

/* Drives the transfers for at most wait_ms and records finished outcomes. A database
 * failure while recording keeps the outcomes for the next call. A claim's lease owner
 * is fresh for each claim, so an outcome recorded after its lease passed to a later
 * claim (even this worker's) is discarded as lost instead of ending the later one. */
enum hd_err hd_deliverer_step(struct hd_deliverer *d, int wait_ms);

/* Finishes what is in flight for at most wait_ms; what still runs then is ended and
 * queued again at once (for another attempt, by this or another worker). */
enum hd_err hd_deliverer_drain(struct hd_deliverer *d, int wait_ms);

/* The keys of credentials_key_file, or NULL when none is configured. */
const struct hd_keyring *hd_deliverer_keyring(const struct hd_deliverer *d);
size_t hd_deliverer_in_flight(const struct hd_deliverer *d);
/* Outcomes finished but not recorded yet (the database refused them): the worker
 * records them before it claims more. */
size_t hd_deliverer_pending(const struct hd_deliverer *d);
void hd_deliverer_counts(const struct hd_deliverer *d, struct hd_deliver_counts *out);
void hd_deliverer_engine_stats(const struct hd_deliverer *d, struct hd_engine_stats *out);

/* Synchronous sends: delivers message_id's due deliveries now, waiting at most
 * wait_ms; *out counts this call's outcomes. Deliveries not finished by then are
 * queued again for the worker. collapse_id (borrowed; NULL: none) goes to the
 * providers for the deliveries this call claims, for messages whose collapse id is
 * never stored (the inbox dialect); deliveries the worker finishes go without it. */
enum hd_err hd_deliver_message(struct hd_deliverer *d, uint64_t message_id,
    const char *collapse_id, int wait_ms, struct hd_deliver_counts *out);

#endif
