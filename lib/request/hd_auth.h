/*
 * Admission and key authentication. Keys are presented in plaintext and looked up by
 * their SHA-256 (only the hash is stored); the key's kind fixes what it may do, so
 * every lookup names the kind the endpoint accepts. A revoked key is refused at its
 * next use. hd_admit() also counts the request against the per-client-address rate
 * limit, in the same database round trip: the limit is counted per second of the
 * database's clock, so every web host counts the same window.
 */
#ifndef HD_AUTH_H
#define HD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_digest.h"
#include "hd_db.h"

enum hd_key_kind {
	HD_KEY_NONE = 0,
	HD_KEY_SERVER,       /* developer dialect: send for one app */
	HD_KEY_SECRET,       /* webpush dialect: one service (= app) */
	HD_KEY_USER_TOKEN,   /* audience dialect: apps of one tenant it is granted */
	HD_KEY_BEARER,       /* inbox dialect: one app user */
	HD_KEY_INTEGRATION,  /* legacy dialect: one company (tenant), one of its apps */
	HD_KEY_CLIENT,       /* publishable: registers devices only */
	HD_KEY__MAX
};

/* Longest key accepted; longer ones are refused without a database lookup. */
#define HD_KEY_MAX_LEN 256

/* Who a request acts for, once authenticated. */
struct hd_principal {
	enum hd_key_kind kind;
	uint64_t key_id;
	uint64_t tenant_id;
	uint64_t app_id;             /* 0 when the key is not bound to one app */
	uint64_t app_user_id;        /* bearer keys only */
	char app_uid[40];            /* the app's public id */
	unsigned dedupe_window_s;
	bool push_enabled;           /* the app may send (apps.push_enabled) */
	int64_t quota_hourly;        /* deliveries per UTC hour; -1: no quota */
	int64_t quota_daily;         /* deliveries per UTC day; -1: no quota */
	/* When no key of the asked kind matched: the kind of the active herald key that
	 * did (it authorizes nothing), else HD_KEY_NONE. */
	enum hd_key_kind other_kind;
};

/* Looks up an active key of the given kind (the same procedure as hd_admit, without
 * counting). *found is false for unknown, revoked or other-kind keys; the error is
 * only for database trouble. */
enum hd_err hd_auth_lookup(struct hd_db *db, enum hd_key_kind kind, const char *key,
    size_t len, struct hd_principal *out, bool *found);

/* Counts one request from addr (textual IPv4/IPv6) against limit requests per second
 * (0: no limit) and, when key is not NULL, looks up an active key of the given kind.
 * *limited: over the limit (the key was then not looked up). *found: the key matched;
 * when it did not, out->other_kind names the kind of an active key that did. */
enum hd_err hd_admit(struct hd_db *db, const char *addr, unsigned limit,
    enum hd_key_kind kind, const char *key, size_t len, struct hd_principal *out,
    bool *limited, bool *found);

/* Deletes rate-limit counts of past seconds. The FastCGI loop calls it every few
 * seconds between requests, so no request waits for it. */
enum hd_err hd_admit_housekeeping(struct hd_db *db);

/* The key kind's name as the database stores it ("" for HD_KEY_NONE). */
const char *hd_key_kind_name(enum hd_key_kind kind);
/* Whether a presented key of this kind and length is worth a lookup. */
bool hd_key_acceptable(enum hd_key_kind kind, size_t len);
/* The rate-limit identity of a client address (IPv4, or IPv6 per /64) into out;
 * returns its length. */
size_t hd_addr_key(const char *addr, unsigned char out[16]);

#endif
