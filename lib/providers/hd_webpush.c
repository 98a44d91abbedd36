/*
 * Web Push: RFC 8030 delivery to a subscription's endpoint, RFC 8291 payload
 * encryption (hd_ece.h), RFC 8292 VAPID authorization (hd_jws.h).
 *
 * The plaintext a service worker receives is raw_webpush when the message has one,
 * else this JSON object (docs/devices.md), members present only when set:
 *   {"title": str, "subtitle": str, "body": str, "icon": url, "image": url,
 *    "url": what a click opens, "badge": the app badge count (a number, for
 *    navigator.setAppBadge; not the Notification API's badge image), "tag": thread_id,
 *    "actions": [{"action": id, "title": str}], "data": the message's data object,
 *    "sound": str}
 *
 * TTL (RFC 8030 §5.2) is the time the message has left, four weeks when it has no
 * expiry. Urgency (§5.3): the message's own urgency when it names one (extras
 * "urgency", e.g. the webpush dialect's very-low), else herald's high, normal and low
 * priorities map to the values of those names.
 *
 * Topic (RFC 8030 §5.4) allows at most 32 base64url characters: a collapse id that
 * fits is sent as it is; any other is sent as the first 32 characters of the base64url
 * SHA-256 of it, so messages sharing a collapse id still replace each other.
 *
 * VAPID tokens are cached per (app, push service origin) in the provider state and
 * reused until an hour before their 12-hour expiry: one signature per push service
 * per 11 hours, not one per message. The cache is bounded (WP_CACHE_MAX entries; the
 * soonest to expire is evicted) because origins come from device registrations.
 *
 * Memory: the state owns the VAPID cache; it is not locked: one per engine thread. A
 * built request owns its URL, headers and body.
 *
 * Answers: 2xx (RFC 8030 §5 says 201) delivered; 404/410 gone (the subscription
 * expired or was unsubscribed); 400 and 413 rejected; 401/403 mean the push service
 * refused the VAPID token: the app's cached tokens are dropped and the delivery
 * retried with a fresh one (a refused key is a configuration error that herald's
 * attempt limit bounds); 429 and 5xx retried, honouring Retry-After; anything else
 * rejected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "hd_ece.h"
#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"

#define WP_URL_MAX 2048
#define WP_HOST_MAX 253
#define WP_ORIGIN_MAX (sizeof("https://") + WP_HOST_MAX + sizeof(":65535"))
#define WP_KEY_B64_LEN HD_BASE64URL_LEN(65)
#define WP_TOPIC_MAX 32
#define WP_DEFAULT_TTL 2419200          /* four weeks, when the message has no expiry */
#define WP_JWT_LIFE (12 * 3600)         /* RFC 8292 §2: at most 24 hours */
#define WP_JWT_MARGIN 3600              /* a token is replaced an hour before it expires */
#define WP_CACHE_MAX 1024
#define WP_JSON_DEPTH 32
#define WP_DETAIL_MAX 120
#define WP_JWT_HEADER "{\"typ\":\"JWT\",\"alg\":\"ES256\"}"

struct wp_vapid {
	uint64_t app_id;
	char origin[WP_ORIGIN_MAX];
	char k[WP_KEY_B64_LEN + 1];     /* the key the token was signed with */
	char *subject;                  /* its sub claim, NULL when none */
	char *header;                   /* "Authorization: vapid t=…, k=…" */
	int64_t reuse_until;            /* usec */
};

struct wp_state {
	struct wp_vapid *v;
	size_t n;
};

static enum hd_err
wp_init(struct hd_provider_ctx *ctx, void **state)
{
	(void)ctx;
	if ((*state = calloc(1, sizeof(struct wp_state))) == NULL)
		return HD_ERR_NOMEM;
	return HD_OK;
}

static void
wp_vapid_free(struct wp_vapid *v)
{
	free(v->subject);
	free(v->header);
}

static void
wp_fini(void *state)
{
	struct wp_state *st = state;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n; i++)
		wp_vapid_free(&st->v[i]);
	free(st->v);
	free(st);
}

/* Checks an endpoint (https, a DNS host name, no userinfo, printable ASCII, at most
 * WP_URL_MAX bytes) and writes its origin (RFC 6454 §6.2: scheme://host[:port], the
 * port only when not 443, the host lowercased), VAPID's aud (RFC 8292 §2). */
static bool
wp_endpoint_origin(const char *url, char origin[WP_ORIGIN_MAX])
{
	size_t len = strlen(url), host = sizeof("https://") - 1, end, colon, o;
	uint64_t port = 443;

	if (len > WP_URL_MAX || len <= host || strncasecmp(url, "https://", host) != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return false;
	for (end = host; end < len && !strchr("/?#", url[end]); end++)
		;
	for (colon = host; colon < end && url[colon] != ':'; colon++)
		;
	if (colon == host || colon - host > WP_HOST_MAX)
		return false;
	if (colon < end && (hd_parse_u64(url + colon + 1, end - colon - 1, &port) != 0 ||
	    port == 0 || port > 65535))
		return false;
	memcpy(origin, "https://", host);
	for (o = host; o < colon; o++) {
		char c = url[o];

		/* '@' (userinfo), '[' (IP literal), '%' and the like end up here. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
		origin[o] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	if (port != 443)
		snprintf(origin + o, WP_ORIGIN_MAX - o, ":%u", (unsigned)port);
	else
		origin[o] = '\0';
	return true;
}

/* RFC 8291 §3.2: p256dh is an uncompressed P-256 point, auth a 16-byte secret. */
static bool
wp_subscription_keys(const struct hd_device_target *d, unsigned char ua[65],
    unsigned char auth[16])
{
	unsigned char tmp[80];

	if (d->p256dh == NULL || d->auth == NULL)
		return false;
	if (hd_base64url_decode(d->p256dh, strlen(d->p256dh), tmp, sizeof(tmp)) != 65 ||
	    tmp[0] != 0x04)
		return false;
	memcpy(ua, tmp, 65);
	if (hd_base64url_decode(d->auth, strlen(d->auth), tmp, sizeof(tmp)) != 16)
		return false;
	memcpy(auth, tmp, 16);
	return true;
}

static bool
wp_topic_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > WP_TOPIC_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* The Topic for a collapse id (see the header comment). */
static enum hd_err
wp_topic(const char *collapse_id, char topic[WP_TOPIC_MAX + 1])
{
	unsigned char md[32];
	char b64[HD_BASE64URL_LEN(32) + 1];

	if (wp_topic_valid(collapse_id)) {
		memcpy(topic, collapse_id, strlen(collapse_id) + 1);
		return HD_OK;
	}
	if (EVP_Digest(collapse_id, strlen(collapse_id), md, NULL, EVP_sha256(), NULL) != 1)
		return HD_ERR_CRYPTO;
	if (hd_base64url_encode(md, sizeof(md), b64, sizeof(b64)) < 0)
		return HD_ERR_INTERNAL;
	memcpy(topic, b64, WP_TOPIC_MAX);
	topic[WP_TOPIC_MAX] = '\0';
	return HD_OK;
}

/* Builds the plaintext document of the header comment. *bad_data when data_json is
 * not a JSON object. */
static enum hd_err
wp_document(const struct hd_notification *n, json_object **out, bool *bad_data)
{
	json_object *doc, *actions, *data;
	enum hd_err err;
	int rc;

	*out = NULL;
	*bad_data = false;
	if ((doc = json_object_new_object()) == NULL)
		return HD_ERR_NOMEM;
	if ((err = hd_json_put_str(doc, "title", n->title)) != HD_OK ||
	    (err = hd_json_put_str(doc, "subtitle", n->subtitle)) != HD_OK ||
	    (err = hd_json_put_str(doc, "body", n->body)) != HD_OK ||
	    (err = hd_json_put_str(doc, "icon", n->icon)) != HD_OK ||
	    (err = hd_json_put_str(doc, "image", n->image)) != HD_OK ||
	    (err = hd_json_put_str(doc, "url", n->url)) != HD_OK ||
	    (err = hd_json_put_str(doc, "tag", n->thread_id)) != HD_OK ||
	    (err = hd_json_put_str(doc, "sound", n->sound)) != HD_OK)
		goto fail;
	if (n->has_badge &&
	    (err = hd_json_put(doc, "badge", json_object_new_int64(n->badge))) != HD_OK)
		goto fail;
	if (n->nactions > 0) {
		if ((err = hd_json_put(doc, "actions", json_object_new_array())) != HD_OK)
			goto fail;
		actions = json_object_object_get(doc, "actions");
		for (size_t i = 0; i < n->nactions; i++) {
			json_object *a = json_object_new_object();

			if ((err = hd_json_put_str(a, "action", n->actions[i].id)) != HD_OK ||
			    (err = hd_json_put_str(a, "title", n->actions[i].title)) != HD_OK ||
			    json_object_array_add(actions, a) != 0) {
				json_object_put(a);
				err = err != HD_OK ? err : HD_ERR_NOMEM;
				goto fail;
			}
		}
	}
	if (n->data_json) {
		if ((rc = hd_json_parse_object(n->data_json, strlen(n->data_json), &data)) < 0) {
			err = (enum hd_err)-rc;
			goto fail;
		}
		if (rc == 1) {
			*bad_data = true;
			json_object_put(doc);
			return HD_OK;
		}
		if ((err = hd_json_put(doc, "data", data)) != HD_OK)
			goto fail;
	}
	*out = doc;
	return HD_OK;
fail:
	json_object_put(doc);
	return err;
}

static bool
wp_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Signs a VAPID token for origin (RFC 8292 §2) and formats the Authorization header
 * line into *line (malloc'd). */
static enum hd_err
wp_vapid_sign(const struct hd_app_creds *creds, const char *origin, const char *k,
    int64_t exp, char **line)
{
	json_object *claims;
	const char *text;
	char *jwt = NULL;
	size_t size;
	enum hd_err err;

	*line = NULL;
	if ((claims = json_object_new_object()) == NULL)
		return HD_ERR_NOMEM;
	if ((err = hd_json_put_str(claims, "aud", origin)) != HD_OK ||
	    (err = hd_json_put(claims, "exp", json_object_new_int64(exp))) != HD_OK ||
	    (err = hd_json_put_str(claims, "sub", creds->vapid_subject)) != HD_OK)
		goto out;
	if ((text = hd_json_text(claims)) == NULL) {
		err = HD_ERR_NOMEM;
		goto out;
	}
	if ((err = hd_jws_sign(creds->vapid_key, WP_JWT_HEADER, text, &jwt)) != HD_OK)
		goto out;
	size = sizeof("Authorization: vapid t=, k=") + strlen(jwt) + strlen(k);
	if ((*line = malloc(size)) == NULL) {
		err = HD_ERR_NOMEM;
		goto out;
	}
	snprintf(*line, size, "Authorization: vapid t=%s, k=%s", jwt, k);
out:
	free(jwt);
	json_object_put(claims);
	return err;
}

/* The cache slot for (app, origin): its own, else a free one, else the one that
 * expires first. */
static struct wp_vapid *
wp_vapid_slot(struct wp_state *st, uint64_t app_id, const char *origin)
{
	struct wp_vapid *v, *soonest = NULL;

	for (size_t i = 0; i < st->n; i++) {
		v = &st->v[i];
		if (v->app_id == app_id && strcmp(v->origin, origin) == 0)
			return v;
		if (soonest == NULL || v->reuse_until < soonest->reuse_until)
			soonest = v;
	}
	if (st->n == WP_CACHE_MAX)
		return soonest;
	if ((v = realloc(st->v, (st->n + 1) * sizeof(*v))) == NULL)
		return NULL;
	st->v = v;
	v = &st->v[st->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* The Authorization header line for creds at origin, from the cache or freshly
 * signed. The line stays owned by the cache. */
static enum hd_err
wp_vapid(struct wp_state *st, const struct hd_app_creds *creds, const char *origin,
    const char **line)
{
	unsigned char pub[65];
	char k[WP_KEY_B64_LEN + 1], *fresh, *subject = NULL;
	int64_t now = hd_now_usec();
	int64_t exp = now / HD_USEC_PER_SEC + WP_JWT_LIFE;
	struct wp_vapid *v;
	enum hd_err err;

	if ((err = hd_signer_public_p256(creds->vapid_key, pub)) != HD_OK)
		return err;
	if (hd_base64url_encode(pub, sizeof(pub), k, sizeof(k)) < 0)
		return HD_ERR_INTERNAL;
	if ((v = wp_vapid_slot(st, creds->app_id, origin)) == NULL)
		return HD_ERR_NOMEM;
	if (v->header && v->app_id == creds->app_id && strcmp(v->origin, origin) == 0 &&
	    now < v->reuse_until && strcmp(v->k, k) == 0 &&
	    wp_str_eq(v->subject, creds->vapid_subject)) {
		*line = v->header;
		return HD_OK;
	}
	if (creds->vapid_subject && (subject = strdup(creds->vapid_subject)) == NULL)
		return HD_ERR_NOMEM;
	if ((err = wp_vapid_sign(creds, origin, k, exp, &fresh)) != HD_OK) {
		free(subject);
		return err;
	}
	wp_vapid_free(v);
	v->app_id = creds->app_id;
	memcpy(v->origin, origin, strlen(origin) + 1);
	memcpy(v->k, k, sizeof(k));
	v->subject = subject;
	v->header = fresh;
	v->reuse_until = (exp - WP_JWT_MARGIN) * HD_USEC_PER_SEC;
	*line = v->header;
	return HD_OK;
}

static void
wp_vapid_forget(struct wp_state *st, uint64_t app_id)
{
	for (size_t i = 0; i < st->n;) {
		if (st->v[i].app_id != app_id) {
			i++;
			continue;
		}
		wp_vapid_free(&st->v[i]);
		st->v[i] = st->v[--st->n];
	}
}

/* RFC 8030 §5.2 TTL (required), §5.3 Urgency, §5.4 Topic; RFC 8188 framing. */
static enum hd_err
wp_headers(const struct hd_notification *n, const char *vapid, struct curl_slist **h)
{
	char topic[WP_TOPIC_MAX + 1];
	static const char *const urgencies[] = { [HD_URG_VERY_LOW] = "very-low",
		[HD_URG_LOW] = "low", [HD_URG_NORMAL] = "normal", [HD_URG_HIGH] = "high" };
	int64_t ttl = hd_notification_ttl_left(n, hd_now_usec());
	const char *urgency = n->priority >= 8 ? "high" : n->priority <= 3 ? "low" : "normal";
	enum hd_err err;

	if (n->urgency > HD_URG_DEFAULT && n->urgency <= HD_URG_HIGH)
		urgency = urgencies[n->urgency];

	if ((err = hd_header_add(h, "TTL: %lld",
	    (long long)(ttl < 0 ? WP_DEFAULT_TTL : ttl))) != HD_OK ||
	    (err = hd_header_add(h, "Content-Encoding: aes128gcm")) != HD_OK ||
	    (err = hd_header_add(h, "Content-Type: application/octet-stream")) != HD_OK ||
	    (err = hd_header_add(h, "Urgency: %s", urgency)) != HD_OK)
		return err;
	if (n->collapse_id && n->collapse_id[0] &&
	    ((err = wp_topic(n->collapse_id, topic)) != HD_OK ||
	    (err = hd_header_add(h, "Topic: %s", topic)) != HD_OK))
		return err;
	return hd_header_add(h, "%s", vapid);
}

static int
wp_build(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_notification *n, const struct hd_device_target *d,
    struct hd_http_request *req, struct hd_outcome *refused)
{
	char origin[WP_ORIGIN_MAX];
	unsigned char ua[65], auth[16];
	json_object *doc = NULL;
	const char *plain, *vapid;
	size_t plain_len;
	bool bad_data;
	enum hd_err err;
	int rc;

	(void)ctx;
	memset(req, 0, sizeof(*req));
	hd_buf_init(&req->body, HD_ECE_RECORD_SIZE);
	if (creds->vapid_key == NULL)
		return hd_outcome_refuse(refused, "no VAPID key for this app");
	if (d->token == NULL || !wp_endpoint_origin(d->token, origin))
		return hd_outcome_refuse(refused, "malformed Web Push endpoint");
	if (!wp_subscription_keys(d, ua, auth))
		return hd_outcome_refuse(refused, "malformed subscription keys");
	if (n->raw_webpush) {
		plain = n->raw_webpush;
	} else {
		if ((err = wp_document(n, &doc, &bad_data)) != HD_OK)
			return -(int)err;
		if (bad_data)
			return hd_outcome_refuse(refused, "data is not a JSON object");
		if ((plain = hd_json_text(doc)) == NULL) {
			err = HD_ERR_NOMEM;
			goto fail;
		}
	}
	plain_len = strlen(plain);
	if (plain_len > HD_ECE_MAX_PLAINTEXT) {
		rc = hd_outcome_refuse(refused, "payload is %zu bytes; Web Push allows %d before encryption",
		    plain_len, HD_ECE_MAX_PLAINTEXT);
		goto out;
	}
	if ((err = wp_vapid(state, creds, origin, &vapid)) != HD_OK)
		goto fail;
	if ((req->url = strdup(d->token)) == NULL) {
		err = HD_ERR_NOMEM;
		goto fail;
	}
	req->device_url = true;
	/* With a well-formed plaintext and ours, only a p256dh that is 65 bytes but not a
	 * point on P-256 fails here: registration cannot see that. */
	err = hd_ece_encrypt(ua, auth, (const unsigned char *)plain, plain_len, &req->body);
	if (err == HD_ERR_CRYPTO) {
		rc = hd_outcome_refuse(refused, "malformed subscription keys");
		goto out;
	}
	if (err != HD_OK || (err = wp_headers(n, vapid, &req->headers)) != HD_OK)
		goto fail;
	rc = HD_BUILD_READY;
	goto out;
fail:
	rc = -(int)err;
out:
	json_object_put(doc);
	if (rc != HD_BUILD_READY)
		hd_http_request_clear(req);
	return rc;
}

/* The push service's own words, when it gave any: Apple answers {"reason": …},
 * Mozilla's autopush {"message": …}, others plain text. Copies at most cap - 1 bytes
 * of the first line. */
static void
wp_detail(const struct hd_http_response *resp, char *out, size_t cap)
{
	static const char *const keys[] = { "reason", "message", "error" };
	const char *text = resp->body;
	size_t len = resp->body_len, i;
	json_tokener *tok;
	json_object *obj = NULL, *v;

	out[0] = '\0';
	if (text == NULL || len == 0 || len > HD_RESPONSE_MAX)
		return;
	if (text[0] == '{' && (tok = json_tokener_new_ex(WP_JSON_DEPTH)) != NULL) {
		obj = json_tokener_parse_ex(tok, text, (int)len);
		json_tokener_free(tok);
		text = NULL;
		for (i = 0; obj && i < sizeof(keys) / sizeof(keys[0]) && text == NULL; i++)
			if (json_object_object_get_ex(obj, keys[i], &v) &&
			    json_object_is_type(v, json_type_string))
				text = json_object_get_string(v);
		len = text ? strlen(text) : 0;
	}
	for (i = 0; text && i < len && text[i] != '\n' && text[i] != '\r'; i++)
		;
	hd_text_clean(out, cap, text, i);
	json_object_put(obj);
}

static void
wp_classify(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_http_response *resp, struct hd_outcome *out)
{
	char detail[WP_DETAIL_MAX], what[48];
	long s = resp->status;

	(void)ctx;
	if (!hd_outcome_begin(out, resp, "no answer from the push service"))
		return;
	wp_detail(resp, detail, sizeof(detail));
	if (s >= 200 && s < 300) {
		out->kind = HD_OUTCOME_DELIVERED;
	} else if (s == 404 || s == 410) {
		out->kind = HD_OUTCOME_GONE;
		hd_outcome_explain(out, "subscription expired or unsubscribed", detail);
	} else if (s == 401 || s == 403) {
		out->kind = HD_OUTCOME_RETRY;
		out->auth_expired = true;
		wp_vapid_forget(state, creds->app_id);
		hd_outcome_explain(out, "VAPID authorization refused", detail);
	} else if (s == 429) {
		out->kind = HD_OUTCOME_RETRY;
		out->retry_at = hd_retry_after(resp, hd_now_usec());
		hd_outcome_explain(out, "too many requests", detail);
	} else if (s >= 500 && s < 600) {
		out->kind = HD_OUTCOME_RETRY;
		out->retry_at = hd_retry_after(resp, hd_now_usec());
		hd_outcome_explain(out, "push service error", detail);
	} else if (s == 413) {
		out->kind = HD_OUTCOME_REJECTED;
		hd_outcome_explain(out, "payload too large", detail);
	} else if (s == 400) {
		out->kind = HD_OUTCOME_REJECTED;
		hd_outcome_explain(out, "bad request", detail);
	} else {
		out->kind = HD_OUTCOME_REJECTED;
		snprintf(what, sizeof(what), "unexpected HTTP status %ld", s);
		hd_outcome_explain(out, what, detail);
	}
}

const struct hd_provider hd_provider_webpush = {
	.name = "webpush",
	.init = wp_init,
	.fini = wp_fini,
	.build = wp_build,
	.classify = wp_classify,
};
