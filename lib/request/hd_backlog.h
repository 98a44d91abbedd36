/*
 * The queue backlog (migration 0005): workers measure how many queued deliveries are
 * due, and sends are refused with 503 while that is over max_queue_backlog, so an
 * overloaded herald says so at once instead of queueing without bound.
 */
#ifndef HD_BACKLOG_H
#define HD_BACKLOG_H

#include <stdbool.h>

#include "hd_db.h"
#include "hd_error.h"

/* How old a measurement may be and still count: a few worker measurement intervals. */
#define HD_BACKLOG_FRESH_S 10

/* Counts the due deliveries, up to limit + 1, and stores the count. */
enum hd_err hd_backlog_measure(struct hd_db *db, unsigned limit);

/* *over: a fresh measurement says more than limit deliveries are due. */
enum hd_err hd_backlog_over(struct hd_db *db, unsigned limit, bool *over);

#endif
