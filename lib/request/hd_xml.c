/*
 * XML bodies through libxml2, refusing anything that could reach outside the document:
 * a DOCTYPE stops the parser at once (libxml2 2.9 has no XML_PARSE_NO_XXE), and the
 * options never include NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlwriter.h>

#include "hd_doc.h"
#include "hd_text.h"

#define HD_XC(s) ((const xmlChar *)(s))

struct hd_xml_state {
	bool saw_dtd;
};

static void
hd_xml_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void
hd_doc_init(void)
{
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, hd_xml_silent);
}

static void
hd_xml_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	xmlParserCtxtPtr pctx = ctx;
	struct hd_xml_state *st = pctx->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	st->saw_dtd = true;
	xmlStopParser(pctx);
}

/* The mapping knows two attributes: i:nil, and name on an <entry> element, which
 * carries a member name that is not an XML name (the writer's inverse). Namespace
 * declarations are not attributes in libxml2's tree. Any other attribute would be
 * data the API silently drops, so it is refused. Sets *nil for i:nil="true" or "1"
 * and *name to an <entry>'s name (else NULL). */
static bool
hd_xml_attributes_ok(xmlNodePtr el, bool *nil, const char **name)
{
	*nil = false;
	*name = NULL;
	for (xmlAttrPtr a = el->properties; a; a = a->next) {
		const char *value = a->children && a->children->content ?
		    (const char *)a->children->content : "";

		if (a->ns == NULL && strcmp((const char *)a->name, "name") == 0 &&
		    strcmp((const char *)el->name, "entry") == 0 && *name == NULL) {
			*name = value;
			continue;
		}
		if (a->ns == NULL || a->ns->href == NULL ||
		    strcmp((const char *)a->ns->href, HD_XSI_NS) != 0 ||
		    strcmp((const char *)a->name, "nil") != 0)
			return false;
		if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
			*nil = true;
	}
	return true;
}

static bool
hd_xml_blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (!strchr(" \t\r\n", *s))
			return false;
	return true;
}

/* Adds value under name in obj; a repeated name turns the member into an array. */
static int
hd_xml_add(json_object *obj, const char *name, json_object *value)
{
	json_object *old, *arr;

	if (!json_object_object_get_ex(obj, name, &old))
		return json_object_object_add(obj, name, value);
	if (json_object_is_type(old, json_type_array))
		return json_object_array_add(old, value);
	if ((arr = json_object_new_array()) == NULL)
		return -1;
	json_object_get(old);
	if (json_object_array_add(arr, old) != 0 || json_object_array_add(arr, value) != 0) {
		json_object_put(arr);
		return -1;
	}
	return json_object_object_add(obj, name, arr);
}

static enum hd_problem hd_xml_element(xmlNodePtr el, int depth, json_object **out,
    const char **name, const char **why);

static enum hd_problem
hd_xml_children(xmlNodePtr el, int depth, json_object *obj, const char **why)
{
	for (xmlNodePtr c = el->children; c; c = c->next) {
		json_object *v = NULL;
		const char *name;
		enum hd_problem p;

		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (!hd_xml_blank(c->content)) {
				*why = "an XML element mixes text and child elements";
				return HD_P_MALFORMED;
			}
			continue;
		}
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if ((p = hd_xml_element(c, depth + 1, &v, &name, why)) != HD_P_NONE)
			return p;
		if (hd_xml_add(obj, name ? name : (const char *)c->name, v) != 0) {
			json_object_put(v);
			*why = "out of memory";
			return HD_P_INTERNAL;
		}
	}
	return HD_P_NONE;
}

/* Maps element el to *out; *name is the member name it carries in an attribute
 * (<entry name="…">), else NULL. */
static enum hd_problem
hd_xml_element(xmlNodePtr el, int depth, json_object **out, const char **name,
    const char **why)
{
	bool has_elements = false, nil;
	json_object *obj;
	xmlChar *text;
	enum hd_problem p;

	*out = NULL;
	if (depth > HD_DOC_MAX_DEPTH) {
		*why = "the XML is nested too deeply";
		return HD_P_MALFORMED;
	}
	if (!hd_xml_attributes_ok(el, &nil, name)) {
		*why = "XML attributes other than i:nil are not part of this API";
		return HD_P_MALFORMED;
	}
	if (nil)
		return HD_P_NONE;    /* NULL json_object is JSON null */
	for (xmlNodePtr c = el->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			has_elements = true;
	if (has_elements) {
		if ((obj = json_object_new_object()) == NULL) {
			*why = "out of memory";
			return HD_P_INTERNAL;
		}
		if ((p = hd_xml_children(el, depth, obj, why)) != HD_P_NONE) {
			json_object_put(obj);
			return p;
		}
		*out = obj;
		return HD_P_NONE;
	}
	if ((text = xmlNodeGetContent(el)) == NULL) {
		*out = json_object_new_string("");
	} else {
		*out = json_object_new_string((const char *)text);
		xmlFree(text);
	}
	if (*out == NULL) {
		*why = "out of memory";
		return HD_P_INTERNAL;
	}
	return HD_P_NONE;
}

static bool
hd_xml_declares_xsi(xmlNodePtr root)
{
	for (xmlNsPtr ns = root->nsDef; ns; ns = ns->next)
		if (ns->prefix && strcmp((const char *)ns->prefix, "i") == 0 &&
		    ns->href && strcmp((const char *)ns->href, HD_XSI_NS) == 0)
			return true;
	return false;
}

enum hd_problem
hd_xml_parse(const char *body, size_t len, const struct hd_xml_rules *rules,
    json_object **out, const char **why)
{
	struct hd_xml_state st = { false };
	xmlParserCtxtPtr ctx = NULL;
	xmlNodePtr root;
	const char *root_name;
	bool root_nil;
	json_object *obj = NULL;
	enum hd_problem p = HD_P_MALFORMED;
	/* IGNORE_ENC: the bytes were checked as UTF-8, so a declared encoding is ignored. */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC;

	*out = NULL;
	*why = "the body is not well-formed XML";
	if (len > INT32_MAX)
		return HD_P_BODY_TOO_LARGE;
	if (!hd_utf8_valid(body, len)) {
		*why = "the body is not valid UTF-8";
		return HD_P_MALFORMED;
	}
	if ((ctx = xmlCreateMemoryParserCtxt(body, (int)len)) == NULL) {
		*why = "the body is not well-formed XML";
		return HD_P_MALFORMED;
	}
	ctx->_private = &st;
	ctx->sax->internalSubset = hd_xml_refuse_dtd;
	ctx->sax->externalSubset = hd_xml_refuse_dtd;
	xmlCtxtUseOptions(ctx, opts);
	xmlParseDocument(ctx);
	if (st.saw_dtd) {
		*why = "XML with a DOCTYPE is refused (no DTDs or entities)";
		goto out;
	}
	if (!ctx->wellFormed || ctx->myDoc == NULL)
		goto out;
	if ((root = xmlDocGetRootElement(ctx->myDoc)) == NULL)
		goto out;
	if (rules && rules->root && strcmp((const char *)root->name, rules->root) != 0) {
		*why = "the XML root element has the wrong name for this endpoint";
		goto out;
	}
	if (!hd_xml_attributes_ok(root, &root_nil, &root_name) || root_nil || root_name) {
		*why = "XML attributes are not part of this API";
		goto out;
	}
	if (rules && rules->require_xsi_ns && !hd_xml_declares_xsi(root)) {
		*why = hd_problem_info(HD_P_MISSING_NAMESPACE)->message;
		p = HD_P_MISSING_NAMESPACE;
		goto out;
	}
	if ((obj = json_object_new_object()) == NULL) {
		*why = "out of memory";
		p = HD_P_INTERNAL;
		goto out;
	}
	if ((p = hd_xml_children(root, 1, obj, why)) != HD_P_NONE) {
		json_object_put(obj);
		goto out;
	}
	*out = obj;
	p = HD_P_NONE;
out:
	if (ctx) {
		xmlFreeDoc(ctx->myDoc);
		ctx->myDoc = NULL;
		xmlFreeParserCtxt(ctx);
	}
	return p;
}

/* XML 1.0 names restricted to ASCII, which is what herald's own members use. */
static bool
hd_xml_name_ok(const char *s)
{
	if (strncasecmp(s, "xml", 3) == 0)
		return false;
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static int hd_xml_write_value(xmlTextWriterPtr w, const char *name, json_object *v,
    int depth);

/* XML 1.0 §2.2 Char: JSON text may hold code points XML cannot (most C0 controls,
 * U+FFFE, U+FFFF). They become U+FFFD in a copy (caller frees) so the answer stays
 * well-formed; NULL when out of memory. */
static char *
hd_xml_chars(const char *s)
{
	size_t len = strlen(s), o = 0;
	char *out = malloc(len * 3 + 1);
	const unsigned char *p = (const unsigned char *)s;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		bool bad = (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') ||
		    (p[i] == 0xef && i + 2 < len && p[i + 1] == 0xbf &&
		     (p[i + 2] == 0xbe || p[i + 2] == 0xbf));
		if (bad) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += p[i] == 0xef ? 2 : 0;
		} else
			out[o++] = (char)p[i];
	}
	out[o] = '\0';
	return out;
}

static int
hd_xml_text(xmlTextWriterPtr w, const char *s)
{
	char *clean = hd_xml_chars(s);
	int rc;

	if (clean == NULL)
		return -1;
	rc = xmlTextWriterWriteString(w, HD_XC(clean));
	free(clean);
	return rc;
}

static int
hd_xml_start(xmlTextWriterPtr w, const char *name)
{
	/* Member names that are not XML names (client data keys) keep their name in an
	 * attribute of a generic element instead. */
	if (hd_xml_name_ok(name))
		return xmlTextWriterStartElement(w, HD_XC(name));
	char *clean = hd_xml_chars(name);
	int rc = -1;

	if (clean != NULL && xmlTextWriterStartElement(w, HD_XC("entry")) >= 0)
		rc = xmlTextWriterWriteAttribute(w, HD_XC("name"), HD_XC(clean));
	free(clean);
	return rc;
}

static int
hd_xml_write_members(xmlTextWriterPtr w, json_object *obj, int depth)
{
	json_object_object_foreach(obj, key, val)
		if (hd_xml_write_value(w, key, val, depth + 1) < 0)
			return -1;
	return 0;
}

static int
hd_xml_write_value(xmlTextWriterPtr w, const char *name, json_object *v, int depth)
{
	char num[64];

	if (depth > HD_DOC_MAX_DEPTH * 2)
		return -1;
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if (hd_xml_write_value(w, name, json_object_array_get_idx(v, i), depth + 1) < 0)
				return -1;
		return 0;
	}
	if (hd_xml_start(w, name) < 0)
		return -1;
	switch (json_object_get_type(v)) {
	case json_type_null:
		if (xmlTextWriterWriteAttribute(w, HD_XC("i:nil"), HD_XC("true")) < 0)
			return -1;
		break;
	case json_type_object:
		if (hd_xml_write_members(w, v, depth) < 0)
			return -1;
		break;
	case json_type_boolean:
		if (xmlTextWriterWriteString(w, HD_XC(json_object_get_boolean(v) ? "true" : "false")) < 0)
			return -1;
		break;
	case json_type_int:
	case json_type_double: {
		/* json-c's own text for the number: the same digits as in JSON. */
		const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		if (text == NULL)
			return -1;
		snprintf(num, sizeof(num), "%s", text);
		if (xmlTextWriterWriteString(w, HD_XC(num)) < 0)
			return -1;
		break;
	}
	default:
		if (hd_xml_text(w, json_object_get_string(v)) < 0)
			return -1;
		break;
	}
	return xmlTextWriterEndElement(w);
}

enum hd_err
hd_doc_write(json_object *doc, enum hd_format fmt, const char *xml_root,
    struct hd_buf *out)
{
	return hd_doc_write_ns(doc, fmt, xml_root, NULL, out);
}

enum hd_err
hd_doc_write_ns(json_object *doc, enum hd_format fmt, const char *xml_root,
    const char *xml_ns, struct hd_buf *out)
{
	xmlBufferPtr xb = NULL;
	xmlTextWriterPtr w = NULL;
	enum hd_err err = HD_ERR_INTERNAL;
	const char *s;

	if (fmt == HD_FMT_JSON) {
		s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE);
		if (s == NULL)
			return HD_ERR_NOMEM;
		return hd_buf_puts(out, s);
	}
	if ((xb = xmlBufferCreate()) == NULL || (w = xmlNewTextWriterMemory(xb, 0)) == NULL) {
		err = HD_ERR_NOMEM;
		goto out;
	}
	/* xmlns:i is always declared so that a null member anywhere can say i:nil. */
	if (xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 ||
	    xmlTextWriterStartElement(w, HD_XC(xml_root)) < 0 ||
	    (xml_ns && xmlTextWriterWriteAttribute(w, HD_XC("xmlns"), HD_XC(xml_ns)) < 0) ||
	    xmlTextWriterWriteAttribute(w, HD_XC("xmlns:i"), HD_XC(HD_XSI_NS)) < 0)
		goto out;
	if (hd_xml_write_members(w, doc, 0) < 0 || xmlTextWriterEndElement(w) < 0 ||
	    xmlTextWriterEndDocument(w) < 0)
		goto out;
	xmlFreeTextWriter(w);
	w = NULL;
	err = hd_buf_append(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
out:
	if (w)
		xmlFreeTextWriter(w);
	if (xb)
		xmlBufferFree(xb);
	return err;
}
