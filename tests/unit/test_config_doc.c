/*
 * herald.conf(5) against the configuration table: the KEYS section of
 * man/herald.conf.5 names every key of the table, in its order, and no other; the
 * line after each name is what hd_config_key() says of the key's values and default,
 * and a full stop. So the page cannot lose a key, keep a removed one, or state a
 * default or a bound that the code does not have. The page is found under $srcdir
 * (set by automake's test driver; "." otherwise).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd_config.h"
#include "unit.h"

#define MAX_KEYS 256
#define LINE_MAX_LEN 1024

struct entry {
	char name[LINE_MAX_LEN];
	char summary[LINE_MAX_LEN];
};

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Reads the documented keys of the KEYS section: ".TP", ".B name", summary line. */
static size_t
read_page(FILE *f, struct entry *out, size_t cap)
{
	char line[LINE_MAX_LEN], prev[LINE_MAX_LEN] = "";
	size_t n = 0;
	int in_keys = 0, want_summary = 0;

	while (fgets(line, sizeof(line), f)) {
		chomp(line);
		if (strncmp(line, ".SH ", 4) == 0)
			in_keys = strcmp(line, ".SH KEYS") == 0;
		else if (in_keys && want_summary) {
			snprintf(out[n - 1].summary, sizeof(out[n - 1].summary), "%s", line);
			want_summary = 0;
		} else if (in_keys && strcmp(prev, ".TP") == 0 && strncmp(line, ".B ", 3) == 0) {
			if (n == cap)
				return n;
			snprintf(out[n].name, sizeof(out[n].name), "%s", line + 3);
			out[n].summary[0] = '\0';
			n++;
			want_summary = 1;
		}
		snprintf(prev, sizeof(prev), "%s", line);
	}
	return n;
}

int
main(void)
{
	static struct entry page[MAX_KEYS];
	const char *srcdir = getenv("srcdir");
	char path[4096], summary[LINE_MAX_LEN], expected[LINE_MAX_LEN + 1];
	const char *name;
	size_t documented, i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/man/herald.conf.5", srcdir && *srcdir ? srcdir : ".");
	f = fopen(path, "r");
	CHECK_MSG(f != NULL, "cannot open %s", path);
	if (f == NULL)
		UNIT_DONE();
	documented = read_page(f, page, MAX_KEYS);
	fclose(f);
	CHECK_MSG(documented > 0, "no keys in the KEYS section of %s", path);

	for (i = 0; (name = hd_config_key(i, summary, sizeof(summary))) != NULL; i++) {
		CHECK_MSG(i < documented, "key %s is not documented in %s", name, path);
		if (i >= documented)
			continue;
		CHECK_MSG(strcmp(page[i].name, name) == 0,
		    "key %zu of the table is %s, the page has %s there", i, name, page[i].name);
		snprintf(expected, sizeof(expected), "%s.", summary);
		CHECK_MSG(strcmp(page[i].summary, expected) == 0,
		    "%s: the page says \"%s\", the table \"%s\"", name, page[i].summary, expected);
	}
	for (; i < documented; i++)
		CHECK_MSG(0, "%s is documented but not a key of the table", page[i].name);
	UNIT_DONE();
}
