/* The shared metrics table of hd_metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd_log.h"
#include "hd_metrics.h"

/* Processes share the counters through the mapping: the atomics must not hide a lock
 * in one process's memory. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");

#define HD_METRICS_MAGIC "HDMETR01"
/* Slots looked at for a key before its count goes to the overflow series: a bound
 * on the cost of one record when the table is nearly full. */
#define HD_METRICS_PROBES 64
/* How long a reader waits for another process to finish a slot it claimed; a
 * process that died in between leaves the slot unfinished, and it is skipped. */
#define HD_METRICS_CLAIM_SPINS 1000

enum { HD_SLOT_EMPTY, HD_SLOT_CLAIMING, HD_SLOT_READY };

const struct hd_metric_family hd_metric_families[HD_M__MAX] = {
	[HD_M_REQUESTS] = { "herald_http_request_duration_seconds",
	    "HTTP requests served by the FastCGI programs, by route template and status, "
	    "and their time from accept to the last byte written.", HD_MT_HISTOGRAM, 4,
	    { "program", "route", "method", "status" } },
	[HD_M_DELIVERIES] = { "herald_deliveries_total",
	    "Delivery attempts recorded, by provider and the state they left the delivery "
	    "in (delivered, queued for a retry, gone, rejected, expired, lost).",
	    HD_MT_COUNTER, 2, { "provider", "outcome" } },
	[HD_M_PROVIDER_LATENCY] = { "herald_provider_request_duration_seconds",
	    "Time from sending a request to a provider to its answer.", HD_MT_HISTOGRAM, 1,
	    { "provider" } },
	[HD_M_TOKEN_REFRESHES] = { "herald_provider_token_refreshes_total",
	    "Provider auth tokens fetched (FCM, WNS) or offered to the shared token store "
	    "(APNs), by result.", HD_MT_COUNTER, 2, { "provider", "result" } },
	[HD_M_DB_ERRORS] = { "herald_db_errors_total",
	    "Database failures, by program and kind (unavailable, retry, error).",
	    HD_MT_COUNTER, 2, { "program", "kind" } },
	[HD_M_DB_RECONNECTS] = { "herald_db_reconnects_total",
	    "Database connections opened again after one was lost.", HD_MT_COUNTER, 1,
	    { "program" } },
	[HD_M_IN_FLIGHT] = { "herald_worker_in_flight_transfers",
	    "Provider requests the worker has in flight.", HD_MT_GAUGE, 0, { NULL } },
};

const uint64_t hd_metrics_bounds_us[HD_METRICS_BUCKETS] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000,
};

struct hd_metrics_slot {
	_Atomic uint32_t state;
	uint32_t family;
	uint32_t keylen;
	char key[HD_METRICS_KEY_MAX];
	_Atomic uint64_t value;
	_Atomic uint64_t sum_us;
	_Atomic uint64_t buckets[HD_METRICS_BUCKETS + 1];
};

/* The file: this header, one overflow slot per family, then the table. */
struct hd_metrics_header {
	char magic[8];
	uint32_t slot_size;
	uint32_t families;
	uint64_t capacity;
};

struct hd_metrics {
	void *map;
	size_t map_len;
	struct hd_metrics_slot *overflow;   /* HD_M__MAX of them */
	struct hd_metrics_slot *slots;
	size_t capacity;
};

static size_t
hd_metrics_size(size_t capacity)
{
	return sizeof(struct hd_metrics_header) +
	    (HD_M__MAX + capacity) * sizeof(struct hd_metrics_slot);
}

static void
hd_metrics_attach(struct hd_metrics *m, void *map, size_t len, size_t capacity)
{
	m->map = map;
	m->map_len = len;
	m->overflow = (struct hd_metrics_slot *)((char *)map + sizeof(struct hd_metrics_header));
	m->slots = m->overflow + HD_M__MAX;
	m->capacity = capacity;
}

static void
hd_metrics_format(void *map, size_t capacity)
{
	struct hd_metrics_header *h = map;

	memcpy(h->magic, HD_METRICS_MAGIC, sizeof(h->magic));
	h->slot_size = sizeof(struct hd_metrics_slot);
	h->families = HD_M__MAX;
	h->capacity = capacity;
}

/* Whether an existing file holds a table this build can use; *capacity is its own. */
static bool
hd_metrics_layout_ok(int fd, off_t size, size_t *capacity)
{
	struct hd_metrics_header h;

	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, HD_METRICS_MAGIC, sizeof(h.magic)) != 0 ||
	    h.slot_size != sizeof(struct hd_metrics_slot) || h.families != HD_M__MAX ||
	    h.capacity == 0 || h.capacity > SIZE_MAX / sizeof(struct hd_metrics_slot) / 2 ||
	    (off_t)hd_metrics_size((size_t)h.capacity) != size)
		return false;
	*capacity = (size_t)h.capacity;
	return true;
}

/* Opens the file, formats it if it is new; the lock keeps a second process from
 * reading a header the first is still writing. */
static enum hd_err
hd_metrics_open_file(const char *path, size_t capacity, struct hd_metrics *m)
{
	struct stat st;
	void *map = MAP_FAILED;
	size_t len;
	bool fresh = false;
	int fd, saved;
	enum hd_err err = HD_ERR_IO;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660)) < 0)
		return HD_ERR_IO;
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		goto out;
	if (st.st_size == 0) {
		len = hd_metrics_size(capacity);
		if (ftruncate(fd, (off_t)len) != 0)
			goto out;
		fresh = true;
	} else if (!hd_metrics_layout_ok(fd, st.st_size, &capacity)) {
		errno = EINVAL;
		goto out;
	}
	len = hd_metrics_size(capacity);
	if ((map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		goto out;
	if (fresh)
		hd_metrics_format(map, capacity);
	hd_metrics_attach(m, map, len, capacity);
	err = HD_OK;
out:
	saved = errno;
	/* Unlocked by hand: the mapping keeps the open file, and with it a flock(),
	 * after close(). */
	flock(fd, LOCK_UN);
	close(fd);
	errno = saved;
	return err;
}

enum hd_err
hd_metrics_open(const char *path, size_t capacity, struct hd_metrics **out)
{
	struct hd_metrics *m;
	void *map;
	enum hd_err err;

	*out = NULL;
	if (capacity == 0 || capacity > SIZE_MAX / sizeof(struct hd_metrics_slot) / 2)
		return HD_ERR_INTERNAL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return HD_ERR_NOMEM;
	if (path != NULL) {
		if ((err = hd_metrics_open_file(path, capacity, m)) != HD_OK) {
			free(m);
			return err;
		}
	} else {
		map = mmap(NULL, hd_metrics_size(capacity), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED) {
			free(m);
			return HD_ERR_NOMEM;
		}
		hd_metrics_format(map, capacity);
		hd_metrics_attach(m, map, hd_metrics_size(capacity), capacity);
	}
	*out = m;
	return HD_OK;
}

void
hd_metrics_close(struct hd_metrics *m)
{
	if (m == NULL)
		return;
	munmap(m->map, m->map_len);
	free(m);
}

/* The key of a series: its label values, each NUL-terminated. Returns its length, or
 * 0 when it does not fit (or a value is missing): then the series overflows. A family
 * without labels has the one empty key, of length 0 too, which never overflows. */
static size_t
hd_metrics_key(enum hd_metric f, const char *const *labels, char *key)
{
	size_t used = 0;

	for (size_t i = 0; i < hd_metric_families[f].nlabels; i++) {
		size_t n;

		if (labels == NULL || labels[i] == NULL)
			return 0;
		n = strlen(labels[i]) + 1;
		/* The key's last byte stays free: a reader's copy always ends in a NUL. */
		if (n >= HD_METRICS_KEY_MAX - used)
			return 0;
		memcpy(key + used, labels[i], n);
		used += n;
	}
	return used;
}

/* FNV-1a: spreads short keys well, and needs no seed (every process must agree). */
static uint64_t
hd_metrics_hash(enum hd_metric f, const char *key, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037) ^ (uint64_t)f;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* Waits for a slot another process is claiming; false if it stays unfinished. */
static bool
hd_metrics_wait_ready(struct hd_metrics_slot *s)
{
	for (int i = 0; i < HD_METRICS_CLAIM_SPINS; i++) {
		if (atomic_load_explicit(&s->state, memory_order_acquire) == HD_SLOT_READY)
			return true;
		sched_yield();
	}
	return false;
}

static bool
hd_metrics_slot_is(const struct hd_metrics_slot *s, enum hd_metric f, const char *key,
    size_t len)
{
	return s->family == (uint32_t)f && s->keylen == len && memcmp(s->key, key, len) == 0;
}

/* The slot of a series, claimed if new; the family's overflow slot when the key is
 * too long or no slot is free within the probe bound. */
static struct hd_metrics_slot *
hd_metrics_slot(struct hd_metrics *m, enum hd_metric f, const char *const *labels)
{
	char key[HD_METRICS_KEY_MAX];
	size_t len = hd_metrics_key(f, labels, key);
	size_t at;
	uint64_t h;

	if (len == 0 && hd_metric_families[f].nlabels > 0)
		return &m->overflow[f];
	h = hd_metrics_hash(f, key, len);
	at = (size_t)(h % m->capacity);
	for (size_t probe = 0; probe < HD_METRICS_PROBES && probe < m->capacity; probe++) {
		struct hd_metrics_slot *s = &m->slots[(at + probe) % m->capacity];
		uint32_t state = atomic_load_explicit(&s->state, memory_order_acquire);

		if (state == HD_SLOT_EMPTY) {
			uint32_t expected = HD_SLOT_EMPTY;

			if (atomic_compare_exchange_strong_explicit(&s->state, &expected,
			    HD_SLOT_CLAIMING, memory_order_acq_rel, memory_order_acquire)) {
				s->family = (uint32_t)f;
				s->keylen = (uint32_t)len;
				memcpy(s->key, key, len);
				atomic_store_explicit(&s->state, HD_SLOT_READY, memory_order_release);
				return s;
			}
			state = expected;
		}
		if (state == HD_SLOT_CLAIMING && !hd_metrics_wait_ready(s))
			continue;
		if (hd_metrics_slot_is(s, f, key, len))
			return s;
	}
	return &m->overflow[f];
}

void
hd_metrics_add(struct hd_metrics *m, enum hd_metric f, const char *const *labels,
    uint64_t n)
{
	if (m == NULL || (unsigned)f >= HD_M__MAX)
		return;
	atomic_fetch_add_explicit(&hd_metrics_slot(m, f, labels)->value, n,
	    memory_order_relaxed);
}

void
hd_metrics_set(struct hd_metrics *m, enum hd_metric f, const char *const *labels,
    int64_t v)
{
	if (m == NULL || (unsigned)f >= HD_M__MAX)
		return;
	atomic_store_explicit(&hd_metrics_slot(m, f, labels)->value, (uint64_t)v,
	    memory_order_relaxed);
}

void
hd_metrics_observe(struct hd_metrics *m, enum hd_metric f, const char *const *labels,
    uint64_t us)
{
	struct hd_metrics_slot *s;
	size_t b = 0;

	if (m == NULL || (unsigned)f >= HD_M__MAX)
		return;
	s = hd_metrics_slot(m, f, labels);
	while (b < HD_METRICS_BUCKETS && us > hd_metrics_bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
}

static struct hd_metrics *hd_metrics_table;
static const char *hd_metrics_name = "herald";

void
hd_metrics_setup(const char *path, const char *program)
{
	enum hd_err err;

	if (program)
		hd_metrics_name = program;
	errno = 0;
	if ((err = hd_metrics_open(path, HD_METRICS_CAPACITY, &hd_metrics_table)) != HD_OK)
		hd_log_warn("metrics file %s unusable (%s%s%s): serving without metrics",
		    path ? path : "(memory)", hd_strerror(err), errno ? ": " : "",
		    errno ? strerror(errno) : "");
}

void
hd_metrics_teardown(void)
{
	hd_metrics_close(hd_metrics_table);
	hd_metrics_table = NULL;
}

struct hd_metrics *
hd_metrics_process(void)
{
	return hd_metrics_table;
}

const char *
hd_metrics_program(void)
{
	return hd_metrics_name;
}

void
hd_metrics_count(enum hd_metric f, const char *const *labels, uint64_t n)
{
	hd_metrics_add(hd_metrics_table, f, labels, n);
}

void
hd_metrics_time(enum hd_metric f, const char *const *labels, uint64_t us)
{
	hd_metrics_observe(hd_metrics_table, f, labels, us);
}

void
hd_metrics_gauge(enum hd_metric f, const char *const *labels, int64_t v)
{
	hd_metrics_set(hd_metrics_table, f, labels, v);
}

/* Copies a slot's counters and finds its labels in its key. */
static void
hd_metrics_read(struct hd_metrics_slot *s, enum hd_metric f, bool overflow,
    struct hd_metrics_series *out)
{
	static const char overflow_value[] = "_overflow";
	size_t at = 0;

	memset(out, 0, sizeof(*out));
	out->family = f;
	out->value = atomic_load_explicit(&s->value, memory_order_relaxed);
	out->sum_us = atomic_load_explicit(&s->sum_us, memory_order_relaxed);
	for (size_t b = 0; b <= HD_METRICS_BUCKETS; b++)
		out->buckets[b] = atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
	if (overflow) {
		/* Every label of an overflow series reads "_overflow" (offset 0). */
		memcpy(out->key, overflow_value, sizeof(overflow_value));
		return;
	}
	/* A length no writer makes (a damaged file) reads as an empty key. */
	memcpy(out->key, s->key, s->keylen < HD_METRICS_KEY_MAX ? s->keylen : 0);
	for (size_t i = 0; i < hd_metric_families[f].nlabels; i++) {
		out->label_at[i] = (unsigned short)at;
		at += strnlen(out->key + at, HD_METRICS_KEY_MAX - 1 - at) + 1;
		if (at >= HD_METRICS_KEY_MAX)
			at = HD_METRICS_KEY_MAX - 1;   /* the key's last byte stays NUL */
	}
}

const char *
hd_metrics_label(const struct hd_metrics_series *s, size_t i)
{
	return s->key + s->label_at[i];
}

static bool
hd_metrics_touched(const struct hd_metrics_series *s)
{
	if (s->value != 0)
		return true;
	for (size_t b = 0; b <= HD_METRICS_BUCKETS; b++)
		if (s->buckets[b] != 0)
			return true;
	return false;
}

static int
hd_metrics_cmp(const void *a, const void *b)
{
	const struct hd_metrics_series *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	for (size_t i = 0; i < hd_metric_families[x->family].nlabels; i++) {
		int c = strcmp(hd_metrics_label(x, i), hd_metrics_label(y, i));

		if (c != 0)
			return c;
	}
	return 0;
}

/* Adds b's counts into a: one series in two slots, when a process that died while
 * claiming a slot left it unfinished and the series was claimed again further on. */
static void
hd_metrics_merge(struct hd_metrics_series *a, const struct hd_metrics_series *b)
{
	a->value += b->value;
	a->sum_us += b->sum_us;
	for (size_t i = 0; i <= HD_METRICS_BUCKETS; i++)
		a->buckets[i] += b->buckets[i];
}

enum hd_err
hd_metrics_snapshot(struct hd_metrics *m, struct hd_metrics_series **out, size_t *n)
{
	struct hd_metrics_series *s;
	size_t used = 0, kept = 0;

	*out = NULL;
	*n = 0;
	if ((s = calloc(m->capacity + HD_M__MAX, sizeof(*s))) == NULL)
		return HD_ERR_NOMEM;
	for (size_t i = 0; i < m->capacity; i++) {
		struct hd_metrics_slot *slot = &m->slots[i];

		if (atomic_load_explicit(&slot->state, memory_order_acquire) != HD_SLOT_READY ||
		    slot->family >= HD_M__MAX)
			continue;
		hd_metrics_read(slot, (enum hd_metric)slot->family, false, &s[used++]);
	}
	for (size_t f = 0; f < HD_M__MAX; f++) {
		hd_metrics_read(&m->overflow[f], (enum hd_metric)f, true, &s[used]);
		if (hd_metrics_touched(&s[used]))
			used++;
	}
	qsort(s, used, sizeof(*s), hd_metrics_cmp);
	for (size_t i = 0; i < used; i++) {
		if (kept > 0 && hd_metrics_cmp(&s[kept - 1], &s[i]) == 0)
			hd_metrics_merge(&s[kept - 1], &s[i]);
		else if (kept++ != i)
			s[kept - 1] = s[i];
	}
	*out = s;
	*n = kept;
	return HD_OK;
}

void
hd_metrics_snapshot_free(struct hd_metrics_series *s)
{
	free(s);
}
