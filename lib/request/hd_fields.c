#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hd_fields.h"
#include "hd_text.h"
#include "hd_time.h"

enum hd_problem
hd_refuse(struct hd_refusal *why, enum hd_problem problem, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	why->problem = problem;
	snprintf(why->field, sizeof(why->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(why->message, sizeof(why->message), fmt, ap);
	va_end(ap);
	/* Client names echoed here may have been cut inside a character. */
	hd_utf8_trim(why->field);
	hd_utf8_trim(why->message);
	return problem;
}

/* Finds the member at a dotted path; NULL when any step is absent or not an object. */
static json_object *
hd_path_get(json_object *doc, const char *path, bool *found)
{
	const char *p = path;
	json_object *cur = doc, *next;
	char step[64];

	*found = false;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n >= sizeof(step) || !json_object_is_type(cur, json_type_object))
			return NULL;
		memcpy(step, p, n);
		step[n] = '\0';
		if (!json_object_object_get_ex(cur, step, &next))
			return NULL;
		if (!dot) {
			*found = true;
			return next;
		}
		cur = next;
		p = dot + 1;
	}
}

/* "name[]" declares the items of the LIST "name": never a member of its own. */
static bool
hd_is_item_rule(const char *name)
{
	size_t len = strlen(name);

	return len > 2 && strcmp(name + len - 2, "[]") == 0;
}

static const struct hd_field *
hd_field_find(const struct hd_fieldset *fs, const char *prefix, size_t plen,
    const char *key)
{
	size_t klen = strlen(key);

	/* A member named "sub.a" is not the declared path sub.a. */
	if (strchr(key, '.') != NULL)
		return NULL;
	for (size_t i = 0; i < fs->n; i++) {
		const char *name = fs->fields[i].name;
		if (hd_is_item_rule(name))
			continue;
		if (strlen(name) == plen + klen && strncmp(name, prefix, plen) == 0 &&
		    strcmp(name + plen, key) == 0)
			return &fs->fields[i];
	}
	return NULL;
}

/* Refuses members of obj (at path prefix, e.g. "" or "subscription.") that are not
 * declared, descending into declared, closed objects. */
static enum hd_problem
hd_check_unknown(const struct hd_fieldset *fs, json_object *obj, const char *prefix,
    struct hd_refusal *why)
{
	size_t plen = strlen(prefix);
	char sub[128];
	enum hd_problem p;

	json_object_object_foreach(obj, key, val) {
		const struct hd_field *f = hd_field_find(fs, prefix, plen, key);
		if (f == NULL) {
			char path[128];
			snprintf(path, sizeof(path), "%s%s", prefix, key);
			hd_utf8_trim(path);
			return hd_refuse(why, HD_P_UNKNOWN_FIELD, path,
			    "unknown field '%.100s'", path);
		}
		if (f->type == HD_FT_OBJECT && !(f->flags & HD_F_OPEN) &&
		    json_object_is_type(val, json_type_object)) {
			if ((size_t)snprintf(sub, sizeof(sub), "%s.", f->name) >= sizeof(sub))
				return hd_refuse(why, HD_P_INTERNAL, NULL, "field name too long");
			if ((p = hd_check_unknown(fs, val, sub, why)) != HD_P_NONE)
				return p;
		}
	}
	return HD_P_NONE;
}

static bool
hd_strings_clean(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		/* A JSON \u0000 escape decodes to an embedded NUL: refused everywhere. */
		return strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v);
	case json_type_object: {
		json_object_object_foreach(v, k, m) {
			(void)k;
			if (!hd_strings_clean(m))
				return false;
		}
		return true;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!hd_strings_clean(json_object_array_get_idx(v, i)))
				return false;
		return true;
	default:
		return true;
	}
}

/* XML text of a typed value (integer, boolean, time, enum) may be padded with
 * whitespace, as pretty-printers do; JSON strings and XML strings are taken as sent. */
static void
hd_xml_trim(const char **s, size_t *len)
{
	while (*len && strchr(" \t\r\n", (*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len && strchr(" \t\r\n", (*s)[*len - 1]))
		(*len)--;
}

static enum hd_problem
hd_check_int(const struct hd_field *f, json_object *v, bool from_xml,
    struct hd_value *out, struct hd_refusal *why)
{
	int64_t n;

	if (from_xml && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);
		hd_xml_trim(&s, &len);
		if (hd_parse_i64(s, len, &n) != 0) {
			bool digits = len > (size_t)(s[0] == '-');
			for (size_t k = (len && s[0] == '-') ? 1 : 0; k < len; k++)
				if (s[k] < '0' || s[k] > '9')
					digits = false;
			if (digits)
				goto range;
			return hd_refuse(why, HD_P_INVALID_TYPE, f->name,
			    "%s must be an integer", f->name);
		}
	} else if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
	} else {
		return hd_refuse(why, HD_P_INVALID_TYPE, f->name,
		    "%s must be an integer", f->name);
	}
	if (n < f->min || n > f->max)
		goto range;
	out->i = n;
	return HD_P_NONE;
range:
	return hd_refuse(why, HD_P_OUT_OF_RANGE, f->name,
	    "%s must be an integer from %lld to %lld", f->name, (long long)f->min,
	    (long long)f->max);
}

static enum hd_problem
hd_check_bool(const struct hd_field *f, json_object *v, bool from_xml,
    struct hd_value *out, struct hd_refusal *why)
{
	if (json_object_is_type(v, json_type_boolean)) {
		out->i = json_object_get_boolean(v) ? 1 : 0;
		return HD_P_NONE;
	}
	if (from_xml && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);
		hd_xml_trim(&s, &len);
		if (hd_ascii_ieq(s, len, "true") || hd_ascii_ieq(s, len, "1")) {
			out->i = 1;
			return HD_P_NONE;
		}
		if (hd_ascii_ieq(s, len, "false") || hd_ascii_ieq(s, len, "0")) {
			out->i = 0;
			return HD_P_NONE;
		}
	}
	return hd_refuse(why, HD_P_INVALID_TYPE, f->name, "%s must be true or false",
	    f->name);
}

/* Strings have been checked for UTF-8 by the parsers: characters are the bytes that
 * do not continue a sequence. */
static enum hd_problem
hd_check_chars(const struct hd_field *f, const struct hd_value *v, struct hd_refusal *why)
{
	int64_t chars = 0;

	for (size_t k = 0; k < v->len; k++)
		chars += ((unsigned char)v->s[k] & 0xc0) != 0x80;
	if (chars < f->min)
		return hd_refuse(why, f->min == 1 ? HD_P_MISSING_FIELD : HD_P_INVALID_VALUE,
		    f->name, f->min == 1 ? "%s must not be empty" : "%s is too short", f->name);
	if (chars > f->max)
		return hd_refuse(why, HD_P_TOO_LONG, f->name,
		    "%s must be at most %lld characters", f->name, (long long)f->max);
	return HD_P_NONE;
}

static enum hd_problem
hd_check_text(const struct hd_field *f, json_object *v, bool from_xml,
    struct hd_value *out, struct hd_refusal *why)
{
	if (!json_object_is_type(v, json_type_string))
		return hd_refuse(why, HD_P_INVALID_TYPE, f->name, "%s must be a string",
		    f->name);
	out->s = json_object_get_string(v);
	out->len = (size_t)json_object_get_string_len(v);
	if (from_xml && f->type != HD_FT_STRING)
		hd_xml_trim(&out->s, &out->len);
	if (memchr(out->s, '\0', out->len) != NULL)
		return hd_refuse(why, HD_P_INVALID_VALUE, f->name,
		    "%s must not contain NUL characters", f->name);
	switch (f->type) {
	case HD_FT_STRING:
		if (f->flags & HD_F_CHARS)
			return hd_check_chars(f, out, why);
		if ((int64_t)out->len < f->min)
			return hd_refuse(why, f->min == 1 ? HD_P_MISSING_FIELD : HD_P_INVALID_VALUE,
			    f->name, f->min == 1 ? "%s must not be empty" :
			    "%s is too short", f->name);
		if ((int64_t)out->len > f->max)
			return hd_refuse(why, HD_P_TOO_LONG, f->name,
			    "%s must be at most %lld bytes", f->name, (long long)f->max);
		return HD_P_NONE;
	case HD_FT_TIME:
		if (hd_rfc3339_parse(out->s, out->len, &out->i) != 0)
			return hd_refuse(why, HD_P_INVALID_VALUE, f->name,
			    "%s must be an RFC 3339 timestamp such as 2026-03-29T15:00:00Z",
			    f->name);
		return HD_P_NONE;
	case HD_FT_ENUM:
		for (int64_t k = 0; f->enums[k]; k++)
			if (strlen(f->enums[k]) == out->len &&
			    memcmp(f->enums[k], out->s, out->len) == 0) {
				out->i = k;
				return HD_P_NONE;
			}
		return hd_refuse(why, HD_P_INVALID_VALUE, f->name,
		    "%s has an unknown value", f->name);
	default:
		return hd_refuse(why, HD_P_INTERNAL, f->name, "bad declaration");
	}
}

static enum hd_problem
hd_check_object(const struct hd_field *f, json_object *v, bool from_xml,
    struct hd_value *out, struct hd_refusal *why)
{
	const char *text;

	/* <extra_data/> in XML is an empty object. */
	if (from_xml && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == 0) {
		out->obj = NULL;
		out->present = false;
		return HD_P_NONE;
	}
	if (!json_object_is_type(v, json_type_object))
		return hd_refuse(why, HD_P_INVALID_TYPE, f->name, "%s must be an object",
		    f->name);
	if (!hd_strings_clean(v))
		return hd_refuse(why, HD_P_INVALID_VALUE, f->name,
		    "%s must not contain NUL characters", f->name);
	text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (text == NULL)
		return hd_refuse(why, HD_P_INTERNAL, f->name, "out of memory");
	if ((int64_t)strlen(text) > f->max)
		return hd_refuse(why, HD_P_TOO_LONG, f->name,
		    "%s must be at most %lld bytes as JSON", f->name, (long long)f->max);
	out->obj = v;
	return HD_P_NONE;
}

static const struct hd_field *
hd_item_rule(const struct hd_fieldset *fs, const char *list)
{
	size_t len = strlen(list);

	for (size_t i = 0; i < fs->n; i++) {
		const char *name = fs->fields[i].name;
		if (strlen(name) == len + 2 && strncmp(name, list, len) == 0 &&
		    strcmp(name + len, "[]") == 0)
			return &fs->fields[i];
	}
	return NULL;
}

const char *
hd_value_item(const struct hd_value *v, size_t i, size_t *len)
{
	json_object *item = json_object_is_type(v->obj, json_type_array) ?
	    json_object_array_get_idx(v->obj, i) : v->obj;

	*len = (size_t)json_object_get_string_len(item);
	return json_object_get_string(item);
}

/* A list's items are named "name[i]" in refusals. */
static enum hd_problem
hd_check_list(const struct hd_fieldset *fs, const struct hd_field *f, json_object *v,
    bool from_xml, struct hd_value *out, struct hd_refusal *why)
{
	const struct hd_field *rule = hd_item_rule(fs, f->name);
	bool one = from_xml && json_object_is_type(v, json_type_string);
	char name[sizeof(why->field)];
	struct hd_field item;
	struct hd_value iv;
	enum hd_problem p;

	if (rule == NULL)
		return hd_refuse(why, HD_P_INTERNAL, f->name, "bad declaration");
	if (!one && !json_object_is_type(v, json_type_array))
		return hd_refuse(why, HD_P_INVALID_TYPE, f->name, "%s must be a list", f->name);
	out->obj = v;
	out->n = one ? 1 : json_object_array_length(v);
	if ((int64_t)out->n < f->min || (int64_t)out->n > f->max)
		return hd_refuse(why, HD_P_OUT_OF_RANGE, f->name,
		    "%s must have %lld to %lld items", f->name, (long long)f->min,
		    (long long)f->max);
	item = *rule;
	item.name = name;
	for (size_t k = 0; k < out->n; k++) {
		snprintf(name, sizeof(name), "%s[%zu]", f->name, k);
		memset(&iv, 0, sizeof(iv));
		if ((p = hd_check_text(&item, one ? v : json_object_array_get_idx(v, k),
		    from_xml, &iv, why)) != HD_P_NONE)
			return p;
	}
	return HD_P_NONE;
}

enum hd_problem
hd_fields_validate(const struct hd_fieldset *fs, json_object *doc, bool from_xml,
    struct hd_value *values, struct hd_refusal *why)
{
	enum hd_problem p;

	memset(values, 0, fs->n * sizeof(*values));
	if ((p = hd_check_unknown(fs, doc, "", why)) != HD_P_NONE)
		return p;
	for (size_t i = 0; i < fs->n; i++) {
		const struct hd_field *f = &fs->fields[i];
		struct hd_value *out = &values[i];
		bool found;
		json_object *v;

		if (hd_is_item_rule(f->name))
			continue;
		v = hd_path_get(doc, f->name, &found);
		if (found && v != NULL && (f->flags & HD_F_EMPTY_IS_NULL) &&
		    json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) == 0)
			v = NULL;
		if (v == NULL) {   /* absent, or JSON null / XML i:nil */
			if (f->flags & HD_F_REQUIRED)
				return hd_refuse(why, HD_P_MISSING_FIELD, f->name,
				    "%s is required", f->name);
			continue;
		}
		out->present = true;
		switch (f->type) {
		case HD_FT_INT:
			p = hd_check_int(f, v, from_xml, out, why);
			break;
		case HD_FT_BOOL:
			p = hd_check_bool(f, v, from_xml, out, why);
			break;
		case HD_FT_OBJECT:
			p = hd_check_object(f, v, from_xml, out, why);
			if (p == HD_P_NONE && !out->present && (f->flags & HD_F_REQUIRED))
				p = hd_refuse(why, HD_P_MISSING_FIELD, f->name,
				    "%s is required", f->name);
			break;
		case HD_FT_LIST:
			p = hd_check_list(fs, f, v, from_xml, out, why);
			break;
		default:
			p = hd_check_text(f, v, from_xml, out, why);
			break;
		}
		if (p != HD_P_NONE)
			return p;
	}
	if (fs->one_of) {
		char names[192] = "";
		size_t used = 0;
		for (size_t k = 0; fs->one_of[k]; k++) {
			for (size_t i = 0; i < fs->n; i++)
				if (strcmp(fs->fields[i].name, fs->one_of[k]) == 0 && values[i].present)
					return HD_P_NONE;
			int n = snprintf(names + used, sizeof(names) - used, "%s%s",
			    k ? (fs->one_of[k + 1] ? ", " : " or ") : "", fs->one_of[k]);
			if (n > 0 && (size_t)n < sizeof(names) - used)
				used += (size_t)n;
		}
		return hd_refuse(why, HD_P_MISSING_FIELD, fs->one_of[0],
		    "one of %s is required", names);
	}
	return HD_P_NONE;
}
