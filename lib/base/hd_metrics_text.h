/*
 * The Prometheus text exposition format, version 0.0.4: HELP and TYPE lines, label
 * values escaped (backslash, double quote, line feed), histograms as cumulative
 * _bucket{le="…"} series with _sum and _count. The caller owns the buffer; every
 * function appends to it and returns HD_ERR_NOMEM when the buffer's cap is reached.
 */
#ifndef HD_METRICS_TEXT_H
#define HD_METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "hd_buf.h"
#include "hd_metrics.h"

#define HD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The HELP and TYPE lines of a metric family. */
enum hd_err hd_metrics_text_header(struct hd_buf *b, const char *name, const char *help,
    enum hd_metric_type type);
/* One sample line: name{names[i]="values[i]",…} value. */
enum hd_err hd_metrics_text_sample(struct hd_buf *b, const char *name,
    const char *const *names, const char *const *values, size_t n, const char *value);
/* Appends value in its exposition form: backslash, double quote and line feed
 * escaped. */
enum hd_err hd_metrics_text_escape(struct hd_buf *b, const char *value);
/* Every family of the table, each with its HELP and TYPE lines, even with no series
 * yet (a series absent from a scrape reads as never counted). */
enum hd_err hd_metrics_text_table(struct hd_buf *b, struct hd_metrics *m);

/* Writes the table to path the way Prometheus' textfile collector wants it: rendered
 * into a temporary file beside it, then renamed over it, so a scrape never reads half
 * a file. HD_ERR_IO (errno set) when it cannot be written. */
enum hd_err hd_metrics_text_write_file(struct hd_metrics *m, const char *path);

#endif
