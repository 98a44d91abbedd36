/*
 * Provider secrets sealed at rest in app_credentials (migration 0016,
 * docs/credentials.md). The secrets of a row (its private key PEM and its WNS client
 * secret) are sealed together with the keyring's current key, bound to the row's app
 * and provider. The worker's sealing pass seals what an operator stored in plain text
 * and re-seals what an older key sealed; the credentials cache opens them.
 *
 * Memory: opened secrets point into the caller's buffer, which the caller wipes
 * (explicit_bzero) and frees.
 */
#ifndef HD_CREDS_SEAL_H
#define HD_CREDS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "hd_buf.h"
#include "hd_db.h"
#include "hd_error.h"
#include "hd_keyring.h"

/* Longest stored PEM key or certificate read back. */
#define HD_CREDS_PEM_MAX (16 * 1024)
/* Largest sealed value read back: a PEM key and a 255-byte secret, sealed. */
#define HD_SEALED_MAX (20 * 1024)

/* A row's secrets; NULL when the row has none. Not NUL-terminated. */
struct hd_creds_secrets {
	const char *private_key_pem;
	size_t private_key_len;
	const char *client_secret;
	size_t client_secret_len;
};

/* Opens the sealed secrets of app_id's provider row, sealed with key key_id, into
 * plain; out points into plain. HD_ERR_CRYPTO when the keyring lacks the key or the
 * value does not open (tampered, or copied from another row). */
enum hd_err hd_creds_open(const struct hd_keyring *k, uint64_t app_id, const char *provider,
    const char *key_id, const void *sealed, size_t n, struct hd_buf *plain,
    struct hd_creds_secrets *out);

/* One sealing pass: seals every row in plain text, and re-seals every row sealed with
 * another key, with k's current key. *sealed counts the rows written. */
enum hd_err hd_creds_seal_pass(struct hd_db *db, const struct hd_keyring *k,
    unsigned *sealed);

#endif
