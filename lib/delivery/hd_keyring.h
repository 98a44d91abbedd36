/*
 * The keys that seal provider secrets at rest (docs/credentials.md): AES-256-GCM, read
 * from the file credentials_key_file names. Only the hosts that deliver hold it, so a
 * database dump or a web host that does not deliver holds no usable APNs, FCM, VAPID
 * or WNS secret.
 *
 * The file has one key per line, "ID HEX" (ID: 1 to 64 of [A-Za-z0-9._-]; HEX: 64
 * hex digits, 32 bytes), '#' comments and blank lines allowed. The first key is the
 * current one: everything is sealed with it. The others only unseal, which is what
 * rotation needs: put the new key first, and the worker re-seals what the old ones
 * sealed (hd_creds_seal.h). A file that anyone besides its owner and group may read
 * is refused.
 *
 * A sealed value is: the byte 1 (the format), a 12-byte random nonce, the ciphertext
 * and the 16-byte tag. The associated data names the row it belongs to, so a sealed
 * value copied into another app's row does not open.
 *
 * Memory: the keyring owns its keys and wipes them when freed. Sealed and unsealed
 * values are appended to the caller's buffer.
 */
#ifndef HD_KEYRING_H
#define HD_KEYRING_H

#include <stddef.h>

#include "hd_buf.h"
#include "hd_error.h"

#define HD_KEY_ID_MAX 64

struct hd_keyring;

/* Reads the file at path. HD_ERR_CONFIG, with a one-line reason in err, when the file
 * cannot be read, is open to others, or holds no key or a malformed line. */
enum hd_err hd_keyring_load(const char *path, struct hd_keyring **out, char *err,
    size_t errlen);
/* Parses text[0..len), the file's contents (for tests and hd_keyring_load). */
enum hd_err hd_keyring_parse(const char *text, size_t len, struct hd_keyring **out,
    char *err, size_t errlen);
void hd_keyring_free(struct hd_keyring *k);

/* The current key's id. */
const char *hd_keyring_current(const struct hd_keyring *k);
/* Whether the keyring holds the key named id. */
int hd_keyring_has(const struct hd_keyring *k, const char *id);

/* Seals pt[0..n) with the current key for aad; appends the sealed value to out. */
enum hd_err hd_seal(const struct hd_keyring *k, const char *aad, const void *pt, size_t n,
    struct hd_buf *out);
/* Opens sealed[0..n) with key id for aad; appends the plaintext to out.
 * HD_ERR_CRYPTO when the key is not held, the value is malformed or was tampered with,
 * or aad is not the one it was sealed for. */
enum hd_err hd_unseal(const struct hd_keyring *k, const char *id, const char *aad,
    const void *sealed, size_t n, struct hd_buf *out);

#endif
