/*
 * hd_provider_fcm: build() asks the token endpoint for an access token with an RS256
 * service-account assertion (the fake endpoint here verifies its signature with the
 * public key and checks every claim), caches it per app, and turns a notification
 * into an FCM v1 message whose android, apns and webpush blocks are checked field by
 * field; refusals name FCM's limit; a failed token fetch is a local error that is not
 * retried at once; classify() maps every FCM v1 error code. The RSA key is made here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"
#include "provider_test.h"
#include "unit.h"

#define DEVICE "dX1-abc_DEF:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"
#define EMAIL "push@proj-1.iam.gserviceaccount.com"
#define GRANT "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="

/* The fake token endpoint: what it expects, what it answers, what it saw. */
struct fake {
	const char *url;          /* expected token URL */
	const char *email;        /* expected iss */
	enum hd_err err;          /* returned by post */
	long status;
	const char *answer;
	int calls;
};

static EVP_PKEY *key;
static struct hd_signer *signer;
static struct hd_config cfg;
static struct hd_provider_ctx ctx;
static struct fake fake;
static void *state;

static struct hd_app_creds
creds_for(uint64_t app_id)
{
	struct hd_app_creds c = { .app_id = app_id, .fcm_project_id = "proj-1",
		.fcm_client_email = EMAIL, .fcm_key = signer };
	return c;
}

/* The string at path, or "(absent)", so a comparison never gets NULL. */
static const char *
jstr(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
	    "(absent)";
}

static size_t
jlen(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);
	return v && json_object_is_type(v, json_type_object) ? (size_t)json_object_object_length(v) :
	    0;
}

/* Checks the assertion as Google's token endpoint would: RS256 signature by the
 * service account's key, and the claims RFC 7523 and Google require. */
static void
check_assertion(const char *jwt, size_t len, const char *url)
{
	const char *d1 = memchr(jwt, '.', len), *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 - jwt) - 1) : NULL;
	unsigned char sig[512];
	long siglen;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	json_object *h = NULL, *c = NULL;
	int64_t now = hd_now_usec() / HD_USEC_PER_SEC;

	CHECK(d1 && d2);
	if (!d1 || !d2 || !md)
		goto out;
	siglen = hd_base64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), sig, sizeof(sig));
	CHECK(siglen == 256);
	CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, (size_t)siglen, (const unsigned char *)jwt,
	    (size_t)(d2 - jwt)) == 1);
	h = decode_segment(jwt, (size_t)(d1 - jwt));
	c = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1));
	CHECK(strcmp(jstr(h, "alg"), "RS256") == 0 && strcmp(jstr(h, "typ"), "JWT") == 0);
	CHECK(h && json_object_object_length(h) == 2);
	CHECK(strcmp(jstr(c, "iss"), fake.email) == 0);
	CHECK(strcmp(jstr(c, "scope"),
	    "https://www.googleapis.com/auth/firebase.messaging") == 0);
	CHECK(strcmp(jstr(c, "aud"), url) == 0);
	CHECK(jint(c, "iat") >= now - 5 && jint(c, "iat") <= now);
	CHECK(jint(c, "exp") == jint(c, "iat") + 3600);
	CHECK(c && json_object_object_length(c) == 5);
out:
	json_object_put(h);
	json_object_put(c);
	EVP_MD_CTX_free(md);
}

static enum hd_err
fake_post(struct hd_provider_ctx *pctx, const char *url, const char *ctype,
    const char *body, size_t body_len, long *status, struct hd_buf *resp)
{
	struct fake *f = pctx->post_arg;

	f->calls++;
	CHECK_MSG(strcmp(url, f->url) == 0, "token url %s", url);
	CHECK(strcmp(ctype, "application/x-www-form-urlencoded") == 0);
	CHECK(body_len > strlen(GRANT) && strncmp(body, GRANT, strlen(GRANT)) == 0);
	if (body_len > strlen(GRANT))
		check_assertion(body + strlen(GRANT), body_len - strlen(GRANT), url);
	*status = f->status;
	if (f->answer && hd_buf_puts(resp, f->answer) != HD_OK)
		return HD_ERR_NOMEM;
	return f->err;
}

static void
fake_answers(const char *access)
{
	static char answer[256];

	snprintf(answer, sizeof(answer), "{\"access_token\":\"%s\",\"expires_in\":3599,"
	    "\"token_type\":\"Bearer\"}", access);
	fake = (struct fake){ .url = "https://oauth2.googleapis.com/token", .email = EMAIL,
		.status = 200, .answer = answer };
}

static int
build(const struct hd_app_creds *creds, const struct hd_notification *n, const char *token,
    struct hd_http_request *req, struct hd_outcome *refused, json_object **body)
{
	struct hd_device_target d = { .platform = HD_PLATFORM_ANDROID,
		.token = (char *)(uintptr_t)token };
	int rc;

	memset(req, 0, sizeof(*req));
	memset(refused, 0, sizeof(*refused));
	rc = hd_provider_fcm.build(&ctx, state, creds, n, &d, req, refused);
	if (body)
		*body = rc == HD_BUILD_READY ? json_tokener_parse(req->body.data) : NULL;
	return rc;
}

static void
test_message_with_every_field(void)
{
	struct hd_app_creds creds = creds_for(1);
	struct hd_action actions[] = { { "yes", "Yes" }, { "no", "No" } };
	int64_t expires = hd_now_usec() / HD_USEC_PER_SEC + 3600 + 2;
	struct hd_notification n = { .title = "Hi", .subtitle = "sub", .body = "Body",
		.image = "https://img.example/a.png", .icon = "ic_bell",
		.url = "https://example.com/open", .actions = actions, .nactions = 2,
		.category = "OPEN", .thread_id = "thr", .collapse_id = "news",
		.sound = "ding", .has_badge = true, .badge = 4, .priority = 9,
		.expires_at = expires * HD_USEC_PER_SEC, .interruption = HD_INTR_ACTIVE,
		.data_json = "{\"s\":\"v\",\"n\":1,\"o\":{\"a\":[1,2]},\"b\":true,\"z\":null,"
		"\"u\":\"a/b\"}" };
	struct hd_http_request req;
	struct hd_outcome refused;
	json_object *body, *m;
	char want[32];

	fake_answers("ya29.token-1");
	CHECK(build(&creds, &n, DEVICE, &req, &refused, &body) == HD_BUILD_READY);
	CHECK(fake.calls == 1);
	CHECK(strcmp(req.url, "https://fcm.googleapis.com/v1/projects/proj-1/messages:send") == 0);
	CHECK(strcmp(header_in(req.headers, "authorization", NULL), "Bearer ya29.token-1") == 0);
	CHECK(strcmp(header_in(req.headers, "content-type", NULL), "application/json") == 0);
	CHECK(!req.device_url && req.client_cert_pem == NULL);
	CHECK(json_object_object_length(body) == 1);
	m = jpath(body, "message");
	CHECK(strcmp(jstr(m, "token"), DEVICE) == 0);
	CHECK(strcmp(jstr(m, "notification/title"), "Hi") == 0);
	CHECK(strcmp(jstr(m, "notification/body"), "Body") == 0);
	CHECK(strcmp(jstr(m, "notification/image"), "https://img.example/a.png") == 0);
	CHECK(jlen(m, "notification") == 3);

	CHECK(strcmp(jstr(m, "data/s"), "v") == 0);
	CHECK(strcmp(jstr(m, "data/n"), "1") == 0);
	CHECK(strcmp(jstr(m, "data/o"), "{\"a\":[1,2]}") == 0);
	CHECK(strcmp(jstr(m, "data/b"), "true") == 0);
	CHECK(strcmp(jstr(m, "data/z"), "null") == 0);
	CHECK(strcmp(jstr(m, "data/u"), "a/b") == 0);
	CHECK(jlen(m, "data") == 6);

	/* The TTL is the whole seconds left: 3601 or 3602, by where the clock's second is. */
	CHECK(strcmp(jstr(m, "android/priority"), "HIGH") == 0);
	CHECK_MSG(strcmp(jstr(m, "android/ttl"), "3601s") == 0 ||
	    strcmp(jstr(m, "android/ttl"), "3602s") == 0, "ttl %s", jstr(m, "android/ttl"));
	CHECK(strcmp(jstr(m, "android/collapse_key"), "news") == 0);
	CHECK(strcmp(jstr(m, "android/notification/sound"), "ding") == 0);
	CHECK(strcmp(jstr(m, "android/notification/tag"), "thr") == 0);
	CHECK(strcmp(jstr(m, "android/notification/click_action"), "OPEN") == 0);
	CHECK(strcmp(jstr(m, "android/notification/icon"), "ic_bell") == 0);
	CHECK(jlen(m, "android") == 4 && jlen(m, "android/notification") == 4);

	snprintf(want, sizeof(want), "%lld", (long long)expires);
	CHECK(strcmp(jstr(m, "apns/headers/apns-priority"), "10") == 0);
	CHECK(strcmp(jstr(m, "apns/headers/apns-expiration"), want) == 0);
	CHECK(strcmp(jstr(m, "apns/headers/apns-collapse-id"), "news") == 0);
	CHECK(jlen(m, "apns/headers") == 3);
	CHECK(strcmp(jstr(m, "apns/payload/aps/sound"), "ding") == 0);
	CHECK(jint(m, "apns/payload/aps/badge") == 4);
	CHECK(strcmp(jstr(m, "apns/payload/aps/category"), "OPEN") == 0);
	CHECK(strcmp(jstr(m, "apns/payload/aps/thread-id"), "thr") == 0);
	CHECK(jint(m, "apns/payload/aps/mutable-content") == 1);
	CHECK(strcmp(jstr(m, "apns/payload/aps/interruption-level"), "active") == 0);
	CHECK(jlen(m, "apns/payload/aps") == 6);

	CHECK(strcmp(jstr(m, "webpush/headers/TTL"), "3601") == 0 ||
	    strcmp(jstr(m, "webpush/headers/TTL"), "3602") == 0);
	CHECK(strcmp(jstr(m, "webpush/headers/Urgency"), "high") == 0);
	CHECK(strcmp(jstr(m, "webpush/headers/Topic"), "news") == 0);
	CHECK(strcmp(jstr(m, "webpush/notification/icon"), "ic_bell") == 0);
	CHECK(json_object_array_length(jpath(m, "webpush/notification/actions")) == 2);
	CHECK(strcmp(json_object_get_string(jpath(json_object_array_get_idx(
	    jpath(m, "webpush/notification/actions"), 1), "action")), "no") == 0);
	CHECK(strcmp(json_object_get_string(jpath(json_object_array_get_idx(
	    jpath(m, "webpush/notification/actions"), 1), "title")), "No") == 0);
	CHECK(strcmp(jstr(m, "webpush/fcm_options/link"), "https://example.com/open") == 0);
	CHECK(json_object_object_length(m) == 6);
	CHECK(strstr(req.body.data, "\\/") == NULL);
	json_object_put(body);
	hd_http_request_clear(&req);

	/* The token is cached for the app: no second request to the endpoint. */
	CHECK(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(fake.calls == 1);
	CHECK(strcmp(header_in(req.headers, "authorization", NULL), "Bearer ya29.token-1") == 0);
	hd_http_request_clear(&req);
}

static void
test_blocks_only_when_they_carry_something(void)
{
	struct hd_app_creds creds = creds_for(1);
	struct hd_notification plain = { .body = "b", .priority = 5 };
	struct hd_notification quiet = { .content_available = true, .priority = 2,
		.collapse_id = "not a topic!", .url = "http://example.com/",
		.expires_at = (hd_now_usec() / HD_USEC_PER_SEC + 60 * 86400) * HD_USEC_PER_SEC };
	struct hd_http_request req;
	struct hd_outcome refused;
	json_object *body, *m;

	CHECK(build(&creds, &plain, DEVICE, &req, &refused, &body) == HD_BUILD_READY);
	m = jpath(body, "message");
	CHECK(json_object_object_length(m) == 5);
	CHECK(jlen(m, "notification") == 1 && strcmp(jstr(m, "notification/body"), "b") == 0);
	CHECK(jpath(m, "data") == NULL);
	CHECK(jlen(m, "android") == 1 && strcmp(jstr(m, "android/priority"), "NORMAL") == 0);
	CHECK(jlen(m, "apns") == 1 && jlen(m, "apns/headers") == 1);
	CHECK(strcmp(jstr(m, "apns/headers/apns-priority"), "10") == 0);
	CHECK(jlen(m, "webpush") == 1 && jlen(m, "webpush/headers") == 1);
	CHECK(strcmp(jstr(m, "webpush/headers/Urgency"), "normal") == 0);
	json_object_put(body);
	hd_http_request_clear(&req);

	/* Background: priority 5 and push type background for Apple, nothing shown; the
	 * TTL is capped at FCM's four weeks; no Topic that RFC 8030 cannot carry; no link
	 * that is not HTTPS. */
	CHECK(build(&creds, &quiet, DEVICE, &req, &refused, &body) == HD_BUILD_READY);
	m = jpath(body, "message");
	CHECK(jpath(m, "notification") == NULL);
	CHECK(strcmp(jstr(m, "android/priority"), "NORMAL") == 0);
	CHECK(strcmp(jstr(m, "android/ttl"), "2419200s") == 0);
	CHECK(strcmp(jstr(m, "android/collapse_key"), "not a topic!") == 0);
	CHECK(strcmp(jstr(m, "apns/headers/apns-priority"), "5") == 0);
	CHECK(strcmp(jstr(m, "apns/headers/apns-push-type"), "background") == 0);
	CHECK(jint(m, "apns/payload/aps/content-available") == 1);
	CHECK(jlen(m, "apns/payload/aps") == 1);
	CHECK(strcmp(jstr(m, "webpush/headers/Urgency"), "low") == 0);
	CHECK(strcmp(jstr(m, "webpush/headers/TTL"), "2419200") == 0);
	CHECK(jpath(m, "webpush/headers/Topic") == NULL);
	CHECK(jpath(m, "webpush/fcm_options") == NULL);
	json_object_put(body);
	hd_http_request_clear(&req);
}

static void
test_raw_message_gets_the_device_token(void)
{
	struct hd_app_creds creds = creds_for(1);
	struct hd_notification n = { .raw_fcm =
		"{\"token\":\"someone-else\",\"data\":{\"a\":\"b\"},\"android\":{\"priority\":\"HIGH\"}}" };
	struct hd_http_request req;
	struct hd_outcome refused;
	json_object *body;

	CHECK(build(&creds, &n, DEVICE, &req, &refused, &body) == HD_BUILD_READY);
	CHECK(strcmp(jstr(body, "message/token"), DEVICE) == 0);
	CHECK(strcmp(jstr(body, "message/data/a"), "b") == 0);
	CHECK(strcmp(jstr(body, "message/android/priority"), "HIGH") == 0);
	CHECK(jlen(body, "message") == 3);
	json_object_put(body);
	hd_http_request_clear(&req);
}

static void
test_refusals_name_the_reason(void)
{
	static char big[5000], collapse65[66], longtoken[4098];
	static const struct hd_notification plain = { .body = "b", .priority = 5 };
	struct hd_app_creds good = creds_for(1), mailless = good, keyless = good;
	struct hd_app_creds projectless = good, badproject = good;
	struct {
		int line;
		const struct hd_app_creds *creds;
		struct hd_notification n;
		const char *token, *reason;
	} cases[] = {
		{ __LINE__, NULL, plain, DEVICE, "no FCM credentials for this app" },
		{ __LINE__, &mailless, plain, DEVICE, "no FCM credentials for this app" },
		{ __LINE__, &keyless, plain, DEVICE, "no FCM credentials for this app" },
		{ __LINE__, &projectless, plain, DEVICE, "no FCM credentials for this app" },
		{ __LINE__, &badproject, plain, DEVICE, "malformed FCM project id" },
		{ __LINE__, &good, plain, NULL, "malformed FCM registration token" },
		{ __LINE__, &good, plain, "", "malformed FCM registration token" },
		{ __LINE__, &good, plain, "abc def", "malformed FCM registration token" },
		{ __LINE__, &good, plain, "abc\"def", "malformed FCM registration token" },
		{ __LINE__, &good, plain, longtoken, "malformed FCM registration token" },
		{ __LINE__, &good, { .body = "b", .collapse_id = collapse65 }, DEVICE,
		    "collapse id is 65 bytes; FCM's apns-collapse-id allows 64" },
		{ __LINE__, &good, { .body = big }, DEVICE, "message is 5199 bytes; FCM allows 4096" },
		{ __LINE__, &good, { .data_json = "[1]" }, DEVICE, "custom data is not a JSON object" },
		{ __LINE__, &good, { .data_json = "{\"from\":\"x\"}" }, DEVICE,
		    "custom data may not use a key FCM reserves (from, message_type, google..., gcm...)" },
		{ __LINE__, &good, { .data_json = "{\"message_type\":\"x\"}" }, DEVICE,
		    "custom data may not use a key FCM reserves (from, message_type, google..., gcm...)" },
		{ __LINE__, &good, { .data_json = "{\"ok\":1,\"google.c.a\":\"x\"}" }, DEVICE,
		    "custom data may not use a key FCM reserves (from, message_type, google..., gcm...)" },
		{ __LINE__, &good, { .data_json = "{\"gcm.n.e\":\"1\"}" }, DEVICE,
		    "custom data may not use a key FCM reserves (from, message_type, google..., gcm...)" },
		{ __LINE__, &good, { .raw_fcm = "\"text\"" }, DEVICE,
		    "raw FCM message is not a JSON object" },
		{ __LINE__, &good, { .raw_fcm = "{\"topic\":\"news\"}" }, DEVICE,
		    "raw FCM message may not name a topic or condition: herald sends to the device's token" },
		{ __LINE__, &good, { .raw_fcm = "{\"condition\":\"'a' in topics\"}" }, DEVICE,
		    "raw FCM message may not name a topic or condition: herald sends to the device's token" },
	};
	int calls;

	memset(big, 'x', sizeof(big) - 1);
	memset(collapse65, 'c', sizeof(collapse65) - 1);
	memset(longtoken, 'a', sizeof(longtoken) - 1);
	mailless.fcm_client_email = NULL;
	keyless.fcm_key = NULL;
	projectless.fcm_project_id = NULL;
	badproject.fcm_project_id = "proj/../other";
	fake_answers("ya29.unused");
	calls = fake.calls;
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
	CHECK(fake.calls == calls);

	/* The limit itself passes: a message of exactly 4096 bytes, token included. */
	{
		static char raw[4200];
		struct hd_notification n = { .raw_fcm = raw };
		struct hd_http_request req;
		struct hd_outcome refused;
		size_t wrapper = strlen("{\"message\":}");

		snprintf(raw, sizeof(raw), "{\"data\":{\"k\":\"%0*d\"}}",
		    (int)(4096 - strlen(",\"token\":\"" DEVICE "\"") - strlen("{\"data\":{\"k\":\"\"}}")), 0);
		CHECK(build(&good, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
		CHECK(req.body.len - wrapper == 4096);
		hd_http_request_clear(&req);
		memmove(raw + 15, raw + 14, strlen(raw + 14) + 1);
		CHECK(build(&good, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_REFUSED);
		CHECK(strcmp(refused.reason, "message is 4097 bytes; FCM allows 4096") == 0);
	}
}

static void
test_token_url_choice(void)
{
	struct hd_app_creds from_account = creds_for(2), configured = creds_for(3);
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_request req;
	struct hd_outcome refused;

	/* A service account's token_uri is the tenant's word: the assertion goes to
	 * Google's endpoint anyway, never to an address the tenant chose. */
	fake_answers("ya29.token-2");
	from_account.fcm_token_uri = "https://accounts.example/token";
	fake.url = "https://oauth2.googleapis.com/token";
	CHECK(build(&from_account, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(fake.calls == 1);
	hd_http_request_clear(&req);

	configured.fcm_token_uri = "https://accounts.example/token";
	cfg.fcm_token_url = "http://127.0.0.1:9100/token";
	cfg.fcm_url = "http://127.0.0.1:9101";
	fake.url = cfg.fcm_token_url;
	CHECK(build(&configured, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(fake.calls == 2);
	CHECK(strcmp(req.url, "http://127.0.0.1:9101/v1/projects/proj-1/messages:send") == 0);
	hd_http_request_clear(&req);
	cfg.fcm_token_url = cfg.fcm_url = NULL;
}

static void
test_token_fetch_failures(void)
{
	static const struct {
		int line;
		enum hd_err err;
		long status;
		const char *answer;
	} cases[] = {
		{ __LINE__, HD_OK, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"x\"}" },
		{ __LINE__, HD_OK, 500, "oops" },
		{ __LINE__, HD_ERR_IO, 0, NULL },
		{ __LINE__, HD_OK, 200, "not json" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":\"a b\",\"expires_in\":3599}" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":\"a\\nb\",\"expires_in\":3599}" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":\"\",\"expires_in\":3599}" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":\"abc\"}" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":\"abc\",\"expires_in\":0}" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":\"abc\",\"expires_in\":\"3599\"}" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":\"abc\",\"expires_in\":999999999}" },
		{ __LINE__, HD_OK, 200, "{\"access_token\":7,\"expires_in\":3599}" },
		{ __LINE__, HD_OK, 200, NULL },    /* a 2049-byte token */
	};
	static char toolong[2200];
	struct hd_notification n = { .body = "b", .priority = 5 };

	snprintf(toolong, sizeof(toolong), "{\"access_token\":\"%02049d\",\"expires_in\":3599}", 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_app_creds creds = creds_for(100 + i);
		struct hd_http_request req;
		struct hd_outcome refused;
		int rc;

		fake_answers("unused");
		fake.err = cases[i].err;
		fake.status = cases[i].status;
		fake.answer = cases[i].answer ? cases[i].answer : toolong;
		rc = build(&creds, &n, DEVICE, &req, &refused, NULL);
		CHECK_MSG(rc == -HD_ERR_IO, "line %d: %d", cases[i].line, rc);
		CHECK_MSG(fake.calls == 1, "line %d", cases[i].line);
		CHECK_MSG(req.url == NULL && req.headers == NULL && req.body.data == NULL,
		    "line %d: request left set", cases[i].line);
		/* Right after a failure the app's builds fail without asking again. */
		rc = build(&creds, &n, DEVICE, &req, &refused, NULL);
		CHECK_MSG(rc == -HD_ERR_IO && fake.calls == 1, "line %d", cases[i].line);
	}
}

static void
test_unauthenticated_drops_the_token(void)
{
	struct hd_app_creds creds = creds_for(4);
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_response resp = { .status = 401, .body =
		"{\"error\":{\"code\":401,\"message\":\"Request had invalid authentication"
		" credentials.\",\"status\":\"UNAUTHENTICATED\"}}" };
	struct hd_http_request req;
	struct hd_outcome refused, out;

	fake_answers("ya29.first");
	CHECK(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	hd_http_request_clear(&req);
	resp.body_len = strlen(resp.body);
	hd_provider_fcm.classify(&ctx, state, &creds, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_RETRY && out.auth_expired);
	fake_answers("ya29.second");
	CHECK(build(&creds, &n, DEVICE, &req, &refused, NULL) == HD_BUILD_READY);
	CHECK(fake.calls == 1);
	CHECK(strcmp(header_in(req.headers, "authorization", NULL), "Bearer ya29.second") == 0);
	hd_http_request_clear(&req);
}

#define FCM_ERR(code, msg, status, detail) \
	"{\"error\":{\"code\":" #code ",\"message\":\"" msg "\",\"status\":\"" status "\"" \
	",\"details\":[{\"@type\":\"type.googleapis.com/google.firebase.fcm.v1.FcmError\"," \
	"\"errorCode\":\"" detail "\"}]}}"

static void
test_classify_every_error_code(void)
{
	static const struct classify_case cases[] = {
		{ __LINE__, 200, "{\"name\":\"projects/p/messages/1\"}", NULL, HD_OUTCOME_DELIVERED,
		    false, "", 0 },
		{ __LINE__, 400, FCM_ERR(400, "The registration token is not a valid FCM registration token",
		    "INVALID_ARGUMENT", "INVALID_ARGUMENT"), NULL, HD_OUTCOME_REJECTED, false,
		    "INVALID_ARGUMENT: The registration token is not a valid FCM registration token", 0 },
		{ __LINE__, 400, "{\"error\":{\"code\":400,\"message\":\"Invalid value at 'message.data[0].value'\","
		    "\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":"
		    "\"type.googleapis.com/google.rpc.BadRequest\"}]}}", NULL, HD_OUTCOME_REJECTED,
		    false, "INVALID_ARGUMENT: Invalid value at 'message.data[0].value'", 0 },
		{ __LINE__, 404, FCM_ERR(404, "Requested entity was not found.", "NOT_FOUND",
		    "UNREGISTERED"), NULL, HD_OUTCOME_GONE, false,
		    "UNREGISTERED: Requested entity was not found.", 0 },
		{ __LINE__, 403, FCM_ERR(403, "SenderId mismatch", "PERMISSION_DENIED",
		    "SENDER_ID_MISMATCH"), NULL, HD_OUTCOME_GONE, false,
		    "SENDER_ID_MISMATCH: SenderId mismatch", 0 },
		{ __LINE__, 429, FCM_ERR(429, "Quota exceeded", "RESOURCE_EXHAUSTED",
		    "QUOTA_EXCEEDED"), "Retry-After: 60\r\n", HD_OUTCOME_RETRY, false,
		    "QUOTA_EXCEEDED: Quota exceeded", 60 },
		{ __LINE__, 429, FCM_ERR(429, "Quota exceeded", "RESOURCE_EXHAUSTED",
		    "QUOTA_EXCEEDED"), NULL, HD_OUTCOME_RETRY, false,
		    "QUOTA_EXCEEDED: Quota exceeded", 0 },
		{ __LINE__, 503, FCM_ERR(503, "The service is currently unavailable.", "UNAVAILABLE",
		    "UNAVAILABLE"), "Retry-After: 10\r\n", HD_OUTCOME_RETRY, false,
		    "UNAVAILABLE: The service is currently unavailable.", 10 },
		{ __LINE__, 500, FCM_ERR(500, "Internal error encountered.", "INTERNAL", "INTERNAL"),
		    NULL, HD_OUTCOME_RETRY, false, "INTERNAL: Internal error encountered.", 0 },
		{ __LINE__, 401, FCM_ERR(401, "Auth error from APNS or Web Push Service",
		    "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"), NULL, HD_OUTCOME_RETRY, false,
		    "THIRD_PARTY_AUTH_ERROR: Auth error from APNS or Web Push Service", 0 },
		{ __LINE__, 401, "{\"error\":{\"code\":401,\"message\":\"Request had invalid"
		    " authentication credentials.\",\"status\":\"UNAUTHENTICATED\"}}", NULL,
		    HD_OUTCOME_RETRY, true,
		    "UNAUTHENTICATED: Request had invalid authentication credentials.", 0 },
		{ __LINE__, 404, "{\"error\":{\"code\":404,\"message\":\"Requested entity was not"
		    " found.\",\"status\":\"NOT_FOUND\"}}", NULL, HD_OUTCOME_REJECTED, false,
		    "NOT_FOUND: Requested entity was not found.", 0 },
		{ __LINE__, 403, "{\"error\":{\"code\":403,\"message\":\"Permission denied\","
		    "\"status\":\"PERMISSION_DENIED\"}}", NULL, HD_OUTCOME_RETRY, false,
		    "PERMISSION_DENIED: Permission denied", 0 },
		{ __LINE__, 400, FCM_ERR(400, "odd", "INVALID_ARGUMENT", "UNSPECIFIED_ERROR"), NULL,
		    HD_OUTCOME_REJECTED, false, "INVALID_ARGUMENT: odd", 0 },
		/* No usable body: the status decides. */
		{ __LINE__, 502, "<html>Bad Gateway</html>", "Retry-After: 7\r\n", HD_OUTCOME_RETRY,
		    false, "FCM answered 502", 7 },
		{ __LINE__, 401, "", NULL, HD_OUTCOME_RETRY, true, "FCM answered 401", 0 },
		{ __LINE__, 404, "{}", NULL, HD_OUTCOME_REJECTED, false, "FCM answered 404", 0 },
		{ __LINE__, 413, "{\"error\":\"big\"}", NULL, HD_OUTCOME_REJECTED, false,
		    "FCM answered 413", 0 },
		{ __LINE__, 400, "{\"error\":{\"status\":\"NEW\\u0007CODE\"}}", NULL,
		    HD_OUTCOME_REJECTED, false, "NEW?CODE", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_app_creds creds = creds_for(1);

		check_classify(&hd_provider_fcm, &ctx, state, &creds, &cases[i]);
	}
}

static void
test_classify_transport_error(void)
{
	struct hd_app_creds creds = creds_for(1);
	struct hd_http_response resp = { .status = 0, .transport_error = "Couldn't connect" };
	struct hd_outcome out;

	hd_provider_fcm.classify(&ctx, state, &creds, &resp, &out);
	CHECK(out.kind == HD_OUTCOME_RETRY && out.retry_at == 0 && !out.auth_expired);
	CHECK(strcmp(out.reason, "no answer from FCM: Couldn't connect") == 0);
}

static bool
make_key(void)
{
	BIO *bio = NULL;
	char *pem;
	long len;
	bool ok = false;

	if ((key = EVP_RSA_gen(2048)) == NULL || (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0)
		goto out;
	ok = hd_signer_from_pem(pem, (size_t)len, HD_JWS_RS256, &signer) == HD_OK;
out:
	BIO_free(bio);
	return ok;
}

int
main(void)
{
	hd_log_setup("test_fcm", HD_LOG_ERROR);
	hd_config_defaults(&cfg);
	ctx.cfg = &cfg;
	ctx.post = fake_post;
	ctx.post_arg = &fake;
	if (!make_key() || hd_provider_fcm.init(&ctx, &state) != HD_OK) {
		fprintf(stderr, "set-up failed\n");
		return 1;
	}
	CHECK(strcmp(hd_provider_fcm.name, "fcm") == 0);
	test_message_with_every_field();
	test_blocks_only_when_they_carry_something();
	test_raw_message_gets_the_device_token();
	test_refusals_name_the_reason();
	test_token_url_choice();
	test_token_fetch_failures();
	test_unauthenticated_drops_the_token();
	test_classify_every_error_code();
	test_classify_transport_error();
	hd_provider_fcm.fini(state);
	hd_signer_free(signer);
	EVP_PKEY_free(key);
	UNIT_DONE();
}
