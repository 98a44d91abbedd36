/*
 * Counters that stay true across processes (docs/metrics.md). A metrics table is a
 * fixed-capacity, open-addressed table of series in a file that every FastCGI process
 * of a host maps (MAP_SHARED), so /metrics adds up every process of every program,
 * and the counts outlive the processes that made them. A series is one metric family
 * and its label values; each slot holds C11 atomic counters (a value, a latency sum
 * in microseconds and fixed latency buckets). Slots are claimed with a compare-and-
 * swap; a reader skips a slot whose claimer has not finished it. When the table is
 * full, or a key is too long, the count goes to the family's overflow series: counts
 * are never lost and the table never corrupts.
 *
 * Label values must be bounded sets (route templates, provider names, statuses):
 * never a raw path or anything else a client chooses.
 *
 * The process table (hd_metrics_setup) is what the hooks in the library record into:
 * the shared file in the FastCGI programs, a private mapping in the worker. Without
 * one, recording does nothing. Memory: a table owns its mapping; snapshots are owned
 * by the caller (hd_metrics_snapshot_free).
 */
#ifndef HD_METRICS_H
#define HD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "hd_error.h"

enum hd_metric {
	HD_M_REQUESTS,          /* histogram: program, route, method, status */
	HD_M_DELIVERIES,        /* counter: provider, outcome */
	HD_M_PROVIDER_LATENCY,  /* histogram: provider */
	HD_M_TOKEN_REFRESHES,   /* counter: provider, result */
	HD_M_DB_ERRORS,         /* counter: program, kind */
	HD_M_DB_RECONNECTS,     /* counter: program */
	HD_M_IN_FLIGHT,         /* gauge: program */
	HD_M__MAX
};

enum hd_metric_type { HD_MT_COUNTER, HD_MT_GAUGE, HD_MT_HISTOGRAM };

#define HD_METRICS_LABELS_MAX 4
/* Upper bounds of the latency buckets, in microseconds; one more bucket counts the
 * rest (+Inf). */
#define HD_METRICS_BUCKETS 12
/* Series in the table a program creates (docs/metrics.md counts what herald uses). */
#define HD_METRICS_CAPACITY 2048
/* Bytes of a series' label values, each NUL-terminated; a longer key overflows. */
#define HD_METRICS_KEY_MAX 160

struct hd_metric_family {
	const char *name;
	const char *help;
	enum hd_metric_type type;
	size_t nlabels;
	const char *labels[HD_METRICS_LABELS_MAX];
};

extern const struct hd_metric_family hd_metric_families[HD_M__MAX];
extern const uint64_t hd_metrics_bounds_us[HD_METRICS_BUCKETS];

struct hd_metrics;

/* Opens the table in the file at path, creating it (mode 0660, with capacity
 * series) when it is missing or empty; an existing table keeps its own capacity.
 * path NULL: a private table in this process's memory. HD_ERR_IO when the file cannot
 * be opened, mapped or is not a metrics table. */
enum hd_err hd_metrics_open(const char *path, size_t capacity, struct hd_metrics **out);
void hd_metrics_close(struct hd_metrics *m);

/* Adds n to a counter series; labels holds the family's label values. */
void hd_metrics_add(struct hd_metrics *m, enum hd_metric f, const char *const *labels,
    uint64_t n);
/* Sets a gauge series. */
void hd_metrics_set(struct hd_metrics *m, enum hd_metric f, const char *const *labels,
    int64_t v);
/* Records one observation of a histogram series, in microseconds. */
void hd_metrics_observe(struct hd_metrics *m, enum hd_metric f, const char *const *labels,
    uint64_t us);

/* The process table: opened from path (NULL: a private one) for program (kept, as a
 * label value). A table that cannot be opened is logged once and the process goes
 * on without metrics. Call before starting threads; hd_metrics_teardown() at exit. */
void hd_metrics_setup(const char *path, const char *program);
void hd_metrics_teardown(void);
/* The process table (NULL when there is none) and its program name. */
struct hd_metrics *hd_metrics_process(void);
const char *hd_metrics_program(void);
/* The same recorders, on the process table. */
void hd_metrics_count(enum hd_metric f, const char *const *labels, uint64_t n);
void hd_metrics_time(enum hd_metric f, const char *const *labels, uint64_t us);
void hd_metrics_gauge(enum hd_metric f, const char *const *labels, int64_t v);

/* A series as read at one moment; hd_metrics_label() reads its label values. */
struct hd_metrics_series {
	enum hd_metric family;
	unsigned short label_at[HD_METRICS_LABELS_MAX];   /* offsets into key */
	uint64_t value;                 /* counter; a gauge as two's complement */
	uint64_t sum_us;                /* histogram */
	uint64_t buckets[HD_METRICS_BUCKETS + 1];   /* per bucket, not cumulative */
	char key[HD_METRICS_KEY_MAX];
};

/* Reads every finished series (the overflow series that counted something
 * included), sorted by family then labels, one per key. The caller frees *out with
 * hd_metrics_snapshot_free(). */
enum hd_err hd_metrics_snapshot(struct hd_metrics *m, struct hd_metrics_series **out,
    size_t *n);
void hd_metrics_snapshot_free(struct hd_metrics_series *s);
/* The value of label i of s (borrowed from s). */
const char *hd_metrics_label(const struct hd_metrics_series *s, size_t i);

#endif
