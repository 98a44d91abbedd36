/*
 * Signing keys and compact JWS (RFC 7515) for provider authentication: ES256 for APNs
 * provider tokens and VAPID (the signature is raw r||s, 64 bytes, never DER: RFC 7518
 * §3.4), RS256 for FCM's service-account assertion. A signer wraps an OpenSSL key
 * loaded once; signing allocates the token, which the caller frees.
 */
#ifndef HD_JWS_H
#define HD_JWS_H

#include <stddef.h>

#include "hd_error.h"

struct hd_signer;

enum hd_jws_alg { HD_JWS_ES256, HD_JWS_RS256 };

/* Loads a private key from PEM text (PKCS#8 "BEGIN PRIVATE KEY", as in an APNs .p8 file
 * or a service-account JSON, or "BEGIN EC PRIVATE KEY" / "BEGIN RSA PRIVATE KEY").
 * ES256 needs a P-256 key, RS256 an RSA key of at least 2048 bits; anything else is
 * HD_ERR_CRYPTO. */
enum hd_err hd_signer_from_pem(const char *pem, size_t len, enum hd_jws_alg alg,
    struct hd_signer **out);
void hd_signer_free(struct hd_signer *s);

/* ES256 keys: the uncompressed public point (0x04 || X || Y), 65 bytes, as VAPID's
 * k= parameter carries it. HD_ERR_CRYPTO for an RSA signer. */
enum hd_err hd_signer_public_p256(const struct hd_signer *s, unsigned char out[65]);

/* Signs base64url(header_json) "." base64url(claims_json) and returns the compact
 * token (malloc'd, NUL-terminated) in *out. The JSON texts are used as given; either
 * one over 16 KiB is HD_ERR_INTERNAL (a caller bug), an OpenSSL failure
 * HD_ERR_CRYPTO. *out is NULL on any error. */
enum hd_err hd_jws_sign(const struct hd_signer *s, const char *header_json,
    const char *claims_json, char **out);

#endif
