/*
 * Fuzz driver: XML bodies. hd_xml_parse with the developer rules (root "push") and
 * with the legacy rules (any root, xmlns:i required), then hd_fields_validate with
 * XML coercion, then hd_doc_write of the tree as XML and as JSON. Checks the
 * contracts: no DOCTYPE ever gets through, a tree is an object of strings, nulls,
 * objects and arrays, and what the writer makes of it parses again.
 */
#include <string.h>

#include "fieldsets.h"
#include "hd_doc.h"

/* Only what the XML mapping can produce, nested no deeper than the bound. */
static void
fuzz_check_tree(json_object *v, int depth)
{
	FUZZ_ASSERT(depth <= HD_DOC_MAX_DEPTH);
	switch (json_object_get_type(v)) {
	case json_type_null:
		break;
	case json_type_string:
		FUZZ_ASSERT(hd_utf8_valid(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v)));
		break;
	case json_type_array:
		FUZZ_ASSERT(json_object_array_length(v) >= 2);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *e = json_object_array_get_idx(v, i);
			FUZZ_ASSERT(!json_object_is_type(e, json_type_array));
			fuzz_check_tree(e, depth);
		}
		break;
	case json_type_object: {
		json_object_object_foreach(v, k, m) {
			FUZZ_ASSERT(*k != '\0');
			fuzz_check_tree(m, depth + 1);
		}
		break;
	}
	default:
		FUZZ_ASSERT(!"an XML tree holds only strings, nulls, objects and arrays");
	}
}

static int
starts(const char *s, size_t len, size_t at, const char *lit)
{
	size_t n = strlen(lit);

	return at <= len && len - at >= n && memcmp(s + at, lit, n) == 0;
}

/* Whether the prolog (BOM, XML declaration, whitespace, comments and processing
 * instructions before the root) holds a document type declaration. */
static int
has_doctype(const char *s, size_t len)
{
	size_t at = starts(s, len, 0, "\xef\xbb\xbf") ? 3 : 0;

	for (;;) {
		while (at < len && strchr(" \t\r\n", s[at]) && s[at] != '\0')
			at++;
		if (starts(s, len, at, "<?") || starts(s, len, at, "<!--")) {
			const char *end = s[at + 1] == '?' ? "?>" : "-->";
			size_t k = at + 2;
			while (k < len && !starts(s, len, k, end))
				k++;
			if (k >= len)
				return 0;
			at = k + strlen(end);
			continue;
		}
		return starts(s, len, at, "<!DOCTYPE");
	}
}

static void
fuzz_one(const char *body, size_t len, const struct hd_xml_rules *rules)
{
	json_object *doc = NULL, *back = NULL;
	const char *why = NULL;
	struct hd_xml_rules any = { "response", true };
	struct hd_buf out;
	enum hd_problem p = hd_xml_parse(body, len, rules, &doc, &why);

	/* A document type declaration is always refused. */
	if (has_doctype(body, len))
		FUZZ_ASSERT(p != HD_P_NONE);
	if (p != HD_P_NONE) {
		FUZZ_ASSERT(doc == NULL && why != NULL && *why != '\0');
		FUZZ_ASSERT(p == HD_P_MALFORMED || p == HD_P_MISSING_NAMESPACE ||
		    p == HD_P_BODY_TOO_LARGE || p == HD_P_INTERNAL);
		return;
	}
	FUZZ_ASSERT(hd_utf8_valid(body, len));
	FUZZ_ASSERT(json_object_is_type(doc, json_type_object));
	fuzz_check_tree(doc, 1);
	fuzz_validate(&dev_fs, doc, true);
	fuzz_validate(&legacy_fs, doc, true);

	/* Written back as XML, the tree is well-formed XML under the mapping. */
	hd_buf_init(&out, 1 << 22);
	FUZZ_ASSERT(hd_doc_write(doc, HD_FMT_XML, "response", &out) == HD_OK);
	p = hd_xml_parse(out.data, out.len, &any, &back, &why);
	if (p != HD_P_NONE)
		fprintf(stderr, "written XML refused (%s):\n%s\n", why, out.data);
	FUZZ_ASSERT(p == HD_P_NONE);
	json_object_put(back);
	back = NULL;
	/* And as JSON, it parses as JSON again. */
	hd_buf_reset(&out);
	FUZZ_ASSERT(hd_doc_write(doc, HD_FMT_JSON, NULL, &out) == HD_OK);
	FUZZ_ASSERT(hd_json_parse(out.data, out.len, &back, &why) == HD_P_NONE);
	FUZZ_ASSERT(json_object_equal(back, doc));
	json_object_put(back);
	hd_buf_free(&out);
	json_object_put(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static const struct hd_xml_rules developer = { "push", false };
	static const struct hd_xml_rules legacy = { NULL, true };
	static const struct hd_xml_rules none = { NULL, false };

	if (!ready) {
		hd_doc_init();
		ready = 1;
	}
	fuzz_one((const char *)data, size, &developer);
	fuzz_one((const char *)data, size, &legacy);
	fuzz_one((const char *)data, size, &none);
	return 0;
}
