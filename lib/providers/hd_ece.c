/*
 * Web Push payload encryption, RFC 8291 §3 over RFC 8188 "aes128gcm" with a single
 * record, on OpenSSL's EC_POINT arithmetic rather than EVP_PKEY: an ephemeral key
 * per message is a scalar and a point, and the EVP_PKEY route spent more on looking
 * up algorithms, building the curve and importing keys than on the ECDH itself.
 *
 * Memory: the curve, HMAC and AES-128-GCM are fetched once per process (pthread_once)
 * and kept for its lifetime; they are only read afterwards, so threads share them.
 * Everything else belongs to one call. The server's private scalar lives in a secure
 * BIGNUM, the shared point in an EC_POINT and the big-number scratch in a secure
 * BN_CTX, each cleared when freed; the shared secret and every value derived from it
 * live on the stack and are wiped before returning. The subscription's key is checked
 * to be a point on P-256 before any secret is derived from it. The only output is
 * the body appended to the caller's buffer, all of it or nothing.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include "hd_ece.h"

#define HD_ECE_SALT_LEN 16
#define HD_ECE_KEY_LEN 65               /* uncompressed P-256 point */
#define HD_ECE_SCALAR_LEN 32
#define HD_ECE_AUTH_LEN 16
#define HD_ECE_CEK_LEN 16
#define HD_ECE_NONCE_LEN 12
#define HD_ECE_TAG_LEN 16
#define HD_SHA256_LEN 32
/* RFC 8188 §2.1 header: salt, rs (uint32), idlen (uint8), keyid (our public key). */
#define HD_ECE_HEADER_LEN (HD_ECE_SALT_LEN + 4 + 1 + HD_ECE_KEY_LEN)
/* RFC 8188 §2: the last record's padding starts with the delimiter 2. */
#define HD_ECE_LAST_RECORD 0x02
#define HD_ECE_BODY_MAX (HD_ECE_HEADER_LEN + HD_ECE_MAX_PLAINTEXT + 1 + HD_ECE_TAG_LEN)

/* RFC 8291 §4: a push service need not accept more than 4096 bytes of body. */
_Static_assert(HD_ECE_BODY_MAX == 4096, "one record must fill a 4096-byte body exactly");

/* What every message needs and no message changes. Building P-256 by name costs a
 * Montgomery set-up and fetching an algorithm a provider lookup, each dearer than
 * the key schedule that uses it. */
struct hd_ece_algs {
	EC_GROUP *group;
	EVP_MAC *hmac;
	EVP_CIPHER *gcm;
};

static struct hd_ece_algs hd_ece_algs;
static pthread_once_t hd_ece_algs_once = PTHREAD_ONCE_INIT;

/* A failure here (no default provider) is a broken installation, not a passing
 * condition, so it is not retried: every call then fails with HD_ERR_CRYPTO. */
static void
hd_ece_algs_load(void)
{
	struct hd_ece_algs a;

	a.group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	a.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	a.gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	if (a.group == NULL || a.hmac == NULL || a.gcm == NULL) {
		EC_GROUP_free(a.group);
		EVP_MAC_free(a.hmac);
		EVP_CIPHER_free(a.gcm);
		ERR_clear_error();
		return;
	}
	hd_ece_algs = a;
}

static const struct hd_ece_algs *
hd_ece_algs_get(void)
{
	if (pthread_once(&hd_ece_algs_once, hd_ece_algs_load) != 0 ||
	    hd_ece_algs.group == NULL)
		return NULL;
	return &hd_ece_algs;
}

/* HMAC-SHA-256 with the digest set once and a new key per call: RFC 8291's key
 * schedule is five HMACs with five different keys. */
static enum hd_err
hd_hmac_open(const struct hd_ece_algs *algs, EVP_MAC_CTX **out)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_END,
	};

	if ((*out = EVP_MAC_CTX_new(algs->hmac)) == NULL ||
	    EVP_MAC_CTX_set_params(*out, params) != 1)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

/* out = HMAC-SHA-256(key, a || b); b may be empty. */
static enum hd_err
hd_hmac(EVP_MAC_CTX *h, const unsigned char *key, size_t keylen,
    const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
    unsigned char out[HD_SHA256_LEN])
{
	size_t outlen = 0;

	if (EVP_MAC_init(h, key, keylen, NULL) != 1 ||
	    EVP_MAC_update(h, a, alen) != 1 ||
	    (blen > 0 && EVP_MAC_update(h, b, blen) != 1) ||
	    EVP_MAC_final(h, out, &outlen, HD_SHA256_LEN) != 1 ||
	    outlen != HD_SHA256_LEN)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

/* RFC 5869 HKDF-Expand for one output block (L <= 32): T(1) = HMAC(PRK, info || 1). */
static enum hd_err
hd_hkdf_expand(EVP_MAC_CTX *h, const unsigned char prk[HD_SHA256_LEN],
    const unsigned char *info, size_t infolen, unsigned char *out, size_t outlen)
{
	static const unsigned char one = 0x01;
	unsigned char t[HD_SHA256_LEN];
	enum hd_err err;

	if ((err = hd_hmac(h, prk, HD_SHA256_LEN, info, infolen, &one, 1, t)) == HD_OK)
		memcpy(out, t, outlen);
	OPENSSL_cleanse(t, sizeof(t));
	return err;
}

/* The subscription's p256dh as a point: RFC 8291 §3.1 allows only the uncompressed
 * form. Decoding refuses coordinates not below p and points off the curve; the curve
 * test is asked for again here so that the check does not rest on how one OpenSSL
 * version decodes. On P-256 (prime order, cofactor 1) any point on the curve other
 * than infinity, which 65 bytes cannot encode, is a valid peer key. */
static enum hd_err
hd_ece_peer_point(const EC_GROUP *group, const unsigned char ua_public[HD_ECE_KEY_LEN],
    EC_POINT *peer, BN_CTX *bn)
{
	if (ua_public[0] != POINT_CONVERSION_UNCOMPRESSED ||
	    EC_POINT_oct2point(group, peer, ua_public, HD_ECE_KEY_LEN, bn) != 1 ||
	    EC_POINT_is_on_curve(group, peer, bn) != 1)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

/* The server's public point d*G, uncompressed, as the key id and the key schedule
 * take it. */
static enum hd_err
hd_ece_public(const EC_GROUP *group, const BIGNUM *d, BN_CTX *bn,
    unsigned char pub[HD_ECE_KEY_LEN])
{
	EC_POINT *q;
	enum hd_err err = HD_ERR_CRYPTO;

	if ((q = EC_POINT_new(group)) != NULL &&
	    EC_POINT_mul(group, q, d, NULL, NULL, bn) == 1 &&
	    EC_POINT_point2oct(group, q, POINT_CONVERSION_UNCOMPRESSED, pub, HD_ECE_KEY_LEN,
	    bn) == HD_ECE_KEY_LEN)
		err = HD_OK;
	EC_POINT_free(q);
	return err;
}

/* RFC 8291 §3.1: a new key pair for every message, the scalar uniform in [1, n-1]. */
static enum hd_err
hd_ece_ephemeral(const EC_GROUP *group, BIGNUM *d, BN_CTX *bn,
    unsigned char pub[HD_ECE_KEY_LEN])
{
	do {
		if (BN_priv_rand_range_ex(d, EC_GROUP_get0_order(group), 0, bn) != 1)
			return HD_ERR_CRYPTO;
	} while (BN_is_zero(d));
	return hd_ece_public(group, d, bn, pub);
}

/* The given scalar must be in [1, n-1], not reduced mod n: a caller's key that is
 * out of range is a bug to report, not a different key to use. */
static enum hd_err
hd_ece_given_key(const EC_GROUP *group, const unsigned char scalar[HD_ECE_SCALAR_LEN],
    BIGNUM *d, BN_CTX *bn, unsigned char pub[HD_ECE_KEY_LEN])
{
	if (BN_bin2bn(scalar, HD_ECE_SCALAR_LEN, d) == NULL || BN_is_zero(d) ||
	    BN_cmp(d, EC_GROUP_get0_order(group)) >= 0)
		return HD_ERR_CRYPTO;
	return hd_ece_public(group, d, bn, pub);
}

/* ECDH over P-256: the X coordinate of d times the peer's point, left-padded to 32
 * bytes. A result at infinity has no affine coordinates and fails. */
static enum hd_err
hd_ece_ecdh(const EC_GROUP *group, const BIGNUM *d, const EC_POINT *peer, BN_CTX *bn,
    unsigned char secret[HD_SHA256_LEN])
{
	EC_POINT *shared = NULL;
	BIGNUM *x;
	enum hd_err err = HD_ERR_CRYPTO;

	BN_CTX_start(bn);
	if ((x = BN_CTX_get(bn)) != NULL && (shared = EC_POINT_new(group)) != NULL &&
	    EC_POINT_mul(group, shared, NULL, peer, d, bn) == 1 &&
	    EC_POINT_get_affine_coordinates(group, shared, x, NULL, bn) == 1 &&
	    BN_bn2binpad(x, secret, HD_SHA256_LEN) == HD_SHA256_LEN)
		err = HD_OK;
	if (x != NULL)
		BN_clear(x);
	EC_POINT_clear_free(shared);
	BN_CTX_end(bn);
	return err;
}

/* RFC 8291 §3.3-3.4 and RFC 8188 §2.2-2.3: from the ECDH secret to the content
 * encryption key and nonce. */
static enum hd_err
hd_ece_derive(const struct hd_ece_algs *algs, const unsigned char secret[HD_SHA256_LEN],
    const unsigned char auth[HD_ECE_AUTH_LEN], const unsigned char ua_public[HD_ECE_KEY_LEN],
    const unsigned char as_public[HD_ECE_KEY_LEN], const unsigned char salt[HD_ECE_SALT_LEN],
    unsigned char cek[HD_ECE_CEK_LEN], unsigned char nonce[HD_ECE_NONCE_LEN])
{
	static const char webpush_info[] = "WebPush: info";
	static const char cek_info[] = "Content-Encoding: aes128gcm";
	static const char nonce_info[] = "Content-Encoding: nonce";
	/* "WebPush: info" 0x00 ua_public as_public */
	unsigned char key_info[sizeof(webpush_info) + 2 * HD_ECE_KEY_LEN];
	unsigned char prk_key[HD_SHA256_LEN], ikm[HD_SHA256_LEN], prk[HD_SHA256_LEN];
	EVP_MAC_CTX *h = NULL;
	enum hd_err err;

	memcpy(key_info, webpush_info, sizeof(webpush_info));
	memcpy(key_info + sizeof(webpush_info), ua_public, HD_ECE_KEY_LEN);
	memcpy(key_info + sizeof(webpush_info) + HD_ECE_KEY_LEN, as_public, HD_ECE_KEY_LEN);
	/* The info strings' terminating NULs are the 0x00 octets the RFCs ask for. */
	if ((err = hd_hmac_open(algs, &h)) != HD_OK ||
	    (err = hd_hmac(h, auth, HD_ECE_AUTH_LEN, secret, HD_SHA256_LEN, NULL, 0,
	    prk_key)) != HD_OK ||
	    (err = hd_hkdf_expand(h, prk_key, key_info, sizeof(key_info), ikm,
	    sizeof(ikm))) != HD_OK ||
	    (err = hd_hmac(h, salt, HD_ECE_SALT_LEN, ikm, sizeof(ikm), NULL, 0,
	    prk)) != HD_OK ||
	    (err = hd_hkdf_expand(h, prk, (const unsigned char *)cek_info, sizeof(cek_info),
	    cek, HD_ECE_CEK_LEN)) != HD_OK)
		goto out;
	err = hd_hkdf_expand(h, prk, (const unsigned char *)nonce_info, sizeof(nonce_info),
	    nonce, HD_ECE_NONCE_LEN);
out:
	EVP_MAC_CTX_free(h);
	OPENSSL_cleanse(prk_key, sizeof(prk_key));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(prk, sizeof(prk));
	return err;
}

/* The one record: AES-128-GCM over plaintext || 0x02, tag appended. */
static enum hd_err
hd_ece_seal_record(const struct hd_ece_algs *algs, const unsigned char cek[HD_ECE_CEK_LEN],
    const unsigned char nonce[HD_ECE_NONCE_LEN], const unsigned char *plain, size_t len,
    unsigned char *rec)
{
	static const unsigned char delimiter = HD_ECE_LAST_RECORD;
	EVP_CIPHER_CTX *ctx;
	int n, total = 0;
	enum hd_err err = HD_ERR_CRYPTO;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(ctx, algs->gcm, cek, nonce, NULL) != 1)
		goto out;
	if (len > 0) {
		if (EVP_EncryptUpdate(ctx, rec, &n, plain, (int)len) != 1)
			goto out;
		total += n;
	}
	if (EVP_EncryptUpdate(ctx, rec + total, &n, &delimiter, 1) != 1)
		goto out;
	total += n;
	if (EVP_EncryptFinal_ex(ctx, rec + total, &n) != 1)
		goto out;
	total += n;
	if ((size_t)total != len + 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, HD_ECE_TAG_LEN,
	    rec + total) != 1)
		goto out;
	err = HD_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

/* Everything after the application server key is known: ECDH, derive, encrypt,
 * frame. */
static enum hd_err
hd_ece_seal(const struct hd_ece_algs *algs, BN_CTX *bn,
    const unsigned char ua_public[HD_ECE_KEY_LEN], const unsigned char auth[HD_ECE_AUTH_LEN],
    const BIGNUM *as_private, const unsigned char as_public[HD_ECE_KEY_LEN],
    const unsigned char salt[HD_ECE_SALT_LEN], const unsigned char *plain, size_t len,
    struct hd_buf *out)
{
	unsigned char body[HD_ECE_BODY_MAX], *p = body;
	unsigned char secret[HD_SHA256_LEN], cek[HD_ECE_CEK_LEN], nonce[HD_ECE_NONCE_LEN];
	EC_POINT *peer;
	enum hd_err err = HD_ERR_CRYPTO;

	if ((peer = EC_POINT_new(algs->group)) == NULL ||
	    (err = hd_ece_peer_point(algs->group, ua_public, peer, bn)) != HD_OK ||
	    (err = hd_ece_ecdh(algs->group, as_private, peer, bn, secret)) != HD_OK ||
	    (err = hd_ece_derive(algs, secret, auth, ua_public, as_public, salt, cek,
	    nonce)) != HD_OK)
		goto out;
	memcpy(p, salt, HD_ECE_SALT_LEN);
	p += HD_ECE_SALT_LEN;
	*p++ = (unsigned char)(HD_ECE_RECORD_SIZE >> 24);
	*p++ = (unsigned char)(HD_ECE_RECORD_SIZE >> 16);
	*p++ = (unsigned char)(HD_ECE_RECORD_SIZE >> 8);
	*p++ = (unsigned char)HD_ECE_RECORD_SIZE;
	*p++ = HD_ECE_KEY_LEN;
	memcpy(p, as_public, HD_ECE_KEY_LEN);
	p += HD_ECE_KEY_LEN;
	if ((err = hd_ece_seal_record(algs, cek, nonce, plain, len, p)) != HD_OK)
		goto out;
	err = hd_buf_append(out, body, HD_ECE_HEADER_LEN + len + 1 + HD_ECE_TAG_LEN);
out:
	EC_POINT_free(peer);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return err;
}

/* Both entry points: the server key pair from as_private (NULL: a fresh one) and the
 * salt given or fresh. */
static enum hd_err
hd_ece_run(const unsigned char ua_public[HD_ECE_KEY_LEN],
    const unsigned char auth[HD_ECE_AUTH_LEN], const unsigned char *as_private,
    const unsigned char *given_salt, const unsigned char *plain, size_t len,
    struct hd_buf *out)
{
	const struct hd_ece_algs *algs;
	unsigned char fresh_salt[HD_ECE_SALT_LEN], as_public[HD_ECE_KEY_LEN];
	const unsigned char *salt = as_private != NULL ? given_salt : fresh_salt;
	BN_CTX *bn = NULL;
	BIGNUM *d = NULL;
	enum hd_err err = HD_ERR_CRYPTO;

	if (len > HD_ECE_MAX_PLAINTEXT)
		return HD_ERR_INTERNAL;
	if ((algs = hd_ece_algs_get()) == NULL || (bn = BN_CTX_secure_new()) == NULL ||
	    (d = BN_secure_new()) == NULL)
		goto out;
	if (as_private != NULL)
		err = hd_ece_given_key(algs->group, as_private, d, bn, as_public);
	else if (RAND_bytes(fresh_salt, sizeof(fresh_salt)) == 1)
		err = hd_ece_ephemeral(algs->group, d, bn, as_public);
	if (err != HD_OK)
		goto out;
	err = hd_ece_seal(algs, bn, ua_public, auth, d, as_public, salt, plain, len, out);
out:
	/* A bad subscription key is outside input: its OpenSSL errors must not be left
	 * queued for the TLS code that runs next on this thread. */
	if (err != HD_OK)
		ERR_clear_error();
	BN_clear_free(d);
	BN_CTX_free(bn);
	return err;
}

enum hd_err
hd_ece_encrypt(const unsigned char ua_public[65], const unsigned char auth[16],
    const unsigned char *plain, size_t len, struct hd_buf *out)
{
	return hd_ece_run(ua_public, auth, NULL, NULL, plain, len, out);
}

enum hd_err
hd_ece_encrypt_with(const unsigned char ua_public[65], const unsigned char auth[16],
    const unsigned char as_private[32], const unsigned char salt[16],
    const unsigned char *plain, size_t len, struct hd_buf *out)
{
	return hd_ece_run(ua_public, auth, as_private, salt, plain, len, out);
}
