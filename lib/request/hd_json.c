/* JSON bodies (RFC 8259) through json-c in strict mode, with herald's bounds. */
#include <string.h>

#include "hd_doc.h"
#include "hd_text.h"

/*
 * An RFC 8259 grammar check, run before json-c: json-c 0.16's "strict" mode still
 * takes single quotes, NaN and Infinity, "1." and raw control characters in strings,
 * and turns a lone surrogate escape into U+FFFD and a \u0000 in a key into a shorter
 * key. The bytes are already known to be valid UTF-8.
 */
struct hd_jscan {
	const char *s;
	size_t len, i;
	size_t members;    /* object members seen, to find duplicates after json-c */
	const char *why;
};

static bool hd_jscan_value(struct hd_jscan *j, int depth);

static void
hd_jscan_ws(struct hd_jscan *j)
{
	while (j->i < j->len && (j->s[j->i] == ' ' || j->s[j->i] == '\t' ||
	    j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

static bool
hd_jscan_fail(struct hd_jscan *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return false;
}

static int
hd_jscan_hex4(struct hd_jscan *j)
{
	int v = 0;

	if (j->len - j->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		char c = j->s[j->i++];
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

/* §7: a string; key strings may not hold U+0000 (json-c keeps keys as C strings). */
static bool
hd_jscan_string(struct hd_jscan *j, bool key)
{
	j->i++;    /* the opening quote */
	while (j->i < j->len) {
		unsigned char c = (unsigned char)j->s[j->i++];
		int cp, lo;

		if (c == '"')
			return true;
		if (c < 0x20)
			return hd_jscan_fail(j, "the JSON has a control character inside a string");
		if (c != '\\')
			continue;
		if (j->i >= j->len)
			break;
		c = (unsigned char)j->s[j->i++];
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
			continue;
		if (c != 'u' || (cp = hd_jscan_hex4(j)) < 0)
			return hd_jscan_fail(j, "the JSON has an invalid escape");
		if (cp == 0 && key)
			return hd_jscan_fail(j, "a JSON member name contains \\u0000");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return hd_jscan_fail(j, "the JSON has an unpaired surrogate escape");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (j->len - j->i < 2 || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u')
				return hd_jscan_fail(j, "the JSON has an unpaired surrogate escape");
			j->i += 2;
			if ((lo = hd_jscan_hex4(j)) < 0xdc00 || lo > 0xdfff)
				return hd_jscan_fail(j, "the JSON has an unpaired surrogate escape");
		}
	}
	return hd_jscan_fail(j, "the JSON ends inside a string");
}

static bool
hd_jscan_digits(struct hd_jscan *j)
{
	size_t start = j->i;

	while (j->i < j->len && j->s[j->i] >= '0' && j->s[j->i] <= '9')
		j->i++;
	return j->i > start;
}

/* §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool
hd_jscan_number(struct hd_jscan *j)
{
	if (j->s[j->i] == '-')
		j->i++;
	if (j->i < j->len && j->s[j->i] == '0')
		j->i++;
	else if (!hd_jscan_digits(j))
		return hd_jscan_fail(j, "the body is not valid JSON");
	if (j->i < j->len && j->s[j->i] == '.') {
		j->i++;
		if (!hd_jscan_digits(j))
			return hd_jscan_fail(j, "the body is not valid JSON");
	}
	if (j->i < j->len && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
		j->i++;
		if (j->i < j->len && (j->s[j->i] == '+' || j->s[j->i] == '-'))
			j->i++;
		if (!hd_jscan_digits(j))
			return hd_jscan_fail(j, "the body is not valid JSON");
	}
	return true;
}

static bool
hd_jscan_literal(struct hd_jscan *j, const char *word)
{
	size_t n = strlen(word);

	if (j->len - j->i < n || memcmp(j->s + j->i, word, n) != 0)
		return hd_jscan_fail(j, "the body is not valid JSON");
	j->i += n;
	return true;
}

/* §4 and §5: objects and arrays, members separated by commas, no trailing comma. */
static bool
hd_jscan_container(struct hd_jscan *j, int depth, bool object)
{
	char close = object ? '}' : ']';

	j->i++;
	hd_jscan_ws(j);
	if (j->i < j->len && j->s[j->i] == close) {
		j->i++;
		return true;
	}
	for (;;) {
		if (object) {
			if (j->i >= j->len || j->s[j->i] != '"' || !hd_jscan_string(j, true))
				return hd_jscan_fail(j, "the body is not valid JSON");
			hd_jscan_ws(j);
			if (j->i >= j->len || j->s[j->i] != ':')
				return hd_jscan_fail(j, "the body is not valid JSON");
			j->i++;
			j->members++;
		}
		if (!hd_jscan_value(j, depth + 1))
			return false;
		hd_jscan_ws(j);
		if (j->i < j->len && j->s[j->i] == ',') {
			j->i++;
			hd_jscan_ws(j);
			continue;
		}
		if (j->i < j->len && j->s[j->i] == close) {
			j->i++;
			return true;
		}
		return hd_jscan_fail(j, j->i >= j->len ? "the JSON ends too early" :
		    "the body is not valid JSON");
	}
}

/* depth counts values as json-c does: a scalar inside 15 containers is at depth 16. */
static bool
hd_jscan_value(struct hd_jscan *j, int depth)
{
	if (depth > HD_DOC_MAX_DEPTH)
		return hd_jscan_fail(j, "the JSON is nested too deeply");
	hd_jscan_ws(j);
	if (j->i >= j->len)
		return hd_jscan_fail(j, "the JSON ends too early");
	switch (j->s[j->i]) {
	case '{':
		return hd_jscan_container(j, depth, true);
	case '[':
		return hd_jscan_container(j, depth, false);
	case '"':
		return hd_jscan_string(j, false);
	case 't':
		return hd_jscan_literal(j, "true");
	case 'f':
		return hd_jscan_literal(j, "false");
	case 'n':
		return hd_jscan_literal(j, "null");
	default:
		return hd_jscan_number(j);
	}
}

/* Members in json-c's tree: fewer than the text has means a name was repeated, and
 * json-c kept only one of them. */
static size_t
hd_json_members(json_object *v)
{
	size_t n = 0;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, m) {
			(void)k;
			n += 1 + hd_json_members(m);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++)
			n += hd_json_members(json_object_array_get_idx(v, i));
	}
	return n;
}

enum hd_problem
hd_json_parse(const char *body, size_t len, json_object **out, const char **why)
{
	struct hd_jscan scan = { body, len, 0, 0, NULL };
	struct json_tokener *tok;
	json_object *doc;

	*out = NULL;
	if (len > INT32_MAX) {
		*why = "body too large";
		return HD_P_BODY_TOO_LARGE;
	}
	if (!hd_utf8_valid(body, len)) {
		*why = "the body is not valid UTF-8";
		return HD_P_MALFORMED;
	}
	hd_jscan_ws(&scan);
	if (scan.i >= len || body[scan.i] != '{') {
		*why = "the JSON body must be an object";
		return HD_P_MALFORMED;
	}
	if (!hd_jscan_value(&scan, 1)) {
		*why = scan.why;
		return HD_P_MALFORMED;
	}
	hd_jscan_ws(&scan);
	if (scan.i != len) {
		*why = "unexpected data after the JSON document";
		return HD_P_MALFORMED;
	}
	/* The grammar check is the binding depth limit; json-c's is one level looser. */
	if ((tok = json_tokener_new_ex(HD_DOC_MAX_DEPTH + 1)) == NULL) {
		*why = "out of memory";
		return HD_P_INTERNAL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	doc = json_tokener_parse_ex(tok, body, (int)len);
	if (doc == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(doc, json_type_object)) {
		json_tokener_free(tok);
		json_object_put(doc);
		*why = "the body is not valid JSON";
		return HD_P_MALFORMED;
	}
	json_tokener_free(tok);
	/* RFC 8259 §4 leaves repeated names to the parser; parsers disagree on which one
	 * wins, so a repeated name is refused rather than silently dropped. */
	if (hd_json_members(doc) != scan.members) {
		json_object_put(doc);
		*why = "the JSON repeats a member name";
		return HD_P_MALFORMED;
	}
	*out = doc;
	return HD_P_NONE;
}
