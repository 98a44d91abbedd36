/*
 * Time in herald is microseconds since the Unix epoch, UTC (int64_t). RFC 3339 §5.6
 * timestamps are parsed strictly: date, 'T', time, optional fraction, 'Z' or offset.
 */
#ifndef HD_TIME_H
#define HD_TIME_H

#include <stddef.h>
#include <stdint.h>

#define HD_USEC_PER_SEC INT64_C(1000000)

/* Parses s[0..len) as an RFC 3339 date-time with a year from 1970 to 9999. Returns 0
 * and sets *usec, or -1. Fractions beyond microseconds are truncated. */
int hd_rfc3339_parse(const char *s, size_t len, int64_t *usec);
/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t hd_days_from_civil(int64_t y, int m, int d);

/* Now, by the real-time clock. */
int64_t hd_now_usec(void);
/* A monotonic clock in usec, for durations (it never jumps with the wall clock). */
int64_t hd_monotonic_usec(void);
/* Broken-down UTC fields of usec (for database DATETIME binding). */
struct hd_tm {
	int year, month, day, hour, minute, second;
	long usec;
};
void hd_time_split(int64_t usec, struct hd_tm *out);

/* "YYYY-MM-DDTHH:MM:SSZ": the length of hd_rfc3339_format's text. */
#define HD_RFC3339_LEN 20
/* Writes usec (years 0..9999), cut to the second, as RFC 3339 UTC text and a NUL. */
void hd_rfc3339_format(int64_t usec, char out[HD_RFC3339_LEN + 1]);

#endif
