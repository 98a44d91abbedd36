/* The app credentials cache (see hd_creds.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hd_creds.h"
#include "hd_creds_seal.h"
#include "hd_jws.h"
#include "hd_log.h"

#define HD_CREDS_BUCKETS 64

struct hd_creds_entry {
	struct hd_app_creds c;
	int64_t updated_at;
	unsigned refs;                 /* the cache's own, plus one per hd_creds_get() */
	struct hd_creds_entry *next;   /* in its bucket */
};

struct hd_creds_cache {
	struct hd_db *db;
	const struct hd_keyring *keyring;
	struct hd_creds_entry *buckets[HD_CREDS_BUCKETS];
};

enum hd_err
hd_creds_cache_new(struct hd_db *db, const struct hd_keyring *keyring,
    struct hd_creds_cache **out)
{
	struct hd_creds_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return HD_ERR_NOMEM;
	c->db = db;
	c->keyring = keyring;
	*out = c;
	return HD_OK;
}

static void
hd_creds_entry_free(struct hd_creds_entry *e)
{
	struct hd_app_creds *c = &e->c;
	char *secrets[] = { c->apns_cert_key_pem, c->wns_client_secret };

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (secrets[i])
			explicit_bzero(secrets[i], strlen(secrets[i]));
	free(c->apns_team_id);
	free(c->apns_key_id);
	hd_signer_free(c->apns_key);
	free(c->apns_key_fingerprint);
	free(c->apns_cert_pem);
	free(c->apns_cert_key_pem);
	free(c->apns_topic);
	free(c->fcm_project_id);
	free(c->fcm_client_email);
	free(c->fcm_token_uri);
	hd_signer_free(c->fcm_key);
	hd_signer_free(c->vapid_key);
	free(c->vapid_subject);
	free(c->wns_client_id);
	free(c->wns_client_secret);
	free(e);
}

static void
hd_creds_unref(struct hd_creds_entry *e)
{
	if (--e->refs == 0)
		hd_creds_entry_free(e);
}

void
hd_creds_cache_free(struct hd_creds_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < HD_CREDS_BUCKETS; i++) {
		struct hd_creds_entry *e = c->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			hd_creds_unref(e);
		}
	}
	free(c);
}

/* Copies a column into a new string; NULL stays NULL. */
static enum hd_err
hd_dup_col(const struct hd_dbc *col, char **out)
{
	if (col->is_null || col->len == 0)
		return HD_OK;
	free(*out);
	return (*out = strndup(col->buf, col->len)) ? HD_OK : HD_ERR_NOMEM;
}

/* Parses a stored key. A key that does not parse leaves the provider without
 * credentials: its deliveries are rejected with that reason, and the log names the app
 * (never the key). */
static void
hd_load_key(const struct hd_dbc *col, enum hd_jws_alg alg, uint64_t app_id,
    const char *what, struct hd_signer **out)
{
	if (col->is_null)
		return;
	if (hd_signer_from_pem(col->buf, col->len, alg, out) != HD_OK) {
		*out = NULL;
		hd_log_error("app %llu: the stored %s does not parse", (unsigned long long)app_id,
		    what);
	}
}

enum col { C_PROVIDER, C_AUTH, C_TEAM, C_KEY_ID, C_KEY, C_KEY_FINGERPRINT, C_CERT, C_TOPIC,
	C_SANDBOX, C_PROJECT, C_EMAIL, C_TOKEN_URI, C_SUBJECT, C_CLIENT_ID, C_CLIENT_SECRET,
	C_SEALED, C_SEALED_KEY, C__MAX };

/* Puts one opened secret where the row's plain-text column would have it. */
static enum hd_err
hd_put_opened(struct hd_dbc *col, const char *s, size_t len)
{
	col->is_null = s == NULL;
	col->len = s == NULL ? 0 : len;
	if (s == NULL)
		return HD_OK;
	if (len >= col->cap)
		return HD_ERR_DB;
	memcpy(col->buf, s, len);
	((char *)col->buf)[len] = '\0';
	return HD_OK;
}

/* The platform whose deliveries a credentials row serves. */
static enum hd_platform
hd_provider_platform(const char *provider)
{
	if (strcmp(provider, "apns") == 0)
		return HD_PLATFORM_IOS;
	if (strcmp(provider, "fcm") == 0)
		return HD_PLATFORM_ANDROID;
	if (strcmp(provider, "webpush") == 0)
		return HD_PLATFORM_WEB;
	return HD_PLATFORM_WINDOWS;
}

/* When the row's secrets are sealed, opens them into its key and client secret
 * columns. A row that does not open (the key is not held, or the value was tampered
 * with) is marked unopened and skipped: *skip. */
static enum hd_err
hd_creds_unseal_row(struct hd_creds_cache *c, uint64_t app_id, struct hd_dbc *cols,
    struct hd_app_creds *a, bool *skip)
{
	const char *provider = cols[C_PROVIDER].buf, *key_id = cols[C_SEALED_KEY].buf;
	struct hd_creds_secrets s;
	struct hd_buf plain;
	enum hd_err err;

	*skip = false;
	if (cols[C_SEALED].is_null)
		return HD_OK;
	if (cols[C_SEALED_KEY].is_null)
		key_id = "";
	if (c->keyring == NULL || !hd_keyring_has(c->keyring, key_id)) {
		hd_log_error("app %llu: its %s secrets are sealed with key %s, which this "
		    "process does not hold (credentials_key_file)", (unsigned long long)app_id,
		    provider, key_id);
		a->unopened[hd_provider_platform(provider)] = *skip = true;
		return HD_OK;
	}
	hd_buf_init(&plain, HD_SEALED_MAX);
	err = hd_creds_open(c->keyring, app_id, provider, key_id, cols[C_SEALED].buf,
	    cols[C_SEALED].len, &plain, &s);
	if (err == HD_OK && ((err = hd_put_opened(&cols[C_KEY], s.private_key_pem,
	    s.private_key_len)) != HD_OK || (err = hd_put_opened(&cols[C_CLIENT_SECRET],
	    s.client_secret, s.client_secret_len)) != HD_OK))
		hd_log_error("app %llu: its opened %s secrets are longer than herald reads",
		    (unsigned long long)app_id, provider);
	if (err == HD_ERR_CRYPTO) {
		hd_log_error("app %llu: its sealed %s secrets do not open with key %s",
		    (unsigned long long)app_id, provider, key_id);
		a->unopened[hd_provider_platform(provider)] = *skip = true;
		err = HD_OK;
	}
	if (plain.data)
		explicit_bzero(plain.data, plain.len);
	hd_buf_free(&plain);
	return err;
}

static enum hd_err
hd_creds_load(struct hd_creds_cache *c, uint64_t app_id, struct hd_creds_entry *e)
{
	static const char sql[] = "CALL hd_app_credentials(?)";
	struct hd_dbp p[] = { HD_DBP_U64(app_id) };
	static const size_t caps[C__MAX] = { 16, 16, 65, 65, HD_CREDS_PEM_MAX, 65, HD_CREDS_PEM_MAX, 256,
		0, 256, 256, 1025, 256, 256, HD_CREDS_SECRET_MAX, HD_SEALED_MAX, HD_KEY_ID_MAX + 1 };
	struct hd_dbc cols[C__MAX];
	char *bufs[C__MAX] = { 0 };
	int64_t sandbox = 0;
	enum hd_err err = HD_OK;
	struct hd_app_creds *a = &e->c;
	bool row;

	memset(cols, 0, sizeof(cols));
	for (size_t i = 0; i < C__MAX; i++) {
		if (i == C_SANDBOX) {
			cols[i] = (struct hd_dbc){ .type = HD_DBT_I64, .num = &sandbox };
			continue;
		}
		if ((bufs[i] = malloc(caps[i])) == NULL) {
			err = HD_ERR_NOMEM;
			goto out;
		}
		cols[i] = (struct hd_dbc){ .type = i == C_SEALED ? HD_DBT_BLOB : HD_DBT_TEXT,
			.buf = bufs[i], .cap = caps[i] };
	}
	if ((err = hd_db_query(c->db, sql, p, 1, cols, C__MAX)) != HD_OK)
		goto out;
	while ((err = hd_db_fetch(c->db, &row)) == HD_OK && row) {
		const char *provider = bufs[C_PROVIDER];
		bool skip;

		if ((err = hd_creds_unseal_row(c, app_id, cols, a, &skip)) != HD_OK)
			break;
		if (skip)
			continue;
		if (strcmp(provider, "apns") == 0) {
			a->apns_auth = strcmp(bufs[C_AUTH], "certificate") == 0 ?
			    HD_APNS_CERTIFICATE : HD_APNS_TOKEN;
			a->apns_sandbox = sandbox != 0;
			if ((err = hd_dup_col(&cols[C_TEAM], &a->apns_team_id)) ||
			    (err = hd_dup_col(&cols[C_KEY_ID], &a->apns_key_id)) ||
			    (err = hd_dup_col(&cols[C_TOPIC], &a->apns_topic)))
				break;
			if (a->apns_auth == HD_APNS_TOKEN) {
				if ((err = hd_dup_col(&cols[C_KEY_FINGERPRINT],
				    &a->apns_key_fingerprint)))
					break;
				hd_load_key(&cols[C_KEY], HD_JWS_ES256, app_id, "APNs key",
				    &a->apns_key);
			} else if ((err = hd_dup_col(&cols[C_CERT], &a->apns_cert_pem)) ||
			    (err = hd_dup_col(&cols[C_KEY], &a->apns_cert_key_pem))) {
				break;
			}
		} else if (strcmp(provider, "fcm") == 0) {
			if ((err = hd_dup_col(&cols[C_PROJECT], &a->fcm_project_id)) ||
			    (err = hd_dup_col(&cols[C_EMAIL], &a->fcm_client_email)) ||
			    (err = hd_dup_col(&cols[C_TOKEN_URI], &a->fcm_token_uri)))
				break;
			hd_load_key(&cols[C_KEY], HD_JWS_RS256, app_id, "FCM service-account key",
			    &a->fcm_key);
		} else if (strcmp(provider, "webpush") == 0) {
			if ((err = hd_dup_col(&cols[C_SUBJECT], &a->vapid_subject)))
				break;
			hd_load_key(&cols[C_KEY], HD_JWS_ES256, app_id, "VAPID key", &a->vapid_key);
		} else if (strcmp(provider, "wns") == 0) {
			if ((err = hd_dup_col(&cols[C_CLIENT_ID], &a->wns_client_id)) ||
			    (err = hd_dup_col(&cols[C_CLIENT_SECRET], &a->wns_client_secret)))
				break;
		}
	}
	hd_db_done(c->db);
out:
	if (bufs[C_KEY])
		explicit_bzero(bufs[C_KEY], caps[C_KEY]);
	if (bufs[C_CLIENT_SECRET])
		explicit_bzero(bufs[C_CLIENT_SECRET], caps[C_CLIENT_SECRET]);
	for (size_t i = 0; i < C__MAX; i++)
		free(bufs[i]);
	return err;
}

enum hd_err
hd_creds_get(struct hd_creds_cache *c, uint64_t app_id, int64_t updated_at,
    const struct hd_app_creds **out)
{
	struct hd_creds_entry **slot = &c->buckets[app_id % HD_CREDS_BUCKETS], *e;
	enum hd_err err;

	for (; (e = *slot) != NULL; slot = &e->next)
		if (e->c.app_id == app_id)
			break;
	if (e && e->updated_at == updated_at) {
		e->refs++;
		*out = &e->c;
		return HD_OK;
	}
	if (e) {
		/* Replaced: deliveries still holding the old version keep it alive. */
		*slot = e->next;
		hd_creds_unref(e);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return HD_ERR_NOMEM;
	e->c.app_id = app_id;
	e->updated_at = updated_at;
	if (updated_at != 0 && (err = hd_creds_load(c, app_id, e)) != HD_OK) {
		hd_creds_entry_free(e);
		return err;
	}
	e->refs = 2;
	e->next = c->buckets[app_id % HD_CREDS_BUCKETS];
	c->buckets[app_id % HD_CREDS_BUCKETS] = e;
	*out = &e->c;
	return HD_OK;
}

void
hd_creds_release(struct hd_creds_cache *c, const struct hd_app_creds *creds)
{
	(void)c;
	hd_creds_unref((struct hd_creds_entry *)(void *)((char *)(uintptr_t)creds -
	    offsetof(struct hd_creds_entry, c)));
}
