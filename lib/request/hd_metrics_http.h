/*
 * The request path's share of the metrics (docs/metrics.md): one record per request
 * into the process table (hd_metrics.h), keyed by the endpoint's path template, never
 * the raw path, and the /metrics page, which adds what the database knows at scrape
 * time (the queue, whether the database answers) to the shared table's counters.
 */
#ifndef HD_METRICS_HTTP_H
#define HD_METRICS_HTTP_H

#include <stdint.h>

#include "hd_buf.h"
#include "hd_db.h"
#include "hd_request.h"

/* Counts one served request: route is the matched endpoint's path template, or NULL
 * for a request no endpoint matched; us is its time from accept to the answer. */
void hd_metrics_http_request(const char *program, const char *route, enum hd_method method,
    int status, uint64_t us);

/* Renders the /metrics page into out. The database's figures are left out, and
 * herald_database_up says 0, when it cannot answer; only a full buffer fails. */
enum hd_err hd_metrics_http_page(struct hd_db *db, struct hd_buf *out);

#endif
