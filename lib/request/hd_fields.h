/*
 * Endpoints declare their body fields as data; hd_fields_validate() checks a parsed
 * document against the declaration before any database or provider work. Names of
 * nested members are dotted paths ("subscription.keys.auth"). XML documents carry only
 * text, so their values are coerced by the same declarations (integers from their
 * digits, booleans from true/false/1/0), and JSON numbers are range-checked on their
 * value (json-c clamps huge integers to the int64/uint64 limits, which every declared
 * range excludes, so clamped values are refused too).
 */
#ifndef HD_FIELDS_H
#define HD_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "hd_problem.h"

enum hd_ftype {
	HD_FT_STRING,   /* UTF-8 text; min/max are lengths in bytes */
	HD_FT_INT,      /* integer; min/max are the value's range */
	HD_FT_BOOL,
	HD_FT_TIME,     /* RFC 3339 text, value in microseconds since the epoch */
	HD_FT_ENUM,     /* one of enums[]; value is its index */
	HD_FT_OBJECT,   /* object; max is its JSON size in bytes; members declared
	                   under "name." unless HD_F_OPEN */
	HD_FT_LIST,     /* array; min/max are its number of items, each checked by the
	                   declaration named "name[]" (a STRING or ENUM). In XML the
	                   element repeated, or once for a list of one */
};

#define HD_F_REQUIRED       0x01u
#define HD_F_EMPTY_IS_NULL  0x02u  /* "" counts as absent (legacy clients send "") */
#define HD_F_OPEN           0x04u  /* OBJECT: free-form members (client data) */
#define HD_F_CHARS          0x08u  /* STRING: min/max count characters (code points),
                                      not bytes */

struct hd_field {
	const char *name;
	enum hd_ftype type;
	unsigned flags;
	int64_t min, max;
	const char *const *enums;  /* HD_FT_ENUM: NULL-terminated */
};

struct hd_fieldset {
	const struct hd_field *fields;
	size_t n;
	const char *const *one_of; /* NULL, or names of which at least one is required */
};

/* A validated field. Pointers borrow from the parsed document. */
struct hd_value {
	bool present;
	const char *s;     /* STRING, ENUM, TIME: the text */
	size_t len;
	int64_t i;         /* INT; BOOL (0/1); TIME (usec); ENUM (index) */
	json_object *obj;  /* OBJECT; LIST: the array, or in XML a list of one's string */
	size_t n;          /* LIST: the number of items */
};

/* Why a document was refused: which problem, which field, a message for people. */
struct hd_refusal {
	enum hd_problem problem;
	char field[64];
	char message[256];
};

/* Validates doc against fs, filling values[fs->n] (parallel to fs->fields). Returns
 * HD_P_NONE, or the problem with *why filled. from_xml turns on text coercion. */
enum hd_problem hd_fields_validate(const struct hd_fieldset *fs, json_object *doc,
    bool from_xml, struct hd_value *values, struct hd_refusal *why);

/* Item i (< v->n) of a validated LIST, and its length. */
const char *hd_value_item(const struct hd_value *v, size_t i, size_t *len);

/* Fills a refusal (printf-style message). Returns problem. */
enum hd_problem hd_refuse(struct hd_refusal *why, enum hd_problem problem,
    const char *field, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
