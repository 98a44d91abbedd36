/*
 * The FastCGI side: libfcgi's fcgiapp.h interface (FCGX_Accept_r), never fcgi_stdio.h,
 * which would copy each request's parameters into the process environment where
 * libcurl, OpenSSL and the MariaDB client read variables.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcgiapp.h>

#include "hd_endpoint.h"
#include "hd_log.h"

/* Seconds between deletions of stale rate-limit rows, per process. */
#define HD_HOUSEKEEPING_EVERY 5
#include "hd_text.h"

/* Reads the body, never more than max bytes: a longer one is marked, not read; one
 * that does not match its Content-Length is marked for a 400. */
static enum hd_err
hd_read_body(FCGX_Request *fr, struct hd_request *req, size_t max)
{
	const char *cl = hd_request_param(req, "CONTENT_LENGTH");
	uint64_t declared = 0;
	bool has_length = cl && *cl;
	struct hd_buf b;
	char chunk[8192];
	int n;

	if (has_length) {
		if (hd_parse_u64(cl, strlen(cl), &declared) != 0) {
			req->body_bad_length = true;
			return HD_OK;
		}
		if (declared > max) {
			req->body_too_large = true;
			return HD_OK;
		}
		if (declared == 0)
			return HD_OK;
	}
	hd_buf_init(&b, max);
	while ((n = FCGX_GetStr(chunk, sizeof(chunk), fr->in)) > 0) {
		if (b.len + (size_t)n > max) {
			/* Past the cap: a body sent without Content-Length. */
			req->body_too_large = true;
			hd_buf_free(&b);
			return HD_OK;
		}
		if (hd_buf_append(&b, chunk, (size_t)n) != HD_OK) {
			hd_buf_free(&b);
			return HD_ERR_NOMEM;
		}
	}
	if (FCGX_GetError(fr->in) != 0 || (has_length && b.len != declared))
		req->body_bad_length = true;
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
 * instead of the process: it is blocked while a request is served (libfcgi's reads
 * and writes do not retry after a signal) and delivered only while waiting in accept,
 * so a request in flight finishes, and main() returns, which also lets
 * LeakSanitizer check the process at exit. */
static volatile sig_atomic_t hd_stopping;

static void
hd_on_term(int sig)
{
	(void)sig;
	hd_stopping = 1;
	FCGX_ShutdownPending();
}

int
hd_serve(const struct hd_program *prog)
{
	struct sigaction term;
	sigset_t termset;
	time_t last_housekeeping = 0;
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
	sigemptyset(&termset);
	sigaddset(&termset, SIGTERM);
	for (;;) {
		struct hd_request req;
		struct hd_reply reply;
		int accepted;

		/* A SIGTERM that came during the last request is delivered on unblocking. */
		sigprocmask(SIG_UNBLOCK, &termset, NULL);
		if (hd_stopping)
			break;
		accepted = FCGX_Accept_r(&fr);
		sigprocmask(SIG_BLOCK, &termset, NULL);
		if (accepted < 0)
			break;

		hd_reply_init(&reply);
		if (hd_request_init(&req, fr.envp) != HD_OK) {
			reply.status = 500;
		} else if (hd_read_body(&fr, &req, ctx.cfg.max_body_bytes) != HD_OK) {
			reply.status = 500;
		} else {
			hd_pipeline_run(&ctx, prog, &req, &reply);
		}
		hd_write_reply(&fr, &req, &reply);
		hd_reply_free(&reply);
		hd_request_free(&req);
		FCGX_Finish_r(&fr);
		if (time(NULL) - last_housekeeping >= HD_HOUSEKEEPING_EVERY) {
			last_housekeeping = time(NULL);
			hd_db_request_start(ctx.db);
			if (hd_admit_housekeeping(ctx.db) != HD_OK)
				hd_log_warn("rate-limit housekeeping failed");
		}
	}
	rc = 0;
out:
	hd_db_free(ctx.db);
	hd_config_free(&ctx.cfg);
	return rc;
}
