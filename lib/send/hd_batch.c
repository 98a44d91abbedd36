/* The committer thread and its batch call (see hd_batch.h). */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "hd_backlog.h"
#include "hd_batch.h"
#include "hd_buf.h"
#include "hd_db.h"
#include "hd_log.h"
#include "hd_text.h"
#include "hd_time.h"

/* Seconds between deletions of stale rate-limit rows, per process. */
#define HD_BATCH_HOUSEKEEPING_EVERY 5
/* Items per batch the procedure can tell apart (its index is 16 bits). */
#define HD_BATCH_MAX_ITEMS 4096
/* Every send's fields are bounded by its dialect's limits; this bounds the JSON text
 * of a whole batch all the same. */
#define HD_BATCH_MAX_JSON (64u * 1024 * 1024)

static const char SQL_SEND_BATCH[] = "CALL hd_send_batch(?, ?, ?, ?, ?)";

struct hd_batch {
	const struct hd_config *cfg;
	struct hd_db *db;             /* the committer's own connection */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;          /* signalled when a send is queued or on stop */
	struct hd_batch_send *head, *tail;
	unsigned long queued;         /* sends in the queue */
	bool stopping;
	time_t last_housekeeping;
	struct hd_buf json;
	struct hd_batch_send **items; /* the running batch, send_batch_max long */
	/* Batch sizes since the last summary line, for the log (docs/performance.md):
	 * sizes[k] counts the batches of k sends. */
	unsigned long *sizes;
	unsigned long batches, sends;
};

/* Appends s[0..len) as a JSON string (UTF-8 passes through: it was validated). */
static enum hd_err
hd_batch_json_str(struct hd_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	enum hd_err err = hd_buf_append(b, "\"", 1);
	size_t run = 0;

	for (size_t i = 0; err == HD_OK && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((err = hd_buf_append(b, s + run, i - run)) != HD_OK)
			break;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			err = hd_buf_append(b, esc, 2);
		} else
			err = hd_buf_append(b, esc, sizeof(esc));
		run = i + 1;
	}
	if (err == HD_OK)
		err = hd_buf_append(b, s + run, len - run);
	return err == HD_OK ? hd_buf_append(b, "\"", 1) : err;
}

/* p is an address (16 bytes at most) or a SHA-256 (32). */
static enum hd_err
hd_batch_json_hex(struct hd_buf *b, const char *name, const unsigned char *p, size_t len)
{
	char hex[2 * 32 + 1];

	if (len > 32)
		return HD_ERR_INTERNAL;
	hd_hex_encode(p, len, hex);
	return hd_buf_printf(b, ",\"%s\":\"%s\"", name, hex);
}

static enum hd_err
hd_batch_json_opt(struct hd_buf *b, const char *name, const char *s, size_t len)
{
	enum hd_err err;

	if (s == NULL)
		return HD_OK;
	if ((err = hd_buf_printf(b, ",\"%s\":", name)) != HD_OK)
		return err;
	return hd_batch_json_str(b, s, len);
}

/* One send as an element of the batch's JSON array (fields: migration 0008). */
static enum hd_err
hd_batch_json_item(struct hd_buf *b, size_t i, const struct hd_batch_send *s)
{
	const struct hd_admission *a = s->adm;
	const struct hd_message *m = s->m;
	unsigned char addr[16], hash[32];
	size_t addrlen = hd_addr_key(a->addr, addr);
	enum hd_err err;

	if ((err = hd_buf_printf(b, "%s{\"i\":%zu,\"l\":%u,\"k\":\"%s\",\"s\":\"%s\",\"b\":%d,"
	    "\"p\":%d", i ? "," : "", i, a->rate_limit, hd_key_kind_name(a->kind),
	    hd_source_name(m->source), (int)s->t->by, m->priority)) != HD_OK)
		return err;
	if ((err = hd_batch_json_hex(b, "a", addr, addrlen)) != HD_OK)
		return err;
	if (a->key && hd_key_acceptable(a->kind, a->key_len)) {
		if ((err = hd_sha256(a->key, a->key_len, hash)) != HD_OK ||
		    (err = hd_batch_json_hex(b, "h", hash, sizeof(hash))) != HD_OK)
			return err;
	}
	if (a->tenant_id >= 0 && (err = hd_buf_printf(b, ",\"c\":%lld",
	    (long long)a->tenant_id)) != HD_OK)
		return err;
	if (m->ttl_s >= 0 && (err = hd_buf_printf(b, ",\"ttl\":%lld",
	    (long long)m->ttl_s)) != HD_OK)
		return err;
	if (m->schedule_at > hd_now_usec() && (err = hd_buf_printf(b, ",\"at\":%lld",
	    (long long)m->schedule_at)) != HD_OK)
		return err;
	if ((err = hd_batch_json_opt(b, "t", s->t->value, s->t->len)) != HD_OK ||
	    (err = hd_batch_json_opt(b, "ti", m->title, m->title_len)) != HD_OK ||
	    (err = hd_batch_json_opt(b, "bo", m->body, m->body_len)) != HD_OK ||
	    (err = hd_batch_json_opt(b, "d", m->data_json,
	        m->data_json ? strlen(m->data_json) : 0)) != HD_OK ||
	    (err = hd_batch_json_opt(b, "so", m->sound, m->sound ? strlen(m->sound) : 0)) != HD_OK ||
	    (err = hd_batch_json_opt(b, "dk", m->dedupe_key, m->dedupe_len)) != HD_OK)
		return err;
	return hd_buf_append(b, "}", 1);
}

/* A random base for the batch's message rows: 46 random bits above 16 zero bits. */
static enum hd_err
hd_batch_ref(int64_t *out)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return HD_ERR_CRYPTO;
	*out = (int64_t)((r >> 18) << 16);
	return HD_OK;
}

/* Runs items[0..n) as one CALL, rerun whole after a deadlock. */
static enum hd_err
hd_batch_call(struct hd_batch *b, struct hd_batch_send **items, size_t n)
{
	int64_t i = 0, state = 0, count = 0, found = 0, retry = 0, ref;
	struct hd_dbc cols[7] = {
		{ .type = HD_DBT_I64, .num = &i },
		{ .type = HD_DBT_I64, .num = &state },
		{ .type = HD_DBT_I64, .num = &count },
		{ .type = HD_DBT_I64, .num = &found },
		{ .type = HD_DBT_I64, .num = &retry },
		{ .type = HD_DBT_TEXT, .cap = sizeof(items[0]->res.first_target) },
		{ .type = HD_DBT_TEXT, .cap = sizeof(items[0]->app_uid) },
	};
	char first_target[sizeof(items[0]->res.first_target)], app_uid[sizeof(items[0]->app_uid)];
	enum hd_err err = HD_ERR_DB_RETRY;
	size_t answered = 0;
	bool row = false;

	cols[5].buf = first_target;
	cols[6].buf = app_uid;
	hd_buf_reset(&b->json);
	err = hd_buf_append(&b->json, "[", 1);
	for (size_t k = 0; err == HD_OK && k < n; k++)
		err = hd_batch_json_item(&b->json, k, items[k]);
	if (err == HD_OK)
		err = hd_buf_append(&b->json, "]", 1);
	if (err == HD_OK)
		err = hd_batch_ref(&ref);
	if (err != HD_OK)
		return err;
	err = HD_ERR_DB_RETRY;
	for (int attempt = 0; attempt < HD_DB_TXN_ATTEMPTS && err == HD_ERR_DB_RETRY; attempt++) {
		struct hd_dbp p[5] = {
			HD_DBP_TEXT(b->json.data, b->json.len),
			HD_DBP_U64(ref),
			HD_DBP_U64(attempt == 0),
			HD_DBP_U64(b->cfg->max_queue_backlog),
			HD_DBP_U64(HD_BACKLOG_FRESH_S),
		};

		hd_db_request_start(b->db);
		if ((err = hd_db_query(b->db, SQL_SEND_BATCH, p, 5, cols, 7)) != HD_OK) {
			if (err == HD_ERR_DB_RETRY)
				hd_log_debug("send batch conflict, attempt %d", attempt + 1);
			continue;
		}
		answered = 0;
		while ((err = hd_db_fetch(b->db, &row)) == HD_OK && row) {
			struct hd_batch_send *s;

			if (i < 0 || (size_t)i >= n || state < 0 || state >= HD_BS__MAX) {
				err = HD_ERR_DB;
				break;
			}
			s = items[i];
			s->state = (enum hd_batch_state)state;
			s->res.push_count = (unsigned)count;
			s->res.replayed = state == HD_BS_REPLAY;
			s->res.disabled = state == HD_BS_DISABLED;
			s->res.user_found = found != 0;
			s->res.user_ambiguous = found == 2;
			s->res.quota_retry_after = cols[4].is_null ? 0 : (unsigned)retry;
			memcpy(s->res.first_target, cols[5].is_null ? "" : first_target,
			    cols[5].is_null ? 1 : cols[5].len + 1);
			memcpy(s->app_uid, cols[6].is_null ? "" : app_uid,
			    cols[6].is_null ? 1 : cols[6].len + 1);
			answered++;
		}
		hd_db_done(b->db);
		if (err == HD_OK && answered != n)
			err = HD_ERR_DB;
	}
	return err;
}

/* A batch of one goes the way of an unbatched send (hd_admit, then hd_send): with
 * nothing to share, the two small procedures cost the database less than the batch
 * procedure's set-up, so a lone send is as quick as before batching. The decisions
 * are the same ones, taken by the same keys. */
static enum hd_err
hd_batch_call_one(struct hd_batch *b, struct hd_batch_send *s)
{
	const struct hd_admission *a = s->adm;
	struct hd_principal who;
	bool limited, found, over = false;
	enum hd_err err;

	hd_db_request_start(b->db);
	if ((err = hd_admit(b->db, a->addr, a->rate_limit, a->kind, a->key, a->key_len, &who,
	    &limited, &found)) != HD_OK)
		return err;
	s->state = HD_BS_STORED;
	if (limited)
		s->state = HD_BS_LIMITED;
	else if (!found || (a->tenant_id >= 0 && who.tenant_id != (uint64_t)a->tenant_id))
		s->state = HD_BS_BAD_KEY;
	else if (b->cfg->max_queue_backlog > 0 &&
	    (err = hd_backlog_over(b->db, b->cfg->max_queue_backlog, &over)) != HD_OK)
		return err;
	else if (over)
		s->state = HD_BS_BACKLOG;
	if (s->state != HD_BS_STORED)
		return HD_OK;
	if ((err = hd_send(b->db, &who, s->t, s->m, &s->res)) != HD_OK)
		return err;
	memcpy(s->app_uid, who.app_uid, sizeof(s->app_uid));
	return HD_OK;
}

/* Logs the sizes of the batches run since the last summary (bench/run reads the
 * "k:n" pairs: n batches of k sends), and starts anew. */
static void
hd_batch_summary(struct hd_batch *b)
{
	unsigned long seen = 0, median = 0;
	char sizes[640] = "";
	size_t used = 0;

	if (b->batches == 0)
		return;
	for (size_t k = 1; k <= b->cfg->send_batch_max; k++) {
		int n;

		if (b->sizes[k] == 0)
			continue;
		if (seen < (b->batches + 1) / 2 && seen + b->sizes[k] >= (b->batches + 1) / 2)
			median = k;
		seen += b->sizes[k];
		n = snprintf(sizes + used, sizeof(sizes) - used, " %zu:%lu", k, b->sizes[k]);
		if (n > 0 && (size_t)n < sizeof(sizes) - used)
			used += (size_t)n;
	}
	hd_log_info("send batches: %lu sends in %lu batches, median size %lu; sizes%s",
	    b->sends, b->batches, median, sizes);
	memset(b->sizes, 0, (b->cfg->send_batch_max + 1) * sizeof(*b->sizes));
	b->batches = b->sends = 0;
}

static void
hd_batch_housekeeping(struct hd_batch *b)
{
	time_t now = time(NULL);

	if (now - b->last_housekeeping < HD_BATCH_HOUSEKEEPING_EVERY)
		return;
	b->last_housekeeping = now;
	hd_db_request_start(b->db);
	if (hd_admit_housekeeping(b->db) != HD_OK)
		hd_log_warn("rate-limit housekeeping failed");
	hd_batch_summary(b);
}

/* A send's semaphore failed, which only an invalid semaphore can make it do. The
 * send is shared between its request thread and the committer, so neither may go on
 * as if it had been handed back: one would free what the other still writes, or a
 * request thread would wait for good without a trace. */
static _Noreturn void
hd_batch_broken(const char *what)
{
	hd_log_error("send batcher: %s failed (errno %d)", what, errno);
	abort();
}

static void *
hd_batch_main(void *arg)
{
	struct hd_batch *b = arg;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct timespec until;
		size_t n = 0;
		enum hd_err err;

		if (b->head == NULL && !b->stopping) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&b->work, &b->lock, &until);
		}
		if (b->head == NULL) {
			if (b->stopping)
				break;
			pthread_mutex_unlock(&b->lock);
			hd_batch_housekeeping(b);
			pthread_mutex_lock(&b->lock);
			continue;
		}
		while (b->head && n < b->cfg->send_batch_max) {
			b->items[n++] = b->head;
			b->head = b->head->next;
			b->queued--;
		}
		if (b->head == NULL)
			b->tail = NULL;
		pthread_mutex_unlock(&b->lock);

		err = n == 1 ? hd_batch_call_one(b, b->items[0]) : hd_batch_call(b, b->items, n);
		hd_log_debug("send batch of %zu: %s", n, hd_strerror(err));
		b->batches++;
		b->sends += n;
		b->sizes[n]++;

		/* A send belongs to its request thread again once posted: not touched after. */
		for (size_t k = 0; k < n; k++) {
			b->items[k]->err = err;
			if (sem_post(&b->items[k]->done) != 0)
				hd_batch_broken("sem_post");
		}
		pthread_mutex_lock(&b->lock);
		if (time(NULL) - b->last_housekeeping >= HD_BATCH_HOUSEKEEPING_EVERY) {
			pthread_mutex_unlock(&b->lock);
			hd_batch_housekeeping(b);
			pthread_mutex_lock(&b->lock);
		}
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

enum hd_err
hd_batch_start(const struct hd_config *cfg, struct hd_batch **out)
{
	struct hd_batch *b;
	size_t max = cfg->send_batch_max;
	enum hd_err err = HD_ERR_NOMEM;

	*out = NULL;
	if (max == 0 || max > HD_BATCH_MAX_ITEMS)
		return HD_ERR_CONFIG;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return HD_ERR_NOMEM;
	b->cfg = cfg;
	b->last_housekeeping = time(NULL);
	hd_buf_init(&b->json, HD_BATCH_MAX_JSON);
	if ((b->items = calloc(max, sizeof(*b->items))) == NULL ||
	    (b->sizes = calloc(max + 1, sizeof(*b->sizes))) == NULL)
		goto fail;
	if ((err = hd_db_new(cfg, HD_DB_REQUESTS, &b->db)) != HD_OK)
		goto fail;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->work, NULL);
	if (pthread_create(&b->thread, NULL, hd_batch_main, b) != 0) {
		pthread_cond_destroy(&b->work);
		pthread_mutex_destroy(&b->lock);
		err = HD_ERR_INTERNAL;
		goto fail;
	}
	*out = b;
	return HD_OK;
fail:
	hd_db_free(b->db);
	free(b->sizes);
	free(b->items);
	free(b);
	return err;
}

void
hd_batch_stop(struct hd_batch *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stopping = true;
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	hd_batch_summary(b);
	pthread_cond_destroy(&b->work);
	pthread_mutex_destroy(&b->lock);
	hd_db_free(b->db);
	hd_buf_free(&b->json);
	free(b->sizes);
	free(b->items);
	free(b);
}

void
hd_batch_run(struct hd_batch *b, struct hd_batch_send *s)
{
	s->next = NULL;
	s->err = HD_ERR_INTERNAL;
	memset(&s->res, 0, sizeof(s->res));
	s->app_uid[0] = '\0';
	if (sem_init(&s->done, 0, 0) != 0) {
		hd_log_error("send batcher: sem_init failed (errno %d)", errno);
		return;
	}
	pthread_mutex_lock(&b->lock);
	if (b->tail)
		b->tail->next = s;
	else
		b->head = s;
	b->tail = s;
	b->queued++;
	/* Tests wait for this line to know that sends are queued behind a batch. */
	hd_log_debug("send queued (%lu waiting)", b->queued);
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->lock);
	/* Request threads block SIGTERM; EINTR would still only mean "wait on". */
	while (sem_wait(&s->done) != 0)
		if (errno != EINTR)
			hd_batch_broken("sem_wait");
	sem_destroy(&s->done);
}
