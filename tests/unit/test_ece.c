/*
 * hd_ece: RFC 8291 Appendix A byte for byte; every body a user agent can open with
 * its private key (a decryption written here from the RFCs, with OpenSSL's own HKDF,
 * so it shares no code with hd_ece.c); a fresh key and salt per message; bad
 * subscription keys and oversized plaintexts refused with the output untouched.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "hd_buf.h"
#include "hd_ece.h"
#include "hd_text.h"
#include "unit.h"

/* RFC 8291 Appendix A (base64url, as printed there). */
static const char *const rfc_plaintext =
    "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
static const char *const rfc_as_public =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char *const rfc_as_private = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char *const rfc_ua_public =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char *const rfc_ua_private = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
static const char *const rfc_salt = "DGv6ra1nlYgDCS1FRnbzlw";
static const char *const rfc_auth = "BTBZMqHH6r4Tts7J_aSIgg";
static const char *const rfc_message =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

#define HEADER_LEN 86
#define OVERHEAD (HEADER_LEN + 1 + 16)

static unsigned char ua_public[65], ua_private[32], auth[16];

static long
unb64(const char *s, unsigned char *out, size_t cap)
{
	long n = hd_base64url_decode(s, strlen(s), out, cap);

	if (n < 0)
		fprintf(stderr, "test bug: bad base64url %s\n", s);
	return n;
}

static void
load_subscription(void)
{
	CHECK(unb64(rfc_ua_public, ua_public, sizeof(ua_public)) == 65);
	CHECK(unb64(rfc_ua_private, ua_private, sizeof(ua_private)) == 32);
	CHECK(unb64(rfc_auth, auth, sizeof(auth)) == 16);
}

/* The user agent's key pair as OpenSSL sees it. */
static EVP_PKEY *
ua_key(void)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *d = BN_bin2bn(ua_private, 32, NULL);
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, ua_public, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1)
		fprintf(stderr, "test bug: cannot build the user agent key\n");
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(d);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* RFC 5869 HKDF-SHA-256 by OpenSSL's KDF, extract and expand in one. */
static int
hkdf(unsigned char *salt, size_t saltlen, unsigned char *ikm, size_t ikmlen,
    unsigned char *info, size_t infolen, unsigned char *out, size_t outlen)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, salt, saltlen),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, ikm, ikmlen),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, info, infolen),
		OSSL_PARAM_END,
	};
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
	int ok = ctx != NULL && EVP_KDF_derive(ctx, out, outlen, params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok;
}

/* What a user agent does with a body (RFC 8188 §2, RFC 8291 §3): read the header,
 * ECDH with the key id, derive CEK and nonce, open the one record, check and strip
 * the last-record delimiter. Returns the plaintext length, or -1 when any step
 * fails. */
static long
ua_decrypt(const unsigned char *body, size_t len, unsigned char *plain, size_t cap)
{
	unsigned char salt[16], keyid[65], secret[32], ikm[32], cek[16], nonce[12];
	unsigned char key_info[14 + 65 + 65], cek_info[] = "Content-Encoding: aes128gcm";
	unsigned char nonce_info[] = "Content-Encoding: nonce", tag[16];
	size_t slen = sizeof(secret), clen;
	EVP_PKEY *own = ua_key(), *peer = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_CIPHER_CTX *cctx = NULL;
	char group[] = "prime256v1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, keyid, sizeof(keyid)),
		OSSL_PARAM_END,
	};
	long result = -1;
	int n, m;

	if (len < OVERHEAD || body[20] != 65 || len - HEADER_LEN - 16 > cap)
		goto out;
	if (((unsigned)body[16] << 24 | (unsigned)body[17] << 16 | (unsigned)body[18] << 8 |
	    body[19]) != 4096)
		goto out;
	memcpy(salt, body, 16);
	memcpy(keyid, body + 21, 65);
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	EVP_PKEY_CTX_free(pctx);
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL)) == NULL ||
	    EVP_PKEY_derive_init(pctx) != 1 || EVP_PKEY_derive_set_peer(pctx, peer) != 1 ||
	    EVP_PKEY_derive(pctx, secret, &slen) != 1 || slen != 32)
		goto out;
	memcpy(key_info, "WebPush: info\0", 14);
	memcpy(key_info + 14, ua_public, 65);
	memcpy(key_info + 79, keyid, 65);
	if (!hkdf(auth, sizeof(auth), secret, 32, key_info, sizeof(key_info), ikm, 32) ||
	    !hkdf(salt, 16, ikm, 32, cek_info, sizeof(cek_info), cek, 16) ||
	    !hkdf(salt, 16, ikm, 32, nonce_info, sizeof(nonce_info), nonce, 12))
		goto out;
	clen = len - HEADER_LEN - 16;
	memcpy(tag, body + len - 16, 16);
	if ((cctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(cctx, EVP_aes_128_gcm(), cek, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(cctx, plain, &n, body + HEADER_LEN, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(cctx, plain + n, &m) != 1)
		goto out;
	/* RFC 8188 §2: padding is the delimiter then zeros; the last record's is 2. */
	n += m;
	while (n > 0 && plain[n - 1] == 0)
		n--;
	if (n == 0 || plain[n - 1] != 2)
		goto out;
	result = n - 1;
out:
	EVP_CIPHER_CTX_free(cctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(own);
	return result;
}

/* The decryption above opens the RFC's own message, so it reads bodies the way the
 * RFC means them. */
static void
test_user_agent_opens_rfc8291_message(void)
{
	unsigned char msg[256], plain[256];
	long n = unb64(rfc_message, msg, sizeof(msg)), p;

	CHECK(n == 144);
	p = ua_decrypt(msg, (size_t)n, plain, sizeof(plain));
	CHECK_MSG(p == 41, "decrypted %ld bytes", p);
	CHECK(p == 41 && memcmp(plain, "When I grow up, I want to be a watermelon", 41) == 0);
}

#define RACE_THREADS 4
#define RACE_MESSAGES 25

/* Held shut until every thread exists, so their first calls come together. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t opened;
	int open;
};

struct racer {
	struct gate *gate;
	unsigned char first_key[65];
	int sealed, opened;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	unsigned char plain[200], back[256];
	struct hd_buf out;

	memset(plain, 'w', sizeof(plain));
	hd_buf_init(&out, 8192);
	pthread_mutex_lock(&r->gate->lock);
	while (!r->gate->open)
		pthread_cond_wait(&r->gate->opened, &r->gate->lock);
	pthread_mutex_unlock(&r->gate->lock);
	for (int i = 0; i < RACE_MESSAGES; i++) {
		hd_buf_reset(&out);
		if (hd_ece_encrypt(ua_public, auth, plain, sizeof(plain), &out) != HD_OK ||
		    out.len != sizeof(plain) + OVERHEAD)
			continue;
		r->sealed++;
		if (i == 0)
			memcpy(r->first_key, out.data + 21, 65);
		if (ua_decrypt((const unsigned char *)out.data, out.len, back, sizeof(back)) ==
		    (long)sizeof(plain) && memcmp(back, plain, sizeof(plain)) == 0)
			r->opened++;
	}
	hd_buf_free(&out);
	return NULL;
}

/* The algorithms hd_ece fetches once are shared by every thread: threads that make
 * the process's first calls together, and keep encrypting, all get bodies the user
 * agent opens, each under its own ephemeral key. Runs before any other hd_ece call so
 * that the one-time set-up is what the threads race for. */
static void
test_threads_share_one_setup_safely(void)
{
	struct gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	pthread_t tid[RACE_THREADS];
	struct racer r[RACE_THREADS];
	int started = 0;

	memset(r, 0, sizeof(r));
	for (int i = 0; i < RACE_THREADS; i++) {
		r[started].gate = &gate;
		if (pthread_create(&tid[started], NULL, race, &r[started]) == 0)
			started++;
	}
	CHECK(started == RACE_THREADS);
	pthread_mutex_lock(&gate.lock);
	gate.open = 1;
	pthread_cond_broadcast(&gate.opened);
	pthread_mutex_unlock(&gate.lock);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < started; i++) {
		CHECK_MSG(r[i].sealed == RACE_MESSAGES && r[i].opened == RACE_MESSAGES,
		    "thread %d: %d sealed, %d opened", i, r[i].sealed, r[i].opened);
		for (int j = 0; j < i; j++)
			CHECK_MSG(memcmp(r[i].first_key, r[j].first_key, 65) != 0,
			    "threads %d and %d used the same key", j, i);
	}
}

/* RFC 8291 Appendix A: its server key, salt and subscription give its message, every
 * byte, and its application server public key is the key id. */
static void
test_reproduces_rfc8291_appendix_a(void)
{
	unsigned char as_private[32], salt[16], plain[64], want[256], as_public[65];
	long plen, wlen;
	struct hd_buf out;

	CHECK(unb64(rfc_as_private, as_private, sizeof(as_private)) == 32);
	CHECK(unb64(rfc_salt, salt, sizeof(salt)) == 16);
	CHECK(unb64(rfc_as_public, as_public, sizeof(as_public)) == 65);
	plen = unb64(rfc_plaintext, plain, sizeof(plain));
	CHECK(plen == 41 && memcmp(plain, "When I grow up, I want to be a watermelon", 41) == 0);
	wlen = unb64(rfc_message, want, sizeof(want));
	CHECK(wlen == 144);

	hd_buf_init(&out, 8192);
	CHECK(hd_ece_encrypt_with(ua_public, auth, as_private, salt, plain, (size_t)plen,
	    &out) == HD_OK);
	CHECK_MSG(out.len == (size_t)wlen, "body is %zu bytes", out.len);
	if (out.len == (size_t)wlen) {
		for (long i = 0; i < wlen; i++)
			CHECK_MSG((unsigned char)out.data[i] == want[i],
			    "byte %ld: 0x%02x, RFC 0x%02x", i, (unsigned char)out.data[i], want[i]);
		CHECK(memcmp(out.data + 21, as_public, 65) == 0);
	}
	hd_buf_free(&out);
}

/* Random plaintexts of the edge lengths, encrypted with a fresh key: the framing is
 * RFC 8188's (salt, rs 4096, idlen 65, a valid key id) and the user agent gets the
 * plaintext back. 3993 bytes make exactly a 4096-byte body. */
static void
test_round_trips_through_the_user_agent(void)
{
	static const size_t lengths[] = { 0, 1, 200, HD_ECE_MAX_PLAINTEXT };
	static unsigned char plain[HD_ECE_MAX_PLAINTEXT], back[HD_ECE_MAX_PLAINTEXT + 64];

	CHECK(HD_ECE_MAX_PLAINTEXT == 3993);
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		size_t len = lengths[i];
		struct hd_buf out;
		long n;

		CHECK(RAND_bytes(plain, sizeof(plain)) == 1);
		hd_buf_init(&out, 8192);
		CHECK(hd_ece_encrypt(ua_public, auth, plain, len, &out) == HD_OK);
		CHECK_MSG(out.len == len + OVERHEAD, "len %zu: body %zu", len, out.len);
		if (out.len != len + OVERHEAD) {
			hd_buf_free(&out);
			continue;
		}
		CHECK(memcmp(out.data + 16, "\x00\x00\x10\x00\x41\x04", 6) == 0);
		n = ua_decrypt((const unsigned char *)out.data, out.len, back, sizeof(back));
		CHECK_MSG(n == (long)len, "len %zu: decrypted %ld", len, n);
		CHECK_MSG(n == (long)len && memcmp(back, plain, len) == 0, "len %zu: bytes",
		    len);
		/* A changed ciphertext byte fails the tag. */
		out.data[HEADER_LEN] ^= 0x01;
		CHECK(ua_decrypt((const unsigned char *)out.data, out.len, back,
		    sizeof(back)) == -1);
		hd_buf_free(&out);
	}
	CHECK(HEADER_LEN + HD_ECE_MAX_PLAINTEXT + 17 == 4096);
}

/* RFC 8291 §3.1: a new key pair and salt for every message, so one message sent twice
 * gives two bodies with different salts, key ids and ciphertexts, both readable. */
static void
test_each_message_gets_fresh_key_and_salt(void)
{
	static const char msg[] = "the same message twice";
	unsigned char back[64];
	struct hd_buf a, b;

	hd_buf_init(&a, 8192);
	hd_buf_init(&b, 8192);
	CHECK(hd_ece_encrypt(ua_public, auth, (const unsigned char *)msg, sizeof(msg) - 1,
	    &a) == HD_OK);
	CHECK(hd_ece_encrypt(ua_public, auth, (const unsigned char *)msg, sizeof(msg) - 1,
	    &b) == HD_OK);
	CHECK(a.len == b.len && a.len == sizeof(msg) - 1 + OVERHEAD);
	if (a.len == b.len && a.len > HEADER_LEN) {
		CHECK(memcmp(a.data, b.data, 16) != 0);
		CHECK(memcmp(a.data + 21, b.data + 21, 65) != 0);
		CHECK(memcmp(a.data + HEADER_LEN, b.data + HEADER_LEN, a.len - HEADER_LEN) != 0);
		CHECK(ua_decrypt((const unsigned char *)a.data, a.len, back, sizeof(back)) ==
		    (long)sizeof(msg) - 1);
		CHECK(ua_decrypt((const unsigned char *)b.data, b.len, back, sizeof(back)) ==
		    (long)sizeof(msg) - 1);
	}
	hd_buf_free(&a);
	hd_buf_free(&b);
}

/* One byte over the maximum is HD_ERR_INTERNAL from both entry points, and what the
 * buffer held stays as it was. */
static void
test_plaintext_over_3993_is_refused(void)
{
	static unsigned char plain[HD_ECE_MAX_PLAINTEXT + 1];
	unsigned char as_private[32], salt[16];
	struct hd_buf out;

	CHECK(unb64(rfc_as_private, as_private, sizeof(as_private)) == 32);
	CHECK(unb64(rfc_salt, salt, sizeof(salt)) == 16);
	hd_buf_init(&out, 8192);
	CHECK(hd_buf_puts(&out, "kept") == HD_OK);
	CHECK(hd_ece_encrypt(ua_public, auth, plain, sizeof(plain), &out) == HD_ERR_INTERNAL);
	CHECK(hd_ece_encrypt_with(ua_public, auth, as_private, salt, plain, sizeof(plain),
	    &out) == HD_ERR_INTERNAL);
	CHECK(out.len == 4 && memcmp(out.data, "kept", 4) == 0);
	hd_buf_free(&out);
}

/* A subscription key that is not an uncompressed point on P-256 is HD_ERR_CRYPTO,
 * nothing is appended, and no OpenSSL error is left queued for the next TLS call. */
static void
test_bad_subscription_keys_are_refused(void)
{
	struct {
		unsigned char key[65];
		const char *what;
	} rows[7];
	size_t n = 0;
	unsigned char as_private[32], salt[16];

	CHECK(unb64(rfc_as_private, as_private, sizeof(as_private)) == 32);
	CHECK(unb64(rfc_salt, salt, sizeof(salt)) == 16);

	memcpy(rows[n].key, ua_public, 65);
	rows[n].key[64] ^= 0x01;
	rows[n++].what = "Y changed: not on the curve";
	memcpy(rows[n].key, ua_public, 65);
	rows[n].key[10] ^= 0x80;
	rows[n++].what = "X changed: not on the curve";
	memcpy(rows[n].key, ua_public, 65);
	rows[n].key[0] = 0x02;
	rows[n++].what = "compressed prefix 0x02";
	memcpy(rows[n].key, ua_public, 65);
	rows[n].key[0] = 0x06;
	rows[n++].what = "hybrid prefix 0x06";
	memcpy(rows[n].key, ua_public, 65);
	rows[n].key[0] = 0x00;
	rows[n++].what = "prefix 0x00";
	memset(rows[n].key, 0, 65);
	rows[n].key[0] = 0x04;
	rows[n++].what = "0x04 then zeros";
	/* X = p, the field prime: out of range however Y is chosen. */
	memset(rows[n].key, 0xff, 65);
	rows[n].key[0] = 0x04;
	memcpy(rows[n].key + 1, "\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 32);
	rows[n++].what = "X = p";

	for (size_t i = 0; i < n; i++) {
		struct hd_buf out;
		enum hd_err e1, e2;

		hd_buf_init(&out, 8192);
		e1 = hd_ece_encrypt(rows[i].key, auth, (const unsigned char *)"x", 1, &out);
		e2 = hd_ece_encrypt_with(rows[i].key, auth, as_private, salt,
		    (const unsigned char *)"x", 1, &out);
		CHECK_MSG(e1 == HD_ERR_CRYPTO && e2 == HD_ERR_CRYPTO, "row %zu (%s): %s / %s",
		    i, rows[i].what, hd_strerror(e1), hd_strerror(e2));
		CHECK_MSG(out.len == 0, "row %zu (%s): %zu bytes appended", i, rows[i].what,
		    out.len);
		CHECK_MSG(ERR_peek_error() == 0, "row %zu (%s): OpenSSL errors left queued", i,
		    rows[i].what);
		hd_buf_free(&out);
	}
}

/* The given server key must be a P-256 scalar in [1, n-1]: 0, n and 2^256-1 (which
 * would otherwise be taken mod n) are refused, n-1 works. */
static void
test_bad_server_scalars_are_refused(void)
{
	static const unsigned char zero[32];
	/* n, the order of P-256's base point. */
	static const unsigned char order[32] =
	    "\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\xbc\xe6\xfa\xad\xa7\x17\x9e\x84\xf3\xb9\xca\xc2\xfc\x63\x25\x51";
	unsigned char below[32], all_ones[32], salt[16], back[16];
	struct hd_buf out;

	CHECK(unb64(rfc_salt, salt, sizeof(salt)) == 16);
	memcpy(below, order, 32);
	below[31]--;
	memset(all_ones, 0xff, sizeof(all_ones));
	hd_buf_init(&out, 8192);
	CHECK(hd_ece_encrypt_with(ua_public, auth, zero, salt, (const unsigned char *)"x", 1,
	    &out) == HD_ERR_CRYPTO);
	CHECK(hd_ece_encrypt_with(ua_public, auth, order, salt, (const unsigned char *)"x", 1,
	    &out) == HD_ERR_CRYPTO);
	CHECK(hd_ece_encrypt_with(ua_public, auth, all_ones, salt, (const unsigned char *)"x",
	    1, &out) == HD_ERR_CRYPTO);
	CHECK(out.len == 0);
	CHECK(hd_ece_encrypt_with(ua_public, auth, below, salt, (const unsigned char *)"x", 1,
	    &out) == HD_OK);
	CHECK(out.len == 1 + OVERHEAD);
	CHECK(ua_decrypt((const unsigned char *)out.data, out.len, back, sizeof(back)) == 1);
	hd_buf_free(&out);
}

/* The body goes after what the buffer holds, all of it or (over the buffer's cap)
 * none of it. */
static void
test_appends_whole_body_or_nothing(void)
{
	struct hd_buf out;

	hd_buf_init(&out, 5 + 10 + OVERHEAD);
	CHECK(hd_buf_puts(&out, "head:") == HD_OK);
	CHECK(hd_ece_encrypt(ua_public, auth, (const unsigned char *)"0123456789", 10,
	    &out) == HD_OK);
	CHECK(out.len == 5 + 10 + OVERHEAD && memcmp(out.data, "head:", 5) == 0);
	CHECK(hd_ece_encrypt(ua_public, auth, (const unsigned char *)"0", 1, &out) ==
	    HD_ERR_NOMEM);
	CHECK(out.len == 5 + 10 + OVERHEAD);
	hd_buf_free(&out);
}

int
main(void)
{
	load_subscription();
	test_user_agent_opens_rfc8291_message();
	test_threads_share_one_setup_safely();
	test_reproduces_rfc8291_appendix_a();
	test_round_trips_through_the_user_agent();
	test_each_message_gets_fresh_key_and_salt();
	test_plaintext_over_3993_is_refused();
	test_bad_subscription_keys_are_refused();
	test_bad_server_scalars_are_refused();
	test_appends_whole_body_or_nothing();
	UNIT_DONE();
}
