/*
 * hd_fields: validation of parsed bodies against declared fieldsets, before any
 * database or provider work. The fieldsets below are the test's own; they use every
 * type and flag. XML documents are checked both as real XML (through hd_xml_parse)
 * and as the all-strings trees XML produces.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hd_doc.h"
#include "hd_fields.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kinds[] = { "ios", "android", "web", NULL };

enum { M_TITLE, M_OPT, M_COUNT, M_FLAG, M_WHEN, M_KIND, M_DATA, M_SUB, M_SUB_A, M_SUB_B,
	M_SUB_DEEP, M_SUB_DEEP_X, M_BIG, M__MAX };

static const struct hd_field main_fields[M__MAX] = {
	[M_TITLE] = { "title", HD_FT_STRING, HD_F_REQUIRED, 1, 8, NULL },
	[M_OPT] = { "opt", HD_FT_STRING, 0, 0, 4, NULL },
	[M_COUNT] = { "count", HD_FT_INT, 0, 1, 10, NULL },
	[M_FLAG] = { "flag", HD_FT_BOOL, 0, 0, 0, NULL },
	[M_WHEN] = { "when", HD_FT_TIME, 0, 0, 0, NULL },
	[M_KIND] = { "kind", HD_FT_ENUM, 0, 0, 0, kinds },
	[M_DATA] = { "data", HD_FT_OBJECT, HD_F_OPEN, 0, 32, NULL },
	[M_SUB] = { "sub", HD_FT_OBJECT, 0, 0, 1024, NULL },
	[M_SUB_A] = { "sub.a", HD_FT_INT, 0, -5, 100, NULL },
	[M_SUB_B] = { "sub.b", HD_FT_STRING, 0, 0, 10, NULL },
	[M_SUB_DEEP] = { "sub.deep", HD_FT_OBJECT, 0, 0, 1024, NULL },
	[M_SUB_DEEP_X] = { "sub.deep.x", HD_FT_BOOL, 0, 0, 0, NULL },
	[M_BIG] = { "big", HD_FT_INT, 0, INT64_MIN + 1, INT64_MAX - 1, NULL },
};
static const struct hd_fieldset main_fs = { main_fields, M__MAX, NULL };

/* The legacy dialect's shape: "" means absent, and one of three names is needed. */
enum { L_USER_ID, L_EMAIL, L_EXT, L_NICK, L__MAX };
#define E HD_F_EMPTY_IS_NULL
static const struct hd_field legacy_fields[L__MAX] = {
	[L_USER_ID] = { "UserId", HD_FT_STRING, E, 1, 64, NULL },
	[L_EMAIL] = { "UserEmail", HD_FT_STRING, E, 3, 255, NULL },
	[L_EXT] = { "UserExternalId", HD_FT_STRING, E, 1, 255, NULL },
	[L_NICK] = { "Nick", HD_FT_STRING, E | HD_F_REQUIRED, 1, 16, NULL },
};
static const char *const user_fields[] = { "UserId", "UserEmail", "UserExternalId", NULL };
static const struct hd_fieldset legacy_fs = { legacy_fields, L__MAX, user_fields };

static const struct hd_field pair_fields[] = {
	{ "a", HD_FT_STRING, 0, 1, 8, NULL },
	{ "b", HD_FT_STRING, 0, 1, 8, NULL },
};
static const char *const pair_one_of[] = { "a", "b", NULL };
static const struct hd_fieldset pair_fs = { pair_fields, 2, pair_one_of };

static json_object *
json(const char *s)
{
	json_object *o = NULL;
	const char *why = NULL;

	if (hd_json_parse(s, strlen(s), &o, &why) != HD_P_NONE)
		fprintf(stderr, "test bug: cannot parse %s: %s\n", s, why);
	return o;
}

/* An independent RFC 8259 check of JSON text (json-c's own parser is lenient, so it
 * cannot judge what json-c wrote). */
static bool jv_value(const char **p, int depth);

static void
jv_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static bool
jv_string(const char **p)
{
	if (*(*p)++ != '"')
		return false;
	for (;;) {
		unsigned char c = (unsigned char)*(*p)++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			c = (unsigned char)*(*p)++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, (*p)++)
					if (!strchr("0123456789abcdefABCDEF", **p) || **p == '\0')
						return false;
			} else if (!strchr("\"\\/bfnrt", c) || c == '\0')
				return false;
		}
	}
}

static bool
jv_digits(const char **p)
{
	const char *s = *p;
	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > s;
}

static bool
jv_value(const char **p, int depth)
{
	if (depth > 64)
		return false;
	jv_ws(p);
	switch (**p) {
	case '{':
	case '[': {
		char close = **p == '{' ? '}' : ']';
		bool obj = close == '}';
		(*p)++;
		jv_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		for (;;) {
			jv_ws(p);
			if (obj) {
				if (!jv_string(p))
					return false;
				jv_ws(p);
				if (*(*p)++ != ':')
					return false;
			}
			if (!jv_value(p, depth + 1))
				return false;
			jv_ws(p);
			if (**p == ',') {
				(*p)++;
				continue;
			}
			return *(*p)++ == close;
		}
	}
	case '"':
		return jv_string(p);
	case 't':
		return strncmp(*p, "true", 4) == 0 && (*p += 4);
	case 'f':
		return strncmp(*p, "false", 5) == 0 && (*p += 5);
	case 'n':
		return strncmp(*p, "null", 4) == 0 && (*p += 4);
	default:
		if (**p == '-')
			(*p)++;
		if (**p == '0')
			(*p)++;
		else if (!jv_digits(p))
			return false;
		if (**p == '.') {
			(*p)++;
			if (!jv_digits(p))
				return false;
		}
		if (**p == 'e' || **p == 'E') {
			(*p)++;
			if (**p == '+' || **p == '-')
				(*p)++;
			if (!jv_digits(p))
				return false;
		}
		return true;
	}
}

static bool
json_text_valid(const char *s)
{
	const char *p = s;

	if (!jv_value(&p, 0))
		return false;
	jv_ws(&p);
	return *p == '\0';
}

struct row {
	const char *doc;        /* JSON text; with xml, strings stand for XML text */
	bool xml;
	enum hd_problem want;
	const char *field;      /* refusals: the field named in the refusal */
};

/* Runs rows against fs: the problem, and for refusals a filled field and message. */
static void
run_rows(const char *group, const struct hd_fieldset *fs, const struct row *rows,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_object *doc = json(rows[i].doc);
		struct hd_value values[16];
		struct hd_refusal why;
		enum hd_problem p;

		memset(&why, 0x5a, sizeof(why));
		why.field[sizeof(why.field) - 1] = why.message[sizeof(why.message) - 1] = '\0';
		if (doc == NULL) {
			CHECK_MSG(0, "%s row %zu: bad test document", group, i);
			continue;
		}
		p = hd_fields_validate(fs, doc, rows[i].xml, values, &why);
		CHECK_MSG(p == rows[i].want, "%s row %zu %s%s: got %d (%s: %s), want %d", group, i,
		    rows[i].xml ? "[xml] " : "", rows[i].doc, p,
		    p ? why.field : "", p ? why.message : "", rows[i].want);
		if (p != HD_P_NONE && p == rows[i].want) {
			CHECK_MSG(why.problem == p, "%s row %zu: why.problem %d", group, i, why.problem);
			CHECK_MSG(rows[i].field == NULL || strcmp(why.field, rows[i].field) == 0,
			    "%s row %zu %s: field '%s', want '%s'", group, i, rows[i].doc, why.field,
			    rows[i].field);
			CHECK_MSG(why.message[0] != '\0' && why.message[0] != 0x5a,
			    "%s row %zu: no message", group, i);
			CHECK_MSG(rows[i].field == NULL || rows[i].field[0] == '\0' ||
			    strstr(why.message, rows[i].field) != NULL,
			    "%s row %zu: message '%s' does not name %s", group, i, why.message,
			    rows[i].field);
		}
		json_object_put(doc);
	}
}

/* Presence: required fields, absent and null optional ones. */
static void
test_presence(void)
{
	static const struct row rows[] = {
		{ "{\"title\":\"t\"}", false, HD_P_NONE, NULL },
		{ "{}", false, HD_P_MISSING_FIELD, "title" },
		{ "{\"title\":null}", false, HD_P_MISSING_FIELD, "title" },
		{ "{\"opt\":\"x\"}", false, HD_P_MISSING_FIELD, "title" },
		{ "{\"title\":\"t\",\"opt\":null,\"count\":null,\"flag\":null,\"when\":null,"
		  "\"kind\":null,\"data\":null,\"sub\":null}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"sub\":{\"a\":null}}", false, HD_P_NONE, NULL },
		/* XML: <title i:nil="true"/> is null, <title/> is an empty string */
		{ "{\"title\":null}", true, HD_P_MISSING_FIELD, "title" },
		{ "{\"title\":\"\"}", true, HD_P_MISSING_FIELD, "title" },
	};

	run_rows("presence", &main_fs, rows, N(rows));

	/* Values: present ones filled and borrowing from the document, absent ones zero. */
	json_object *doc = json("{\"title\":\"hi\",\"count\":3,\"flag\":true,\"kind\":\"web\","
	    "\"when\":\"1970-01-01T00:00:01.5Z\",\"data\":{\"k\":[1]},\"opt\":null,"
	    "\"sub\":{\"a\":-5,\"b\":\"bb\",\"deep\":{\"x\":false}}}"), *t = NULL;
	struct hd_value v[M__MAX];
	struct hd_refusal why;

	memset(v, 0x77, sizeof(v));
	CHECK(hd_fields_validate(&main_fs, doc, false, v, &why) == HD_P_NONE);
	json_object_object_get_ex(doc, "title", &t);
	CHECK(v[M_TITLE].present && v[M_TITLE].len == 2 &&
	    v[M_TITLE].s == json_object_get_string(t));
	CHECK(v[M_COUNT].present && v[M_COUNT].i == 3);
	CHECK(v[M_FLAG].present && v[M_FLAG].i == 1);
	CHECK(v[M_KIND].present && v[M_KIND].i == 2 && v[M_KIND].len == 3);
	CHECK(v[M_WHEN].present && v[M_WHEN].i == 1500000);
	CHECK(v[M_DATA].present && json_object_is_type(v[M_DATA].obj, json_type_object));
	CHECK(v[M_SUB].present && v[M_SUB_A].present && v[M_SUB_A].i == -5);
	CHECK(v[M_SUB_B].present && v[M_SUB_B].len == 2 && memcmp(v[M_SUB_B].s, "bb", 2) == 0);
	CHECK(v[M_SUB_DEEP_X].present && v[M_SUB_DEEP_X].i == 0);
	CHECK(!v[M_OPT].present && v[M_OPT].s == NULL && v[M_OPT].len == 0);
	CHECK(!v[M_BIG].present && v[M_BIG].i == 0 && v[M_BIG].obj == NULL);
	json_object_put(doc);
}

/* HD_F_EMPTY_IS_NULL: "" counts as absent (required ones are then missing), and the
 * one_of group names every alternative. */
static void
test_empty_is_null_and_one_of(void)
{
	static const struct row rows[] = {
		{ "{\"Nick\":\"n\",\"UserId\":\"u\"}", true, HD_P_NONE, NULL },
		{ "{\"Nick\":\"n\",\"UserEmail\":\"a@b\"}", true, HD_P_NONE, NULL },
		{ "{\"Nick\":\"n\",\"UserId\":\"\",\"UserEmail\":\"\",\"UserExternalId\":\"x\"}", true,
		  HD_P_NONE, NULL },
		{ "{\"Nick\":\"\",\"UserId\":\"u\"}", true, HD_P_MISSING_FIELD, "Nick" },
		{ "{\"Nick\":\"\",\"UserId\":\"u\"}", false, HD_P_MISSING_FIELD, "Nick" },
		{ "{\"Nick\":\"n\"}", true, HD_P_MISSING_FIELD, "UserId" },
		{ "{\"Nick\":\"n\",\"UserId\":\"\",\"UserEmail\":\"\",\"UserExternalId\":\"\"}", true,
		  HD_P_MISSING_FIELD, "UserId" },
		{ "{\"Nick\":\"n\",\"UserId\":null}", true, HD_P_MISSING_FIELD, "UserId" },
		/* "" is absent, but a short non-empty value is still checked */
		{ "{\"Nick\":\"n\",\"UserEmail\":\"ab\"}", true, HD_P_INVALID_VALUE, "UserEmail" },
		{ "{\"Nick\":\"n\",\"UserId\":\" \"}", true, HD_P_NONE, NULL },
	};
	struct hd_value v[L__MAX];
	struct hd_refusal why;
	json_object *doc;

	run_rows("empty/one_of", &legacy_fs, rows, N(rows));

	doc = json("{\"Nick\":\"n\",\"UserId\":\"\",\"UserEmail\":\"a@b\"}");
	CHECK(hd_fields_validate(&legacy_fs, doc, true, v, &why) == HD_P_NONE);
	CHECK(!v[L_USER_ID].present && v[L_EMAIL].present);
	json_object_put(doc);

	doc = json("{\"Nick\":\"n\"}");
	CHECK(hd_fields_validate(&legacy_fs, doc, true, v, &why) == HD_P_MISSING_FIELD);
	CHECK_MSG(strcmp(why.message, "one of UserId, UserEmail or UserExternalId is required") == 0,
	    "message '%s'", why.message);
	json_object_put(doc);

	doc = json("{}");
	CHECK(hd_fields_validate(&pair_fs, doc, false, v, &why) == HD_P_MISSING_FIELD);
	CHECK_MSG(strcmp(why.message, "one of a or b is required") == 0, "message '%s'",
	    why.message);
	CHECK(strcmp(why.field, "a") == 0);
	json_object_put(doc);
	doc = json("{\"b\":\"x\"}");
	CHECK(hd_fields_validate(&pair_fs, doc, false, v, &why) == HD_P_NONE);
	CHECK(!v[0].present && v[1].present);
	json_object_put(doc);
}

/* Members nobody declared are refused at every closed level, and allowed only inside
 * HD_F_OPEN objects. */
static void
test_unknown(void)
{
	static const struct row rows[] = {
		{ "{\"title\":\"t\",\"zzz\":1}", false, HD_P_UNKNOWN_FIELD, "zzz" },
		{ "{\"title\":\"t\",\"Title\":\"t\"}", false, HD_P_UNKNOWN_FIELD, "Title" },
		{ "{\"title\":\"t\",\"zzz\":null}", false, HD_P_UNKNOWN_FIELD, "zzz" },
		{ "{\"zzz\":1}", false, HD_P_UNKNOWN_FIELD, "zzz" },   /* before "missing" */
		{ "{\"title\":\"t\",\"a\":1}", false, HD_P_UNKNOWN_FIELD, "a" },
		{ "{\"title\":\"t\",\"deep\":{}}", false, HD_P_UNKNOWN_FIELD, "deep" },
		/* nested, closed: named by the dotted path */
		{ "{\"title\":\"t\",\"sub\":{\"a\":1,\"zz\":2}}", false, HD_P_UNKNOWN_FIELD, "sub.zz" },
		{ "{\"title\":\"t\",\"sub\":{\"deep\":{\"x\":true,\"q\":1}}}", false,
		  HD_P_UNKNOWN_FIELD, "sub.deep.q" },
		{ "{\"title\":\"t\",\"sub\":{\"sub\":{}}}", false, HD_P_UNKNOWN_FIELD, "sub.sub" },
		{ "{\"title\":\"t\",\"sub\":{\"a\":\"1\",\"zz\":\"2\"}}", true, HD_P_UNKNOWN_FIELD,
		  "sub.zz" },
		/* a key spelling a declared dotted path is not that path */
		{ "{\"title\":\"t\",\"sub.a\":5}", false, HD_P_UNKNOWN_FIELD, "sub.a" },
		{ "{\"title\":\"t\",\"sub\":{\"deep.x\":true}}", false, HD_P_UNKNOWN_FIELD,
		  "sub.deep.x" },
		/* open objects take anything */
		{ "{\"title\":\"t\",\"data\":{\"zz\":{\"y\":[1,{}]},\"k\":null}}", false,
		  HD_P_NONE, NULL },
	};

	run_rows("unknown", &main_fs, rows, N(rows));
}

/* Integers: JSON numbers only (no doubles, booleans or strings), range-checked; XML
 * text is trimmed and parsed by its digits, and huge values are out of range. */
static void
test_int(void)
{
	static const struct row rows[] = {
		{ "{\"title\":\"t\",\"count\":1}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"count\":10}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"count\":0}", false, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":11}", false, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":-1}", false, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":7.0}", false, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":7.5}", false, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":7e0}", false, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":1e400}", false, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":true}", false, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"7\"}", false, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":[7]}", false, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":{}}", false, HD_P_INVALID_TYPE, "count" },
		/* json-c clamps these to the int64 limits; every declared range excludes them */
		{ "{\"title\":\"t\",\"count\":18446744073709551616}", false, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":9223372036854775807}", false, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":-99999999999999999999}", false, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"big\":9223372036854775806}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"big\":9223372036854775808}", false, HD_P_OUT_OF_RANGE, "big" },
		{ "{\"title\":\"t\",\"big\":99999999999999999999}", false, HD_P_OUT_OF_RANGE, "big" },
		{ "{\"title\":\"t\",\"big\":-99999999999999999999}", false, HD_P_OUT_OF_RANGE, "big" },
		/* XML text */
		{ "{\"title\":\"t\",\"count\":\"7\"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"count\":\" 7 \"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"count\":\"\\n\\t7\\r\\n\"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"count\":\"007\"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"count\":\"0\"}", true, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":\"11\"}", true, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":\"-3\"}", true, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":\"99999999999999999999999\"}", true, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"count\":\"-99999999999999999999999\"}", true, HD_P_OUT_OF_RANGE, "count" },
		{ "{\"title\":\"t\",\"big\":\"9223372036854775808\"}", true, HD_P_OUT_OF_RANGE, "big" },
		{ "{\"title\":\"t\",\"big\":\"9223372036854775806\"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"count\":\"7.0\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"+7\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"7 7\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"0x7\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"seven\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"   \"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"-\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"--7\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":\"\\u0667\"}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":{\"x\":\"1\"}}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"count\":[\"1\",\"2\"]}", true, HD_P_INVALID_TYPE, "count" },
		{ "{\"title\":\"t\",\"sub\":{\"a\":\" -5 \"}}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"sub\":{\"a\":\"-6\"}}", true, HD_P_OUT_OF_RANGE, "sub.a" },
	};
	struct hd_value v[M__MAX];
	struct hd_refusal why;
	json_object *doc;

	run_rows("int", &main_fs, rows, N(rows));

	doc = json("{\"title\":\"t\",\"count\":\" 007 \",\"sub\":{\"a\":\"-5\"}}");
	CHECK(hd_fields_validate(&main_fs, doc, true, v, &why) == HD_P_NONE);
	CHECK(v[M_COUNT].i == 7 && v[M_SUB_A].i == -5);
	json_object_put(doc);
}

/* Booleans: JSON true/false; from XML also 1/0, letters in any case, nothing else. */
static void
test_bool(void)
{
	static const struct {
		const char *doc;
		bool xml;
		enum hd_problem want;
		int64_t value;
	} rows[] = {
		{ "{\"title\":\"t\",\"flag\":true}", false, HD_P_NONE, 1 },
		{ "{\"title\":\"t\",\"flag\":false}", false, HD_P_NONE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"true\"}", false, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":1}", false, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":0}", false, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":{}}", false, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"true\"}", true, HD_P_NONE, 1 },
		{ "{\"title\":\"t\",\"flag\":\"false\"}", true, HD_P_NONE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"1\"}", true, HD_P_NONE, 1 },
		{ "{\"title\":\"t\",\"flag\":\"0\"}", true, HD_P_NONE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"True\"}", true, HD_P_NONE, 1 },
		{ "{\"title\":\"t\",\"flag\":\"FALSE\"}", true, HD_P_NONE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"yes\"}", true, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"no\"}", true, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"2\"}", true, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"01\"}", true, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"t\"}", true, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"\"}", true, HD_P_INVALID_TYPE, 0 },
		{ "{\"title\":\"t\",\"flag\":\"truex\"}", true, HD_P_INVALID_TYPE, 0 },
	};

	for (size_t i = 0; i < N(rows); i++) {
		json_object *doc = json(rows[i].doc);
		struct hd_value v[M__MAX];
		struct hd_refusal why;
		enum hd_problem p = hd_fields_validate(&main_fs, doc, rows[i].xml, v, &why);

		CHECK_MSG(p == rows[i].want, "bool row %zu %s: got %d", i, rows[i].doc, p);
		if (p == HD_P_NONE)
			CHECK_MSG(v[M_FLAG].present && v[M_FLAG].i == rows[i].value,
			    "bool row %zu: value %lld", i, (long long)v[M_FLAG].i);
		else
			CHECK_MSG(strcmp(why.field, "flag") == 0 && why.message[0],
			    "bool row %zu: field '%s'", i, why.field);
		json_object_put(doc);
	}
}

/* Strings: lengths in bytes, not characters; min 1 refuses ""; NUL is refused in
 * declared strings and anywhere else in the document. */
static void
test_string(void)
{
	static const struct row rows[] = {
		{ "{\"title\":\"12345678\"}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"123456789\"}", false, HD_P_TOO_LONG, "title" },
		{ "{\"title\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}", false, HD_P_NONE, NULL },    /* 8 bytes */
		{ "{\"title\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", false, HD_P_TOO_LONG, "title" },
		{ "{\"title\":\"\\u20ac\\u20ac\\u20ac\"}", false, HD_P_TOO_LONG, "title" },   /* 9 bytes */
		{ "{\"title\":\"\\ud83d\\ude00\\ud83d\\ude00\"}", false, HD_P_NONE, NULL },   /* 8 bytes */
		{ "{\"title\":\"1234567\\u00e9\"}", false, HD_P_TOO_LONG, "title" },
		{ "{\"title\":\"\"}", false, HD_P_MISSING_FIELD, "title" },
		{ "{\"title\":\" \"}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"opt\":\"\"}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"opt\":\"12345\"}", false, HD_P_TOO_LONG, "opt" },
		{ "{\"title\":5}", false, HD_P_INVALID_TYPE, "title" },
		{ "{\"title\":true}", false, HD_P_INVALID_TYPE, "title" },
		{ "{\"title\":[\"a\"]}", false, HD_P_INVALID_TYPE, "title" },
		{ "{\"title\":{\"a\":\"b\"}}", false, HD_P_INVALID_TYPE, "title" },
		{ "{\"title\":[\"a\",\"b\"]}", true, HD_P_INVALID_TYPE, "title" },
		{ "{\"title\":\"a\\u0000b\"}", false, HD_P_INVALID_VALUE, NULL },
		{ "{\"title\":\"\\u0000\"}", false, HD_P_INVALID_VALUE, NULL },
		{ "{\"title\":\"t\",\"sub\":{\"b\":\"x\\u0000\"}}", false, HD_P_INVALID_VALUE, NULL },
		{ "{\"title\":\"t\",\"data\":{\"k\":\"\\u0000\"}}", false, HD_P_INVALID_VALUE, NULL },
		{ "{\"title\":\"t\",\"data\":{\"k\":[\"\\u0000\"]}}", false, HD_P_INVALID_VALUE, NULL },
	};

	run_rows("string", &main_fs, rows, N(rows));

	/* A \u0000 in a key: json-c keeps keys as C strings, so "title\u0000x" would
	 * silently become "title". It must not be taken as the title. */
	const char *in = "{\"title\\u0000junk\":\"hello\"}";
	json_object *doc = NULL;
	const char *jwhy = NULL;
	struct hd_value v[M__MAX];
	struct hd_refusal why;
	if (hd_json_parse(in, strlen(in), &doc, &jwhy) == HD_P_NONE) {
		enum hd_problem p = hd_fields_validate(&main_fs, doc, false, v, &why);
		CHECK_MSG(p != HD_P_NONE, "%s accepted with title '%.*s'", in,
		    (int)v[M_TITLE].len, v[M_TITLE].s);
	}
	json_object_put(doc);
}

/* Enumerations (exact, case-sensitive) and RFC 3339 times. */
static void
test_enum_time(void)
{
	static const struct row rows[] = {
		{ "{\"title\":\"t\",\"kind\":\"ios\"}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"kind\":\"ANDROID\"}", false, HD_P_INVALID_VALUE, "kind" },
		{ "{\"title\":\"t\",\"kind\":\"\"}", false, HD_P_INVALID_VALUE, "kind" },
		{ "{\"title\":\"t\",\"kind\":\"io\"}", false, HD_P_INVALID_VALUE, "kind" },
		{ "{\"title\":\"t\",\"kind\":\"iosx\"}", false, HD_P_INVALID_VALUE, "kind" },
		{ "{\"title\":\"t\",\"kind\":\"ios\\u0000\"}", false, HD_P_INVALID_VALUE, NULL },
		{ "{\"title\":\"t\",\"kind\":1}", false, HD_P_INVALID_TYPE, "kind" },
		{ "{\"title\":\"t\",\"when\":\"2026-03-29T15:00:00Z\"}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"when\":\"2026-03-29T15:00:00+02:00\"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"when\":\"2026-02-30T15:00:00Z\"}", false, HD_P_INVALID_VALUE, "when" },
		{ "{\"title\":\"t\",\"when\":\"2026-03-29 15:00:00\"}", false, HD_P_INVALID_VALUE, "when" },
		{ "{\"title\":\"t\",\"when\":\"\"}", false, HD_P_INVALID_VALUE, "when" },
		{ "{\"title\":\"t\",\"when\":1774796400}", false, HD_P_INVALID_TYPE, "when" },
	};
	static const struct {
		const char *kind;
		int64_t index;
	} idx[] = { { "ios", 0 }, { "android", 1 }, { "web", 2 } };

	run_rows("enum/time", &main_fs, rows, N(rows));
	for (size_t i = 0; i < N(idx); i++) {
		char text[64];
		struct hd_value v[M__MAX];
		struct hd_refusal why;
		json_object *doc;

		snprintf(text, sizeof(text), "{\"title\":\"t\",\"kind\":\"%s\"}", idx[i].kind);
		doc = json(text);
		CHECK(hd_fields_validate(&main_fs, doc, false, v, &why) == HD_P_NONE);
		CHECK_MSG(v[M_KIND].i == idx[i].index, "enum %s: index %lld", idx[i].kind,
		    (long long)v[M_KIND].i);
		json_object_put(doc);
	}
	json_object *doc = json("{\"title\":\"t\",\"when\":\"2026-03-29T17:00:00.25+02:00\"}");
	struct hd_value v[M__MAX];
	struct hd_refusal why;
	CHECK(hd_fields_validate(&main_fs, doc, false, v, &why) == HD_P_NONE);
	CHECK(v[M_WHEN].i == INT64_C(1774796400) * 1000000 + 250000);
	json_object_put(doc);
}

/* Objects: bounded by their JSON size; an empty XML element is an absent object. */
static void
test_object(void)
{
	static const struct row rows[] = {
		/* {"k":"x"} is 9 bytes; 32 is the limit */
		{ "{\"title\":\"t\",\"data\":{\"k\":\"x\"}}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"data\":{}}", false, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"data\":{\"k\":\"123456789012345678901234\"}}", false,
		  HD_P_NONE, NULL },                                        /* 32 bytes */
		{ "{\"title\":\"t\",\"data\":{\"k\":\"1234567890123456789012345\"}}", false,
		  HD_P_TOO_LONG, "data" },                                  /* 33 bytes */
		{ "{\"title\":\"t\",\"data\":{\"k\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}}",
		  false, HD_P_TOO_LONG, "data" },            /* 34 bytes, 21 characters */
		{ "{\"title\":\"t\",\"data\":\"x\"}", false, HD_P_INVALID_TYPE, "data" },
		{ "{\"title\":\"t\",\"data\":[]}", false, HD_P_INVALID_TYPE, "data" },
		{ "{\"title\":\"t\",\"data\":1}", false, HD_P_INVALID_TYPE, "data" },
		{ "{\"title\":\"t\",\"data\":\"\"}", false, HD_P_INVALID_TYPE, "data" },
		{ "{\"title\":\"t\",\"data\":\"\"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"data\":\"x\"}", true, HD_P_INVALID_TYPE, "data" },
		{ "{\"title\":\"t\",\"sub\":\"\"}", true, HD_P_NONE, NULL },
		{ "{\"title\":\"t\",\"sub\":[{},{}]}", false, HD_P_INVALID_TYPE, "sub" },
	};
	struct hd_value v[M__MAX];
	struct hd_refusal why;
	json_object *doc;

	run_rows("object", &main_fs, rows, N(rows));

	doc = json("{\"title\":\"t\",\"data\":\"\"}");
	CHECK(hd_fields_validate(&main_fs, doc, true, v, &why) == HD_P_NONE);
	CHECK(!v[M_DATA].present && v[M_DATA].obj == NULL);
	json_object_put(doc);

	/* An accepted object's JSON text (what is stored and sent on) is valid JSON. */
	static const char *const texts[] = {
		"{\"title\":\"t\",\"data\":{\"x\":1e400}}",
		"{\"title\":\"t\",\"data\":{\"x\":NaN}}",
		"{\"title\":\"t\",\"data\":{\"x\":-Infinity}}",
		"{\"title\":\"t\",\"data\":{\"x\":18446744073709551616}}",
	};
	for (size_t i = 0; i < N(texts); i++) {
		const char *jwhy = NULL;

		doc = NULL;
		if (hd_json_parse(texts[i], strlen(texts[i]), &doc, &jwhy) != HD_P_NONE)
			continue;          /* refusing the body is fine too */
		if (hd_fields_validate(&main_fs, doc, false, v, &why) == HD_P_NONE) {
			const char *s = json_object_to_json_string_ext(v[M_DATA].obj,
			    JSON_C_TO_STRING_PLAIN);
			CHECK_MSG(json_text_valid(s),
			    "object row %zu: %s accepted; its JSON %s is not JSON", i, texts[i], s);
		}
		json_object_put(doc);
	}
	/* The checker itself. */
	CHECK(json_text_valid("{\"a\":[1,-0.5e+3,\"\\u00e9\\n\",true,false,null,{}]}"));
	CHECK(!json_text_valid("{\"a\":NaN}") && !json_text_valid("{\"a\":1.}"));
	CHECK(!json_text_valid("{\"a\":1,}") && !json_text_valid("{'a':1}"));
	CHECK(!json_text_valid("{\"a\":\"\\x\"}") && !json_text_valid("{\"a\"} x"));
}

/* Real XML bodies through hd_xml_parse, then validated with coercion. */
static void
test_from_xml(void)
{
	static const char body[] =
	    "<push xmlns:i=\"" HD_XSI_NS "\">"
	    "<title>caf\xc3\xa9</title><count> 7 </count><flag>1</flag><kind>web</kind>"
	    "<when>2026-03-29T15:00:00Z</when><opt i:nil=\"true\"/><data/>"
	    "<sub><a>-5</a><b/><deep><x>false</x></deep></sub>"
	    "</push>";
	struct hd_xml_rules rules = { "push", true };
	json_object *doc = NULL;
	const char *xwhy = NULL;
	struct hd_value v[M__MAX];
	struct hd_refusal why;

	CHECK(hd_xml_parse(body, strlen(body), &rules, &doc, &xwhy) == HD_P_NONE);
	CHECK(hd_fields_validate(&main_fs, doc, true, v, &why) == HD_P_NONE);
	CHECK(v[M_TITLE].len == 5 && memcmp(v[M_TITLE].s, "caf\xc3\xa9", 5) == 0);
	CHECK(v[M_COUNT].i == 7 && v[M_FLAG].i == 1 && v[M_KIND].i == 2);
	CHECK(v[M_WHEN].i == INT64_C(1774796400) * 1000000);
	CHECK(!v[M_OPT].present && !v[M_DATA].present);
	CHECK(v[M_SUB_A].i == -5 && v[M_SUB_B].present && v[M_SUB_B].len == 0);
	CHECK(v[M_SUB_DEEP_X].present && v[M_SUB_DEEP_X].i == 0);
	/* The same document is not acceptable as JSON: its scalars are all strings. */
	CHECK(hd_fields_validate(&main_fs, doc, false, v, &why) == HD_P_INVALID_TYPE);
	json_object_put(doc);

	static const char twice[] = "<push><title>a</title><title>b</title></push>";
	CHECK(hd_xml_parse(twice, strlen(twice), &rules, &doc, &xwhy) == HD_P_MISSING_NAMESPACE);
	rules.require_xsi_ns = false;
	CHECK(hd_xml_parse(twice, strlen(twice), &rules, &doc, &xwhy) == HD_P_NONE);
	CHECK(hd_fields_validate(&main_fs, doc, true, v, &why) == HD_P_INVALID_TYPE);
	CHECK(strcmp(why.field, "title") == 0);
	json_object_put(doc);
}

/* Lists: 1-3 items of 1-4 bytes each, named name[i] when refused; a name of 1-3
 * characters, however many bytes they take. */
static const struct hd_field list_fields[] = {
	{ "ids", HD_FT_LIST, 0, 1, 3, NULL },
	{ "ids[]", HD_FT_STRING, 0, 1, 4, NULL },
	{ "name", HD_FT_STRING, HD_F_CHARS, 1, 3, NULL },
};
static const struct hd_fieldset list_fs = { list_fields, N(list_fields), NULL };

static void
test_list_chars(void)
{
	static const struct row rows[] = {
		{ "{\"ids\":[\"a\"]}", false, HD_P_NONE, NULL },
		{ "{\"ids\":[\"a\",\"bcde\",\"f\"]}", false, HD_P_NONE, NULL },
		{ "{\"ids\":null}", false, HD_P_NONE, NULL },
		{ "{\"ids\":[]}", false, HD_P_OUT_OF_RANGE, "ids" },
		{ "{\"ids\":[\"a\",\"b\",\"c\",\"d\"]}", false, HD_P_OUT_OF_RANGE, "ids" },
		{ "{\"ids\":\"a\"}", false, HD_P_INVALID_TYPE, "ids" },
		{ "{\"ids\":{\"a\":\"b\"}}", false, HD_P_INVALID_TYPE, "ids" },
		{ "{\"ids\":[\"a\",5]}", false, HD_P_INVALID_TYPE, "ids[1]" },
		{ "{\"ids\":[\"a\",\"\"]}", false, HD_P_MISSING_FIELD, "ids[1]" },
		{ "{\"ids\":[\"abcde\"]}", false, HD_P_TOO_LONG, "ids[0]" },
		{ "{\"ids\":[\"a\\u0000\"]}", false, HD_P_INVALID_VALUE, "ids[0]" },
		{ "{\"ids\":\"a\"}", true, HD_P_NONE, NULL },
		{ "{\"ids\":[\"a\",\"b\"]}", true, HD_P_NONE, NULL },
		{ "{\"ids\":\"\"}", true, HD_P_MISSING_FIELD, "ids[0]" },
		{ "{\"ids[]\":[\"a\"]}", false, HD_P_UNKNOWN_FIELD, "ids[]" },
		{ "{\"name\":\"abc\"}", false, HD_P_NONE, NULL },
		{ "{\"name\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}", false, HD_P_NONE, NULL }, /* 9 bytes */
		{ "{\"name\":\"abcd\"}", false, HD_P_TOO_LONG, "name" },
		{ "{\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}", false, HD_P_TOO_LONG, "name" },
		{ "{\"name\":\"\"}", false, HD_P_MISSING_FIELD, "name" },
	};
	json_object *doc = json("{\"ids\":[\"ab\",\"cde\"]}");
	struct hd_value v[N(list_fields)];
	struct hd_refusal why;
	const char *item;
	size_t len;

	run_rows("list", &list_fs, rows, N(rows));
	CHECK(hd_fields_validate(&list_fs, doc, false, v, &why) == HD_P_NONE);
	CHECK(v[0].present && v[0].n == 2 && !v[1].present);
	item = hd_value_item(&v[0], 1, &len);
	CHECK(len == 3 && memcmp(item, "cde", 3) == 0);
	json_object_put(doc);
	doc = json("{\"ids\":\"xy\"}");
	CHECK(hd_fields_validate(&list_fs, doc, true, v, &why) == HD_P_NONE);
	item = hd_value_item(&v[0], 0, &len);
	CHECK(v[0].n == 1 && len == 2 && memcmp(item, "xy", 2) == 0);
	json_object_put(doc);
}

/* hd_refuse fills all three parts and bounds them. */
static void
test_refuse(void)
{
	struct hd_refusal why;
	char longname[200];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(hd_refuse(&why, HD_P_TOO_LONG, "f", "x=%d", 5) == HD_P_TOO_LONG);
	CHECK(why.problem == HD_P_TOO_LONG && strcmp(why.field, "f") == 0 &&
	    strcmp(why.message, "x=5") == 0);
	CHECK(hd_refuse(&why, HD_P_MALFORMED, NULL, "%s", longname) == HD_P_MALFORMED);
	CHECK(why.field[0] == '\0' && strlen(why.message) == 199);
	hd_refuse(&why, HD_P_MALFORMED, longname, "%s%s", longname, longname);
	CHECK(strlen(why.field) == sizeof(why.field) - 1);
	CHECK(strlen(why.message) == sizeof(why.message) - 1);
}

int
main(void)
{
	hd_doc_init();
	test_presence();
	test_empty_is_null_and_one_of();
	test_unknown();
	test_int();
	test_bool();
	test_string();
	test_enum_time();
	test_object();
	test_from_xml();
	test_list_chars();
	test_refuse();
	UNIT_DONE();
}
