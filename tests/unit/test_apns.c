/*
 * hd_provider_apns: build() turns a notification into Apple's request (URL by
 * environment, every apns-* header, the payload field by field, a provider token whose
 * ES256 signature OpenSSL verifies with the public key) or refuses it naming the limit;
 * the token is reused per (team, key) and not re-signed after a refusal inside 20
 * minutes, while credentials that carry another key under the same team and key id
 * get a token of their own at once, refused or not; classify() maps every reason
 * Apple documents. The keys are made here, so no key material is kept in the tree.
 * ctx->db is NULL: tokens stay in the process.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"
#include "provider_test.h"
#include "unit.h"

#define DEVICE "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF"

#define FINGERPRINT "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define OTHER_FINGERPRINT "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static EVP_PKEY *key, *replacement_key;
static struct hd_signer *signer, *replacement_signer;
static struct hd_config cfg;
static struct hd_provider_ctx ctx;
static void *state;

static struct hd_app_creds
token_creds(void)
{
	struct hd_app_creds c = { .app_id = 7, .apns_auth = HD_APNS_TOKEN,
		.apns_team_id = "TEAM123456", .apns_key_id = "KEY1234567",
		.apns_key = signer, .apns_key_fingerprint = FINGERPRINT,
		.apns_topic = "com.example.app" };
	return c;
}

/* The string at path, or NULL. */
static const char *
jstr(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Verifies an ES256 JWS with public key k (raw r||s turned into DER for OpenSSL) and
 * returns its header and claims. */
static bool
verify_jwt_with(EVP_PKEY *k, const char *jwt, json_object **hdr, json_object **claims)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char raw[64], *der = NULL;
	ECDSA_SIG *sig = NULL;
	EVP_MD_CTX *md = NULL;
	int derlen;
	bool ok = false;

	*hdr = *claims = NULL;
	if (d2 == NULL || hd_base64url_decode(d2 + 1, strlen(d2 + 1), raw, sizeof(raw)) != 64)
		return false;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    !ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL)) ||
	    (derlen = i2d_ECDSA_SIG(sig, &der)) <= 0 || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)jwt,
	    (size_t)(d2 - jwt)) == 1;
	*hdr = decode_segment(jwt, (size_t)(d1 - jwt));
	*claims = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1));
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok;
}

/* Verifies with the test key. */
static bool
verify_jwt(const char *jwt, json_object **hdr, json_object **claims)
{
	return verify_jwt_with(key, jwt, hdr, claims);
}

static int
build(const struct hd_app_creds *creds, const struct hd_notification *n, const char *token,
    struct hd_http_request *req, struct hd_outcome *refused, json_object **body)
{
	struct hd_device_target d = { .platform = HD_PLATFORM_IOS, .token = (char *)(uintptr_t)token };
	int rc;

	memset(req, 0, sizeof(*req));
	memset(refused, 0, sizeof(*refused));
	rc = hd_provider_apns.build(&ctx, state, creds, n, &d, req, refused);
	if (body)
		*body = rc == HD_BUILD_READY ? json_tokener_parse(req->body.data) : NULL;
	return rc;
}

static void
test_alert_with_every_field(void)
{
	struct hd_app_creds creds = token_creds();
	int64_t before = hd_now_usec() / HD_USEC_PER_SEC, expires = before + 3600;
	struct hd_notification n = { .title = "Hi", .subtitle = "there", .body = "Body",
		.sound = "ping.caf", .has_badge = true, .badge = 3, .thread_id = "t1",
		.category = "CAT", .collapse_id = "c1", .priority = 10,
		.expires_at = expires * HD_USEC_PER_SEC + 500000,
		.interruption = HD_INTR_TIME_SENSITIVE, .image = "https://img.example/a.png",
		.url = "https://example.com/x", .data_json = "{\"k\":\"v\",\"n\":1}" };
	struct hd_http_request req;
	struct hd_outcome refused;
	json_object *body, *hdr, *claims;
	const char *auth;
	char want[32];
	int count;

	CHECK(build(&creds, &n, DEVICE, &req, &refused, &body) == HD_BUILD_READY);
	CHECK(strcmp(req.url, "https://api.push.apple.com/3/device/" DEVICE) == 0);
	CHECK(!req.device_url && req.client_cert_pem == NULL);
	CHECK(strcmp(header_in(req.headers, "apns-topic", NULL), "com.example.app") == 0);
	CHECK(strcmp(header_in(req.headers, "apns-push-type", NULL), "alert") == 0);
	CHECK(strcmp(header_in(req.headers, "apns-priority", NULL), "10") == 0);
	snprintf(want, sizeof(want), "%lld", (long long)expires);
	CHECK(strcmp(header_in(req.headers, "apns-expiration", NULL), want) == 0);
	CHECK(strcmp(header_in(req.headers, "apns-collapse-id", NULL), "c1") == 0);
	CHECK(strcmp(header_in(req.headers, "content-type", NULL), "application/json") == 0);
	auth = header_in(req.headers, "authorization", &count);
	CHECK(count == 1 && auth && strncmp(auth, "bearer ", 7) == 0);
	CHECK(auth && verify_jwt(auth + 7, &hdr, &claims));
	CHECK(jstr(hdr, "alg") && strcmp(jstr(hdr, "alg"), "ES256") == 0);
	CHECK(jstr(hdr, "kid") && strcmp(jstr(hdr, "kid"), "KEY1234567") == 0);
	CHECK(hdr && json_object_object_length(hdr) == 2);
	CHECK(jstr(claims, "iss") && strcmp(jstr(claims, "iss"), "TEAM123456") == 0);
	CHECK(jint(claims, "iat") >= before &&
	    jint(claims, "iat") <= hd_now_usec() / HD_USEC_PER_SEC);
	CHECK(claims && json_object_object_length(claims) == 2);

	CHECK(strcmp(jstr(body, "aps/alert/title"), "Hi") == 0);
	CHECK(strcmp(jstr(body, "aps/alert/subtitle"), "there") == 0);
	CHECK(strcmp(jstr(body, "aps/alert/body"), "Body") == 0);
	CHECK(strcmp(jstr(body, "aps/sound"), "ping.caf") == 0);
	CHECK(jint(body, "aps/badge") == 3);
	CHECK(strcmp(jstr(body, "aps/thread-id"), "t1") == 0);
	CHECK(strcmp(jstr(body, "aps/category"), "CAT") == 0);
	CHECK(strcmp(jstr(body, "aps/interruption-level"), "time-sensitive") == 0);
	CHECK(jint(body, "aps/mutable-content") == 1);
	CHECK(jpath(body, "aps/content-available") == NULL);
	CHECK(strcmp(jstr(body, "k"), "v") == 0 && jint(body, "n") == 1);
	CHECK(strcmp(jstr(body, "image"), "https://img.example/a.png") == 0);
	CHECK(strcmp(jstr(body, "url"), "https://example.com/x") == 0);
	CHECK(json_object_object_length(body) == 5);
	/* No escaped slashes: the body is sent as json-c printed it. */
	CHECK(strstr(req.body.data, "\\/") == NULL);
	json_object_put(hdr);
	json_object_put(claims);
	json_object_put(body);
	hd_http_request_clear(&req);
}

static void
test_push_type_priority_and_expiry(void)
{
	static const struct {
		int line;
		struct hd_notification n;
		const char *type, *priority, *expiration;  /* expiration: NULL absent, "" now+60 */
	} cases[] = {
		{ __LINE__, { .content_available = true, .priority = 10 }, "background", "5", NULL },
		{ __LINE__, { .content_available = true, .has_badge = true, .badge = 1,
		    .priority = 5 }, "alert", "10", NULL },
		{ __LINE__, { .content_available = true, .sound = "a", .priority = 10 },
		    "alert", "10", NULL },
		{ __LINE__, { .body = "b", .priority = 3 }, "alert", "5", NULL },
		{ __LINE__, { .body = "b", .priority = 4 }, "alert", "10", NULL },
		{ __LINE__, { .body = "b", .priority = 5, .expires_at = 1000000 }, "alert", "10", "0" },
		{ __LINE__, { .body = "b", .priority = 5, .expires_at = -1 }, "alert", "10", "" },
		{ __LINE__, { .raw_apns = "{\"aps\":{\"content-available\":1},\"x\":1}",
		    .priority = 10 }, "background", "5", NULL },
		{ __LINE__, { .raw_apns = "{\"aps\":{\"alert\":\"hi\"}}", .priority = 10 },
		    "alert", "10", NULL },
	};
	struct hd_app_creds creds = token_creds();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_notification n = cases[i].n;
		struct hd_http_request req;
		struct hd_outcome refused;
		const char *exp;
		char want[32];
		int64_t at = hd_now_usec() / HD_USEC_PER_SEC + 60;

		if (n.expires_at == -1)
			n.expires_at = at * HD_USEC_PER_SEC;
		CHECK_MSG(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY,
		    "line %d: %s", cases[i].line, refused.reason);
		CHECK_MSG(strcmp(header_in(req.headers, "apns-push-type", NULL), cases[i].type) == 0,
		    "line %d", cases[i].line);
		CHECK_MSG(strcmp(header_in(req.headers, "apns-priority", NULL), cases[i].priority) == 0,
		    "line %d", cases[i].line);
		exp = header_in(req.headers, "apns-expiration", NULL);
		snprintf(want, sizeof(want), "%lld", (long long)at);
		if (cases[i].expiration == NULL)
			CHECK_MSG(exp == NULL, "line %d", cases[i].line);
		else
			CHECK_MSG(exp && strcmp(exp, cases[i].expiration[0] ? cases[i].expiration :
			    want) == 0, "line %d: %s", cases[i].line, exp ? exp : "(none)");
		if (n.raw_apns)
			CHECK_MSG(strcmp(req.body.data, n.raw_apns) == 0, "line %d", cases[i].line);
		hd_http_request_clear(&req);
	}
}

static void
test_background_payload_carries_only_content_available(void)
{
	struct hd_app_creds creds = token_creds();
	struct hd_notification n = { .content_available = true, .priority = 5,
		.data_json = "{\"sync\":true}" };
	struct hd_http_request req;
	struct hd_outcome refused;
	json_object *body;

	CHECK(build(&creds, &n, DEVICE, &req, &refused, &body) == HD_BUILD_READY);
	CHECK(jint(body, "aps/content-available") == 1);
	CHECK(json_object_object_length(jpath(body, "aps")) == 1);
	CHECK(json_object_get_boolean(jpath(body, "sync")));
	json_object_put(body);
	hd_http_request_clear(&req);
}

static void
test_environment_and_configured_urls(void)
{
	struct hd_app_creds creds = token_creds();
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_request req;
	struct hd_outcome refused;

	creds.apns_sandbox = true;
	CHECK(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(strcmp(req.url, "https://api.sandbox.push.apple.com/3/device/" DEVICE) == 0);
	hd_http_request_clear(&req);
	cfg.apns_sandbox_url = "http://127.0.0.1:9001";
	cfg.apns_url = "http://127.0.0.1:9000";
	CHECK(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(strcmp(req.url, "http://127.0.0.1:9001/3/device/" DEVICE) == 0);
	hd_http_request_clear(&req);
	creds.apns_sandbox = false;
	CHECK(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(strcmp(req.url, "http://127.0.0.1:9000/3/device/" DEVICE) == 0);
	hd_http_request_clear(&req);
	cfg.apns_sandbox_url = cfg.apns_url = NULL;
}

static void
test_certificate_auth_sends_no_token(void)
{
	struct hd_app_creds creds = { .app_id = 8, .apns_auth = HD_APNS_CERTIFICATE,
		.apns_cert_pem = "CERT", .apns_cert_key_pem = "KEY",
		.apns_topic = "com.example.app" };
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_request req;
	struct hd_outcome refused;

	CHECK(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(req.client_cert_pem == creds.apns_cert_pem);
	CHECK(req.client_key_pem == creds.apns_cert_key_pem);
	CHECK(header_in(req.headers, "authorization", NULL) == NULL);
	CHECK(strcmp(header_in(req.headers, "apns-topic", NULL), "com.example.app") == 0);
	hd_http_request_clear(&req);
}

static void
test_refusals_name_the_reason(void)
{
	static char big[5000], collapse65[66], collapse64[65];
	static const struct hd_notification plain = { .body = "b", .priority = 5 };
	struct hd_app_creds good = token_creds(), none = { .app_id = 9 };
	struct hd_app_creds keyless = good, topicless = good, certless = good;
	struct hd_app_creds unfingerprinted = good, short_fingerprint = good, upper_fingerprint = good;
	struct {
		int line;
		const struct hd_app_creds *creds;
		struct hd_notification n;
		const char *token, *reason;
	} cases[] = {
		{ __LINE__, &none, plain, DEVICE, "no APNs credentials for this app" },
		{ __LINE__, NULL, plain, DEVICE, "no APNs credentials for this app" },
		{ __LINE__, &keyless, plain, DEVICE, "no APNs credentials for this app" },
		{ __LINE__, &certless, plain, DEVICE, "no APNs credentials for this app" },
		{ __LINE__, &unfingerprinted, plain, DEVICE, "no APNs credentials for this app" },
		{ __LINE__, &short_fingerprint, plain, DEVICE, "malformed APNs key fingerprint" },
		{ __LINE__, &upper_fingerprint, plain, DEVICE, "malformed APNs key fingerprint" },
		{ __LINE__, &topicless, plain, DEVICE, "no APNs topic (bundle id) for this app" },
		{ __LINE__, &good, plain, DEVICE + 2, "malformed APNs device token" },
		{ __LINE__, &good, plain, DEVICE "a", "malformed APNs device token" },
		{ __LINE__, &good, plain, "zz" DEVICE, "malformed APNs device token" },
		{ __LINE__, &good, plain, DEVICE DEVICE DEVICE "0123456789", "malformed APNs device token" },
		{ __LINE__, &good, plain, NULL, "malformed APNs device token" },
		{ __LINE__, &good, plain, "", "malformed APNs device token" },
		{ __LINE__, &good, { .body = "b", .collapse_id = collapse65 }, DEVICE,
		    "collapse id is 65 bytes; APNs allows 64" },
		{ __LINE__, &good, { .body = big }, DEVICE, "payload is 5028 bytes; APNs allows 4096" },
		{ __LINE__, &good, { .raw_apns = big }, DEVICE, "raw APNs payload is not a JSON object" },
		{ __LINE__, &good, { .raw_apns = "[1]" }, DEVICE, "raw APNs payload is not a JSON object" },
		{ __LINE__, &good, { .raw_apns = "{\"aps\":{}} x" }, DEVICE,
		    "raw APNs payload is not a JSON object" },
		{ __LINE__, &good, { .data_json = "[1]" }, DEVICE, "custom data is not a JSON object" },
		{ __LINE__, &good, { .data_json = "{\"aps\":1}" }, DEVICE,
		    "custom data may not use the key \"aps\" in an APNs payload" },
		{ __LINE__, &good, { .url = "https://a", .data_json = "{\"url\":1}" }, DEVICE,
		    "custom data may not use the key \"url\" in an APNs payload" },
	};

	memset(big, 'x', sizeof(big) - 1);
	memset(collapse65, 'c', sizeof(collapse65) - 1);
	memset(collapse64, 'c', sizeof(collapse64) - 1);
	keyless.apns_key = NULL;
	unfingerprinted.apns_key_fingerprint = NULL;
	short_fingerprint.apns_key_fingerprint = FINGERPRINT + 1;
	upper_fingerprint.apns_key_fingerprint =
	    "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90";
	topicless.apns_topic = NULL;
	certless.apns_auth = HD_APNS_CERTIFICATE;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_http_request req;
		struct hd_outcome refused;

		CHECK_MSG(build(cases[i].creds, &cases[i].n, cases[i].token, &req, &refused,
		    NULL) == HD_BUILD_REFUSED, "line %d", cases[i].line);
		CHECK_MSG(refused.kind == HD_OUTCOME_REJECTED, "line %d", cases[i].line);
		CHECK_MSG(strcmp(refused.reason, cases[i].reason) == 0, "line %d: %s",
		    cases[i].line, refused.reason);
		CHECK_MSG(req.url == NULL && req.headers == NULL && req.body.data == NULL,
		    "line %d: request left set", cases[i].line);
	}

	/* The limits themselves pass: 64-byte collapse id, 64 and 200 hex digits, and a
	 * payload of exactly 4096 bytes. */
	{
		struct hd_notification n = { .body = "b", .collapse_id = collapse64 };
		struct hd_http_request req;
		struct hd_outcome refused;
		static char raw[4098];

		CHECK(build(&good, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
		hd_http_request_clear(&req);
		CHECK(build(&good, &plain, DEVICE DEVICE DEVICE "01234567", &req, &refused,
		    NULL) == HD_BUILD_READY);
		hd_http_request_clear(&req);
		memset(raw, ' ', 4096);
		memcpy(raw, "{\"aps\":{}}", 10);
		n = (struct hd_notification){ .raw_apns = raw };
		CHECK(build(&good, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
		CHECK(req.body.len == 4096);
		hd_http_request_clear(&req);
		raw[4096] = ' ';
		CHECK(build(&good, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_REFUSED);
		CHECK(strcmp(refused.reason, "payload is 4097 bytes; APNs allows 4096") == 0);
	}
}

static const char *
bearer(const struct hd_app_creds *creds, char *out, size_t cap)
{
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_request req;
	struct hd_outcome refused;
	const char *auth;

	out[0] = '\0';
	if (build(creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY &&
	    (auth = header_in(req.headers, "authorization", NULL)) != NULL)
		snprintf(out, cap, "%s", auth);
	hd_http_request_clear(&req);
	return out;
}

static void
test_token_is_shared_per_team_and_key(void)
{
	struct hd_app_creds a = token_creds(), b = token_creds(), other = token_creds();
	char first[600], again[600], other_app[600], other_key[600], after[600];
	struct hd_http_response resp = { .status = 403,
		.body = "{\"reason\":\"ExpiredProviderToken\"}" };
	struct hd_outcome out;
	json_object *hdr, *claims;

	b.app_id = 99;
	other.apns_key_id = "KEY7654321";
	bearer(&a, first, sizeof(first));
	CHECK(first[0] != '\0');
	CHECK(strcmp(bearer(&a, again, sizeof(again)), first) == 0);
	CHECK(strcmp(bearer(&b, other_app, sizeof(other_app)), first) == 0);
	bearer(&other, other_key, sizeof(other_key));
	CHECK(strcmp(other_key, first) != 0);
	CHECK(verify_jwt(other_key + 7, &hdr, &claims));
	CHECK(jstr(hdr, "kid") && strcmp(jstr(hdr, "kid"), "KEY7654321") == 0);
	json_object_put(hdr);
	json_object_put(claims);

	/* Refused: the token is marked, but Apple allows no new one within 20 minutes. */
	resp.body_len = strlen(resp.body);
	hd_provider_apns.classify(&ctx, state, &a, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_RETRY && out.auth_expired);
	CHECK(strcmp(bearer(&a, after, sizeof(after)), first) == 0);
}

/* An operator replaced the app's .p8 with another key under the same team and key id:
 * the old key's token is not sent with the new credentials, even in the same second
 * and after APNs refused it; the old key's own token still keeps the 20-minute rule. */
static void
test_replaced_key_under_the_same_team_and_key_id_gets_its_own_token_at_once(void)
{
	struct hd_app_creds old = token_creds(), replaced = token_creds();
	char first[600], refused_again[600], with_new[600], new_again[600];
	struct hd_http_response resp = { .status = 403,
		.body = "{\"reason\":\"InvalidProviderToken\"}" };
	struct hd_outcome out;
	json_object *hdr, *claims;

	old.apns_key_id = replaced.apns_key_id = "KEYREPLACE";
	replaced.apns_key = replacement_signer;
	replaced.apns_key_fingerprint = OTHER_FINGERPRINT;
	bearer(&old, first, sizeof(first));
	CHECK(first[0] != '\0');
	resp.body_len = strlen(resp.body);
	hd_provider_apns.classify(&ctx, state, &old, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_RETRY && out.auth_expired);

	bearer(&replaced, with_new, sizeof(with_new));
	CHECK(with_new[0] != '\0' && strcmp(with_new, first) != 0);
	CHECK(verify_jwt_with(replacement_key, with_new + 7, &hdr, &claims));
	CHECK(jstr(hdr, "kid") && strcmp(jstr(hdr, "kid"), "KEYREPLACE") == 0);
	CHECK(jstr(claims, "iss") && strcmp(jstr(claims, "iss"), "TEAM123456") == 0);
	json_object_put(hdr);
	json_object_put(claims);
	CHECK(!verify_jwt(with_new + 7, &hdr, &claims));
	json_object_put(hdr);
	json_object_put(claims);
	CHECK(strcmp(bearer(&replaced, new_again, sizeof(new_again)), with_new) == 0);

	/* The old key's refused token is not re-signed inside 20 minutes. */
	CHECK(strcmp(bearer(&old, refused_again, sizeof(refused_again)), first) == 0);
	/* A refusal of the old key's token leaves the new key's token alone. */
	hd_provider_apns.classify(&ctx, state, &old, &resp, &out);
	CHECK(strcmp(bearer(&replaced, new_again, sizeof(new_again)), with_new) == 0);
}

static void
test_classify_every_reason(void)
{
	static const struct classify_case cases[] = {
		{ __LINE__, 200, "", NULL, HD_OUTCOME_DELIVERED, false, "", 0 },
		{ __LINE__, 400, "{\"reason\":\"BadCollapseId\"}", NULL, HD_OUTCOME_REJECTED, false, "BadCollapseId", 0 },
		{ __LINE__, 400, "{\"reason\":\"BadDeviceToken\"}", NULL, HD_OUTCOME_GONE, false, "BadDeviceToken", 0 },
		{ __LINE__, 400, "{\"reason\":\"BadExpirationDate\"}", NULL, HD_OUTCOME_REJECTED, false, "BadExpirationDate", 0 },
		{ __LINE__, 400, "{\"reason\":\"BadMessageId\"}", NULL, HD_OUTCOME_REJECTED, false, "BadMessageId", 0 },
		{ __LINE__, 400, "{\"reason\":\"BadPriority\"}", NULL, HD_OUTCOME_REJECTED, false, "BadPriority", 0 },
		{ __LINE__, 400, "{\"reason\":\"BadTopic\"}", NULL, HD_OUTCOME_REJECTED, false, "BadTopic", 0 },
		{ __LINE__, 400, "{\"reason\":\"DeviceTokenNotForTopic\"}", NULL, HD_OUTCOME_GONE, false, "DeviceTokenNotForTopic", 0 },
		{ __LINE__, 400, "{\"reason\":\"DuplicateHeaders\"}", NULL, HD_OUTCOME_REJECTED, false, "DuplicateHeaders", 0 },
		{ __LINE__, 400, "{\"reason\":\"IdleTimeout\"}", NULL, HD_OUTCOME_RETRY, false, "IdleTimeout", 0 },
		{ __LINE__, 400, "{\"reason\":\"InvalidPushType\"}", NULL, HD_OUTCOME_REJECTED, false, "InvalidPushType", 0 },
		{ __LINE__, 400, "{\"reason\":\"MissingDeviceToken\"}", NULL, HD_OUTCOME_REJECTED, false, "MissingDeviceToken", 0 },
		{ __LINE__, 400, "{\"reason\":\"MissingTopic\"}", NULL, HD_OUTCOME_REJECTED, false, "MissingTopic", 0 },
		{ __LINE__, 400, "{\"reason\":\"PayloadEmpty\"}", NULL, HD_OUTCOME_REJECTED, false, "PayloadEmpty", 0 },
		{ __LINE__, 400, "{\"reason\":\"TopicDisallowed\"}", NULL, HD_OUTCOME_REJECTED, false, "TopicDisallowed", 0 },
		{ __LINE__, 403, "{\"reason\":\"BadCertificate\"}", NULL, HD_OUTCOME_RETRY, true, "BadCertificate", 0 },
		{ __LINE__, 403, "{\"reason\":\"BadCertificateEnvironment\"}", NULL, HD_OUTCOME_RETRY, true, "BadCertificateEnvironment", 0 },
		{ __LINE__, 403, "{\"reason\":\"ExpiredProviderToken\"}", NULL, HD_OUTCOME_RETRY, true, "ExpiredProviderToken", 0 },
		{ __LINE__, 403, "{\"reason\":\"Forbidden\"}", NULL, HD_OUTCOME_RETRY, true, "Forbidden", 0 },
		{ __LINE__, 403, "{\"reason\":\"InvalidProviderToken\"}", NULL, HD_OUTCOME_RETRY, true, "InvalidProviderToken", 0 },
		{ __LINE__, 403, "{\"reason\":\"MissingProviderToken\"}", NULL, HD_OUTCOME_RETRY, true, "MissingProviderToken", 0 },
		{ __LINE__, 403, "{\"reason\":\"UnrelatedKeyIdInToken\"}", NULL, HD_OUTCOME_RETRY, true, "UnrelatedKeyIdInToken", 0 },
		{ __LINE__, 403, "{\"reason\":\"BadEnvironmentKeyInToken\"}", NULL, HD_OUTCOME_RETRY, true, "BadEnvironmentKeyInToken", 0 },
		{ __LINE__, 404, "{\"reason\":\"BadPath\"}", NULL, HD_OUTCOME_REJECTED, false, "BadPath", 0 },
		{ __LINE__, 405, "{\"reason\":\"MethodNotAllowed\"}", NULL, HD_OUTCOME_REJECTED, false, "MethodNotAllowed", 0 },
		{ __LINE__, 410, "{\"reason\":\"ExpiredToken\"}", NULL, HD_OUTCOME_GONE, false, "ExpiredToken", 0 },
		{ __LINE__, 410, "{\"reason\":\"Unregistered\"}", NULL, HD_OUTCOME_GONE, false, "Unregistered", 0 },
		{ __LINE__, 413, "{\"reason\":\"PayloadTooLarge\"}", NULL, HD_OUTCOME_REJECTED, false, "PayloadTooLarge", 0 },
		{ __LINE__, 429, "{\"reason\":\"TooManyProviderTokenUpdates\"}", NULL, HD_OUTCOME_RETRY, false, "TooManyProviderTokenUpdates", 0 },
		{ __LINE__, 429, "{\"reason\":\"TooManyRequests\"}", "Retry-After: 120\r\n", HD_OUTCOME_RETRY, false, "TooManyRequests", 120 },
		{ __LINE__, 500, "{\"reason\":\"InternalServerError\"}", NULL, HD_OUTCOME_RETRY, false, "InternalServerError", 0 },
		{ __LINE__, 503, "{\"reason\":\"ServiceUnavailable\"}", "retry-after: 30\r\n", HD_OUTCOME_RETRY, false, "ServiceUnavailable", 30 },
		{ __LINE__, 503, "{\"reason\":\"Shutdown\"}", NULL, HD_OUTCOME_RETRY, false, "Shutdown", 0 },
		/* Undocumented reasons and garbage bodies: the status decides. */
		{ __LINE__, 500, "<html>oops", NULL, HD_OUTCOME_RETRY, false, "APNs answered 500", 0 },
		{ __LINE__, 502, "", "Retry-After: 5\r\n", HD_OUTCOME_RETRY, false, "APNs answered 502", 5 },
		{ __LINE__, 400, "{\"reason\":\"SomethingNew\"}", NULL, HD_OUTCOME_REJECTED, false, "SomethingNew", 0 },
		{ __LINE__, 403, "{\"reason\":7}", NULL, HD_OUTCOME_RETRY, true, "APNs answered 403", 0 },
		{ __LINE__, 410, "{}", NULL, HD_OUTCOME_GONE, false, "APNs answered 410", 0 },
		{ __LINE__, 400, "{\"reason\":\"Bad\\u0001\\nToken\"}", NULL, HD_OUTCOME_REJECTED, false, "Bad??Token", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_app_creds creds = token_creds();

		check_classify(&hd_provider_apns, &ctx, state, &creds, &cases[i]);
	}
}

static void
test_classify_unregistered_timestamp_and_transport_error(void)
{
	struct hd_app_creds creds = token_creds();
	struct hd_http_response resp = { .status = 410,
		.body = "{\"reason\":\"Unregistered\",\"timestamp\":1454402113000}" };
	struct hd_outcome out;
	char reason[400];

	resp.body_len = strlen(resp.body);
	hd_provider_apns.classify(&ctx, state, &creds, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_GONE);
	CHECK(out.gone_since == INT64_C(1454402113000) * 1000);

	/* A timestamp in the future is not believed: gone since now. */
	resp.body = "{\"reason\":\"Unregistered\",\"timestamp\":99999999999999}";
	resp.body_len = strlen(resp.body);
	hd_provider_apns.classify(&ctx, state, &creds, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_GONE && out.gone_since == 0);

	resp = (struct hd_http_response){ .status = 0,
		.transport_error = "Connection timed out\n" };
	hd_provider_apns.classify(&ctx, state, &creds, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_RETRY && out.provider_status == 0 && out.retry_at == 0);
	CHECK(strcmp(out.reason, "no answer from APNs: Connection timed out?") == 0);

	/* A long reason is cut to the outcome's buffer. */
	memset(reason, 'A', sizeof(reason));
	memcpy(reason, "{\"reason\":\"", 11);
	memcpy(reason + sizeof(reason) - 3, "\"}", 3);
	resp = (struct hd_http_response){ .status = 400, .body = reason,
		.body_len = strlen(reason) };
	hd_provider_apns.classify(&ctx, state, &creds, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_REJECTED && strlen(out.reason) == sizeof(out.reason) - 1);
}

static bool
make_key(EVP_PKEY **k, struct hd_signer **s)
{
	BIO *bio = NULL;
	char *pem;
	long len;
	bool ok = false;

	if ((*k = EVP_EC_gen("P-256")) == NULL || (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, *k, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0)
		goto out;
	ok = hd_signer_from_pem(pem, (size_t)len, HD_JWS_ES256, s) == HD_OK;
out:
	BIO_free(bio);
	return ok;
}

int
main(void)
{
	hd_config_defaults(&cfg);
	ctx.cfg = &cfg;
	if (!make_key(&key, &signer) || !make_key(&replacement_key, &replacement_signer) ||
	    hd_provider_apns.init(&ctx, &state) != HD_OK) {
		fprintf(stderr, "set-up failed\n");
		return 1;
	}
	CHECK(strcmp(hd_provider_apns.name, "apns") == 0);
	test_alert_with_every_field();
	test_push_type_priority_and_expiry();
	test_background_payload_carries_only_content_available();
	test_environment_and_configured_urls();
	test_certificate_auth_sends_no_token();
	test_refusals_name_the_reason();
	test_token_is_shared_per_team_and_key();
	test_replaced_key_under_the_same_team_and_key_id_gets_its_own_token_at_once();
	test_classify_every_reason();
	test_classify_unregistered_timestamp_and_transport_error();
	hd_provider_apns.fini(state);
	hd_signer_free(signer);
	hd_signer_free(replacement_signer);
	EVP_PKEY_free(key);
	EVP_PKEY_free(replacement_key);
	UNIT_DONE();
}
