/*
 * Fieldsets for the body fuzz drivers (fuzz_json.c, fuzz_xml.c): the developer
 * dialect's push fields, and a legacy-like set using one_of, HD_F_EMPTY_IS_NULL,
 * every type and a closed nested object; plus the checks of what validation yields.
 */
#ifndef HD_FUZZ_FIELDSETS_H
#define HD_FUZZ_FIELDSETS_H

#include <string.h>

#include "fuzz.h"
#include "hd_fields.h"
#include "hd_text.h"
#include "hd_time.h"

/* As cgi-bin/developer.c declares POST /developer/push. */
static const struct hd_field dev_fields[] = {
	{ "app_user_id", HD_FT_STRING, HD_F_REQUIRED, 1, 255, NULL },
	{ "title", HD_FT_STRING, HD_F_REQUIRED, 1, 256, NULL },
	{ "body", HD_FT_STRING, HD_F_REQUIRED, 1, 2048, NULL },
	{ "extra_data", HD_FT_OBJECT, HD_F_OPEN, 0, 1024, NULL },
	{ "schedule_at", HD_FT_TIME, 0, 0, 0, NULL },
	{ "priority", HD_FT_INT, 0, 1, 10, NULL },
	{ "dedupe_key", HD_FT_STRING, 0, 1, 255, NULL },
};
static const struct hd_fieldset dev_fs = { dev_fields, sizeof(dev_fields) / sizeof(dev_fields[0]), NULL };

static const char *const platforms[] = { "ios", "android", "web", NULL };
static const struct hd_field legacy_fields[] = {
	{ "UserId", HD_FT_STRING, HD_F_EMPTY_IS_NULL, 1, 64, NULL },
	{ "UserEmail", HD_FT_STRING, HD_F_EMPTY_IS_NULL, 3, 255, NULL },
	{ "UserExternalId", HD_FT_STRING, HD_F_EMPTY_IS_NULL, 1, 255, NULL },
	{ "Sound", HD_FT_BOOL, HD_F_EMPTY_IS_NULL, 0, 0, NULL },
	{ "ExpirySecs", HD_FT_INT, HD_F_EMPTY_IS_NULL, 0, 2419200, NULL },
	{ "CompanyId", HD_FT_INT, HD_F_EMPTY_IS_NULL, 0, INT64_C(9007199254740991), NULL },
	{ "Platform", HD_FT_ENUM, HD_F_EMPTY_IS_NULL, 0, 0, platforms },
	{ "Target", HD_FT_OBJECT, 0, 0, 512, NULL },
	{ "Target.Kind", HD_FT_ENUM, 0, 0, 0, platforms },
	{ "Target.Sub", HD_FT_OBJECT, 0, 0, 256, NULL },
	{ "Target.Sub.When", HD_FT_TIME, 0, 0, 0, NULL },
};
static const char *const legacy_one_of[] = { "UserId", "UserEmail", "UserExternalId", NULL };
static const struct hd_fieldset legacy_fs = { legacy_fields,
	sizeof(legacy_fields) / sizeof(legacy_fields[0]), legacy_one_of };

/* What every accepted value must satisfy, whatever the input. */
static void
fuzz_check_values(const struct hd_fieldset *fs, const struct hd_value *v)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct hd_field *f = &fs->fields[i];

		if (!v[i].present) {
			FUZZ_ASSERT(!(f->flags & HD_F_REQUIRED));
			continue;
		}
		switch (f->type) {
		case HD_FT_STRING:
			FUZZ_ASSERT(v[i].s != NULL);
			FUZZ_ASSERT((int64_t)v[i].len >= f->min && (int64_t)v[i].len <= f->max);
			FUZZ_ASSERT(memchr(v[i].s, '\0', v[i].len) == NULL);
			FUZZ_ASSERT(hd_utf8_valid(v[i].s, v[i].len));
			break;
		case HD_FT_INT:
			FUZZ_ASSERT(v[i].i >= f->min && v[i].i <= f->max);
			break;
		case HD_FT_BOOL:
			FUZZ_ASSERT(v[i].i == 0 || v[i].i == 1);
			break;
		case HD_FT_ENUM:
			FUZZ_ASSERT(v[i].i >= 0 && f->enums[v[i].i] != NULL);
			FUZZ_ASSERT(strlen(f->enums[v[i].i]) == v[i].len &&
			    memcmp(f->enums[v[i].i], v[i].s, v[i].len) == 0);
			break;
		case HD_FT_TIME: {
			int64_t us;
			FUZZ_ASSERT(hd_rfc3339_parse(v[i].s, v[i].len, &us) == 0 && us == v[i].i);
			break;
		}
		case HD_FT_OBJECT:
			FUZZ_ASSERT(json_object_is_type(v[i].obj, json_type_object));
			FUZZ_ASSERT((int64_t)strlen(json_object_to_json_string_ext(v[i].obj,
			    JSON_C_TO_STRING_PLAIN)) <= f->max);
			break;
		}
	}
}

/* Validates doc against fs; checks the values, or that the refusal is filled. */
static void
fuzz_validate(const struct hd_fieldset *fs, json_object *doc, bool from_xml)
{
	struct hd_value values[16];
	struct hd_refusal why;
	enum hd_problem p;

	FUZZ_ASSERT(fs->n <= 16);
	memset(&why, 0, sizeof(why));
	p = hd_fields_validate(fs, doc, from_xml, values, &why);
	if (p == HD_P_NONE) {
		fuzz_check_values(fs, values);
		return;
	}
	FUZZ_ASSERT(p > HD_P_NONE && p < HD_P__MAX);
	FUZZ_ASSERT(why.problem == p);
	FUZZ_ASSERT(why.message[0] != '\0');
	FUZZ_ASSERT(memchr(why.field, '\0', sizeof(why.field)) != NULL);
	FUZZ_ASSERT(memchr(why.message, '\0', sizeof(why.message)) != NULL);
}

#endif
