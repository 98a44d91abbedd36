/*
 * One HTTP request as the FastCGI server handed it over, and the reply herald builds.
 * The request's CGI parameters are borrowed from libfcgi (or from a test); the path
 * and body are owned by the request and freed by hd_request_free(). Keeping this
 * interface small lets tests drive the pipeline without a web server.
 */
#ifndef HD_REQUEST_H
#define HD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "hd_buf.h"

enum hd_method { HD_GET, HD_HEAD, HD_POST, HD_PUT, HD_PATCH, HD_DELETE, HD_OPTIONS,
	HD_METHOD_OTHER, HD_METHOD__MAX };

struct hd_request {
	enum hd_method method;
	char *path;              /* owned: REQUEST_URI up to '?' */
	const char *query;       /* borrowed: QUERY_STRING, never NULL */
	const char *remote_addr; /* borrowed: REMOTE_ADDR, never NULL */
	char *body;              /* owned; NULL when empty */
	size_t body_len;
	bool body_too_large;     /* over max_body_bytes: the body was not read */
	bool body_bad_length;    /* Content-Length malformed, or the body shorter */
	char **envp;             /* borrowed CGI parameters: "NAME=value" */
};

/* The answer: status, extra header lines ("Name: value\r\n"), body and its type;
 * route: the path pattern of the endpoint that answered (static), NULL if none. */
struct hd_reply {
	int status;
	const char *content_type;
	const char *route;       /* the matched endpoint's path template, or NULL */
	struct hd_buf headers;
	struct hd_buf body;
};

/* Fills method, path, query and remote address from envp. HD_ERR_NOMEM on failure. */
enum hd_err hd_request_init(struct hd_request *req, char **envp);
void hd_request_free(struct hd_request *req);
/* A CGI parameter (e.g. "HTTP_X_SERVER_KEY"), or NULL. */
const char *hd_request_param(const struct hd_request *req, const char *name);
/* Copies the percent-decoded value of query parameter name into out (capacity cap).
 * Returns 1 when present, 0 when absent, -1 when malformed or too long. */
int hd_request_query(const struct hd_request *req, const char *name, char *out,
    size_t cap);
/* The method's name, for Allow headers. */
const char *hd_method_name(enum hd_method m);

void hd_reply_init(struct hd_reply *r);
void hd_reply_free(struct hd_reply *r);
/* The reason phrase of an HTTP status ("Created"). */
const char *hd_status_reason(int status);

#endif
