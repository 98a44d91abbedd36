/*
 * The delivery queue measured for /metrics: deliveries still queued or sending, by
 * state and priority, and how long the oldest due one has waited (one call of
 * hd_queue_metrics, schema/migrations/0015). The caller owns the rows it gets.
 */
#ifndef HD_QUEUE_STATS_H
#define HD_QUEUE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "hd_db.h"

struct hd_queue_row {
	char state[16];            /* "queued" or "sending" */
	int64_t priority;
	int64_t deliveries;
	int64_t oldest_due_us;     /* queued rows only; 0 when none is due */
};

/* Reads the queue into *rows (*n of them; free() them). The database's error, with
 * *rows NULL, on failure. */
enum hd_err hd_queue_stats(struct hd_db *db, struct hd_queue_row **rows, size_t *n);

#endif
