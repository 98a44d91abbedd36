/* hd_useragent: browser, major version, OS and device type of real browsers'
 * User-Agent strings; unknown parts stay unknown. */
#include <stdbool.h>
#include <string.h>

#include "hd_useragent.h"
#include "unit.h"

static bool
same(const char *got, const char *want)
{
	return got == want || (got && want && strcmp(got, want) == 0);
}

static void
test_browsers(void)
{
	static const struct {
		const char *ua, *browser, *version, *os, *type;
	} rows[] = {
		{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		  "Chrome", "120", "Windows", "desktop" },
		{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
		  "Edge", "120", "Windows", "desktop" },
		{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
		  "Safari", "17", "macOS", "desktop" },
		{ "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
		  "Firefox", "121", "Linux", "desktop" },
		{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
		  "Safari", "17", "iOS", "mobile" },
		{ "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
		  "Chrome", "120", "iOS", "tablet" },
		{ "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
		  "Chrome", "120", "Android", "mobile" },
		{ "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		  "Chrome", "120", "Android", "tablet" },
		{ "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
		  "Samsung Internet", "23", "Android", "mobile" },
		{ "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
		  "Firefox", "121", "Android", "mobile" },
		{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
		  "Opera", "105", "Windows", "desktop" },
		{ "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		  "Chrome", "120", "ChromeOS", "desktop" },
		{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
		  "Firefox", "121", "iOS", "mobile" },
		/* Nothing known: everything unknown. */
		{ "curl/8.4.0", NULL, "", NULL, NULL },
		{ "", NULL, "", NULL, NULL },
		/* A version cut off at the end of the text, and one without digits. */
		{ "Firefox/12", "Firefox", "12", NULL, NULL },
		{ "Chrome/", "Chrome", "", NULL, NULL },
		/* Safari without Version/: the browser is known, its version is not. */
		{ "Mozilla/5.0 (Macintosh) Safari/605.1.15", "Safari", "", "macOS", "desktop" },
		/* Absurdly long version digits are cut to fit. */
		{ "Chrome/12345678901234567890", "Chrome", "12345678901", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hd_useragent ua;

		hd_useragent_parse(rows[i].ua, strlen(rows[i].ua), &ua);
		CHECK_MSG(same(ua.browser, rows[i].browser), "row %zu: browser %s", i,
		    ua.browser ? ua.browser : "(null)");
		CHECK_MSG(strcmp(ua.browser_version, rows[i].version) == 0, "row %zu: version %s",
		    i, ua.browser_version);
		CHECK_MSG(same(ua.os, rows[i].os), "row %zu: os %s", i, ua.os ? ua.os : "(null)");
		CHECK_MSG(same(ua.device_type, rows[i].type), "row %zu: type %s", i,
		    ua.device_type ? ua.device_type : "(null)");
	}
}

/* Only len bytes are read: a token just past the end is not seen. */
static void
test_length_bounds(void)
{
	static const char text[] = "Mozilla/5.0 (Windows NT 10.0) Firefox/121.0";
	struct hd_useragent ua;

	hd_useragent_parse(text, strlen("Mozilla/5.0 (Windows NT 10.0) Fire"), &ua);
	CHECK(ua.browser == NULL && strcmp(ua.os, "Windows") == 0);
	hd_useragent_parse(text, strlen(text) - 2, &ua);
	CHECK(strcmp(ua.browser, "Firefox") == 0 && strcmp(ua.browser_version, "121") == 0);
	hd_useragent_parse(NULL, 0, &ua);
	CHECK(ua.browser == NULL && ua.os == NULL && ua.device_type == NULL);
}

int
main(void)
{
	test_browsers();
	test_length_bounds();
	UNIT_DONE();
}
