/* JSON bodies (RFC 8259) through json-c in strict mode, with herald's bounds. */
#include <string.h>

#include "hd_doc.h"
#include "hd_text.h"

static int
hd_hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* RFC 8259 §8.2: a \u escape of a surrogate must come as a high-low pair. json-c
 * turns a lone one into U+FFFD, silently changing the client's text; refuse it. */
static bool
hd_json_surrogates_paired(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		int cp, lo;

		if (s[i] != '\\')
			continue;
		if (s[i + 1] != 'u') {
			i++;    /* skip the escaped character, a backslash included */
			continue;
		}
		if (len - i < 6 || (cp = hd_hex4(s + i + 2)) < 0)
			return true;    /* malformed: the parser refuses it */
		i += 5;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return false;
		if (cp < 0xd800 || cp > 0xdbff)
			continue;
		if (len - i < 7 || s[i + 1] != '\\' || s[i + 2] != 'u' ||
		    (lo = hd_hex4(s + i + 3)) < 0xdc00 || lo > 0xdfff)
			return false;
		i += 6;
	}
	return true;
}

enum hd_problem
hd_json_parse(const char *body, size_t len, json_object **out, const char **why)
{
	struct json_tokener *tok;
	json_object *doc = NULL;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (len > INT32_MAX) {
		*why = "body too large";
		return HD_P_BODY_TOO_LARGE;
	}
	/* Checked up front: json-c's strict mode accepts some invalid sequences in keys. */
	if (!hd_utf8_valid(body, len)) {
		*why = "the body is not valid UTF-8";
		return HD_P_MALFORMED;
	}
	if (!hd_json_surrogates_paired(body, len)) {
		*why = "the JSON has an unpaired surrogate escape";
		return HD_P_MALFORMED;
	}
	if ((tok = json_tokener_new_ex(HD_DOC_MAX_DEPTH)) == NULL) {
		*why = "out of memory";
		return HD_P_INTERNAL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	doc = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (doc == NULL || jerr != json_tokener_success) {
		json_object_put(doc);
		*why = jerr == json_tokener_error_depth ? "the JSON is nested too deeply" :
		    jerr == json_tokener_continue ? "the JSON ends too early" :
		    "the body is not valid JSON";
		return HD_P_MALFORMED;
	}
	while (end < len && strchr(" \t\r\n", body[end]) != NULL)
		end++;
	if (end != len) {
		json_object_put(doc);
		*why = "unexpected data after the JSON document";
		return HD_P_MALFORMED;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		*why = "the JSON body must be an object";
		return HD_P_MALFORMED;
	}
	*out = doc;
	return HD_P_NONE;
}
