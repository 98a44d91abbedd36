/*
 * Compact JWS signing (RFC 7515 §7.1) with ES256 and RS256 (RFC 7518 §3.3, §3.4).
 *
 * A signer owns its EVP_PKEY and a DigestSign context initialised once with it: each
 * signature works on a copy of that context, so a token costs the digest and the
 * private-key operation, not a fresh provider and key set-up. hd_jws_sign only reads
 * the signer. Tokens are malloc'd and belong to the caller.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "hd_jws.h"
#include "hd_text.h"

/* Header and claims are herald's own short JSON objects; a text this long means a
 * caller bug, and the cap keeps the token length arithmetic far from overflow. */
#define HD_JWS_MAX_JSON 16384
#define HD_P256_COORD 32
#define HD_RSA_MIN_BITS 2048

struct hd_signer {
	enum hd_jws_alg alg;
	EVP_PKEY *key;
	EVP_MD_CTX *sign_tmpl;          /* DigestSign(SHA-256) set up with key */
	size_t sig_max;                 /* OpenSSL's bound: DER ECDSA-Sig or modulus */
	size_t sig_len;                 /* JWS signature bytes: 64, or the modulus size */
	unsigned char pub[65];          /* ES256: 0x04 || X || Y */
};

/* An encrypted PEM is refused rather than letting OpenSSL prompt on a terminal. */
static int
hd_jws_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static enum hd_err
hd_signer_check_p256(struct hd_signer *s)
{
	char group[64];
	size_t glen = 0;
	BIGNUM *x = NULL, *y = NULL;
	EVP_PKEY_CTX *check = NULL;
	enum hd_err err = HD_ERR_CRYPTO;

	if (!EVP_PKEY_is_a(s->key, "EC") ||
	    EVP_PKEY_get_group_name(s->key, group, sizeof(group), &glen) != 1 ||
	    OBJ_sn2nid(group) != NID_X9_62_prime256v1)
		goto out;
	/* The public point is published apart from the signatures (VAPID's k=): a file
	 * whose stored point is not its private key's would fail only at the push
	 * service, so the pair is checked here, once. */
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, s->key, NULL)) == NULL ||
	    EVP_PKEY_pairwise_check(check) != 1)
		goto out;
	/* The coordinates, not OSSL_PKEY_PARAM_PUB_KEY: that keeps the point format of
	 * the file, which may be compressed, and VAPID's k= must be uncompressed. */
	if (EVP_PKEY_get_bn_param(s->key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(s->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	s->pub[0] = POINT_CONVERSION_UNCOMPRESSED;
	if (BN_bn2binpad(x, s->pub + 1, HD_P256_COORD) != HD_P256_COORD ||
	    BN_bn2binpad(y, s->pub + 1 + HD_P256_COORD, HD_P256_COORD) != HD_P256_COORD)
		goto out;
	s->sig_len = 2 * HD_P256_COORD;
	err = HD_OK;
out:
	EVP_PKEY_CTX_free(check);
	BN_free(x);
	BN_free(y);
	return err;
}

static enum hd_err
hd_signer_check_rsa(struct hd_signer *s)
{
	if (!EVP_PKEY_is_a(s->key, "RSA") || EVP_PKEY_get_bits(s->key) < HD_RSA_MIN_BITS)
		return HD_ERR_CRYPTO;
	s->sig_len = s->sig_max;
	return HD_OK;
}

enum hd_err
hd_signer_from_pem(const char *pem, size_t len, enum hd_jws_alg alg,
    struct hd_signer **out)
{
	struct hd_signer *s = NULL;
	BIO *bio = NULL;
	int size;
	enum hd_err err = HD_ERR_CRYPTO;

	*out = NULL;
	if (len == 0 || len > INT_MAX)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err = HD_ERR_NOMEM;
		goto out;
	}
	s->alg = alg;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		goto out;
	/* Reads PKCS#8 and the traditional EC and RSA forms alike. */
	s->key = PEM_read_bio_PrivateKey_ex(bio, NULL, hd_jws_no_passphrase, NULL, NULL,
	    NULL);
	if (s->key == NULL || (size = EVP_PKEY_get_size(s->key)) <= 0)
		goto out;
	s->sig_max = (size_t)size;
	err = alg == HD_JWS_ES256 ? hd_signer_check_p256(s) : hd_signer_check_rsa(s);
	if (err != HD_OK)
		goto out;
	err = HD_ERR_CRYPTO;
	if ((s->sign_tmpl = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(s->sign_tmpl, NULL, "SHA256", NULL, NULL, s->key,
	    NULL) != 1)
		goto out;
	*out = s;
	s = NULL;
	err = HD_OK;
out:
	if (err != HD_OK)
		ERR_clear_error();
	BIO_free(bio);
	hd_signer_free(s);
	return err;
}

void
hd_signer_free(struct hd_signer *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->sign_tmpl);
	EVP_PKEY_free(s->key);
	free(s);
}

enum hd_err
hd_signer_public_p256(const struct hd_signer *s, unsigned char out[65])
{
	if (s->alg != HD_JWS_ES256)
		return HD_ERR_CRYPTO;
	memcpy(out, s->pub, sizeof(s->pub));
	return HD_OK;
}

/* RFC 7518 §3.4: the JWS carries R and S as two 32-byte big-endian integers, where
 * OpenSSL produces the DER ECDSA-Sig-Value SEQUENCE { r INTEGER, s INTEGER }. */
static enum hd_err
hd_jws_der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64])
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	enum hd_err err = HD_ERR_CRYPTO;

	if (len > LONG_MAX || (sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return HD_ERR_CRYPTO;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, HD_P256_COORD) == HD_P256_COORD &&
	    BN_bn2binpad(s, raw + HD_P256_COORD, HD_P256_COORD) == HD_P256_COORD)
		err = HD_OK;
	ECDSA_SIG_free(sig);
	return err;
}

/* Signs msg[0..len) with a copy of the signer's prepared context; the raw JWS
 * signature (sig_len bytes) goes to sig. */
static enum hd_err
hd_jws_sign_raw(const struct hd_signer *s, const char *msg, size_t len,
    unsigned char *sig)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	size_t siglen = s->sig_max;
	enum hd_err err = HD_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_MD_CTX_copy_ex(ctx, s->sign_tmpl) != 1)
		goto out;
	/* The copy is used once: finalising in place spares OpenSSL a context dup. */
	EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
	if (s->alg == HD_JWS_RS256) {
		if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, len) == 1 &&
		    siglen == s->sig_len)
			err = HD_OK;
		goto out;
	}
	if ((der = malloc(s->sig_max)) == NULL) {
		err = HD_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, der, &siglen, (const unsigned char *)msg, len) != 1)
		goto out;
	err = hd_jws_der_to_raw(der, siglen, sig);
out:
	if (err != HD_OK)
		ERR_clear_error();
	free(der);
	EVP_MD_CTX_free(ctx);
	return err;
}

enum hd_err
hd_jws_sign(const struct hd_signer *s, const char *header_json, const char *claims_json,
    char **out)
{
	size_t hlen = strlen(header_json), clen = strlen(claims_json);
	size_t hb, cb, sb, total, o;
	unsigned char *sig = NULL;
	char *tok = NULL;
	enum hd_err err = HD_ERR_INTERNAL;

	*out = NULL;
	if (hlen > HD_JWS_MAX_JSON || clen > HD_JWS_MAX_JSON)
		goto out;
	hb = HD_BASE64URL_LEN(hlen);
	cb = HD_BASE64URL_LEN(clen);
	sb = HD_BASE64URL_LEN(s->sig_len);
	total = hb + 1 + cb + 1 + sb + 1;
	err = HD_ERR_NOMEM;
	if ((tok = malloc(total)) == NULL || (sig = malloc(s->sig_len)) == NULL)
		goto out;
	err = HD_ERR_INTERNAL;
	o = 0;
	if (hd_base64url_encode((const unsigned char *)header_json, hlen, tok, total) < 0)
		goto out;
	o += hb;
	tok[o++] = '.';
	if (hd_base64url_encode((const unsigned char *)claims_json, clen, tok + o,
	    total - o) < 0)
		goto out;
	o += cb;
	/* RFC 7515 §5.1: the signing input is the two encoded segments and their dot. */
	if ((err = hd_jws_sign_raw(s, tok, o, sig)) != HD_OK)
		goto out;
	tok[o++] = '.';
	err = HD_ERR_INTERNAL;
	if (hd_base64url_encode(sig, s->sig_len, tok + o, total - o) < 0)
		goto out;
	*out = tok;
	tok = NULL;
	err = HD_OK;
out:
	free(tok);
	free(sig);
	return err;
}
