#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hd_time.h"

int64_t
hd_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
hd_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int
hd_digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
hd_days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : days[m - 1];
}

int
hd_rfc3339_parse(const char *s, size_t len, int64_t *usec)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	long frac = 0;
	size_t i;

	/* full-date "T" partial-time: YYYY-MM-DDTHH:MM:SS */
	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (hd_digits(s, 4, &y) || hd_digits(s + 5, 2, &mo) || hd_digits(s + 8, 2, &d) ||
	    hd_digits(s + 11, 2, &h) || hd_digits(s + 14, 2, &mi) || hd_digits(s + 17, 2, &sec))
		return -1;
	/* RFC 3339 §5.7 allows a leap second (:60); it is read as the next second's
	 * start, which is what a POSIX clock shows then (checked below). */
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > hd_days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	i = 19;
	if (s[i] == '.') {
		size_t start = ++i;
		long scale = 100000;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			frac += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		if (i == start)
			return -1;
	}
	if (i >= len)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (len - i != 6 || s[i + 3] != ':' || hd_digits(s + i + 1, 2, &oh) ||
		    hd_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else
		return -1;
	if (i != len)
		return -1;
	int64_t secs = hd_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	secs -= sign * (oh * 3600 + om * 60);
	if (sec == 60) {
		/* Only where leap seconds go: 23:59:60 UTC on June 30 or December 31. */
		int64_t at = secs - 1;
		int64_t sod = ((at % 86400) + 86400) % 86400;
		int ly, lm, ld;

		hd_civil_from_days((at - sod) / 86400, &ly, &lm, &ld);
		if (sod != 86399 || !((lm == 6 && ld == 30) || (lm == 12 && ld == 31)))
			return -1;
	}
	*usec = secs * HD_USEC_PER_SEC + frac;
	return 0;
}

int64_t
hd_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * HD_USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t
hd_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * HD_USEC_PER_SEC + ts.tv_nsec / 1000;
}

void
hd_time_split(int64_t usec, struct hd_tm *out)
{
	int64_t secs = usec / HD_USEC_PER_SEC;
	int64_t rem = usec % HD_USEC_PER_SEC;
	int64_t days, sod;

	if (rem < 0) {
		rem += HD_USEC_PER_SEC;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	hd_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(sod / 3600);
	out->minute = (int)(sod % 3600 / 60);
	out->second = (int)(sod % 60);
	out->usec = (long)rem;
}

void
hd_rfc3339_format(int64_t usec, char out[HD_RFC3339_LEN + 1])
{
	struct hd_tm t;
	/* Room for any int in every field, so that nothing is ever cut mid-number. */
	char text[80];

	hd_time_split(usec, &t);
	snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", t.year % 10000,
	    t.month, t.day, t.hour, t.minute, t.second);
	memcpy(out, text, HD_RFC3339_LEN);
	out[HD_RFC3339_LEN] = '\0';
}
