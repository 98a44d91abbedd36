/*
 * The audience dialect's request schema (seed 001 and its platform pages, as
 * docs/audience.md tabulates them), as data, and the strict check of a parsed body
 * against it: an undeclared member is code 29, a value outside an enum 28, a value of
 * the wrong type, length, range or form 30, a missing required member 4, and an
 * audience of more than HD_AUDIENCE_MAX elements 27. XML bodies carry only text and
 * one-element arrays as a single element (docs/formats.md): values are coerced by
 * their declaration, as hd_fields.c does for flat endpoints.
 *
 * Memory: the tables are static; nothing is allocated.
 */
#ifndef HD_AUDIENCE_SCHEMA_H
#define HD_AUDIENCE_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "hd_fields.h"

#define HD_AUDIENCE_MAX 1000

enum hd_as_type { HD_AS_STRING, HD_AS_INT, HD_AS_BOOL, HD_AS_ENUM, HD_AS_OBJECT,
	HD_AS_ARRAY, HD_AS_DATA };

#define HD_AS_REQUIRED  0x01u
#define HD_AS_URL       0x02u  /* STRING: an http(s) URL */
#define HD_AS_COLOR     0x04u  /* STRING: #RRGGBB */
#define HD_AS_SCALAR_OK 0x08u  /* ARRAY: a single string counts as a one-item array */
#define HD_AS_AUDIENCE  0x10u  /* ARRAY: more than max items is code 27 */

struct hd_as_node {
	const char *name;                  /* NULL ends a member list */
	enum hd_as_type type;
	unsigned flags;
	int64_t min, max;                  /* STRING: bytes; INT: value; ARRAY: items */
	const char *const *enums;          /* ENUM: NULL-terminated */
	const struct hd_as_node *members;  /* OBJECT: its members; ARRAY: its item (one) */
};

/* The body's members (user_token, app_id, campaign_tag, pack_id, audience, ios,
 * android, win, uwp). */
extern const struct hd_as_node hd_audience_body[];

/* Checks body (an object) against hd_audience_body and the rules between members
 * (a platform object at least; text unless hidden; one Windows message kind, a toast;
 * an identifier in every audience element). */
enum hd_problem hd_audience_check(json_object *body, bool from_xml, struct hd_refusal *why);

/* Readers of checked values, coercing XML text. Absent or null: the default. */
json_object *hd_as_get(json_object *obj, const char *name);
const char *hd_as_str(json_object *obj, const char *name, size_t *len);
bool hd_as_int(json_object *obj, const char *name, int64_t *out);
bool hd_as_bool(json_object *obj, const char *name, bool dflt);
/* Items of an array member (a lone XML element counts as one): *n of them. */
json_object *hd_as_item(json_object *obj, const char *name, size_t i, size_t *n);

#endif
