/* The request path's metrics of hd_metrics_http.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd_log.h"
#include "hd_metrics.h"
#include "hd_metrics_text.h"
#include "hd_metrics_http.h"
#include "hd_queue_stats.h"

void
hd_metrics_http_request(const char *program, const char *route, enum hd_method method,
    int status, uint64_t us)
{
	char code[8];
	const char *labels[4];

	/* A status outside HTTP's range would be a bug; it still gets one bounded key. */
	snprintf(code, sizeof(code), "%d", status >= 100 && status <= 599 ? status : 0);
	labels[0] = program;
	labels[1] = route ? route : "unmatched";
	labels[2] = hd_method_name(method);
	labels[3] = code;
	hd_metrics_time(HD_M_REQUESTS, labels, us);
}

static enum hd_err
hd_metrics_http_queue(struct hd_buf *out, const struct hd_queue_row *rows, size_t n)
{
	static const char *const names[] = { "state", "priority" };
	int64_t oldest = 0;
	char prio[24], num[32];
	enum hd_err err;

	if ((err = hd_metrics_text_header(out, "herald_queue_deliveries",
	    "Deliveries in the queue (queued, or sending under a lease), by state and "
	    "priority, read from the database at scrape time.", HD_MT_GAUGE)) != HD_OK)
		return err;
	for (size_t i = 0; i < n; i++) {
		const char *values[] = { rows[i].state, prio };

		snprintf(prio, sizeof(prio), "%" PRId64, rows[i].priority);
		snprintf(num, sizeof(num), "%" PRId64, rows[i].deliveries);
		if ((err = hd_metrics_text_sample(out, "herald_queue_deliveries", names, values,
		    2, num)) != HD_OK)
			return err;
		if (strcmp(rows[i].state, "queued") == 0 && rows[i].oldest_due_us > oldest)
			oldest = rows[i].oldest_due_us;
	}
	if ((err = hd_metrics_text_header(out, "herald_queue_oldest_due_age_seconds",
	    "How long the oldest queued delivery that is due has waited; 0 when none is "
	    "due.", HD_MT_GAUGE)) != HD_OK)
		return err;
	snprintf(num, sizeof(num), "%" PRId64 ".%06" PRId64, oldest / 1000000, oldest % 1000000);
	return hd_metrics_text_sample(out, "herald_queue_oldest_due_age_seconds", NULL, NULL, 0,
	    num);
}

enum hd_err
hd_metrics_http_page(struct hd_db *db, struct hd_buf *out)
{
	struct hd_queue_row *rows = NULL;
	size_t n = 0;
	enum hd_err err, dberr;

	if ((err = hd_metrics_text_table(out, hd_metrics_process())) != HD_OK)
		return err;
	dberr = hd_queue_stats(db, &rows, &n);
	if (dberr != HD_OK)
		hd_log_warn("metrics: the queue could not be read: %s", hd_strerror(dberr));
	if ((err = hd_metrics_text_header(out, "herald_database_up",
	    "Whether the database answered this scrape's queries (1) or not (0).",
	    HD_MT_GAUGE)) != HD_OK ||
	    (err = hd_metrics_text_sample(out, "herald_database_up", NULL, NULL, 0,
	    dberr == HD_OK ? "1" : "0")) != HD_OK)
		goto out;
	if (dberr == HD_OK)
		err = hd_metrics_http_queue(out, rows, n);
out:
	free(rows);
	return err;
}
