/*
 * herald-worker: the delivery daemon. It claims due deliveries from the database
 * (leases, so several workers on several hosts share one queue), sends them through
 * the providers over HTTP/2 and records every outcome.
 *
 *   herald-worker [--log FILE]
 *   herald-worker --deliver MESSAGE_ID [--wait-ms N]
 *
 * The second form delivers one message's due deliveries at once, waiting at most N
 * milliseconds (default 5000), prints what became of them and exits: the synchronous
 * path that dialects answering with delivery counts use, for operators and tests.
 * The configuration is herald's file ($HERALD_CONFIG). SIGTERM or SIGINT: stop
 * claiming, finish what is in flight (bounded by delivery_timeout_s), record it and
 * exit; SIGHUP: reopen the log file and reload the configuration between batches.
 * Nothing accepted is lost: a delivery is claimed under a lease, and one whose worker
 * dies is claimed again when the lease ends.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd_backlog.h"
#include "hd_config.h"
#include "hd_db.h"
#include "hd_creds_seal.h"
#include "hd_deliver.h"
#include "hd_log.h"
#include "hd_metrics.h"
#include "hd_metrics_text.h"
#include "hd_text.h"
#include "hd_time.h"

/* How long an idle worker waits before it looks for due deliveries again: scheduled
 * messages go within this of their time. */
#define IDLE_WAIT_MS 200
/* How long a busy worker drives its transfers between claims and records. */
#define BUSY_WAIT_MS 20
/* The "so far" status line comes at most every worker_status_every_s while its figures
 * change, and this often while they do not (an idle worker says it is alive, not the
 * same line every few seconds). */
#define STATS_IDLE_EVERY_US (600 * HD_USEC_PER_SEC)
/* How often the queue backlog is measured for the send path's overload check. */
#define BACKLOG_EVERY_US HD_USEC_PER_SEC
/* How often provider secrets stored in plain text are sealed (docs/credentials.md):
 * the longest they stay readable in the database after an operator sets them. */
#define SEAL_EVERY_US HD_USEC_PER_SEC

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
on_reload(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = on_reload;
	if (sigaction(SIGHUP, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static int
open_log(const char *path)
{
	if (path == NULL)
		return 0;
	if (freopen(path, "a", stderr) == NULL)
		return -1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* One process's delivery machinery, rebuilt when the configuration is reloaded. It
 * lives on the heap: the database handle and the deliverer keep the address of cfg. */
struct worker {
	struct hd_config cfg;
	struct hd_db *db;
	struct hd_deliverer *deliverer;
};

static void
worker_close(struct worker *w)
{
	if (w == NULL)
		return;
	hd_deliverer_free(w->deliverer);
	hd_db_free(w->db);
	hd_config_free(&w->cfg);
	free(w);
}

static struct worker *
worker_open(void)
{
	struct worker *w;
	char err[256];
	enum hd_err rc;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		hd_log_error("cannot start delivering: %s", hd_strerror(HD_ERR_NOMEM));
		return NULL;
	}
	if (hd_config_load(&w->cfg, hd_config_path(), err, sizeof(err)) != HD_OK) {
		hd_log_error("configuration %s: %s", hd_config_path(), err);
		worker_close(w);
		return NULL;
	}
	/* A lease shorter than a request's time would let another worker take over
	 * deliveries still in flight here, and send them again. */
	if (w->cfg.worker_lease_s < 2 * w->cfg.delivery_timeout_s) {
		hd_log_error("configuration %s: worker_lease_s (%u) must be at least twice "
		    "delivery_timeout_s (%u)", hd_config_path(), w->cfg.worker_lease_s,
		    w->cfg.delivery_timeout_s);
		worker_close(w);
		return NULL;
	}
	if ((rc = hd_db_new(&w->cfg, HD_DB_DELIVERY, &w->db)) != HD_OK ||
	    (rc = hd_deliverer_new(&w->cfg, w->db, &w->deliverer)) != HD_OK) {
		hd_log_error("cannot start delivering: %s", hd_strerror(rc));
		worker_close(w);
		return NULL;
	}
	hd_log_setup("herald-worker", w->cfg.log_level);
	hd_log_set_format(w->cfg.log_format);
	return w;
}

/* What the status line reports. */
struct stats {
	struct hd_deliver_counts c;
	struct hd_engine_stats s;
	size_t in_flight;
};

static void
stats_read(const struct worker *w, struct stats *st)
{
	memset(st, 0, sizeof(*st));
	hd_deliverer_counts(w->deliverer, &st->c);
	hd_deliverer_engine_stats(w->deliverer, &st->s);
	st->in_flight = hd_deliverer_in_flight(w->deliverer);
}

static bool
stats_equal(const struct stats *a, const struct stats *b)
{
	return memcmp(&a->c, &b->c, sizeof(a->c)) == 0 && a->in_flight == b->in_flight &&
	    a->s.requests == b->s.requests && a->s.connections == b->s.connections &&
	    a->s.max_in_flight == b->s.max_in_flight;
}

static void
log_stats(const struct stats *st, const char *when)
{
	hd_log_info("%s: delivered %llu, retrying %llu, gone %llu, rejected %llu, "
	    "expired %llu, lost %llu; in flight %zu; %llu requests on %llu connections, "
	    "at most %zu at once", when, (unsigned long long)st->c.delivered,
	    (unsigned long long)st->c.queued, (unsigned long long)st->c.gone,
	    (unsigned long long)st->c.rejected, (unsigned long long)st->c.expired,
	    (unsigned long long)st->c.lost, st->in_flight,
	    (unsigned long long)st->s.requests, (unsigned long long)st->s.connections,
	    st->s.max_in_flight);
}

/* Logs the worker's figures now, under when. */
static void
log_stats_now(const struct worker *w, const char *when)
{
	struct stats st;

	stats_read(w, &st);
	log_stats(&st, when);
}

static int64_t
stats_every_us(const struct worker *w)
{
	return (int64_t)w->cfg.worker_status_every_s * HD_USEC_PER_SEC;
}

/* Rewrites the textfile-collector file, if one is configured; a failure is logged
 * once until a write succeeds again. */
static void
write_metrics(const struct worker *w)
{
	static bool failing;

	if (w->cfg.worker_metrics_file == NULL)
		return;
	hd_metrics_gauge(HD_M_IN_FLIGHT, NULL, (int64_t)hd_deliverer_in_flight(w->deliverer));
	if (hd_metrics_text_write_file(hd_metrics_process(), w->cfg.worker_metrics_file) != HD_OK) {
		if (!failing)
			hd_log_warn("cannot write %s: %s", w->cfg.worker_metrics_file,
			    strerror(errno));
		failing = true;
		return;
	}
	failing = false;
}

/* Finishes in-flight work: bounded by one request's timeout and a margin. */
static void
worker_drain(struct worker *w)
{
	int wait_ms = (int)(w->cfg.delivery_timeout_s * 1000 + 2000);
	enum hd_err rc;

	/* The database may be briefly away: recording is retried until the bound. */
	int64_t deadline = hd_now_usec() + (int64_t)wait_ms * 1000;

	while ((rc = hd_deliverer_drain(w->deliverer, wait_ms)) != HD_OK &&
	    hd_now_usec() < deadline)
		sleep_ms(500);
	if (rc != HD_OK)
		hd_log_error("exiting with unrecorded outcomes (%s): those deliveries are "
		    "claimed again when their lease ends", hd_strerror(rc));
}

static void
worker_loop(struct worker **wp, const char *log_path)
{
	struct worker *w = *wp;
	int64_t next_stats = hd_now_usec() + stats_every_us(w), next_backlog = 0, next_metrics = 0;
	int64_t next_seal = 0;
	const struct hd_keyring *keys;
	int64_t last_logged = hd_now_usec();
	struct stats logged, now;

	stats_read(w, &logged);

	while (!stop_requested) {
		size_t room, claimed = 0, in_flight = hd_deliverer_in_flight(w->deliverer);
		enum hd_err rc = HD_OK;

		if (reload_requested) {
			struct worker *fresh;

			reload_requested = 0;
			if (open_log(log_path) != 0)
				hd_log_error("cannot reopen %s: %s", log_path, strerror(errno));
			if ((fresh = worker_open()) != NULL) {
				worker_drain(w);
				log_stats_now(w, "reloading");
				worker_close(w);
				*wp = w = fresh;
				hd_log_info("configuration reloaded");
			} else {
				hd_log_error("configuration not reloaded; going on with the old one");
			}
			continue;
		}
		room = w->cfg.worker_streams > in_flight ? w->cfg.worker_streams - in_flight : 0;
		if (room > w->cfg.worker_batch)
			room = w->cfg.worker_batch;
		/* Claim in sizeable batches: a claim is one round trip whatever its size.
		 * Outcomes the database has not taken yet come first: claiming on would send
		 * more while their leases run out. */
		if (room > 0 && (in_flight == 0 || room * 2 >= w->cfg.worker_batch) &&
		    hd_deliverer_pending(w->deliverer) == 0)
			rc = hd_deliverer_claim(w->deliverer, room, &claimed);
		if (rc == HD_ERR_DB_RETRY) {
			/* Still conflicting after the claim's own reruns: on a Galera cluster,
			 * workers on other nodes took those rows first. They are theirs;
			 * the next round claims others. */
			hd_log_debug("claim lost to other workers' claims");
			rc = HD_OK;
		} else if (rc != HD_OK) {
			hd_log_warn("claiming deliveries failed: %s", hd_strerror(rc));
			sleep_ms(IDLE_WAIT_MS);
		}
		if (hd_deliverer_in_flight(w->deliverer) > 0 || claimed > 0 ||
		    hd_deliverer_pending(w->deliverer) > 0)
			rc = hd_deliverer_step(w->deliverer, BUSY_WAIT_MS);
		else if (rc == HD_OK)
			sleep_ms(IDLE_WAIT_MS);
		if (rc != HD_OK)
			sleep_ms(IDLE_WAIT_MS);
		if (w->cfg.max_queue_backlog > 0 && hd_now_usec() >= next_backlog) {
			if ((rc = hd_backlog_measure(w->db, w->cfg.max_queue_backlog)) != HD_OK)
				hd_log_warn("measuring the queue backlog failed: %s", hd_strerror(rc));
			next_backlog = hd_now_usec() + BACKLOG_EVERY_US;
		}
		keys = hd_deliverer_keyring(w->deliverer);
		if (keys && hd_now_usec() >= next_seal) {
			unsigned sealed;

			if ((rc = hd_creds_seal_pass(w->db, keys, &sealed)) != HD_OK)
				hd_log_warn("sealing credentials failed: %s", hd_strerror(rc));
			else if (sealed > 0)
				hd_log_info("sealed the secrets of %u credentials with key %s", sealed,
				    hd_keyring_current(keys));
			next_seal = hd_now_usec() + SEAL_EVERY_US;
		}
		if (hd_now_usec() >= next_metrics) {
			write_metrics(w);
			next_metrics = hd_now_usec() +
			    (int64_t)w->cfg.worker_metrics_every_s * HD_USEC_PER_SEC;
		}
		if (hd_now_usec() >= next_stats) {
			stats_read(w, &now);
			if (!stats_equal(&now, &logged) ||
			    hd_now_usec() - last_logged >= STATS_IDLE_EVERY_US) {
				log_stats(&now, "so far");
				logged = now;
				last_logged = hd_now_usec();
			}
			next_stats = hd_now_usec() + stats_every_us(w);
		}
	}
	worker_drain(w);
	write_metrics(w);
	log_stats_now(w, "stopping");
}

static int
deliver_one(struct worker *w, uint64_t message_id, int wait_ms)
{
	struct hd_deliver_counts c;
	enum hd_err rc = hd_deliver_message(w->deliverer, message_id, NULL, wait_ms, &c);

	if (rc != HD_OK) {
		hd_log_error("message %llu: %s", (unsigned long long)message_id, hd_strerror(rc));
		return 1;
	}
	printf("delivered %llu, retrying %llu, gone %llu, rejected %llu, expired %llu\n",
	    (unsigned long long)c.delivered, (unsigned long long)c.queued,
	    (unsigned long long)c.gone, (unsigned long long)c.rejected,
	    (unsigned long long)c.expired);
	return 0;
}

static int
parse_number(const char *s, uint64_t max, uint64_t *out)
{
	return hd_parse_u64(s, strlen(s), out) == 0 && *out <= max ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *log_path = NULL;
	uint64_t message_id = 0, wait_ms = 5000;
	struct worker *w;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
			log_path = argv[++i];
		} else if (strcmp(argv[i], "--deliver") == 0 && i + 1 < argc &&
		    parse_number(argv[i + 1], UINT64_MAX, &message_id) == 0 && message_id > 0) {
			i++;
		} else if (strcmp(argv[i], "--wait-ms") == 0 && i + 1 < argc &&
		    parse_number(argv[i + 1], 600000, &wait_ms) == 0) {
			i++;
		} else {
			fprintf(stderr, "usage: herald-worker [--log FILE]\n"
			    "       herald-worker --deliver MESSAGE_ID [--wait-ms N]\n");
			return 2;
		}
	}
	hd_log_setup("herald-worker", HD_LOG_INFO);
	if (open_log(log_path) != 0) {
		fprintf(stderr, "herald-worker: cannot open %s: %s\n", log_path, strerror(errno));
		return 1;
	}
	/* The worker's own figures, kept in this process and written out as a textfile
	 * (docs/metrics.md); they span configuration reloads. */
	hd_metrics_setup(NULL, "herald-worker");
	if (install_signals() != 0 || (w = worker_open()) == NULL) {
		hd_metrics_teardown();
		return 1;
	}
	if (message_id != 0) {
		rc = deliver_one(w, message_id, (int)wait_ms);
		worker_close(w);
		hd_metrics_teardown();
		return rc;
	}
	hd_log_info("started");
	worker_loop(&w, log_path);
	worker_close(w);
	hd_metrics_teardown();
	return 0;
}
