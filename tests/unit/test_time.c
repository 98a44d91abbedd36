/*
 * hd_time: strict RFC 3339 parsing into microseconds since the epoch (UTC), and the
 * split back into calendar fields, both checked against the C library's timegm and
 * gmtime_r.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "hd_time.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define US HD_USEC_PER_SEC

/* Seconds since the epoch of a UTC calendar time, by the C library. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

/* Accepted forms: 'Z' or 'z', 'T' or 't', numeric offsets converted to UTC, and
 * fractions of any length truncated (not rounded) to microseconds. */
static void
test_parse_accepts(void)
{
	const int64_t base = utc(2026, 3, 29, 15, 0, 0);
	const struct {
		const char *in;
		int64_t want;
	} rows[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-03-29T15:00:00Z", base * US },
		{ "2026-03-29T15:00:00z", base * US },
		{ "2026-03-29t15:00:00Z", base * US },
		{ "2026-03-29T15:00:00+00:00", base * US },
		{ "2026-03-29T15:00:00-00:00", base * US },
		/* 17:30 at +02:30 is 15:00 UTC; 10:15 at -04:45 is 15:00 UTC. */
		{ "2026-03-29T17:30:00+02:30", base * US },
		{ "2026-03-29T10:15:00-04:45", base * US },
		/* Offsets that cross midnight and the year. */
		{ "2026-03-30T00:30:00+09:30", base * US },
		{ "2025-12-31T23:00:00-23:59", (utc(2026, 1, 1, 22, 59, 0)) * US },
		{ "2026-01-01T00:59:00+23:59", (utc(2025, 12, 31, 1, 0, 0)) * US },
		/* RFC 3339 §5.7: a real leap second, in UTC or at an offset, reads as the
		 * next second's start. */
		{ "2016-12-31T23:59:60Z", (utc(2017, 1, 1, 0, 0, 0)) * US },
		{ "2017-01-01T00:59:60+01:00", (utc(2017, 1, 1, 0, 0, 0)) * US },
		{ "2015-06-30T23:59:60.5Z", (utc(2015, 7, 1, 0, 0, 0)) * US + 500000 },
		/* Fractions of 1 to 9 digits, and more: truncated to microseconds. */
		{ "2026-03-29T15:00:00.5Z", base * US + 500000 },
		{ "2026-03-29T15:00:00.12Z", base * US + 120000 },
		{ "2026-03-29T15:00:00.123Z", base * US + 123000 },
		{ "2026-03-29T15:00:00.1234Z", base * US + 123400 },
		{ "2026-03-29T15:00:00.12345Z", base * US + 123450 },
		{ "2026-03-29T15:00:00.123456Z", base * US + 123456 },
		{ "2026-03-29T15:00:00.1234567Z", base * US + 123456 },
		{ "2026-03-29T15:00:00.12345678Z", base * US + 123456 },
		{ "2026-03-29T15:00:00.999999999Z", base * US + 999999 },
		{ "2026-03-29T15:00:00.000000001Z", base * US },
		{ "2026-03-29T15:00:00.0000009999999999999999999Z", base * US },
		{ "2026-03-29T17:30:00.25+02:30", base * US + 250000 },
		/* Calendar edges. */
		{ "2024-02-29T12:00:00Z", utc(2024, 2, 29, 12, 0, 0) * US },
		{ "2000-02-29T00:00:00Z", utc(2000, 2, 29, 0, 0, 0) * US },
		{ "2026-12-31T23:59:59Z", utc(2026, 12, 31, 23, 59, 59) * US },
		{ "2038-01-19T03:14:08Z", INT64_C(2147483648) * US },
		{ "9999-12-31T23:59:59.999999Z", utc(9999, 12, 31, 23, 59, 59) * US + 999999 },
	};

	for (size_t i = 0; i < N(rows); i++) {
		int64_t got = -42;
		int rc = hd_rfc3339_parse(rows[i].in, strlen(rows[i].in), &got);
		CHECK_MSG(rc == 0, "row %zu '%s' refused", i, rows[i].in);
		CHECK_MSG(rc != 0 || got == rows[i].want, "row %zu '%s': got %lld want %lld", i,
		    rows[i].in, (long long)got, (long long)rows[i].want);
	}
}

/* Everything else is refused: impossible dates and times, leap seconds, missing or
 * malformed zones, trailing data, other layouts and years before 1970. */
static void
test_parse_refuses(void)
{
	static const char *const rows[] = {
		"",
		"2026-03-29",
		"2026-03-29T15:00:00",             /* no zone */
		"2026-03-29T15:00Z",               /* no seconds */
		"2026-03-29 15:00:00Z",            /* space instead of T */
		"2026-03-29T15:00:00.Z",           /* empty fraction */
		"2026-03-29T15:00:00,5Z",          /* comma fraction */
		"2026-03-29T15:00:00ZZ",           /* trailing junk */
		"2026-03-29T15:00:00Z ",
		"2026-03-29T15:00:00Zx",
		"2026-03-29T15:00:00+02:00x",
		" 2026-03-29T15:00:00Z",
		"2023-02-29T00:00:00Z",            /* not a leap year */
		"1900-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z",            /* month 13 */
		"2026-00-01T00:00:00Z",            /* month 0 */
		"2026-01-00T00:00:00Z",            /* day 0 */
		"2026-01-32T00:00:00Z",
		"2026-04-31T00:00:00Z",            /* April has 30 days */
		"2026-03-29T24:00:00Z",            /* hour 24 */
		"2026-03-29T15:60:00Z",            /* minute 60 */
		"2026-03-29T15:00:60Z",            /* leap second */
		"2016-06-30T12:59:60Z",            /* :60 on a leap-second day, but not at 23:59 */
		"2016-12-31T23:59:60+01:00",       /* 22:59:60 UTC: not a leap second */
		"2026-03-29T15:00:00+24:00",       /* offset hour 24 */
		"2026-03-29T15:00:00+02:60",       /* offset minute 60 */
		"2026-03-29T15:00:00+0200",        /* offset without colon */
		"2026-03-29T15:00:00+02",          /* offset without minutes */
		"2026-03-29T15:00:00+2:00",
		"2026-03-29T15:00:00+02:00:00",
		"2026-03-29T15:00:00UTC",
		"2026-03-29T15:00:00GMT",
		"1969-12-31T23:59:59Z",            /* before 1970 */
		"0000-01-01T00:00:00Z",
		"-2026-03-29T15:00:00Z",
		"+2026-03-29T15:00:00Z",
		"20260-03-29T15:00:00Z",
		"2026-3-29T15:00:00Z",
		"2026-03-29T5:00:00Z",
		"2026-03-29T15:0:00Z",
		"2026/03/29T15:00:00Z",
		"2026-03-29T15-00-00Z",
		"2026-0a-29T15:00:00Z",
		"2026-03-29T1 :00:00Z",
		"2026-03-29T15:00:0-Z",
		"2026-03-29T15:00:00.12a3Z",
		"2026-03-29T15:00:00\xc2\xa0Z",
	};

	for (size_t i = 0; i < N(rows); i++) {
		int64_t got = -42;
		CHECK_MSG(hd_rfc3339_parse(rows[i], strlen(rows[i]), &got) == -1,
		    "row %zu '%s' accepted as %lld", i, rows[i], (long long)got);
	}
	/* The length bounds the parse: a valid prefix with junk after len is fine, a
	 * valid text cut short is not. */
	int64_t v;
	CHECK(hd_rfc3339_parse("2026-03-29T15:00:00Zjunk", 20, &v) == 0);
	CHECK(hd_rfc3339_parse("2026-03-29T15:00:00Z", 19, &v) == -1);
	CHECK(hd_rfc3339_parse("2026-03-29T15:00:00.5Z", 21, &v) == -1);
	CHECK(hd_rfc3339_parse("2026-03-29T15:00:00+02:00", 24, &v) == -1);
}

/* hd_time_split is the inverse of the parse and agrees with gmtime_r. */
static void
test_split(void)
{
	static const char *const stamps[] = {
		"1970-01-01T00:00:00Z",
		"1970-01-01T00:00:00.000001Z",
		"1999-12-31T23:59:59.999999Z",
		"2000-02-29T12:34:56.5Z",
		"2000-03-01T00:00:00Z",
		"2024-02-29T23:59:59.123456Z",
		"2026-03-29T15:00:00Z",
		"2038-01-19T03:14:08Z",
		"2100-03-01T00:00:00Z",
		"9999-12-31T23:59:59.999999Z",
	};

	for (size_t i = 0; i < N(stamps); i++) {
		int64_t us = 0;
		struct hd_tm t;
		struct tm g;
		time_t secs;

		CHECK_MSG(hd_rfc3339_parse(stamps[i], strlen(stamps[i]), &us) == 0, "row %zu", i);
		hd_time_split(us, &t);
		secs = (time_t)(us / US);
		CHECK(gmtime_r(&secs, &g) != NULL);
		CHECK_MSG(t.year == g.tm_year + 1900 && t.month == g.tm_mon + 1 &&
		    t.day == g.tm_mday && t.hour == g.tm_hour && t.minute == g.tm_min &&
		    t.second == g.tm_sec && t.usec == (long)(us % US),
		    "row %zu '%s': split %04d-%02d-%02d %02d:%02d:%02d.%06ld", i, stamps[i],
		    t.year, t.month, t.day, t.hour, t.minute, t.second, t.usec);
		/* And the fields give back the same instant. */
		CHECK_MSG(utc(t.year, t.month, t.day, t.hour, t.minute, t.second) * US + t.usec == us,
		    "row %zu: round trip", i);
	}

	/* A sweep: every 7 days and 1 hour 1 minute 1.000001 s from 1970 to ~2100. */
	int bad = 0;
	for (int64_t us = 0; us < INT64_C(4102444800) * US;
	    us += (INT64_C(7) * 86400 + 3661) * US + 1) {
		struct hd_tm t;
		struct tm g;
		time_t secs = (time_t)(us / US);

		hd_time_split(us, &t);
		gmtime_r(&secs, &g);
		if (t.year != g.tm_year + 1900 || t.month != g.tm_mon + 1 || t.day != g.tm_mday ||
		    t.hour != g.tm_hour || t.minute != g.tm_min || t.second != g.tm_sec ||
		    t.usec != (long)(us % US))
			bad++;
	}
	CHECK_MSG(bad == 0, "%d instants split differently from gmtime_r", bad);

	/* Before the epoch the microseconds stay in 0..999999. */
	struct hd_tm t;
	hd_time_split(-1, &t);
	CHECK(t.year == 1969 && t.month == 12 && t.day == 31 && t.hour == 23 &&
	    t.minute == 59 && t.second == 59 && t.usec == 999999);
}

/* hd_rfc3339_format writes UTC to the second, and hd_rfc3339_parse reads it back. */
static void
test_format(void)
{
	static const struct { int64_t usec; const char *want; } rows[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ INT64_C(1705332600) * US, "2024-01-15T15:30:00Z" },
		{ INT64_C(1705332600) * US + 999999, "2024-01-15T15:30:00Z" },
		{ INT64_C(951782400) * US, "2000-02-29T00:00:00Z" },
		{ INT64_C(253402300799) * US, "9999-12-31T23:59:59Z" },
	};
	char out[HD_RFC3339_LEN + 1];
	int64_t back;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		hd_rfc3339_format(rows[i].usec, out);
		CHECK_MSG(strcmp(out, rows[i].want) == 0, "row %zu: got %s", i, out);
		CHECK_MSG(hd_rfc3339_parse(out, strlen(out), &back) == 0 &&
		    back == rows[i].usec / US * US, "row %zu does not read back", i);
	}
}

/* hd_now_usec follows the real-time clock. */
static void
test_now(void)
{
	int64_t now = hd_now_usec();
	int64_t t = (int64_t)time(NULL) * US;

	CHECK(now > utc(2024, 1, 1, 0, 0, 0) * US);
	CHECK(now - t < 2 * US && t - now < 2 * US);
}

int
main(void)
{
	test_parse_accepts();
	test_parse_refuses();
	test_split();
	test_format();
	test_now();
	UNIT_DONE();
}
