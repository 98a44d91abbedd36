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
#include <sys/socket.h>
#include <fastcgi.h>
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
 * a later request on it may leave input unread. A kept connection whose request left
 * input unread is closed all the same: its next request would start in that input. */
static void
hd_finish(FCGX_Request *fr)
{
	bool read_all = FCGX_HasSeenEOF(fr->in) == EOF && FCGX_GetError(fr->in) == 0;

	if (!read_all)
		fr->keepConnection = 0;
	else if (!fr->keepConnection && FCGX_Detach(fr) != 0)
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
 * checks it at exit. Only the main thread takes the signal; the request threads keep
 * it blocked, so that no read or write of theirs fails with EINTR (libfcgi's do not
 * retry), and learn of the stop from a pipe that the main thread closes.
 *
 * A request thread waits for its next request on the listening socket (one thread at
 * a time) or on a connection the web server keeps open (FCGI_KEEP_CONN), which never
 * waits for the listening socket's turn. It calls FCGX_Accept_r only once its
 * descriptor is readable; the listening socket does not block, so a thread that
 * loses a connection to another process gets EAGAIN back.
 *
 * libfcgi's own stop flag (FCGX_ShutdownPending, which its SIGUSR1 handler sets) is
 * never set: once it is, a connection that sends nothing for 2 s after its accept
 * sends OS_Accept round a loop on a closed descriptor for ever. SIGUSR1 stops the
 * program as SIGTERM does. */
static int hd_wake_fd = -1;

/* Milliseconds a thread waits before accepting again after running out of file
 * descriptors or memory. */
#define HD_ACCEPT_BACKOFF_MS 100

/* Wakes the main thread: by the signal handler and by each request thread that ends. */
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
	hd_wake_main();
	errno = saved;
}

/* What the request threads of a process share. */
struct hd_server {
	const struct hd_program *prog;
	const struct hd_config *cfg;
	struct hd_batch *batch;          /* NULL: no batching */
	int wake[2];                     /* to the main thread: SIGTERM, a thread ended */
	int stop[2];                     /* to the request threads: the write end closed */
	pthread_mutex_t listen_lock;     /* held by the thread waiting on the listening socket */
	atomic_bool failed;              /* a request thread could not accept */
	sigset_t termset;                /* SIGTERM and SIGUSR1 */
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

/* Whether the main thread has closed the stop pipe, waiting at most timeout_ms. */
static bool
hd_stop_seen(const struct hd_server *srv, int timeout_ms)
{
	struct pollfd pfd = { .fd = srv->stop[0], .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) > 0;
}

/* What hd_wait_accept found besides a request (0) or an error (a negative errno). */
enum {
	HD_WAIT_STOP = 1,                /* the stop pipe closed */
	HD_WAIT_AGAIN,                   /* woken with nothing to accept */
};

/* Waits until the thread's kept connection, or else the listening socket, is
 * readable, then accepts its request. */
static int
hd_wait_accept(struct hd_thread *th)
{
	struct pollfd pfd[2] = {
		{ .fd = th->srv->stop[0], .events = POLLIN },
		{ .fd = th->fr.ipcFd >= 0 ? th->fr.ipcFd : FCGI_LISTENSOCK_FILENO,
		  .events = POLLIN },
	};

	if (poll(pfd, 2, -1) < 0)
		return errno == EINTR ? HD_WAIT_AGAIN : -errno;
	if (pfd[0].revents != 0)
		return HD_WAIT_STOP;
	if (pfd[1].revents == 0)
		return HD_WAIT_AGAIN;
	return FCGX_Accept_r(&th->fr);
}

/* Waits for the thread's next request and accepts it: true, or false when the program
 * stops or can accept no more. One thread at a time waits on the listening socket, so
 * that a new connection wakes one thread, not every idle one; a thread with a kept
 * connection waits on it alone. */
static bool
hd_next_request(struct hd_thread *th)
{
	struct hd_server *srv = th->srv;

	for (;;) {
		bool listening = th->fr.ipcFd < 0;
		int rc;

		if (listening)
			pthread_mutex_lock(&srv->listen_lock);
		rc = hd_wait_accept(th);
		if (listening)
			pthread_mutex_unlock(&srv->listen_lock);
		if (rc == 0)
			return true;
		if (rc == HD_WAIT_STOP)
			return false;
		if (rc == HD_WAIT_AGAIN)
			continue;
		switch (-rc) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			/* Another process took the connection; or a kept connection closed
			 * and no new one waits. */
			break;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			hd_log_warn("accepting a request failed: %s; again in %d ms",
			    strerror(-rc), HD_ACCEPT_BACKOFF_MS);
			if (hd_stop_seen(srv, HD_ACCEPT_BACKOFF_MS))
				return false;
			break;
		default:
			hd_log_error("accepting a request failed: %s",
			    rc > -4096 ? strerror(-rc) : "libfcgi error");
			atomic_store(&srv->failed, true);
			return false;
		}
	}
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

		if (!hd_next_request(th))
			break;

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
	hd_wake_main();
	return NULL;
}

/* Checks that the program was given a listening socket, as its standard input, and
 * makes its accepts return at once: a thread woken for a connection that another
 * takes first must not sleep in accept(), where the stop pipe cannot reach it. */
static enum hd_err
hd_listening_socket(void)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	int flags;

	if (getsockopt(FCGI_LISTENSOCK_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
	    !listening) {
		hd_log_error("standard input is not a listening socket: start the program with "
		    "spawn-fcgi, multiwatch or a web server that spawns FastCGI programs");
		return HD_ERR_IO;
	}
	if ((flags = fcntl(FCGI_LISTENSOCK_FILENO, F_GETFL)) < 0 ||
	    fcntl(FCGI_LISTENSOCK_FILENO, F_SETFL, flags | O_NONBLOCK) != 0) {
		hd_log_error("start-up failed: listening socket: %s", strerror(errno));
		return HD_ERR_IO;
	}
	return HD_OK;
}

/* The main thread's pipes: neither end of the wake-up pipe blocks, so that the signal
 * handler never waits on a full one. */
static enum hd_err
hd_pipes(struct hd_server *srv)
{
	if (pipe(srv->wake) != 0)
		return HD_ERR_IO;
	if (pipe(srv->stop) != 0)
		return HD_ERR_IO;
	for (int i = 0; i < 2; i++) {
		if (fcntl(srv->wake[i], F_SETFL, O_NONBLOCK) != 0 ||
		    fcntl(srv->wake[i], F_SETFD, FD_CLOEXEC) != 0 ||
		    fcntl(srv->stop[i], F_SETFD, FD_CLOEXEC) != 0)
			return HD_ERR_IO;
	}
	return HD_OK;
}

static void
hd_close_pipe(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Runs in the main thread once the request threads are started: waits, with SIGTERM
 * and SIGUSR1 unblocked, for one of them or for a request thread to end (it could not
 * accept), then tells every request thread to stop. A thread serving a request
 * finishes it first. */
static void
hd_stop_threads(struct hd_server *srv)
{
	struct pollfd pfd = { .fd = srv->wake[0], .events = POLLIN };

	pthread_sigmask(SIG_UNBLOCK, &srv->termset, NULL);
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	pthread_sigmask(SIG_BLOCK, &srv->termset, NULL);
	hd_log_info("stopping: finishing the requests in flight");
	close(srv->stop[1]);
	srv->stop[1] = -1;
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
	srv.wake[0] = srv.wake[1] = srv.stop[0] = srv.stop[1] = -1;
	hd_log_setup(prog->name, HD_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	/* Installed before FCGX_Init, which then leaves them alone. */
	memset(&term, 0, sizeof(term));
	term.sa_handler = hd_on_term;
	sigemptyset(&term.sa_mask);
	sigaction(SIGTERM, &term, NULL);
	sigaction(SIGUSR1, &term, NULL);
	sigemptyset(&srv.termset);
	sigaddset(&srv.termset, SIGTERM);
	sigaddset(&srv.termset, SIGUSR1);
	/* Every thread starts with them blocked (inherited from this one). */
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
	if (hd_listening_socket() != HD_OK)
		goto out;
	if (hd_pipes(&srv) != HD_OK) {
		hd_log_error("start-up failed: %s", strerror(errno));
		goto out_pipes;
	}
	hd_wake_fd = srv.wake[1];
	pthread_mutex_init(&srv.listen_lock, NULL);
	if (FCGX_Init() != 0 || (threads = calloc(nthreads, sizeof(*threads))) == NULL) {
		hd_log_error("start-up failed");
		goto out_lock;
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
	hd_stop_threads(&srv);
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
out_lock:
	pthread_mutex_destroy(&srv.listen_lock);
out_pipes:
	hd_wake_fd = -1;
	hd_close_pipe(srv.wake);
	hd_close_pipe(srv.stop);
out:
	hd_batch_stop(srv.batch);
	hd_metrics_teardown();
	hd_config_free(&cfg);
	return rc;
}
