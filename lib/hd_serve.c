/*
 * The FastCGI side: libfcgi's fcgiapp.h interface (FCGX_Accept_r), never fcgi_stdio.h,
 * which would copy each request's parameters into the process environment where
 * libcurl, OpenSSL and the MariaDB client read variables.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcgiapp.h>

#include "hd_endpoint.h"
#include "hd_log.h"
#include "hd_text.h"

/* Reads the body, never more than max bytes: a longer one is marked, not read. */
static enum hd_err
hd_read_body(FCGX_Request *fr, struct hd_request *req, size_t max)
{
	const char *cl = hd_request_param(req, "CONTENT_LENGTH");
	uint64_t declared = 0;
	struct hd_buf b;
	char chunk[8192];
	int n;
	enum hd_err err = HD_OK;

	if (cl && *cl) {
		if (hd_parse_u64(cl, strlen(cl), &declared) != 0)
			return HD_ERR_IO;
		if (declared > max) {
			req->body_too_large = true;
			return HD_OK;
		}
		if (declared == 0)
			return HD_OK;
	}
	hd_buf_init(&b, max);
	while ((n = FCGX_GetStr(chunk, sizeof(chunk), fr->in)) > 0) {
		if ((err = hd_buf_append(&b, chunk, (size_t)n)) != HD_OK) {
			/* Past the cap (a body sent without Content-Length). */
			req->body_too_large = true;
			hd_buf_free(&b);
			return HD_OK;
		}
	}
	req->body = hd_buf_steal(&b, &req->body_len);
	return HD_OK;
}

static void
hd_write_reply(FCGX_Request *fr, const struct hd_request *req, const struct hd_reply *r)
{
	FCGX_FPrintF(fr->out, "Status: %d %s\r\n", r->status, hd_status_reason(r->status));
	if (r->status != 204) {
		/* libfcgi's printf knows no %zu. */
		FCGX_FPrintF(fr->out, "Content-Type: %s\r\nContent-Length: %lu\r\n",
		    r->content_type ? r->content_type : "text/plain; charset=utf-8",
		    (unsigned long)r->body.len);
	}
	FCGX_PutS("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n", fr->out);
	if (r->headers.len)
		FCGX_PutStr(r->headers.data, (int)r->headers.len, fr->out);
	FCGX_PutS("\r\n", fr->out);
	if (r->body.len && req->method != HD_HEAD && r->status != 204)
		FCGX_PutStr(r->body.data, (int)r->body.len, fr->out);
}

/* SIGTERM (lighttpd and spawn-fcgi stop their programs with it) ends the accept loop
 * instead of the process, so a request in flight finishes and main() returns, which
 * also lets LeakSanitizer check the process at exit. */
static void
hd_on_term(int sig)
{
	(void)sig;
	FCGX_ShutdownPending();
}

int
hd_serve(const struct hd_program *prog)
{
	struct sigaction term;
	struct hd_ctx ctx;
	FCGX_Request fr;
	char err[256];
	int rc = 1;

	memset(&ctx, 0, sizeof(ctx));
	hd_log_setup(prog->name, HD_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	memset(&term, 0, sizeof(term));
	term.sa_handler = hd_on_term;    /* no SA_RESTART: accept() must return */
	sigemptyset(&term.sa_mask);
	sigaction(SIGTERM, &term, NULL);
	if (hd_config_load(&ctx.cfg, hd_config_path(), err, sizeof(err)) != HD_OK) {
		hd_log_error("configuration %s: %s", hd_config_path(), err);
		return 1;
	}
	hd_log_setup(prog->name, ctx.cfg.log_level);
	hd_doc_init();
	if (hd_db_new(&ctx.cfg, &ctx.db) != HD_OK || FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, 0, 0) != 0) {
		hd_log_error("start-up failed");
		goto out;
	}
	hd_log_info("ready");
	while (FCGX_Accept_r(&fr) >= 0) {
		struct hd_request req;
		struct hd_reply reply;

		hd_reply_init(&reply);
		if (hd_request_init(&req, fr.envp) != HD_OK) {
			reply.status = 500;
		} else if (hd_read_body(&fr, &req, ctx.cfg.max_body_bytes) != HD_OK) {
			reply.status = 400;
		} else {
			hd_pipeline_run(&ctx, prog, &req, &reply);
		}
		hd_write_reply(&fr, &req, &reply);
		hd_reply_free(&reply);
		hd_request_free(&req);
		FCGX_Finish_r(&fr);
	}
	rc = 0;
out:
	hd_db_free(ctx.db);
	hd_config_free(&ctx.cfg);
	return rc;
}
