/* The shared metrics table (hd_metrics) and its Prometheus rendering (hd_metrics_text):
 * exact sums from several processes, a full table that overflows without corrupting,
 * counts that outlive the processes, and the exposition format's escaping. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hd_buf.h"
#include "hd_metrics.h"
#include "hd_metrics_text.h"
#include "unit.h"

#define PROCS 4
#define ROUNDS 5000
#define SERIES 40

static char dir[] = "/tmp/hd-test-metrics-XXXXXX";

static void
path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* The series of family f whose labels are values (n of them), or NULL. */
static const struct hd_metrics_series *
find(const struct hd_metrics_series *s, size_t n, enum hd_metric f, const char *const *values)
{
	for (size_t i = 0; i < n; i++) {
		bool same = s[i].family == f;

		for (size_t l = 0; same && l < hd_metric_families[f].nlabels; l++)
			same = strcmp(hd_metrics_label(&s[i], l), values[l]) == 0;
		if (same)
			return &s[i];
	}
	return NULL;
}

static uint64_t
observations(const struct hd_metrics_series *s)
{
	uint64_t total = 0;

	for (size_t b = 0; b <= HD_METRICS_BUCKETS; b++)
		total += s->buckets[b];
	return total;
}

/* Each child opens the file itself, as a FastCGI process does, and counts into
 * SERIES series (new to the table, so the children race to claim their slots). */
static void
child_counts(const char *path)
{
	struct hd_metrics *m;
	char route[32];

	if (hd_metrics_open(path, 256, &m) != HD_OK)
		_exit(3);
	for (int r = 0; r < ROUNDS; r++) {
		int k = r % SERIES;
		const char *req[] = { "herald-test", route, "POST", "201" };
		const char *dl[] = { "apns", "delivered" };

		snprintf(route, sizeof(route), "/route/%d", k);
		hd_metrics_observe(m, HD_M_REQUESTS, req, (uint64_t)(k * 1000));
		hd_metrics_add(m, HD_M_DELIVERIES, dl, 1);
	}
	hd_metrics_close(m);
	_exit(0);
}

static void
test_processes_sum_exactly(void)
{
	char path[128], route[32];
	struct hd_metrics_series *s = NULL;
	struct hd_metrics *m;
	size_t n = 0;
	pid_t pids[PROCS];

	path_of(path, sizeof(path), "sum");
	for (int i = 0; i < PROCS; i++)
		if ((pids[i] = fork()) == 0)
			child_counts(path);
	for (int i = 0; i < PROCS; i++) {
		int status = -1;

		CHECK(pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i]);
		CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: %d", i, status);
	}
	CHECK(hd_metrics_open(path, 256, &m) == HD_OK);
	if (m == NULL)
		return;
	CHECK(hd_metrics_snapshot(m, &s, &n) == HD_OK);
	/* One series per route (no slot claimed twice), plus the deliveries. */
	CHECK_MSG(n == SERIES + 1, "%zu series", n);
	for (int k = 0; k < SERIES; k++) {
		const char *req[] = { "herald-test", route, "POST", "201" };
		const struct hd_metrics_series *r;

		snprintf(route, sizeof(route), "/route/%d", k);
		r = find(s, n, HD_M_REQUESTS, req);
		CHECK_MSG(r && observations(r) == (uint64_t)PROCS * ROUNDS / SERIES, "route %d", k);
		CHECK_MSG(r && r->sum_us == (uint64_t)PROCS * ROUNDS / SERIES * (uint64_t)k * 1000,
		    "route %d sum", k);
	}
	{
		const char *dl[] = { "apns", "delivered" };
		const struct hd_metrics_series *d = find(s, n, HD_M_DELIVERIES, dl);

		CHECK(d && d->value == (uint64_t)PROCS * ROUNDS);
	}
	hd_metrics_snapshot_free(s);
	hd_metrics_close(m);
}

static void
test_full_table_overflows_without_losing_counts(void)
{
	char path[128], provider[32];
	struct hd_metrics_series *s = NULL;
	struct hd_metrics *m;
	size_t n = 0;
	uint64_t total = 0, named = 0;

	path_of(path, sizeof(path), "full");
	CHECK(hd_metrics_open(path, 8, &m) == HD_OK);
	if (m == NULL)
		return;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 20; i++) {
			const char *labels[] = { provider, "ok" };

			snprintf(provider, sizeof(provider), "provider-%d", i);
			hd_metrics_add(m, HD_M_TOKEN_REFRESHES, labels, 1);
		}
	CHECK(hd_metrics_snapshot(m, &s, &n) == HD_OK);
	for (size_t i = 0; i < n; i++) {
		CHECK(s[i].family == HD_M_TOKEN_REFRESHES);
		total += s[i].value;
		if (strcmp(hd_metrics_label(&s[i], 0), "_overflow") != 0) {
			named++;
			/* A series that got a slot kept every count it had, intact. */
			CHECK_MSG(s[i].value == 3 && strncmp(hd_metrics_label(&s[i], 0),
			    "provider-", 9) == 0 && strcmp(hd_metrics_label(&s[i], 1), "ok") == 0,
			    "%s %s %llu", hd_metrics_label(&s[i], 0), hd_metrics_label(&s[i], 1),
			    (unsigned long long)s[i].value);
		} else {
			CHECK(strcmp(hd_metrics_label(&s[i], 1), "_overflow") == 0);
		}
	}
	CHECK_MSG(named == 8, "%llu named series", (unsigned long long)named);
	CHECK_MSG(total == 60, "%llu counted", (unsigned long long)total);
	hd_metrics_snapshot_free(s);
	hd_metrics_close(m);
}

static void
test_key_too_long_overflows(void)
{
	char long_route[HD_METRICS_KEY_MAX + 10];
	const char *labels[] = { "herald-test", long_route, "GET", "200" };
	const char *missing[] = { "herald-test", NULL, "GET", "200" };
	struct hd_metrics_series *s = NULL;
	struct hd_metrics *m;
	size_t n = 0;

	memset(long_route, 'a', sizeof(long_route) - 1);
	long_route[sizeof(long_route) - 1] = '\0';
	CHECK(hd_metrics_open(NULL, 16, &m) == HD_OK);
	if (m == NULL)
		return;
	hd_metrics_observe(m, HD_M_REQUESTS, labels, 10);
	hd_metrics_observe(m, HD_M_REQUESTS, missing, 10);
	hd_metrics_observe(m, HD_M_REQUESTS, NULL, 10);
	CHECK(hd_metrics_snapshot(m, &s, &n) == HD_OK);
	CHECK_MSG(n == 1 && strcmp(hd_metrics_label(&s[0], 1), "_overflow") == 0 &&
	    observations(&s[0]) == 3, "%zu series", n);
	hd_metrics_snapshot_free(s);
	hd_metrics_close(m);
}

/* A key (the label values, each with its NUL) takes at most HD_METRICS_KEY_MAX - 1
 * bytes: "p", the route, "GET" and "200" take the route's length and 11 more. */
static void
test_key_length_bound(void)
{
	static const struct { size_t route_len; bool named; } rows[] = {
		{ 1, true }, { HD_METRICS_KEY_MAX - 12, true }, { HD_METRICS_KEY_MAX - 11, false },
		{ HD_METRICS_KEY_MAX, false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char route[HD_METRICS_KEY_MAX + 1];
		const char *labels[] = { "p", route, "GET", "200" };
		struct hd_metrics_series *s = NULL;
		struct hd_metrics *m;
		size_t n = 0;

		memset(route, 'r', rows[i].route_len);
		route[rows[i].route_len] = '\0';
		CHECK(hd_metrics_open(NULL, 16, &m) == HD_OK);
		if (m == NULL)
			return;
		hd_metrics_observe(m, HD_M_REQUESTS, labels, 1);
		CHECK(hd_metrics_snapshot(m, &s, &n) == HD_OK);
		CHECK_MSG(n == 1 && (strcmp(hd_metrics_label(&s[0], 1), route) == 0) ==
		    rows[i].named, "row %zu", i);
		if (n == 1 && rows[i].named)
			CHECK_MSG(strcmp(hd_metrics_label(&s[0], 3), "200") == 0, "row %zu", i);
		hd_metrics_snapshot_free(s);
		hd_metrics_close(m);
	}
}

static void
test_counts_outlive_the_process_and_keep_the_files_capacity(void)
{
	char path[128];
	const char *labels[] = { "herald-test" };
	struct hd_metrics_series *s = NULL;
	struct hd_metrics *m, *other;
	size_t n = 0;

	path_of(path, sizeof(path), "reopen");
	CHECK(hd_metrics_open(path, 32, &m) == HD_OK);
	hd_metrics_add(m, HD_M_DB_RECONNECTS, labels, 2);
	/* A second opener while the first still maps it (its open file outlives the
	 * descriptor, and a lock left on it would hang every later process). */
	CHECK(hd_metrics_open(path, 32, &other) == HD_OK);
	hd_metrics_add(other, HD_M_DB_RECONNECTS, labels, 1);
	hd_metrics_close(other);
	hd_metrics_close(m);
	/* A later process asking for another capacity uses the file's own. */
	CHECK(hd_metrics_open(path, 4096, &m) == HD_OK);
	hd_metrics_add(m, HD_M_DB_RECONNECTS, labels, 3);
	CHECK(hd_metrics_snapshot(m, &s, &n) == HD_OK);
	CHECK(n == 1 && s[0].value == 6);
	hd_metrics_snapshot_free(s);
	hd_metrics_close(m);
}

static void
test_a_file_that_is_not_a_table_is_refused(void)
{
	char path[128];
	struct hd_metrics *m = NULL;
	int fd;

	path_of(path, sizeof(path), "other");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "not a metrics table\n", 20) == 20);
	if (fd >= 0)
		close(fd);
	CHECK(hd_metrics_open(path, 32, &m) == HD_ERR_IO && m == NULL);
	path_of(path, sizeof(path), "no/such/dir");
	CHECK(hd_metrics_open(path, 32, &m) == HD_ERR_IO && m == NULL);
}

static void
test_escape(void)
{
	static const struct { const char *in, *out; } rows[] = {
		{ "plain", "plain" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "line\nfeed", "line\\nfeed" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "", "" },
		{ "utf-8 é", "utf-8 é" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hd_buf b;

		hd_buf_init(&b, 1024);
		CHECK(hd_metrics_text_escape(&b, rows[i].in) == HD_OK);
		CHECK_MSG(strcmp(b.data ? b.data : "", rows[i].out) == 0, "row %zu: %s", i,
		    b.data ? b.data : "");
		hd_buf_free(&b);
	}
}

static void
test_rendering(void)
{
	const char *req[] = { "herald-test", "/x/{id}", "GET", "200" };
	const char *odd[] = { "a\"b", "c\\d\ne" };
	struct hd_metrics *m;
	struct hd_buf b;
	static const char *const want[] = {
		"# HELP herald_http_request_duration_seconds HTTP requests",
		"# TYPE herald_http_request_duration_seconds histogram\n",
		"herald_http_request_duration_seconds_bucket{program=\"herald-test\","
		    "route=\"/x/{id}\",method=\"GET\",status=\"200\",le=\"0.001\"} 1\n",
		"le=\"0.005\"} 1\n",
		"le=\"0.025\"} 2\n",
		"le=\"2.5\"} 2\n",
		"le=\"10\"} 2\n",
		"le=\"+Inf\"} 3\n",
		"herald_http_request_duration_seconds_sum{program=\"herald-test\","
		    "route=\"/x/{id}\",method=\"GET\",status=\"200\"} 20.0205\n",
		"herald_http_request_duration_seconds_count{program=\"herald-test\","
		    "route=\"/x/{id}\",method=\"GET\",status=\"200\"} 3\n",
		"herald_provider_token_refreshes_total{provider=\"a\\\"b\",result=\"c\\\\d\\ne\"} 7\n",
		"# TYPE herald_worker_in_flight_transfers gauge\nherald_worker_in_flight_transfers -2\n",
		"# TYPE herald_db_errors_total counter\n",
	};

	CHECK(hd_metrics_open(NULL, 64, &m) == HD_OK);
	if (m == NULL)
		return;
	hd_metrics_observe(m, HD_M_REQUESTS, req, 500);        /* ≤ 1 ms */
	hd_metrics_observe(m, HD_M_REQUESTS, req, 20000);      /* ≤ 25 ms */
	hd_metrics_observe(m, HD_M_REQUESTS, req, 20000000);   /* over 10 s */
	hd_metrics_add(m, HD_M_TOKEN_REFRESHES, odd, 7);
	hd_metrics_set(m, HD_M_IN_FLIGHT, NULL, -2);
	hd_buf_init(&b, 1 << 20);
	CHECK(hd_metrics_text_table(&b, m) == HD_OK);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_MSG(b.data && strstr(b.data, want[i]) != NULL, "missing: %s", want[i]);
	/* Every line is a comment or a sample: nothing a label value could break. */
	for (char *line = b.data; line && *line; line = strchr(line, '\n') + 1) {
		CHECK_MSG(line[0] == '#' || strncmp(line, "herald_", 7) == 0, "line: %.60s", line);
		if (strchr(line, '\n') == NULL)
			break;
	}
	hd_buf_free(&b);
	hd_metrics_close(m);
}

static void
remove_dir(void)
{
	static const char *const names[] = { "sum", "full", "reopen", "other" };
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(path, sizeof(path), names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_processes_sum_exactly();
	test_full_table_overflows_without_losing_counts();
	test_key_too_long_overflows();
	test_key_length_bound();
	test_counts_outlive_the_process_and_keep_the_files_capacity();
	test_a_file_that_is_not_a_table_is_refused();
	test_escape();
	test_rendering();
	remove_dir();
	UNIT_DONE();
}
