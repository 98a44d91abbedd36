#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hd_log.h"

static const char *hd_log_program = "herald";
static enum hd_log_level hd_log_threshold = HD_LOG_INFO;

static const char *const hd_log_names[HD_LOG__MAX] = {
	[HD_LOG_ERROR] = "error",
	[HD_LOG_WARN] = "warn",
	[HD_LOG_INFO] = "info",
	[HD_LOG_DEBUG] = "debug",
};

void
hd_log_setup(const char *program, enum hd_log_level level)
{
	if (program)
		hd_log_program = program;
	hd_log_threshold = level;
}

int
hd_log_level_parse(const char *s, enum hd_log_level *out)
{
	for (int i = 0; i < HD_LOG__MAX; i++)
		if (strcmp(s, hd_log_names[i]) == 0) {
			*out = (enum hd_log_level)i;
			return 0;
		}
	return -1;
}

void
hd_log(enum hd_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > hd_log_threshold || (unsigned)level >= HD_LOG__MAX)
		return;
	n = snprintf(line, sizeof(line), "%s[%ld] %s: ", hd_log_program,
	    (long)getpid(), hd_log_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* Drop control characters (C0, DEL, and C1 encoded in UTF-8 as C2 80..9F) so
	 * client-supplied text cannot forge log lines or drive a terminal. */
	for (unsigned char *p = (unsigned char *)line; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = ' ';
	}
	fprintf(stderr, "%s\n", line);
}
