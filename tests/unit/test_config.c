/*
 * hd_config: the `key = value` file. Every key parses into its typed field; comments,
 * blank lines, indentation and CRLF are allowed; an unknown key, a duplicate, a bad
 * number or level, an unreadable secret file or a missing db_name is an error naming
 * its line. Memory: run under ASan/LSan (--enable-sanitizers), nothing leaks,
 * whichever way a parse ends, as long as hd_config_free() is called.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd_config.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/hd_test_config.XXXXXX";

/* Writes content to tmpdir/name and puts that path in path[cap]. */
static void
write_file(const char *name, const char *content, size_t len, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f == NULL || fwrite(content, 1, len, f) != len)
		fprintf(stderr, "test bug: cannot write %s\n", path);
	if (f)
		fclose(f);
}

static enum hd_err
parse(struct hd_config *cfg, const char *text, char *err, size_t errlen)
{
	hd_config_defaults(cfg);
	err[0] = '\0';
	return hd_config_parse(cfg, text, strlen(text), err, errlen);
}

static void
test_defaults(void)
{
	struct hd_config c;

	memset(&c, 0x5a, sizeof(c));
	hd_config_defaults(&c);
	CHECK(c.db_socket == NULL && c.db_host == NULL && c.db_name == NULL &&
	    c.db_user == NULL && c.db_password == NULL);
	CHECK(c.db_port == 3306 && c.db_timeout_s == 1 && c.max_body_bytes == 64 * 1024);
	CHECK(c.rate_limit_per_address == 100 && c.log_level == HD_LOG_INFO);
	CHECK(c.max_queue_backlog == 0 && c.apns_url == NULL && c.apns_sandbox_url == NULL &&
	    c.fcm_url == NULL && c.fcm_token_url == NULL && c.wns_token_url == NULL &&
	    c.ca_bundle == NULL && c.provider_connect_to == NULL);
	CHECK(c.sync_wait_ms == 5000);
	CHECK(c.delivery_timeout_s == 10 && c.worker_batch == 500 && c.worker_lease_s == 60 &&
	    c.worker_max_attempts == 12 && c.worker_streams == 400 && c.worker_connections == 4);
	hd_config_free(&c);
}

/* The delivery keys: provider addresses, routing for test stand-ins, worker limits. */
static void
test_delivery_keys(void)
{
	static const char text[] =
	    "db_name = herald\n"
	    "max_queue_backlog = 250000\n"
	    "apns_url = https://127.0.0.1:8443\n"
	    "apns_sandbox_url = https://sandbox.example\n"
	    "fcm_url = https://fcm.example\n"
	    "fcm_token_url = https://fcm.example/token\n"
	    "wns_token_url = https://wns.example/token\n"
	    "ca_bundle = /etc/herald/ca.pem\n"
	    "provider_connect_to = push.test:443:127.0.0.1:8443,wns.test:443:[::1]:9443\n"
	    "delivery_timeout_s = 300\n"
	    "sync_wait_ms = 60000\n"
	    "worker_batch = 10000\n"
	    "worker_lease_s = 5\n"
	    "worker_max_attempts = 1\n"
	    "worker_streams = 100000\n"
	    "worker_connections = 64\n";
	static const char *const bad[] = { "delivery_timeout_s = 0", "delivery_timeout_s = 301",
		"worker_batch = 0", "worker_batch = 10001", "worker_lease_s = 4",
		"worker_lease_s = 3601", "worker_max_attempts = 0", "worker_max_attempts = 101",
		"worker_streams = 0", "worker_connections = 65", "max_queue_backlog = 1000000001",
		"apns_url =", "sync_wait_ms = 99", "sync_wait_ms = 60001" };
	struct hd_config c;
	char err[256], line[128];

	CHECK_MSG(parse(&c, text, err, sizeof(err)) == HD_OK, "%s", err);
	CHECK(c.max_queue_backlog == 250000);
	CHECK(c.apns_url && strcmp(c.apns_url, "https://127.0.0.1:8443") == 0);
	CHECK(c.apns_sandbox_url && strcmp(c.apns_sandbox_url, "https://sandbox.example") == 0);
	CHECK(c.fcm_url && c.fcm_token_url && c.wns_token_url && c.ca_bundle);
	CHECK(c.provider_connect_to &&
	    strcmp(c.provider_connect_to, "push.test:443:127.0.0.1:8443,wns.test:443:[::1]:9443") == 0);
	CHECK(c.delivery_timeout_s == 300 && c.worker_batch == 10000 && c.worker_lease_s == 5);
	CHECK(c.sync_wait_ms == 60000);
	CHECK(c.worker_max_attempts == 1 && c.worker_streams == 100000 &&
	    c.worker_connections == 64);
	hd_config_free(&c);
	CHECK(c.apns_url == NULL && c.provider_connect_to == NULL && c.ca_bundle == NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "db_name = x\n%s\n", bad[i]);
		CHECK_MSG(parse(&c, line, err, sizeof(err)) == HD_ERR_CONFIG, "%s", bad[i]);
		hd_config_free(&c);
	}
}

/* The send batcher's keys (issue 12): threads per process, sends per batch (0: off). */
static void
test_send_keys(void)
{
	static const struct { const char *text; unsigned threads, batch; } good[] = {
		{ "db_name = x\n", 32, 64 },
		{ "db_name = x\nsend_threads = 1\nsend_batch_max = 0\n", 1, 0 },
		{ "db_name = x\nsend_threads = 256\nsend_batch_max = 4096\n", 256, 4096 },
	};
	static const char *const bad[] = { "send_threads = 0", "send_threads = 257",
		"send_batch_max = 4097", "send_batch_max = -1", "send_threads =" };
	struct hd_config c;
	char err[256], line[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK_MSG(parse(&c, good[i].text, err, sizeof(err)) == HD_OK, "%s", err);
		CHECK_MSG(c.send_threads == good[i].threads && c.send_batch_max == good[i].batch,
		    "%s", good[i].text);
		hd_config_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "db_name = x\n%s\n", bad[i]);
		CHECK_MSG(parse(&c, line, err, sizeof(err)) == HD_ERR_CONFIG, "%s", bad[i]);
		hd_config_free(&c);
	}
}

/* Every key, with comments, blank lines, indentation, CRLF and no final newline. */
static void
test_good(void)
{
	static const char text[] =
	    "# herald configuration\n"
	    "\n"
	    "   # an indented comment\n"
	    "db_socket = /run/mysqld/mysqld.sock\n"
	    "db_host=db.example.org\n"
	    "\tdb_port\t=\t3307\t\n"
	    "db_name = herald\r\n"
	    "db_user = herald_app  \n"
	    "db_password = s3cr=t#not-a-comment\n"
	    "   \t  \n"
	    "db_timeout_s = 60\n"
	    "max_body_bytes = 67108864\n"
	    "rate_limit_per_address = 0\n"
	    "log_level = debug";
	struct hd_config c;
	char err[256];

	CHECK_MSG(parse(&c, text, err, sizeof(err)) == HD_OK, "%s", err);
	CHECK(c.db_socket && strcmp(c.db_socket, "/run/mysqld/mysqld.sock") == 0);
	CHECK(c.db_host && strcmp(c.db_host, "db.example.org") == 0);
	CHECK(c.db_port == 3307);
	CHECK(c.db_name && strcmp(c.db_name, "herald") == 0);
	CHECK(c.db_user && strcmp(c.db_user, "herald_app") == 0);
	CHECK(c.db_password && strcmp(c.db_password, "s3cr=t#not-a-comment") == 0);
	CHECK(c.db_timeout_s == 60);
	CHECK(c.max_body_bytes == 64 * 1024 * 1024);
	CHECK(c.rate_limit_per_address == 0);
	CHECK(c.log_level == HD_LOG_DEBUG);
	hd_config_free(&c);
	CHECK(c.db_socket == NULL && c.db_host == NULL && c.db_name == NULL &&
	    c.db_user == NULL && c.db_password == NULL);
	hd_config_free(&c);     /* a second free is harmless */

	/* Bounds of every number are inclusive; each log level parses. */
	static const struct {
		const char *text;
		const char *what;
	} ok[] = {
		{ "db_name=x\ndb_port=1\n", "db_port 1" },
		{ "db_name=x\ndb_port=65535\n", "db_port 65535" },
		{ "db_name=x\ndb_timeout_s=1\n", "db_timeout_s 1" },
		{ "db_name=x\nmax_body_bytes=1024\n", "max_body_bytes 1024" },
		{ "db_name=x\nrate_limit_per_address=1000000\n", "rate limit 1000000" },
		{ "db_name=x\nlog_level=error\n", "error" },
		{ "db_name=x\nlog_level=warn\n", "warn" },
		{ "db_name=x\nlog_level=info\n", "info" },
		{ "db_name=x", "only db_name, no newline" },
		{ "\n\n# x\ndb_name=x\n\n", "blank lines around" },
	};
	for (size_t i = 0; i < N(ok); i++) {
		CHECK_MSG(parse(&c, ok[i].text, err, sizeof(err)) == HD_OK, "ok row %zu (%s): %s",
		    i, ok[i].what, err);
		hd_config_free(&c);
	}
	CHECK(parse(&c, "db_name=x\nlog_level=warn\n", err, sizeof(err)) == HD_OK &&
	    c.log_level == HD_LOG_WARN);
	hd_config_free(&c);
}

/* Refusals name the line (and the key); the config is freed afterwards without
 * leaks even when strings were already set. */
static void
test_bad(void)
{
	static const struct {
		const char *text;
		const char *want1, *want2;    /* substrings of the error */
	} rows[] = {
		{ "db_name = x\ndb_user = u\ndb_nmae = y\n", "line 3", "db_nmae" },
		{ "# c\n\nbogus = 1\ndb_name = x\n", "line 3", "bogus" },
		{ "DB_NAME = x\n", "line 1", "DB_NAME" },
		{ " = x\ndb_name = y\n", "line 1", "unknown" },
		{ "db_name = x\ndb_name = y\n", "line 2", "twice" },
		{ "db_name = x\ndb_port = 1\n\ndb_port = 1\n", "line 4", "db_port" },
		{ "db_name = x\ndb_host\n", "line 2", "=" },
		{ "db_name = x\ndb_port = 0\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = 65536\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = -1\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = +1\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = 3306x\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = 33 06\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port =\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = 0x10\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = 18446744073709551617\n", "line 2", "db_port" },
		{ "db_name = x\ndb_port = 4294970602\n", "line 2", "db_port" },  /* 2^32 + 3306 */
		{ "db_name = x\ndb_timeout_s = 0\n", "line 2", "db_timeout_s" },
		{ "db_name = x\ndb_timeout_s = 61\n", "line 2", "db_timeout_s" },
		{ "db_name = x\nmax_body_bytes = 1023\n", "line 2", "max_body_bytes" },
		{ "db_name = x\nmax_body_bytes = 67108865\n", "line 2", "max_body_bytes" },
		{ "db_name = x\nrate_limit_per_address = 1000001\n", "line 2", "rate_limit" },
		{ "db_name = x\nlog_level = verbose\n", "line 2", "log_level" },
		{ "db_name = x\nlog_level = DEBUG\n", "line 2", "log_level" },
		{ "db_name = x\nlog_level =\n", "line 2", "log_level" },
		{ "db_name = x\r\nlog_level = 3\r\n", "line 2", "log_level" },
		{ "db_host = h\ndb_user = u\n", "db_name", "required" },
		{ "", "db_name", "required" },
		{ "# only a comment\n", "db_name", "required" },
		/* strings set before the error must not leak */
		{ "db_socket = /s\ndb_host = h\ndb_user = u\ndb_password = p\ndb_name = n\nx = 1\n",
		  "line 6", "'x'" },
	};

	for (size_t i = 0; i < N(rows); i++) {
		struct hd_config c;
		char err[256];
		enum hd_err rc = parse(&c, rows[i].text, err, sizeof(err));

		CHECK_MSG(rc == HD_ERR_CONFIG, "row %zu: rc %d", i, rc);
		CHECK_MSG(strstr(err, rows[i].want1) && strstr(err, rows[i].want2),
		    "row %zu: error '%s' lacks '%s'/'%s'", i, err, rows[i].want1, rows[i].want2);
		CHECK_MSG(strchr(err, '\n') == NULL, "row %zu: error is not one line", i);
		hd_config_free(&c);
	}

	/* A NUL byte inside a value. */
	struct hd_config c;
	char err[256];
	static const char nul[] = "db_name = a\0b\n";
	hd_config_defaults(&c);
	CHECK(hd_config_parse(&c, nul, sizeof(nul) - 1, err, sizeof(err)) == HD_ERR_CONFIG);
	CHECK(strstr(err, "line 1") != NULL);
	hd_config_free(&c);

	/* The error is bounded by errlen. */
	char small[12];
	memset(small, 'X', sizeof(small));
	CHECK(parse(&c, "an_unknown_key_that_is_long = 1\n", small, 8) == HD_ERR_CONFIG);
	CHECK(strlen(small) == 7 && small[8] == 'X');
	hd_config_free(&c);
}

/* db_password_file: the secret file's content, trailing newlines stripped; a file
 * that cannot be read, or is too large, is an error. */
static void
test_password_file(void)
{
	static const struct {
		const char *content;
		const char *want;
	} rows[] = {
		{ "hunter2\n", "hunter2" },
		{ "hunter2", "hunter2" },
		{ "hunter2\r\n", "hunter2" },
		{ "hunter2\n\n\n", "hunter2" },
		{ "pass word \n", "pass word " },
		{ "\n", "" },
		{ "", "" },
		{ "a=b # c\n", "a=b # c" },
	};
	struct hd_config c;
	char path[512], text[700], err[700];

	for (size_t i = 0; i < N(rows); i++) {
		write_file("pw", rows[i].content, strlen(rows[i].content), path, sizeof(path));
		snprintf(text, sizeof(text), "db_name = x\ndb_password_file = %s\n", path);
		CHECK_MSG(parse(&c, text, err, sizeof(err)) == HD_OK, "row %zu: %s", i, err);
		CHECK_MSG(c.db_password && strcmp(c.db_password, rows[i].want) == 0,
		    "row %zu: password '%s'", i, c.db_password ? c.db_password : "(null)");
		hd_config_free(&c);
	}

	/* A secret of 4 KiB fits; one byte more does not. */
	char *big = malloc(4097);
	memset(big, 'k', 4097);
	write_file("big", big, 4096, path, sizeof(path));
	snprintf(text, sizeof(text), "db_name = x\ndb_password_file = %s\n", path);
	CHECK(parse(&c, text, err, sizeof(err)) == HD_OK && c.db_password &&
	    strlen(c.db_password) == 4096);
	hd_config_free(&c);
	write_file("big", big, 4097, path, sizeof(path));
	CHECK(parse(&c, text, err, sizeof(err)) == HD_ERR_CONFIG);
	CHECK(strstr(err, "line 2") != NULL && strstr(err, "db_password_file") != NULL);
	hd_config_free(&c);
	free(big);

	/* Missing file, a directory, a relative name that is not there. */
	const char *bad[] = { "/nonexistent/herald/pw", tmpdir, "no-such-file" };
	for (size_t i = 0; i < N(bad); i++) {
		snprintf(text, sizeof(text), "db_name = x\ndb_user = u\ndb_password_file = %s\n",
		    bad[i]);
		CHECK_MSG(parse(&c, text, err, sizeof(err)) == HD_ERR_CONFIG, "bad file %zu", i);
		CHECK_MSG(strstr(err, "line 3") && strstr(err, "db_password_file"),
		    "bad file %zu: '%s'", i, err);
		hd_config_free(&c);
	}

	/* The file replaces an earlier db_password without leaking it. */
	write_file("pw", "fromfile\n", 9, path, sizeof(path));
	snprintf(text, sizeof(text), "db_name = x\ndb_password = inline\ndb_password_file = %s\n",
	    path);
	if (parse(&c, text, err, sizeof(err)) == HD_OK)
		CHECK(c.db_password && strcmp(c.db_password, "fromfile") == 0);
	hd_config_free(&c);
}

/* The delivering account: its own user and password, from either key; a password
 * without the user, or from both keys, is refused. Unset, nothing is filled in (the
 * connection falls back to db_user's account). */
static void
test_worker_account(void)
{
	struct hd_config c;
	char path[512], text[700], err[700];

	CHECK(parse(&c, "db_name = x\ndb_user = web\n", err, sizeof(err)) == HD_OK);
	CHECK(c.worker_db_user == NULL && c.worker_db_password == NULL);
	hd_config_free(&c);

	CHECK(parse(&c, "db_name = x\nworker_db_user = w\nworker_db_password = p\n", err,
	    sizeof(err)) == HD_OK);
	CHECK(c.worker_db_user && strcmp(c.worker_db_user, "w") == 0);
	CHECK(c.worker_db_password && strcmp(c.worker_db_password, "p") == 0);
	CHECK(c.db_user == NULL && c.db_password == NULL);
	hd_config_free(&c);

	write_file("pw", "wpass\n", 6, path, sizeof(path));
	snprintf(text, sizeof(text), "db_name = x\nworker_db_user = w\n"
	    "worker_db_password_file = %s\n", path);
	CHECK_MSG(parse(&c, text, err, sizeof(err)) == HD_OK, "%s", err);
	CHECK(c.worker_db_password && strcmp(c.worker_db_password, "wpass") == 0);
	hd_config_free(&c);

	snprintf(text, sizeof(text), "db_name = x\nworker_db_user = w\n"
	    "worker_db_password = p\nworker_db_password_file = %s\n", path);
	CHECK(parse(&c, text, err, sizeof(err)) == HD_ERR_CONFIG);
	CHECK_MSG(strstr(err, "worker_db_password") && strstr(err, "only one"), "%s", err);
	hd_config_free(&c);

	CHECK(parse(&c, "db_name = x\nworker_db_password = p\n", err, sizeof(err)) ==
	    HD_ERR_CONFIG);
	CHECK_MSG(strstr(err, "worker_db_user") != NULL, "%s", err);
	hd_config_free(&c);
}

/* Parsing over earlier values replaces them (the earlier strings are freed). */
static void
test_reparse(void)
{
	struct hd_config c;
	char err[256];

	hd_config_defaults(&c);
	CHECK(hd_config_parse(&c, "db_name = a\ndb_host = h1\n", 24, err, sizeof(err)) == HD_OK);
	CHECK(hd_config_parse(&c, "db_name = b\n", 12, err, sizeof(err)) == HD_OK);
	CHECK(c.db_name && strcmp(c.db_name, "b") == 0);
	CHECK(c.db_host && strcmp(c.db_host, "h1") == 0);
	hd_config_free(&c);
}

/* db_addresses: sockets and host[:port] entries, in order; bad lists refused. */
static void
test_db_addresses(void)
{
	static const struct {
		const char *value;
		size_t n;
		const char *first_socket, *first_host;
		unsigned last_port;
	} good[] = {
		{ "/run/a.sock", 1, "/run/a.sock", NULL, 3306 },
		{ "/run/a.sock, /run/b.sock,/run/c.sock", 3, "/run/a.sock", NULL, 3306 },
		{ "db1.example.org:3307, db2, 10.0.0.3:3308", 3, NULL, "db1.example.org", 3308 },
		{ "db1 , /run/b.sock", 2, NULL, "db1", 3306 },
	};
	static const char *const bad[] = {
		"", ",", "/a.sock,", ",db1", "db1,,db2", "db1:", "db1:0", "db1:65536",
		"db1:33x", ":3306", "db1:-1",
	};

	for (size_t i = 0; i < N(good); i++) {
		struct hd_config c;
		char text[256], err[256];
		int len = snprintf(text, sizeof(text), "db_name = x\ndb_addresses = %s\n",
		    good[i].value);

		hd_config_defaults(&c);
		CHECK_MSG(hd_config_parse(&c, text, (size_t)len, err, sizeof(err)) == HD_OK,
		    "row %zu: %s", i, err);
		CHECK_MSG(c.db_naddresses == good[i].n, "row %zu: %zu", i, c.db_naddresses);
		if (c.db_naddresses == good[i].n) {
			const struct hd_db_address *a = &c.db_addresses[0];

			CHECK_MSG(good[i].first_socket ? a->socket && strcmp(a->socket,
			    good[i].first_socket) == 0 : a->socket == NULL, "row %zu", i);
			CHECK_MSG(good[i].first_host ? a->host && strcmp(a->host,
			    good[i].first_host) == 0 : a->host == NULL, "row %zu", i);
			CHECK_MSG(c.db_addresses[good[i].n - 1].port == good[i].last_port,
			    "row %zu", i);
		}
		hd_config_free(&c);
		CHECK(c.db_addresses == NULL && c.db_naddresses == 0);
	}
	for (size_t i = 0; i < N(bad); i++) {
		struct hd_config c;
		char text[256], err[256];
		int len = snprintf(text, sizeof(text), "db_name = x\ndb_addresses = %s\n", bad[i]);

		hd_config_defaults(&c);
		CHECK_MSG(hd_config_parse(&c, text, (size_t)len, err, sizeof(err)) == HD_ERR_CONFIG,
		    "row %zu ('%s') accepted", i, bad[i]);
		CHECK_MSG(strstr(err, "line 2") && strstr(err, "db_addresses"), "row %zu: %s", i, err);
		CHECK(c.db_addresses == NULL);
		hd_config_free(&c);
	}
}

/* hd_config_load and hd_config_path. */
static void
test_load(void)
{
	struct hd_config c;
	char path[512], err[700];
	static const char text[] = "db_name = herald\ndb_port = 3310\n";

	write_file("herald.conf", text, sizeof(text) - 1, path, sizeof(path));
	memset(&c, 0, sizeof(c));
	CHECK_MSG(hd_config_load(&c, path, err, sizeof(err)) == HD_OK, "%s", err);
	CHECK(c.db_name && strcmp(c.db_name, "herald") == 0 && c.db_port == 3310);
	CHECK(c.db_timeout_s == 1 && c.rate_limit_per_address == 100);   /* defaults */
	hd_config_free(&c);

	write_file("bad.conf", "db_name = x\nnope = 1\n", 21, path, sizeof(path));
	CHECK(hd_config_load(&c, path, err, sizeof(err)) == HD_ERR_CONFIG);
	CHECK(strstr(err, "line 2") != NULL);
	CHECK(c.db_name == NULL);          /* freed by hd_config_load */

	CHECK(hd_config_load(&c, "/nonexistent/herald.conf", err, sizeof(err)) == HD_ERR_CONFIG);
	CHECK(strstr(err, "/nonexistent/herald.conf") != NULL);

	setenv("HERALD_CONFIG", "/etc/other/herald.conf", 1);
	CHECK(strcmp(hd_config_path(), "/etc/other/herald.conf") == 0);
	setenv("HERALD_CONFIG", "", 1);
	const char *def = hd_config_path();
	size_t n = strlen(def);
	CHECK(n > 19 && strcmp(def + n - 19, "/herald/herald.conf") == 0);
	unsetenv("HERALD_CONFIG");
	CHECK(strcmp(hd_config_path(), def) == 0);
}

int
main(void)
{
	char path[600];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_defaults();
	test_delivery_keys();
	test_send_keys();
	test_good();
	test_bad();
	test_db_addresses();
	test_password_file();
	test_worker_account();
	test_reparse();
	test_load();
	const char *names[] = { "pw", "big", "herald.conf", "bad.conf" };
	for (size_t i = 0; i < N(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	UNIT_DONE();
}
