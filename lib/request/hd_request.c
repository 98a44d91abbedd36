#include <stdlib.h>
#include <string.h>

#include "hd_request.h"
#include "hd_text.h"

static const char *const hd_method_names[HD_METHOD__MAX] = {
	[HD_GET] = "GET", [HD_HEAD] = "HEAD", [HD_POST] = "POST", [HD_PUT] = "PUT",
	[HD_PATCH] = "PATCH", [HD_DELETE] = "DELETE", [HD_OPTIONS] = "OPTIONS",
	[HD_METHOD_OTHER] = "OTHER",
};

const char *
hd_method_name(enum hd_method m)
{
	return (unsigned)m < HD_METHOD__MAX ? hd_method_names[m] : "OTHER";
}

const char *
hd_request_param(const struct hd_request *req, const char *name)
{
	size_t n = strlen(name);

	for (char **e = req->envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

enum hd_err
hd_request_init(struct hd_request *req, char **envp)
{
	const char *m, *uri, *q;
	size_t plen;

	memset(req, 0, sizeof(*req));
	req->envp = envp;
	req->method = HD_METHOD_OTHER;
	if ((m = hd_request_param(req, "REQUEST_METHOD")) != NULL)
		for (int i = 0; i < HD_METHOD_OTHER; i++)
			if (strcmp(m, hd_method_names[i]) == 0)
				req->method = (enum hd_method)i;
	if ((uri = hd_request_param(req, "REQUEST_URI")) == NULL &&
	    (uri = hd_request_param(req, "SCRIPT_NAME")) == NULL)
		uri = "/";
	plen = (q = strchr(uri, '?')) ? (size_t)(q - uri) : strlen(uri);
	if ((req->path = strndup(uri, plen)) == NULL)
		return HD_ERR_NOMEM;
	if ((req->query = hd_request_param(req, "QUERY_STRING")) == NULL)
		req->query = q ? q + 1 : "";
	if ((req->remote_addr = hd_request_param(req, "REMOTE_ADDR")) == NULL)
		req->remote_addr = "";
	return HD_OK;
}

void
hd_request_free(struct hd_request *req)
{
	free(req->path);
	free(req->body);
	req->path = req->body = NULL;
}

int
hd_request_query(const struct hd_request *req, const char *name, char *out, size_t cap)
{
	const char *p = req->query;
	size_t n = strlen(name);

	if (cap == 0)
		return -1;
	while (*p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len >= n && strncmp(p, name, n) == 0 && (len == n || p[n] == '=')) {
			size_t o = 0;
			for (size_t i = n + (len > n); i < len; i++) {
				char c = p[i];
				if (c == '%') {
					int hi, lo;
					if (i + 2 >= len || (hi = hd_hex_value(p[i + 1])) < 0 ||
					    (lo = hd_hex_value(p[i + 2])) < 0)
						return -1;
					c = (char)(hi * 16 + lo);
					i += 2;
				} else if (c == '+')
					c = ' ';
				if (c == '\0' || o + 1 >= cap)
					return -1;
				out[o++] = c;
			}
			out[o] = '\0';
			return 1;
		}
		p += len + (end != NULL);
	}
	return 0;
}

void
hd_reply_init(struct hd_reply *r)
{
	r->status = 500;
	r->content_type = NULL;
	r->route = NULL;
	hd_buf_init(&r->headers, 8 * 1024);
	hd_buf_init(&r->body, 16 * 1024 * 1024);
}

void
hd_reply_free(struct hd_reply *r)
{
	hd_buf_free(&r->headers);
	hd_buf_free(&r->body);
}

const char *
hd_status_reason(int status)
{
	static const struct { int code; const char *reason; } reasons[] = {
		{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 409, "Conflict" },
		{ 413, "Content Too Large" }, { 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
		{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}
