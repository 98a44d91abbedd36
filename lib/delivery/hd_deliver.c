/* The delivery layer (see hd_deliver.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "hd_creds.h"
#include "hd_deliver.h"
#include "hd_log.h"
#include "hd_metrics.h"
#include "hd_random.h"
#include "hd_time.h"

/* Retries back off from 1 s, doubling, up to an hour, each with jitter (half the step
 * is random) so that deliveries refused together do not return together. */
#define HD_BACKOFF_BASE_US HD_USEC_PER_SEC
#define HD_BACKOFF_MAX_US (3600 * HD_USEC_PER_SEC)

/* The claim's result columns (hd_claim_deliveries in schema/migrations/0004). */
enum claim_col { K_ID, K_ATTEMPT, K_APP, K_PLATFORM, K_TOKEN, K_P256DH, K_AUTH, K_TITLE,
	K_BODY, K_DATA, K_SOUND, K_PRIORITY, K_EXPIRES, K_EXTRAS, K_CREDS_AT, K__MAX };

/* Text column capacities: the schema's column sizes in bytes, plus the NUL. */
static const size_t hd_claim_caps[K__MAX] = {
	[K_PLATFORM] = 16, [K_TOKEN] = 2049, [K_P256DH] = 129, [K_AUTH] = 65,
	[K_TITLE] = 4097, [K_BODY] = 65536, [K_DATA] = 65536, [K_SOUND] = 1021,
	[K_EXTRAS] = 65536,
};

struct hd_item {
	struct hd_deliverer *d;
	uint64_t id;
	int64_t attempt;
	uint64_t app_id;
	int64_t creds_at;         /* the app's credentials version the claim saw */
	char owner[33];           /* the claim's lease owner: fresh for every claim, so an
	                             outcome recorded late cannot land on a later claim of
	                             the same delivery */
	const struct hd_provider *provider;
	const struct hd_app_creds *creds;
	struct hd_notification n;
	struct hd_device_target dev;
	struct hd_outcome out;
	bool in_flight;
	int64_t sent_us;          /* monotonic: when its request started (metrics) */
	char state[16];           /* the state the database recorded */
	struct hd_item *next;     /* in the finished list */
};

struct hd_deliverer {
	const struct hd_config *cfg;
	struct hd_db *db;
	struct hd_engine *engine;
	struct hd_creds_cache *creds;
	struct hd_keyring *keyring;  /* NULL: no credentials_key_file */
	struct hd_provider_ctx ctx;
	void *state[HD_PLATFORM__MAX];
	size_t in_flight;
	size_t pending;            /* outcomes in the finished list */
	bool aborting;             /* ending transfers: queue them again at once */
	struct hd_item *finished;  /* outcomes waiting to be recorded */
	struct hd_deliver_counts counts;
	struct hd_deliver_counts *call_counts;   /* hd_deliver_message's, or NULL */
	const char *call_collapse_id;            /* hd_deliver_message's, or NULL */
	char *claim_bufs[K__MAX];
};

static const struct hd_provider *const hd_providers[HD_PLATFORM__MAX] = {
	[HD_PLATFORM_IOS] = &hd_provider_apns,
	[HD_PLATFORM_ANDROID] = &hd_provider_fcm,
	[HD_PLATFORM_WEB] = &hd_provider_webpush,
	[HD_PLATFORM_WINDOWS] = &hd_provider_wns,
};

enum hd_err
hd_deliverer_new(const struct hd_config *cfg, struct hd_db *db, struct hd_deliverer **out)
{
	struct hd_deliverer *d;
	char why[256];
	enum hd_err err;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return HD_ERR_NOMEM;
	d->cfg = cfg;
	d->db = db;
	if (cfg->credentials_key_file && (err = hd_keyring_load(cfg->credentials_key_file,
	    &d->keyring, why, sizeof(why))) != HD_OK) {
		hd_log_error("credentials_key_file: %s", why);
		goto fail;
	}
	if ((err = hd_engine_new(cfg, &d->engine)) != HD_OK ||
	    (err = hd_creds_cache_new(db, d->keyring, &d->creds)) != HD_OK)
		goto fail;
	d->ctx = (struct hd_provider_ctx){ .cfg = cfg, .db = db, .post = hd_engine_post,
		.post_arg = d->engine };
	for (size_t i = 0; i < HD_PLATFORM__MAX; i++)
		if (hd_providers[i]->init &&
		    (err = hd_providers[i]->init(&d->ctx, &d->state[i])) != HD_OK)
			goto fail;
	for (size_t i = 0; i < K__MAX; i++)
		if (hd_claim_caps[i] && (d->claim_bufs[i] = malloc(hd_claim_caps[i])) == NULL) {
			err = HD_ERR_NOMEM;
			goto fail;
		}
	*out = d;
	return HD_OK;
fail:
	hd_deliverer_free(d);
	return err;
}

static void
hd_item_free(struct hd_item *it)
{
	struct hd_device_target *dev = &it->dev;

	if (it->creds)
		hd_creds_release(it->d->creds, it->creds);
	hd_notification_clear(&it->n);
	free(dev->token);
	free(dev->p256dh);
	free(dev->auth);
	free(it);
}

void
hd_deliverer_free(struct hd_deliverer *d)
{
	struct hd_item *it, *next;

	if (d == NULL)
		return;
	/* In-flight items end up in the finished list; their leases run out. */
	if (d->engine) {
		d->aborting = true;
		hd_engine_abort_all(d->engine);
	}
	for (it = d->finished; it; it = next) {
		next = it->next;
		hd_item_free(it);
	}
	for (size_t i = 0; i < HD_PLATFORM__MAX; i++)
		if (hd_providers[i]->fini && d->state[i])
			hd_providers[i]->fini(d->state[i]);
	hd_creds_cache_free(d->creds);
	hd_keyring_free(d->keyring);
	hd_engine_free(d->engine);
	for (size_t i = 0; i < K__MAX; i++)
		free(d->claim_bufs[i]);
	free(d);
}

static void
hd_item_finished(struct hd_item *it)
{
	struct hd_deliverer *d = it->d;

	it->next = d->finished;
	d->finished = it;
	d->pending++;
}

static void
hd_on_answer(void *arg, const struct hd_http_response *resp)
{
	struct hd_item *it = arg;
	struct hd_deliverer *d = it->d;

	it->in_flight = false;
	d->in_flight--;
	memset(&it->out, 0, sizeof(it->out));
	if (!d->aborting) {
		const char *labels[] = { it->provider->name };

		hd_metrics_time(HD_M_PROVIDER_LATENCY, labels,
		    (uint64_t)(hd_monotonic_usec() - it->sent_us));
	}
	if (d->aborting) {
		it->out.kind = HD_OUTCOME_RETRY;
		it->out.retry_at = hd_now_usec();
		snprintf(it->out.reason, sizeof(it->out.reason), "ended before an answer");
	} else if (resp->blocked && resp->status == 0) {
		it->out.kind = HD_OUTCOME_REJECTED;
		snprintf(it->out.reason, sizeof(it->out.reason),
		    "the endpoint's address is not public");
	} else {
		it->provider->classify(&d->ctx, d->state[it->dev.platform], it->creds, resp,
		    &it->out);
	}
	hd_item_finished(it);
}

static enum hd_err
hd_dup_text(struct hd_dbc *c, char **out)
{
	if (c->is_null)
		return HD_OK;
	return (*out = strndup(c->buf, c->len)) ? HD_OK : HD_ERR_NOMEM;
}

/* Makes an item of the current claim row. A row that cannot be mapped (malformed
 * stored extras) becomes a rejected outcome, not an error of the whole claim. */
static enum hd_err
hd_item_from_row(struct hd_deliverer *d, struct hd_dbc *cols, const int64_t *nums,
    struct hd_item **out)
{
	struct hd_item *it;
	struct hd_notification *n;
	enum hd_err err;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		return HD_ERR_NOMEM;
	it->d = d;
	it->id = (uint64_t)nums[K_ID];
	it->attempt = nums[K_ATTEMPT];
	n = &it->n;
	n->priority = (int)nums[K_PRIORITY];
	n->expires_at = cols[K_EXPIRES].is_null ? 0 : nums[K_EXPIRES];
	if ((err = hd_dup_text(&cols[K_TOKEN], &it->dev.token)) ||
	    (err = hd_dup_text(&cols[K_P256DH], &it->dev.p256dh)) ||
	    (err = hd_dup_text(&cols[K_AUTH], &it->dev.auth)) ||
	    (err = hd_dup_text(&cols[K_TITLE], &n->title)) ||
	    (err = hd_dup_text(&cols[K_BODY], &n->body)) ||
	    (err = hd_dup_text(&cols[K_DATA], &n->data_json)) ||
	    (err = hd_dup_text(&cols[K_SOUND], &n->sound)))
		goto fail;
	it->app_id = (uint64_t)nums[K_APP];
	it->creds_at = cols[K_CREDS_AT].is_null ? 0 : nums[K_CREDS_AT];
	if (!hd_platform_parse(cols[K_PLATFORM].buf, &it->dev.platform)) {
		it->out.kind = HD_OUTCOME_REJECTED;
		snprintf(it->out.reason, sizeof(it->out.reason), "unknown platform");
	} else if (!cols[K_EXTRAS].is_null && (err = hd_notification_set_extras(n,
	    cols[K_EXTRAS].buf, cols[K_EXTRAS].len)) != HD_OK) {
		if (err == HD_ERR_NOMEM)
			goto fail;
		it->out.kind = HD_OUTCOME_REJECTED;
		snprintf(it->out.reason, sizeof(it->out.reason), "the stored message is malformed");
		hd_log_error("delivery %llu: malformed messages.extras", (unsigned long long)it->id);
	} else {
		it->provider = hd_providers[it->dev.platform];
	}
	if (it->provider && d->call_collapse_id && n->collapse_id == NULL &&
	    (n->collapse_id = strdup(d->call_collapse_id)) == NULL) {
		err = HD_ERR_NOMEM;
		goto fail;
	}
	*out = it;
	return HD_OK;
fail:
	hd_item_free(it);
	return err;
}

/* Builds and starts an item; what cannot start becomes an outcome at once. */
static void
hd_item_start(struct hd_deliverer *d, struct hd_item *it)
{
	struct hd_http_request req = { 0 };
	enum hd_err err;
	int rc;

	if (it->provider != NULL &&
	    (err = hd_creds_get(d->creds, it->app_id, it->creds_at, &it->creds)) != HD_OK) {
		it->out.kind = HD_OUTCOME_RETRY;
		snprintf(it->out.reason, sizeof(it->out.reason), "herald: loading credentials: %s",
		    hd_strerror(err));
		hd_item_finished(it);
		return;
	}
	if (it->provider == NULL) {
		hd_item_finished(it);
		return;
	}
	rc = it->provider->build(&d->ctx, d->state[it->dev.platform], it->creds, &it->n,
	    &it->dev, &req, &it->out);
	if (rc == HD_BUILD_READY) {
		it->sent_us = hd_monotonic_usec();
		it->in_flight = true;
		d->in_flight++;
		if (hd_engine_submit(d->engine, &req, hd_on_answer, it) == HD_OK)
			return;
		it->in_flight = false;
		d->in_flight--;
		rc = -HD_ERR_NOMEM;
	}
	if (rc != HD_BUILD_REFUSED) {
		hd_http_request_clear(&req);
		memset(&it->out, 0, sizeof(it->out));
		it->out.kind = HD_OUTCOME_RETRY;
		snprintf(it->out.reason, sizeof(it->out.reason), "herald: %s",
		    hd_strerror(rc < 0 ? (enum hd_err)-rc : HD_ERR_INTERNAL));
	}
	hd_item_finished(it);
}

static enum hd_err
hd_claim(struct hd_deliverer *d, size_t max, const uint64_t *message_id, size_t *claimed)
{
	static const char sql[] = "CALL hd_claim_deliveries(?, ?, ?, ?)";
	char owner[33];
	struct hd_dbp p[] = { HD_DBP_TEXT(owner, 32), HD_DBP_I64(d->cfg->worker_lease_s),
		HD_DBP_I64(max), message_id ? HD_DBP_U64(*message_id) : HD_DBP_NULL };
	struct hd_dbc cols[K__MAX];
	int64_t nums[K__MAX] = { 0 };
	struct hd_item *batch = NULL, *it;
	int64_t start_by;
	enum hd_err err;
	bool row;

	*claimed = 0;
	if (max == 0)
		return HD_OK;
	if ((err = hd_random_hex(owner, 16)) != HD_OK)
		return err;
	for (size_t i = 0; i < K__MAX; i++) {
		if (hd_claim_caps[i])
			cols[i] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = d->claim_bufs[i],
				.cap = hd_claim_caps[i] };
		else
			cols[i] = (struct hd_dbc){ .type = (i == K_EXPIRES || i == K_CREDS_AT) ?
				HD_DBT_TIME : HD_DBT_I64, .num = &nums[i] };
	}
	hd_db_request_start(d->db);
	if ((err = hd_db_query(d->db, sql, p, 4, cols, K__MAX)) != HD_OK)
		return err;
	/* Read the whole claim before anything else uses the connection (credentials,
	 * shared provider tokens). */
	while ((err = hd_db_fetch(d->db, &row)) == HD_OK && row) {
		if ((err = hd_item_from_row(d, cols, nums, &it)) != HD_OK)
			break;
		memcpy(it->owner, owner, sizeof(it->owner));
		it->next = batch;
		batch = it;
		(*claimed)++;
	}
	hd_db_done(d->db);
	/* Rows already claimed stay claimed even if reading failed: start what was read;
	 * the rest return when their lease ends. Starting can block (a provider's token
	 * endpoint, the database): what has not started within a third of the lease goes
	 * back to the queue at once rather than outlive its lease here. */
	start_by = hd_now_usec() + (int64_t)d->cfg->worker_lease_s * HD_USEC_PER_SEC / 3;
	while ((it = batch) != NULL) {
		batch = it->next;
		if (hd_now_usec() < start_by) {
			hd_item_start(d, it);
			continue;
		}
		it->out.kind = HD_OUTCOME_RETRY;
		it->out.retry_at = hd_now_usec();
		snprintf(it->out.reason, sizeof(it->out.reason), "herald: not started in time");
		hd_item_finished(it);
	}
	return err;
}

enum hd_err
hd_deliverer_claim(struct hd_deliverer *d, size_t max, size_t *claimed)
{
	return hd_claim(d, max, NULL, claimed);
}

static int64_t
hd_backoff(int64_t attempt, int64_t now)
{
	int64_t step = HD_BACKOFF_BASE_US;
	uint32_t r = 0;

	for (int64_t i = 1; i < attempt && step < HD_BACKOFF_MAX_US; i++)
		step *= 2;
	if (step > HD_BACKOFF_MAX_US)
		step = HD_BACKOFF_MAX_US;
	/* Jitter needs no secrecy, but RAND_bytes is already at hand; on its failure the
	 * step is used as is. */
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = UINT32_MAX;
	return now + step / 2 + (int64_t)((uint64_t)(step / 2) * r / UINT32_MAX);
}

static const char *
hd_outcome_name(enum hd_outcome_kind k)
{
	switch (k) {
	case HD_OUTCOME_DELIVERED: return "delivered";
	case HD_OUTCOME_RETRY: return "retry";
	case HD_OUTCOME_GONE: return "gone";
	case HD_OUTCOME_REJECTED: return "rejected";
	}
	return "rejected";
}

static void
hd_count_state(struct hd_deliver_counts *c, const char *state)
{
	if (strcmp(state, "delivered") == 0)
		c->delivered++;
	else if (strcmp(state, "queued") == 0)
		c->queued++;
	else if (strcmp(state, "gone") == 0)
		c->gone++;
	else if (strcmp(state, "expired") == 0)
		c->expired++;
	else if (strcmp(state, "lost") == 0)
		c->lost++;
	else
		c->rejected++;
}

/* Counts a recorded outcome in the process's metrics; the label is one of a fixed
 * set whatever the database said. */
static void
hd_count_metric(const struct hd_item *it)
{
	static const char *const outcomes[] = { "delivered", "queued", "gone", "rejected",
		"expired", "lost" };
	const char *labels[] = { it->provider ? it->provider->name : "none", "other" };

	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(it->state, outcomes[i]) == 0)
			labels[1] = outcomes[i];
	hd_metrics_count(HD_M_DELIVERIES, labels, 1);
}

static enum hd_err
hd_finish_one(struct hd_deliverer *d, struct hd_item *it, int64_t now)
{
	static const char sql[] = "CALL hd_finish_delivery(?, ?, ?, ?, ?, ?, ?, ?)";
	const struct hd_outcome *o = &it->out;
	int64_t retry_at = 0;
	struct hd_dbp p[8];
	struct hd_dbc col = { .type = HD_DBT_TEXT, .buf = it->state, .cap = sizeof(it->state) };
	bool found;
	enum hd_err err;

	if (o->kind == HD_OUTCOME_RETRY)
		retry_at = o->retry_at ? o->retry_at : hd_backoff(it->attempt, now);
	p[0] = HD_DBP_U64(it->id);
	p[1] = HD_DBP_STR(it->owner);
	p[2] = HD_DBP_STR(hd_outcome_name(o->kind));
	p[3] = o->provider_status ? HD_DBP_I64(o->provider_status) : HD_DBP_NULL;
	p[4] = o->reason[0] ? HD_DBP_STR(o->reason) : HD_DBP_NULL;
	p[5] = retry_at ? HD_DBP_TIME(retry_at) : HD_DBP_NULL;
	p[6] = o->gone_since ? HD_DBP_TIME(o->gone_since) : HD_DBP_NULL;
	p[7] = HD_DBP_I64(d->cfg->worker_max_attempts);
	if ((err = hd_db_call(d->db, sql, p, 8, &col, 1, &found)) != HD_OK)
		return err;
	if (!found)
		return HD_ERR_DB;
	return HD_OK;
}

static int
hd_item_cmp_id(const void *a, const void *b)
{
	const struct hd_item *x = *(const struct hd_item *const *)a;
	const struct hd_item *y = *(const struct hd_item *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Records every 'delivered' outcome of the finished list with one call
 * (hd_finish_delivered): the common case, which per-delivery calls made the worker's
 * main cost. Those the database did not take (their lease passed to another claim)
 * are 'lost'. Other outcomes are left for hd_finish_one. */
static enum hd_err
hd_finish_delivered(struct hd_deliverer *d, struct hd_item **sorted, size_t n)
{
	static const char sql[] = "CALL hd_finish_delivered(?)";
	json_object *batch, *entry;
	const char *text;
	int64_t id = 0;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &id };
	struct hd_dbp p[1];
	enum hd_err err;
	bool row;

	if (n == 0)
		return HD_OK;
	if ((batch = json_object_new_array_ext((int)n)) == NULL)
		return HD_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		struct hd_item *it = sorted[i];

		snprintf(it->state, sizeof(it->state), "lost");
		if ((entry = json_object_new_array_ext(3)) == NULL ||
		    json_object_array_add(batch, entry) != 0) {
			json_object_put(entry);
			json_object_put(batch);
			return HD_ERR_NOMEM;
		}
		if (json_object_array_add(entry, json_object_new_uint64(it->id)) != 0 ||
		    json_object_array_add(entry, json_object_new_string(it->owner)) != 0 ||
		    json_object_array_add(entry, json_object_new_int(it->out.provider_status)) != 0) {
			json_object_put(batch);
			return HD_ERR_NOMEM;
		}
	}
	text = json_object_to_json_string_ext(batch, JSON_C_TO_STRING_PLAIN);
	p[0] = HD_DBP_STR(text);
	err = hd_db_query(d->db, sql, p, 1, &col, 1);
	while (err == HD_OK && (err = hd_db_fetch(d->db, &row)) == HD_OK && row) {
		struct hd_item key = { .id = (uint64_t)id }, *kp = &key, **found;

		found = bsearch(&kp, sorted, n, sizeof(*sorted), hd_item_cmp_id);
		if (found)
			snprintf((*found)->state, sizeof((*found)->state), "delivered");
	}
	hd_db_done(d->db);
	json_object_put(batch);
	return err;
}

/* Records the finished outcomes in one transaction, rerun when it loses a deadlock.
 * On failure the outcomes stay for the next call. */
static enum hd_err
hd_record(struct hd_deliverer *d)
{
	struct hd_item *it, *next, **delivered;
	size_t ndelivered = 0;
	int64_t now = hd_now_usec();
	enum hd_err err = HD_OK;

	if (d->finished == NULL)
		return HD_OK;
	if ((delivered = calloc(d->pending, sizeof(*delivered))) == NULL)
		return HD_ERR_NOMEM;
	for (it = d->finished; it; it = it->next)
		if (it->out.kind == HD_OUTCOME_DELIVERED)
			delivered[ndelivered++] = it;
	qsort(delivered, ndelivered, sizeof(*delivered), hd_item_cmp_id);
	hd_db_request_start(d->db);
	for (int attempt = 0; attempt < HD_DB_TXN_ATTEMPTS; attempt++) {
		if ((err = hd_db_begin(d->db)) == HD_OK) {
			err = hd_finish_delivered(d, delivered, ndelivered);
			for (it = d->finished; it && err == HD_OK; it = it->next)
				if (it->out.kind != HD_OUTCOME_DELIVERED)
					err = hd_finish_one(d, it, now);
			if (err == HD_OK)
				err = hd_db_commit(d->db);
		}
		if (err == HD_OK)
			break;
		hd_db_rollback(d->db);
		if (err != HD_ERR_DB_RETRY)
			break;
	}
	free(delivered);
	if (err != HD_OK) {
		hd_log_warn("recording delivery outcomes failed (%s); kept for the next try",
		    hd_strerror(err));
		return err;
	}
	for (it = d->finished; it; it = next) {
		next = it->next;
		hd_count_state(&d->counts, it->state);
		hd_count_metric(it);
		if (d->call_counts)
			hd_count_state(d->call_counts, it->state);
		hd_log_debug("delivery %llu attempt %lld: %s (%s %d %s)",
		    (unsigned long long)it->id, (long long)it->attempt, it->state,
		    hd_outcome_name(it->out.kind), it->out.provider_status, it->out.reason);
		hd_item_free(it);
	}
	d->finished = NULL;
	d->pending = 0;
	return HD_OK;
}

enum hd_err
hd_deliverer_step(struct hd_deliverer *d, int wait_ms)
{
	enum hd_err err = HD_OK;

	if (d->in_flight > 0)
		err = hd_engine_run(d->engine, wait_ms);
	if (err != HD_OK)
		return err;
	return hd_record(d);
}

enum hd_err
hd_deliverer_drain(struct hd_deliverer *d, int wait_ms)
{
	int64_t deadline = hd_now_usec() + (int64_t)wait_ms * 1000;
	enum hd_err err = HD_OK, rec;

	while (d->in_flight > 0) {
		int64_t left = (deadline - hd_now_usec()) / 1000;

		if (left <= 0)
			break;
		if ((err = hd_engine_run(d->engine, (int)left)) != HD_OK)
			break;
	}
	if (d->in_flight > 0) {
		d->aborting = true;
		hd_engine_abort_all(d->engine);
		d->aborting = false;
	}
	rec = hd_record(d);
	return err != HD_OK ? err : rec;
}

const struct hd_keyring *
hd_deliverer_keyring(const struct hd_deliverer *d)
{
	return d->keyring;
}

size_t
hd_deliverer_in_flight(const struct hd_deliverer *d)
{
	return d->in_flight;
}

size_t
hd_deliverer_pending(const struct hd_deliverer *d)
{
	return d->pending;
}

void
hd_deliverer_counts(const struct hd_deliverer *d, struct hd_deliver_counts *out)
{
	*out = d->counts;
}

void
hd_deliverer_engine_stats(const struct hd_deliverer *d, struct hd_engine_stats *out)
{
	hd_engine_stats(d->engine, out);
}

enum hd_err
hd_deliver_message(struct hd_deliverer *d, uint64_t message_id, const char *collapse_id,
    int wait_ms, struct hd_deliver_counts *out)
{
	int64_t deadline = hd_now_usec() + (int64_t)wait_ms * 1000;
	size_t claimed;
	enum hd_err err;

	memset(out, 0, sizeof(*out));
	d->call_counts = out;
	d->call_collapse_id = collapse_id;
	/* A user with more devices than one batch: claim again while batches come full. */
	do {
		int64_t left = (deadline - hd_now_usec()) / 1000;

		err = hd_claim(d, d->cfg->worker_batch, &message_id, &claimed);
		if (err == HD_OK)
			err = hd_deliverer_drain(d, left > 0 ? (int)left : 0);
	} while (err == HD_OK && claimed == d->cfg->worker_batch && hd_now_usec() < deadline);
	if (err != HD_OK)
		hd_deliverer_drain(d, 0);
	d->call_counts = NULL;
	d->call_collapse_id = NULL;
	return err;
}
