#include <string.h>

#include "hd_useragent.h"

/* Where the token lit first occurs in s[0..len), or NULL. */
static const char *
hd_ua_find(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(s + i, lit, n) == 0)
			return s + i;
	return NULL;
}

/* Browsers in the order they must be tried: a token a browser adds comes before the
 * tokens it copies from others. version: the token its version follows. */
static const struct {
	const char *token;
	const char *name;
	const char *version;
} hd_ua_browsers[] = {
	{ "Edg/", "Edge", "Edg/" },
	{ "EdgA/", "Edge", "EdgA/" },
	{ "EdgiOS/", "Edge", "EdgiOS/" },
	{ "OPR/", "Opera", "OPR/" },
	{ "SamsungBrowser/", "Samsung Internet", "SamsungBrowser/" },
	{ "FxiOS/", "Firefox", "FxiOS/" },
	{ "Firefox/", "Firefox", "Firefox/" },
	{ "CriOS/", "Chrome", "CriOS/" },
	{ "Chromium/", "Chromium", "Chromium/" },
	{ "Chrome/", "Chrome", "Chrome/" },
	{ "Safari/", "Safari", "Version/" },
};

/* Operating systems, tried in order (Android says "Linux"; iOS says "like Mac OS X"). */
static const struct {
	const char *token;
	const char *name;
} hd_ua_systems[] = {
	{ "Windows", "Windows" },
	{ "iPhone", "iOS" },
	{ "iPad", "iOS" },
	{ "iPod", "iOS" },
	{ "Android", "Android" },
	{ "CrOS", "ChromeOS" },
	{ "Macintosh", "macOS" },
	{ "Mac OS X", "macOS" },
	{ "Linux", "Linux" },
};

static void
hd_ua_version(const char *ua, size_t len, const char *token, struct hd_useragent *out)
{
	const char *p = hd_ua_find(ua, len, token);
	size_t n = 0;

	if (p == NULL)
		return;
	p += strlen(token);
	while (p < ua + len && *p >= '0' && *p <= '9' && n + 1 < sizeof(out->browser_version))
		out->browser_version[n++] = *p++;
	out->browser_version[n] = '\0';
}

void
hd_useragent_parse(const char *ua, size_t len, struct hd_useragent *out)
{
	memset(out, 0, sizeof(*out));
	if (ua == NULL)
		return;
	for (size_t i = 0; i < sizeof(hd_ua_browsers) / sizeof(hd_ua_browsers[0]); i++)
		if (hd_ua_find(ua, len, hd_ua_browsers[i].token)) {
			out->browser = hd_ua_browsers[i].name;
			hd_ua_version(ua, len, hd_ua_browsers[i].version, out);
			break;
		}
	for (size_t i = 0; i < sizeof(hd_ua_systems) / sizeof(hd_ua_systems[0]); i++)
		if (hd_ua_find(ua, len, hd_ua_systems[i].token)) {
			out->os = hd_ua_systems[i].name;
			break;
		}
	/* Android tablets leave "Mobile" out of their User-Agent. */
	if (hd_ua_find(ua, len, "iPad") || hd_ua_find(ua, len, "Tablet") ||
	    (out->os && strcmp(out->os, "Android") == 0 && !hd_ua_find(ua, len, "Mobile")))
		out->device_type = "tablet";
	else if (hd_ua_find(ua, len, "Mobi") || hd_ua_find(ua, len, "iPhone") ||
	    hd_ua_find(ua, len, "iPod"))
		out->device_type = "mobile";
	else if (out->os)
		out->device_type = "desktop";
}
