/*
 * A browser's User-Agent string (RFC 9110 §10.1.5) read for the few facts a push
 * dashboard shows: browser, its major version, operating system, device type. The
 * rules are a short ordered list of product tokens (Edge and Opera say "Chrome" too,
 * Chrome says "Safari"), not a database of devices: what they do not know stays
 * unknown. Nothing is allocated; names are static strings.
 */
#ifndef HD_USERAGENT_H
#define HD_USERAGENT_H

#include <stddef.h>

struct hd_useragent {
	const char *browser;       /* "Chrome", "Firefox", …; NULL: unknown */
	char browser_version[12];  /* the major version's digits; "": unknown */
	const char *os;            /* "Windows", "macOS", "iOS", "Android", …; NULL */
	const char *device_type;   /* "desktop", "mobile" or "tablet"; NULL: unknown */
};

/* Reads ua[0..len) (not NUL-terminated) into out. */
void hd_useragent_parse(const char *ua, size_t len, struct hd_useragent *out);

#endif
