/*
 * The audience dialect's library modules: the strict schema (hd_audience_schema.c),
 * the mapping to the neutral message and raw provider overrides
 * (hd_audience_map.c), and the seed's codes for herald's problems
 * (hd_audience_codes.c). Table-driven.
 */
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "hd_audience_codes.h"
#include "hd_audience_map.h"
#include "hd_audience_schema.h"
#include "hd_send_targets.h"
#include "unit.h"

#define HEAD "\"app_id\":\"a\",\"audience\":[{\"userId\":\"u\"}],"

static const struct {
	const char *body;
	int code;            /* 0: accepted */
	const char *msg;     /* the message's start */
} checks[] = {
	{ "{" HEAD "\"ios\":{\"payload\":{\"text\":\"t\"}}}", 0, NULL },
	{ "{" HEAD "\"ios\":{\"payload\":{\"data\":{}}},\"android\":{\"payload\":{\"text\":\"t\"}}}",
	  4, "Field not found: ios.payload.text" },
	{ "{" HEAD "\"ios\":{\"payload\":{},\"options\":{\"hidden\":true}}}", 0, NULL },
	{ "{\"audience\":[{\"userId\":\"u\"}],\"ios\":{\"payload\":{\"text\":\"t\"}}}", 4,
	  "Field not found: app_id" },
	{ "{" HEAD "\"web\":{}}", 29, "Unexpected field web" },
	{ "{" HEAD "\"ios\":{\"payload\":{\"text\":\"t\",\"category\":\"c\"}}}", 29,
	  "Unexpected field ios.payload.category" },
	{ "{\"app_id\":\"a\",\"audience\":[{\"userId\":\"u\",\"idfa\":\"i\",\"x\":1}],"
	  "\"ios\":{\"payload\":{\"text\":\"t\"}}}", 29, "Unexpected field audience[0].x" },
	{ "{" HEAD "\"ios\":{\"payload\":{\"text\":\"t\"},\"options\":{\"priority\":\"low\"}}}",
	  28, "Unexpected value for field ios.options.priority. Received value: low. "
	  "Expected values: high, normal." },
	{ "{" HEAD "\"android\":{\"payload\":{\"text\":\"t\",\"led_color\":\"#12345g\"}}}", 30,
	  "Invalid value for field android.payload.led_color. Received value: #12345g." },
	{ "{" HEAD "\"android\":{\"payload\":{\"text\":\"t\",\"badge\":1.5}}}", 30,
	  "Invalid value for field android.payload.badge. Received value: 1.5." },
	{ "{" HEAD "\"ios\":{\"payload\":{\"text\":\"t\",\"loc-args\":\"one\"}}}", 0, NULL },
	{ "{" HEAD "\"ios\":{\"payload\":{\"text\":\"t\",\"loc-args\":[1]}}}", 30,
	  "Invalid value for field ios.payload.loc-args[0]." },
	{ "{" HEAD "\"ios\":{\"payload\":{\"text\":\"t\",\"interactive\":{\"template\":\"x\","
	  "\"buttons\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"},{\"id\":\"d\"},{\"id\":\"e\"}]}}}}",
	  30, "Invalid value for field ios.payload.interactive.buttons." },
	{ "{" HEAD "\"win\":{\"toast\":{\"title\":\"t\",\"text\":\"x\"},\"raw\":{}}}", 30,
	  "Invalid value for field win.raw." },
	{ "{" HEAD "\"win\":{\"toast\":{\"text\":\"x\"}}}", 4, "Field not found: win.toast.title" },
	{ "{\"app_id\":\"a\",\"audience\":[],\"ios\":{\"payload\":{\"text\":\"t\"}}}", 30,
	  "Invalid value for field audience." },
	{ "{\"app_id\":\"a\",\"audience\":{\"userId\":\"u\"},\"ios\":{\"payload\":{\"text\":\"t\"}}}",
	  30, "Invalid value for field audience." },
	{ "{\"app_id\":\"a\",\"audience\":[{\"devtodevId\":0}],\"ios\":{\"payload\":{\"text\":\"t\"}}}",
	  30, "Invalid value for field audience[0].devtodevId." },
};

/* XML text coercion: what the one mapping makes of <badge>3</badge> etc. */
static const struct {
	const char *body;
	int code;
} xml_checks[] = {
	{ "{\"app_id\":\"a\",\"audience\":{\"devtodevId\":\"12\"},\"ios\":{\"payload\":"
	  "{\"text\":\"t\",\"badge\":\"3\"},\"options\":{\"hidden\":\"false\",\"expire\":\"60\"}}}", 0 },
	{ "{\"app_id\":\"a\",\"audience\":{\"idfa\":\"i\"},\"ios\":{\"payload\":"
	  "{\"text\":\"t\",\"badge\":\"three\"}}}", 30 },
	{ "{\"app_id\":\"a\",\"audience\":\"\",\"ios\":{\"payload\":{\"text\":\"t\"}}}", 30 },
};

static void
test_checks(void)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		json_object *body = json_tokener_parse(checks[i].body);
		struct hd_refusal why;
		enum hd_problem p;

		memset(&why, 0, sizeof(why));
		CHECK_MSG(body != NULL, "case %zu", i);
		p = hd_audience_check(body, false, &why);
		if (checks[i].code == 0) {
			CHECK_MSG(p == HD_P_NONE, "case %zu: %d %s", i, why.code, why.message);
		} else {
			CHECK_MSG(why.code == checks[i].code, "case %zu: %d %s", i, why.code,
			    why.message);
			CHECK_MSG(strncmp(why.message, checks[i].msg, strlen(checks[i].msg)) == 0,
			    "case %zu: %s", i, why.message);
		}
		json_object_put(body);
	}
	for (size_t i = 0; i < sizeof(xml_checks) / sizeof(xml_checks[0]); i++) {
		json_object *body = json_tokener_parse(xml_checks[i].body);
		struct hd_refusal why;

		memset(&why, 0, sizeof(why));
		hd_audience_check(body, true, &why);
		CHECK_MSG(why.code == xml_checks[i].code, "xml case %zu: %d %s", i, why.code,
		    why.message);
		json_object_put(body);
	}
}

static void
test_too_many(void)
{
	json_object *body = json_tokener_parse("{\"app_id\":\"a\",\"ios\":{\"payload\":{\"text\":\"t\"}}}");
	json_object *arr = json_object_new_array();
	struct hd_refusal why;

	for (int i = 0; i <= HD_AUDIENCE_MAX; i++) {
		json_object *el = json_object_new_object();

		json_object_object_add(el, "idfa", json_object_new_string("x"));
		json_object_array_add(arr, el);
	}
	json_object_object_add(body, "audience", arr);
	memset(&why, 0, sizeof(why));
	hd_audience_check(body, false, &why);
	CHECK(why.code == 27 && why.status == 400);
	json_object_array_del_idx(arr, 0, 1);
	CHECK(hd_audience_check(body, false, &why) == HD_P_NONE);
	json_object_put(body);
}

/* Mapping: the member of extras.raw (a JSON object, or the WNS XML as text) each
 * platform object becomes, and the neutral fields. */
static const struct {
	const char *body;
	unsigned platforms;
	int priority;
	long long ttl;
	const char *title;
	const char *raw_key;
	const char *raw;     /* JSON text of extras.raw.<raw_key>, or the WNS XML */
} maps[] = {
	{ "{\"ios\":{\"payload\":{\"text\":\"Hello world!\"},\"options\":{\"priority\":\"normal\","
	  "\"expire\":36000}}}", HD_PF_IOS, 3, 36000, NULL, "apns",
	  "{\"aps\":{\"alert\":{\"body\":\"Hello world!\"}}}" },
	{ "{\"ios\":{\"payload\":{\"title\":\"T\",\"text\":\"B\",\"badge\":2,\"data\":{\"k\":1}}}}",
	  HD_PF_IOS, 10, -1, "T", "apns",
	  "{\"k\":1,\"aps\":{\"alert\":{\"title\":\"T\",\"body\":\"B\"},\"badge\":2}}" },
	{ "{\"android\":{\"payload\":{\"title\":\"T\",\"text\":\"B\",\"data\":{\"n\":2}},"
	  "\"options\":{\"hidden\":true,\"expire\":5}}}", HD_PF_ANDROID, 10, 5, "T", "fcm",
	  "{\"android\":{\"priority\":\"HIGH\",\"ttl\":\"5s\"},\"data\":{\"n\":\"2\"}}" },
	{ "{\"android\":{\"payload\":{\"text\":\"B\",\"led_color\":\"#000000\"}}}", HD_PF_ANDROID,
	  10, -1, NULL, "fcm",
	  "{\"android\":{\"priority\":\"HIGH\",\"notification\":{\"body\":\"B\",\"light_settings\":"
	  "{\"color\":{\"red\":0.0,\"green\":0.0,\"blue\":0.0,\"alpha\":1.0},"
	  "\"light_on_duration\":\"1s\",\"light_off_duration\":\"1s\"}}}}" },
	{ "{\"win\":{\"toast\":{\"title\":\"T\",\"text\":\"a<b\"}}}", HD_PF_WINDOWS, 10, -1, "T",
	  "wns", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<toast><visual><binding "
	  "template=\"ToastText02\"><text id=\"1\">T</text><text id=\"2\">a&lt;b</text>"
	  "</binding></visual></toast>\n" },
	{ "{\"uwp\":{\"toast\":{\"scenario\":\"alarm\",\"text\":\"x\"}}}", HD_PF_WINDOWS, 10, -1,
	  NULL, "wns", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<toast scenario=\"alarm\">"
	  "<visual><binding template=\"ToastGeneric\"><text>x</text></binding></visual>"
	  "</toast>\n" },
};

static void
test_maps(void)
{
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		json_object *body = json_tokener_parse(maps[i].body), *extras, *raw, *got;
		struct hd_audience_notice n;
		struct hd_refusal why;
		const char *text;

		memset(&why, 0, sizeof(why));
		CHECK_MSG(hd_audience_map(body, &n, &why) == HD_P_NONE, "map %zu: %s", i,
		    why.message);
		CHECK_MSG(n.platforms == maps[i].platforms, "map %zu", i);
		CHECK_MSG(n.m.priority == maps[i].priority, "map %zu: %d", i, n.m.priority);
		CHECK_MSG(n.m.ttl_s == maps[i].ttl, "map %zu: %lld", i, (long long)n.m.ttl_s);
		CHECK_MSG(maps[i].title ? n.m.title && n.m.title_len == strlen(maps[i].title) &&
		    memcmp(n.m.title, maps[i].title, n.m.title_len) == 0 : n.m.title == NULL,
		    "map %zu", i);
		CHECK_MSG(n.m.source == HD_SRC_AUDIENCE, "map %zu", i);
		extras = json_tokener_parse(n.extras_json);
		CHECK_MSG(json_object_object_get_ex(extras, "raw", &raw) &&
		    json_object_object_get_ex(raw, maps[i].raw_key, &got), "map %zu: %s", i,
		    n.extras_json);
		text = json_object_is_type(got, json_type_string) ? json_object_get_string(got) :
		    json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN);
		CHECK_MSG(text && strcmp(text, maps[i].raw) == 0, "map %zu: %s", i, text);
		json_object_put(extras);
		hd_audience_notice_free(&n);
		json_object_put(body);
	}
}

static const struct {
	const char *body;
	int code;
} map_refusals[] = {
	{ "{\"ios\":{\"payload\":{\"text\":\"t\",\"data\":{\"aps\":1}}}}", 30 },
	{ "{\"android\":{\"payload\":{\"text\":\"t\",\"data\":{\"google.x\":1}}}}", 30 },
	{ "{\"android\":{\"payload\":{\"text\":\"t\",\"data\":{\"from\":1}}}}", 30 },
};

static void
test_map_refusals(void)
{
	char big[4200];
	json_object *body;
	struct hd_audience_notice n;
	struct hd_refusal why;

	for (size_t i = 0; i < sizeof(map_refusals) / sizeof(map_refusals[0]); i++) {
		body = json_tokener_parse(map_refusals[i].body);
		memset(&why, 0, sizeof(why));
		CHECK_MSG(hd_audience_map(body, &n, &why) != HD_P_NONE &&
		    why.code == map_refusals[i].code, "refusal %zu: %d", i, why.code);
		json_object_put(body);
	}
	/* Just under and just over APNs' 4096 bytes. */
	for (int over = 0; over < 2; over++) {
		size_t len = 4096 - strlen("{\"aps\":{\"alert\":{\"body\":\"\"}}}") + (size_t)over;

		memset(big, 'x', len);
		big[len] = '\0';
		body = json_object_new_object();
		json_object *ios = json_object_new_object(), *payload = json_object_new_object();
		json_object_object_add(payload, "text", json_object_new_string(big));
		json_object_object_add(ios, "payload", payload);
		json_object_object_add(body, "ios", ios);
		memset(&why, 0, sizeof(why));
		if (over)
			CHECK(hd_audience_map(body, &n, &why) != HD_P_NONE && why.code == 31);
		else {
			CHECK(hd_audience_map(body, &n, &why) == HD_P_NONE);
			hd_audience_notice_free(&n);
		}
		json_object_put(body);
	}
}

/* Audience elements as target items: "kind:platforms:group:value" each, joined by
 * spaces. */
static const struct {
	const char *audience;
	unsigned platforms;
	const char *items;
} targets[] = {
	/* A token names its device; the element's other identifiers are ignored. */
	{ "[{\"token\":\"t\",\"idfa\":\"i\",\"userId\":\"u\"}]", HD_PF_IOS | HD_PF_ANDROID,
	  "2:3:0:t" },
	{ "[{\"idfa\":\"i\",\"idfv\":\"v\"},{\"devtodevId\":42}]", HD_PF_IOS,
	  "3:1:0:i 4:1:0:v 10:1:1:42" },
	/* An iOS identifier in a request for Android names nothing; userId names the user
	 * on the request's platforms. */
	{ "[{\"idfa\":\"i\",\"userId\":\"u\"}]", HD_PF_ANDROID, "8:2:0:u" },
	{ "[{\"advertisingId\":\"a\",\"serialId\":\"s\",\"androidId\":\"d\"}]",
	  HD_PF_WINDOWS, "5:8:0:a 7:8:0:s" },
	{ "[{\"customUid\":\"c\"}]", HD_PF_WINDOWS | HD_PF_IOS, "8:9:0:c" },
};

static void
test_targets(void)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		json_object *body = json_object_new_object();
		struct hd_target_item items[4 * HD_AUDIENCE_IDENTIFIERS];
		char numbers[4][HD_AUDIENCE_NUMBER_TEXT];
		char got[256] = "";
		size_t n, groups = 0, used = 0;

		json_object_object_add(body, "audience", json_tokener_parse(targets[i].audience));
		n = hd_audience_targets(body, targets[i].platforms, items, numbers, &groups);
		for (size_t k = 0; k < n; k++) {
			int w = snprintf(got + used, sizeof(got) - used, "%s%d:%u:%u:%.*s",
			    k ? " " : "", (int)items[k].kind, items[k].platforms, items[k].group,
			    (int)items[k].len, items[k].value);
			used += w > 0 ? (size_t)w : 0;
		}
		CHECK_MSG(strcmp(got, targets[i].items) == 0, "targets %zu: %s", i, got);
		CHECK_MSG(groups == json_object_array_length(json_object_object_get(body,
		    "audience")), "targets %zu: %zu groups", i, groups);
		json_object_put(body);
	}
}

/* herald's problems, refused anywhere in the pipeline, as the seed's codes. */
static const struct {
	enum hd_problem problem;
	int code;
	int status;
	const char *msg;
} refines[] = {
	{ HD_P_EMPTY_BODY, 2, 400, "Request body is empty" },
	{ HD_P_MALFORMED, 3, 400, "Malformed json" },
	{ HD_P_MEDIA_TYPE, 3, 415, "Malformed json" },
	{ HD_P_MISSING_FIELD, 4, 400, "Field not found: f" },
	{ HD_P_UNKNOWN_FIELD, 29, 400, "Unexpected field f" },
	{ HD_P_INVALID_TYPE, 30, 400, "Invalid value for field f." },
	{ HD_P_MISSING_KEY, 12, 401, "Authorization error. User_token is not set." },
	{ HD_P_PUSH_DISABLED, 24, 400, "Push service is not enabled" },
	{ HD_P_NO_DEVICES, 33, 400, "The requested users have not been found" },
	{ HD_P_RATE_LIMITED, 1, 429, "herald says" },
	{ HD_P_NOT_FOUND, 1, 404, "herald says" },
	{ HD_P_INTERNAL, 1, 500, "Unknown Error" },
	{ HD_P_UNAVAILABLE, 1, 503, "herald says" },
};

static void
test_refine(void)
{
	for (size_t i = 0; i < sizeof(refines) / sizeof(refines[0]); i++) {
		struct hd_refusal why;
		json_object *doc, *errors, *err, *v;

		hd_refuse(&why, refines[i].problem, "f", "herald says");
		hd_audience_refine(&why);
		CHECK_MSG(why.code == refines[i].code && why.status == refines[i].status,
		    "refine %zu: %d %d", i, why.code, why.status);
		CHECK_MSG(strncmp(why.message, refines[i].msg, strlen(refines[i].msg)) == 0,
		    "refine %zu: %s", i, why.message);
		doc = hd_audience_error_doc(&why);
		CHECK(json_object_object_get_ex(doc, "status_code", &v) &&
		    json_object_get_int(v) == refines[i].status);
		CHECK(json_object_object_get_ex(doc, "errors", &errors) &&
		    json_object_array_length(errors) == 1);
		err = json_object_array_get_idx(errors, 0);
		CHECK(json_object_object_get_ex(err, "code", &v) &&
		    json_object_get_int(v) == refines[i].code);
		json_object_put(doc);
	}
}

int
main(void)
{
	test_checks();
	test_too_many();
	test_maps();
	test_map_refusals();
	test_targets();
	test_refine();
	UNIT_DONE();
}
