/*
 * Fuzz driver: provider answers. The input is one answer as the engine hands it to
 * classify(): its first byte b picks the HTTP status (statuses[b % 32]: in the corpus
 * '@' is no answer at all, 'A' 200, 'G' 401, 'L' 410, 'N' 429, 'Q' 503); the rest is
 * the raw header block up to the first empty line, then the body (the transport error
 * when the status is 0). Each provider (APNs, FCM, Web Push, WNS) classifies it with
 * the state its init() made, and the outcome must keep the contract of hd_provider.h:
 * one of the four kinds, the status echoed, a NUL-terminated printable reason, a
 * Retry-After time within a day from now, a gone_since not in the future, and a
 * reason for every outcome but DELIVERED.
 *
 * The same header block goes through hd_http_header() (checked against a plain
 * reading of its contract: the last line named so, case-insensitively, its value
 * trimmed of spaces and tabs, false when it does not fit), and the Retry-After value
 * and the body through hd_retry_after_parse() (0, or a time within a day from now;
 * delta-seconds checked exactly).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "hd_provider.h"
#include "hd_time.h"

#define DAY_US (INT64_C(86400) * HD_USEC_PER_SEC)
#define APP_ID 42

/* 32 entries, so that '@' is no answer and 'A'.. 'Z' (or 'a'.. 'z') follow in order. */
static const long statuses[] = {
	0, 200, 201, 202, 204, 301, 400, 401, 403, 404, 405, 406, 410, 413, 429, 500,
	502, 503, 504, 100, 299, 300, 399, 418, 499, 599, 600, 999, 408, 402, 407, 411,
};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
_Static_assert(NSTATUS == 32, "the corpus picks statuses by letter");

/* Headers every provider reads, and names that catch prefix and case slips. */
static const char *const names[] = {
	"Retry-After", "X-WNS-Status", "X-WNS-DeviceConnectionStatus",
	"X-WNS-Error-Description", "retry-after", "Retry", "Retry-After-", "",
};

static const struct hd_provider *const providers[] = {
	&hd_provider_apns, &hd_provider_fcm, &hd_provider_webpush, &hd_provider_wns,
};
#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

/* Classify never fetches tokens: any post is a contract break, and fails. */
static enum hd_err
no_post(struct hd_provider_ctx *ctx, const char *url, const char *ctype, const char *body,
    size_t body_len, long *status, struct hd_buf *resp)
{
	(void)ctx;
	(void)url;
	(void)ctype;
	(void)body;
	(void)body_len;
	(void)resp;
	*status = 0;
	FUZZ_ASSERT(!"classify posted a token request");
	return HD_ERR_IO;
}

static bool
ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* hd_http_header's contract read plainly: *value and *len of the last matching line. */
static bool
reference_header(const char *h, size_t hlen, const char *name, const char **value,
    size_t *len)
{
	size_t nlen = strlen(name), start = 0;
	bool found = false;

	while (start < hlen) {
		size_t end = start, v, e;

		while (end < hlen && h[end] != '\n')
			end++;
		e = end;
		if (e > start && h[e - 1] == '\r')
			e--;
		if (e - start > nlen && h[start + nlen] == ':' && ieq(h + start, name, nlen)) {
			for (v = start + nlen + 1; v < e && (h[v] == ' ' || h[v] == '\t'); v++)
				;
			while (e > v && (h[e - 1] == ' ' || h[e - 1] == '\t'))
				e--;
			*value = h + v;
			*len = e - v;
			found = true;
		}
		start = end + 1;
	}
	return found;
}

static void
check_header(const struct hd_http_response *resp, const char *name)
{
	static const size_t caps[] = { 0, 1, 2, 8, 32, 128, 512 };
	const char *want = NULL;
	size_t want_len = 0;
	bool present = reference_header(resp->headers, resp->headers_len, name, &want,
	    &want_len);
	char out[512];

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		bool got;

		memset(out, 'X', sizeof(out));
		got = hd_http_header(resp, name, out, caps[i]);
		FUZZ_ASSERT(got == (present && want_len < caps[i]));
		if (got) {
			FUZZ_ASSERT(out[want_len] == '\0');
			FUZZ_ASSERT(memcmp(out, want, want_len) == 0);
		} else if (caps[i] > 0) {
			/* false leaves out as it was. */
			FUZZ_ASSERT(out[0] == 'X');
		}
	}
}

static void
check_retry_after(const char *value, int64_t now)
{
	int64_t at = hd_retry_after_parse(value, now);
	size_t len = strlen(value), digits = 0;

	FUZZ_ASSERT(at == 0 || (at >= now && at <= now + DAY_US));
	while (digits < len && value[digits] >= '0' && value[digits] <= '9')
		digits++;
	if (len > 0 && digits == len && len <= 10) {
		int64_t secs = 0;

		for (size_t i = 0; i < len; i++)
			secs = secs * 10 + (value[i] - '0');
		FUZZ_ASSERT(at == now + (secs * HD_USEC_PER_SEC < DAY_US ?
		    secs * HD_USEC_PER_SEC : DAY_US));
	}
}

static void
check_outcome(const struct hd_http_response *resp, const struct hd_outcome *out,
    int64_t before, int64_t after)
{
	size_t n = 0;

	FUZZ_ASSERT(out->kind == HD_OUTCOME_DELIVERED || out->kind == HD_OUTCOME_RETRY ||
	    out->kind == HD_OUTCOME_GONE || out->kind == HD_OUTCOME_REJECTED);
	FUZZ_ASSERT(out->provider_status == (int)resp->status);
	FUZZ_ASSERT(resp->status != 0 || out->kind == HD_OUTCOME_RETRY);
	while (n < sizeof(out->reason) && out->reason[n] != '\0') {
		FUZZ_ASSERT(out->reason[n] >= 0x20 && out->reason[n] < 0x7f);
		n++;
	}
	FUZZ_ASSERT(n < sizeof(out->reason));
	FUZZ_ASSERT(n > 0 || out->kind == HD_OUTCOME_DELIVERED);
	FUZZ_ASSERT(out->retry_at == 0 ||
	    (out->kind == HD_OUTCOME_RETRY && out->retry_at >= before &&
	    out->retry_at <= after + DAY_US));
	FUZZ_ASSERT(out->gone_since == 0 ||
	    (out->kind == HD_OUTCOME_GONE && out->gone_since > 0 && out->gone_since <= after));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hd_config cfg;
	static struct hd_provider_ctx ctx;
	static void *state[NPROVIDERS];
	static int ready;
	struct hd_app_creds creds;
	struct hd_http_response resp;
	struct hd_outcome out;
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0, hlen = 0, bstart;
	char *headers, *body, value[128];
	int64_t before, after;

	if (!ready) {
		hd_config_defaults(&cfg);
		ctx.cfg = &cfg;
		ctx.db = NULL;
		ctx.post = no_post;
		for (size_t i = 0; i < NPROVIDERS; i++)
			FUZZ_ASSERT(providers[i]->init(&ctx, &state[i]) == HD_OK);
		ready = 1;
	}
	if (size == 0)
		return 0;

	/* The header block ends at the first empty line ("\n\n" or "\n\r\n"). */
	for (bstart = len; hlen < len; hlen++) {
		if (text[hlen] != '\n')
			continue;
		if (hlen + 1 < len && text[hlen + 1] == '\n') {
			bstart = hlen + 2;
			hlen++;
			break;
		}
		if (hlen + 2 < len && text[hlen + 1] == '\r' && text[hlen + 2] == '\n') {
			bstart = hlen + 3;
			hlen++;
			break;
		}
	}
	/* Exactly sized and NUL-terminated, as the engine's buffers are. */
	headers = malloc(hlen + 1);
	body = malloc(len - bstart + 1);
	FUZZ_ASSERT(headers != NULL && body != NULL);
	memcpy(headers, text, hlen);
	headers[hlen] = '\0';
	memcpy(body, text + bstart, len - bstart);
	body[len - bstart] = '\0';

	memset(&resp, 0, sizeof(resp));
	resp.status = statuses[data[0] % NSTATUS];
	resp.blocked = resp.status == 0 && (data[0] & 0x80);
	resp.transport_error = resp.status == 0 ? body : NULL;
	resp.body = body;
	resp.body_len = len - bstart;
	resp.headers = headers;
	resp.headers_len = hlen;

	memset(&creds, 0, sizeof(creds));
	creds.app_id = APP_ID;
	for (size_t i = 0; i < NPROVIDERS; i++) {
		memset(&out, 0xa5, sizeof(out));
		before = hd_now_usec();
		providers[i]->classify(&ctx, state[i], &creds, &resp, &out);
		after = hd_now_usec();
		check_outcome(&resp, &out, before, after);
	}

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_header(&resp, names[i]);
	before = hd_now_usec();
	if (hd_http_header(&resp, "Retry-After", value, sizeof(value)))
		check_retry_after(value, before);
	check_retry_after(body, before);
	check_retry_after(body, INT64_C(1774796400) * HD_USEC_PER_SEC);

	free(headers);
	free(body);
	return 0;
}
