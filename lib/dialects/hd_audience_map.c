#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/tree.h>

#include "hd_audience_codes.h"
#include "hd_audience_map.h"
#include "hd_audience_schema.h"
#include "hd_send_targets.h"

#define XC(s) ((const xmlChar *)(s))

/* Adds a copy of obj's member name (if present) to dst under key. */
static int
hd_copy(json_object *dst, const char *key, json_object *obj, const char *name)
{
	json_object *v = hd_as_get(obj, name);

	if (v == NULL)
		return 0;
	return json_object_object_add(dst, key, json_object_get(v));
}

/* Adds an integer member (XML text coerced) under key. */
static int
hd_copy_int(json_object *dst, const char *key, json_object *obj, const char *name)
{
	int64_t i;

	if (!hd_as_int(obj, name, &i))
		return 0;
	return json_object_object_add(dst, key, json_object_new_int64(i));
}

/* An array member as a JSON array of strings (a lone XML element or string: one). */
static int
hd_copy_strings(json_object *dst, const char *key, json_object *obj, const char *name)
{
	size_t n = 0;
	json_object *arr;

	if (hd_as_item(obj, name, 0, &n) == NULL)
		return 0;
	if ((arr = json_object_new_array()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (json_object_array_add(arr, json_object_get(hd_as_item(obj, name, i, &n))) != 0) {
			json_object_put(arr);
			return -1;
		}
	return json_object_object_add(dst, key, arr);
}

static json_object *
hd_data_of(json_object *payload)
{
	json_object *d = hd_as_get(payload, "data");

	return json_object_is_type(d, json_type_object) ? d : NULL;
}

/* The APNs body: aps (alert with the page's keys, badge, sound, category from the
 * button template, mutable-content for an attachment, content-available for a hidden
 * notification), the data's members beside aps, and attachment, action and buttons
 * for the app's notification service extension. */
static enum hd_problem
hd_map_apns(json_object *ios, json_object **out, struct hd_refusal *why)
{
	static const char *const alert_keys[] = { "title", "title-loc-key", "action-loc-key",
		"loc-key", "launch-image" };
	json_object *payload = hd_as_get(ios, "payload");
	json_object *inter = hd_as_get(payload, "interactive");
	json_object *data = hd_data_of(payload);
	bool hidden = hd_as_bool(hd_as_get(ios, "options"), "hidden", false);
	json_object *root = json_object_new_object(), *aps = json_object_new_object(),
	    *alert = json_object_new_object();
	int rc = 0;

	if (root == NULL || aps == NULL || alert == NULL)
		goto nomem;
	if (data) {
		json_object_object_foreach(data, key, val) {
			if (strcmp(key, "aps") == 0) {
				json_object_put(root);
				json_object_put(aps);
				json_object_put(alert);
				return hd_audience_refuse(why, HD_AC_INVALID_VALUE, "ios.payload.data.aps",
				    "(an object)", "data keys other than aps, which APNs reserves");
			}
			rc |= json_object_object_add(root, key, json_object_get(val));
		}
	}
	if (hidden) {
		rc |= json_object_object_add(aps, "content-available", json_object_new_int(1));
	} else {
		for (size_t i = 0; i < sizeof(alert_keys) / sizeof(alert_keys[0]); i++)
			rc |= hd_copy(alert, alert_keys[i], payload, alert_keys[i]);
		rc |= hd_copy(alert, "body", payload, "text");
		rc |= hd_copy_strings(alert, "title-loc-args", payload, "title-loc-args");
		rc |= hd_copy_strings(alert, "loc-args", payload, "loc-args");
		rc |= json_object_object_add(aps, "alert", alert);
		alert = NULL;
		rc |= hd_copy_int(aps, "badge", payload, "badge");
		rc |= hd_copy(aps, "sound", payload, "sound");
		rc |= hd_copy(aps, "category", inter, "template");
		if (hd_as_get(payload, "attachment"))
			rc |= json_object_object_add(aps, "mutable-content", json_object_new_int(1));
	}
	rc |= hd_copy(root, "attachment", payload, "attachment");
	rc |= hd_copy(root, "action", payload, "action");
	rc |= hd_copy(root, "buttons", inter, "buttons");
	rc |= json_object_object_add(root, "aps", aps);
	aps = NULL;
	json_object_put(alert);
	if (rc != 0) {
		json_object_put(root);
		return hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
	}
	*out = root;
	return HD_P_NONE;
nomem:
	json_object_put(root);
	json_object_put(aps);
	json_object_put(alert);
	return hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
}

/* FCM data values are strings: other JSON values travel as their JSON text. */
static int
hd_put_data_string(json_object *dst, const char *key, json_object *v)
{
	const char *text = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
	    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

	return json_object_object_add(dst, key, json_object_new_string(text ? text : ""));
}

/* Keys FCM refuses in data (its own message fields and prefixes). */
static bool
hd_fcm_reserved(const char *key)
{
	return strcmp(key, "from") == 0 || strcmp(key, "notification") == 0 ||
	    strcmp(key, "message_type") == 0 || strncmp(key, "google.", 7) == 0 ||
	    strncmp(key, "gcm.", 4) == 0 || strcmp(key, "collapse_key") == 0;
}

/* #RRGGBB as FCM's Color (components 0..1). */
static json_object *
hd_fcm_color(const char *hex)
{
	json_object *c = json_object_new_object();
	static const char *const names[] = { "red", "green", "blue" };

	for (size_t i = 0; c && i < 3; i++) {
		char two[3] = { hex[1 + 2 * i], hex[2 + 2 * i], '\0' };

		json_object_object_add(c, names[i],
		    json_object_new_double((double)strtol(two, NULL, 16) / 255.0));
	}
	if (c)
		json_object_object_add(c, "alpha", json_object_new_double(1.0));
	return c;
}

/* The FCM message (without the token): android.priority, ttl, collapse_key and the
 * notification (absent for a hidden one: a data message), and data with the page's
 * data, large icon, action and buttons as strings. */
static enum hd_problem
hd_map_fcm(json_object *android, json_object **out, struct hd_refusal *why)
{
	json_object *payload = hd_as_get(android, "payload");
	json_object *options = hd_as_get(android, "options");
	json_object *data = hd_data_of(payload);
	bool hidden = hd_as_bool(options, "hidden", false);
	json_object *msg = json_object_new_object(), *cfg = json_object_new_object(),
	    *note = json_object_new_object(), *dout = json_object_new_object(), *v;
	size_t len;
	int64_t expire;
	const char *s;
	char ttl[32];
	int rc = 0;

	if (msg == NULL || cfg == NULL || note == NULL || dout == NULL) {
		rc = -1;
		goto out;
	}
	if (data) {
		json_object_object_foreach(data, key, val) {
			if (hd_fcm_reserved(key)) {
				char path[96];

				snprintf(path, sizeof(path), "android.payload.data.%.60s", key);
				json_object_put(msg);
				json_object_put(cfg);
				json_object_put(note);
				json_object_put(dout);
				return hd_audience_refuse(why, HD_AC_INVALID_VALUE, path, key,
				    "a key FCM does not reserve (not from, notification, message_type,"
				    " collapse_key, google.* or gcm.*)");
			}
			rc |= hd_put_data_string(dout, key, val);
		}
	}
	if ((v = hd_as_get(payload, "icon")) != NULL)
		rc |= hd_put_data_string(dout, "large_icon", v);
	if ((v = hd_as_get(payload, "action")) != NULL)
		rc |= hd_put_data_string(dout, "action", v);
	if ((v = hd_as_get(hd_as_get(payload, "interactive"), "buttons")) != NULL)
		rc |= hd_put_data_string(dout, "buttons", v);
	s = hd_as_str(options, "priority", &len);
	rc |= json_object_object_add(cfg, "priority",
	    json_object_new_string(s && strcmp(s, "normal") == 0 ? "NORMAL" : "HIGH"));
	if (hd_as_int(options, "expire", &expire)) {
		snprintf(ttl, sizeof(ttl), "%llds", (long long)expire);
		rc |= json_object_object_add(cfg, "ttl", json_object_new_string(ttl));
	}
	rc |= hd_copy(cfg, "collapse_key", options, "collapse_key");
	if (!hidden) {
		rc |= hd_copy(note, "title", payload, "title");
		rc |= hd_copy(note, "body", payload, "text");
		rc |= hd_copy(note, "icon", payload, "small_icon");
		rc |= hd_copy(note, "color", payload, "color");
		rc |= hd_copy(note, "image", payload, "image");
		rc |= hd_copy(note, "sound", payload, "sound");
		rc |= hd_copy_int(note, "notification_count", payload, "badge");
		if (hd_as_bool(payload, "vibration", false))
			rc |= json_object_object_add(note, "default_vibrate_timings",
			    json_object_new_boolean(1));
		if ((s = hd_as_str(payload, "led_color", &len)) != NULL) {
			json_object *light = json_object_new_object();

			rc |= light == NULL;
			if (light) {
				rc |= json_object_object_add(light, "color", hd_fcm_color(s));
				rc |= json_object_object_add(light, "light_on_duration",
				    json_object_new_string("1s"));
				rc |= json_object_object_add(light, "light_off_duration",
				    json_object_new_string("1s"));
				rc |= json_object_object_add(note, "light_settings", light);
			}
		}
		rc |= json_object_object_add(cfg, "notification", note);
		note = NULL;
	}
	rc |= json_object_object_add(msg, "android", cfg);
	cfg = NULL;
	if (json_object_object_length(dout) > 0) {
		rc |= json_object_object_add(msg, "data", dout);
		dout = NULL;
	}
out:
	json_object_put(cfg);
	json_object_put(note);
	json_object_put(dout);
	if (rc != 0) {
		json_object_put(msg);
		return hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
	}
	*out = msg;
	return HD_P_NONE;
}

static bool
hd_xml_text(xmlNodePtr parent, const char *id, json_object *toast, const char *name)
{
	size_t len;
	const char *s = hd_as_str(toast, name, &len);
	xmlNodePtr t;

	if (s == NULL)
		return true;
	if ((t = xmlNewTextChild(parent, NULL, XC("text"), XC(s))) == NULL)
		return false;
	return id == NULL || xmlNewProp(t, XC("id"), XC(id)) != NULL;
}

/* The toast for WNS. uwp: the adaptive ToastGeneric binding and the page's scenario;
 * win: the legacy ToastText02/ToastText04 templates that Windows 8.1 and Windows
 * Phone 8.1 show too. The data object is the toast's launch argument, as JSON. */
static enum hd_problem
hd_map_wns(json_object *w, bool uwp, char **out, struct hd_refusal *why)
{
	json_object *toast = hd_as_get(w, "toast"), *data = hd_data_of(toast);
	size_t len;
	const char *scenario = hd_as_str(toast, "scenario", &len);
	bool three = hd_as_get(toast, "text2") != NULL;
	xmlDocPtr doc = xmlNewDoc(XC("1.0"));
	xmlNodePtr root = NULL, visual = NULL, binding = NULL;
	xmlChar *xml = NULL;
	int size = 0;
	bool ok;

	ok = doc && (root = xmlNewDocNode(doc, NULL, XC("toast"), NULL)) != NULL;
	if (ok)
		xmlDocSetRootElement(doc, root);
	ok = ok && (!data || xmlNewProp(root, XC("launch"),
	    XC(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN))) != NULL) &&
	    (!uwp || !scenario || strcmp(scenario, "default") == 0 ||
	    xmlNewProp(root, XC("scenario"), XC(scenario)) != NULL) &&
	    (visual = xmlNewChild(root, NULL, XC("visual"), NULL)) != NULL &&
	    (binding = xmlNewChild(visual, NULL, XC("binding"), NULL)) != NULL &&
	    xmlNewProp(binding, XC("template"), XC(uwp ? "ToastGeneric" :
	    three ? "ToastText04" : "ToastText02")) != NULL &&
	    hd_xml_text(binding, uwp ? NULL : "1", toast, "title") &&
	    hd_xml_text(binding, uwp ? NULL : "2", toast, "text") &&
	    hd_xml_text(binding, uwp ? NULL : "3", toast, "text2");
	if (ok) {
		xmlDocDumpMemoryEnc(doc, &xml, &size, "UTF-8");
		ok = xml != NULL;
	}
	xmlFreeDoc(doc);
	if (!ok) {
		xmlFree(xml);
		return hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
	}
	if (size > HD_AUDIENCE_WNS_MAX) {
		xmlFree(xml);
		return hd_audience_refuse(why, HD_AC_PAYLOAD_TOO_LARGE, NULL, NULL, NULL);
	}
	*out = strdup((const char *)xml);
	xmlFree(xml);
	return *out ? HD_P_NONE : hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
}

/* The pages' priorities: high is APNs 10 / FCM HIGH; normal is APNs 5, which herald
 * sends for its low band (<= 3). */
static int
hd_priority_of(json_object *options)
{
	size_t len;
	const char *s = hd_as_str(options, "priority", &len);

	return s && strcmp(s, "normal") == 0 ? 3 : 10;
}

/* The neutral fields, from the first platform object: what herald's statistics and
 * any provider without a raw override read. */
static enum hd_problem
hd_map_neutral(json_object *body, struct hd_audience_notice *out, json_object *extras,
    struct hd_refusal *why)
{
	static const char *const order[] = { "ios", "android", "uwp", "win" };
	json_object *pf = NULL, *content, *options;
	const char *which = NULL;
	int64_t i;
	size_t len;

	for (size_t k = 0; k < 4 && pf == NULL; k++)
		if ((pf = hd_as_get(body, order[k])) != NULL)
			which = order[k];
	options = hd_as_get(pf, "options");
	content = hd_as_get(pf, strcmp(which, "uwp") == 0 || strcmp(which, "win") == 0 ?
	    "toast" : "payload");
	out->m.title = hd_as_str(content, "title", &out->m.title_len);
	out->m.body = hd_as_str(content, "text", &out->m.body_len);
	out->m.sound = hd_as_str(content, "sound", &len);
	out->m.priority = hd_priority_of(options);
	out->m.ttl_s = hd_as_int(options, "expire", &i) ? i : -1;
	if (hd_data_of(content) &&
	    (out->data_json = strdup(json_object_to_json_string_ext(hd_data_of(content),
	    JSON_C_TO_STRING_PLAIN))) == NULL)
		return hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
	out->m.data_json = out->data_json;
	if (hd_copy_int(extras, "badge", content, "badge") != 0 ||
	    hd_copy(extras, "image", content, "image") != 0 ||
	    hd_copy(extras, "collapse_id", options, "collapse_key") != 0 ||
	    (hd_as_bool(options, "hidden", false) &&
	    json_object_object_add(extras, "content_available", json_object_new_boolean(1))))
		return hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
	return HD_P_NONE;
}

enum hd_problem
hd_audience_map(json_object *body, struct hd_audience_notice *out, struct hd_refusal *why)
{
	json_object *extras = json_object_new_object(), *raw = json_object_new_object();
	json_object *apns = NULL, *fcm = NULL, *w;
	char *wns = NULL;
	const char *text;
	enum hd_problem p = HD_P_NONE;

	memset(out, 0, sizeof(*out));
	out->m.source = HD_SRC_AUDIENCE;
	if (extras == NULL || raw == NULL) {
		p = hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
		goto out;
	}
	if ((p = hd_map_neutral(body, out, extras, why)) != HD_P_NONE)
		goto out;
	if (hd_as_get(body, "ios")) {
		out->platforms |= HD_PF_IOS;
		if ((p = hd_map_apns(hd_as_get(body, "ios"), &apns, why)) != HD_P_NONE)
			goto out;
		text = json_object_to_json_string_ext(apns, JSON_C_TO_STRING_PLAIN);
		if (strlen(text) > HD_AUDIENCE_APNS_MAX) {
			p = hd_audience_refuse(why, HD_AC_PAYLOAD_TOO_LARGE, NULL, NULL, NULL);
			goto out;
		}
		json_object_object_add(raw, "apns", apns);
		apns = NULL;
	}
	if (hd_as_get(body, "android")) {
		out->platforms |= HD_PF_ANDROID;
		if ((p = hd_map_fcm(hd_as_get(body, "android"), &fcm, why)) != HD_P_NONE)
			goto out;
		text = json_object_to_json_string_ext(fcm, JSON_C_TO_STRING_PLAIN);
		if (strlen(text) + HD_AUDIENCE_FCM_TOKEN_ROOM > HD_AUDIENCE_FCM_MAX) {
			p = hd_audience_refuse(why, HD_AC_PAYLOAD_TOO_LARGE, NULL, NULL, NULL);
			goto out;
		}
		json_object_object_add(raw, "fcm", fcm);
		fcm = NULL;
	}
	if ((w = hd_as_get(body, "uwp")) != NULL || (w = hd_as_get(body, "win")) != NULL) {
		out->platforms |= HD_PF_WINDOWS;
		if ((p = hd_map_wns(w, hd_as_get(body, "uwp") != NULL, &wns, why)) != HD_P_NONE)
			goto out;
		json_object_object_add(raw, "wns", json_object_new_string(wns));
	}
	json_object_object_add(extras, "raw", raw);
	raw = NULL;
	if ((out->extras_json = strdup(json_object_to_json_string_ext(extras,
	    JSON_C_TO_STRING_PLAIN))) == NULL) {
		p = hd_audience_refuse(why, HD_AC_UNKNOWN, NULL, NULL, NULL);
		goto out;
	}
	out->m.extras_json = out->extras_json;
out:
	free(wns);
	json_object_put(apns);
	json_object_put(fcm);
	json_object_put(raw);
	json_object_put(extras);
	if (p != HD_P_NONE)
		hd_audience_notice_free(out);
	return p;
}

void
hd_audience_notice_free(struct hd_audience_notice *n)
{
	free(n->data_json);
	free(n->extras_json);
	n->data_json = n->extras_json = NULL;
	n->m.data_json = n->m.extras_json = NULL;
}

/* The identifiers of an element other than token: the kind each names and the
 * platforms it exists on. userId and customUid (its older name) and devtodevId name a
 * user, whose devices on any platform count. */
static const struct {
	const char *name;
	enum hd_target_kind kind;
	unsigned platforms;
} hd_identifiers[HD_AUDIENCE_IDENTIFIERS] = {
	{ "idfa", HD_TK_IDFA, HD_PF_IOS },
	{ "idfv", HD_TK_IDFV, HD_PF_IOS },
	{ "advertisingId", HD_TK_ADVERTISING_ID, HD_PF_ANDROID | HD_PF_WINDOWS },
	{ "androidId", HD_TK_ANDROID_ID, HD_PF_ANDROID },
	{ "serialId", HD_TK_SERIAL_ID, HD_PF_ANDROID | HD_PF_WINDOWS },
	{ "userId", HD_TK_USER_EXTERNAL_ID, ~0u },
	{ "customUid", HD_TK_USER_EXTERNAL_ID, ~0u },
	{ "devtodevId", HD_TK_USER_NUMBER, ~0u },
};

size_t
hd_audience_targets(json_object *body, unsigned platforms, struct hd_target_item *items,
    char (*numbers)[HD_AUDIENCE_NUMBER_TEXT], size_t *ngroups)
{
	size_t n = 0, count = 0;

	for (size_t g = 0; g == 0 || g < count; g++) {
		json_object *el = hd_as_item(body, "audience", g, &count);
		size_t len;
		const char *token;
		int64_t number;

		if (el == NULL)
			break;
		if ((token = hd_as_str(el, "token", &len)) != NULL) {
			items[n++] = (struct hd_target_item){ HD_TK_DEVICE_TOKEN, platforms,
				(unsigned)g, token, len };
			continue;
		}
		for (size_t k = 0; k < HD_AUDIENCE_IDENTIFIERS; k++) {
			unsigned pf = hd_identifiers[k].platforms & platforms;
			const char *s;

			if (pf == 0)
				continue;
			if (hd_identifiers[k].kind == HD_TK_USER_NUMBER) {
				if (!hd_as_int(el, "devtodevId", &number))
					continue;
				len = (size_t)snprintf(numbers[g], HD_AUDIENCE_NUMBER_TEXT, "%lld",
				    (long long)number);
				s = numbers[g];
			} else if ((s = hd_as_str(el, hd_identifiers[k].name, &len)) == NULL) {
				continue;
			}
			items[n++] = (struct hd_target_item){ hd_identifiers[k].kind, pf,
				(unsigned)g, s, len };
		}
	}
	*ngroups = count;
	return n;
}
