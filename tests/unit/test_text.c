/*
 * hd_text: the bounded parsers and encoders every piece of outside input goes
 * through. Each group is a table of {input, expected} rows; a failing row reports the
 * line of its check and its index.
 */
#include <stdint.h>
#include <string.h>

#include "hd_text.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* hd_parse_i64 accepts exactly an optional '-' and 1..19 digits within int64, and
 * refuses everything else without touching *out. */
static void
test_parse_i64(void)
{
	static const struct {
		const char *in;
		int rc;
		int64_t want;
	} rows[] = {
		{ "0", 0, 0 },
		{ "7", 0, 7 },
		{ "-0", 0, 0 },
		{ "-1", 0, -1 },
		{ "0042", 0, 42 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "9223372036854775808", -1, 0 },          /* INT64_MAX + 1 */
		{ "-9223372036854775809", -1, 0 },         /* INT64_MIN - 1 */
		{ "18446744073709551615", -1, 0 },         /* fits u64, not i64 */
		{ "18446744073709551616", -1, 0 },         /* overflows u64 too */
		{ "99999999999999999999", -1, 0 },         /* 20 digits */
		{ "123456789012345678901234", -1, 0 },     /* 24 digits */
		{ "", -1, 0 },
		{ "-", -1, 0 },
		{ "+", -1, 0 },
		{ "+1", -1, 0 },
		{ "--1", -1, 0 },
		{ " 1", -1, 0 },
		{ "1 ", -1, 0 },
		{ "1a", -1, 0 },
		{ "0x10", -1, 0 },
		{ "1.0", -1, 0 },
		{ "1e3", -1, 0 },
		{ "\xd9\xa1", -1, 0 },                     /* ARABIC-INDIC DIGIT ONE */
	};

	for (size_t i = 0; i < N(rows); i++) {
		int64_t out = 12345;
		int rc = hd_parse_i64(rows[i].in, strlen(rows[i].in), &out);
		CHECK_MSG(rc == rows[i].rc, "row %zu '%s': rc %d", i, rows[i].in, rc);
		if (rows[i].rc == 0)
			CHECK_MSG(out == rows[i].want, "row %zu '%s': got %lld", i, rows[i].in,
			    (long long)out);
		else
			CHECK_MSG(out == 12345, "row %zu '%s': *out written on failure", i,
			    rows[i].in);
	}
	/* The length bounds the input: no reading past it, NUL or not. */
	int64_t v = 0;
	CHECK(hd_parse_i64("123456", 3, &v) == 0 && v == 123);
	CHECK(hd_parse_i64("12\0" "3", 4, &v) == -1);
}

/* hd_parse_u64 takes no sign at all and the whole uint64 range. */
static void
test_parse_u64(void)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t want;
	} rows[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "9223372036854775808", 0, UINT64_C(9223372036854775808) },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },          /* UINT64_MAX + 1 */
		{ "18446744073709551620", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "000000000000000000001", -1, 0 },         /* 21 characters */
		{ "", -1, 0 },
		{ "-", -1, 0 },
		{ "-1", -1, 0 },
		{ "-0", -1, 0 },
		{ "+1", -1, 0 },
		{ " 1", -1, 0 },
		{ "1\t", -1, 0 },
	};

	for (size_t i = 0; i < N(rows); i++) {
		uint64_t out = 999;
		int rc = hd_parse_u64(rows[i].in, strlen(rows[i].in), &out);
		CHECK_MSG(rc == rows[i].rc, "row %zu '%s': rc %d", i, rows[i].in, rc);
		if (rows[i].rc == 0)
			CHECK_MSG(out == rows[i].want, "row %zu '%s': got %llu", i, rows[i].in,
			    (unsigned long long)out);
		else
			CHECK_MSG(out == 999, "row %zu '%s': *out written on failure", i,
			    rows[i].in);
	}
}

/* hd_utf8_valid: RFC 3629 exactly, plus no NUL. Rows carry explicit lengths so NUL
 * bytes can be part of the input. */
static void
test_utf8_valid(void)
{
	static const struct {
		const char *in;
		size_t len;
		bool ok;
		const char *what;
	} rows[] = {
		{ "", 0, true, "empty" },
		{ "plain ASCII", 11, true, "ASCII" },
		{ "\x7f", 1, true, "DEL is ASCII" },
		{ "\xc2\x80", 2, true, "U+0080, smallest 2-byte" },
		{ "\xc3\xa9", 2, true, "e acute" },
		{ "\xdf\xbf", 2, true, "U+07FF, largest 2-byte" },
		{ "\xe0\xa0\x80", 3, true, "U+0800, smallest 3-byte" },
		{ "\xe2\x82\xac", 3, true, "euro sign" },
		{ "\xed\x9f\xbf", 3, true, "U+D7FF, just below surrogates" },
		{ "\xee\x80\x80", 3, true, "U+E000, just above surrogates" },
		{ "\xef\xbf\xbf", 3, true, "U+FFFF" },
		{ "\xf0\x90\x80\x80", 4, true, "U+10000, smallest 4-byte" },
		{ "\xf0\x9f\x98\x80", 4, true, "emoji" },
		{ "\xf4\x8f\xbf\xbf", 4, true, "U+10FFFF, largest" },
		{ "a\xc3\xa9z\xf0\x9f\x98\x80", 8, true, "mixed" },
		{ "\0", 1, false, "NUL" },
		{ "ab\0cd", 5, false, "NUL in the middle" },
		{ "\xc0\x80", 2, false, "overlong NUL (C0 80)" },
		{ "\xc1\xbf", 2, false, "overlong 2-byte (C1)" },
		{ "\xe0\x80\x80", 3, false, "overlong 3-byte NUL (E0 80 80)" },
		{ "\xe0\x9f\xbf", 3, false, "overlong 3-byte U+07FF" },
		{ "\xf0\x80\x80\x80", 4, false, "overlong 4-byte NUL" },
		{ "\xf0\x8f\xbf\xbf", 4, false, "overlong 4-byte U+FFFF" },
		{ "\xed\xa0\x80", 3, false, "surrogate U+D800 (ED A0 80)" },
		{ "\xed\xbf\xbf", 3, false, "surrogate U+DFFF" },
		{ "\xed\xa0\xbd\xed\xb8\x80", 6, false, "CESU-8 surrogate pair" },
		{ "\xf4\x90\x80\x80", 4, false, "U+110000 (F4 90 80 80)" },
		{ "\xf5\x80\x80\x80", 4, false, "F5 lead byte" },
		{ "\xf8\x88\x80\x80\x80", 5, false, "5-byte form" },
		{ "\xff", 1, false, "FF" },
		{ "\xfe", 1, false, "FE" },
		{ "\x80", 1, false, "lone continuation" },
		{ "a\xbf", 2, false, "continuation after ASCII" },
		{ "\xc3", 1, false, "truncated 2-byte" },
		{ "\xe2\x82", 2, false, "truncated 3-byte" },
		{ "\xf0\x9f\x98", 3, false, "truncated 4-byte" },
		{ "\xc3" "a", 2, false, "2-byte lead then ASCII" },
		{ "\xe2\x28\xa1", 3, false, "bad second byte" },
		{ "\xe2\x82\x28", 3, false, "bad third byte" },
		{ "\xf0\x9f\x98\x28", 4, false, "bad fourth byte" },
		{ "ok\xc3", 3, false, "truncated at the end" },
	};

	for (size_t i = 0; i < N(rows); i++)
		CHECK_MSG(hd_utf8_valid(rows[i].in, rows[i].len) == rows[i].ok,
		    "row %zu (%s): expected %s", i, rows[i].what,
		    rows[i].ok ? "valid" : "invalid");
	/* The length bounds the check: a truncated char past len is not looked at. */
	CHECK(hd_utf8_valid("ab\xc3", 2));
	/* Code points, not bytes. */
}

/* hd_base64url_decode: RFC 4648 §10 test vectors, re-encoded for base64url without
 * padding, and the refusals (bad alphabet, padding, stray bits, impossible lengths,
 * small buffers). */
static void
test_base64url(void)
{
	static const struct {
		const char *in;
		long want;            /* decoded length or -1 */
		const char *out;      /* expected bytes (want of them) */
		const char *what;
	} rows[] = {
		{ "", 0, "", "RFC 4648: empty" },
		{ "Zg", 1, "f", "RFC 4648: f" },
		{ "Zm8", 2, "fo", "RFC 4648: fo" },
		{ "Zm9v", 3, "foo", "RFC 4648: foo" },
		{ "Zm9vYg", 4, "foob", "RFC 4648: foob" },
		{ "Zm9vYmE", 5, "fooba", "RFC 4648: fooba" },
		{ "Zm9vYmFy", 6, "foobar", "RFC 4648: foobar" },
		{ "-_-_", 3, "\xfb\xff\xbf", "the two url-safe characters" },
		{ "_w", 1, "\xff", "0xff" },
		{ "AAAA", 3, "\0\0\0", "zero bytes" },
		{ "Zm9v+g", -1, NULL, "'+' is standard base64, not base64url" },
		{ "Zm9v/g", -1, NULL, "'/' is standard base64, not base64url" },
		{ "Zg==", -1, NULL, "padding is refused" },
		{ "Zm8=", -1, NULL, "padding is refused" },
		{ "Zm 9v", -1, NULL, "space" },
		{ "Zm9v\n", -1, NULL, "newline" },
		{ "Zm9\xc3\xa9", -1, NULL, "non-ASCII" },
		{ "Z", -1, NULL, "len % 4 == 1" },
		{ "Zm9vY", -1, NULL, "len % 4 == 1 (5)" },
		{ "Zh", -1, NULL, "non-zero trailing bits in a 2-char tail" },
		{ "Zm9", -1, NULL, "non-zero trailing bits in a 3-char tail" },
		{ "_x", -1, NULL, "non-zero trailing bits after 0xff" },
	};

	for (size_t i = 0; i < N(rows); i++) {
		unsigned char out[16];
		long n;

		memset(out, 0xaa, sizeof(out));
		n = hd_base64url_decode(rows[i].in, strlen(rows[i].in), out, sizeof(out));
		CHECK_MSG(n == rows[i].want, "row %zu (%s): got %ld", i, rows[i].what, n);
		if (rows[i].want > 0 && n == rows[i].want)
			CHECK_MSG(memcmp(out, rows[i].out, (size_t)n) == 0, "row %zu (%s): bytes",
			    i, rows[i].what);
	}

	/* The buffer must hold every decoded byte: one short is refused, exact fits. */
	unsigned char small[6];
	CHECK(hd_base64url_decode("Zm9vYmFy", 8, small, 6) == 6);
	CHECK(memcmp(small, "foobar", 6) == 0);
	CHECK(hd_base64url_decode("Zm9vYmFy", 8, small, 5) == -1);
	CHECK(hd_base64url_decode("Zm9vYmE", 7, small, 4) == -1);
	CHECK(hd_base64url_decode("Zg", 2, small, 0) == -1);
	CHECK(hd_base64url_decode("", 0, small, 0) == 0);

	/* A 65-byte P-256 public key, as Web Push clients send (87 chars): decodes. */
	const char *p256 = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
	unsigned char key[65];
	CHECK(strlen(p256) == 87);
	CHECK(hd_base64url_decode(p256, strlen(p256), key, sizeof(key)) == 65);
	CHECK(key[0] == 0x04);
}

/* hd_base64url_encode: RFC 4648 §10 vectors without padding, the url-safe alphabet,
 * the capacity rule (the NUL must fit, nothing is written otherwise) and a round trip
 * through hd_base64url_decode for every length and tail shape. */
static void
test_base64url_encode(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} rows[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg" },
		{ "fo", 2, "Zm8" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg" },
		{ "fooba", 5, "Zm9vYmE" },
		{ "foobar", 6, "Zm9vYmFy" },
		{ "\xfb\xff\xbf", 3, "-_-_" },       /* '+' and '/' in standard base64 */
		{ "\xff", 1, "_w" },
		{ "\xff\xff", 2, "__8" },
		{ "\0\0\0", 3, "AAAA" },
		{ "\0", 1, "AA" },
	};

	for (size_t i = 0; i < N(rows); i++) {
		char out[16];
		long n;

		memset(out, 'X', sizeof(out));
		n = hd_base64url_encode((const unsigned char *)rows[i].in, rows[i].n, out,
		    sizeof(out));
		CHECK_MSG(n == (long)strlen(rows[i].want), "row %zu: length %ld", i, n);
		CHECK_MSG(strcmp(out, rows[i].want) == 0, "row %zu: got '%s'", i, out);
		CHECK_MSG((size_t)HD_BASE64URL_LEN(rows[i].n) == strlen(rows[i].want),
		    "row %zu: HD_BASE64URL_LEN", i);
		CHECK_MSG(out[strlen(rows[i].want) + 1] == 'X', "row %zu: wrote past the NUL",
		    i);
	}

	/* The NUL needs room too: exactly len + 1 fits, len alone is refused untouched. */
	char small[9];
	memset(small, 'X', sizeof(small));
	CHECK(hd_base64url_encode((const unsigned char *)"foobar", 6, small, 8) == -1);
	CHECK(small[0] == 'X');
	CHECK(hd_base64url_encode((const unsigned char *)"foobar", 6, small, 9) == 8);
	CHECK(strcmp(small, "Zm9vYmFy") == 0);
	CHECK(hd_base64url_encode((const unsigned char *)"", 0, small, 0) == -1);
	CHECK(hd_base64url_encode((const unsigned char *)"", 0, small, 1) == 0 &&
	    small[0] == '\0');

	/* Every length 0..70 with every byte value taking part decodes back to itself. */
	unsigned char bytes[70], back[70];
	char text[HD_BASE64URL_LEN(sizeof(bytes)) + 1];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(bytes); len++) {
		long n = hd_base64url_encode(bytes, len, text, sizeof(text));
		CHECK_MSG(n == (long)HD_BASE64URL_LEN(len), "len %zu: encoded %ld", len, n);
		CHECK_MSG(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_") == strlen(text), "len %zu: outside the alphabet", len);
		CHECK_MSG(hd_base64url_decode(text, (size_t)n, back, sizeof(back)) == (long)len,
		    "len %zu: decode", len);
		CHECK_MSG(memcmp(back, bytes, len) == 0, "len %zu: round trip", len);
	}
}

/* hd_ascii_ieq folds ASCII letters only and compares whole lengths. */
static void
test_ascii_ieq(void)
{
	static const struct {
		const char *s;
		const char *lit;
		bool eq;
	} rows[] = {
		{ "application/json", "application/json", true },
		{ "Application/JSON", "application/json", true },
		{ "TEXT/XML", "text/xml", true },
		{ "true", "TRUE", true },
		{ "", "", true },
		{ "json", "jsonx", false },
		{ "jsonx", "json", false },
		{ "", "a", false },
		{ "a", "", false },
		{ "[", "{", false },    /* '[' + 32 == '{': only letters fold */
		{ "@", "`", false },
		{ "\xc3\x89", "\xc3\xa9", false }, /* no Unicode folding */
	};

	for (size_t i = 0; i < N(rows); i++)
		CHECK_MSG(hd_ascii_ieq(rows[i].s, strlen(rows[i].s), rows[i].lit) == rows[i].eq,
		    "row %zu: '%s' vs '%s'", i, rows[i].s, rows[i].lit);
	/* Only s[0..len) takes part. */
	CHECK(hd_ascii_ieq("xmlfoo", 3, "XML"));
}

/* hd_hex_encode writes lowercase pairs and a terminating NUL, nothing more. */
static void
test_hex_encode(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} rows[] = {
		{ "", 0, "" },
		{ "\0", 1, "00" },
		{ "\xff", 1, "ff" },
		{ "\x01\x23\x45\x67\x89\xab\xcd\xef", 8, "0123456789abcdef" },
		{ "herald", 6, "686572616c64" },
	};

	for (size_t i = 0; i < N(rows); i++) {
		char out[32];
		memset(out, 'X', sizeof(out));
		hd_hex_encode((const unsigned char *)rows[i].in, rows[i].n, out);
		CHECK_MSG(strcmp(out, rows[i].want) == 0, "row %zu: got '%s'", i, out);
		CHECK_MSG(out[2 * rows[i].n + 1] == 'X', "row %zu: wrote past 2n+1", i);
	}
}

int
main(void)
{
	test_parse_i64();
	test_parse_u64();
	test_utf8_valid();
	test_base64url();
	test_base64url_encode();
	test_ascii_ieq();
	test_hex_encode();
	UNIT_DONE();
}
