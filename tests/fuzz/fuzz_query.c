/*
 * Fuzz driver: query strings (hd_request_query on an arbitrary QUERY_STRING). The
 * input's first byte b picks the parameter name (names[b % 5]) and the output
 * capacity (caps[b / 5 % 5]): in the corpus 'A' is "format" with 16 bytes and 'G' is
 * "q" with 256. The rest, up to a NUL, is the query. Each answer is compared with a
 * plain reference reading of the contract: the first parameter named exactly `name`
 * (with or without '='), '+' as space, %XX decoded, -1 for a bad or truncated
 * escape, %00, or a value that does not fit.
 */
#include <string.h>

#include "fuzz.h"
#include "hd_request.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
reference(const char *q, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	for (const char *seg = q; ; ) {
		const char *amp = strchr(seg, '&');
		size_t len = amp ? (size_t)(amp - seg) : strlen(seg);

		if (len >= n && memcmp(seg, name, n) == 0 && (len == n || seg[n] == '=')) {
			size_t o = 0;
			for (size_t i = len == n ? n : n + 1; i < len; i++) {
				char c = seg[i];
				if (c == '%') {
					if (len - i < 3)      /* '%' and two more */
						return -1;
					int hi = hexval(seg[i + 1]), lo = hexval(seg[i + 2]);
					if (hi < 0 || lo < 0)
						return -1;
					c = (char)(hi * 16 + lo);
					i += 2;
				} else if (c == '+')
					c = ' ';
				if (c == '\0' || o + 1 >= cap)
					return -1;
				out[o++] = c;
			}
			out[o] = '\0';
			return 1;
		}
		if (!amp)
			return 0;
		seg = amp + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "format", "q", "a", "format=", "" };
	static const size_t caps[] = { 1, 2, 4, 16, 256 };
	char query[4096], out[300], ref[300];
	struct hd_request req;
	const char *name;
	size_t cap, qlen;
	int rc, want;

	if (size == 0)
		return 0;
	name = names[data[0] % 5];
	cap = caps[(data[0] / 5) % 5];
	/* A CGI parameter is a C string: it ends at the first NUL. */
	qlen = strnlen((const char *)data + 1, size - 1);
	if (qlen >= sizeof(query))
		qlen = sizeof(query) - 1;
	memcpy(query, data + 1, qlen);
	query[qlen] = '\0';

	memset(&req, 0, sizeof(req));
	req.query = query;
	memset(out, 0x7e, sizeof(out));
	rc = hd_request_query(&req, name, out, cap);
	FUZZ_ASSERT(rc == -1 || rc == 0 || rc == 1);
	FUZZ_ASSERT((unsigned char)out[cap] == 0x7e);       /* nothing past cap */
	if (rc == 1)
		FUZZ_ASSERT(strlen(out) < cap);
	if (*name != '\0' && strchr(name, '=') == NULL) {
		want = reference(query, name, ref, cap);
		if (rc != want)
			fprintf(stderr, "query '%s' name '%s' cap %zu: got %d, reference %d\n",
			    query, name, cap, rc, want);
		FUZZ_ASSERT(rc == want);
		if (rc == 1)
			FUZZ_ASSERT(strcmp(out, ref) == 0);
	}
	return 0;
}
