/*
 * Request and answer documents. Both JSON and XML bodies become one json-c tree, and
 * one tree is written as either JSON or XML, through a single mapping (docs/formats.md):
 *
 *   object  <-> element whose child elements are its members
 *   array   <-> the member's element repeated, once per item
 *   scalar  <-> element text (XML has no types: fields are coerced by their declaration)
 *   null    <-> element with i:nil="true" (xmlns:i = XML Schema instance)
 *
 * Parsers refuse invalid UTF-8, raw NUL bytes, trailing garbage, repeated JSON
 * member names, JSON deeper than HD_DOC_MAX_DEPTH values, and any XML with a DOCTYPE
 * (so no DTD, no entity, no network). A JSON \u0000 escape inside a value parses;
 * the field layer (hd_fields.c) refuses it, naming the field.
 * Trees returned to the caller are owned by it: release them with json_object_put().
 */
#ifndef HD_DOC_H
#define HD_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "hd_buf.h"
#include "hd_problem.h"

#define HD_DOC_MAX_DEPTH 16
#define HD_XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

enum hd_format { HD_FMT_NONE = 0, HD_FMT_JSON, HD_FMT_XML, HD_FMT__MAX };

/* What an XML body must look like for one endpoint. */
struct hd_xml_rules {
	const char *root;      /* required root element name; NULL accepts any */
	bool require_xsi_ns;   /* root must declare xmlns:i=HD_XSI_NS (legacy dialect) */
};

/* Parses a JSON body whose top level must be an object. On refusal returns the problem
 * (HD_P_MALFORMED) and points *why at a static reason. */
enum hd_problem hd_json_parse(const char *body, size_t len, json_object **out,
    const char **why);

/* Parses an XML body by the mapping above into an object tree (the root element's
 * content). Refusals: HD_P_MALFORMED, HD_P_MISSING_NAMESPACE. */
enum hd_problem hd_xml_parse(const char *body, size_t len,
    const struct hd_xml_rules *rules, json_object **out, const char **why);

/* Appends doc (an object) to out as JSON, or as XML under root element xml_root
 * (which always declares xmlns:i). */
enum hd_err hd_doc_write(json_object *doc, enum hd_format fmt, const char *xml_root,
    struct hd_buf *out);
/* The same, with the XML root element (and so its children) in the default namespace
 * xml_ns when it is not NULL (RFC 9457 Appendix B: urn:ietf:rfc:7807). */
enum hd_err hd_doc_write_ns(json_object *doc, enum hd_format fmt, const char *xml_root,
    const char *xml_ns, struct hd_buf *out);

/* Installs libxml2's process-wide settings (silences its stderr output). Call once. */
void hd_doc_init(void);

#endif
