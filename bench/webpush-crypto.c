/*
 * bench/webpush-crypto: herald's cryptographic work per Web Push message, on one
 * core, for a fixed time.
 *
 *     bench/webpush-crypto [--seconds N]      (default 5, at most 3600)
 *
 * One message is a 200-byte payload encrypted to a fixed subscription (fresh
 * ephemeral P-256 key, ECDH, HKDF, AES-128-GCM: hd_ece_encrypt) plus its
 * "Authorization: vapid t=..., k=..." header. It is timed twice, for N seconds each:
 *
 *   cached_vapid  the VAPID JWT is signed once for the push service's origin and
 *                 reused, as herald does (one origin here, re-signed after 12 hours,
 *                 so once per run; that signature is inside the timed loop)
 *   sign_every    a fresh ES256 JWT for every message, as most Web Push libraries do
 *
 * and printed as key=value lines on stdout:
 *
 *   herald_webpush_payload_bytes=200
 *   herald_webpush_seconds=5
 *   herald_webpush_cached_vapid_msgs_per_s=NNNN
 *   herald_webpush_sign_every_msgs_per_s=NNNN
 *
 * Keys are generated at start and never leave the process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "hd_buf.h"
#include "hd_ece.h"
#include "hd_jws.h"
#include "hd_text.h"

#define PAYLOAD_BYTES 200
#define VAPID_TTL_S (12 * 3600)
#define VAPID_RESIGN_MARGIN_S 600
#define MAX_SECONDS 3600
#define BATCH 16                /* messages between clock reads */

static const char vapid_header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
static const char vapid_aud[] = "https://updates.push.services.mozilla.com";
static const char vapid_sub[] = "mailto:bench@example.com";

struct bench {
	unsigned char ua_public[65];
	unsigned char auth[16];
	unsigned char payload[PAYLOAD_BYTES + 1];  /* + the NUL snprintf writes */
	struct hd_signer *vapid;
	char vapid_k[HD_BASE64URL_LEN(65) + 1];
	struct hd_buf body;             /* the encrypted body, reused */
	struct hd_buf authz;            /* the Authorization header value, reused */
	char *jwt;                      /* the cached token */
	time_t jwt_exp;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fresh P-256 key as PEM text (malloc'd), so the signer loads it the way herald
 * loads a configured VAPID key. */
static char *
vapid_pem(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (key && bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 && (pem = malloc((size_t)len + 1))) {
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	EVP_PKEY_free(key);
	return pem;
}

/* The subscription a browser would hand over: its P-256 public key and auth secret. */
static int
subscription(struct bench *b)
{
	EVP_PKEY *ua = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t len = 0;
	int ok = ua != NULL &&
	    EVP_PKEY_get_octet_string_param(ua, OSSL_PKEY_PARAM_PUB_KEY, b->ua_public,
	    sizeof(b->ua_public), &len) == 1 && len == 65 &&
	    RAND_bytes(b->auth, sizeof(b->auth)) == 1;

	EVP_PKEY_free(ua);
	return ok ? 0 : -1;
}

static int
setup(struct bench *b)
{
	unsigned char k[65];
	char *pem;
	enum hd_err err;
	int n;

	memset(b, 0, sizeof(*b));
	hd_buf_init(&b->body, 8192);
	hd_buf_init(&b->authz, 4096);
	/* A notification-shaped JSON payload of exactly PAYLOAD_BYTES. */
	n = snprintf((char *)b->payload, sizeof(b->payload),
	    "{\"title\":\"Benchmark\",\"body\":\"%0*d\"}", PAYLOAD_BYTES - 31, 0);
	if (n != PAYLOAD_BYTES)
		return -1;
	if (subscription(b) != 0 || (pem = vapid_pem()) == NULL)
		return -1;
	err = hd_signer_from_pem(pem, strlen(pem), HD_JWS_ES256, &b->vapid);
	free(pem);
	if (err != HD_OK || hd_signer_public_p256(b->vapid, k) != HD_OK ||
	    hd_base64url_encode(k, sizeof(k), b->vapid_k, sizeof(b->vapid_k)) < 0)
		return -1;
	return 0;
}

static void
teardown(struct bench *b)
{
	hd_buf_free(&b->body);
	hd_buf_free(&b->authz);
	free(b->jwt);
	hd_signer_free(b->vapid);
}

/* RFC 8292 §2: aud is the push service's origin, exp at most 24 hours ahead. */
static enum hd_err
sign_vapid(struct bench *b, char **jwt, time_t *exp)
{
	char claims[256];

	*exp = time(NULL) + VAPID_TTL_S;
	if (snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}",
	    vapid_aud, (long long)*exp, vapid_sub) >= (int)sizeof(claims))
		return HD_ERR_INTERNAL;
	return hd_jws_sign(b->vapid, vapid_header, claims, jwt);
}

/* One message: the encrypted body and its Authorization header value. */
static enum hd_err
one_message(struct bench *b, int sign_every)
{
	char *fresh = NULL;
	time_t exp;
	enum hd_err err;

	hd_buf_reset(&b->body);
	hd_buf_reset(&b->authz);
	if ((err = hd_ece_encrypt(b->ua_public, b->auth, b->payload, PAYLOAD_BYTES,
	    &b->body)) != HD_OK)
		return err;
	if (sign_every) {
		if ((err = sign_vapid(b, &fresh, &exp)) == HD_OK)
			err = hd_buf_printf(&b->authz, "vapid t=%s, k=%s", fresh, b->vapid_k);
		free(fresh);
		return err;
	}
	if (b->jwt == NULL || time(NULL) >= b->jwt_exp - VAPID_RESIGN_MARGIN_S) {
		free(b->jwt);
		b->jwt = NULL;
		if ((err = sign_vapid(b, &b->jwt, &b->jwt_exp)) != HD_OK)
			return err;
	}
	return hd_buf_printf(&b->authz, "vapid t=%s, k=%s", b->jwt, b->vapid_k);
}

/* Messages per second over at least seconds of wall time on this one thread. */
static int
measure(struct bench *b, int sign_every, unsigned seconds, double *rate)
{
	double start, elapsed;
	uint64_t count = 0;
	enum hd_err err;

	free(b->jwt);
	b->jwt = NULL;
	start = now_s();
	do {
		for (int i = 0; i < BATCH; i++) {
			if ((err = one_message(b, sign_every)) != HD_OK) {
				fprintf(stderr, "webpush-crypto: %s\n", hd_strerror(err));
				return -1;
			}
		}
		count += BATCH;
		elapsed = now_s() - start;
	} while (elapsed < seconds);
	*rate = (double)count / elapsed;
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t seconds = 5;
	struct bench b;
	double cached, every;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--seconds") == 0) {
		if (hd_parse_u64(argv[2], strlen(argv[2]), &seconds) != 0 || seconds == 0 ||
		    seconds > MAX_SECONDS) {
			fprintf(stderr, "webpush-crypto: --seconds takes 1..%d\n", MAX_SECONDS);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--seconds N]\n", argv[0]);
		return 2;
	}
	if (setup(&b) != 0) {
		fprintf(stderr, "webpush-crypto: cannot set up keys\n");
		goto out;
	}
	if (measure(&b, 0, (unsigned)seconds, &cached) != 0 ||
	    measure(&b, 1, (unsigned)seconds, &every) != 0)
		goto out;
	printf("herald_webpush_payload_bytes=%d\n", PAYLOAD_BYTES);
	printf("herald_webpush_seconds=%llu\n", (unsigned long long)seconds);
	printf("herald_webpush_cached_vapid_msgs_per_s=%.0f\n", cached);
	printf("herald_webpush_sign_every_msgs_per_s=%.0f\n", every);
	rc = 0;
out:
	teardown(&b);
	return rc;
}
