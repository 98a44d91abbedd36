/*
 * FCM HTTP v1: one POST to /v1/projects/<project>/messages:send per notification, with
 * an OAuth2 access token for the app's service account. The token comes from the
 * service account's token endpoint (RFC 7523 JWT bearer grant: an RS256 assertion) and
 * is cached per app until five minutes before it expires. One message carries android,
 * apns and webpush blocks, so it suits whatever platform the registration token
 * belongs to.
 *
 * Memory: the state owns the token cache. A built request owns its URL, headers and
 * body. The state is not locked: one per engine thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hd_oauth.h"
#include "hd_provider.h"
#include "hd_time.h"

#define FCM_URL "https://fcm.googleapis.com"
#define FCM_TOKEN_URL "https://oauth2.googleapis.com/token"
#define FCM_SCOPE "https://www.googleapis.com/auth/firebase.messaging"
#define FCM_GRANT "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" \
	"&assertion="
#define FCM_MESSAGE_MAX 4096
#define FCM_WRAPPER "{\"message\":}"    /* the body around the message object */
#define FCM_DEVICE_MAX 4096             /* registration token */
#define FCM_PROJECT_MAX 128
#define FCM_ASSERTION_S 3600            /* Google's longest assertion lifetime */
#define FCM_TTL_MAX 2419200             /* four weeks: FCM's longest TTL */
#define FCM_COLLAPSE_MAX 64             /* apns-collapse-id */
#define FCM_TOPIC_MAX 32                /* Web Push Topic (RFC 8030 §5.4) */
#define FCM_FCMERROR "type.googleapis.com/google.firebase.fcm.v1.FcmError"

enum fcm_level { FCM_LOW, FCM_NORMAL, FCM_HIGH };

/* Google's token endpoint always gives expires_in, a number of at most a day. After
 * a failed fetch the app's builds fail at once for ten seconds, so a broken service
 * account does not cost a token request per message. */
static const struct hd_oauth_policy fcm_oauth = {
	.provider = "fcm",
	.max_life_s = 86400,
	.hold_s = 10,
};

/* Google's FCM v1 error codes (the FcmError detail's errorCode, else error.status).
 * SENDER_ID_MISMATCH is gone: the token belongs to another sender and never works for
 * this app. INVALID_ARGUMENT is rejected even when it is about the token: only the
 * message text tells a bad token from a bad field, and that text is no contract.
 * THIRD_PARTY_AUTH_ERROR (the APNs or Web Push credentials kept in Firebase) and
 * PERMISSION_DENIED (the service account's role) retry: the delivery is fine, the
 * app's configuration is not, and an operator can fix it. UNAUTHENTICATED asks for a
 * new access token. NOT_FOUND without UNREGISTERED is a wrong project: rejected. */
static const struct hd_reason_kind fcm_codes[] = {
	{ "UNREGISTERED", HD_OUTCOME_GONE, false },
	{ "SENDER_ID_MISMATCH", HD_OUTCOME_GONE, false },
	{ "INVALID_ARGUMENT", HD_OUTCOME_REJECTED, false },
	{ "QUOTA_EXCEEDED", HD_OUTCOME_RETRY, false },
	{ "RESOURCE_EXHAUSTED", HD_OUTCOME_RETRY, false },
	{ "UNAVAILABLE", HD_OUTCOME_RETRY, false },
	{ "INTERNAL", HD_OUTCOME_RETRY, false },
	{ "THIRD_PARTY_AUTH_ERROR", HD_OUTCOME_RETRY, false },
	{ "PERMISSION_DENIED", HD_OUTCOME_RETRY, false },
	{ "UNAUTHENTICATED", HD_OUTCOME_RETRY, true },
	{ "NOT_FOUND", HD_OUTCOME_REJECTED, false },
};

/* 1..max characters, each a letter, a digit or one of extra. */
static bool
fcm_word_ok(const char *s, size_t max, const char *extra)
{
	size_t n;

	if (s == NULL || (n = strnlen(s, max + 1)) == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i]) != NULL))
			return false;
	return true;
}

/* Adds *child under key when it carries something; consumes it either way, leaving
 * *child NULL, so a chain of these needs one cleanup. */
static enum hd_err
fcm_put_block(json_object *o, const char *key, json_object **child)
{
	json_object *c = *child;

	*child = NULL;
	if (c && json_object_object_length(c) == 0) {
		json_object_put(c);
		return HD_OK;
	}
	return hd_json_put(o, key, c);
}

static enum fcm_level
fcm_level(const struct hd_notification *n)
{
	return n->priority >= 8 ? FCM_HIGH : n->priority <= 3 ? FCM_LOW : FCM_NORMAL;
}

/* Apple's "background" push: content-available, and nothing the user notices. */
static bool
fcm_background(const struct hd_notification *n)
{
	return n->content_available && !n->title && !n->subtitle && !n->body && !n->sound &&
	    !n->has_badge && !n->image;
}

/* FCM refuses data keys it uses itself: "from", "message_type", and any key starting
 * with "google" or "gcm". */
static bool
fcm_key_reserved(const char *key)
{
	return strcmp(key, "from") == 0 || strcmp(key, "message_type") == 0 ||
	    strncmp(key, "google", 6) == 0 || strncmp(key, "gcm", 3) == 0;
}

/* message.data: FCM takes strings only, so other JSON values go as their JSON text. */
static int
fcm_data(const struct hd_notification *n, json_object *msg, struct hd_outcome *refused)
{
	json_object *src = NULL, *data = NULL;
	const char *text;
	int rc;

	if (n->data_json == NULL)
		return HD_BUILD_READY;
	if ((rc = hd_json_parse_object(n->data_json, strlen(n->data_json), &src)) != 0)
		return rc == 1 ? hd_outcome_refuse(refused, "custom data is not a JSON object") : rc;
	rc = -HD_ERR_NOMEM;
	if ((data = json_object_new_object()) == NULL)
		goto out;
	json_object_object_foreach(src, key, val) {
		if (fcm_key_reserved(key)) {
			rc = hd_outcome_refuse(refused, "custom data may not use a key FCM reserves"
			    " (from, message_type, google..., gcm...)");
			goto out;
		}
		if (json_object_is_type(val, json_type_string))
			text = json_object_get_string(val);
		else if ((text = hd_json_text(val)) == NULL)
			goto out;
		if (hd_json_put_str(data, key, text) != 0)
			goto out;
	}
	rc = fcm_put_block(msg, "data", &data) == HD_OK ? HD_BUILD_READY : -HD_ERR_NOMEM;
out:
	json_object_put(data);
	json_object_put(src);
	return rc;
}

static int
fcm_android(const struct hd_notification *n, int64_t ttl, json_object *msg)
{
	json_object *a = json_object_new_object(), *an = json_object_new_object();
	char ttl_text[32];
	int rc = -1;

	snprintf(ttl_text, sizeof(ttl_text), "%" PRId64 "s", ttl);
	if (a == NULL || an == NULL ||
	    hd_json_put_str(a, "priority", fcm_level(n) == FCM_HIGH ? "HIGH" : "NORMAL") ||
	    (ttl >= 0 && hd_json_put_str(a, "ttl", ttl_text)) ||
	    hd_json_put_str(a, "collapse_key", n->collapse_id) ||
	    hd_json_put_str(an, "sound", n->sound) ||
	    hd_json_put_str(an, "tag", n->thread_id) ||
	    hd_json_put_str(an, "click_action", n->category) ||
	    hd_json_put_str(an, "icon", n->icon))
		goto out;
	if (fcm_put_block(a, "notification", &an) || fcm_put_block(msg, "android", &a))
		goto out;
	rc = 0;
out:
	json_object_put(an);
	json_object_put(a);
	return rc;
}

static int
fcm_apns(const struct hd_notification *n, int64_t ttl, json_object *msg)
{
	json_object *apns = json_object_new_object(), *h = json_object_new_object();
	json_object *payload = json_object_new_object(), *aps = json_object_new_object();
	static const char *const levels[] = { [HD_INTR_PASSIVE] = "passive",
		[HD_INTR_ACTIVE] = "active", [HD_INTR_TIME_SENSITIVE] = "time-sensitive",
		[HD_INTR_CRITICAL] = "critical" };
	const char *level = NULL;
	bool background = fcm_background(n);
	char expiration[24];
	int rc = -1;

	if ((unsigned)n->interruption < sizeof(levels) / sizeof(levels[0]))
		level = levels[n->interruption];
	snprintf(expiration, sizeof(expiration), "%" PRId64,
	    ttl > 0 ? n->expires_at / HD_USEC_PER_SEC : 0);
	if (apns == NULL || h == NULL || payload == NULL || aps == NULL ||
	    hd_json_put_str(h, "apns-priority",
	    background || fcm_level(n) == FCM_LOW ? "5" : "10") ||
	    (background && hd_json_put_str(h, "apns-push-type", "background")) ||
	    (ttl >= 0 && hd_json_put_str(h, "apns-expiration", expiration)) ||
	    hd_json_put_str(h, "apns-collapse-id", n->collapse_id) ||
	    hd_json_put_str(aps, "sound", n->sound) ||
	    (n->has_badge && hd_json_put(aps, "badge", json_object_new_int64(n->badge))) ||
	    hd_json_put_str(aps, "category", n->category) ||
	    hd_json_put_str(aps, "thread-id", n->thread_id) ||
	    ((n->mutable_content || n->image) &&
	    hd_json_put(aps, "mutable-content", json_object_new_int(1))) ||
	    (n->content_available &&
	    hd_json_put(aps, "content-available", json_object_new_int(1))) ||
	    hd_json_put_str(aps, "interruption-level", level))
		goto out;
	if (fcm_put_block(payload, "aps", &aps) || fcm_put_block(apns, "headers", &h) ||
	    fcm_put_block(apns, "payload", &payload) || fcm_put_block(msg, "apns", &apns))
		goto out;
	rc = 0;
out:
	json_object_put(aps);
	json_object_put(payload);
	json_object_put(h);
	json_object_put(apns);
	return rc;
}

static int
fcm_actions(const struct hd_notification *n, json_object *wn)
{
	json_object *list, *a;

	if (n->nactions == 0)
		return 0;
	if ((list = json_object_new_array()) == NULL || hd_json_put(wn, "actions", list) != 0)
		return -1;
	for (size_t i = 0; i < n->nactions; i++) {
		if ((a = json_object_new_object()) == NULL)
			return -1;
		if (json_object_array_add(list, a) != 0) {
			json_object_put(a);
			return -1;
		}
		if (hd_json_put_str(a, "action", n->actions[i].id) ||
		    hd_json_put_str(a, "title", n->actions[i].title))
			return -1;
	}
	return 0;
}

/* The Web Push block. A collapse id that RFC 8030's Topic cannot carry (32 base64url
 * characters at most) is left out there; android and apns still collapse by it. FCM
 * opens HTTPS links only, so other URLs are left out. */
static int
fcm_webpush(const struct hd_notification *n, int64_t ttl, json_object *msg)
{
	json_object *w = json_object_new_object(), *h = json_object_new_object();
	json_object *wn = json_object_new_object(), *opts = json_object_new_object();
	static const char *const urgency[] = { [FCM_LOW] = "low", [FCM_NORMAL] = "normal",
		[FCM_HIGH] = "high" };
	char ttl_text[24];
	int rc = -1;

	snprintf(ttl_text, sizeof(ttl_text), "%" PRId64, ttl);
	if (w == NULL || h == NULL || wn == NULL || opts == NULL ||
	    (ttl >= 0 && hd_json_put_str(h, "TTL", ttl_text)) ||
	    hd_json_put_str(h, "Urgency", urgency[fcm_level(n)]) ||
	    (n->collapse_id && fcm_word_ok(n->collapse_id, FCM_TOPIC_MAX, "-_") &&
	    hd_json_put_str(h, "Topic", n->collapse_id)) ||
	    hd_json_put_str(wn, "icon", n->icon) || fcm_actions(n, wn) != 0 ||
	    (n->url && strncmp(n->url, "https://", 8) == 0 &&
	    hd_json_put_str(opts, "link", n->url)))
		goto out;
	if (fcm_put_block(w, "headers", &h) || fcm_put_block(w, "notification", &wn) ||
	    fcm_put_block(w, "fcm_options", &opts) || fcm_put_block(msg, "webpush", &w))
		goto out;
	rc = 0;
out:
	json_object_put(opts);
	json_object_put(wn);
	json_object_put(h);
	json_object_put(w);
	return rc;
}

/* The message object for n to token: from raw_fcm with the token set, or built. */
static int
fcm_message(const struct hd_notification *n, const char *token, int64_t now,
    json_object **out, struct hd_outcome *refused)
{
	json_object *msg = NULL, *note = NULL;
	int64_t ttl = hd_notification_ttl_left(n, now);
	int rc;

	if (ttl > FCM_TTL_MAX)
		ttl = FCM_TTL_MAX;
	if (n->raw_fcm) {
		if ((rc = hd_json_parse_object(n->raw_fcm, strlen(n->raw_fcm), &msg)) != 0) {
			if (rc == 1)
				rc = hd_outcome_refuse(refused, "raw FCM message is not a JSON object");
			goto out;
		}
		if (json_object_object_get_ex(msg, "topic", NULL) ||
		    json_object_object_get_ex(msg, "condition", NULL)) {
			rc = hd_outcome_refuse(refused, "raw FCM message may not name a topic or"
			    " condition: herald sends to the device's token");
			goto out;
		}
		rc = hd_json_put_str(msg, "token", token) == 0 ? HD_BUILD_READY : -HD_ERR_NOMEM;
		goto out;
	}
	rc = -HD_ERR_NOMEM;
	if ((msg = json_object_new_object()) == NULL || hd_json_put_str(msg, "token", token) ||
	    (note = json_object_new_object()) == NULL ||
	    hd_json_put_str(note, "title", n->title) || hd_json_put_str(note, "body", n->body) ||
	    hd_json_put_str(note, "image", n->image))
		goto out;
	if (fcm_put_block(msg, "notification", &note) != HD_OK) {
		rc = -HD_ERR_NOMEM;
		goto out;
	}
	if ((rc = fcm_data(n, msg, refused)) != HD_BUILD_READY)
		goto out;
	if (fcm_android(n, ttl, msg) || fcm_apns(n, ttl, msg) || fcm_webpush(n, ttl, msg)) {
		rc = -HD_ERR_NOMEM;
		goto out;
	}
	rc = HD_BUILD_READY;
out:
	json_object_put(note);
	if (rc == HD_BUILD_READY)
		*out = msg;
	else
		json_object_put(msg);
	return rc;
}

/* Refusals that need no message: credentials, device token, collapse id. */
static int
fcm_check(const struct hd_app_creds *creds, const struct hd_notification *n,
    const struct hd_device_target *d, struct hd_outcome *refused)
{
	if (creds == NULL || creds->fcm_project_id == NULL || creds->fcm_client_email == NULL ||
	    creds->fcm_key == NULL)
		return hd_outcome_refuse(refused, "no FCM credentials for this app");
	if (!fcm_word_ok(creds->fcm_project_id, FCM_PROJECT_MAX, "-_.:"))
		return hd_outcome_refuse(refused, "malformed FCM project id");
	if (!fcm_word_ok(d->token, FCM_DEVICE_MAX, "-_:."))
		return hd_outcome_refuse(refused, "malformed FCM registration token");
	if (n->collapse_id && strlen(n->collapse_id) > FCM_COLLAPSE_MAX)
		return hd_outcome_refuse(refused, "collapse id is %zu bytes; FCM's apns-collapse-id"
		    " allows %d", strlen(n->collapse_id), FCM_COLLAPSE_MAX);
	return HD_BUILD_READY;
}

/* The service-account assertion (RFC 7523 §3): RS256, one hour. */
static enum hd_err
fcm_assertion(const struct hd_app_creds *creds, const char *aud, int64_t now_s, char **jwt)
{
	json_object *h = json_object_new_object(), *c = json_object_new_object();
	enum hd_err err = HD_ERR_NOMEM;

	if (h == NULL || c == NULL || hd_json_put_str(h, "alg", "RS256") ||
	    hd_json_put_str(h, "typ", "JWT") ||
	    hd_json_put_str(c, "iss", creds->fcm_client_email) ||
	    hd_json_put_str(c, "scope", FCM_SCOPE) || hd_json_put_str(c, "aud", aud) ||
	    hd_json_put(c, "iat", json_object_new_int64(now_s)) ||
	    hd_json_put(c, "exp", json_object_new_int64(now_s + FCM_ASSERTION_S)))
		goto out;
	err = hd_json_sign(creds->fcm_key, h, c, jwt);
out:
	json_object_put(h);
	json_object_put(c);
	return err;
}

/* What the token request needs beside the time. */
struct fcm_grant {
	const struct hd_app_creds *creds;
	const char *url;
};

/* The JWT bearer grant (RFC 7523 §2.1) with a fresh assertion. */
static enum hd_err
fcm_grant_form(const void *arg, int64_t now, struct hd_buf *form)
{
	const struct fcm_grant *g = arg;
	char *jwt = NULL;
	enum hd_err err;

	if ((err = fcm_assertion(g->creds, g->url, now / HD_USEC_PER_SEC, &jwt)) == HD_OK &&
	    (err = hd_buf_puts(form, FCM_GRANT)) == HD_OK)
		err = hd_buf_puts(form, jwt);
	free(jwt);
	return err;
}

/* The app's access token: cached, or fetched now. */
static enum hd_err
fcm_access(struct hd_provider_ctx *ctx, struct hd_oauth *cache,
    const struct hd_app_creds *creds, int64_t now, const char **access)
{
	/* The service account's own token_uri is tenant input: the worker posts only to
	 * Google's endpoint, or to the one the operator configured. */
	struct fcm_grant g = { creds, ctx->cfg->fcm_token_url ? ctx->cfg->fcm_token_url :
	    FCM_TOKEN_URL };

	return hd_oauth_token(cache, ctx, creds->app_id, creds->fcm_client_email, g.url,
	    fcm_grant_form, &g, now, access);
}

static enum hd_err
fcm_init(struct hd_provider_ctx *ctx, void **state)
{
	struct hd_oauth *cache;
	enum hd_err err;

	(void)ctx;
	if ((err = hd_oauth_new(&fcm_oauth, &cache)) == HD_OK)
		*state = cache;
	return err;
}

static void
fcm_fini(void *state)
{
	hd_oauth_free(state);
}

static int
fcm_build(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_notification *n, const struct hd_device_target *d,
    struct hd_http_request *req, struct hd_outcome *refused)
{
	json_object *msg = NULL, *wrap = NULL;
	const char *text, *access = NULL;
	const char *base = ctx->cfg->fcm_url ? ctx->cfg->fcm_url : FCM_URL;
	int64_t now = hd_now_usec();
	size_t len;
	enum hd_err err;
	int rc;

	memset(req, 0, sizeof(*req));
	hd_buf_init(&req->body, FCM_MESSAGE_MAX + sizeof(FCM_WRAPPER));
	if ((rc = fcm_check(creds, n, d, refused)) != HD_BUILD_READY ||
	    (rc = fcm_message(n, d->token, now, &msg, refused)) != HD_BUILD_READY)
		goto out;
	rc = -HD_ERR_NOMEM;
	if ((wrap = json_object_new_object()) == NULL)
		goto out;
	err = hd_json_put(wrap, "message", msg);
	msg = NULL;
	if (err != HD_OK || (text = hd_json_text(wrap)) == NULL)
		goto out;
	if ((len = strlen(text) - (sizeof(FCM_WRAPPER) - 1)) > FCM_MESSAGE_MAX) {
		rc = hd_outcome_refuse(refused, "message is %zu bytes; FCM allows %d", len,
		    FCM_MESSAGE_MAX);
		goto out;
	}
	if ((err = hd_buf_puts(&req->body, text)) != HD_OK ||
	    (err = fcm_access(ctx, state, creds, now, &access)) != HD_OK ||
	    (err = hd_header_add(&req->headers, "authorization: Bearer %s", access)) != HD_OK ||
	    (err = hd_header_add(&req->headers, "content-type: application/json")) != HD_OK ||
	    (err = hd_http_request_url(req, "%s/v1/projects/%s/messages:send", base,
	    creds->fcm_project_id)) != HD_OK) {
		rc = -(int)err;
		goto out;
	}
	rc = HD_BUILD_READY;
out:
	json_object_put(wrap);
	json_object_put(msg);
	if (rc != HD_BUILD_READY)
		hd_http_request_clear(req);
	return rc;
}

/* error.details[]: the FcmError detail's errorCode, if any. */
static const char *
fcm_error_code(json_object *error)
{
	json_object *details, *d;
	const char *type, *code;

	if (!json_object_object_get_ex(error, "details", &details) ||
	    !json_object_is_type(details, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(details); i++) {
		d = json_object_array_get_idx(details, i);
		if (!json_object_is_type(d, json_type_object))
			continue;
		type = hd_json_get_str(d, "@type");
		code = hd_json_get_str(d, "errorCode");
		if (type && code && strcmp(type, FCM_FCMERROR) == 0 &&
		    strcmp(code, "UNSPECIFIED_ERROR") != 0)
			return code;
	}
	return NULL;
}

/* For codes Google has not documented: what the status says. */
static enum hd_outcome_kind
fcm_status_kind(long status, bool *auth)
{
	*auth = status == 401;
	if (status == 404 || (status >= 400 && status < 500 && status != 401 &&
	    status != 403 && status != 429))
		return HD_OUTCOME_REJECTED;
	return HD_OUTCOME_RETRY;
}

static void
fcm_classify(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_http_response *resp, struct hd_outcome *out)
{
	const struct hd_reason_kind *r;
	json_object *doc = NULL, *error = NULL;
	const char *code = NULL, *message = NULL;
	char text[sizeof(out->reason)];
	bool auth = false;

	(void)ctx;
	if (!hd_outcome_begin(out, resp, "no answer from FCM"))
		return;
	if (resp->status == 200) {
		out->kind = HD_OUTCOME_DELIVERED;
		return;
	}
	if (resp->body && hd_json_parse_object(resp->body, resp->body_len, &doc) == 0 &&
	    json_object_object_get_ex(doc, "error", &error) &&
	    json_object_is_type(error, json_type_object)) {
		if ((code = fcm_error_code(error)) == NULL)
			code = hd_json_get_str(error, "status");
		message = hd_json_get_str(error, "message");
	}
	if ((r = hd_reason_find(fcm_codes, sizeof(fcm_codes) / sizeof(fcm_codes[0]),
	    code)) != NULL) {
		out->kind = r->kind;
		auth = r->auth;
	} else {
		out->kind = fcm_status_kind(resp->status, &auth);
	}
	if (code)
		snprintf(text, sizeof(text), "%s%s%s", code, message ? ": " : "",
		    message ? message : "");
	else
		snprintf(text, sizeof(text), "FCM answered %ld", resp->status);
	hd_outcome_reason(out, "", text);
	if (out->kind == HD_OUTCOME_RETRY)
		out->retry_at = hd_retry_after(resp, hd_now_usec());
	if (auth) {
		out->auth_expired = true;
		if (state && creds)
			hd_oauth_drop(state, creds->app_id);
	}
	json_object_put(doc);
}

const struct hd_provider hd_provider_fcm = {
	.name = "fcm",
	.init = fcm_init,
	.fini = fcm_fini,
	.build = fcm_build,
	.classify = fcm_classify,
};
