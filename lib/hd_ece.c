/*
 * Web Push payload encryption, RFC 8291 §3 over RFC 8188 "aes128gcm" with a single
 * record. The subscription's key is checked to be a point on P-256 before any
 * secret is derived from it. The shared secret and every value derived from it live
 * on the stack and are wiped before returning; the server's private key lives in
 * OpenSSL, which clears it when the key is freed. The only output is the body
 * appended to the caller's buffer, all of it or nothing.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
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

static const char hd_ece_curve[] = "prime256v1";

/* HMAC-SHA-256 with the digest set once and a new key per call: RFC 8291's key
 * schedule is five HMACs with five different keys. */
struct hd_hmac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

static enum hd_err
hd_hmac_open(struct hd_hmac *h)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_END,
	};

	h->ctx = NULL;
	if ((h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (h->ctx = EVP_MAC_CTX_new(h->mac)) == NULL ||
	    EVP_MAC_CTX_set_params(h->ctx, params) != 1)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

static void
hd_hmac_close(struct hd_hmac *h)
{
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
}

/* out = HMAC-SHA-256(key, a || b); b may be empty. */
static enum hd_err
hd_hmac(struct hd_hmac *h, const unsigned char *key, size_t keylen,
    const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
    unsigned char out[HD_SHA256_LEN])
{
	size_t outlen = 0;

	if (EVP_MAC_init(h->ctx, key, keylen, NULL) != 1 ||
	    EVP_MAC_update(h->ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_MAC_update(h->ctx, b, blen) != 1) ||
	    EVP_MAC_final(h->ctx, out, &outlen, HD_SHA256_LEN) != 1 ||
	    outlen != HD_SHA256_LEN)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

/* RFC 5869 HKDF-Expand for one output block (L <= 32): T(1) = HMAC(PRK, info || 1). */
static enum hd_err
hd_hkdf_expand(struct hd_hmac *h, const unsigned char prk[HD_SHA256_LEN],
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

/* The subscription's p256dh as an OpenSSL key on own's curve: RFC 8291 §3.1 allows
 * only the uncompressed form, and the point must be on P-256 with coordinates below
 * p. That is the whole check for a curve of prime order (cofactor 1); OpenSSL's full
 * check would add a multiplication by the order, as dear as the ECDH itself. The
 * curve is copied from own because building it again by name costs more than the
 * import. */
static enum hd_err
hd_ece_peer_key(EVP_PKEY *own, const unsigned char ua_public[HD_ECE_KEY_LEN],
    EVP_PKEY **out)
{
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *check = NULL;
	enum hd_err err = HD_ERR_CRYPTO;

	*out = NULL;
	if (ua_public[0] != POINT_CONVERSION_UNCOMPRESSED)
		return HD_ERR_CRYPTO;
	if ((peer = EVP_PKEY_new()) == NULL || EVP_PKEY_copy_parameters(peer, own) != 1 ||
	    EVP_PKEY_set1_encoded_public_key(peer, ua_public, HD_ECE_KEY_LEN) != 1)
		goto out;
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL)) != NULL &&
	    EVP_PKEY_public_check_quick(check) == 1) {
		*out = peer;
		peer = NULL;
		err = HD_OK;
	}
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(peer);
	return err;
}

/* The application server key pair from a given private scalar: OpenSSL does not
 * derive the public point on import, and the point is both the key id and part of
 * the key schedule. */
static enum hd_err
hd_ece_key_from_scalar(const unsigned char d[HD_ECE_SCALAR_LEN], EVP_PKEY **out,
    unsigned char pub[HD_ECE_KEY_LEN])
{
	EC_GROUP *group = NULL;
	EC_POINT *point = NULL;
	BIGNUM *priv = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	enum hd_err err = HD_ERR_CRYPTO;

	*out = NULL;
	if ((group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (priv = BN_secure_new()) == NULL ||
	    BN_bin2bn(d, HD_ECE_SCALAR_LEN, priv) == NULL ||
	    BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0)
		goto out;
	if ((point = EC_POINT_new(group)) == NULL ||
	    EC_POINT_mul(group, point, priv, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub,
	    HD_ECE_KEY_LEN, NULL) != HD_ECE_KEY_LEN)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, hd_ece_curve,
	    0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    HD_ECE_KEY_LEN) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) == 1)
		err = HD_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(point);
	BN_clear_free(priv);
	EC_GROUP_free(group);
	return err;
}

/* ECDH over P-256: the shared point's X coordinate. The peer was checked when it
 * was imported (hd_ece_peer_key), so OpenSSL is not asked to check it again. */
static enum hd_err
hd_ece_ecdh(EVP_PKEY *own, EVP_PKEY *peer, unsigned char secret[HD_SHA256_LEN])
{
	EVP_PKEY_CTX *ctx;
	size_t len = HD_SHA256_LEN;
	enum hd_err err = HD_ERR_CRYPTO;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	    EVP_PKEY_derive(ctx, secret, &len) == 1 && len == HD_SHA256_LEN)
		err = HD_OK;
	EVP_PKEY_CTX_free(ctx);
	return err;
}

/* RFC 8291 §3.3-3.4 and RFC 8188 §2.2-2.3: from the ECDH secret to the content
 * encryption key and nonce. */
static enum hd_err
hd_ece_derive(const unsigned char secret[HD_SHA256_LEN],
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
	struct hd_hmac h;
	enum hd_err err;

	memcpy(key_info, webpush_info, sizeof(webpush_info));
	memcpy(key_info + sizeof(webpush_info), ua_public, HD_ECE_KEY_LEN);
	memcpy(key_info + sizeof(webpush_info) + HD_ECE_KEY_LEN, as_public, HD_ECE_KEY_LEN);
	/* The info strings' terminating NULs are the 0x00 octets the RFCs ask for. */
	if ((err = hd_hmac_open(&h)) != HD_OK ||
	    (err = hd_hmac(&h, auth, HD_ECE_AUTH_LEN, secret, HD_SHA256_LEN, NULL, 0,
	    prk_key)) != HD_OK ||
	    (err = hd_hkdf_expand(&h, prk_key, key_info, sizeof(key_info), ikm,
	    sizeof(ikm))) != HD_OK ||
	    (err = hd_hmac(&h, salt, HD_ECE_SALT_LEN, ikm, sizeof(ikm), NULL, 0,
	    prk)) != HD_OK ||
	    (err = hd_hkdf_expand(&h, prk, (const unsigned char *)cek_info, sizeof(cek_info),
	    cek, HD_ECE_CEK_LEN)) != HD_OK)
		goto out;
	err = hd_hkdf_expand(&h, prk, (const unsigned char *)nonce_info, sizeof(nonce_info),
	    nonce, HD_ECE_NONCE_LEN);
out:
	hd_hmac_close(&h);
	OPENSSL_cleanse(prk_key, sizeof(prk_key));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(prk, sizeof(prk));
	return err;
}

/* The one record: AES-128-GCM over plaintext || 0x02, tag appended. */
static enum hd_err
hd_ece_seal_record(const unsigned char cek[HD_ECE_CEK_LEN],
    const unsigned char nonce[HD_ECE_NONCE_LEN], const unsigned char *plain, size_t len,
    unsigned char *rec)
{
	static const unsigned char delimiter = HD_ECE_LAST_RECORD;
	EVP_CIPHER_CTX *ctx;
	int n, total = 0;
	enum hd_err err = HD_ERR_CRYPTO;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), cek, nonce, NULL) != 1)
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

/* Everything after the application server key is known: derive, encrypt, frame. */
static enum hd_err
hd_ece_seal(const unsigned char ua_public[HD_ECE_KEY_LEN],
    const unsigned char auth[HD_ECE_AUTH_LEN], EVP_PKEY *as_key,
    const unsigned char as_public[HD_ECE_KEY_LEN], const unsigned char salt[HD_ECE_SALT_LEN],
    const unsigned char *plain, size_t len, struct hd_buf *out)
{
	unsigned char body[HD_ECE_BODY_MAX], *p = body;
	unsigned char secret[HD_SHA256_LEN], cek[HD_ECE_CEK_LEN], nonce[HD_ECE_NONCE_LEN];
	EVP_PKEY *peer = NULL;
	enum hd_err err;

	if ((err = hd_ece_peer_key(as_key, ua_public, &peer)) != HD_OK ||
	    (err = hd_ece_ecdh(as_key, peer, secret)) != HD_OK ||
	    (err = hd_ece_derive(secret, auth, ua_public, as_public, salt, cek,
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
	if ((err = hd_ece_seal_record(cek, nonce, plain, len, p)) != HD_OK)
		goto out;
	err = hd_buf_append(out, body, HD_ECE_HEADER_LEN + len + 1 + HD_ECE_TAG_LEN);
out:
	EVP_PKEY_free(peer);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return err;
}

enum hd_err
hd_ece_encrypt(const unsigned char ua_public[65], const unsigned char auth[16],
    const unsigned char *plain, size_t len, struct hd_buf *out)
{
	unsigned char salt[HD_ECE_SALT_LEN], as_public[HD_ECE_KEY_LEN];
	size_t publen = 0;
	EVP_PKEY *as_key = NULL;
	enum hd_err err = HD_ERR_CRYPTO;

	if (len > HD_ECE_MAX_PLAINTEXT)
		return HD_ERR_INTERNAL;
	/* RFC 8291 §3.1: a new key pair and salt for every message. */
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    (as_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", hd_ece_curve)) == NULL ||
	    EVP_PKEY_get_octet_string_param(as_key, OSSL_PKEY_PARAM_PUB_KEY, as_public,
	    sizeof(as_public), &publen) != 1 || publen != HD_ECE_KEY_LEN ||
	    as_public[0] != POINT_CONVERSION_UNCOMPRESSED)
		goto out;
	err = hd_ece_seal(ua_public, auth, as_key, as_public, salt, plain, len, out);
out:
	/* A bad subscription key is outside input: its OpenSSL errors must not be left
	 * queued for the TLS code that runs next on this thread. */
	if (err != HD_OK)
		ERR_clear_error();
	EVP_PKEY_free(as_key);
	return err;
}

enum hd_err
hd_ece_encrypt_with(const unsigned char ua_public[65], const unsigned char auth[16],
    const unsigned char as_private[32], const unsigned char salt[16],
    const unsigned char *plain, size_t len, struct hd_buf *out)
{
	unsigned char as_public[HD_ECE_KEY_LEN];
	EVP_PKEY *as_key = NULL;
	enum hd_err err;

	if (len > HD_ECE_MAX_PLAINTEXT)
		return HD_ERR_INTERNAL;
	if ((err = hd_ece_key_from_scalar(as_private, &as_key, as_public)) == HD_OK)
		err = hd_ece_seal(ua_public, auth, as_key, as_public, salt, plain, len, out);
	if (err != HD_OK)
		ERR_clear_error();
	EVP_PKEY_free(as_key);
	return err;
}
