/*
 * APNs, Apple's HTTP/2 provider API: one POST to /3/device/<token> per notification,
 * authenticated by a provider token (ES256 JWT) or a client certificate, with a JSON
 * payload of at most 4096 bytes; a refusal answers a JSON {"reason"}.
 *
 * Provider tokens: Apple counts token changes per team and answers
 * TooManyProviderTokenUpdates when they come too often, so every process and host uses
 * the one current token of a (team, key), shared through the database
 * (hd_share_provider_token). A token belongs to the key material that signed it: the
 * cache and the shared row are keyed by (team, key id, key fingerprint), so when an
 * operator replaces an app's .p8 under the same team and key id, the next build with
 * the new credentials finds no token of the new key and signs one at once; a token of
 * the old key is never sent with, nor handed to, credentials that carry another key.
 * Each process asks the database again when its token is 50 minutes old (Apple
 * refuses tokens older than an hour), or, once APNs refused it, when it is 20 minutes
 * old (Apple's shortest refresh interval, which applies only to this key's own token).
 * Without a database (unit tests) the token stays in the process.
 *
 * Payload keys herald adds beside "aps" for the app's notification service extension:
 * "image" (the media URL to attach; mutable-content is set with it) and "url" (what a
 * tap opens).
 *
 * Memory: the state owns the token cache. A built request owns its URL, headers and
 * body; certificate PEMs are borrowed from the credentials. The state is not locked:
 * one per engine thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hd_metrics.h"
#include "hd_provider.h"
#include "hd_time.h"

#define APNS_URL "https://api.push.apple.com"
#define APNS_SANDBOX_URL "https://api.sandbox.push.apple.com"
#define APNS_PAYLOAD_MAX 4096
#define APNS_COLLAPSE_MAX 64
#define APNS_DEVICE_MIN 64          /* hex digits of a device token */
#define APNS_DEVICE_MAX 200
#define APNS_TOPIC_MAX 255
#define APNS_ID_MAX 64              /* Apple's team and key ids have 10 characters */
#define APNS_FINGERPRINT_LEN 64     /* SHA-256, hex */
#define APNS_JWT_MAX 512            /* with ids of APNS_ID_MAX a token stays under 400 */
#define APNS_REFRESH_S 3000
#define APNS_REFUSED_S 1200
#define APNS_KEY_IMAGE "image"
#define APNS_KEY_URL "url"

static const char SQL_SHARE_TOKEN[] = "CALL hd_share_provider_token(?, ?, ?, ?, ?, ?)";

struct apns_token {
	char *team_id;
	char *key_id;
	char fingerprint[APNS_FINGERPRINT_LEN + 1];  /* of the key that signs jwt */
	char jwt[APNS_JWT_MAX];     /* "" until the first build */
	int64_t issued_at;          /* usec: the token's iat */
	bool refused;               /* APNs refused it: replace it once 20 minutes old */
};

struct apns_state {
	struct apns_token *tokens;
	size_t ntokens;
};

static const char *const apns_levels[] = {
	[HD_INTR_DEFAULT] = NULL,
	[HD_INTR_PASSIVE] = "passive",
	[HD_INTR_ACTIVE] = "active",
	[HD_INTR_TIME_SENSITIVE] = "time-sensitive",
	[HD_INTR_CRITICAL] = "critical",
};

/* Every reason of Apple's "Handling notification responses from APNs". Credential
 * errors retry (the delivery is fine, the app's credentials are not, and an operator
 * can fix them) and ask for a fresh provider token. BadDeviceToken is gone: herald
 * checks the token's form before sending, so APNs is saying the token is not valid in
 * the app's environment, where it will never work. */
static const struct hd_reason_kind apns_reasons[] = {
	{ "BadCollapseId", HD_OUTCOME_REJECTED, false },
	{ "BadDeviceToken", HD_OUTCOME_GONE, false },
	{ "BadExpirationDate", HD_OUTCOME_REJECTED, false },
	{ "BadMessageId", HD_OUTCOME_REJECTED, false },
	{ "BadPriority", HD_OUTCOME_REJECTED, false },
	{ "BadTopic", HD_OUTCOME_REJECTED, false },
	{ "DeviceTokenNotForTopic", HD_OUTCOME_GONE, false },
	{ "DuplicateHeaders", HD_OUTCOME_REJECTED, false },
	{ "IdleTimeout", HD_OUTCOME_RETRY, false },
	{ "InvalidPushType", HD_OUTCOME_REJECTED, false },
	{ "MissingDeviceToken", HD_OUTCOME_REJECTED, false },
	{ "MissingTopic", HD_OUTCOME_REJECTED, false },
	{ "PayloadEmpty", HD_OUTCOME_REJECTED, false },
	{ "TopicDisallowed", HD_OUTCOME_REJECTED, false },
	{ "BadCertificate", HD_OUTCOME_RETRY, true },
	{ "BadCertificateEnvironment", HD_OUTCOME_RETRY, true },
	{ "ExpiredProviderToken", HD_OUTCOME_RETRY, true },
	{ "Forbidden", HD_OUTCOME_RETRY, true },
	{ "InvalidProviderToken", HD_OUTCOME_RETRY, true },
	{ "MissingProviderToken", HD_OUTCOME_RETRY, true },
	{ "UnrelatedKeyIdInToken", HD_OUTCOME_RETRY, true },
	{ "BadEnvironmentKeyInToken", HD_OUTCOME_RETRY, true },
	{ "BadPath", HD_OUTCOME_REJECTED, false },
	{ "MethodNotAllowed", HD_OUTCOME_REJECTED, false },
	{ "ExpiredToken", HD_OUTCOME_GONE, false },
	{ "Unregistered", HD_OUTCOME_GONE, false },
	{ "PayloadTooLarge", HD_OUTCOME_REJECTED, false },
	{ "TooManyProviderTokenUpdates", HD_OUTCOME_RETRY, false },
	{ "TooManyRequests", HD_OUTCOME_RETRY, false },
	{ "InternalServerError", HD_OUTCOME_RETRY, false },
	{ "ServiceUnavailable", HD_OUTCOME_RETRY, false },
	{ "Shutdown", HD_OUTCOME_RETRY, false },
};

/* Non-empty, at most max bytes, printable ASCII: safe in a header or a URL path. */
static bool
apns_text_ok(const char *s, size_t max, bool hex_only)
{
	size_t n;

	if (s == NULL || (n = strnlen(s, max + 1)) == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (hex_only ? !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')) : (c < 0x20 || c >= 0x7f))
			return false;
	}
	return true;
}

static bool
apns_device_ok(const char *token)
{
	size_t n;

	if (!apns_text_ok(token, APNS_DEVICE_MAX, true))
		return false;
	n = strlen(token);
	return n >= APNS_DEVICE_MIN && n % 2 == 0;
}

/* As SQL's SHA2() writes a SHA-256: 64 lowercase hex digits. */
static bool
apns_fingerprint_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == APNS_FINGERPRINT_LEN;
}

/* A JWS compact token: base64url segments and dots only. */
static bool
apns_jwt_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int
apns_aps(const struct hd_notification *n, json_object *aps)
{
	json_object *alert;
	const char *level = NULL;

	if ((unsigned)n->interruption < sizeof(apns_levels) / sizeof(apns_levels[0]))
		level = apns_levels[n->interruption];
	if (n->title || n->subtitle || n->body) {
		if ((alert = json_object_new_object()) == NULL ||
		    hd_json_put(aps, "alert", alert) != 0)
			return -1;
		if (hd_json_put_str(alert, "title", n->title) ||
		    hd_json_put_str(alert, "subtitle", n->subtitle) ||
		    hd_json_put_str(alert, "body", n->body))
			return -1;
	}
	if (hd_json_put_str(aps, "sound", n->sound) ||
	    (n->has_badge && hd_json_put(aps, "badge", json_object_new_int64(n->badge))) ||
	    hd_json_put_str(aps, "thread-id", n->thread_id) ||
	    hd_json_put_str(aps, "category", n->category) ||
	    (n->content_available &&
	    hd_json_put(aps, "content-available", json_object_new_int(1))) ||
	    ((n->mutable_content || n->image) &&
	    hd_json_put(aps, "mutable-content", json_object_new_int(1))) ||
	    hd_json_put_str(aps, "interruption-level", level))
		return -1;
	return 0;
}

/* The payload object for n: parsed from raw_apns, or built from the fields with the
 * custom data merged at the top level. */
static int
apns_payload(const struct hd_notification *n, json_object **out, struct hd_outcome *refused)
{
	json_object *p = NULL, *aps, *data = NULL;
	int rc;

	*out = NULL;
	if (n->raw_apns) {
		if ((rc = hd_json_parse_object(n->raw_apns, strlen(n->raw_apns), out)) == 1)
			return hd_outcome_refuse(refused, "raw APNs payload is not a JSON object");
		return rc;
	}
	rc = -HD_ERR_NOMEM;
	if ((p = json_object_new_object()) == NULL ||
	    (aps = json_object_new_object()) == NULL || hd_json_put(p, "aps", aps) != 0 ||
	    apns_aps(n, aps) != 0)
		goto out;
	if (n->data_json) {
		if ((rc = hd_json_parse_object(n->data_json, strlen(n->data_json), &data)) != 0) {
			if (rc == 1)
				rc = hd_outcome_refuse(refused, "custom data is not a JSON object");
			goto out;
		}
		rc = -HD_ERR_NOMEM;
		json_object_object_foreach(data, key, val) {
			if (strcmp(key, "aps") == 0 ||
			    (n->image && strcmp(key, APNS_KEY_IMAGE) == 0) ||
			    (n->url && strcmp(key, APNS_KEY_URL) == 0)) {
				rc = hd_outcome_refuse(refused, "custom data may not use the key \"%s\""
				    " in an APNs payload", key);
				goto out;
			}
			if (hd_json_put(p, key, json_object_get(val)) != 0)
				goto out;
		}
	}
	if (hd_json_put_str(p, APNS_KEY_IMAGE, n->image) || hd_json_put_str(p, APNS_KEY_URL, n->url))
		goto out;
	*out = p;
	p = NULL;
	rc = HD_BUILD_READY;
out:
	json_object_put(data);
	json_object_put(p);
	return rc;
}

/* Apple: "background" for a content-available push that shows, plays and badges
 * nothing; anything the user notices is "alert". */
static bool
apns_background(json_object *payload)
{
	json_object *aps, *ca;

	if (!json_object_object_get_ex(payload, "aps", &aps) ||
	    !json_object_is_type(aps, json_type_object) ||
	    !json_object_object_get_ex(aps, "content-available", &ca) ||
	    json_object_get_int(ca) != 1)
		return false;
	return !json_object_object_get_ex(aps, "alert", NULL) &&
	    !json_object_object_get_ex(aps, "sound", NULL) &&
	    !json_object_object_get_ex(aps, "badge", NULL);
}

/* Refusals that need no payload: credentials, device token, collapse id. */
static int
apns_check(const struct hd_app_creds *creds, const struct hd_notification *n,
    const struct hd_device_target *d, struct hd_outcome *refused)
{
	if (creds == NULL || creds->apns_auth == HD_APNS_NONE ||
	    (creds->apns_auth == HD_APNS_TOKEN && (creds->apns_key == NULL ||
	    creds->apns_team_id == NULL || creds->apns_key_id == NULL ||
	    creds->apns_key_fingerprint == NULL)) ||
	    (creds->apns_auth == HD_APNS_CERTIFICATE && (creds->apns_cert_pem == NULL ||
	    creds->apns_cert_key_pem == NULL)))
		return hd_outcome_refuse(refused, "no APNs credentials for this app");
	if (creds->apns_auth == HD_APNS_TOKEN &&
	    (!apns_text_ok(creds->apns_team_id, APNS_ID_MAX, false) ||
	    !apns_text_ok(creds->apns_key_id, APNS_ID_MAX, false)))
		return hd_outcome_refuse(refused, "malformed APNs team id or key id");
	if (creds->apns_auth == HD_APNS_TOKEN && !apns_fingerprint_ok(creds->apns_key_fingerprint))
		return hd_outcome_refuse(refused, "malformed APNs key fingerprint");
	if (creds->apns_topic == NULL || creds->apns_topic[0] == '\0')
		return hd_outcome_refuse(refused, "no APNs topic (bundle id) for this app");
	if (!apns_text_ok(creds->apns_topic, APNS_TOPIC_MAX, false))
		return hd_outcome_refuse(refused, "malformed APNs topic");
	if (!apns_device_ok(d->token))
		return hd_outcome_refuse(refused, "malformed APNs device token");
	if (n->collapse_id && strlen(n->collapse_id) > APNS_COLLAPSE_MAX)
		return hd_outcome_refuse(refused, "collapse id is %zu bytes; APNs allows %d",
		    strlen(n->collapse_id), APNS_COLLAPSE_MAX);
	if (n->collapse_id && !apns_text_ok(n->collapse_id, APNS_COLLAPSE_MAX, false))
		return hd_outcome_refuse(refused, "collapse id must be printable ASCII for APNs");
	return HD_BUILD_READY;
}

/* The cached token of creds' key: same team, key id and key fingerprint. */
static struct apns_token *
apns_token_find(struct apns_state *st, const struct hd_app_creds *creds)
{
	for (size_t i = 0; i < st->ntokens; i++)
		if (strcmp(st->tokens[i].team_id, creds->apns_team_id) == 0 &&
		    strcmp(st->tokens[i].key_id, creds->apns_key_id) == 0 &&
		    strcmp(st->tokens[i].fingerprint, creds->apns_key_fingerprint) == 0)
			return &st->tokens[i];
	return NULL;
}

static enum hd_err
apns_token_entry(struct apns_state *st, const struct hd_app_creds *creds,
    struct apns_token **out)
{
	struct apns_token *t, *grown;

	if ((*out = apns_token_find(st, creds)) != NULL)
		return HD_OK;
	if ((grown = realloc(st->tokens, (st->ntokens + 1) * sizeof(*grown))) == NULL)
		return HD_ERR_NOMEM;
	st->tokens = grown;
	t = &grown[st->ntokens];
	memset(t, 0, sizeof(*t));
	snprintf(t->fingerprint, sizeof(t->fingerprint), "%s", creds->apns_key_fingerprint);
	t->team_id = strdup(creds->apns_team_id);
	t->key_id = strdup(creds->apns_key_id);
	if (t->team_id == NULL || t->key_id == NULL) {
		free(t->team_id);
		free(t->key_id);
		return HD_ERR_NOMEM;
	}
	st->ntokens++;
	*out = t;
	return HD_OK;
}

/* Signs a provider token: header {"alg","kid"}, claims {"iss","iat"}. */
static enum hd_err
apns_sign(const struct hd_app_creds *creds, int64_t iat_s, char **jwt)
{
	json_object *h = json_object_new_object(), *c = json_object_new_object();
	enum hd_err err = HD_ERR_NOMEM;

	if (h == NULL || c == NULL || hd_json_put_str(h, "alg", "ES256") ||
	    hd_json_put_str(h, "kid", creds->apns_key_id) ||
	    hd_json_put_str(c, "iss", creds->apns_team_id) ||
	    hd_json_put(c, "iat", json_object_new_int64(iat_s)))
		goto out;
	err = hd_json_sign(creds->apns_key, h, c, jwt);
out:
	json_object_put(h);
	json_object_put(c);
	return err;
}

/* The provider token to send for creds' (team, key id, key): the cached one while
 * young enough, else the one the database says is current for that key after offering
 * a new one. */
static enum hd_err
apns_bearer(struct hd_provider_ctx *ctx, struct apns_state *st,
    const struct hd_app_creds *creds, int64_t now, const char **jwt)
{
	struct apns_token *t;
	char shared[APNS_JWT_MAX];
	int64_t shared_at = 0, min_age, iat = now - now % HD_USEC_PER_SEC;
	struct hd_dbc cols[2] = {
		{ .type = HD_DBT_TEXT, .buf = shared, .cap = sizeof(shared) },
		{ .type = HD_DBT_TIME, .num = &shared_at },
	};
	struct hd_dbp params[6];
	char *candidate = NULL;
	bool found;
	enum hd_err err;

	if ((err = apns_token_entry(st, creds, &t)) != HD_OK)
		return err;
	min_age = t->refused ? APNS_REFUSED_S : APNS_REFRESH_S;
	/* Ages count from whole seconds, as the database compares them. */
	if (t->jwt[0] != '\0' && iat - t->issued_at < min_age * HD_USEC_PER_SEC) {
		*jwt = t->jwt;
		return HD_OK;
	}
	if ((err = apns_sign(creds, iat / HD_USEC_PER_SEC, &candidate)) != HD_OK)
		return err;
	if (strlen(candidate) >= sizeof(shared)) {
		err = HD_ERR_INTERNAL;
		goto out;
	}
	if (ctx->db == NULL) {
		snprintf(shared, sizeof(shared), "%s", candidate);
		shared_at = iat;
	} else {
		params[0] = HD_DBP_STR(creds->apns_team_id);
		params[1] = HD_DBP_STR(creds->apns_key_id);
		params[2] = HD_DBP_STR(creds->apns_key_fingerprint);
		params[3] = HD_DBP_STR(candidate);
		params[4] = HD_DBP_TIME(iat);
		params[5] = HD_DBP_I64(min_age);
		/* Workers on two Galera nodes offering tokens at once conflict at
		 * commit; the one that reruns then finds the other's token stored. */
		err = hd_db_call_txn(ctx->db, SQL_SHARE_TOKEN, params, 6, cols, 2, &found);
		hd_metrics_count(HD_M_TOKEN_REFRESHES,
		    (const char *const[]){ "apns", err == HD_OK ? "ok" : "failed" }, 1);
		if (err != HD_OK)
			goto out;
		if (!found || cols[0].is_null || cols[1].is_null || !apns_jwt_ok(shared)) {
			err = HD_ERR_DB;
			goto out;
		}
	}
	/* A token other than the refused one has not been refused yet. */
	if (strcmp(shared, t->jwt) != 0)
		t->refused = false;
	snprintf(t->jwt, sizeof(t->jwt), "%s", shared);
	t->issued_at = shared_at;
	*jwt = t->jwt;
out:
	free(candidate);
	return err;
}

static enum hd_err
apns_headers(const struct hd_app_creds *creds, const struct hd_notification *n,
    json_object *payload, const char *jwt, int64_t now, struct curl_slist **list)
{
	bool background = apns_background(payload);
	int64_t ttl = hd_notification_ttl_left(n, now);
	enum hd_err err;

	if ((err = hd_header_add(list, "apns-topic: %s", creds->apns_topic)) != HD_OK ||
	    (err = hd_header_add(list, "apns-push-type: %s",
	    background ? "background" : "alert")) != HD_OK ||
	    (err = hd_header_add(list, "apns-priority: %s",
	    background || n->priority <= 3 ? "5" : "10")) != HD_OK ||
	    (ttl >= 0 && (err = hd_header_add(list, "apns-expiration: %" PRId64,
	    ttl > 0 ? n->expires_at / HD_USEC_PER_SEC : 0)) != HD_OK) ||
	    (n->collapse_id &&
	    (err = hd_header_add(list, "apns-collapse-id: %s", n->collapse_id)) != HD_OK) ||
	    (jwt && (err = hd_header_add(list, "authorization: bearer %s", jwt)) != HD_OK))
		return err;
	return hd_header_add(list, "content-type: application/json");
}

/* The base URL of creds' environment. */
static const char *
apns_base(const struct hd_config *cfg, const struct hd_app_creds *creds)
{
	if (creds->apns_sandbox)
		return cfg->apns_sandbox_url ? cfg->apns_sandbox_url : APNS_SANDBOX_URL;
	return cfg->apns_url ? cfg->apns_url : APNS_URL;
}

static enum hd_err
apns_init(struct hd_provider_ctx *ctx, void **state)
{
	(void)ctx;
	if ((*state = calloc(1, sizeof(struct apns_state))) == NULL)
		return HD_ERR_NOMEM;
	return HD_OK;
}

static void
apns_fini(void *state)
{
	struct apns_state *st = state;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->ntokens; i++) {
		free(st->tokens[i].team_id);
		free(st->tokens[i].key_id);
	}
	free(st->tokens);
	free(st);
}

static int
apns_build(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_notification *n, const struct hd_device_target *d,
    struct hd_http_request *req, struct hd_outcome *refused)
{
	json_object *payload = NULL;
	const char *text, *jwt = NULL;
	int64_t now = hd_now_usec();
	size_t len;
	enum hd_err err;
	int rc;

	memset(req, 0, sizeof(*req));
	hd_buf_init(&req->body, APNS_PAYLOAD_MAX);
	if ((rc = apns_check(creds, n, d, refused)) != HD_BUILD_READY ||
	    (rc = apns_payload(n, &payload, refused)) != HD_BUILD_READY)
		goto out;
	text = n->raw_apns ? n->raw_apns : hd_json_text(payload);
	if (text == NULL) {
		rc = -HD_ERR_NOMEM;
		goto out;
	}
	if ((len = strlen(text)) > APNS_PAYLOAD_MAX) {
		rc = hd_outcome_refuse(refused, "payload is %zu bytes; APNs allows %d", len,
		    APNS_PAYLOAD_MAX);
		goto out;
	}
	if ((err = hd_buf_append(&req->body, text, len)) != HD_OK ||
	    (creds->apns_auth == HD_APNS_TOKEN &&
	    (err = apns_bearer(ctx, state, creds, now, &jwt)) != HD_OK) ||
	    (err = apns_headers(creds, n, payload, jwt, now, &req->headers)) != HD_OK ||
	    (err = hd_http_request_url(req, "%s/3/device/%s", apns_base(ctx->cfg, creds),
	    d->token)) != HD_OK) {
		rc = -(int)err;
		goto out;
	}
	if (creds->apns_auth == HD_APNS_CERTIFICATE) {
		req->client_cert_pem = creds->apns_cert_pem;
		req->client_key_pem = creds->apns_cert_key_pem;
	}
out:
	json_object_put(payload);
	if (rc != HD_BUILD_READY)
		hd_http_request_clear(req);
	return rc;
}

/* For reasons Apple has not documented (yet): what the status says. */
static enum hd_outcome_kind
apns_status_kind(long status, bool *auth)
{
	*auth = status == 403;
	if (status == 410)
		return HD_OUTCOME_GONE;
	if (status >= 400 && status < 500 && status != 403 && status != 429)
		return HD_OUTCOME_REJECTED;
	return HD_OUTCOME_RETRY;
}

static void
apns_classify(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_http_response *resp, struct hd_outcome *out)
{
	struct apns_state *st = state;
	const struct hd_reason_kind *r;
	struct apns_token *t;
	json_object *doc = NULL, *v;
	const char *reason = NULL;
	int64_t now = hd_now_usec(), ms;
	bool auth;

	(void)ctx;
	if (!hd_outcome_begin(out, resp, "no answer from APNs"))
		return;
	if (resp->status == 200) {
		out->kind = HD_OUTCOME_DELIVERED;
		return;
	}
	if (resp->body && hd_json_parse_object(resp->body, resp->body_len, &doc) == 0)
		reason = hd_json_get_str(doc, "reason");
	if ((r = hd_reason_find(apns_reasons, sizeof(apns_reasons) / sizeof(apns_reasons[0]),
	    reason)) != NULL) {
		out->kind = r->kind;
		auth = r->auth;
	} else {
		out->kind = apns_status_kind(resp->status, &auth);
	}
	if (reason)
		hd_outcome_reason(out, "", reason);
	else
		snprintf(out->reason, sizeof(out->reason), "APNs answered %ld", resp->status);
	if (out->kind == HD_OUTCOME_RETRY)
		out->retry_at = hd_retry_after(resp, now);
	/* 410's timestamp (milliseconds) says since when the token is invalid: a device
	 * registered again after it stays active. */
	if (out->kind == HD_OUTCOME_GONE && doc &&
	    json_object_object_get_ex(doc, "timestamp", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    (ms = json_object_get_int64(v)) > 0 && ms <= now / 1000)
		out->gone_since = ms * 1000;
	if (auth) {
		out->auth_expired = true;
		/* Only this key's token: credentials with another key have a token of
		 * their own, which this refusal says nothing about. */
		if (st && creds && creds->apns_auth == HD_APNS_TOKEN && creds->apns_team_id &&
		    creds->apns_key_id && creds->apns_key_fingerprint &&
		    (t = apns_token_find(st, creds)) != NULL)
			t->refused = true;
	}
	json_object_put(doc);
}

const struct hd_provider hd_provider_apns = {
	.name = "apns",
	.init = apns_init,
	.fini = apns_fini,
	.build = apns_build,
	.classify = apns_classify,
};
