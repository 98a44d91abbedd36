/*
 * Fuzz driver: JSON bodies. hd_json_parse, then hd_fields_validate against the
 * developer dialect's push fieldset and a legacy-like one (one_of, "" as absent,
 * a closed nested object), then hd_doc_write in both formats. Checks the contracts:
 * a parsed document is an object; validated values lie inside their declarations;
 * the XML written is well-formed enough for hd_xml_parse to read it back.
 */
#include <string.h>

#include "fieldsets.h"
#include "hd_doc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	json_object *doc = NULL;
	const char *why = NULL;
	enum hd_problem p;
	struct hd_buf out;

	if (!ready) {
		hd_doc_init();
		ready = 1;
	}
	p = hd_json_parse((const char *)data, size, &doc, &why);
	if (p != HD_P_NONE) {
		FUZZ_ASSERT(doc == NULL && why != NULL && *why != '\0');
		FUZZ_ASSERT(p == HD_P_MALFORMED || p == HD_P_BODY_TOO_LARGE || p == HD_P_INTERNAL);
		return 0;
	}
	FUZZ_ASSERT(json_object_is_type(doc, json_type_object));
	FUZZ_ASSERT(hd_utf8_valid((const char *)data, size));
	fuzz_validate(&dev_fs, doc, false);
	fuzz_validate(&legacy_fs, doc, false);

	hd_buf_init(&out, 1 << 22);
	FUZZ_ASSERT(hd_doc_write(doc, HD_FMT_JSON, NULL, &out) == HD_OK);
	hd_buf_reset(&out);
	if (hd_doc_write(doc, HD_FMT_XML, "response", &out) == HD_OK) {
		/* What herald writes as XML, it reads back: control characters and other
		 * code points XML 1.0 has no room for never reach the answer. */
		json_object *back = NULL;
		struct hd_xml_rules rules = { "response", true };
		FUZZ_ASSERT(hd_xml_parse(out.data, out.len, &rules, &back, &why) == HD_P_NONE);
		json_object_put(back);
	}
	hd_buf_free(&out);
	json_object_put(doc);
	return 0;
}
