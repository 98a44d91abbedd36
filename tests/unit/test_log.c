/*
 * hd_log: every line starts with an RFC 3339 UTC timestamp with milliseconds (text)
 * or is one JSON object (json); the request id of the thread goes on each line while
 * set; control characters never reach the file; a message too long for a line is
 * cut and the line stays whole (a JSON line still parses as far as its end). The
 * lines are read back from a temporary file that standard error is pointed at.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hd_log.h"
#include "unit.h"

static char path[] = "/tmp/hd_test_log.XXXXXX";
static int saved_stderr = -1;

/* Points standard error at an empty temporary file. */
static void
capture(void)
{
	int fd = mkstemp(path);

	if (fd < 0 || (saved_stderr = dup(STDERR_FILENO)) < 0 || dup2(fd, STDERR_FILENO) < 0)
		abort();
	close(fd);
}

/* Puts standard error back; returns what was written meanwhile (caller frees). */
static char *
release(void)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1 << 16);

	if (dup2(saved_stderr, STDERR_FILENO) < 0 || f == NULL || text == NULL)
		abort();
	close(saved_stderr);
	if (fread(text, 1, (1 << 16) - 1, f) == 0)
		text[0] = '\0';
	fclose(f);
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	return text;
}

static int
matches(const char *re, const char *text)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	ok = regexec(&r, text, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void
test_text_lines(void)
{
	static const struct {
		const char *request_id;  /* NULL: none */
		const char *message;
		const char *line;        /* the whole line, a regular expression */
	} cases[] = {
		{ NULL, "ready", "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
		    "test_log\\[[0-9]+\\] warn: ready\n$" },
		{ "0123456789ab", "in a request", "Z test_log\\[[0-9]+\\] warn req=0123456789ab: "
		    "in a request\n$" },
		{ NULL, "forged\nline\x1b[31m", ": forged line \\[31m\n$" },
	};

	hd_log_setup("test_log", HD_LOG_INFO);
	hd_log_set_format(HD_LOG_TEXT);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out;

		capture();
		hd_log_set_request(cases[i].request_id);
		hd_log_warn("%s", cases[i].message);
		hd_log_set_request(NULL);
		out = release();
		CHECK_MSG(matches(cases[i].line, out), "case %zu: %s", i, out);
		free(out);
	}
}

static void
test_json_lines(void)
{
	char long_message[5000];
	char *out;
	json_object *doc, *v;

	hd_log_setup("test_log", HD_LOG_DEBUG);
	hd_log_set_format(HD_LOG_JSON);
	memset(long_message, '"', sizeof(long_message) - 1);
	long_message[sizeof(long_message) - 1] = '\0';

	capture();
	hd_log_set_request("00000000abcd");
	hd_log_request("POST", "/developer/push", 201, 3456);
	hd_log_set_request(NULL);
	out = release();
	doc = json_tokener_parse(out);
	CHECK_MSG(doc != NULL, "%s", out);
	CHECK(json_object_object_get_ex(doc, "request_id", &v) &&
	    strcmp(json_object_get_string(v), "00000000abcd") == 0);
	CHECK(json_object_object_get_ex(doc, "route", &v) &&
	    strcmp(json_object_get_string(v), "/developer/push") == 0);
	CHECK(json_object_object_get_ex(doc, "status", &v) && json_object_get_int(v) == 201);
	CHECK(json_object_object_get_ex(doc, "pid", &v) &&
	    json_object_get_int64(v) == (int64_t)getpid());
	CHECK(json_object_object_get_ex(doc, "ms", &v) && json_object_get_double(v) == 3.4);
	CHECK(json_object_object_get_ex(doc, "msg", &v) &&
	    strcmp(json_object_get_string(v), "POST /developer/push -> 201 in 3.4 ms") == 0);
	CHECK(json_object_object_get_ex(doc, "time", &v) && matches(
	    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
	    json_object_get_string(v)));
	json_object_put(doc);
	free(out);

	/* No route: null, not a string. */
	capture();
	hd_log_request("GET", NULL, 404, 0);
	out = release();
	doc = json_tokener_parse(out);
	CHECK(doc && json_object_object_get_ex(doc, "route", &v) && v == NULL);
	CHECK(doc && json_object_object_get_ex(doc, "request_id", &v) == 0);
	json_object_put(doc);
	free(out);

	/* Every character escaped, the message cut, the line still one whole object. */
	capture();
	hd_log_debug("%s\x01", long_message);
	out = release();
	doc = json_tokener_parse(out);
	CHECK_MSG(doc != NULL && strchr(out, '\n') == out + strlen(out) - 1, "%.80s", out);
	CHECK(doc && json_object_object_get_ex(doc, "msg", &v) &&
	    json_object_get_string_len(v) > 500 &&
	    strspn(json_object_get_string(v), "\"") == (size_t)json_object_get_string_len(v));
	json_object_put(doc);
	free(out);
	hd_log_set_format(HD_LOG_TEXT);
}

static void
test_level_filters(void)
{
	char *out;

	hd_log_setup("test_log", HD_LOG_WARN);
	capture();
	hd_log_info("not logged");
	hd_log_request("GET", "/health", 200, 1);
	hd_log_error("logged");
	out = release();
	CHECK_MSG(strstr(out, "not logged") == NULL && strstr(out, "/health") == NULL &&
	    strstr(out, "error: logged") != NULL, "%s", out);
	free(out);
}

int
main(void)
{
	test_text_lines();
	test_json_lines();
	test_level_filters();
	UNIT_DONE();
}
