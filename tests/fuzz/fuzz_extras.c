/*
 * Fuzz driver: a message's extras JSON (hd_notification_set_extras on arbitrary
 * bytes), and what each provider builds from the notification it yields. The extras
 * are stored by herald, but their strings (raw payloads, collapse and thread ids,
 * URLs, action texts) come from clients, so build() must bound and check them.
 *
 * The extras sit on one of three base notifications, picked by the input's length
 * (size % 3): nothing but the extras; title, body, sound, custom data, high priority
 * and an hour to live; a non-ASCII body, low priority and long expired. When
 * set_extras accepts the input, APNs, FCM, Web Push and WNS each build a request to a
 * fixed, valid device of their platform with fixed credentials (the embedded test
 * keys below are for this driver only; the OAuth post answers a canned token, so FCM
 * and WNS builds go through).
 *
 * Checks: set_extras answers OK, INTERNAL or NOMEM, and what it accepts has whole
 * actions and a known interruption level; build answers READY, REFUSED (a REJECTED
 * outcome with a reason, nothing left in the request) or a negative hd_err; a READY
 * request has a URL, its URL and header lines are printable ASCII only (no header
 * injection), its body is within the provider's limit and, when the extras were
 * UTF-8 (see check_request), is a JSON object for APNs and FCM and a well-formed
 * <toast> for WNS; hd_http_request_clear and hd_notification_clear free everything
 * (LeakSanitizer).
 */
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "fuzz.h"
#include "hd_ece.h"
#include "hd_jws.h"
#include "hd_notification.h"
#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"

#define APP_ID 42
#define HOUR_US (INT64_C(3600) * HD_USEC_PER_SEC)

/* Test keys, made with `openssl genpkey` for this driver: P-256 (APNs, VAPID) and
 * 2048-bit RSA (FCM). */
static const char ec_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOWHdOsIYIoxerWwm\n"
	"bwH4IZFVsum+Lx0OamTH5GCRjEyhRANCAARVwHKiOabQwsGSOfLNqlGd2zl72nBW\n"
	"ERz1At10EgxQ0e7e7f/LZHxNYfMvHrUwtPZwHyidHtZc7QoFOrLekKsU\n"
	"-----END PRIVATE KEY-----\n";
static const char rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC/FoM9qaxfiVIC\n"
	"J0pFnvlYfBAdHHmu0bPjaPrYpObLMaGWxAPZKANNW/I4Dd2WmYrHMW31xyCee2Ri\n"
	"MSEJ1wYlV7BTSb9z4OcQwt21UqcH40tDRWqWR2ynVS6KpsNFuCG/AKvcZYuqTWb8\n"
	"0EFNneHtUyixnF/i5wkKczRuiQ7N2b+UQDmLBAHfRNCuw60fVcgoE0bF02bhxVbU\n"
	"NiMk1tg4AyG1ekdOXXFUKlQx8aIBgJzy+X7d+1/NUSBMBG8M1XtprU0m9j2nyAz5\n"
	"5SVXKwVUR7ztZy9TN7ToQk3562EgmYo1QMIB0As9Aro65B9Y8WmR9H18y/UJr5eK\n"
	"3/RxQUv3AgMBAAECggEAEzGY3ifoW1zzjVQn/C/t3iBGuBMvpR/a4KlJ+lqEn31X\n"
	"50kUv9+/29SJUxhlcmaaz3ZHaWwRJTTCDluJSi/nJfdrC8/5DekrHH5jqakTLlIm\n"
	"MawhJYDSyPNf7j0LmTmtE2k8Wgd4d2iN7dqh7JYYEZq27Ybbr3LDGuHGhEx6XbJo\n"
	"TfyFoJnrfgJaDgDAn9mPU1mrahqO3xTxuQKPNq6jH1sGVeKod1nI/kOsxXfyDe4O\n"
	"eywJ5WFX2Ea0U0m15ELUl6dwDSundyC7VPpAuFFM6bln485YvW4iiQp9HZhAsg5o\n"
	"36Tq6WdbvsRm760dNV2sDcBcC094CI9f62ZHR6farQKBgQD35OgfhT3MW1+mDiKX\n"
	"7vK1i39o9eLm8wtVFMAxXgDDeM4v64whMoj2VIwMN053RE9/L2K8lPJxakZ2bxkP\n"
	"LXBSbo9xvct3wbswm6mGgWhA09PS+VUxBkV9AxlArTGRedrC3v/R+MiyKawqLggD\n"
	"m52yAwigIwA4bPiS17WVGvR+ewKBgQDFVhZtNuBVFTkbIsW7EPHNNGaLQNDgn+mE\n"
	"cwAaG7KqzpaTDwEAusJ7HP4OlhMqnT8m9XhEbJH1/dS/FW4mvUFCHD4P6cwp6QYp\n"
	"Fof7/a36mhgcpLvkKbEPpQgKwx9C5mIOlgU1WVSdWnKODQa/iNGKBAascptGLlT8\n"
	"hBoiwCTttQKBgQCuzv4dlDEjFeBaUid06qy+9xMu6g5K/GMmaU6qwXZaYatMwZb8\n"
	"pg1NYAuuZaXwlvxUXQ8MmyBoeCAeTnPmbw2BI7QF6mg8GCKvwWWHk2P4Kyh54xd/\n"
	"TcPcxz2cjUWiJ8LrnqPZ5s1oTdi5meJO4QMQT/FaM7RpFfcoXfMPpYV6VwKBgFyC\n"
	"TgMm/aWFTH8XHwDiIajkTsorOYCEFtG7o6mZoHmIXXhVSVARPUi/v64Q1q1ciBV4\n"
	"b8gL6aUbOJfXsQrCIAyg9ss4/DgNgJDUei08sEnR4UnURCzjCpld8VYyQL55CDD0\n"
	"TT7EQPF/TEKhgq9ZsXl1B7fiBj6xS7ARMbtmvikdAoGBAJtKCH1VVQVVcWCrw+BA\n"
	"qWh1PjcbNBkxsbN/B7aZixnlp+Mhns6wk6ZNH5HCMqKSbE85Sc8GPq9APVbtA7JD\n"
	"DQHy3bow0xSgp88McBtgfvZayZiZ4WhPUdIW0qUdZwOyidd78pdEl0laO+EDChml\n"
	"J5+krxkpuSZK4ZAkNZOMKKl6\n"
	"-----END PRIVATE KEY-----\n";

/* A Web Push subscription's keys: a P-256 public point and a 16-byte auth secret,
 * base64url. */
#define WP_P256DH "BOEurSOXV14R3ELtwDIDr1EufqrP5JnEZaHmpYCfeKLZZrtoYyBPvNNOpFAdbMYW6afd" \
	"uWyQR5vvcmCzEnmkQd8"
#define WP_AUTH "mTURHglMEkKixOlVst9zFw"

#define TOKEN_ANSWER "{\"access_token\":\"ya29.fuzz-token\",\"token_type\":\"Bearer\"," \
	"\"expires_in\":3600}"

struct target {
	const struct hd_provider *provider;
	struct hd_device_target device;
	size_t body_max;        /* the provider's limit on the body it sends */
	enum { BODY_JSON, BODY_TOAST, BODY_OPAQUE } body;
	void *state;
};

static struct target targets[] = {
	{ &hd_provider_apns, { HD_PLATFORM_IOS,
	    "17a5e6683ceefcf4a579e38dd0654cfe7abcd0610da5ba65332269d2d58a358d", NULL, NULL },
	    4096, BODY_JSON, NULL },
	{ &hd_provider_fcm, { HD_PLATFORM_ANDROID,
	    "dGVzdC1kZXZpY2U:APA91bF-fuzz_registration.token", NULL, NULL },
	    4096 + sizeof("{\"message\":}") - 1, BODY_JSON, NULL },
	{ &hd_provider_webpush, { HD_PLATFORM_WEB, "https://push.example.net/x", WP_P256DH,
	    WP_AUTH }, HD_ECE_RECORD_SIZE, BODY_OPAQUE, NULL },
	{ &hd_provider_wns, { HD_PLATFORM_WINDOWS, "https://wns.example.net/c", NULL, NULL },
	    5000, BODY_TOAST, NULL },
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

/* The token endpoint of FCM and WNS: always grants a token for an hour. */
static enum hd_err
canned_post(struct hd_provider_ctx *ctx, const char *url, const char *ctype,
    const char *body, size_t body_len, long *status, struct hd_buf *resp)
{
	(void)ctx;
	(void)ctype;
	FUZZ_ASSERT(url != NULL && body != NULL && body_len > 0);
	*status = 200;
	return hd_buf_puts(resp, TOKEN_ANSWER);
}

static bool
printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

static bool
toast_ok(const char *xml, size_t len)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	bool ok = root != NULL && strcmp((const char *)root->name, "toast") == 0;

	xmlFreeDoc(doc);
	return ok;
}

static void
check_request(const struct target *t, const struct hd_http_request *req)
{
	json_object *doc = NULL;

	FUZZ_ASSERT(req->url != NULL && req->url[0] != '\0' && printable(req->url));
	FUZZ_ASSERT(req->headers != NULL);
	for (const struct curl_slist *h = req->headers; h; h = h->next)
		FUZZ_ASSERT(h->data != NULL && printable(h->data));
	FUZZ_ASSERT(req->body.data != NULL && req->body.len > 0);
	FUZZ_ASSERT(req->body.len <= t->body_max);
	if (t->body == BODY_JSON) {
		FUZZ_ASSERT(hd_json_parse_object(req->body.data, req->body.len, &doc) == 0);
		json_object_put(doc);
	} else if (t->body == BODY_TOAST) {
		FUZZ_ASSERT(toast_ok(req->body.data, req->body.len));
	}
}

static void
build_all(struct hd_provider_ctx *ctx, const struct hd_app_creds *creds,
    const struct hd_notification *n)
{
	struct hd_http_request req;
	struct hd_outcome refused;

	for (size_t i = 0; i < NTARGETS; i++) {
		struct target *t = &targets[i];
		int rc;

		memset(&refused, 0, sizeof(refused));
		rc = t->provider->build(ctx, t->state, creds, n, &t->device, &req, &refused);
		if (rc == HD_BUILD_READY) {
			check_request(t, &req);
		} else if (rc == HD_BUILD_REFUSED) {
			FUZZ_ASSERT(refused.kind == HD_OUTCOME_REJECTED);
			FUZZ_ASSERT(refused.reason[0] != '\0');
			FUZZ_ASSERT(memchr(refused.reason, '\0', sizeof(refused.reason)) != NULL);
		} else {
			FUZZ_ASSERT(rc < 0 && -rc > HD_OK && -rc < HD_ERR__MAX);
		}
		if (rc != HD_BUILD_READY)
			FUZZ_ASSERT(req.url == NULL && req.headers == NULL && req.body.data == NULL);
		hd_http_request_clear(&req);
	}
}

/* The base notification of the header comment for variant v. */
static void
base(struct hd_notification *n, unsigned v, int64_t now)
{
	memset(n, 0, sizeof(*n));
	n->priority = 5;
	if (v == 1) {
		n->title = strdup("Hello");
		n->body = strdup("World & <friends>");
		n->sound = strdup("default");
		n->data_json = strdup("{\"k\":\"v\",\"n\":[1,2],\"o\":{\"x\":null}}");
		FUZZ_ASSERT(n->title && n->body && n->sound && n->data_json);
		n->priority = 10;
		n->expires_at = now + HOUR_US;
	} else if (v == 2) {
		n->body = strdup("Gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93");
		FUZZ_ASSERT(n->body);
		n->priority = 1;
		n->expires_at = 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hd_config cfg;
	static struct hd_provider_ctx ctx;
	static struct hd_app_creds creds;
	static int ready;
	struct hd_notification n;
	enum hd_err err;

	if (!ready) {
		hd_config_defaults(&cfg);
		ctx.cfg = &cfg;
		ctx.db = NULL;
		ctx.post = canned_post;
		creds.app_id = APP_ID;
		creds.apns_auth = HD_APNS_TOKEN;
		creds.apns_team_id = "TEAM012345";
		creds.apns_key_id = "KEY0123456";
		creds.apns_key_fingerprint =
		    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
		creds.apns_topic = "net.example.herald";
		creds.fcm_project_id = "herald-fuzz";
		creds.fcm_client_email = "fuzz@herald-fuzz.iam.gserviceaccount.com";
		creds.vapid_subject = "mailto:ops@example.net";
		creds.wns_client_id = "ms-app://s-1-15-2-fuzz";
		creds.wns_client_secret = "fuzz secret/+=";
		FUZZ_ASSERT(hd_signer_from_pem(ec_pem, sizeof(ec_pem) - 1, HD_JWS_ES256,
		    &creds.apns_key) == HD_OK);
		FUZZ_ASSERT(hd_signer_from_pem(ec_pem, sizeof(ec_pem) - 1, HD_JWS_ES256,
		    &creds.vapid_key) == HD_OK);
		FUZZ_ASSERT(hd_signer_from_pem(rsa_pem, sizeof(rsa_pem) - 1, HD_JWS_RS256,
		    &creds.fcm_key) == HD_OK);
		for (size_t i = 0; i < NTARGETS; i++)
			FUZZ_ASSERT(targets[i].provider->init(&ctx, &targets[i].state) == HD_OK);
		ready = 1;
	}

	base(&n, (unsigned)(size % 3), hd_now_usec());
	err = hd_notification_set_extras(&n, (const char *)data, size);
	FUZZ_ASSERT(err == HD_OK || err == HD_ERR_INTERNAL || err == HD_ERR_NOMEM);
	for (size_t i = 0; i < n.nactions; i++)
		FUZZ_ASSERT(err != HD_OK || (n.actions[i].id != NULL && n.actions[i].title != NULL));
	if (err == HD_OK) {
		FUZZ_ASSERT(n.interruption >= HD_INTR_DEFAULT && n.interruption <= HD_INTR_CRITICAL);
		/* Extras go into payloads: only valid UTF-8 is accepted. */
		FUZZ_ASSERT(hd_utf8_valid((const char *)data, size));
		build_all(&ctx, &creds, &n);
	}
	hd_notification_clear(&n);
	FUZZ_ASSERT(n.title == NULL && n.actions == NULL && n.nactions == 0);
	return 0;
}
