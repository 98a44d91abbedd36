/*
 * Fuzz driver: an audience dialect body (seed 001, docs/audience.md) through what
 * herald does with it before any database work: parsed as JSON (even sizes) or as
 * XML by the one mapping (odd sizes), checked strictly against the dialect's field
 * tables (hd_audience_check), and, when accepted, mapped onto the neutral message and
 * the raw APNs, FCM and WNS payloads (hd_audience_map).
 *
 * Checks: a refusal carries one of the seed's codes with its status (400, or 500 for
 * code 1) and a message of valid UTF-8; an accepted body maps or is refused with code
 * 30 or 31 (a data key a provider reserves, a payload over its limit); a mapped
 * notice names at least one platform, its extras are a JSON object whose raw APNs body
 * is within 4096 bytes and whose raw WNS text is a <toast> document within 5000;
 * hd_audience_notice_free frees everything (LeakSanitizer).
 */
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "hd_audience_codes.h"
#include "hd_audience_map.h"
#include "hd_audience_schema.h"
#include "hd_doc.h"
#include "hd_text.h"

static const int codes[] = { 1, 2, 3, 4, 6, 11, 12, 13, 15, 23, 24, 25, 26, 27, 28, 29, 30,
	31, 32, 33 };

static void
check_refusal(const struct hd_refusal *why)
{
	bool known = false;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		known = known || codes[i] == why->code;
	FUZZ_ASSERT(known);
	FUZZ_ASSERT(why->status == (why->code == 1 ? 500 : 400));
	FUZZ_ASSERT(hd_utf8_valid(why->message, strlen(why->message)));
	FUZZ_ASSERT(hd_utf8_valid(why->field, strlen(why->field)));
}

static void
check_notice(const struct hd_audience_notice *n)
{
	json_object *extras, *raw = NULL, *v;

	FUZZ_ASSERT(n->platforms != 0);
	FUZZ_ASSERT(n->extras_json != NULL);
	extras = json_tokener_parse(n->extras_json);
	FUZZ_ASSERT(json_object_is_type(extras, json_type_object));
	FUZZ_ASSERT(json_object_object_get_ex(extras, "raw", &raw));
	if (json_object_object_get_ex(raw, "apns", &v))
		FUZZ_ASSERT(strlen(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)) <=
		    HD_AUDIENCE_APNS_MAX);
	if (json_object_object_get_ex(raw, "wns", &v)) {
		const char *xml = json_object_get_string(v);

		FUZZ_ASSERT(json_object_get_string_len(v) <= HD_AUDIENCE_WNS_MAX);
		FUZZ_ASSERT(fuzz_contains(xml, strlen(xml), "<toast"));
	}
	json_object_put(extras);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hd_xml_rules rules = { NULL, false };
	bool from_xml = size % 2 == 1;
	json_object *doc = NULL;
	const char *reason = NULL;
	struct hd_refusal why;
	struct hd_audience_notice n;
	enum hd_problem p;

	static bool ready;
	if (!ready) {
		hd_doc_init();
		ready = true;
	}
	p = from_xml ? hd_xml_parse((const char *)data, size, &rules, &doc, &reason) :
	    hd_json_parse((const char *)data, size, &doc, &reason);
	if (p != HD_P_NONE)
		return 0;
	memset(&why, 0, sizeof(why));
	if (hd_audience_check(doc, from_xml, &why) != HD_P_NONE) {
		check_refusal(&why);
	} else if (hd_audience_map(doc, &n, &why) != HD_P_NONE) {
		check_refusal(&why);
		FUZZ_ASSERT(why.code == 30 || why.code == 31 || why.code == 1);
	} else {
		check_notice(&n);
		hd_audience_notice_free(&n);
	}
	json_object_put(doc);
	return 0;
}
