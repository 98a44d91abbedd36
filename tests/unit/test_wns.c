/*
 * hd_provider_wns: build() fetches an OAuth token with the client credentials form
 * (checked by a fake token endpoint), caches it per app and fetches again after WNS
 * refuses it; the toast is XML that parses back to every field, with user text
 * escaped; headers carry type, token, priority, TTL, tag and group within WNS's rules;
 * raw toasts are checked, over-size payloads, missing credentials and malformed
 * channels refused with a reason; classify() maps every documented answer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"
#include "provider_test.h"
#include "unit.h"

#define TOKEN_URL "https://login.mock.test/accesstoken.srf"
#define CHANNEL "https://wns.mock.test/?token=AwYAAAD%2bXq"

static const struct hd_provider *P = &hd_provider_wns;
static struct hd_config cfg;
static struct hd_provider_ctx ctx;
static void *state;
static struct hd_app_creds creds;

/* The fake token endpoint: what it was asked and what it answers. */
static struct {
	int calls;
	char url[256], ctype[128], body[512];
	long status;
	const char *answer;
	enum hd_err err;
} token_ep;

static enum hd_err
fake_post(struct hd_provider_ctx *c, const char *url, const char *ctype, const char *body,
    size_t body_len, long *status, struct hd_buf *resp)
{
	(void)c;
	token_ep.calls++;
	snprintf(token_ep.url, sizeof(token_ep.url), "%s", url);
	snprintf(token_ep.ctype, sizeof(token_ep.ctype), "%s", ctype);
	snprintf(token_ep.body, sizeof(token_ep.body), "%.*s", (int)body_len, body);
	if (token_ep.err != HD_OK)
		return token_ep.err;
	*status = token_ep.status;
	return hd_buf_puts(resp, token_ep.answer);
}

static void
token_answers(long status, const char *answer)
{
	token_ep.status = status;
	token_ep.answer = answer;
	token_ep.err = HD_OK;
}

static const char good_token[] =
    "{\"access_token\":\"EgAcAQMAAAAALYAAY/c+Huwi3Fv4Ck10UrKNmtxRO6Njk2MgA=\","
    "\"token_type\":\"bearer\",\"expires_in\":86400}";

static void
setup(void)
{
	hd_config_defaults(&cfg);
	cfg.wns_token_url = TOKEN_URL;
	ctx.cfg = &cfg;
	ctx.post = fake_post;
	creds.app_id = 3;
	creds.wns_client_id = "ms-app://s-1-15-2-99";
	creds.wns_client_secret = "a+b/c=&d e";
	token_answers(200, good_token);
	CHECK(P->init(&ctx, &state) == HD_OK);
}

static struct hd_device_target
device(char *channel)
{
	struct hd_device_target d = { HD_PLATFORM_WINDOWS, channel, NULL, NULL };

	return d;
}

static const char *
header(const struct hd_http_request *req, const char *name)
{
	return header_in(req->headers, name, NULL);
}

static bool
streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool
cleared(const struct hd_http_request *req)
{
	return req->url == NULL && req->headers == NULL && req->body.data == NULL;
}

static int
build(const struct hd_notification *n, const struct hd_device_target *d,
    struct hd_http_request *req, struct hd_outcome *o)
{
	memset(o, 0, sizeof(*o));
	return P->build(&ctx, state, &creds, n, d, req, o);
}

/* The i-th element child of parent named name, or NULL. */
static xmlNodePtr
child(xmlNodePtr parent, const char *name, int i)
{
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0 &&
		    i-- == 0)
			return c;
	return NULL;
}

static int
element_count(xmlNodePtr parent)
{
	int n = 0;

	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		n += c->type == XML_ELEMENT_NODE;
	return n;
}

/* Compares an attribute or the text of node with want. */
static bool
attr_is(xmlNodePtr node, const char *name, const char *want)
{
	xmlChar *v = node ? xmlGetProp(node, (const xmlChar *)name) : NULL;
	bool ok = v && strcmp((const char *)v, want) == 0;

	xmlFree(v);
	return ok;
}

static bool
text_is(xmlNodePtr node, const char *want)
{
	xmlChar *v = node ? xmlNodeGetContent(node) : NULL;
	bool ok = v && strcmp((const char *)v, want) == 0;

	xmlFree(v);
	return ok;
}

static void
test_token_is_fetched_with_client_credentials_form(void)
{
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;

	token_ep.calls = 0;
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(token_ep.calls == 1);
	CHECK(streq(token_ep.url, TOKEN_URL));
	CHECK(streq(token_ep.ctype, "application/x-www-form-urlencoded"));
	CHECK_MSG(streq(token_ep.body, "grant_type=client_credentials"
	    "&client_id=ms-app%3A%2F%2Fs-1-15-2-99&client_secret=a%2Bb%2Fc%3D%26d%20e"
	    "&scope=notify.windows.com"), "%s", token_ep.body);
	CHECK(streq(header(&req, "Authorization"),
	    "Bearer EgAcAQMAAAAALYAAY/c+Huwi3Fv4Ck10UrKNmtxRO6Njk2MgA="));
	hd_http_request_clear(&req);
}

static void
test_full_notification_is_a_toast_with_every_header(void)
{
	struct hd_action actions[] = { { "yes", "Accept" }, { "no", "Decline" } };
	struct hd_notification n = { .title = "Hello", .subtitle = "From herald",
	    .body = "Body", .icon = "https://cdn.example.com/i.png",
	    .image = "https://cdn.example.com/big.png", .url = "https://example.com/o/1",
	    .data_json = "{\"order\":42}", .actions = actions, .nactions = 2,
	    .collapse_id = "order-42", .thread_id = "orders", .priority = 8, .sound = "ping" };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;
	xmlDocPtr doc;
	xmlNodePtr toast, binding, img, acts;
	xmlChar *launch;
	json_object *lj = NULL, *v;
	int64_t ttl;

	n.expires_at = hd_now_usec() + 600 * HD_USEC_PER_SEC;
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(streq(req.url, CHANNEL));
	CHECK(req.device_url);
	CHECK(count_headers(&req) == 8);
	CHECK(streq(header(&req, "Content-Type"), "text/xml"));
	CHECK(streq(header(&req, "X-WNS-Type"), "wns/toast"));
	CHECK(streq(header(&req, "X-WNS-RequestForStatus"), "true"));
	CHECK(streq(header(&req, "X-WNS-Priority"), "1"));
	CHECK(header(&req, "X-WNS-TTL") && hd_parse_i64(header(&req, "X-WNS-TTL"),
	    strlen(header(&req, "X-WNS-TTL")), &ttl) == 0 && ttl >= 598 && ttl <= 600);
	CHECK(streq(header(&req, "X-WNS-Tag"), "order-42"));
	CHECK(streq(header(&req, "X-WNS-Group"), "orders"));
	CHECK(header(&req, "Authorization") != NULL);

	doc = xmlReadMemory(req.body.data, (int)req.body.len, NULL, NULL, XML_PARSE_NONET);
	CHECK_MSG(doc != NULL, "the body is not XML");
	toast = doc ? xmlDocGetRootElement(doc) : NULL;
	CHECK(toast && strcmp((const char *)toast->name, "toast") == 0);
	CHECK(element_count(toast) == 2);
	binding = child(child(toast, "visual", 0), "binding", 0);
	CHECK(attr_is(binding, "template", "ToastGeneric"));
	CHECK(element_count(binding) == 5);
	CHECK(text_is(child(binding, "text", 0), "Hello"));
	CHECK(text_is(child(binding, "text", 1), "From herald"));
	CHECK(text_is(child(binding, "text", 2), "Body"));
	img = child(binding, "image", 0);
	CHECK(attr_is(img, "placement", "appLogoOverride"));
	CHECK(attr_is(img, "src", "https://cdn.example.com/i.png"));
	img = child(binding, "image", 1);
	CHECK(attr_is(img, "src", "https://cdn.example.com/big.png"));
	CHECK(img && xmlHasProp(img, (const xmlChar *)"placement") == NULL);
	acts = child(toast, "actions", 0);
	CHECK(element_count(acts) == 2);
	CHECK(attr_is(child(acts, "action", 0), "content", "Accept"));
	CHECK(attr_is(child(acts, "action", 0), "arguments", "yes"));
	CHECK(attr_is(child(acts, "action", 1), "content", "Decline"));
	CHECK(attr_is(child(acts, "action", 1), "arguments", "no"));
	launch = toast ? xmlGetProp(toast, (const xmlChar *)"launch") : NULL;
	CHECK(launch && (lj = json_tokener_parse((const char *)launch)) != NULL);
	CHECK(lj && json_object_object_length(lj) == 2);
	CHECK(lj && streq(json_object_get_string(json_object_object_get(lj, "url")),
	    "https://example.com/o/1"));
	CHECK(lj && json_object_object_get_ex(lj, "data", &v) &&
	    json_object_get_int(json_object_object_get(v, "order")) == 42);
	json_object_put(lj);
	xmlFree(launch);
	xmlFreeDoc(doc);
	hd_http_request_clear(&req);
}

static void
test_user_text_is_escaped_not_markup(void)
{
	struct hd_action actions[] = { { "a\"b", "<click>" } };
	struct hd_notification n = { .title = "<b>&amp;\"x\"</b>", .body = "]]> & <!-- -->",
	    .actions = actions, .nactions = 1, .priority = 5 };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;
	xmlDocPtr doc;
	xmlNodePtr toast, binding;

	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(strstr(req.body.data, "<b>") == NULL);
	doc = xmlReadMemory(req.body.data, (int)req.body.len, NULL, NULL, XML_PARSE_NONET);
	toast = doc ? xmlDocGetRootElement(doc) : NULL;
	binding = child(child(toast, "visual", 0), "binding", 0);
	CHECK(element_count(binding) == 2);
	CHECK(text_is(child(binding, "text", 0), "<b>&amp;\"x\"</b>"));
	CHECK(text_is(child(binding, "text", 1), "]]> & <!-- -->"));
	CHECK(attr_is(child(child(toast, "actions", 0), "action", 0), "content", "<click>"));
	CHECK(attr_is(child(child(toast, "actions", 0), "action", 0), "arguments", "a\"b"));
	CHECK(toast && xmlHasProp(toast, (const xmlChar *)"launch") == NULL);
	xmlFreeDoc(doc);
	hd_http_request_clear(&req);
}

static void
test_toast_shows_at_most_five_actions(void)
{
	struct hd_action actions[7] = { { "1", "a" }, { "2", "b" }, { "3", "c" }, { "4", "d" },
	    { "5", "e" }, { "6", "f" }, { "7", "g" } };
	struct hd_notification n = { .body = "b", .actions = actions, .nactions = 7,
	    .priority = 5 };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;
	xmlDocPtr doc;

	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	doc = xmlReadMemory(req.body.data, (int)req.body.len, NULL, NULL, XML_PARSE_NONET);
	CHECK(element_count(child(doc ? xmlDocGetRootElement(doc) : NULL, "actions", 0)) == 5);
	xmlFreeDoc(doc);
	hd_http_request_clear(&req);
}

static void
test_headers_follow_wns_limits(void)
{
	static const struct {
		int priority;
		char *collapse_id, *thread_id;
		const char *prio, *tag, *group;
	} cases[] = {
		{ 5, NULL, NULL, "2", NULL, NULL },
		{ 3, "abcdefghijklmnop", "g_1.x", "3", "abcdefghijklmnop", "g_1.x" },
		{ 1, "abcdefghijklmnopq", "a b", "3", NULL, NULL },
		{ 10, "x\r\nX-Evil: 1", "ok", "1", NULL, "ok" },
		{ 7, "", "", "2", NULL, NULL },
	};
	struct hd_device_target d = device(CHANNEL);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_notification n = { .body = "b", .priority = cases[i].priority,
		    .collapse_id = cases[i].collapse_id, .thread_id = cases[i].thread_id };
		struct hd_http_request req;
		struct hd_outcome o;

		CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
		CHECK_MSG(streq(header(&req, "X-WNS-Priority"), cases[i].prio), "case %zu", i);
		CHECK_MSG(cases[i].tag ? streq(header(&req, "X-WNS-Tag"), cases[i].tag) :
		    header(&req, "X-WNS-Tag") == NULL, "case %zu", i);
		CHECK_MSG(cases[i].group ? streq(header(&req, "X-WNS-Group"), cases[i].group) :
		    header(&req, "X-WNS-Group") == NULL, "case %zu", i);
		CHECK_MSG(header(&req, "X-WNS-TTL") == NULL, "case %zu: no expiry, no TTL", i);
		CHECK(header(&req, "X-Evil") == NULL);
		hd_http_request_clear(&req);
	}
}

static void
test_token_is_cached_per_app_and_fetched_again_after_401(void)
{
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;
	struct hd_http_response resp = { .status = 401, .headers = "", .body = "" };
	struct hd_app_creds other = creds;

	token_ep.calls = 0;
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	hd_http_request_clear(&req);
	CHECK_MSG(token_ep.calls == 0, "the token fetched earlier is reused");

	other.app_id = 4;
	CHECK(P->build(&ctx, state, &other, &n, &d, &req, &o) == HD_BUILD_READY);
	hd_http_request_clear(&req);
	CHECK_MSG(token_ep.calls == 1, "another app has its own token");

	P->classify(&ctx, state, &creds, &resp, &o);
	CHECK(o.kind == HD_OUTCOME_RETRY && o.auth_expired && o.provider_status == 401);
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	hd_http_request_clear(&req);
	CHECK_MSG(token_ep.calls == 2, "a refused token is fetched again");
	CHECK(P->build(&ctx, state, &other, &n, &d, &req, &o) == HD_BUILD_READY);
	hd_http_request_clear(&req);
	CHECK_MSG(token_ep.calls == 2, "only the refused app's token is dropped");
}

static void
test_default_token_endpoint_is_microsofts(void)
{
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;
	struct hd_app_creds fresh = creds;

	fresh.app_id = 5;
	cfg.wns_token_url = NULL;
	CHECK(P->build(&ctx, state, &fresh, &n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(streq(token_ep.url, "https://login.live.com/accesstoken.srf"));
	hd_http_request_clear(&req);
	cfg.wns_token_url = TOKEN_URL;
}

static void
test_unusable_token_answers_fail_locally(void)
{
	static const struct { long status; const char *answer; enum hd_err err; } cases[] = {
		{ 400, "{\"error\":\"invalid_client\"}", HD_OK },
		{ 500, "", HD_OK },
		{ 200, "not json", HD_OK },
		{ 200, "{\"token_type\":\"bearer\",\"expires_in\":86400}", HD_OK },
		{ 200, "{\"access_token\":\"a b\",\"expires_in\":86400}", HD_OK },
		{ 200, "{\"access_token\":\"tok\\r\\nX: y\"}", HD_OK },
		{ 200, "{\"access_token\":\"tok\",\"token_type\":\"mac\"}", HD_OK },
		{ 200, "{\"access_token\":\"tok\",\"expires_in\":-5}", HD_OK },
		{ 200, "{\"access_token\":\"tok\",\"expires_in\":99999999999}", HD_OK },
		{ 200, "{\"access_token\":\"tok\",\"expires_in\":[1]}", HD_OK },
		{ 200, "{\"access_token\":42}", HD_OK },
		{ 0, "", HD_ERR_IO },
	};
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_device_target d = device(CHANNEL);
	struct hd_app_creds fresh = creds;

	fresh.app_id = 6;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_http_request req;
		struct hd_outcome o;
		int rc;

		int calls = token_ep.calls;

		/* Each case on an app of its own: a failed fetch holds its app. */
		fresh.app_id = 100 + i;
		token_answers(cases[i].status, cases[i].answer);
		token_ep.err = cases[i].err;
		rc = P->build(&ctx, state, &fresh, &n, &d, &req, &o);
		CHECK_MSG(rc == -HD_ERR_IO, "case %zu: %d", i, rc);
		CHECK_MSG(token_ep.calls == calls + 1, "case %zu: the endpoint was not asked", i);
		CHECK(cleared(&req));
	}
	token_answers(200, "{\"access_token\":\"tok\",\"expires_in\":\"3600\"}");
	{
		struct hd_http_request req;
		struct hd_outcome o;
		int calls = token_ep.calls;

		/* After a failed fetch the app is held: no new (blocking) fetch per
		 * message. Another app fetches at once. */
		fresh.app_id = 100;
		CHECK(P->build(&ctx, state, &fresh, &n, &d, &req, &o) == -HD_ERR_IO);
		CHECK(token_ep.calls == calls && cleared(&req));
		fresh.app_id = 7;
		CHECK(P->build(&ctx, state, &fresh, &n, &d, &req, &o) == HD_BUILD_READY);
		CHECK(token_ep.calls == calls + 1);
		CHECK(streq(header(&req, "Authorization"), "Bearer tok"));
		hd_http_request_clear(&req);
	}
	token_answers(200, good_token);
}

static void
test_app_without_wns_credentials_is_refused(void)
{
	struct hd_app_creds none = { .app_id = 9, .wns_client_id = "id" };
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;

	CHECK(P->build(&ctx, state, &none, &n, &d, &req, &o) == HD_BUILD_REFUSED);
	CHECK(o.kind == HD_OUTCOME_REJECTED && streq(o.reason, "no WNS credentials for this app"));
	CHECK(cleared(&req));
}

static void
test_malformed_channels_are_refused(void)
{
	static char longest[2100];
	static char *const bad[] = {
		"http://wns.mock.test/?token=1", "https://", "https:///x", "https://:443/x",
		"https://user@wns.mock.test/x", "https://wns.mock.test/a b",
		"https://wns.mock.test/\r\nX: y", longest,
	};
	struct hd_notification n = { .body = "b", .priority = 5 };
	struct hd_http_request req;
	struct hd_outcome o;

	memcpy(longest, "https://wns.mock.test/", 22);
	memset(longest + 22, 'a', 2049 - 22);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hd_device_target d = device(bad[i]);

		CHECK_MSG(build(&n, &d, &req, &o) == HD_BUILD_REFUSED, "%s", bad[i]);
		CHECK(streq(o.reason, "malformed WNS channel URI"));
		CHECK(cleared(&req));
	}
}

static void
test_raw_toast_is_sent_verbatim_when_well_formed(void)
{
	static char raw[] = "<toast launch=\"x\"><visual><binding template=\"ToastGeneric\">"
	    "<text>raw &amp; ready</text></binding></visual></toast>";
	static char *const bad[] = {
		"<tile><visual/></tile>",
		"<toast><visual></toast>",
		"not xml",
		"",
		"<?xml version=\"1.0\"?><!DOCTYPE toast [<!ENTITY a \"aaaaaaaa\"><!ENTITY b "
		"\"&a;&a;&a;&a;&a;&a;&a;&a;\">]><toast>&b;</toast>",
		"<!DOCTYPE toast SYSTEM \"file:///etc/passwd\"><toast/>",
		"<x:toast xmlns:x=\"urn:other\"/>",
	};
	struct hd_notification n = { .title = "ignored", .priority = 5, .raw_wns = raw };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;

	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(req.body.len == strlen(raw) && memcmp(req.body.data, raw, req.body.len) == 0);
	CHECK(streq(header(&req, "X-WNS-Type"), "wns/toast"));
	hd_http_request_clear(&req);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n.raw_wns = bad[i];
		CHECK_MSG(build(&n, &d, &req, &o) == HD_BUILD_REFUSED, "case %zu", i);
		CHECK(o.kind == HD_OUTCOME_REJECTED &&
		    streq(o.reason, "raw WNS payload is not a well-formed <toast> XML document"));
		CHECK(cleared(&req));
	}
}

static void
test_payload_over_5000_bytes_is_refused_naming_the_limit(void)
{
	static char raw[5100], body[5100];
	struct hd_notification n = { .priority = 5, .raw_wns = raw };
	struct hd_device_target d = device(CHANNEL);
	struct hd_http_request req;
	struct hd_outcome o;

	memcpy(raw, "<toast>", 7);
	memset(raw + 7, 'x', 5001 - 7 - 8);
	memcpy(raw + 5001 - 8, "</toast>", 9);
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_REFUSED);
	CHECK_MSG(streq(o.reason, "payload is 5001 bytes; WNS allows 5000"), "%s", o.reason);
	CHECK(cleared(&req));
	raw[4993] = '\0';
	memcpy(raw + 4993 - 8, "</toast>", 9);
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_READY);
	CHECK(req.body.len == 4993);
	hd_http_request_clear(&req);

	n.raw_wns = NULL;
	memset(body, 'y', 5000);
	n.body = body;
	CHECK(build(&n, &d, &req, &o) == HD_BUILD_REFUSED);
	CHECK_MSG(strncmp(o.reason, "payload is ", 11) == 0 &&
	    strstr(o.reason, "bytes; WNS allows 5000") != NULL, "%s", o.reason);
	CHECK(cleared(&req));
}

static void
test_text_xml_cannot_carry_is_refused(void)
{
	static char bell[] = "ring\x07", nonchar[] = "x\xef\xbf\xbe", data[] = "{\"k\":\"\xef\xbf\xbf\"}";
	struct hd_notification cases[] = {
		{ .title = bell, .priority = 5 },
		{ .body = nonchar, .priority = 5 },
		{ .body = "b", .data_json = data, .priority = 5 },
	};
	struct hd_device_target d = device(CHANNEL);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_http_request req;
		struct hd_outcome o;

		CHECK_MSG(build(&cases[i], &d, &req, &o) == HD_BUILD_REFUSED, "case %zu", i);
		CHECK(streq(o.reason, "a text holds characters XML cannot carry"));
		CHECK(cleared(&req));
	}
}

static void
test_data_that_is_not_an_object_is_refused(void)
{
	static char bad[][16] = { "[1]", "3", "{\"a\":", "{} {}" };
	struct hd_device_target d = device(CHANNEL);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hd_notification n = { .body = "b", .data_json = bad[i], .priority = 5 };
		struct hd_http_request req;
		struct hd_outcome o;

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
		const char *headers;
		enum hd_outcome_kind kind;
		const char *reason;
		int64_t retry_in;
		bool auth_expired;
	} cases[] = {
		{ 200, "X-WNS-Status: received\r\nX-WNS-Msg-ID: 1\r\n", HD_OUTCOME_DELIVERED, "", -1, false },
		{ 200, "", HD_OUTCOME_DELIVERED, "", -1, false },
		{ 200, "X-WNS-Status: channelthrottled\r\n", HD_OUTCOME_RETRY,
		  "WNS throttled this channel", -1, false },
		{ 200, "X-WNS-Status: dropped\r\nX-WNS-DeviceConnectionStatus: disconnected\r\n",
		  HD_OUTCOME_RETRY, "WNS dropped the notification: the device is offline", -1, false },
		{ 200, "X-WNS-Status: dropped\r\nX-WNS-DeviceConnectionStatus: tempdisconnected\r\n",
		  HD_OUTCOME_RETRY, "WNS dropped the notification: the device is offline", -1, false },
		{ 200, "X-WNS-Status: dropped\r\nX-WNS-DeviceConnectionStatus: connected\r\n",
		  HD_OUTCOME_REJECTED, "WNS dropped the notification", -1, false },
		{ 200, "X-WNS-Status: dropped\r\n", HD_OUTCOME_REJECTED,
		  "WNS dropped the notification", -1, false },
		{ 400, "X-WNS-Error-Description: Invalid X-WNS-Type header\r\n", HD_OUTCOME_REJECTED,
		  "bad request: Invalid X-WNS-Type header", -1, false },
		{ 401, "", HD_OUTCOME_RETRY, "WNS refused the access token", -1, true },
		{ 403, "", HD_OUTCOME_REJECTED, "the channel belongs to another app", -1, false },
		{ 404, "", HD_OUTCOME_GONE, "channel URI not recognized", -1, false },
		{ 405, "", HD_OUTCOME_REJECTED, "method not allowed", -1, false },
		{ 406, "Retry-After: 60\r\n", HD_OUTCOME_RETRY, "throttle limit exceeded", 60, false },
		{ 406, "", HD_OUTCOME_RETRY, "throttle limit exceeded", -1, false },
		{ 410, "X-WNS-Error-Description: Channel expired\r\n", HD_OUTCOME_GONE,
		  "channel expired: Channel expired", -1, false },
		{ 413, "", HD_OUTCOME_REJECTED, "payload too large", -1, false },
		{ 429, "Retry-After: 5\r\n", HD_OUTCOME_RETRY, "too many requests", 5, false },
		{ 500, "", HD_OUTCOME_RETRY, "WNS error", -1, false },
		{ 503, "Retry-After: 90\r\nX-WNS-Error-Description: busy\r\n", HD_OUTCOME_RETRY,
		  "WNS error: busy", 90, false },
		{ 418, "", HD_OUTCOME_REJECTED, "unexpected HTTP status 418", -1, false },
		{ 302, "X-WNS-Error-Description: moved\r\n", HD_OUTCOME_REJECTED,
		  "unexpected HTTP status 302: moved", -1, false },
		{ 400, "X-WNS-Error-Description: a\x01" "b\xc3\xa9\r\n", HD_OUTCOME_REJECTED,
		  "bad request: a?b??", -1, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_http_response resp = { .status = cases[i].status,
		    .headers = cases[i].headers, .headers_len = strlen(cases[i].headers),
		    .body = "", .body_len = 0 };
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
			CHECK_MSG(o.retry_at == 0, "case %zu", i);
		else
			CHECK_MSG(o.retry_at >= now + cases[i].retry_in * HD_USEC_PER_SEC &&
			    o.retry_at <= hd_now_usec() + cases[i].retry_in * HD_USEC_PER_SEC,
			    "case %zu", i);
	}
}

static void
test_classify_long_description_is_cut_to_fit(void)
{
	char headers[400];
	struct hd_http_response resp = { .status = 400, .body = "", .body_len = 0 };
	struct hd_outcome o;

	snprintf(headers, sizeof(headers), "X-WNS-Error-Description: %0300d\r\n", 7);
	resp.headers = headers;
	resp.headers_len = strlen(headers);
	P->classify(&ctx, state, &creds, &resp, &o);
	CHECK(o.kind == HD_OUTCOME_REJECTED);
	CHECK(strlen(o.reason) < sizeof(o.reason) && strncmp(o.reason, "bad request: 000", 16) == 0);
}

static void
test_classify_transport_failure_is_retried(void)
{
	struct hd_http_response resp = { .status = 0, .transport_error = "Timeout was reached" };
	struct hd_outcome o;

	P->classify(&ctx, state, &creds, &resp, &o);
	CHECK(o.kind == HD_OUTCOME_RETRY && o.retry_at == 0 && o.provider_status == 0);
	CHECK(streq(o.reason, "no answer from WNS: Timeout was reached"));
}

int
main(void)
{
	hd_log_setup("test_wns", HD_LOG_ERROR);
	setup();
	test_token_is_fetched_with_client_credentials_form();
	test_full_notification_is_a_toast_with_every_header();
	test_user_text_is_escaped_not_markup();
	test_toast_shows_at_most_five_actions();
	test_headers_follow_wns_limits();
	test_token_is_cached_per_app_and_fetched_again_after_401();
	test_default_token_endpoint_is_microsofts();
	test_unusable_token_answers_fail_locally();
	test_app_without_wns_credentials_is_refused();
	test_malformed_channels_are_refused();
	test_raw_toast_is_sent_verbatim_when_well_formed();
	test_payload_over_5000_bytes_is_refused_naming_the_limit();
	test_text_xml_cannot_carry_is_refused();
	test_data_that_is_not_an_object_is_refused();
	test_classify_maps_every_documented_answer();
	test_classify_long_description_is_cut_to_fit();
	test_classify_transport_failure_is_retried();
	P->fini(state);
	UNIT_DONE();
}
