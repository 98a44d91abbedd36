/*
 * hd_jws: signers load from PEM (PKCS#8 and traditional) only for the key they are
 * meant for; ES256 tokens carry a raw 64-byte r||s that OpenSSL verifies once turned
 * back into DER; RS256 reproduces RFC 7515 Appendix A.2 exactly; the header and
 * claims segments decode back to the JSON given.
 *
 * The keys are RFC 7515's own examples (A.2 RSA, A.3 P-256), built here from their
 * JWK members and written out as PEM, so no key material is hidden in a blob.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "hd_jws.h"
#include "hd_text.h"
#include "unit.h"

/* RFC 7515 A.2: the RSA key (JWK members, base64url). */
static const char *const rsa_n =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEz"
    "P1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf6"
    "3kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5Zw"
    "Kh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRW"
    "yuXpoQ";
static const char *const rsa_e = "AQAB";
static const char *const rsa_d =
    "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7Y"
    "wVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3M"
    "kqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1Zd"
    "iYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRu"
    "OopznQ";
static const char *const rsa_p =
    "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB"
    "0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDw"
    "GUc";
static const char *const rsa_q =
    "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul"
    "7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9R"
    "Wdc";
static const char *const rsa_dp =
    "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz"
    "-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAd"
    "Yo0";
static const char *const rsa_dq =
    "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3"
    "Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIi"
    "THU";
static const char *const rsa_qi =
    "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3"
    "ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFku"
    "Q3U";

/* RFC 7515 A.2: the protected header, the payload (CRLFs included) and the token. */
static const char *const a2_header = "{\"alg\":\"RS256\"}";
static const char *const a2_payload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
static const char *const a2_token =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290"
    "Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt"
    "_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArL"
    "IARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7no"
    "OPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQ"
    "Ge77Rw";

/* RFC 7515 A.3: the P-256 key and the ES256 token it signed. */
static const char *const ec_x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char *const ec_y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char *const ec_d = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
static const char *const a3_token =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290"
    "Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/* Decodes a base64url JWK member into a BIGNUM. */
static BIGNUM *
b64_bn(const char *s)
{
	unsigned char buf[512];
	long n = hd_base64url_decode(s, strlen(s), buf, sizeof(buf));

	if (n <= 0) {
		fprintf(stderr, "test bug: bad base64url %s\n", s);
		return NULL;
	}
	return BN_bin2bn(buf, (int)n, NULL);
}

/* The uncompressed point 0x04 || X || Y of the A.3 key. */
static void
ec_point(unsigned char pt[65])
{
	pt[0] = 0x04;
	CHECK(hd_base64url_decode(ec_x, strlen(ec_x), pt + 1, 32) == 32);
	CHECK(hd_base64url_decode(ec_y, strlen(ec_y), pt + 33, 32) == 32);
}

static EVP_PKEY *
key_fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *key = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, selection, params) != 1)
		fprintf(stderr, "test bug: cannot build a %s key\n", type);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return key;
}

/* A P-256 key from a private scalar and a public point (which need not match). */
static EVP_PKEY *
ec_key(const char *d, const unsigned char pt[65])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *priv = d ? b64_bn(d) : NULL;
	EVP_PKEY *key;

	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 65);
	if (priv)
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
	key = key_fromdata("EC", bld, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	OSSL_PARAM_BLD_free(bld);
	BN_free(priv);
	return key;
}

static EVP_PKEY *
rsa_key(int with_private)
{
	const char *names[] = { OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
	    OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
	const char *values[] = { rsa_n, rsa_e, rsa_d, rsa_p, rsa_q, rsa_dp, rsa_dq, rsa_qi };
	BIGNUM *bn[8] = { NULL };
	size_t count = with_private ? 8 : 2;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *key;

	for (size_t i = 0; i < count; i++) {
		bn[i] = b64_bn(values[i]);
		OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]);
	}
	key = key_fromdata("RSA", bld, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	OSSL_PARAM_BLD_free(bld);
	for (size_t i = 0; i < count; i++)
		BN_free(bn[i]);
	return key;
}

enum pem_form { PEM_PKCS8, PEM_TRADITIONAL, PEM_PKCS8_ENCRYPTED, PEM_PUBLIC };

/* key as PEM text (malloc'd, NUL-terminated) in the given form. */
static char *
pem_of(EVP_PKEY *key, enum pem_form form)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy = NULL;
	long len;
	int ok = 0;

	switch (form) {
	case PEM_PKCS8:
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case PEM_TRADITIONAL:
		ok = PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL);
		break;
	case PEM_PKCS8_ENCRYPTED:
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_128_cbc(), "secret", 6,
		    NULL, NULL);
		break;
	case PEM_PUBLIC:
		ok = PEM_write_bio_PUBKEY(bio, key);
		break;
	}
	len = BIO_get_mem_data(bio, &data);
	if (ok == 1 && len > 0 && (copy = malloc((size_t)len + 1)) != NULL) {
		memcpy(copy, data, (size_t)len);
		copy[len] = '\0';
	} else
		fprintf(stderr, "test bug: cannot write PEM form %d\n", (int)form);
	BIO_free(bio);
	return copy;
}

static struct hd_signer *
load(const char *pem, enum hd_jws_alg alg)
{
	struct hd_signer *s = NULL;
	enum hd_err err = hd_signer_from_pem(pem, strlen(pem), alg, &s);

	CHECK_MSG(err == HD_OK && s != NULL, "load failed: %s", hd_strerror(err));
	return s;
}

/* Splits a compact token into its three segments (pointers into tok; dots cut). */
static int
split(char *tok, char *seg[3])
{
	char *dot1 = strchr(tok, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;

	if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		return -1;
	*dot1 = *dot2 = '\0';
	seg[0] = tok;
	seg[1] = dot1 + 1;
	seg[2] = dot2 + 1;
	return 0;
}

/* True when the segment decodes to exactly the text want. */
static int
segment_is(const char *seg, const char *want)
{
	unsigned char buf[1024];
	long n = hd_base64url_decode(seg, strlen(seg), buf, sizeof(buf));

	return n == (long)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

/* Verifies a raw r||s ES256 signature over input with pub, the way a push service
 * does: back to DER ECDSA-Sig, then ECDSA with SHA-256. */
static int
es256_verifies(EVP_PKEY *pub, const char *input, size_t len, const unsigned char rs[64])
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
	unsigned char *der = NULL;
	int derlen, ok = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	if ((derlen = i2d_ECDSA_SIG(sig, &der)) <= 0)
		goto out;
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
	    EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)input, len) == 1;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int
rs256_verifies(EVP_PKEY *pub, const char *input, size_t len, const unsigned char *sig,
    size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)input, len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Checks one ES256 token: three segments, header and claims as given, a 64-byte
 * signature that verifies with pub over the first two segments. */
static void
check_es256_token(const char *token, const char *header, const char *claims,
    EVP_PKEY *pub)
{
	char *tok = strdup(token), *seg[3];
	unsigned char sig[128];
	long siglen;

	if (tok == NULL || split(tok, seg) != 0) {
		CHECK_MSG(0, "not a compact JWS: %s", token);
		free(tok);
		return;
	}
	CHECK(segment_is(seg[0], header));
	CHECK(segment_is(seg[1], claims));
	siglen = hd_base64url_decode(seg[2], strlen(seg[2]), sig, sizeof(sig));
	CHECK_MSG(siglen == 64, "ES256 signature is %ld bytes", siglen);
	CHECK(strlen(seg[2]) == 86);
	if (siglen == 64) {
		size_t input_len = strlen(seg[0]) + 1 + strlen(seg[1]);
		CHECK(es256_verifies(pub, token, input_len, sig));
		/* The check is real: one changed byte of the input fails it. */
		char *bad = strdup(token);
		if (bad) {
			bad[input_len - 1] ^= 0x01;
			CHECK(!es256_verifies(pub, bad, input_len, sig));
			free(bad);
		}
	}
	free(tok);
}

/* The verification path above accepts RFC 7515's own ES256 example, so it checks r||s
 * the way the RFC means it. */
static void
test_verifier_accepts_rfc7515_a3(void)
{
	unsigned char pt[65], sig[64];
	EVP_PKEY *pub;
	const char *dot = strrchr(a3_token, '.');

	ec_point(pt);
	pub = ec_key(NULL, pt);
	CHECK(hd_base64url_decode(dot + 1, strlen(dot + 1), sig, sizeof(sig)) == 64);
	CHECK(es256_verifies(pub, a3_token, (size_t)(dot - a3_token), sig));
	EVP_PKEY_free(pub);
}

/* ES256 from PKCS#8 and from "EC PRIVATE KEY": raw 64-byte signatures that OpenSSL
 * verifies with the RFC's public key; segments decode to the JSON given; a fresh k
 * per signature, so two tokens differ and both verify. */
static void
test_es256_signs_raw_rs_that_verifies(void)
{
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	static const char claims[] =
	    "{\"aud\":\"https://push.example.net\",\"exp\":1453523768,"
	    "\"sub\":\"mailto:push@example.com\"}";
	enum pem_form forms[] = { PEM_PKCS8, PEM_TRADITIONAL };
	unsigned char pt[65];
	EVP_PKEY *priv, *pub;

	ec_point(pt);
	priv = ec_key(ec_d, pt);
	pub = ec_key(NULL, pt);
	for (size_t f = 0; f < 2; f++) {
		char *pem = pem_of(priv, forms[f]), *t1 = NULL, *t2 = NULL;
		struct hd_signer *s;

		CHECK(strstr(pem, forms[f] == PEM_PKCS8 ? "BEGIN PRIVATE KEY" :
		    "BEGIN EC PRIVATE KEY") != NULL);
		s = load(pem, HD_JWS_ES256);
		CHECK(hd_jws_sign(s, header, claims, &t1) == HD_OK);
		CHECK(hd_jws_sign(s, header, claims, &t2) == HD_OK);
		if (t1 && t2) {
			check_es256_token(t1, header, claims, pub);
			check_es256_token(t2, header, claims, pub);
			CHECK_MSG(strcmp(t1, t2) != 0, "two ES256 signatures are equal");
		}
		free(t1);
		free(t2);
		hd_signer_free(s);
		free(pem);
	}
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* Signatures whose r or s has leading zero bytes still come out as exactly 64 bytes:
 * over many signatures some r or s is below 2^248 (about 1 in 128 each), and every
 * one must verify after the left padding. */
static void
test_es256_pads_short_r_and_s(void)
{
	static const char header[] = "{\"alg\":\"ES256\"}";
	unsigned char pt[65];
	EVP_PKEY *priv, *pub;
	char *pem;
	struct hd_signer *s;
	int short_seen = 0, bad = 0;

	ec_point(pt);
	priv = ec_key(ec_d, pt);
	pub = ec_key(NULL, pt);
	pem = pem_of(priv, PEM_PKCS8);
	s = load(pem, HD_JWS_ES256);
	for (int i = 0; i < 2000 && bad == 0; i++) {
		char claims[64], *tok = NULL, *dot;
		unsigned char sig[64];

		snprintf(claims, sizeof(claims), "{\"n\":%d}", i);
		if (hd_jws_sign(s, header, claims, &tok) != HD_OK) {
			bad++;
			break;
		}
		dot = strrchr(tok, '.');
		if (hd_base64url_decode(dot + 1, strlen(dot + 1), sig, sizeof(sig)) != 64 ||
		    !es256_verifies(pub, tok, (size_t)(dot - tok), sig))
			bad++;
		if (sig[0] == 0 || sig[32] == 0)
			short_seen++;
		free(tok);
	}
	CHECK_MSG(bad == 0, "%d signatures failed", bad);
	CHECK_MSG(short_seen > 0, "no short r or s in 2000 signatures");
	hd_signer_free(s);
	free(pem);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* hd_signer_public_p256 gives RFC 7515 A.3's public point, uncompressed, even from a
 * file that stores the point compressed; an RSA signer has none. */
static void
test_public_p256_is_the_uncompressed_point(void)
{
	unsigned char want[65], got[65];
	EVP_PKEY *priv;
	char *pem;
	struct hd_signer *s;

	ec_point(want);
	priv = ec_key(ec_d, want);
	for (int compressed = 0; compressed < 2; compressed++) {
		if (compressed)
			CHECK(EVP_PKEY_set_utf8_string_param(priv,
			    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed") == 1);
		pem = pem_of(priv, PEM_TRADITIONAL);
		s = load(pem, HD_JWS_ES256);
		memset(got, 0, sizeof(got));
		CHECK(hd_signer_public_p256(s, got) == HD_OK);
		CHECK_MSG(memcmp(got, want, 65) == 0, "public point (compressed file: %d)",
		    compressed);
		hd_signer_free(s);
		free(pem);
	}
	EVP_PKEY_free(priv);

	priv = rsa_key(1);
	pem = pem_of(priv, PEM_PKCS8);
	s = load(pem, HD_JWS_RS256);
	CHECK(hd_signer_public_p256(s, got) == HD_ERR_CRYPTO);
	hd_signer_free(s);
	free(pem);
	EVP_PKEY_free(priv);
}

/* RS256 is deterministic: RFC 7515 A.2's key, header and payload give exactly the
 * RFC's token, from PKCS#8 and from "RSA PRIVATE KEY", every time, and it verifies
 * with the public key alone. */
static void
test_rs256_reproduces_rfc7515_a2(void)
{
	enum pem_form forms[] = { PEM_PKCS8, PEM_TRADITIONAL };
	EVP_PKEY *priv = rsa_key(1), *pub = rsa_key(0);

	for (size_t f = 0; f < 2; f++) {
		char *pem = pem_of(priv, forms[f]), *t1 = NULL, *t2 = NULL;
		struct hd_signer *s;

		CHECK(strstr(pem, forms[f] == PEM_PKCS8 ? "BEGIN PRIVATE KEY" :
		    "BEGIN RSA PRIVATE KEY") != NULL);
		s = load(pem, HD_JWS_RS256);
		CHECK(hd_jws_sign(s, a2_header, a2_payload, &t1) == HD_OK);
		CHECK(hd_jws_sign(s, a2_header, a2_payload, &t2) == HD_OK);
		CHECK_MSG(t1 && strcmp(t1, a2_token) == 0, "form %zu: got %s", f,
		    t1 ? t1 : "(null)");
		CHECK(t1 && t2 && strcmp(t1, t2) == 0);
		if (t1) {
			const char *dot = strrchr(t1, '.');
			unsigned char sig[512];
			long n = hd_base64url_decode(dot + 1, strlen(dot + 1), sig, sizeof(sig));
			CHECK(n == 256);
			CHECK(n > 0 && rs256_verifies(pub, t1, (size_t)(dot - t1), sig, (size_t)n));
		}
		free(t1);
		free(t2);
		hd_signer_free(s);
		free(pem);
	}
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

struct bad_key {
	char *pem;
	enum hd_jws_alg alg;
	const char *what;
};

/* Each signer takes only its own kind of key: wrong type, wrong curve, short RSA,
 * public-only, encrypted, mismatched pair, garbage and truncation are HD_ERR_CRYPTO,
 * leave *out NULL and leave no OpenSSL error queued. */
static void
test_wrong_keys_are_refused(void)
{
	unsigned char pt[65], other[65];
	EVP_PKEY *ec = NULL, *rsa = rsa_key(1), *p384 = NULL, *rsa1024 = NULL, *ed = NULL;
	EVP_PKEY *mismatch, *other_key;
	size_t olen = 0;
	struct bad_key rows[11];
	size_t n = 0;

	ec_point(pt);
	ec = ec_key(ec_d, pt);
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CHECK(EVP_PKEY_get_octet_string_param(other_key, OSSL_PKEY_PARAM_PUB_KEY, other,
	    sizeof(other), &olen) == 1 && olen == 65);
	mismatch = ec_key(ec_d, other);

	rows[n++] = (struct bad_key){ pem_of(rsa, PEM_PKCS8), HD_JWS_ES256, "RSA for ES256" };
	rows[n++] = (struct bad_key){ pem_of(rsa, PEM_TRADITIONAL), HD_JWS_ES256,
	    "RSA PRIVATE KEY for ES256" };
	rows[n++] = (struct bad_key){ pem_of(ec, PEM_PKCS8), HD_JWS_RS256, "P-256 for RS256" };
	rows[n++] = (struct bad_key){ pem_of(p384, PEM_PKCS8), HD_JWS_ES256, "P-384 for ES256" };
	rows[n++] = (struct bad_key){ pem_of(rsa1024, PEM_PKCS8), HD_JWS_RS256,
	    "1024-bit RSA" };
	rows[n++] = (struct bad_key){ pem_of(ed, PEM_PKCS8), HD_JWS_ES256, "Ed25519" };
	rows[n++] = (struct bad_key){ pem_of(ec, PEM_PUBLIC), HD_JWS_ES256, "public key only" };
	rows[n++] = (struct bad_key){ pem_of(ec, PEM_PKCS8_ENCRYPTED), HD_JWS_ES256,
	    "encrypted PKCS#8" };
	rows[n++] = (struct bad_key){ pem_of(mismatch, PEM_TRADITIONAL), HD_JWS_ES256,
	    "stored point not the private key's" };
	rows[n++] = (struct bad_key){ strdup("not a key at all"), HD_JWS_ES256, "garbage" };
	{
		char *full = pem_of(ec, PEM_PKCS8);
		full[strlen(full) / 2] = '\0';
		rows[n++] = (struct bad_key){ full, HD_JWS_ES256, "truncated PEM" };
	}

	for (size_t i = 0; i < n; i++) {
		static char sentinel;
		struct hd_signer *s = (struct hd_signer *)(void *)&sentinel;
		enum hd_err err = hd_signer_from_pem(rows[i].pem, strlen(rows[i].pem),
		    rows[i].alg, &s);
		CHECK_MSG(err == HD_ERR_CRYPTO && s == NULL, "row %zu (%s): %s", i,
		    rows[i].what, hd_strerror(err));
		CHECK_MSG(ERR_peek_error() == 0, "row %zu (%s): OpenSSL errors left queued",
		    i, rows[i].what);
		hd_signer_free(err == HD_OK ? s : NULL);
		free(rows[i].pem);
	}

	/* An empty input is refused too. */
	struct hd_signer *s = NULL;
	CHECK(hd_signer_from_pem("", 0, HD_JWS_ES256, &s) == HD_ERR_CRYPTO && s == NULL);

	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(mismatch);
}

/* The PEM length bounds the read: text after len is never looked at. */
static void
test_pem_length_bounds_the_read(void)
{
	unsigned char pt[65];
	EVP_PKEY *ec;
	char *pem, *padded;
	size_t len;
	struct hd_signer *s = NULL;

	ec_point(pt);
	ec = ec_key(ec_d, pt);
	pem = pem_of(ec, PEM_PKCS8);
	len = strlen(pem);
	padded = malloc(len * 2 + 1);
	memcpy(padded, pem, len);
	memcpy(padded + len, pem, len);
	padded[2 * len] = '\0';
	/* Only the first half, which is a key on its own. */
	CHECK(hd_signer_from_pem(padded, len, HD_JWS_ES256, &s) == HD_OK);
	hd_signer_free(s);
	/* Cut inside the END line, it is not a key. */
	s = NULL;
	CHECK(hd_signer_from_pem(padded, len - 10, HD_JWS_ES256, &s) == HD_ERR_CRYPTO);
	CHECK(s == NULL);
	free(padded);
	free(pem);
	EVP_PKEY_free(ec);
}

/* JSON far beyond any header or claims herald writes is a caller bug, refused with
 * HD_ERR_INTERNAL and no token. */
static void
test_oversized_json_is_refused(void)
{
	unsigned char pt[65];
	EVP_PKEY *ec;
	char *pem, *big, *tok = (char *)"sentinel";
	struct hd_signer *s;

	ec_point(pt);
	ec = ec_key(ec_d, pt);
	pem = pem_of(ec, PEM_PKCS8);
	s = load(pem, HD_JWS_ES256);
	big = malloc(100001);
	memset(big, 'a', 100000);
	big[100000] = '\0';
	CHECK(hd_jws_sign(s, "{}", big, &tok) == HD_ERR_INTERNAL && tok == NULL);
	tok = (char *)"sentinel";
	CHECK(hd_jws_sign(s, big, "{}", &tok) == HD_ERR_INTERNAL && tok == NULL);
	/* Empty texts are the caller's business: they sign. */
	CHECK(hd_jws_sign(s, "", "", &tok) == HD_OK && tok && tok[0] == '.' && tok[1] == '.');
	free(tok);
	free(big);
	hd_signer_free(s);
	free(pem);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	test_verifier_accepts_rfc7515_a3();
	test_es256_signs_raw_rs_that_verifies();
	test_es256_pads_short_r_and_s();
	test_public_p256_is_the_uncompressed_point();
	test_rs256_reproduces_rfc7515_a2();
	test_wrong_keys_are_refused();
	test_pem_length_bounds_the_read();
	test_oversized_json_is_refused();
	UNIT_DONE();
}
