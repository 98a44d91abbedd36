/*
 * Fuzz driver: RFC 3339 timestamps (hd_rfc3339_parse). An accepted timestamp lies in
 * the documented years (give or take a day of offset), splits into valid calendar
 * fields (hd_time_split), and the split, written back in UTC, parses to the same
 * instant.
 */
#include <string.h>

#include "fuzz.h"
#include "hd_time.h"

#define DAY_US (INT64_C(86400) * HD_USEC_PER_SEC)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t us = 0, again = 0;
	struct hd_tm t;
	char text[64];
	int n;

	if (hd_rfc3339_parse((const char *)data, size, &us) != 0)
		return 0;
	FUZZ_ASSERT(size >= 20);
	/* 1970-01-01 minus an offset of at most 23:59 .. 9999-12-31 plus one. */
	FUZZ_ASSERT(us > -DAY_US);
	FUZZ_ASSERT(us < INT64_C(253402300800) * HD_USEC_PER_SEC + DAY_US);
	hd_time_split(us, &t);
	FUZZ_ASSERT(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31);
	FUZZ_ASSERT(t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59);
	FUZZ_ASSERT(t.second >= 0 && t.second <= 59 && t.usec >= 0 && t.usec <= 999999);
	FUZZ_ASSERT(t.year >= 1969 && t.year <= 10000);
	if (t.year < 1970 || t.year > 9999)
		return 0;      /* an offset moved it out of the range the parser writes */
	n = snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", t.year,
	    t.month, t.day, t.hour, t.minute, t.second, t.usec);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(text));
	FUZZ_ASSERT(hd_rfc3339_parse(text, (size_t)n, &again) == 0);
	FUZZ_ASSERT(again == us);
	/* The same without the fraction, for whole seconds. */
	if (t.usec == 0) {
		n = snprintf(text, sizeof(text), "%04d-%02d-%02dt%02d:%02d:%02dz", t.year,
		    t.month, t.day, t.hour, t.minute, t.second);
		FUZZ_ASSERT(hd_rfc3339_parse(text, (size_t)n, &again) == 0 && again == us);
	}
	return 0;
}
