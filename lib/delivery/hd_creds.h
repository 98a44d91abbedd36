/*
 * Apps' provider credentials (table app_credentials), loaded once per process and
 * reloaded when the row changes: each claimed delivery carries its app's newest
 * credentials time, so an operator's update takes effect with the next claim, and keys
 * are parsed once, not per delivery.
 *
 * Secrets sealed at rest (hd_creds_seal.h) are opened with the keyring given at
 * creation; without it, or without the key that sealed them, loading fails and the
 * delivery is retried later.
 *
 * Memory: the cache owns the credentials; hd_creds_get() hands out a reference that
 * stays valid until hd_creds_release(), even if a newer version replaces it meanwhile.
 */
#ifndef HD_CREDS_H
#define HD_CREDS_H

#include <stdint.h>

#include "hd_db.h"
#include "hd_error.h"
#include "hd_keyring.h"
#include "hd_provider.h"

struct hd_creds_cache;

/* keyring (may be NULL) is borrowed: it must outlive the cache. */
enum hd_err hd_creds_cache_new(struct hd_db *db, const struct hd_keyring *keyring,
    struct hd_creds_cache **out);
/* Every reference must have been released. */
void hd_creds_cache_free(struct hd_creds_cache *c);

/* The app's credentials as of updated_at (usec; 0: the app has none). */
enum hd_err hd_creds_get(struct hd_creds_cache *c, uint64_t app_id, int64_t updated_at,
    const struct hd_app_creds **out);
void hd_creds_release(struct hd_creds_cache *c, const struct hd_app_creds *creds);

#endif
