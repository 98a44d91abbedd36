/*
 * hd_request: CGI parameters into a request, query parameters, status and method
 * names; and hd_pipeline_run driven without a web server or a database (the
 * configured socket does not exist): routing, 404/405/413/415, format negotiation,
 * error documents in both formats, validation, and 503 + Retry-After, fast, when rate
 * limiting needs the unreachable database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd_doc.h"
#include "hd_endpoint.h"
#include "hd_log.h"
#include "hd_request.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- hd_request_init / hd_request_param ---------------------------------------- */

static void
test_init(void)
{
	struct hd_request req;
	char *env1[] = {
		"REQUEST_METHOD=POST", "REQUEST_URI=/developer/push?format=xml&x=1",
		"QUERY_STRING=format=xml&x=1", "REMOTE_ADDR=192.0.2.7",
		"CONTENT_TYPE=application/json", "HTTP_X_SERVER_KEY=k=v", NULL,
	};

	CHECK(hd_request_init(&req, env1) == HD_OK);
	CHECK(req.method == HD_POST);
	CHECK(req.path && strcmp(req.path, "/developer/push") == 0);
	CHECK(strcmp(req.query, "format=xml&x=1") == 0);
	CHECK(strcmp(req.remote_addr, "192.0.2.7") == 0);
	CHECK(req.body == NULL && req.body_len == 0 && !req.body_too_large);
	CHECK(req.envp == env1);
	CHECK(hd_request_param(&req, "HTTP_X_SERVER_KEY") &&
	    strcmp(hd_request_param(&req, "HTTP_X_SERVER_KEY"), "k=v") == 0);
	CHECK(hd_request_param(&req, "CONTENT_TYPE") &&
	    strcmp(hd_request_param(&req, "CONTENT_TYPE"), "application/json") == 0);
	/* A name is matched whole: not a prefix of a longer one, not a longer one. */
	CHECK(hd_request_param(&req, "HTTP_X_SERVER") == NULL);
	CHECK(hd_request_param(&req, "HTTP_X_SERVER_KEYS") == NULL);
	CHECK(hd_request_param(&req, "REQUEST") == NULL);
	CHECK(hd_request_param(&req, "request_method") == NULL);
	CHECK(hd_request_param(&req, "HTTP_ORIGIN") == NULL);
	hd_request_free(&req);
	CHECK(req.path == NULL && req.body == NULL);

	/* No QUERY_STRING: the query comes from REQUEST_URI. No REMOTE_ADDR: "". */
	char *env2[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a/b?c=d", NULL };
	CHECK(hd_request_init(&req, env2) == HD_OK);
	CHECK(req.method == HD_GET && strcmp(req.path, "/a/b") == 0);
	CHECK(strcmp(req.query, "c=d") == 0 && strcmp(req.remote_addr, "") == 0);
	hd_request_free(&req);

	/* No REQUEST_URI: SCRIPT_NAME, else "/"; no query at all: "". */
	char *env3[] = { "REQUEST_METHOD=DELETE", "SCRIPT_NAME=/ops/health", NULL };
	CHECK(hd_request_init(&req, env3) == HD_OK);
	CHECK(req.method == HD_DELETE && strcmp(req.path, "/ops/health") == 0);
	CHECK(req.query && strcmp(req.query, "") == 0);
	hd_request_free(&req);
	char *env4[] = { "REMOTE_ADDR=::1", NULL };
	CHECK(hd_request_init(&req, env4) == HD_OK);
	CHECK(req.method == HD_METHOD_OTHER && strcmp(req.path, "/") == 0);
	CHECK(strcmp(req.query, "") == 0 && strcmp(req.remote_addr, "::1") == 0);
	hd_request_free(&req);
	char *env5[] = { NULL };
	CHECK(hd_request_init(&req, env5) == HD_OK && strcmp(req.path, "/") == 0);
	hd_request_free(&req);
	CHECK(hd_request_init(&req, NULL) == HD_OK && strcmp(req.path, "/") == 0 &&
	    hd_request_param(&req, "X") == NULL);
	hd_request_free(&req);

	/* Methods: exact, upper case names only. */
	static const struct {
		const char *m;
		enum hd_method want;
	} methods[] = {
		{ "GET", HD_GET }, { "HEAD", HD_HEAD }, { "POST", HD_POST }, { "PUT", HD_PUT },
		{ "PATCH", HD_PATCH }, { "DELETE", HD_DELETE }, { "OPTIONS", HD_OPTIONS },
		{ "get", HD_METHOD_OTHER }, { "BREW", HD_METHOD_OTHER },
		{ "POSTX", HD_METHOD_OTHER }, { "", HD_METHOD_OTHER }, { "OTHER", HD_METHOD_OTHER },
	};
	for (size_t i = 0; i < N(methods); i++) {
		char m[64];
		char *env[] = { m, NULL };
		snprintf(m, sizeof(m), "REQUEST_METHOD=%s", methods[i].m);
		CHECK(hd_request_init(&req, env) == HD_OK);
		CHECK_MSG(req.method == methods[i].want, "method row %zu '%s': %d", i,
		    methods[i].m, req.method);
		hd_request_free(&req);
	}
}

/* --- hd_request_query ---------------------------------------------------------- */

static void
test_query(void)
{
	static const struct {
		const char *query;
		const char *name;
		size_t cap;
		int rc;
		const char *want;
	} rows[] = {
		{ "format=xml", "format", 16, 1, "xml" },
		{ "a=1&format=json&b=2", "format", 16, 1, "json" },
		{ "format=xml&format=json", "format", 16, 1, "xml" },        /* first one */
		{ "formats=x", "format", 16, 0, NULL },                       /* not a prefix */
		{ "formats=x&format=xml", "format", 16, 1, "xml" },
		{ "xformat=x", "format", 16, 0, NULL },
		{ "form=x", "format", 16, 0, NULL },
		{ "", "format", 16, 0, NULL },
		{ "a=1&b=2", "format", 16, 0, NULL },
		{ "format", "format", 16, 1, "" },                            /* no '=' */
		{ "format=", "format", 16, 1, "" },
		{ "format=&x=1", "format", 16, 1, "" },
		{ "&&format=xml&&", "format", 16, 1, "xml" },
		{ "format=a=b", "format", 16, 1, "a=b" },
		/* percent-decoding and '+' */
		{ "q=a%20b", "q", 16, 1, "a b" },
		{ "q=a+b", "q", 16, 1, "a b" },
		{ "q=%2B", "q", 16, 1, "+" },
		{ "q=%26x", "q", 16, 1, "&x" },
		{ "q=%c3%A9", "q", 16, 1, "\xc3\xa9" },
		{ "q=%41%42%43", "q", 16, 1, "ABC" },
		{ "q=%", "q", 16, -1, NULL },
		{ "q=%4", "q", 16, -1, NULL },                                /* truncated */
		{ "q=%4&r=1", "q", 16, -1, NULL },
		{ "q=a%", "q", 16, -1, NULL },
		{ "q=%zz", "q", 16, -1, NULL },
		{ "q=%4g", "q", 16, -1, NULL },
		{ "q=%00", "q", 16, -1, NULL },                               /* NUL */
		{ "q=a%00b", "q", 16, -1, NULL },
		{ "q=%4&q=ok", "q", 16, -1, NULL },                           /* first is bad */
		/* capacity: the value and its NUL must fit */
		{ "q=12345", "q", 6, 1, "12345" },
		{ "q=123456", "q", 6, -1, NULL },
		{ "q=%41%41%41%41%41", "q", 6, 1, "AAAAA" },
		{ "q=%41%41%41%41%41%41", "q", 6, -1, NULL },
		{ "q=", "q", 1, 1, "" },
		{ "q=x", "q", 1, -1, NULL },
		{ "q=", "q", 0, -1, NULL },                                 /* not even the NUL fits */
		{ "q", "q", 0, -1, NULL },
	};

	for (size_t i = 0; i < N(rows); i++) {
		struct hd_request req;
		char out[64];
		int rc;

		memset(&req, 0, sizeof(req));
		req.query = rows[i].query;
		memset(out, 'X', sizeof(out));
		rc = hd_request_query(&req, rows[i].name, out, rows[i].cap);
		CHECK_MSG(rc == rows[i].rc, "query row %zu '%s' %s: rc %d", i, rows[i].query,
		    rows[i].name, rc);
		if (rc == 1 && rows[i].rc == 1)
			CHECK_MSG(strcmp(out, rows[i].want) == 0, "query row %zu: '%s'", i, out);
		CHECK_MSG(out[rows[i].cap] == 'X', "query row %zu: wrote past cap", i);
	}
}

/* --- names --------------------------------------------------------------------- */

static void
test_names(void)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 409, "Conflict" },
		{ 413, "Content Too Large" }, { 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
		{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
		{ 0, "Unknown" }, { 299, "Unknown" }, { -1, "Unknown" }, { 999, "Unknown" },
	};
	static const struct {
		enum hd_method m;
		const char *name;
	} methods[] = {
		{ HD_GET, "GET" }, { HD_HEAD, "HEAD" }, { HD_POST, "POST" }, { HD_PUT, "PUT" },
		{ HD_PATCH, "PATCH" }, { HD_DELETE, "DELETE" }, { HD_OPTIONS, "OPTIONS" },
		{ HD_METHOD_OTHER, "OTHER" }, { HD_METHOD__MAX, "OTHER" }, { (enum hd_method)99, "OTHER" },
	};

	for (size_t i = 0; i < N(reasons); i++)
		CHECK_MSG(strcmp(hd_status_reason(reasons[i].status), reasons[i].reason) == 0,
		    "status %d: '%s'", reasons[i].status, hd_status_reason(reasons[i].status));
	for (size_t i = 0; i < N(methods); i++)
		CHECK_MSG(strcmp(hd_method_name(methods[i].m), methods[i].name) == 0,
		    "method %d: '%s'", (int)methods[i].m, hd_method_name(methods[i].m));
	/* Every problem's status has a reason phrase. */
	for (int p = 0; p < HD_P__MAX; p++)
		CHECK_MSG(strcmp(hd_status_reason(hd_problem_info((enum hd_problem)p)->status),
		    "Unknown") != 0, "problem %d", p);
}

/* --- the pipeline, without a database ------------------------------------------ */

enum { T_TITLE, T_COUNT, T__MAX };
static const struct hd_field t_fields[T__MAX] = {
	[T_TITLE] = { "title", HD_FT_STRING, HD_F_REQUIRED, 1, 16, NULL },
	[T_COUNT] = { "count", HD_FT_INT, 0, 1, 10, NULL },
};
static const struct hd_fieldset t_fs = { t_fields, T__MAX, NULL };
static int handler_calls;

static enum hd_problem
t_push(struct hd_call *call)
{
	json_object *doc = json_object_new_object();

	handler_calls++;
	hd_json_set_str(doc, "title", call->values[T_TITLE].s, call->values[T_TITLE].len);
	if (call->values[T_COUNT].present)
		hd_json_set_int(doc, "count", call->values[T_COUNT].i);
	hd_answer(call, 201, doc);
	return HD_P_NONE;
}

static enum hd_problem
t_item(struct hd_call *call)
{
	json_object *doc = json_object_new_object();

	handler_calls++;
	hd_json_set_str(doc, "id", call->path_arg, strlen(call->path_arg));
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static const struct hd_dialect t_dialect = {
	.name = "test",
	.default_format = HD_FMT_JSON,
	.key_kind = HD_KEY_NONE,
	.error_doc = hd_native_error_doc,
	.error_root = "response",
};

static const struct hd_endpoint t_endpoints[] = {
	{ HD_POST, "/t/push", &t_dialect, &t_fs, { "push", false }, "response", 0, t_push },
	{ HD_GET, "/t/items/{id}", &t_dialect, NULL, { NULL, false }, "item", 0, t_item },
	{ HD_DELETE, "/t/items/{id}", &t_dialect, NULL, { NULL, false }, "item", 0, t_item },
};

static const struct hd_program t_prog = {
	.name = "test",
	.endpoints = t_endpoints,
	.nendpoints = N(t_endpoints),
	.dialect = &t_dialect,
};

struct result {
	int status;
	char ctype[64];
	char headers[512];
	json_object *doc;     /* the body, parsed by its content type */
	char body[2048];
};

/* Runs one request. env: NULL-terminated "NAME=value" list; body may be NULL. */
static void
run(struct hd_ctx *ctx, char **env, const char *body, bool too_large, struct result *res)
{
	struct hd_request req;
	struct hd_reply reply;
	const char *why = NULL;

	memset(res, 0, sizeof(*res));
	if (hd_request_init(&req, env) != HD_OK) {
		res->status = -1;
		return;
	}
	if (body) {
		req.body = strdup(body);
		req.body_len = strlen(body);
	}
	req.body_too_large = too_large;
	hd_reply_init(&reply);
	hd_pipeline_run(ctx, &t_prog, &req, &reply);
	res->status = reply.status;
	snprintf(res->ctype, sizeof(res->ctype), "%s", reply.content_type ? reply.content_type : "");
	snprintf(res->headers, sizeof(res->headers), "%s", reply.headers.data ? reply.headers.data : "");
	snprintf(res->body, sizeof(res->body), "%s", reply.body.data ? reply.body.data : "");
	if (reply.body.len && strncmp(res->ctype, "application/json", 16) == 0)
		hd_json_parse(reply.body.data, reply.body.len, &res->doc, &why);
	else if (reply.body.len && strncmp(res->ctype, "application/xml", 15) == 0) {
		struct hd_xml_rules rules = { NULL, true };
		hd_xml_parse(reply.body.data, reply.body.len, &rules, &res->doc, &why);
	}
	hd_reply_free(&reply);
	hd_request_free(&req);
}

/* A member of the result document by dotted path, as text ("" when absent). */
static const char *
member(const struct result *res, const char *path)
{
	json_object *cur = res->doc, *next;
	char step[64];
	const char *p = path;

	while (cur) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		snprintf(step, sizeof(step), "%.*s", (int)n, p);
		if (!json_object_object_get_ex(cur, step, &next))
			return "";
		if (!dot)
			return json_object_get_string(next);
		cur = next;
		p = dot + 1;
	}
	return "";
}

static void
done(struct result *res)
{
	json_object_put(res->doc);
	res->doc = NULL;
}

static void
test_pipeline(struct hd_ctx *ctx)
{
	struct result r;
	const char *good = "{\"title\":\"hi\",\"count\":3}";

	/* A request that passes every step reaches the handler (no database needed
	 * with rate limiting off and no key). */
	char *e_ok[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push",
		"CONTENT_TYPE=application/json; charset=utf-8", "REMOTE_ADDR=192.0.2.1", NULL };
	handler_calls = 0;
	run(ctx, e_ok, good, false, &r);
	CHECK_MSG(r.status == 201, "ok: %d %s", r.status, r.body);
	CHECK(strncmp(r.ctype, "application/json", 16) == 0);
	CHECK(strcmp(member(&r, "title"), "hi") == 0 && strcmp(member(&r, "count"), "3") == 0);
	CHECK(handler_calls == 1);
	done(&r);

	/* Unknown path: 404 in the native error shape. */
	char *e_404[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/nope", NULL };
	run(ctx, e_404, NULL, false, &r);
	CHECK(r.status == 404);
	CHECK(strncmp(r.ctype, "application/json", 16) == 0);
	CHECK_MSG(strcmp(member(&r, "error.code"), "not_found") == 0, "%s", r.body);
	CHECK(member(&r, "error.message")[0] != '\0');
	done(&r);
	char *e_404b[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push/", NULL };
	run(ctx, e_404b, good, false, &r);
	CHECK(r.status == 404);
	done(&r);
	char *e_404c[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/t/items/a/b", NULL };
	run(ctx, e_404c, NULL, false, &r);
	CHECK(r.status == 404);
	done(&r);

	/* Known path, wrong method: 405 with Allow listing the path's methods. */
	char *e_405[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/t/push", NULL };
	run(ctx, e_405, NULL, false, &r);
	CHECK(r.status == 405);
	CHECK_MSG(strstr(r.headers, "Allow: POST\r\n") != NULL, "headers '%s'", r.headers);
	CHECK(strcmp(member(&r, "error.code"), "method_not_allowed") == 0);
	done(&r);
	char *e_405b[] = { "REQUEST_METHOD=PUT", "REQUEST_URI=/t/items/7", NULL };
	run(ctx, e_405b, NULL, false, &r);
	CHECK(r.status == 405);
	CHECK_MSG(strstr(r.headers, "Allow: GET, DELETE\r\n") != NULL, "headers '%s'", r.headers);
	done(&r);

	/* {id} routes: the segment is the path argument; HEAD runs the GET endpoint. */
	char *e_item[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/t/items/abc-1?x=1", NULL };
	run(ctx, e_item, NULL, false, &r);
	CHECK(r.status == 200 && strcmp(member(&r, "id"), "abc-1") == 0);
	done(&r);

	/* Over max_body_bytes: 413, without the handler. */
	handler_calls = 0;
	run(ctx, e_ok, NULL, true, &r);
	CHECK(r.status == 413);
	CHECK(strcmp(member(&r, "error.code"), "body_too_large") == 0);
	CHECK(handler_calls == 0);
	done(&r);

	/* Content types other than JSON and XML: 415. */
	static const char *const bad_types[] = { "text/plain", "application/x-www-form-urlencoded",
		"application/jsonx", "multipart/form-data; boundary=x", "json" };
	for (size_t i = 0; i < N(bad_types); i++) {
		char ct[96];
		char *e[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push", ct, NULL };
		snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", bad_types[i]);
		run(ctx, e, good, false, &r);
		CHECK_MSG(r.status == 415, "type %s: %d", bad_types[i], r.status);
		CHECK(strcmp(member(&r, "error.code"), "unsupported_media_type") == 0);
		done(&r);
	}

	/* ?format=xml: the error document in XML under root "response". */
	char *e_xml[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/nope?format=xml",
		"QUERY_STRING=format=xml", NULL };
	run(ctx, e_xml, NULL, false, &r);
	CHECK(r.status == 404);
	CHECK_MSG(strncmp(r.ctype, "application/xml", 15) == 0, "type %s", r.ctype);
	CHECK_MSG(strstr(r.body, "<response xmlns:i=\"" HD_XSI_NS "\">") != NULL, "%s", r.body);
	CHECK_MSG(strcmp(member(&r, "error.code"), "not_found") == 0, "%s", r.body);
	done(&r);

	/* ?format=bogus (and an empty one): 400 naming the parameter. */
	static const char *const bad_formats[] = { "format=bogus", "format=", "format=%",
		"format=jsonx", "format=json&format=bogus" };
	for (size_t i = 0; i < N(bad_formats); i++) {
		char q[64];
		char *e[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push", q, NULL };
		snprintf(q, sizeof(q), "QUERY_STRING=%s", bad_formats[i]);
		run(ctx, e, good, false, &r);
		if (i == N(bad_formats) - 1) {       /* the first occurrence decides */
			CHECK(r.status == 201);
		} else {
			CHECK_MSG(r.status == 400, "format row %zu: %d", i, r.status);
			CHECK(strcmp(member(&r, "error.code"), "bad_parameter") == 0);
			CHECK(strcmp(member(&r, "error.field"), "format") == 0);
		}
		done(&r);
	}

	/* Negotiation order: ?format=, then Accept, then the request's format. */
	static const struct {
		char *ctype, *accept, *query;
		bool xml;
	} neg[] = {
		{ "CONTENT_TYPE=application/json", NULL, NULL, false },
		{ "CONTENT_TYPE=application/json", "HTTP_ACCEPT=application/xml", NULL, true },
		{ "CONTENT_TYPE=application/json", "HTTP_ACCEPT=text/xml", NULL, true },
		{ "CONTENT_TYPE=application/json", "HTTP_ACCEPT=*/*", NULL, false },
		{ "CONTENT_TYPE=application/json", "HTTP_ACCEPT=application/xml",
		  "QUERY_STRING=format=json", false },
		{ "CONTENT_TYPE=application/json", NULL, "QUERY_STRING=format=XML", true },
		{ "CONTENT_TYPE=application/json",
		  "HTTP_ACCEPT=application/xml;q=0.5, application/json;q=0.9", NULL, false },
		{ "CONTENT_TYPE=application/json",
		  "HTTP_ACCEPT=application/json;q=0.1, application/xml", NULL, true },
	};
	for (size_t i = 0; i < N(neg); i++) {
		char *e[6] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push", neg[i].ctype };
		size_t k = 3;
		if (neg[i].accept)
			e[k++] = neg[i].accept;
		if (neg[i].query)
			e[k++] = neg[i].query;
		e[k] = NULL;
		run(ctx, e, good, false, &r);
		CHECK_MSG(r.status == 201, "neg row %zu: %d", i, r.status);
		CHECK_MSG(strncmp(r.ctype, neg[i].xml ? "application/xml" : "application/json",
		    15) == 0, "neg row %zu: %s", i, r.ctype);
		CHECK_MSG(strcmp(member(&r, "title"), "hi") == 0, "neg row %zu: %s", i, r.body);
		done(&r);
	}

	/* An XML body answers in XML; the answer root is the endpoint's. */
	char *e_xmlbody[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push",
		"CONTENT_TYPE=application/xml", NULL };
	run(ctx, e_xmlbody, "<push><title>x&amp;y</title><count> 4 </count></push>", false, &r);
	CHECK_MSG(r.status == 201, "%d %s", r.status, r.body);
	CHECK(strncmp(r.ctype, "application/xml", 15) == 0);
	CHECK(strstr(r.body, "<response ") != NULL);
	CHECK(strcmp(member(&r, "title"), "x&y") == 0 && strcmp(member(&r, "count"), "4") == 0);
	done(&r);
	run(ctx, e_xmlbody, "<wrong><title>x</title></wrong>", false, &r);
	CHECK(r.status == 400 && strcmp(member(&r, "error.code"), "malformed_body") == 0);
	done(&r);
	run(ctx, e_xmlbody, "<!DOCTYPE push [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<push><title>&x;</title></push>", false, &r);
	CHECK(r.status == 400 && strcmp(member(&r, "error.code"), "malformed_body") == 0);
	CHECK(strstr(r.body, "root:") == NULL);
	done(&r);

	/* Body refusals: 400 with the code and, for fields, the field. */
	static const struct {
		const char *body;
		const char *code, *field;
	} bodies[] = {
		{ NULL, "malformed_body", NULL },
		{ "", "malformed_body", NULL },
		{ "{\"title\":", "malformed_body", NULL },
		{ "[]", "malformed_body", NULL },
		{ "{}", "missing_field", "title" },
		{ "{\"title\":\"hi\",\"count\":11}", "out_of_range", "count" },
		{ "{\"title\":\"hi\",\"count\":\"3\"}", "invalid_type", "count" },
		{ "{\"title\":\"hi\",\"extra\":1}", "unknown_field", "extra" },
		{ "{\"title\":\"12345678901234567\"}", "too_long", "title" },
	};
	for (size_t i = 0; i < N(bodies); i++) {
		handler_calls = 0;
		run(ctx, e_ok, bodies[i].body, false, &r);
		CHECK_MSG(r.status == 400, "body row %zu: %d", i, r.status);
		CHECK_MSG(strcmp(member(&r, "error.code"), bodies[i].code) == 0, "body row %zu: %s",
		    i, r.body);
		if (bodies[i].field)
			CHECK_MSG(strcmp(member(&r, "error.field"), bodies[i].field) == 0,
			    "body row %zu: %s", i, r.body);
		CHECK(handler_calls == 0);
		done(&r);
	}

	/* The same refusal in XML carries the same code and field. */
	char *e_xmlerr[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push",
		"CONTENT_TYPE=application/json", "QUERY_STRING=format=xml", NULL };
	run(ctx, e_xmlerr, "{\"title\":\"hi\",\"count\":11}", false, &r);
	CHECK(r.status == 400 && strncmp(r.ctype, "application/xml", 15) == 0);
	CHECK(strcmp(member(&r, "error.code"), "out_of_range") == 0);
	CHECK(strcmp(member(&r, "error.field"), "count") == 0);
	done(&r);
}

/* Rate limiting needs the database; when it cannot be reached the answer is 503 with
 * Retry-After: 1, quickly (a missing socket fails at once). */
static void
test_pipeline_unavailable(struct hd_ctx *ctx)
{
	char *e[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push",
		"CONTENT_TYPE=application/json", "REMOTE_ADDR=192.0.2.9", NULL };
	char *ex[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/t/push",
		"CONTENT_TYPE=application/json", "REMOTE_ADDR=2001:db8::1",
		"QUERY_STRING=format=xml", NULL };
	struct timespec t0, t1;
	struct result r;

	ctx->cfg.rate_limit_per_address = 100;
	handler_calls = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run(ctx, e, "{\"title\":\"hi\"}", false, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK_MSG(r.status == 503, "status %d %s", r.status, r.body);
	CHECK_MSG(strstr(r.headers, "Retry-After: 1\r\n") != NULL, "headers '%s'", r.headers);
	CHECK(strcmp(member(&r, "error.code"), "unavailable") == 0);
	CHECK_MSG(secs < 0.5, "took %.3f s", secs);
	CHECK(handler_calls == 0);
	done(&r);

	run(ctx, ex, "{\"title\":\"hi\"}", false, &r);
	CHECK(r.status == 503 && strstr(r.headers, "Retry-After: 1\r\n") != NULL);
	CHECK(strncmp(r.ctype, "application/xml", 15) == 0);
	CHECK(strcmp(member(&r, "error.code"), "unavailable") == 0);
	done(&r);

	/* Refusals that come before the rate limit still answer without the database. */
	char *e404[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/nope", NULL };
	run(ctx, e404, NULL, false, &r);
	CHECK(r.status == 404 && strstr(r.headers, "Retry-After") == NULL);
	done(&r);
	run(ctx, e, NULL, true, &r);
	CHECK(r.status == 413);
	done(&r);
	ctx->cfg.rate_limit_per_address = 0;
}

int
main(void)
{
	struct hd_ctx ctx;

	hd_doc_init();
	hd_log_setup("test_request", HD_LOG_ERROR);
	test_init();
	test_query();
	test_names();

	memset(&ctx, 0, sizeof(ctx));
	hd_config_defaults(&ctx.cfg);
	ctx.cfg.db_name = strdup("herald_test");
	ctx.cfg.db_socket = strdup("/nonexistent/herald-test/mysqld.sock");
	ctx.cfg.rate_limit_per_address = 0;
	CHECK(hd_db_new(&ctx.cfg, HD_DB_REQUESTS, &ctx.db) == HD_OK);
	if (ctx.db) {
		test_pipeline(&ctx);
		test_pipeline_unavailable(&ctx);
	}
	hd_db_free(ctx.db);
	hd_config_free(&ctx.cfg);
	UNIT_DONE();
}
