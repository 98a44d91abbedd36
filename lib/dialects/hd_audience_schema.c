#include <stdio.h>
#include <string.h>

#include "hd_audience_codes.h"
#include "hd_audience_schema.h"
#include "hd_text.h"

#define S(name, flags, min, max) { name, HD_AS_STRING, flags, min, max, NULL, NULL }
#define I(name, min, max) { name, HD_AS_INT, 0, min, max, NULL, NULL }
#define B(name) { name, HD_AS_BOOL, 0, 0, 0, NULL, NULL }
#define EN(name, flags, values) { name, HD_AS_ENUM, flags, 0, 0, values, NULL }
#define O(name, flags, members) { name, HD_AS_OBJECT, flags, 0, 0, NULL, members }
#define A(name, flags, max, item) { name, HD_AS_ARRAY, flags, 0, max, NULL, item }
#define D(name) { name, HD_AS_DATA, 0, 0, 0, NULL, NULL }
#define END { NULL, HD_AS_STRING, 0, 0, 0, NULL, NULL }

/* Longest text of a notification's strings; the provider's payload limit (code 31)
 * bounds their sum. */
#define TEXT_MAX 4096
/* 28 days: the longest expiry every provider honours (FCM's TTL limit). */
#define EXPIRE_MAX 2419200

static const char *const priorities[] = { "high", "normal", NULL };
static const char *const handlings[] = { "foreground", "background", NULL };
static const char *const attachment_types[] = { "image", "video", "audio", NULL };
static const char *const scenarios[] = { "default", "alarm", "reminder", "incomingCall",
	NULL };

static const struct hd_as_node text_item[] = { S("", 0, 0, TEXT_MAX), END };

static const struct hd_as_node action[] = {
	S("url", HD_AS_URL, 1, 2048),
	S("deeplink", 0, 1, 2048),
	END,
};

static const struct hd_as_node ios_button_members[] = {
	S("id", HD_AS_REQUIRED, 1, 64),
	O("action", 0, action),
	END,
};
static const struct hd_as_node ios_button[] = { O("", 0, ios_button_members), END };

static const struct hd_as_node ios_interactive[] = {
	S("template", HD_AS_REQUIRED, 1, 128),
	A("buttons", 0, 4, ios_button),
	END,
};

static const struct hd_as_node attachment[] = {
	EN("type", HD_AS_REQUIRED, attachment_types),
	S("url", HD_AS_REQUIRED | HD_AS_URL, 1, 2048),
	END,
};

static const struct hd_as_node ios_payload[] = {
	S("title", 0, 1, TEXT_MAX),
	S("text", 0, 1, TEXT_MAX),
	S("title-loc-key", 0, 1, 256),
	A("title-loc-args", HD_AS_SCALAR_OK, 32, text_item),
	S("action-loc-key", 0, 1, 256),
	S("loc-key", 0, 1, 256),
	A("loc-args", HD_AS_SCALAR_OK, 32, text_item),
	S("launch-image", 0, 1, 256),
	D("data"),
	I("badge", 0, 99999),
	S("sound", 0, 1, 255),
	O("attachment", 0, attachment),
	O("action", 0, action),
	O("interactive", 0, ios_interactive),
	END,
};

static const struct hd_as_node ios_options[] = {
	EN("priority", 0, priorities),
	I("expire", 0, EXPIRE_MAX),
	B("hidden"),
	END,
};

static const struct hd_as_node ios[] = {
	O("payload", HD_AS_REQUIRED, ios_payload),
	O("options", 0, ios_options),
	END,
};

static const struct hd_as_node android_button_members[] = {
	S("id", HD_AS_REQUIRED, 1, 64),
	S("text", HD_AS_REQUIRED, 1, 64),
	EN("handling", 0, handlings),
	O("action", 0, action),
	END,
};
static const struct hd_as_node android_button[] = { O("", 0, android_button_members), END };

static const struct hd_as_node android_interactive[] = {
	A("buttons", HD_AS_REQUIRED, 3, android_button),
	END,
};

static const struct hd_as_node android_payload[] = {
	S("title", 0, 1, TEXT_MAX),
	S("text", 0, 1, TEXT_MAX),
	D("data"),
	S("small_icon", 0, 1, 255),
	S("color", HD_AS_COLOR, 7, 7),
	S("icon", 0, 1, 2048),
	S("image", HD_AS_URL, 1, 2048),
	S("sound", 0, 1, 255),
	I("badge", 0, 99999),
	B("vibration"),
	S("led_color", HD_AS_COLOR, 7, 7),
	O("action", 0, action),
	O("interactive", 0, android_interactive),
	END,
};

static const struct hd_as_node android_options[] = {
	EN("priority", 0, priorities),
	I("expire", 0, EXPIRE_MAX),
	B("hidden"),
	S("collapse_key", 0, 1, 64),
	END,
};

static const struct hd_as_node android[] = {
	O("payload", HD_AS_REQUIRED, android_payload),
	O("options", 0, android_options),
	END,
};

static const struct hd_as_node win_toast[] = {
	S("title", HD_AS_REQUIRED, 1, TEXT_MAX),
	S("text", HD_AS_REQUIRED, 1, TEXT_MAX),
	S("text2", 0, 1, TEXT_MAX),
	D("data"),
	END,
};

static const struct hd_as_node uwp_toast[] = {
	EN("scenario", 0, scenarios),
	S("title", 0, 1, TEXT_MAX),
	S("text", HD_AS_REQUIRED, 1, TEXT_MAX),
	S("text2", 0, 1, TEXT_MAX),
	D("data"),
	END,
};

static const struct hd_as_node win_options[] = {
	EN("priority", 0, priorities),
	I("expire", 0, EXPIRE_MAX),
	END,
};

/* raw, tile and badge are declared so that they are refused as unsupported (code 30,
 * herald delivers Windows notifications as toasts) rather than as unknown. */
static const struct hd_as_node win[] = {
	O("toast", 0, win_toast),
	D("raw"),
	D("tile"),
	D("badge"),
	O("options", 0, win_options),
	END,
};

static const struct hd_as_node uwp[] = {
	O("toast", 0, uwp_toast),
	D("raw"),
	D("tile"),
	D("badge"),
	O("options", 0, win_options),
	END,
};

static const struct hd_as_node element_members[] = {
	S("token", 0, 1, 2048),
	S("idfa", 0, 1, 128),
	S("idfv", 0, 1, 128),
	S("advertisingId", 0, 1, 128),
	S("androidId", 0, 1, 128),
	S("serialId", 0, 1, 128),
	S("userId", 0, 1, 255),
	/* The UWP page's example names the user customUid (userId's older name). */
	S("customUid", 0, 1, 255),
	I("devtodevId", 1, INT64_C(9007199254740991)),
	END,
};
static const struct hd_as_node element[] = { O("", 0, element_members), END };

const struct hd_as_node hd_audience_body[] = {
	S("user_token", 0, 1, 256),
	S("app_id", HD_AS_REQUIRED, 1, 64),
	S("campaign_tag", 0, 1, 255),
	S("pack_id", 0, 1, 200),
	A("audience", HD_AS_REQUIRED | HD_AS_AUDIENCE, HD_AUDIENCE_MAX, element),
	O("ios", 0, ios),
	O("android", 0, android),
	O("win", 0, win),
	O("uwp", 0, uwp),
	END,
};

/* A short text of v for messages: strings as they are, the rest as JSON. */
static void
hd_as_shown(json_object *v, char *out, size_t cap)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
	    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

	snprintf(out, cap, "%.60s", s ? s : "");
	hd_utf8_trim(out);
}

static enum hd_problem
hd_as_invalid(struct hd_refusal *why, const char *path, json_object *v, const char *expected)
{
	char shown[64];

	hd_as_shown(v, shown, sizeof(shown));
	return hd_audience_refuse(why, HD_AC_INVALID_VALUE, path, shown, expected);
}

static bool
hd_as_is_url(const char *s, size_t len)
{
	size_t scheme = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;

	if (scheme == 0 || len <= scheme)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

static bool
hd_as_is_color(const char *s, size_t len)
{
	if (len != 7 || s[0] != '#')
		return false;
	for (size_t i = 1; i < 7; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* An integer from a JSON int, or from XML text of digits. */
static bool
hd_as_to_int(json_object *v, bool from_xml, int64_t *out)
{
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return true;
	}
	if (from_xml && json_object_is_type(v, json_type_string))
		return hd_parse_i64(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), out) == 0;
	return false;
}

static bool
hd_as_to_bool(json_object *v, bool from_xml, bool *out)
{
	const char *s;

	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return true;
	}
	if (!from_xml || !json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return false;
	return true;
}

static enum hd_problem hd_as_object(const struct hd_as_node *members, json_object *obj,
    const char *path, bool from_xml, struct hd_refusal *why);

static enum hd_problem
hd_as_value(const struct hd_as_node *n, json_object *v, const char *path, bool from_xml,
    struct hd_refusal *why)
{
	char expected[160], sub[128], shown[64];
	int64_t i;
	bool b;
	size_t count;

	switch (n->type) {
	case HD_AS_STRING: {
		const char *s;
		size_t len;

		if (!json_object_is_type(v, json_type_string))
			return hd_as_invalid(why, path, v, "a string");
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (memchr(s, '\0', len) != NULL)
			return hd_as_invalid(why, path, v, "text without NUL characters");
		if ((int64_t)len < n->min || (int64_t)len > n->max) {
			snprintf(expected, sizeof(expected), "a string of %lld to %lld bytes",
			    (long long)n->min, (long long)n->max);
			return hd_as_invalid(why, path, v, expected);
		}
		if ((n->flags & HD_AS_URL) && !hd_as_is_url(s, len))
			return hd_as_invalid(why, path, v, "an http or https URL");
		if ((n->flags & HD_AS_COLOR) && !hd_as_is_color(s, len))
			return hd_as_invalid(why, path, v, "a color as #RRGGBB");
		return HD_P_NONE;
	}
	case HD_AS_INT:
		if (!hd_as_to_int(v, from_xml, &i) || i < n->min || i > n->max) {
			snprintf(expected, sizeof(expected), "an integer from %lld to %lld",
			    (long long)n->min, (long long)n->max);
			return hd_as_invalid(why, path, v, expected);
		}
		return HD_P_NONE;
	case HD_AS_BOOL:
		if (!hd_as_to_bool(v, from_xml, &b))
			return hd_as_invalid(why, path, v, "true or false");
		return HD_P_NONE;
	case HD_AS_ENUM: {
		size_t used = 0;

		if (!json_object_is_type(v, json_type_string))
			return hd_as_invalid(why, path, v, "a string");
		for (size_t k = 0; n->enums[k]; k++)
			if (strcmp(n->enums[k], json_object_get_string(v)) == 0 &&
			    strlen(n->enums[k]) == (size_t)json_object_get_string_len(v))
				return HD_P_NONE;
		expected[0] = '\0';
		for (size_t k = 0; n->enums[k] && used < sizeof(expected); k++) {
			int w = snprintf(expected + used, sizeof(expected) - used, "%s%s",
			    k ? ", " : "", n->enums[k]);
			if (w < 0)
				break;
			used += (size_t)w;
		}
		hd_as_shown(v, shown, sizeof(shown));
		return hd_audience_refuse(why, HD_AC_UNEXPECTED_VALUE, path, shown, expected);
	}
	case HD_AS_DATA:
		/* XML: an empty element is an empty object. */
		if (from_xml && json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) == 0)
			return HD_P_NONE;
		if (!json_object_is_type(v, json_type_object))
			return hd_as_invalid(why, path, v, "an object");
		return HD_P_NONE;
	case HD_AS_OBJECT:
		if (from_xml && json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) == 0)
			return hd_as_object(n->members, NULL, path, from_xml, why);
		if (!json_object_is_type(v, json_type_object))
			return hd_as_invalid(why, path, v, "an object");
		return hd_as_object(n->members, v, path, from_xml, why);
	case HD_AS_ARRAY: {
		bool lone = !json_object_is_type(v, json_type_array);

		if (lone && !from_xml && !((n->flags & HD_AS_SCALAR_OK) &&
		    json_object_is_type(v, json_type_string)))
			return hd_as_invalid(why, path, v, "an array");
		count = lone ? 1 : json_object_array_length(v);
		if ((int64_t)count > n->max && (n->flags & HD_AS_AUDIENCE))
			return hd_audience_refuse(why, HD_AC_AUDIENCE_TOO_LARGE, path, NULL, NULL);
		if (count == 0 && (n->flags & HD_AS_AUDIENCE))
			return hd_as_invalid(why, path, v, "1 to 1000 elements");
		if ((int64_t)count > n->max) {
			snprintf(expected, sizeof(expected), "at most %lld items", (long long)n->max);
			return hd_as_invalid(why, path, v, expected);
		}
		for (size_t k = 0; k < count; k++) {
			json_object *item = lone ? v : json_object_array_get_idx(v, k);
			enum hd_problem p;

			snprintf(sub, sizeof(sub), "%s[%zu]", path, k);
			if ((p = hd_as_value(&n->members[0], item, sub, from_xml, why)) != HD_P_NONE)
				return p;
		}
		return HD_P_NONE;
	}
	}
	return hd_audience_refuse(why, HD_AC_UNKNOWN, path, NULL, NULL);
}

/* Checks obj's members (obj NULL: an empty object) against members, under path. */
static enum hd_problem
hd_as_object(const struct hd_as_node *members, json_object *obj, const char *path,
    bool from_xml, struct hd_refusal *why)
{
	char sub[128];
	enum hd_problem p;

	if (obj != NULL) {
		json_object_object_foreach(obj, key, val) {
			const struct hd_as_node *n = members;

			(void)val;
			while (n->name && strcmp(n->name, key) != 0)
				n++;
			if (n->name == NULL) {
				snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
				return hd_audience_refuse(why, HD_AC_UNEXPECTED_FIELD, sub, NULL, NULL);
			}
		}
	}
	for (const struct hd_as_node *n = members; n->name; n++) {
		json_object *v = obj ? hd_as_get(obj, n->name) : NULL;

		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", n->name);
		if (v == NULL) {
			if (n->flags & HD_AS_REQUIRED)
				return hd_audience_refuse(why, HD_AC_FIELD_NOT_FOUND, sub, NULL, NULL);
			continue;
		}
		if ((p = hd_as_value(n, v, sub, from_xml, why)) != HD_P_NONE)
			return p;
	}
	return HD_P_NONE;
}

json_object *
hd_as_get(json_object *obj, const char *name)
{
	json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, name, &v))
		return NULL;
	return v;   /* NULL for JSON null and XML i:nil */
}

const char *
hd_as_str(json_object *obj, const char *name, size_t *len)
{
	json_object *v = hd_as_get(obj, name);

	if (!json_object_is_type(v, json_type_string)) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

bool
hd_as_int(json_object *obj, const char *name, int64_t *out)
{
	json_object *v = hd_as_get(obj, name);

	return v != NULL && hd_as_to_int(v, true, out);
}

bool
hd_as_bool(json_object *obj, const char *name, bool dflt)
{
	json_object *v = hd_as_get(obj, name);
	bool b;

	return v != NULL && hd_as_to_bool(v, true, &b) ? b : dflt;
}

json_object *
hd_as_item(json_object *obj, const char *name, size_t i, size_t *n)
{
	json_object *v = hd_as_get(obj, name);

	if (v == NULL) {
		*n = 0;
		return NULL;
	}
	if (!json_object_is_type(v, json_type_array)) {
		*n = 1;
		return i == 0 ? v : NULL;
	}
	*n = json_object_array_length(v);
	return i < *n ? json_object_array_get_idx(v, i) : NULL;
}

/* The Windows object at name: one message kind, a toast (herald sends toasts only). */
static enum hd_problem
hd_as_windows(json_object *body, const char *name, struct hd_refusal *why)
{
	static const char *const others[] = { "raw", "tile", "badge" };
	json_object *w = hd_as_get(body, name);
	char path[32];

	if (w == NULL)
		return HD_P_NONE;
	for (size_t i = 0; i < 3; i++)
		if (hd_as_get(w, others[i]) != NULL) {
			snprintf(path, sizeof(path), "%s.%s", name, others[i]);
			return hd_as_invalid(why, path, hd_as_get(w, others[i]),
			    "a toast (herald delivers Windows notifications as toasts)");
		}
	if (hd_as_get(w, "toast") == NULL) {
		snprintf(path, sizeof(path), "%s.toast", name);
		return hd_audience_refuse(why, HD_AC_FIELD_NOT_FOUND, path, NULL, NULL);
	}
	return HD_P_NONE;
}

/* A visible notification needs its text; a hidden one carries data only. */
static enum hd_problem
hd_as_text_unless_hidden(json_object *body, const char *name, struct hd_refusal *why)
{
	json_object *pf = hd_as_get(body, name);
	json_object *payload = hd_as_get(pf, "payload");
	size_t len;
	char path[32];

	if (pf == NULL || hd_as_bool(hd_as_get(pf, "options"), "hidden", false))
		return HD_P_NONE;
	if (hd_as_str(payload, "text", &len) != NULL || hd_as_str(payload, "loc-key", &len))
		return HD_P_NONE;
	snprintf(path, sizeof(path), "%s.payload.text", name);
	return hd_audience_refuse(why, HD_AC_FIELD_NOT_FOUND, path, NULL, NULL);
}

enum hd_problem
hd_audience_check(json_object *body, bool from_xml, struct hd_refusal *why)
{
	static const char *const ids[] = { "token", "idfa", "idfv", "advertisingId",
		"androidId", "serialId", "userId", "customUid", "devtodevId" };
	enum hd_problem p;
	size_t n = 0;
	char path[32];

	if ((p = hd_as_object(hd_audience_body, body, "", from_xml, why)) != HD_P_NONE)
		return p;
	if (!hd_as_get(body, "ios") && !hd_as_get(body, "android") && !hd_as_get(body, "win") &&
	    !hd_as_get(body, "uwp"))
		return hd_audience_refuse(why, HD_AC_FIELD_NOT_FOUND, "ios, android, win or uwp",
		    NULL, NULL);
	if (hd_as_get(body, "win") && hd_as_get(body, "uwp"))
		return hd_as_invalid(why, "uwp", hd_as_get(body, "uwp"),
		    "win or uwp, not both: both name the same Windows devices");
	if ((p = hd_as_windows(body, "win", why)) != HD_P_NONE ||
	    (p = hd_as_windows(body, "uwp", why)) != HD_P_NONE ||
	    (p = hd_as_text_unless_hidden(body, "ios", why)) != HD_P_NONE ||
	    (p = hd_as_text_unless_hidden(body, "android", why)) != HD_P_NONE)
		return p;
	for (size_t i = 0; i == 0 || i < n; i++) {
		json_object *el = hd_as_item(body, "audience", i, &n);
		bool any = false;

		if (el == NULL)
			break;
		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
			any = any || hd_as_get(el, ids[k]) != NULL;
		if (!any) {
			snprintf(path, sizeof(path), "audience[%zu]", i);
			return hd_as_invalid(why, path, el, "an object with at least one identifier");
		}
	}
	return HD_P_NONE;
}
