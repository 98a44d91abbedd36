/*
 * hd_provider_webpush: build() aims RFC 8030 requests at the subscription's endpoint
 * (TTL, Urgency, Topic, aes128gcm framing) with an RFC 8292 VAPID header whose JWT
 * verifies with the advertised key and names the endpoint's origin; the body decrypts
 * (RFC 8291, done here independently with OpenSSL) to herald's JSON document or the
 * raw override; the cached JWT is reused per origin and dropped when refused; limits,
 * missing credentials and malformed subscriptions are refused with a reason; classify()
 * maps every documented answer.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "hd_ece.h"
#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"
#include "provider_test.h"
#include "unit.h"

static const struct hd_provider *P = &hd_provider_webpush;
static struct hd_provider_ctx ctx;
static void *state;
static struct hd_app_creds creds;
static EVP_PKEY *ua_key;
static unsigned char ua_public[65], ua_auth[16];
static char ua_public_b64[128], ua_auth_b64[64];
static char vapid_k[128];

static EVP_PKEY *
p256_new(void)
{
	return EVP_EC_gen("P-256");
}

static void
setup(void)
{
	EVP_PKEY *vapid = p256_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	size_t n;
	unsigned char pub[65];

	PEM_write_bio_PrivateKey(bio, vapid, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &pem);
	CHECK(hd_signer_from_pem(pem, (size_t)len, HD_JWS_ES256, &creds.vapid_key) == HD_OK);
	EVP_PKEY_get_octet_string_param(vapid, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n);
	hd_base64url_encode(pub, sizeof(pub), vapid_k, sizeof(vapid_k));
	BIO_free(bio);
	EVP_PKEY_free(vapid);
	creds.app_id = 7;
	creds.vapid_subject = "mailto:ops@example.com";

	ua_key = p256_new();
	EVP_PKEY_get_octet_string_param(ua_key, OSSL_PKEY_PARAM_PUB_KEY, ua_public,
	    sizeof(ua_public), &n);
	CHECK(n == 65 && ua_public[0] == 0x04);
	RAND_bytes(ua_auth, sizeof(ua_auth));
	hd_base64url_encode(ua_public, sizeof(ua_public), ua_public_b64, sizeof(ua_public_b64));
	hd_base64url_encode(ua_auth, sizeof(ua_auth), ua_auth_b64, sizeof(ua_auth_b64));
	CHECK(P->init(&ctx, &state) == HD_OK);
}

static struct hd_device_target
device(char *endpoint)
{
	struct hd_device_target d = { HD_PLATFORM_WEB, endpoint, ua_public_b64,
	    ua_auth_b64 };

	return d;
}

static const char *
header(const struct hd_http_request *req, const char *name)
{
	return header_in(req->headers, name, NULL);
}

static int
hkdf(unsigned char *salt, size_t salt_len, unsigned char *ikm, size_t ikm_len,
    unsigned char *info, size_t info_len, unsigned char *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, salt, salt_len),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, ikm, ikm_len),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, info, info_len),
		OSSL_PARAM_END
	};
	int ok = EVP_KDF_derive(k, out, out_len, params) == 1;

	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/* RFC 8291 §3 and RFC 8188 §2, from the user agent's side: returns the plaintext
 * length, or -1. */
static long
decrypt(const struct hd_buf *body, unsigned char *out, size_t cap)
{
	const unsigned char *b = (const unsigned char *)body->data;
	unsigned char secret[32], ikm[32], cek[16], nonce[12], info[144], salt[16], tag[16];
	unsigned char cek_info[] = "Content-Encoding: aes128gcm";
	unsigned char nonce_info[] = "Content-Encoding: nonce";
	const unsigned char *as_public, *ct;
	size_t secret_len = sizeof(secret), ct_len;
	EVP_PKEY *as = NULL;
	EVP_PKEY_CTX *dctx = NULL;
	EVP_CIPHER_CTX *c = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	long result = -1;
	int len, fin;

	if (body->len < 16 + 4 + 1 + 65 + 17 || b[20] != 65 ||
	    ((uint32_t)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19]) != HD_ECE_RECORD_SIZE)
		goto out;
	as_public = b + 21;
	ct = b + 86;
	ct_len = body->len - 86;
	memcpy(salt, b, 16);
	memcpy(tag, ct + ct_len - 16, 16);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, as_public, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (EVP_PKEY_fromdata_init(fctx) != 1 ||
	    EVP_PKEY_fromdata(fctx, &as, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	dctx = EVP_PKEY_CTX_new(ua_key, NULL);
	if (EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer(dctx, as) != 1 ||
	    EVP_PKEY_derive(dctx, secret, &secret_len) != 1)
		goto out;
	memcpy(info, "WebPush: info", 14);
	memcpy(info + 14, ua_public, 65);
	memcpy(info + 79, as_public, 65);
	if (hkdf(ua_auth, 16, secret, 32, info, 144, ikm, 32) != 0 ||
	    hkdf(salt, 16, ikm, 32, cek_info, sizeof(cek_info), cek, 16) != 0 ||
	    hkdf(salt, 16, ikm, 32, nonce_info, sizeof(nonce_info), nonce, 12) != 0)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (ct_len - 16 > cap ||
	    EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, cek, nonce) != 1 ||
	    EVP_DecryptUpdate(c, out, &len, ct, (int)(ct_len - 16)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(c, out + len, &fin) != 1)
		goto out;
	len += fin;
	/* The last record's padding: a 0x02 delimiter, then zeros. */
	while (len > 0 && out[len - 1] == 0)
		len--;
	if (len > 0 && out[len - 1] == 0x02)
		result = len - 1;
out:
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_CTX_free(fctx);
	EVP_PKEY_free(as);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return result;
}

/* Decrypts the body as JSON. */
static json_object *
decrypt_json(const struct hd_http_request *req)
{
	static unsigned char plain[HD_ECE_MAX_PLAINTEXT + 64];
	long n = decrypt(&req->body, plain, sizeof(plain) - 1);

	if (n < 0)
		return NULL;
	plain[n] = '\0';
	return json_tokener_parse((const char *)plain);
}

/* Verifies an ES256 compact JWS with the raw public point k (base64url) and returns
 * its decoded claims, or NULL. */
static json_object *
jwt_claims(const char *jwt, const char *k, json_object **hdr)
{
	unsigned char point[80], sig[80], buf[1024], *der = NULL;
	const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	long plen, slen, n;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es = NULL;
	json_object *claims = NULL;
	int der_len;

	*hdr = NULL;
	if (dot2 == NULL || (plen = hd_base64url_decode(k, strlen(k), point, sizeof(point))) != 65 ||
	    (slen = hd_base64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig))) != 64)
		goto out;
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (EVP_PKEY_fromdata_init(fctx) != 1 ||
	    EVP_PKEY_fromdata(fctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
	if ((der_len = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)jwt,
	    (size_t)(dot2 - jwt)) != 1)
		goto out;
	if ((n = hd_base64url_decode(jwt, (size_t)(dot1 - jwt), buf, sizeof(buf) - 1)) < 0)
		goto out;
	buf[n] = '\0';
	*hdr = json_tokener_parse((const char *)buf);
	if ((n = hd_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf,
	    sizeof(buf) - 1)) < 0)
		goto out;
	buf[n] = '\0';
	claims = json_tokener_parse((const char *)buf);
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(fctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return claims;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static bool
streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Splits "vapid t=<jwt>, k=<key>" into copies of its parts; false when not that. */
static bool
vapid_parts(const char *v, char *jwt, size_t jcap, char *k, size_t kcap)
{
	const char *comma;

	if (v == NULL || strncmp(v, "vapid t=", 8) != 0 || (comma = strstr(v, ", k=")) == NULL ||
	    (size_t)(comma - v - 8) >= jcap || strlen(comma + 4) >= kcap)
		return false;
	memcpy(jwt, v + 8, (size_t)(comma - v - 8));
	jwt[comma - v - 8] = '\0';
	strcpy(k, comma + 4);
	return true;
}

static int
build(const struct hd_notification *n, const struct hd_device_target *d,
    struct hd_http_request *req, struct hd_outcome *o)
{
	memset(o, 0, sizeof(*o));
	return P->build(&ctx, state, &creds, n, d, req, o);
}

static void
test_full_notification_is_encrypted_json_with_every_header(void)
{
	struct hd_action actions[] = { { "open", "Open" }, { "later", "Remind me" } };
	struct hd_notification n = { .title = "Hi \"there\"", .subtitle = "sub", .body = "Body",
	    .icon = "https://cdn.example.com/i.png", .image = "https://cdn.example.com/big.png",
	    .url = "https://example.com/x?y=1", .has_badge = true, .badge = 3,
	    .thread_id = "chat-9", .collapse_id = "abc_DEF-123", .actions = actions,
	    .nactions = 2, .data_json = "{\"order\":42,\"tags\":[\"a\"]}", .sound = "ping",
	    .priority = 9 };
	struct hd_device_target d = device("https://push.example.net/send/abc?x=1");
	struct hd_http_request req;
	struct hd_outcome o;
	json_object *doc, *v, *a, *hdr = NULL, *claims;
	char jwt[2048], k[128];
	int64_t now = hd_now_usec(), ttl;

	n.expires_at = now + 3600 * HD_USEC_PER_SEC;
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(streq(req.url, d.token));
	CHECK(req.device_url);
	CHECK(count_headers(&req) == 6);
	CHECK(header(&req, "TTL") && hd_parse_i64(header(&req, "TTL"),
	    strlen(header(&req, "TTL")), &ttl) == 0 && ttl >= 3598 && ttl <= 3600);
	CHECK(streq(header(&req, "Content-Encoding"), "aes128gcm"));
	CHECK(streq(header(&req, "Content-Type"), "application/octet-stream"));
	CHECK(streq(header(&req, "Urgency"), "high"));
	CHECK(streq(header(&req, "Topic"), "abc_DEF-123"));
	CHECK(vapid_parts(header(&req, "Authorization"), jwt, sizeof(jwt), k, sizeof(k)));
	CHECK(streq(k, vapid_k));
	claims = jwt_claims(jwt, k, &hdr);
	CHECK_MSG(claims != NULL, "the VAPID JWT does not verify with k");
	CHECK(streq(jstr(hdr, "typ"), "JWT") && streq(jstr(hdr, "alg"), "ES256"));
	CHECK(streq(jstr(claims, "aud"), "https://push.example.net"));
	CHECK(streq(jstr(claims, "sub"), "mailto:ops@example.com"));
	CHECK(json_object_object_get_ex(claims, "exp", &v) &&
	    json_object_get_int64(v) >= now / HD_USEC_PER_SEC + 12 * 3600 - 5 &&
	    json_object_get_int64(v) <= now / HD_USEC_PER_SEC + 12 * 3600 + 5);
	json_object_put(hdr);
	json_object_put(claims);

	doc = decrypt_json(&req);
	CHECK_MSG(doc != NULL, "the body does not decrypt to JSON");
	CHECK(streq(jstr(doc, "title"), "Hi \"there\""));
	CHECK(streq(jstr(doc, "subtitle"), "sub"));
	CHECK(streq(jstr(doc, "body"), "Body"));
	CHECK(streq(jstr(doc, "icon"), "https://cdn.example.com/i.png"));
	CHECK(streq(jstr(doc, "image"), "https://cdn.example.com/big.png"));
	CHECK(streq(jstr(doc, "url"), "https://example.com/x?y=1"));
	CHECK(streq(jstr(doc, "tag"), "chat-9"));
	CHECK(streq(jstr(doc, "sound"), "ping"));
	CHECK(json_object_object_get_ex(doc, "badge", &v) &&
	    json_object_is_type(v, json_type_int) && json_object_get_int(v) == 3);
	CHECK(json_object_object_get_ex(doc, "actions", &v) &&
	    json_object_array_length(v) == 2);
	a = json_object_array_get_idx(v, 1);
	CHECK(streq(jstr(a, "action"), "later") && streq(jstr(a, "title"), "Remind me"));
	CHECK(json_object_object_get_ex(doc, "data", &v) &&
	    json_object_is_type(v, json_type_object));
	CHECK(json_object_get_int(json_object_object_get(v, "order")) == 42);
	CHECK(json_object_object_length(doc) == 11);
	json_object_put(doc);
	hd_http_request_clear(&req);
}

static void
test_minimal_notification_uses_defaults_and_only_set_members(void)
{
	struct hd_notification n = { .body = "only a body", .priority = 5 };
	struct hd_device_target d = device("https://push.example.net/send/min");
	struct hd_http_request req;
	struct hd_outcome o;
	json_object *doc;

	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(streq(header(&req, "TTL"), "2419200"));
	CHECK(streq(header(&req, "Urgency"), "normal"));
	CHECK(header(&req, "Topic") == NULL);
	doc = decrypt_json(&req);
	CHECK(doc && json_object_object_length(doc) == 1 &&
	    streq(jstr(doc, "body"), "only a body"));
	json_object_put(doc);
	hd_http_request_clear(&req);

	n.priority = 3;
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(streq(header(&req, "Urgency"), "low"));
	hd_http_request_clear(&req);
}

/* A message's own urgency wins over the one its priority implies; very-low only
 * comes that way. */
static void
test_urgency_of_the_message_overrides_the_priority(void)
{
	static const struct { enum hd_urgency urgency; int priority; const char *want; } rows[] = {
		{ HD_URG_DEFAULT, 10, "high" }, { HD_URG_DEFAULT, 1, "low" },
		{ HD_URG_VERY_LOW, 10, "very-low" }, { HD_URG_VERY_LOW, 1, "very-low" },
		{ HD_URG_LOW, 10, "low" }, { HD_URG_NORMAL, 1, "normal" },
		{ HD_URG_NORMAL, 10, "normal" }, { HD_URG_HIGH, 1, "high" },
	};
	struct hd_device_target d = device("https://push.example.net/send/urg");

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hd_notification n = { .body = "b", .priority = rows[i].priority,
		    .urgency = rows[i].urgency };
		struct hd_http_request req;
		struct hd_outcome o;

		CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
		CHECK_MSG(streq(header(&req, "Urgency"), rows[i].want), "row %zu: %s", i,
		    header(&req, "Urgency"));
		hd_http_request_clear(&req);
	}
}

static void
test_expired_message_is_sent_with_ttl_zero(void)
{
	struct hd_notification n = { .body = "late", .priority = 5, .expires_at = 1 };
	struct hd_device_target d = device("https://push.example.net/send/late");
	struct hd_http_request req;
	struct hd_outcome o;

	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(streq(header(&req, "TTL"), "0"));
	hd_http_request_clear(&req);
}

static void
test_invalid_collapse_id_becomes_hashed_topic(void)
{
	static char ids[][40] = { "order:42/x", "abcdefghijklmnopqrstuvwxyz0123456" };
	struct hd_device_target d = device("https://push.example.net/send/t");
	struct hd_http_request req;
	struct hd_outcome o;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct hd_notification n = { .body = "b", .priority = 5,
		    .collapse_id = ids[i] };
		unsigned char md[32];
		char want[64];

		EVP_Digest(ids[i], strlen(ids[i]), md, NULL, EVP_sha256(), NULL);
		hd_base64url_encode(md, sizeof(md), want, sizeof(want));
		want[32] = '\0';
		CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
		CHECK_MSG(streq(header(&req, "Topic"), want), "%s: Topic %s", ids[i],
		    header(&req, "Topic") ? header(&req, "Topic") : "(none)");
		hd_http_request_clear(&req);
	}
}

/* The aud claim of the request's VAPID JWT, copied into out. */
static bool
aud_of(const struct hd_http_request *req, char *out, size_t cap)
{
	char jwt[2048], k[128];
	json_object *hdr = NULL, *claims;
	const char *aud;
	bool ok = false;

	if (!vapid_parts(header(req, "Authorization"), jwt, sizeof(jwt), k, sizeof(k)))
		return false;
	claims = jwt_claims(jwt, k, &hdr);
	if ((aud = jstr(claims, "aud")) != NULL && strlen(aud) < cap) {
		strcpy(out, aud);
		ok = true;
	}
	json_object_put(hdr);
	json_object_put(claims);
	return ok;
}

static void
test_audience_is_the_endpoint_origin(void)
{
	static const struct { char *endpoint; const char *aud; } cases[] = {
		{ "https://Push.Example.NET/a/b", "https://push.example.net" },
		{ "https://push.example.net:443/a", "https://push.example.net" },
		{ "https://push.example.net:8443/a", "https://push.example.net:8443" },
		{ "https://fcm.googleapis.com", "https://fcm.googleapis.com" },
		{ "HTTPS://web.push.apple.com?q", "https://web.push.apple.com" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_notification n = { .body = "b", .priority = 5 };
		struct hd_device_target d = device(cases[i].endpoint);
		struct hd_http_request req;
		struct hd_outcome o;
		char aud[300] = "";

		CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
		CHECK_MSG(aud_of(&req, aud, sizeof(aud)) && strcmp(aud, cases[i].aud) == 0,
		    "%s: aud %s", cases[i].endpoint, aud);
		hd_http_request_clear(&req);
	}
}

static char *
authorization(char *endpoint)
{
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_device_target d = device(endpoint);
	struct hd_http_request req;
	struct hd_outcome o;
	char *v = NULL;

	if (build(&n, &d, &req, &o) == HD_BUILD_READY && header(&req, "Authorization"))
		v = strdup(header(&req, "Authorization"));
	hd_http_request_clear(&req);
	return v;
}

static void
test_vapid_jwt_is_reused_per_origin_and_dropped_when_refused(void)
{
	char *a1 = authorization("https://reuse.example.net/1");
	char *a2 = authorization("https://reuse.example.net/2");
	char *b = authorization("https://other.example.net/1");
	char *a3, *a4, *b2;
	struct hd_http_response resp = { .status = 403, .body = "", .body_len = 0 };
	struct hd_outcome o;

	CHECK(a1 && a2 && b);
	CHECK_MSG(streq(a1, a2), "one origin, one JWT");
	CHECK(!streq(a1, b));
	P->classify(&ctx, state, &creds, &resp, &o);
	CHECK(o.kind == HD_OUTCOME_RETRY && o.auth_expired);
	a3 = authorization("https://reuse.example.net/3");
	b2 = authorization("https://other.example.net/2");
	CHECK_MSG(a3 && !streq(a1, a3), "a refused JWT is signed afresh");
	CHECK(b2 && !streq(b, b2));
	/* Another subject means another JWT. */
	creds.vapid_subject = "https://example.com/contact";
	a4 = authorization("https://reuse.example.net/4");
	CHECK(a4 && !streq(a3, a4));
	creds.vapid_subject = "mailto:ops@example.com";
	free(a1);
	free(a2);
	free(a3);
	free(a4);
	free(b);
	free(b2);
}

static void
test_raw_override_is_the_plaintext(void)
{
	struct hd_notification n = { .title = "ignored", .priority = 5,
	    .raw_webpush = "{\"custom\":true}" };
	struct hd_device_target d = device("https://push.example.net/send/raw");
	struct hd_http_request req;
	struct hd_outcome o;
	unsigned char plain[256];
	long len;

	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	len = decrypt(&req.body, plain, sizeof(plain));
	CHECK(len == (long)strlen(n.raw_webpush) && memcmp(plain, n.raw_webpush, (size_t)len) == 0);
	hd_http_request_clear(&req);
}

static bool
cleared(const struct hd_http_request *req)
{
	return req->url == NULL && req->headers == NULL && req->body.data == NULL;
}

static void
test_plaintext_over_3993_bytes_is_refused_naming_the_limit(void)
{
	static char raw[HD_ECE_MAX_PLAINTEXT + 2];
	static unsigned char plain[HD_ECE_MAX_PLAINTEXT + 64];
	struct hd_notification n = { .priority = 5, .raw_webpush = raw };
	struct hd_device_target d = device("https://push.example.net/send/big");
	struct hd_http_request req;
	struct hd_outcome o;

	memset(raw, 'x', HD_ECE_MAX_PLAINTEXT + 1);
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_REFUSED);
	CHECK(o.kind == HD_OUTCOME_REJECTED);
	CHECK_MSG(streq(o.reason, "payload is 3994 bytes; Web Push allows 3993 before encryption"),
	    "%s", o.reason);
	CHECK(cleared(&req));

	raw[HD_ECE_MAX_PLAINTEXT] = '\0';
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(req.body.len == HD_ECE_RECORD_SIZE);
	CHECK(decrypt(&req.body, plain, sizeof(plain)) == HD_ECE_MAX_PLAINTEXT);
	hd_http_request_clear(&req);
}

static void
test_app_without_vapid_key_is_refused(void)
{
	struct hd_app_creds none = { .app_id = 8 };
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_device_target d = device("https://push.example.net/send/x");
	struct hd_http_request req;
	struct hd_outcome o;

	CHECK(P->build(&ctx, state, &none, &n, &d, &req, &o) == HD_BUILD_REFUSED);
	CHECK(o.kind == HD_OUTCOME_REJECTED && streq(o.reason, "no VAPID key for this app"));
	CHECK(cleared(&req));
}

static void
test_malformed_endpoints_are_refused(void)
{
	static char longest[2100];
	static char *const bad[] = {
		"http://push.example.net/x", "https://", "https:///x", "ftp://push.example.net/",
		"https://user@push.example.net/x", "https://user:pw@push.example.net/x",
		"https://push.example.net:0/x", "https://push.example.net:70000/x",
		"https://push.example.net:/x", "https://[::1]/x", "https://push example.net/",
		"https://push.example.net/a b", "https://push.example.net/\r\nX: y",
		"https://p%75sh.example.net/", longest,
	};
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_request req;
	struct hd_outcome o;

	memcpy(longest, "https://push.example.net/", 25);
	memset(longest + 25, 'a', 2049 - 25);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hd_device_target d = device(bad[i]);

		CHECK_MSG(build(&n, &d, &req, &o) == HD_BUILD_REFUSED, "%s", bad[i]);
		CHECK(streq(o.reason, "malformed Web Push endpoint"));
		CHECK(cleared(&req));
	}
}

static void
test_malformed_subscription_keys_are_refused(void)
{
	unsigned char key[65];
	char not_point[128], compressed[128], short_auth[64], p256dh_padded[130];
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_request req;
	struct hd_outcome o;
	struct hd_device_target cases[6];

	/* 0x04 then X, Y = all 0x01: 65 bytes of the right shape, not on the curve. */
	memset(key, 0x01, sizeof(key));
	key[0] = 0x04;
	hd_base64url_encode(key, 65, not_point, sizeof(not_point));
	key[0] = 0x02;
	hd_base64url_encode(key, 65, compressed, sizeof(compressed));
	hd_base64url_encode(ua_auth, 15, short_auth, sizeof(short_auth));
	snprintf(p256dh_padded, sizeof(p256dh_padded), "%s=", ua_public_b64);
	for (size_t i = 0; i < 6; i++)
		cases[i] = device("https://push.example.net/send/k");
	cases[0].p256dh = not_point;
	cases[1].p256dh = compressed;
	cases[2].auth = short_auth;
	cases[3].p256dh = NULL;
	cases[4].auth = NULL;
	cases[5].p256dh = p256dh_padded;
	for (size_t i = 0; i < 6; i++) {
		CHECK_MSG(build(&n, &cases[i], &req, &o) == HD_BUILD_REFUSED, "case %zu", i);
		CHECK_MSG(streq(o.reason, "malformed subscription keys"), "case %zu: %s", i,
		    o.reason);
		CHECK(cleared(&req));
	}
}

static void
test_data_that_is_not_an_object_is_refused(void)
{
	static char bad[][16] = { "[1,2]", "\"s\"", "{\"a\":1} x", "{", "" };
	struct hd_device_target d = device("https://push.example.net/send/d");
	struct hd_http_request req;
	struct hd_outcome o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hd_notification n = { .body = "b", .priority = 5, .data_json = bad[i] };

		CHECK_MSG(build(&n, &d, &req, &o) == HD_BUILD_REFUSED, "%s", bad[i]);
		CHECK(streq(o.reason, "data is not a JSON object"));
		CHECK(cleared(&req));
	}
}

static void
test_classify_maps_every_documented_answer(void)
{
	static const struct {
		long status;
		const char *headers, *body;
		enum hd_outcome_kind kind;
		const char *reason;
		int64_t retry_in;        /* seconds; -1: retry_at must be 0 */
		bool auth_expired;
	} cases[] = {
		{ 201, "Location: https://push.example.net/m/1\r\n", "", HD_OUTCOME_DELIVERED, "", -1, false },
		{ 200, "", "", HD_OUTCOME_DELIVERED, "", -1, false },
		{ 202, "", "", HD_OUTCOME_DELIVERED, "", -1, false },
		{ 404, "", "{\"code\":404,\"errno\":102,\"error\":\"Not Found\",\"message\":\"Request did not validate invalid token\"}",
		  HD_OUTCOME_GONE, "subscription expired or unsubscribed: Request did not validate invalid token", -1, false },
		{ 410, "", "{\"reason\":\"Unregistered\"}", HD_OUTCOME_GONE,
		  "subscription expired or unsubscribed: Unregistered", -1, false },
		{ 410, "", "push subscription has unsubscribed or expired.\n", HD_OUTCOME_GONE,
		  "subscription expired or unsubscribed: push subscription has unsubscribed or expired.", -1, false },
		{ 413, "", "{\"reason\":\"PayloadTooLarge\"}", HD_OUTCOME_REJECTED,
		  "payload too large: PayloadTooLarge", -1, false },
		{ 400, "", "{\"reason\":\"BadExpirationDate\"}", HD_OUTCOME_REJECTED,
		  "bad request: BadExpirationDate", -1, false },
		{ 400, "", "", HD_OUTCOME_REJECTED, "bad request", -1, false },
		{ 401, "", "{\"message\":\"Invalid Authorization header\"}", HD_OUTCOME_RETRY,
		  "VAPID authorization refused: Invalid Authorization header", -1, true },
		{ 403, "", "{\"reason\":\"BadJwtToken\"}", HD_OUTCOME_RETRY,
		  "VAPID authorization refused: BadJwtToken", -1, true },
		{ 429, "Retry-After: 120\r\n", "{\"reason\":\"TooManyRequests\"}", HD_OUTCOME_RETRY,
		  "too many requests: TooManyRequests", 120, false },
		{ 429, "", "", HD_OUTCOME_RETRY, "too many requests", -1, false },
		{ 500, "", "oops", HD_OUTCOME_RETRY, "push service error: oops", -1, false },
		{ 503, "Retry-After: 30\r\n", "", HD_OUTCOME_RETRY, "push service error", 30, false },
		{ 502, "Retry-After: soon\r\n", "", HD_OUTCOME_RETRY, "push service error", -1, false },
		{ 405, "", "", HD_OUTCOME_REJECTED, "unexpected HTTP status 405", -1, false },
		{ 301, "", "", HD_OUTCOME_REJECTED, "unexpected HTTP status 301", -1, false },
		{ 400, "", "bad\x01\x7f" "chars\r\nsecond line", HD_OUTCOME_REJECTED,
		  "bad request: bad??chars", -1, false },
		{ 400, "", "{\"reason\":", HD_OUTCOME_REJECTED, "bad request", -1, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_http_response resp = { .status = cases[i].status,
		    .headers = cases[i].headers, .headers_len = strlen(cases[i].headers),
		    .body = cases[i].body, .body_len = strlen(cases[i].body) };
		struct hd_outcome o;
		int64_t now = hd_now_usec();

		memset(&o, 0xff, sizeof(o));
		P->classify(&ctx, state, &creds, &resp, &o);
		CHECK_MSG(o.kind == cases[i].kind, "case %zu: kind %d", i, o.kind);
		CHECK_MSG(strcmp(o.reason, cases[i].reason) == 0, "case %zu: reason \"%s\"", i,
		    o.reason);
		CHECK_MSG(o.provider_status == cases[i].status, "case %zu", i);
		CHECK_MSG(o.auth_expired == cases[i].auth_expired, "case %zu", i);
		CHECK_MSG(o.gone_since == 0, "case %zu", i);
		if (cases[i].retry_in < 0)
			CHECK_MSG(o.retry_at == 0, "case %zu: retry_at %lld", i, (long long)o.retry_at);
		else
			CHECK_MSG(o.retry_at >= now + cases[i].retry_in * HD_USEC_PER_SEC &&
			    o.retry_at <= hd_now_usec() + cases[i].retry_in * HD_USEC_PER_SEC,
			    "case %zu", i);
	}
}

static void
test_classify_transport_failure_is_retried(void)
{
	struct hd_http_response resp = { .status = 0, .transport_error = "Connection refused" };
	struct hd_outcome o;

	P->classify(&ctx, state, &creds, &resp, &o);
	CHECK(o.kind == HD_OUTCOME_RETRY && o.retry_at == 0 && o.provider_status == 0);
	CHECK(streq(o.reason, "no answer from the push service: Connection refused"));
}

int
main(void)
{
	setup();
	test_full_notification_is_encrypted_json_with_every_header();
	test_minimal_notification_uses_defaults_and_only_set_members();
	test_urgency_of_the_message_overrides_the_priority();
	test_expired_message_is_sent_with_ttl_zero();
	test_invalid_collapse_id_becomes_hashed_topic();
	test_audience_is_the_endpoint_origin();
	test_vapid_jwt_is_reused_per_origin_and_dropped_when_refused();
	test_raw_override_is_the_plaintext();
	test_plaintext_over_3993_bytes_is_refused_naming_the_limit();
	test_app_without_vapid_key_is_refused();
	test_malformed_endpoints_are_refused();
	test_malformed_subscription_keys_are_refused();
	test_data_that_is_not_an_object_is_refused();
	test_classify_maps_every_documented_answer();
	test_classify_transport_failure_is_retried();
	P->fini(state);
	hd_signer_free(creds.vapid_key);
	EVP_PKEY_free(ua_key);
	UNIT_DONE();
}
