/* What providers share: answer headers, Retry-After, the neutral notification's
 * stored extras, refusals and reasons from outside text, request building, strict
 * JSON objects, and the OAuth token cache. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hd_notification.h"
#include "hd_oauth.h"
#include "hd_provider.h"
#include "hd_time.h"
#include "provider_test.h"
#include "unit.h"

static void
test_header_lookup_is_case_insensitive_trimmed_and_last_wins(void)
{
	static const char raw[] = "HTTP/2 429\r\nRetry-After:  120 \r\napns-id: abc\r\n"
	    "X-Dup: one\r\nx-dup: two\r\n\r\n";
	struct hd_http_response r = { .status = 429, .headers = raw,
		.headers_len = sizeof(raw) - 1 };
	char v[16];

	CHECK(hd_http_header(&r, "retry-after", v, sizeof(v)) && strcmp(v, "120") == 0);
	CHECK(hd_http_header(&r, "APNS-ID", v, sizeof(v)) && strcmp(v, "abc") == 0);
	CHECK(hd_http_header(&r, "x-dup", v, sizeof(v)) && strcmp(v, "two") == 0);
	CHECK(!hd_http_header(&r, "apns", v, sizeof(v)));
	CHECK(!hd_http_header(&r, "missing", v, sizeof(v)));
	/* A value longer than the caller's buffer is absent, not cut. */
	CHECK(!hd_http_header(&r, "apns-id", v, 3));
	r.headers = NULL;
	r.headers_len = 0;
	CHECK(!hd_http_header(&r, "apns-id", v, sizeof(v)));
}

static void
test_retry_after_reads_seconds_and_dates_and_caps_at_a_day(void)
{
	const int64_t now = INT64_C(784111777) * HD_USEC_PER_SEC; /* 1994-11-06 08:49:37 */
	const int64_t day = 86400 * HD_USEC_PER_SEC;

	CHECK(hd_retry_after_parse("120", now) == now + 120 * HD_USEC_PER_SEC);
	CHECK(hd_retry_after_parse("0", now) == now);
	CHECK(hd_retry_after_parse("Sun, 06 Nov 1994 08:49:47 GMT", now) ==
	    now + 10 * HD_USEC_PER_SEC);
	/* A date in the past means now; far futures are capped. */
	CHECK(hd_retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", now) == now);
	CHECK(hd_retry_after_parse("99999999", now) == now + day);
	CHECK(hd_retry_after_parse("Fri, 31 Dec 9999 23:59:59 GMT", now) == now + day);
	const char *bad[] = { "", "-1", "1.5", "12s", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun, 32 Nov 1994 08:49:37 GMT", "99999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(hd_retry_after_parse(bad[i], now) == 0, "%s", bad[i]);
	CHECK(hd_retry_after_parse(NULL, now) == 0);
}

static void
test_extras_fill_every_field(void)
{
	static const char json[] = "{\"subtitle\":\"s\",\"badge\":3,\"image\":\"https://i/x.png\","
	    "\"icon\":\"https://i/i.png\",\"url\":\"https://e/x\",\"actions\":[{\"id\":\"yes\","
	    "\"title\":\"Yes\"},{\"id\":\"no\",\"title\":\"No\"}],\"category\":\"c\","
	    "\"thread_id\":\"t\",\"collapse_id\":\"k\",\"interruption\":\"time-sensitive\","
	    "\"urgency\":\"very-low\","
	    "\"content_available\":true,\"mutable_content\":true,\"raw\":{\"apns\":{\"aps\":"
	    "{\"alert\":\"hi\"}},\"webpush\":\"plain\",\"wns\":\"<toast/>\"}}";
	struct hd_notification n = { 0 };

	CHECK(hd_notification_set_extras(&n, json, sizeof(json) - 1) == HD_OK);
	CHECK(n.subtitle && strcmp(n.subtitle, "s") == 0);
	CHECK(n.has_badge && n.badge == 3);
	CHECK(n.image && strcmp(n.image, "https://i/x.png") == 0);
	CHECK(n.icon && n.url && n.category && n.thread_id && n.collapse_id);
	CHECK(n.nactions == 2 && strcmp(n.actions[1].id, "no") == 0 &&
	    strcmp(n.actions[1].title, "No") == 0);
	CHECK(n.interruption == HD_INTR_TIME_SENSITIVE && n.urgency == HD_URG_VERY_LOW);
	CHECK(n.content_available && n.mutable_content);
	CHECK(n.raw_apns && strcmp(n.raw_apns, "{\"aps\":{\"alert\":\"hi\"}}") == 0);
	CHECK(n.raw_webpush && strcmp(n.raw_webpush, "plain") == 0);
	CHECK(n.raw_wns && strcmp(n.raw_wns, "<toast/>") == 0 && n.raw_fcm == NULL);
	hd_notification_clear(&n);
	CHECK(n.subtitle == NULL && n.actions == NULL && n.nactions == 0);
}

static void
test_malformed_extras_are_refused(void)
{
	const char *bad[] = { "", "[]", "{\"badge\":\"3\"}", "{\"subtitle\":1}",
		"{\"actions\":[{\"id\":\"x\"}]}", "{\"actions\":{}}", "{\"interruption\":\"loud\"}",
		"{\"urgency\":\"urgent\"}", "{\"urgency\":\"Very-Low\"}", "{\"urgency\":5}",
		"{\"raw\":[]}", "{\"raw\":{\"apns\":1}}", "{\"mutable_content\":1}", "{" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hd_notification n = { 0 };

		CHECK_MSG(hd_notification_set_extras(&n, bad[i], strlen(bad[i])) != HD_OK, "%s",
		    bad[i]);
		hd_notification_clear(&n);
	}
}

static void
test_ttl_left(void)
{
	struct hd_notification n = { 0 };
	const int64_t now = 1000 * HD_USEC_PER_SEC;

	CHECK(hd_notification_ttl_left(&n, now) == -1);
	n.expires_at = now + 90 * HD_USEC_PER_SEC + 500000;
	CHECK(hd_notification_ttl_left(&n, now) == 90);
	n.expires_at = now - 1;
	CHECK(hd_notification_ttl_left(&n, now) == 0);
}

static void
test_refuse_fills_a_rejected_outcome_with_the_formatted_reason(void)
{
	struct hd_outcome o = { .kind = HD_OUTCOME_RETRY, .retry_at = 5, .auth_expired = true };

	CHECK(hd_outcome_refuse(&o, "payload is %zu bytes; X allows %d", (size_t)5000, 4096) ==
	    HD_BUILD_REFUSED);
	CHECK(o.kind == HD_OUTCOME_REJECTED && o.retry_at == 0 && !o.auth_expired);
	CHECK(strcmp(o.reason, "payload is 5000 bytes; X allows 4096") == 0);
}

static void
test_outside_text_is_cleaned_and_cut_to_fit(void)
{
	char out[6];
	struct hd_outcome o;
	char long_text[400];

	CHECK(hd_text_clean(out, sizeof(out), "a\x01" "b\n\xc3\xa9z", 4) == 4);
	CHECK(strcmp(out, "a?b?") == 0);
	CHECK(hd_text_clean(out, sizeof(out), "abcdefgh", 8) == 5 && strcmp(out, "abcde") == 0);
	CHECK(hd_text_clean(out, sizeof(out), NULL, 3) == 0 && out[0] == '\0');

	hd_outcome_reason(&o, "no answer: ", "bad\r\nline");
	CHECK(strcmp(o.reason, "no answer: bad??line") == 0);
	hd_outcome_reason(&o, "prefix only", NULL);
	CHECK(strcmp(o.reason, "prefix only") == 0);
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	hd_outcome_reason(&o, "", long_text);
	CHECK(strlen(o.reason) == sizeof(o.reason) - 1);

	hd_outcome_explain(&o, "bad request", "");
	CHECK(strcmp(o.reason, "bad request") == 0);
	hd_outcome_explain(&o, "bad request", "InvalidTag");
	CHECK(strcmp(o.reason, "bad request: InvalidTag") == 0);
	hd_outcome_explain(&o, long_text, "detail");
	CHECK(strlen(o.reason) == sizeof(o.reason) - 1);
}

static void
test_no_answer_is_a_retry_naming_the_transport_error(void)
{
	struct hd_http_response none = { .status = 0, .transport_error = "Timeout\n!" };
	struct hd_http_response bare = { .status = 0 };
	struct hd_http_response answered = { .status = 503 };
	struct hd_outcome o;

	CHECK(!hd_outcome_begin(&o, &none, "no answer from X"));
	CHECK(o.kind == HD_OUTCOME_RETRY && o.provider_status == 0 && o.retry_at == 0);
	CHECK(strcmp(o.reason, "no answer from X: Timeout?!") == 0);
	CHECK(!hd_outcome_begin(&o, &bare, "no answer from X"));
	CHECK(strcmp(o.reason, "no answer from X") == 0);
	o.auth_expired = true;
	CHECK(hd_outcome_begin(&o, &answered, "no answer from X"));
	CHECK(o.provider_status == 503 && !o.auth_expired && o.reason[0] == '\0');
}

static void
test_reason_table_lookup(void)
{
	static const struct hd_reason_kind table[] = {
		{ "Gone", HD_OUTCOME_GONE, false },
		{ "Auth", HD_OUTCOME_RETRY, true },
	};

	CHECK(hd_reason_find(table, 2, "Auth") == &table[1]);
	CHECK(hd_reason_find(table, 2, "auth") == NULL);
	CHECK(hd_reason_find(table, 2, NULL) == NULL);
}

static void
test_retry_after_header_of_an_answer(void)
{
	static const char raw[] = "retry-after: 30\r\n";
	struct hd_http_response with = { .status = 429, .headers = raw,
		.headers_len = sizeof(raw) - 1 };
	struct hd_http_response without = { .status = 429 };
	const int64_t now = 1000 * HD_USEC_PER_SEC;

	CHECK(hd_retry_after(&with, now) == now + 30 * HD_USEC_PER_SEC);
	CHECK(hd_retry_after(&without, now) == 0);
}

static void
test_request_url_and_header_lines_are_formatted_and_bounded(void)
{
	struct hd_http_request req = { 0 };
	char *big = malloc(9000);
	int count;

	CHECK(big != NULL);
	if (big == NULL)
		return;
	CHECK(hd_http_request_url(&req, "%s/3/device/%s", "https://h", "abcd") == HD_OK);
	CHECK(strcmp(req.url, "https://h/3/device/abcd") == 0);
	CHECK(hd_header_add(&req.headers, "apns-priority: %d", 10) == HD_OK);
	CHECK(hd_header_add(&req.headers, "%s", "Authorization: Bearer t") == HD_OK);
	CHECK(strcmp(header_in(req.headers, "apns-priority", &count), "10") == 0 && count == 1);
	CHECK(strcmp(header_in(req.headers, "authorization", NULL), "Bearer t") == 0);
	memset(big, 'a', 8999);
	big[8999] = '\0';
	CHECK(hd_http_request_url(&req, "https://h/%s", big) == HD_ERR_NOMEM);
	CHECK(strcmp(req.url, "https://h/3/device/abcd") == 0);
	CHECK(hd_header_add(&req.headers, "x: %s", big) == HD_ERR_NOMEM);
	CHECK(count_headers(&req) == 2);
	hd_http_request_clear(&req);
	CHECK(req.url == NULL && req.headers == NULL);
	free(big);
}

static void
test_json_object_parse_takes_exactly_one_strict_object(void)
{
	static const struct { const char *text; int rc; } cases[] = {
		{ "{\"a\":1}", 0 },
		{ " {\"a\":[1,2]} \r\n", 0 },
		{ "", 1 },
		{ "[1]", 1 },
		{ "\"s\"", 1 },
		{ "{} {}", 1 },
		{ "{\"a\":1} x", 1 },
		{ "{\"a\":\"\xff\"}", 1 },
		{ "{\"a\":", 1 },
	};
	json_object *o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = hd_json_parse_object(cases[i].text, strlen(cases[i].text), &o);

		CHECK_MSG(rc == cases[i].rc, "case %zu: %d", i, rc);
		CHECK_MSG((o != NULL) == (rc == 0), "case %zu", i);
		json_object_put(o);
	}
	/* Only len bytes count: what follows is not read. */
	CHECK(hd_json_parse_object("{}garbage", 2, &o) == 0);
	json_object_put(o);
}

static void
test_json_put_consumes_values_and_text_keeps_slashes(void)
{
	json_object *o = json_object_new_object();

	CHECK(hd_json_put_str(o, "url", "https://a/b") == HD_OK);
	CHECK(hd_json_put_str(o, "none", NULL) == HD_OK);
	CHECK(hd_json_put(o, "n", json_object_new_int(3)) == HD_OK);
	CHECK(hd_json_put(o, "failed", NULL) == HD_ERR_NOMEM);
	CHECK(strcmp(hd_json_text(o), "{\"url\":\"https://a/b\",\"n\":3}") == 0);
	CHECK(strcmp(hd_json_get_str(o, "url"), "https://a/b") == 0);
	CHECK(hd_json_get_str(o, "n") == NULL && hd_json_get_str(NULL, "url") == NULL);
	json_object_put(o);
}

/* A fake token endpoint for the OAuth cache. */
static struct {
	int calls;
	long status;
	const char *answer;
	enum hd_err err;
} ep;

static enum hd_err
ep_post(struct hd_provider_ctx *c, const char *url, const char *ctype, const char *body,
    size_t body_len, long *status, struct hd_buf *resp)
{
	(void)c;
	(void)url;
	(void)body_len;
	ep.calls++;
	CHECK(strcmp(ctype, "application/x-www-form-urlencoded") == 0);
	CHECK(strcmp(body, "grant=x") == 0);
	if (ep.err != HD_OK)
		return ep.err;
	*status = ep.status;
	return hd_buf_puts(resp, ep.answer);
}

static enum hd_err
ep_form(const void *arg, int64_t now, struct hd_buf *form)
{
	(void)arg;
	(void)now;
	return hd_buf_puts(form, "grant=x");
}

static void
ep_answers(long status, const char *answer)
{
	ep.status = status;
	ep.answer = answer;
	ep.err = HD_OK;
}

static void
test_oauth_token_is_cached_per_app_and_account_until_near_expiry(void)
{
	static const struct hd_oauth_policy policy = { .provider = "test",
		.max_life_s = 86400, .hold_s = 10 };
	struct hd_provider_ctx ctx = { .post = ep_post };
	struct hd_oauth *c;
	const char *t = NULL;
	const int64_t now = 1000 * HD_USEC_PER_SEC, s = HD_USEC_PER_SEC;

	CHECK(hd_oauth_new(&policy, &c) == HD_OK);
	ep.calls = 0;
	ep_answers(200, "{\"access_token\":\"tok-1\",\"expires_in\":3600,"
	    "\"token_type\":\"Bearer\"}");
	CHECK(hd_oauth_token(c, &ctx, 1, "acct", "u", ep_form, NULL, now, &t) == HD_OK);
	CHECK(strcmp(t, "tok-1") == 0 && ep.calls == 1);
	/* Reused until five minutes before it expires. */
	CHECK(hd_oauth_token(c, &ctx, 1, "acct", "u", ep_form, NULL, now + 3299 * s, &t) ==
	    HD_OK && ep.calls == 1);
	ep_answers(200, "{\"access_token\":\"tok-2\",\"expires_in\":600}");
	CHECK(hd_oauth_token(c, &ctx, 1, "acct", "u", ep_form, NULL, now + 3300 * s, &t) ==
	    HD_OK && strcmp(t, "tok-2") == 0 && ep.calls == 2);
	/* A short-lived token is renewed at half its life. */
	CHECK(hd_oauth_token(c, &ctx, 1, "acct", "u", ep_form, NULL, now + 3599 * s, &t) ==
	    HD_OK && ep.calls == 2);
	CHECK(hd_oauth_token(c, &ctx, 1, "acct", "u", ep_form, NULL, now + 3600 * s, &t) ==
	    HD_OK && ep.calls == 3);
	/* Another app, or another account for the app, has its own token. */
	CHECK(hd_oauth_token(c, &ctx, 2, "acct", "u", ep_form, NULL, now + 3600 * s, &t) ==
	    HD_OK && ep.calls == 4);
	CHECK(hd_oauth_token(c, &ctx, 1, "other", "u", ep_form, NULL, now + 3600 * s, &t) ==
	    HD_OK && ep.calls == 5);
	/* A dropped token is fetched again; the other app's stays. */
	hd_oauth_drop(c, 1);
	CHECK(hd_oauth_token(c, &ctx, 1, "other", "u", ep_form, NULL, now + 3600 * s, &t) ==
	    HD_OK && ep.calls == 6);
	CHECK(hd_oauth_token(c, &ctx, 2, "acct", "u", ep_form, NULL, now + 3600 * s, &t) ==
	    HD_OK && ep.calls == 6);
	hd_oauth_free(c);
}

static void
test_oauth_failures_hold_for_the_policy_time(void)
{
	static const struct hd_oauth_policy policy = { .provider = "test",
		.max_life_s = 86400, .hold_s = 10 };
	struct hd_provider_ctx ctx = { .post = ep_post };
	struct hd_oauth *c;
	const char *t = NULL;
	const int64_t now = 1000 * HD_USEC_PER_SEC, s = HD_USEC_PER_SEC;

	CHECK(hd_oauth_new(&policy, &c) == HD_OK);
	ep.calls = 0;
	ep_answers(401, "{\"error\":\"invalid_client\"}");
	CHECK(hd_oauth_token(c, &ctx, 1, "a", "u", ep_form, NULL, now, &t) == HD_ERR_IO);
	ep_answers(200, "{\"access_token\":\"tok\",\"expires_in\":3600}");
	CHECK(hd_oauth_token(c, &ctx, 1, "a", "u", ep_form, NULL, now + 9 * s, &t) == HD_ERR_IO);
	CHECK(ep.calls == 1);
	CHECK(hd_oauth_token(c, &ctx, 1, "a", "u", ep_form, NULL, now + 10 * s, &t) == HD_OK);
	CHECK(ep.calls == 2 && strcmp(t, "tok") == 0);
	/* Nothing answered: the post's own error. */
	hd_oauth_drop(c, 1);
	ep.err = HD_ERR_NOMEM;
	CHECK(hd_oauth_token(c, &ctx, 1, "a", "u", ep_form, NULL, now + 20 * s, &t) ==
	    HD_ERR_NOMEM);
	ctx.post = NULL;
	CHECK(hd_oauth_token(c, &ctx, 2, "a", "u", ep_form, NULL, now, &t) == HD_ERR_INTERNAL);
	hd_oauth_free(c);
}

static void
test_oauth_answers_are_read_by_the_policy(void)
{
	static const struct hd_oauth_policy strict = { .provider = "strict",
		.max_life_s = 86400 };
	static const struct hd_oauth_policy lenient = { .provider = "lenient",
		.default_life_s = 3600, .life_as_text = true, .max_life_s = 30 * 86400 };
	static const struct { const char *answer; bool strict_ok, lenient_ok; } cases[] = {
		{ "{\"access_token\":\"a.b-c_d~e+f/g==\",\"expires_in\":60}", true, true },
		{ "{\"access_token\":\"abc\"}", false, true },
		{ "{\"access_token\":\"abc\",\"expires_in\":\"3600\"}", false, true },
		{ "{\"access_token\":\"abc\",\"expires_in\":\"36x\"}", false, false },
		{ "{\"access_token\":\"abc\",\"expires_in\":172800}", false, true },
		{ "{\"access_token\":\"abc\",\"expires_in\":0}", false, false },
		{ "{\"access_token\":\"abc\",\"expires_in\":[1]}", false, false },
		{ "{\"access_token\":\"abc\",\"expires_in\":60,\"token_type\":\"mac\"}", false, false },
		{ "{\"access_token\":\"a=b\",\"expires_in\":60}", false, false },
		{ "{\"access_token\":\"a b\",\"expires_in\":60}", false, false },
		{ "{\"access_token\":\"\",\"expires_in\":60}", false, false },
		{ "{\"access_token\":7,\"expires_in\":60}", false, false },
		{ "not json", false, false },
	};
	struct hd_provider_ctx ctx = { .post = ep_post };
	const int64_t now = 1000 * HD_USEC_PER_SEC;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_oauth *a, *b;
		const char *t;

		CHECK(hd_oauth_new(&strict, &a) == HD_OK && hd_oauth_new(&lenient, &b) == HD_OK);
		ep_answers(200, cases[i].answer);
		CHECK_MSG((hd_oauth_token(a, &ctx, 1, "x", "u", ep_form, NULL, now, &t) == HD_OK) ==
		    cases[i].strict_ok, "case %zu strict", i);
		CHECK_MSG((hd_oauth_token(b, &ctx, 1, "x", "u", ep_form, NULL, now, &t) == HD_OK) ==
		    cases[i].lenient_ok, "case %zu lenient", i);
		hd_oauth_free(a);
		hd_oauth_free(b);
	}
}

int
main(void)
{
	test_header_lookup_is_case_insensitive_trimmed_and_last_wins();
	test_retry_after_reads_seconds_and_dates_and_caps_at_a_day();
	test_extras_fill_every_field();
	test_malformed_extras_are_refused();
	test_ttl_left();
	test_refuse_fills_a_rejected_outcome_with_the_formatted_reason();
	test_outside_text_is_cleaned_and_cut_to_fit();
	test_no_answer_is_a_retry_naming_the_transport_error();
	test_reason_table_lookup();
	test_retry_after_header_of_an_answer();
	test_request_url_and_header_lines_are_formatted_and_bounded();
	test_json_object_parse_takes_exactly_one_strict_object();
	test_json_put_consumes_values_and_text_keeps_slashes();
	test_oauth_token_is_cached_per_app_and_account_until_near_expiry();
	test_oauth_failures_hold_for_the_policy_time();
	test_oauth_answers_are_read_by_the_policy();
	UNIT_DONE();
}
