/*
 * Per-client-address rate limit, counted per wall-clock second of the database's
 * clock (so every web host counts the same window). The decision is one atomic upsert
 * in MariaDB, never a read-then-write here.
 */
#ifndef HD_RATELIMIT_H
#define HD_RATELIMIT_H

#include <stdbool.h>
#include "hd_db.h"

/* Counts one request from addr (textual IPv4/IPv6). *limited is true when this request
 * is over limit requests in the current second. */
enum hd_err hd_ratelimit_hit(struct hd_db *db, const char *addr, unsigned limit,
    bool *limited);

#endif
