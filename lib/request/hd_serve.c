/*
 * The FastCGI side: libfcgi's fcgiapp.h interface (FCGX_Accept_r), never fcgi_stdio.h,
 * which would copy each request's parameters into the process environment where
 * libcurl, OpenSSL and the MariaDB client read variables.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcgiapp.h>

#include "hd_deliver.h"
#include "hd_endpoint.h"
#include "hd_log.h"
#include "hd_metrics.h"
#include "hd_metrics_http.h"
#include "hd_random.h"
#include "hd_text.h"
#include "hd_time.h"

/* Seconds between deletions of stale rate-limit rows, per request thread of a program
 * that does not batch its sends. */
#define HD_HOUSEKEEPING_EVERY 5

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

/* Ends the request and closes its connection. libfcgi's close first shuts the
 * connection down and waits for the web server to close its end, reading what is
 * left, so that unread input cannot make the close a reset that discards the answer.
 * When the input was read to its end nothing is unread, and that wait only costs
 * the thread a sleep and a wake-up per request: a detached request is closed at once.
 * Only a connection that closes with this request is detached: libfcgi keeps the mark
 * on a connection the web server keeps open (FCGI_KEEP_CONN) until it closes it, and
 * a later request on it may leave input unread. */
static void
hd_finish(FCGX_Request *fr)
{
	if (!fr->keepConnection && FCGX_HasSeenEOF(fr->in) == EOF &&
	    FCGX_GetError(fr->in) == 0 && FCGX_Detach(fr) != 0)
		hd_log_debug("request not detached: closing after the web server");
	FCGX_Finish_r(fr);
}

static void
hd_write_reply(FCGX_Request *fr, const struct hd_request *req, const struct hd_reply *r,
    const char *request_id)
{
	FCGX_FPrintF(fr->out, "Status: %d %s\r\n", r->status, hd_status_reason(r->status));
	if (r->status != 204) {
		/* libfcgi's printf knows no %zu. */
		FCGX_FPrintF(fr->out, "Content-Type: %s\r\nContent-Length: %lu\r\n",
		    r->content_type ? r->content_type : "text/plain; charset=utf-8",
		    (unsigned long)r->body.len);
	}
	FCGX_PutS("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n", fr->out);
	if (request_id[0])
		FCGX_FPrintF(fr->out, "X-Request-Id: %s\r\n", request_id);
	if (r->headers.len)
		FCGX_PutStr(r->headers.data, (int)r->headers.len, fr->out);
	FCGX_PutS("\r\n", fr->out);
	if (r->body.len && req->method != HD_HEAD && r->status != 204)
		FCGX_PutStr(r->body.data, (int)r->body.len, fr->out);
}

/* SIGTERM (lighttpd and spawn-fcgi stop their programs with it) ends the request
 * threads instead of the process, which then returns from hd_serve(): LeakSanitizer
 * checks it at exit. A request thread has SIGTERM unblocked only while it waits for a
 * request in FCGX_Accept_r (libfcgi's reads and writes do not retry after a signal), so
 * a request in flight finishes. Every thread waits there on its own, without a lock:
 * in accept() for a new connection, or reading the next request on a connection the
 * web server keeps open (FCGI_KEEP_CONN), which must not wait for another thread's
 * accept. The kernel gives a SIGTERM to one of them; its handler wakes the main
 * thread, which interrupts the others in turn (hd_stop_threads). */
static volatile sig_atomic_t hd_stopping;
/* The write end of the pipe that wakes the main thread: written by the handler and by
 * each request thread that ends. */
static int hd_wake_fd = -1;

/* Milliseconds between the main thread's signals to request threads that have not
 * ended: one that was about to block when the last one came misses it. */
#define HD_STOP_RESEND_MS 50

static void
hd_wake_main(void)
{
	ssize_t n = write(hd_wake_fd, "", 1);

	/* A full pipe already holds a wake-up. */
	(void)n;
}

static void
hd_on_term(int sig)
{
	int saved = errno;

	(void)sig;
	hd_stopping = 1;
	FCGX_ShutdownPending();
	hd_wake_main();
	errno = saved;
}

/* What the request threads of a process share. */
struct hd_server {
	const struct hd_program *prog;
	const struct hd_config *cfg;
	struct hd_batch *batch;          /* NULL: no batching */
	int wake[2];                     /* the pipe of hd_wake_fd */
	atomic_bool failed;              /* a request thread could not accept */
	sigset_t termset;
};

/* One request thread: its own FastCGI request and database connection. */
struct hd_thread {
	struct hd_server *srv;
	pthread_t tid;
	bool started;
	struct hd_ctx ctx;
	/* The inline deliverer's connection when it has an account of its own
	 * (worker_db_user); otherwise it shares ctx.db. */
	struct hd_db *delivery_db;
	FCGX_Request fr;
	atomic_bool ended;
};

/* The thread's inline deliverer, on a connection of the delivering account's when it
 * has one (worker_db_user), else on the thread's own. */
static enum hd_err
hd_thread_deliverer(struct hd_thread *th)
{
	const struct hd_config *cfg = &th->ctx.cfg;
	enum hd_err err;

	if (cfg->worker_db_user == NULL)
		return hd_deliverer_new(cfg, th->ctx.db, &th->ctx.deliverer);
	if ((err = hd_db_new(cfg, HD_DB_DELIVERY, &th->delivery_db)) != HD_OK)
		return err;
	return hd_deliverer_new(cfg, th->delivery_db, &th->ctx.deliverer);
}

static void *
hd_thread_main(void *arg)
{
	struct hd_thread *th = arg;
	struct hd_server *srv = th->srv;
	struct hd_ctx *ctx = &th->ctx;
	time_t last_housekeeping = 0;

	/* libxml2 keeps its error handlers per thread. */
	hd_doc_init();
	for (;;) {
		struct hd_request req;
		struct hd_reply reply;
		char request_id[HD_REQUEST_ID_LEN + 1];
		int64_t started, took;
		int accepted;

		/* A SIGTERM that came during the last request is delivered on unblocking. */
		pthread_sigmask(SIG_UNBLOCK, &srv->termset, NULL);
		accepted = hd_stopping ? -1 : FCGX_Accept_r(&th->fr);
		pthread_sigmask(SIG_BLOCK, &srv->termset, NULL);
		if (accepted < 0) {
			if (!hd_stopping) {
				hd_log_error("accepting a request failed: %s", strerror(-accepted));
				atomic_store(&srv->failed, true);
			}
			break;
		}

		started = hd_monotonic_usec();
		/* Without randomness the request goes on unnamed rather than refused. */
		if (hd_random_hex_pooled(request_id, HD_REQUEST_ID_LEN / 2) != HD_OK)
			request_id[0] = '\0';
		hd_log_set_request(request_id);
		hd_reply_init(&reply);
		if (hd_request_init(&req, th->fr.envp) != HD_OK) {
			reply.status = 500;
		} else if (hd_read_body(&th->fr, &req,
		    hd_body_limit(srv->prog->dialect, &ctx->cfg)) != HD_OK) {
			reply.status = 500;
		} else {
			hd_pipeline_run(ctx, srv->prog, &req, &reply);
		}
		hd_write_reply(&th->fr, &req, &reply, request_id);
		took = hd_monotonic_usec() - started;
		/* Counted before the answer is finished, so that a scrape made after an
		 * answer always includes that request. */
		hd_metrics_http_request(srv->prog->name, reply.route, req.method, reply.status,
		    (uint64_t)took);
		hd_finish(&th->fr);
		hd_log_request(hd_method_name(req.method), reply.route, reply.status, took);
		hd_log_set_request(NULL);
		hd_reply_free(&reply);
		hd_request_free(&req);
		/* The committer, when there is one, keeps the rate-limit table tidy. */
		if (srv->batch == NULL && time(NULL) - last_housekeeping >= HD_HOUSEKEEPING_EVERY) {
			last_housekeeping = time(NULL);
			hd_db_request_start(ctx->db);
			if (hd_admit_housekeeping(ctx->db) != HD_OK)
				hd_log_warn("rate-limit housekeeping failed");
		}
	}
	/* A connection the web server kept open is closed with the thread, at once: no
	 * answer is in flight on it that the close could lose. */
	if (th->fr.ipcFd >= 0 && FCGX_Detach(&th->fr) != 0)
		hd_log_debug("kept connection not detached: closing after the web server");
	FCGX_Free(&th->fr, 1);
	atomic_store(&th->ended, true);
	hd_wake_main();
	return NULL;
}

/* The main thread's wake-up pipe: neither end blocks, so that the signal handler never
 * waits on a full pipe. */
static enum hd_err
hd_wake_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return HD_ERR_IO;
	for (int i = 0; i < 2; i++) {
		if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0 ||
		    fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0) {
			close(fds[0]);
			close(fds[1]);
			return HD_ERR_IO;
		}
	}
	return HD_OK;
}

/* Waits until the wake-up pipe has something to read, or timeout_ms (-1: no limit),
 * and empties it. */
static void
hd_wait_wake(const struct hd_server *srv, int timeout_ms)
{
	struct pollfd pfd = { .fd = srv->wake[0], .events = POLLIN };
	char drain[64];

	if (poll(&pfd, 1, timeout_ms) > 0)
		while (read(srv->wake[0], drain, sizeof(drain)) > 0)
			;
}

/* Runs in the main thread once the request threads are started: waits for a SIGTERM
 * or for a request thread to end, then ends them all. A thread waiting for a request
 * gets a SIGTERM of its own, which interrupts its accept() or its read; one serving a
 * request has SIGTERM blocked and sees hd_stopping when it is done. */
static void
hd_stop_threads(struct hd_server *srv, struct hd_thread *threads, size_t nthreads)
{
	bool waiting;

	hd_wait_wake(srv, -1);
	hd_stopping = 1;
	FCGX_ShutdownPending();
	do {
		waiting = false;
		for (size_t i = 0; i < nthreads; i++) {
			if (threads[i].started && !atomic_load(&threads[i].ended)) {
				waiting = true;
				pthread_kill(threads[i].tid, SIGTERM);
			}
		}
		if (waiting)
			hd_wait_wake(srv, HD_STOP_RESEND_MS);
	} while (waiting);
}

/* Whether an endpoint of the program has one of flags. A program that sends runs
 * send_threads request threads: with HD_EP_BATCHED endpoints and a committer (unless
 * send_batch_max is 0), with HD_EP_DELIVERS ones and a deliverer per thread. */
static bool
hd_program_has(const struct hd_program *prog, unsigned flags)
{
	for (size_t i = 0; i < prog->nendpoints; i++)
		if (prog->endpoints[i].flags & flags)
			return true;
	return false;
}

int
hd_serve(const struct hd_program *prog)
{
	struct sigaction term;
	struct hd_server srv;
	struct hd_config cfg;
	struct hd_thread *threads = NULL;
	size_t nthreads = 1;
	char err[256];
	int rc = 1;

	memset(&srv, 0, sizeof(srv));
	srv.prog = prog;
	srv.cfg = &cfg;
	hd_log_setup(prog->name, HD_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	memset(&term, 0, sizeof(term));
	term.sa_handler = hd_on_term;    /* no SA_RESTART: accept() must return */
	sigemptyset(&term.sa_mask);
	sigaction(SIGTERM, &term, NULL);
	sigemptyset(&srv.termset);
	sigaddset(&srv.termset, SIGTERM);
	/* Every thread starts with SIGTERM blocked (inherited from this one). */
	pthread_sigmask(SIG_BLOCK, &srv.termset, NULL);
	if (hd_config_load(&cfg, hd_config_path(), err, sizeof(err)) != HD_OK) {
		hd_log_error("configuration %s: %s", hd_config_path(), err);
		hd_config_free(&cfg);
		return 1;
	}
	hd_log_setup(prog->name, cfg.log_level);
	hd_metrics_setup(hd_config_metrics_file(&cfg), prog->name);
	hd_log_set_format(cfg.log_format);
	hd_doc_init();
	if (hd_program_has(prog, HD_EP_BATCHED | HD_EP_DELIVERS)) {
		nthreads = cfg.send_threads;
		/* The client library's global set-up is not thread-safe: done here, once. */
		if (hd_db_library_init() != HD_OK ||
		    (hd_program_has(prog, HD_EP_BATCHED) && cfg.send_batch_max > 0 &&
		    hd_batch_start(&cfg, &srv.batch) != HD_OK)) {
			hd_log_error("start-up failed: send batcher");
			goto out;
		}
	}
	if (hd_wake_pipe(srv.wake) != HD_OK) {
		hd_log_error("start-up failed: %s", strerror(errno));
		goto out;
	}
	hd_wake_fd = srv.wake[1];
	if (FCGX_Init() != 0 || (threads = calloc(nthreads, sizeof(*threads))) == NULL) {
		hd_log_error("start-up failed");
		goto out_pipe;
	}
	for (size_t i = 0; i < nthreads; i++) {
		struct hd_thread *th = &threads[i];

		th->srv = &srv;
		th->ctx.cfg = cfg;
		th->ctx.batch = srv.batch;
		if (hd_db_new(&cfg, HD_DB_REQUESTS, &th->ctx.db) != HD_OK ||
		    FCGX_InitRequest(&th->fr, 0, 0) != 0) {
			hd_log_error("start-up failed");
			goto out_threads;
		}
		/* Made here, before any other thread exists: libcurl's global set-up is not
		 * thread-safe either. */
		if (hd_program_has(prog, HD_EP_DELIVERS) && cfg.sync_delivery == HD_SYNC_INLINE &&
		    hd_thread_deliverer(th) != HD_OK) {
			hd_log_error("start-up failed: deliverer");
			goto out_threads;
		}
	}
	hd_log_info("ready (%zu request thread%s, send batches of up to %u)", nthreads,
	    nthreads == 1 ? "" : "s", srv.batch ? cfg.send_batch_max : 1);
	for (size_t i = 0; i < nthreads; i++) {
		if (pthread_create(&threads[i].tid, NULL, hd_thread_main, &threads[i]) != 0) {
			hd_log_error("could not start request thread %zu", i);
			atomic_store(&srv.failed, true);
			hd_wake_main();
			break;
		}
		threads[i].started = true;
	}
	hd_stop_threads(&srv, threads, nthreads);
	rc = atomic_load(&srv.failed) ? 1 : 0;
out_threads:
	for (size_t i = 0; i < nthreads; i++)
		if (threads[i].started)
			pthread_join(threads[i].tid, NULL);
	for (size_t i = 0; i < nthreads; i++) {
		hd_deliverer_free(threads[i].ctx.deliverer);
		hd_db_free(threads[i].delivery_db);
		hd_db_free(threads[i].ctx.db);
	}
	free(threads);
out_pipe:
	hd_wake_fd = -1;
	close(srv.wake[0]);
	close(srv.wake[1]);
out:
	hd_batch_stop(srv.batch);
	hd_metrics_teardown();
	hd_config_free(&cfg);
	return rc;
}
