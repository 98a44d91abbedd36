/*
 * One interface for the push providers (APNs, FCM, Web Push, WNS), one file each. A
 * provider builds an HTTP request from a neutral notification and a device, and
 * classifies the provider's answer. It never sends: the engine (hd_engine.h) does,
 * for every provider alike, over HTTP/2.
 *
 * Memory: the request a build fills is owned by the caller afterwards
 * (hd_http_request_clear). Credentials and per-provider state belong to the delivery
 * layer (hd_deliver.c) and outlive every request built with them.
 */
#ifndef HD_PROVIDER_H
#define HD_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "hd_buf.h"
#include "hd_config.h"
#include "hd_db.h"
#include "hd_error.h"
#include "hd_jws.h"
#include "hd_notification.h"
#include "hd_platform.h"


/* The device a delivery goes to. Strings owned by the delivery layer. */
struct hd_device_target {
	enum hd_platform platform;
	char *token;      /* APNs device token (hex), FCM registration token, Web Push
	                     endpoint URL, WNS channel URI */
	char *p256dh;     /* web: the subscription's P-256 public key, base64url */
	char *auth;       /* web: the subscription's 16-byte auth secret, base64url */
};

enum hd_apns_auth { HD_APNS_NONE, HD_APNS_TOKEN, HD_APNS_CERTIFICATE };

/* An app's provider credentials, loaded from app_credentials. A provider whose
 * credentials are missing rejects the delivery ("no APNs credentials"). */
struct hd_app_creds {
	uint64_t app_id;
	/* APNs */
	enum hd_apns_auth apns_auth;
	char *apns_team_id;
	char *apns_key_id;
	struct hd_signer *apns_key;       /* token auth: the .p8 key (ES256) */
	char *apns_key_fingerprint;       /*   and its fingerprint, 64 lowercase hex digits
	                                     (app_credentials.apns_key_fingerprint): the
	                                     provider token shared for this key carries it */
	char *apns_cert_pem;              /* certificate auth: client certificate */
	char *apns_cert_key_pem;          /*   and its private key */
	char *apns_topic;                 /* bundle id */
	bool apns_sandbox;
	/* FCM HTTP v1 (from the service-account JSON) */
	char *fcm_project_id;
	char *fcm_client_email;
	char *fcm_token_uri;
	struct hd_signer *fcm_key;        /* RS256 */
	/* Web Push (VAPID) */
	struct hd_signer *vapid_key;      /* ES256 P-256 */
	char *vapid_subject;              /* mailto: or https: contact */
	/* WNS */
	char *wns_client_id;
	char *wns_client_secret;
	/* Sealed secrets this process could not open (docs/credentials.md): deliveries to
	 * that platform are retried, the others go on. */
	bool unopened[HD_PLATFORM__MAX];
};

/* An HTTP request to a provider. */
struct hd_http_request {
	char *url;                    /* owned */
	struct curl_slist *headers;   /* owned */
	struct hd_buf body;           /* owned */
	bool device_url;              /* the URL came from a device (Web Push endpoint, WNS
	                                 channel): the engine connects only to public
	                                 addresses, or to configured provider_connect_to
	                                 targets */
	const char *client_cert_pem;  /* APNs certificate auth (borrowed from creds) */
	const char *client_key_pem;
};

/* A provider's answer, as the engine received it. Valid during classify only. */
struct hd_http_response {
	long status;                  /* 0: no answer (connection or timeout error) */
	const char *transport_error;  /* when status is 0: what failed */
	bool blocked;                 /* a device URL led to a non-public address: the
	                                 engine refused to connect */
	const char *body;             /* at most HD_RESPONSE_MAX bytes, NUL-terminated */
	size_t body_len;
	const char *headers;          /* raw header lines, bounded; see hd_http_header() */
	size_t headers_len;
};
#define HD_RESPONSE_MAX (64 * 1024)

/* The value of header name (case-insensitive) in resp, copied NUL-terminated into out
 * (trimmed); false when absent or longer than outcap - 1. */
bool hd_http_header(const struct hd_http_response *resp, const char *name, char *out,
    size_t outcap);

enum hd_outcome_kind {
	HD_OUTCOME_DELIVERED,   /* the provider accepted it */
	HD_OUTCOME_RETRY,       /* try again later */
	HD_OUTCOME_GONE,        /* the token or subscription is no longer valid */
	HD_OUTCOME_REJECTED     /* permanent refusal of this delivery */
};

struct hd_outcome {
	enum hd_outcome_kind kind;
	int provider_status;      /* HTTP status; 0 when nothing was answered */
	int64_t retry_at;         /* RETRY: usec, from Retry-After; 0 = herald's backoff */
	int64_t gone_since;       /* GONE: usec when the provider says the token stopped
	                             being valid (APNs 410 timestamp); 0 = now */
	bool auth_expired;        /* the provider refused our auth token as expired or
	                             invalid: the next build must make a fresh one */
	char reason[160];         /* the provider's reason (bounded copy), or herald's */
};

/* What providers share in one process: configuration, the database (APNs tokens are
 * shared through it), and a blocking HTTP POST for OAuth token endpoints. */
struct hd_provider_ctx {
	const struct hd_config *cfg;
	struct hd_db *db;
	/* POSTs body (Content-Type ctype) to url and reads the answer into resp (bounded);
	 * *status 0 when nothing was answered. For OAuth token requests only. */
	enum hd_err (*post)(struct hd_provider_ctx *ctx, const char *url, const char *ctype,
	    const char *body, size_t body_len, long *status, struct hd_buf *resp);
	void *post_arg;
};

/* Return values of build besides hd_err codes. */
#define HD_BUILD_READY 0       /* req is filled: send it */
#define HD_BUILD_REFUSED 1     /* refused before sending: *refused says why */

struct hd_provider {
	const char *name;   /* "apns", "fcm", "webpush", "wns" */
	/* Per-process state (token caches). May be NULL. */
	enum hd_err (*init)(struct hd_provider_ctx *ctx, void **state);
	void (*fini)(void *state);
	/* Builds the request for n to d with creds. Returns HD_BUILD_READY,
	 * HD_BUILD_REFUSED (e.g. payload over the provider's limit, missing credentials:
	 * kind REJECTED, reason naming the limit), or -(enum hd_err) for a local failure
	 * (an OAuth token could not be had: the delivery is retried). */
	int (*build)(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
	    const struct hd_notification *n, const struct hd_device_target *d,
	    struct hd_http_request *req, struct hd_outcome *refused);
	/* Classifies the answer to a request built by build. Also told when
	 * out->auth_expired comes back, so it drops the cached token. */
	void (*classify)(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
	    const struct hd_http_response *resp, struct hd_outcome *out);
};

extern const struct hd_provider hd_provider_apns;
extern const struct hd_provider hd_provider_fcm;
extern const struct hd_provider hd_provider_webpush;
extern const struct hd_provider hd_provider_wns;

/* Frees what a request owns; the struct is reusable afterwards. */
void hd_http_request_clear(struct hd_http_request *req);

/* Parses an HTTP Retry-After value (delta-seconds or IMF-fixdate) relative to now
 * (usec); returns the absolute time in usec, or 0 when absent or malformed. Values
 * are capped at one day. */
int64_t hd_retry_after_parse(const char *value, int64_t now);

/* The answer's Retry-After header, parsed as above; 0 when it has none. */
int64_t hd_retry_after(const struct hd_http_response *resp, int64_t now);

/*
 * Helpers the providers share to build requests and explain answers. Texts that come
 * from outside (provider answers) are copied bounded and with anything but printable
 * ASCII replaced by '?', so a reason or log line never carries control characters.
 */

/* Fills o as a REJECTED outcome whose reason is the formatted text; returns
 * HD_BUILD_REFUSED, for build to return. */
int hd_outcome_refuse(struct hd_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies at most len bytes of s (fewer at a NUL) into out, cut to cap - 1 and
 * cleaned as above; returns the length copied. s may be NULL (copies nothing). */
size_t hd_text_clean(char *out, size_t cap, const char *s, size_t len);

/* Sets o->reason to prefix followed by the outside text s, cleaned and cut to fit. */
void hd_outcome_reason(struct hd_outcome *o, const char *prefix, const char *s);

/* Sets o->reason to what, then ": " and detail when detail is not empty. detail must
 * already be clean. */
void hd_outcome_explain(struct hd_outcome *o, const char *what, const char *detail);

/* Starts classifying resp into out: zeroes out and sets provider_status. When nothing
 * was answered (status 0) sets RETRY with reason what and the transport error, and
 * returns false: classifying is done. */
bool hd_outcome_begin(struct hd_outcome *out, const struct hd_http_response *resp,
    const char *what);

/* A provider's documented error code and what it means. */
struct hd_reason_kind {
	const char *name;
	enum hd_outcome_kind kind;
	bool auth;              /* our auth token was refused: make a fresh one */
};

/* The entry of table (n entries) named name; NULL when name is NULL or unknown. */
const struct hd_reason_kind *hd_reason_find(const struct hd_reason_kind *table, size_t n,
    const char *name);

/* Formats the request's URL (owned by req afterwards); at most 4 KiB. */
enum hd_err hd_http_request_url(struct hd_http_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one formatted header line ("Name: value") to *list; at most 8 KiB. */
enum hd_err hd_header_add(struct curl_slist **list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* json-c, as the providers use it. json_object is json-c's own struct. */
struct json_object;

/* Parses text (len bytes) as exactly one JSON object in json-c's strict mode, with
 * UTF-8 checked and nesting bounded; whitespace may follow. Returns 0 with *out (the
 * caller puts it), 1 when the text is anything else, or -HD_ERR_NOMEM. */
int hd_json_parse_object(const char *text, size_t len, struct json_object **out);

/* The string member key of o; NULL when o is NULL, or key is absent or no string. */
const char *hd_json_get_str(struct json_object *o, const char *key);

/* Adds v under key of o, consuming v either way; v NULL (its allocation failed) is
 * HD_ERR_NOMEM. */
enum hd_err hd_json_put(struct json_object *o, const char *key, struct json_object *v);

/* Adds the string s under key; nothing when s is NULL. */
enum hd_err hd_json_put_str(struct json_object *o, const char *key, const char *s);

/* o as compact JSON text without escaped slashes, owned by o; NULL when out of
 * memory. */
const char *hd_json_text(struct json_object *o);

/* Signs a JWS whose header and claims are the given objects' JSON texts. */
enum hd_err hd_json_sign(const struct hd_signer *key, struct json_object *header,
    struct json_object *claims, char **jwt);

#endif
