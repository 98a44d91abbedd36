#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "hd_auth.h"
#include "hd_log.h"

static const char *const hd_key_kind_names[HD_KEY__MAX] = {
	[HD_KEY_NONE] = "",
	[HD_KEY_SERVER] = "server",
	[HD_KEY_SECRET] = "secret",
	[HD_KEY_USER_TOKEN] = "user_token",
	[HD_KEY_BEARER] = "bearer",
	[HD_KEY_INTEGRATION] = "integration",
	[HD_KEY_CLIENT] = "client",
};

static const char SQL_ADMIT[] = "CALL hd_admit_kinds(?, ?, ?, ?)";

static const char SQL_RATE_PURGE[] = "CALL hd_prune_rate_limit()";

/* The columns both lookups return: key id, tenant, app, app user, app uid, dedupe
 * window, push enabled, hourly and daily quota. */
#define HD_KEY_COLS 9
struct hd_key_row {
	int64_t id, tenant, app, user, window, enabled, hourly, daily;
	struct hd_dbc cols[HD_KEY_COLS];
};

static void
hd_key_row_bind(struct hd_key_row *r, struct hd_principal *out)
{
	memset(r, 0, sizeof(*r));
	r->cols[0] = (struct hd_dbc){ .type = HD_DBT_U64, .num = &r->id };
	r->cols[1] = (struct hd_dbc){ .type = HD_DBT_U64, .num = &r->tenant };
	r->cols[2] = (struct hd_dbc){ .type = HD_DBT_U64, .num = &r->app };
	r->cols[3] = (struct hd_dbc){ .type = HD_DBT_U64, .num = &r->user };
	r->cols[4] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = out->app_uid,
	    .cap = sizeof(out->app_uid) };
	r->cols[5] = (struct hd_dbc){ .type = HD_DBT_U64, .num = &r->window };
	r->cols[6] = (struct hd_dbc){ .type = HD_DBT_I64, .num = &r->enabled };
	r->cols[7] = (struct hd_dbc){ .type = HD_DBT_I64, .num = &r->hourly };
	r->cols[8] = (struct hd_dbc){ .type = HD_DBT_I64, .num = &r->daily };
}

/* Fills the principal from a fetched row; false when the row names no key. */
static bool
hd_key_row_take(const struct hd_key_row *r, enum hd_key_kind kind, struct hd_principal *out)
{
	if (r->cols[0].is_null)
		return false;
	out->kind = kind;
	out->key_id = (uint64_t)r->id;
	out->tenant_id = (uint64_t)r->tenant;
	out->app_id = r->cols[2].is_null ? 0 : (uint64_t)r->app;
	out->app_user_id = r->cols[3].is_null ? 0 : (uint64_t)r->user;
	if (r->cols[4].is_null)
		out->app_uid[0] = '\0';
	out->dedupe_window_s = r->cols[5].is_null ? 600 : (unsigned)r->window;
	out->push_enabled = !r->cols[6].is_null && r->enabled != 0;
	out->quota_hourly = r->cols[7].is_null ? -1 : r->hourly;
	out->quota_daily = r->cols[8].is_null ? -1 : r->daily;
	return true;
}

/* The kind named by the database's text (HD_KEY_NONE for anything else). */
static enum hd_key_kind
hd_key_kind_of(const char *name)
{
	for (int k = HD_KEY_NONE + 1; k < HD_KEY__MAX; k++)
		if (strcmp(name, hd_key_kind_names[k]) == 0)
			return (enum hd_key_kind)k;
	return HD_KEY_NONE;
}

const char *
hd_key_kind_name(enum hd_key_kind kind)
{
	return (unsigned)kind < HD_KEY__MAX ? hd_key_kind_names[kind] : "";
}

bool
hd_key_acceptable(enum hd_key_kind kind, size_t len)
{
	return len > 0 && len <= HD_KEY_MAX_LEN && (unsigned)kind < HD_KEY__MAX &&
	    kind != HD_KEY_NONE;
}

/* The rate-limit identity of a client address: IPv4 as is, IPv4-mapped IPv6 as IPv4,
 * other IPv6 per /64 (one host usually owns a whole /64, so counting single addresses
 * would let it pick a fresh one per request). */
size_t
hd_addr_key(const char *addr, unsigned char out[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t n;

	if (inet_pton(AF_INET, addr, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, addr, out) == 1) {
		if (memcmp(out, mapped, sizeof(mapped)) == 0) {
			memmove(out, out + 12, 4);
			return 4;
		}
		return 8;
	}
	n = strnlen(addr, 16);
	memcpy(out, addr, n);
	return n;
}

/* One CALL hd_admit_kinds: the count for addr (skipped when limit is 0), the key, and
 * the kind of a key of another kind. */
static enum hd_err
hd_admit_call(struct hd_db *db, const char *addr, unsigned limit, enum hd_key_kind kind,
    const char *key, size_t len, struct hd_principal *out, int64_t *hits, bool *hits_null,
    bool *found)
{
	unsigned char bin[16], hash[32];
	size_t binlen = hd_addr_key(addr, bin);
	struct hd_key_row row;
	char other[16];
	struct hd_dbc cols[2 + HD_KEY_COLS];
	struct hd_dbp p[4];
	bool lookup = key != NULL && hd_key_acceptable(kind, len), got;
	enum hd_err err;

	*found = *hits_null = false;
	*hits = 0;
	memset(out, 0, sizeof(*out));
	if (limit == 0 && !lookup)
		return HD_OK;
	if (lookup && (err = hd_sha256(key, len, hash)) != HD_OK)
		return err;
	p[0] = HD_DBP_BLOB(bin, binlen);
	p[1] = HD_DBP_U64(limit);
	p[2] = lookup ? HD_DBP_BLOB(hash, sizeof(hash)) : HD_DBP_NULL;
	p[3] = HD_DBP_STR(hd_key_kind_names[lookup ? kind : HD_KEY_NONE]);
	hd_key_row_bind(&row, out);
	cols[0] = (struct hd_dbc){ .type = HD_DBT_I64, .num = hits };
	memcpy(&cols[1], row.cols, sizeof(row.cols));
	cols[1 + HD_KEY_COLS] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = other,
	    .cap = sizeof(other) };
	if ((err = hd_db_call(db, SQL_ADMIT, p, 4, cols, 2 + HD_KEY_COLS, &got)) != HD_OK)
		return err;
	if (!got)
		return HD_ERR_DB;
	memcpy(row.cols, &cols[1], sizeof(row.cols));
	*hits_null = cols[0].is_null;
	*found = lookup && hd_key_row_take(&row, kind, out);
	if (lookup && !*found && !cols[1 + HD_KEY_COLS].is_null)
		out->other_kind = hd_key_kind_of(other);
	return HD_OK;
}

enum hd_err
hd_admit(struct hd_db *db, const char *addr, unsigned limit, enum hd_key_kind kind,
    const char *key, size_t len, struct hd_principal *out, bool *limited, bool *found)
{
	static time_t warned;
	int64_t hits;
	bool uncounted;
	enum hd_err err;

	*limited = false;
	err = hd_admit_call(db, addr, limit, kind, key, len, out, &hits, &uncounted, found);
	if (err != HD_OK)
		return err;
	if (limit > 0 && uncounted && time(NULL) - warned >= 60) {
		warned = time(NULL);
		hd_log_warn("rate_limit table is full: requests are admitted uncounted until its"
		    " rows expire (raise max_heap_table_size and recreate the table)");
	}
	*limited = limit > 0 && !uncounted && (uint64_t)hits > limit;
	*found = *found && !*limited;
	return HD_OK;
}

enum hd_err
hd_admit_housekeeping(struct hd_db *db)
{
	int64_t pruned;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &pruned };
	bool found;

	return hd_db_call(db, SQL_RATE_PURGE, NULL, 0, &col, 1, &found);
}

enum hd_err
hd_auth_lookup(struct hd_db *db, enum hd_key_kind kind, const char *key, size_t len,
    struct hd_principal *out, bool *found)
{
	int64_t hits;
	bool uncounted;

	return hd_admit_call(db, "", 0, kind, key, len, out, &hits, &uncounted, found);
}
