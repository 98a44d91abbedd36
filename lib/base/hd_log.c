#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hd_log.h"
#include "hd_time.h"

/* Longest line written; a longer message is cut (never an escape sequence). */
#define HD_LOG_LINE_MAX 2048
#define HD_LOG_MSG_MAX 1024

static const char *hd_log_program = "herald";
static enum hd_log_level hd_log_threshold = HD_LOG_INFO;
static enum hd_log_format hd_log_fmt = HD_LOG_TEXT;
static _Thread_local char hd_log_request_id[HD_REQUEST_ID_LEN + 1];
/* Taken once at setup: getpid() is a system call per line otherwise, and herald's
 * programs never fork after setting up their log. 0: not set up. */
static long hd_log_pid;

const char *const hd_log_level_names[HD_LOG__MAX] = {
	[HD_LOG_ERROR] = "error",
	[HD_LOG_WARN] = "warn",
	[HD_LOG_INFO] = "info",
	[HD_LOG_DEBUG] = "debug",
};

const char *const hd_log_format_names[HD_LOG_FORMAT__MAX] = {
	[HD_LOG_TEXT] = "text",
	[HD_LOG_JSON] = "json",
};

void
hd_log_setup(const char *program, enum hd_log_level level)
{
	if (program)
		hd_log_program = program;
	hd_log_threshold = level;
	hd_log_pid = (long)getpid();
}

void
hd_log_set_format(enum hd_log_format format)
{
	hd_log_fmt = format;
}

int
hd_log_level_parse(const char *s, enum hd_log_level *out)
{
	for (int i = 0; i < HD_LOG__MAX; i++)
		if (strcmp(s, hd_log_level_names[i]) == 0) {
			*out = (enum hd_log_level)i;
			return 0;
		}
	return -1;
}

void
hd_log_set_request(const char *id)
{
	snprintf(hd_log_request_id, sizeof(hd_log_request_id), "%s", id ? id : "");
}

/* A line under construction: text is always NUL-terminated, len < cap. */
struct hd_line {
	char text[HD_LOG_LINE_MAX];
	size_t len;
};

static void
hd_line_printf(struct hd_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
hd_line_printf(struct hd_line *l, const char *fmt, ...)
{
	size_t room = sizeof(l->text) - l->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < room ? (size_t)n : room - 1;
}

/* s as the inside of a JSON string; stops before an escape that would leave less
 * than reserve bytes of room. */
static void
hd_line_json_string(struct hd_line *l, const char *s, size_t reserve)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else {
			esc[0] = (char)c;
			n = 1;
		}
		if (l->len + n + reserve >= sizeof(l->text))
			break;
		memcpy(l->text + l->len, esc, n);
		l->len += n;
		l->text[l->len] = '\0';
	}
}

/* Writes one line: msg is the message (no control characters left), fields more
 * JSON members (",\"name\":value..."), or "". */
static void
hd_log_emit(enum hd_log_level level, const char *msg, const char *fields)
{
	struct hd_line l = { .len = 0 };
	struct hd_tm tm;
	long pid = hd_log_pid ? hd_log_pid : (long)getpid();

	hd_time_split(hd_now_usec(), &tm);
	if (hd_log_fmt == HD_LOG_JSON) {
		hd_line_printf(&l, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
		    "\"program\":\"", tm.year, tm.month, tm.day, tm.hour, tm.minute,
		    tm.second, tm.usec / 1000);
		hd_line_json_string(&l, hd_log_program, 0);
		hd_line_printf(&l, "\",\"pid\":%ld,\"level\":\"%s\"", pid,
		    hd_log_level_names[level]);
		if (hd_log_request_id[0])
			hd_line_printf(&l, ",\"request_id\":\"%s\"", hd_log_request_id);
		hd_line_printf(&l, "%s,\"msg\":\"", fields);
		/* The end always fits: a long message is cut before it. */
		if (l.len > sizeof(l.text) - 4)
			l.len = sizeof(l.text) - 4;
		hd_line_json_string(&l, msg, 4);
		memcpy(l.text + l.len, "\"}\n", 4);
		l.len += 3;
	} else {
		hd_line_printf(&l, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s",
		    tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second, tm.usec / 1000,
		    hd_log_program, pid, hd_log_level_names[level]);
		if (hd_log_request_id[0])
			hd_line_printf(&l, " req=%s", hd_log_request_id);
		hd_line_printf(&l, ": %s", msg);
		if (l.len > sizeof(l.text) - 2)
			l.len = sizeof(l.text) - 2;
		memcpy(l.text + l.len, "\n", 2);
		l.len += 1;
	}
	/* One write: lines of processes sharing a file never interleave. */
	if (write(STDERR_FILENO, l.text, l.len) < 0)
		return;
}

/* Drops control characters (C0, DEL, and C1 encoded in UTF-8 as C2 80..9F) so
 * client-supplied text cannot forge log lines or drive a terminal. */
static void
hd_log_clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = ' ';
	}
}

void
hd_log(enum hd_log_level level, const char *fmt, ...)
{
	char msg[HD_LOG_MSG_MAX];
	va_list ap;

	if (level > hd_log_threshold || (unsigned)level >= HD_LOG__MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hd_log_clean(msg);
	hd_log_emit(level, msg, "");
}

void
hd_log_request(const char *method, const char *route, int status, int64_t usec)
{
	char msg[HD_LOG_MSG_MAX], fields[HD_LOG_MSG_MAX];
	long ms = (long)(usec / 1000), frac = (long)(usec % 1000 / 100);

	if (HD_LOG_INFO > hd_log_threshold)
		return;
	/* Method and route come from herald's own tables, never from the request. */
	snprintf(msg, sizeof(msg), "%s %s -> %d in %ld.%ld ms", method, route ? route : "-",
	    status, ms, frac);
	snprintf(fields, sizeof(fields), ",\"method\":\"%s\",\"route\":%s%s%s,"
	    "\"status\":%d,\"ms\":%ld.%ld", method, route ? "\"" : "",
	    route ? route : "null", route ? "\"" : "", status, ms, frac);
	hd_log_clean(msg);
	hd_log_emit(HD_LOG_INFO, msg, fields);
}
