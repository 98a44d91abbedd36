/*
 * herald's configuration: one `key = value` file (comments start with '#'). The path
 * is $HERALD_CONFIG, else SYSCONFDIR/herald/herald.conf. Keys are declared once in a
 * typed table in hd_config.c; an unknown key, a bad value or a duplicate is an error,
 * never ignored. Secrets may be given as files (db_password_file).
 */
#ifndef HD_CONFIG_H
#define HD_CONFIG_H

#include <stddef.h>
#include "hd_error.h"
#include "hd_log.h"

/* One database server: a unix socket, or a host and port. */
struct hd_db_address {
	char *socket;             /* NULL: host/port */
	char *host;
	unsigned port;
};

/* sync_delivery: the program delivers itself (it needs the provider secrets, and the
 * credentials key where they are sealed), or it leaves that to the workers and waits
 * for their outcomes (a web host that holds no secret: docs/credentials.md). */
enum hd_sync_delivery { HD_SYNC_INLINE, HD_SYNC_WORKER, HD_SYNC__MAX };
extern const char *const hd_sync_delivery_names[HD_SYNC__MAX];

struct hd_config {
	char *db_socket;          /* unix socket; when NULL, db_host/db_port */
	char *db_host;
	unsigned db_port;
	/* db_addresses: several servers (the nodes of a Galera cluster), tried in this
	 * order at every connect; when set, db_socket/db_host/db_port are not used. */
	struct hd_db_address *db_addresses;
	size_t db_naddresses;
	char *db_name;
	char *db_user;
	char *db_password;        /* from db_password or db_password_file */
	/* The account of what delivers (herald-worker, and a program's inline deliverer):
	 * NULL for db_user's. */
	char *worker_db_user;
	char *worker_db_password; /* from worker_db_password or worker_db_password_file */
	unsigned db_timeout_s;    /* connect bound: answers 503 after it */
	unsigned db_query_timeout_s; /* bound on one statement's answer, lock waits
	                                included: a hung database answers 503 after it */
	size_t max_body_bytes;    /* larger bodies get 413 */
	unsigned rate_limit_per_address; /* requests per second; 0 = off */
	unsigned max_queue_backlog; /* due queued deliveries above which sends answer 503;
	                               0 = no limit */
	enum hd_log_level log_level;
	enum hd_log_format log_format;
	/* Sending programs (issue 12): request threads per process, and the most sends
	 * the process's committer runs in one batch; 0 runs each send on its own. */
	unsigned send_threads;
	unsigned send_batch_max;

	/* Delivery: provider addresses (NULL: the provider's production address; see
	 * docs/delivery.md), the CA bundle (NULL: the system's), and the worker. */
	char *apns_url;
	char *apns_sandbox_url;
	char *fcm_url;
	char *fcm_token_url;       /* NULL: Google's (never the service account's token_uri) */
	char *wns_token_url;
	char *ca_bundle;
	/* The keys that seal provider secrets at rest (hd_keyring.h); NULL: none, and
	 * sealed secrets cannot be opened. */
	char *credentials_key_file;
	/* "HOST:PORT:ADDR:PORT[,...]": where to connect for device URLs naming HOST:PORT
	 * (Web Push endpoints, WNS channels). For test and staging stand-ins: a device URL
	 * otherwise reaches public addresses only. */
	char *provider_connect_to;
	unsigned delivery_timeout_s;   /* one provider request, connecting included */
	unsigned sync_wait_ms;         /* a synchronous send waits this long for the push
	                                  services; the worker retries what is unfinished */
	enum hd_sync_delivery sync_delivery; /* who makes a synchronous send's deliveries */
	unsigned worker_batch;         /* deliveries claimed at once */
	unsigned worker_lease_s;       /* a claim's lease: after it, another worker may
	                                  take the delivery over */
	unsigned worker_max_attempts;  /* then the delivery is rejected */
	unsigned worker_streams;       /* provider requests in flight at once */
	unsigned worker_connections;   /* connections per provider host */
	/* The audience dialect's body bound: 1000 elements with several identifiers each. */
	size_t audience_max_body_bytes;

	/* Metrics (docs/metrics.md): the table the FastCGI processes of a host share
	 * (NULL: hd_config_metrics_file()'s default), and the worker's textfile-collector
	 * file (NULL: none), rewritten every worker_metrics_every_s seconds. */
	char *metrics_file;
	char *worker_metrics_file;
	unsigned worker_metrics_every_s;
	/* The worker's "so far" status line: at most this often while its figures change. */
	unsigned worker_status_every_s;
};

/* Fills cfg with defaults. Allocates nothing. */
void hd_config_defaults(struct hd_config *cfg);
/* Parses text[0..len) over the current values. On error, returns HD_ERR_CONFIG and
 * writes a one-line reason (with the line number) to err. */
enum hd_err hd_config_parse(struct hd_config *cfg, const char *text, size_t len,
    char *err, size_t errlen);
/* Defaults, then the file at path (see hd_config_path()). */
enum hd_err hd_config_load(struct hd_config *cfg, const char *path, char *err,
    size_t errlen);
/* The configuration file's path: $HERALD_CONFIG or the compiled-in default. */
const char *hd_config_path(void);
/* The shared metrics table's path: metrics_file, else LOCALSTATEDIR/lib/herald/metrics. */
const char *hd_config_metrics_file(const struct hd_config *cfg);
/* Key i of the configuration table (NULL past the last), with a one-line summary of
 * its values and default written to summary: what herald.conf(5) must say of it. */
const char *hd_config_key(size_t i, char *summary, size_t cap);
/* Frees the strings the config owns. */
void hd_config_free(struct hd_config *cfg);

#endif
