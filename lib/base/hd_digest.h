/*
 * SHA-256, for what herald stores or compares by digest: key hashes, device token
 * hashes, and the sealing pass's check that a credentials row is unchanged.
 */
#ifndef HD_DIGEST_H
#define HD_DIGEST_H

#include <stddef.h>
#include "hd_error.h"

/* SHA-256 of data into out[32]. */
enum hd_err hd_sha256(const void *data, size_t len, unsigned char out[32]);
/* The same as 64 lowercase hex digits and a NUL. */
enum hd_err hd_sha256_hex(const void *data, size_t len, char out[65]);

#endif
