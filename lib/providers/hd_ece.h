/*
 * Web Push message encryption: RFC 8291 over RFC 8188 "aes128gcm", one record. Every
 * message gets a fresh ephemeral P-256 key pair and a fresh 16-byte salt; the _with
 * variant takes both from the caller for the RFC 8291 Appendix A known-answer test.
 */
#ifndef HD_ECE_H
#define HD_ECE_H

#include <stddef.h>

#include "hd_buf.h"
#include "hd_error.h"

/* The largest plaintext one 4096-byte record can carry: 4096 - 86 (header with a
 * 65-byte key id) - 16 (tag) - 1 (padding delimiter). */
#define HD_ECE_MAX_PLAINTEXT 3993
#define HD_ECE_RECORD_SIZE 4096

/* Appends the aes128gcm body (salt, rs, key id = our public key, one record) for the
 * subscription (ua_public: 65-byte uncompressed P-256 point; auth: 16 bytes) to out.
 * HD_ERR_CRYPTO for a bad subscription key or an OpenSSL failure; HD_ERR_INTERNAL for
 * plaintext over HD_ECE_MAX_PLAINTEXT. */
enum hd_err hd_ece_encrypt(const unsigned char ua_public[65], const unsigned char auth[16],
    const unsigned char *plain, size_t len, struct hd_buf *out);

/* The same with the application server's private key (32-byte P-256 scalar) and salt
 * given. */
enum hd_err hd_ece_encrypt_with(const unsigned char ua_public[65],
    const unsigned char auth[16], const unsigned char as_private[32],
    const unsigned char salt[16], const unsigned char *plain, size_t len,
    struct hd_buf *out);

#endif
