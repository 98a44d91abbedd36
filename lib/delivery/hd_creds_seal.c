/* Provider secrets sealed at rest (see hd_creds_seal.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd_creds_seal.h"
#include "hd_log.h"

#define HD_SECRET_MAX 256
/* Rows sealed per pass: a pass is one short transaction per row, every second. */
#define HD_SEAL_BATCH 100

/* "herald app_credentials APP PROVIDER": a sealed value opens only in its own row. */
static void
hd_creds_aad(uint64_t app_id, const char *provider, char *out, size_t cap)
{
	snprintf(out, cap, "herald app_credentials %" PRIu64 " %s", app_id, provider);
}

/* The sealed plaintext: per secret, a presence byte, a 4-byte big-endian length and
 * the bytes. */
static enum hd_err
hd_put_secret(struct hd_buf *b, const char *s, size_t len)
{
	unsigned char head[5] = { s != NULL, (unsigned char)(len >> 24),
		(unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len };
	enum hd_err err;

	if ((err = hd_buf_append(b, head, sizeof(head))) != HD_OK || s == NULL)
		return err;
	return hd_buf_append(b, s, len);
}

static int
hd_get_secret(const unsigned char **p, const unsigned char *end, const char **s,
    size_t *len)
{
	size_t n;

	if (end - *p < 5 || (*p)[0] > 1)
		return -1;
	n = (size_t)(*p)[1] << 24 | (size_t)(*p)[2] << 16 | (size_t)(*p)[3] << 8 | (*p)[4];
	if ((*p)[0] == 0) {
		*s = NULL;
		*len = 0;
		*p += 5;
		return n == 0 ? 0 : -1;
	}
	if ((size_t)(end - *p - 5) < n)
		return -1;
	*s = (const char *)*p + 5;
	*len = n;
	*p += 5 + n;
	return 0;
}

enum hd_err
hd_creds_open(const struct hd_keyring *k, uint64_t app_id, const char *provider,
    const char *key_id, const void *sealed, size_t n, struct hd_buf *plain,
    struct hd_creds_secrets *out)
{
	char aad[96];
	const unsigned char *p, *end;
	enum hd_err err;

	hd_creds_aad(app_id, provider, aad, sizeof(aad));
	if ((err = hd_unseal(k, key_id, aad, sealed, n, plain)) != HD_OK)
		return err;
	p = (const unsigned char *)plain->data;
	end = p + plain->len;
	if (hd_get_secret(&p, end, &out->private_key_pem, &out->private_key_len) != 0 ||
	    hd_get_secret(&p, end, &out->client_secret, &out->client_secret_len) != 0 ||
	    p != end)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

struct hd_seal_row {
	uint64_t app_id;
	char provider[16];
	char *pem, *secret, *sealed;
	size_t pem_len, secret_len, sealed_len;
	bool has_pem, has_secret, has_sealed;
	char key_id[HD_KEY_ID_MAX + 1];
};

static void
hd_seal_row_clear(struct hd_seal_row *r)
{
	if (r->pem)
		explicit_bzero(r->pem, r->pem_len);
	if (r->secret)
		explicit_bzero(r->secret, r->secret_len);
	free(r->pem);
	free(r->secret);
	free(r->sealed);
}

static enum hd_err
hd_dup_bytes(const struct hd_dbc *c, char **out, size_t *len, bool *present)
{
	*present = !c->is_null;
	*len = c->is_null ? 0 : c->len;
	if (c->is_null)
		return HD_OK;
	if ((*out = malloc(c->len + 1)) == NULL)
		return HD_ERR_NOMEM;
	memcpy(*out, c->buf, c->len);
	(*out)[c->len] = '\0';
	return HD_OK;
}

enum col { C_APP, C_PROVIDER, C_PEM, C_SECRET, C_SEALED, C_KEY_ID, C__MAX };

/* Reads the rows to seal into rows (at most HD_SEAL_BATCH). */
static enum hd_err
hd_seal_read(struct hd_db *db, const struct hd_keyring *k, struct hd_seal_row *rows,
    size_t *nrows)
{
	static const char sql[] = "CALL hd_credentials_to_seal(?, ?)";
	struct hd_dbp p[] = { HD_DBP_STR(hd_keyring_current(k)), HD_DBP_I64(HD_SEAL_BATCH) };
	static const size_t caps[C__MAX] = { 0, 16, HD_CREDS_PEM_MAX, HD_SECRET_MAX, HD_SEALED_MAX,
		HD_KEY_ID_MAX + 1 };
	struct hd_dbc cols[C__MAX];
	char *bufs[C__MAX] = { 0 };
	int64_t app_id = 0;
	enum hd_err err = HD_OK;
	bool row;

	*nrows = 0;
	memset(cols, 0, sizeof(cols));
	cols[C_APP] = (struct hd_dbc){ .type = HD_DBT_U64, .num = &app_id };
	for (size_t i = 1; i < C__MAX; i++) {
		if ((bufs[i] = malloc(caps[i])) == NULL) {
			err = HD_ERR_NOMEM;
			goto out;
		}
		cols[i] = (struct hd_dbc){ .type = i == C_SEALED ? HD_DBT_BLOB : HD_DBT_TEXT,
			.buf = bufs[i], .cap = caps[i] };
	}
	if ((err = hd_db_query(db, sql, p, 2, cols, C__MAX)) != HD_OK)
		goto out;
	while (*nrows < HD_SEAL_BATCH && (err = hd_db_fetch(db, &row)) == HD_OK && row) {
		struct hd_seal_row *r = &rows[*nrows];

		memset(r, 0, sizeof(*r));
		(*nrows)++;
		r->app_id = (uint64_t)app_id;
		snprintf(r->provider, sizeof(r->provider), "%s", bufs[C_PROVIDER]);
		snprintf(r->key_id, sizeof(r->key_id), "%s",
		    cols[C_KEY_ID].is_null ? "" : bufs[C_KEY_ID]);
		if ((err = hd_dup_bytes(&cols[C_PEM], &r->pem, &r->pem_len, &r->has_pem)) ||
		    (err = hd_dup_bytes(&cols[C_SECRET], &r->secret, &r->secret_len,
		    &r->has_secret)) ||
		    (err = hd_dup_bytes(&cols[C_SEALED], &r->sealed, &r->sealed_len,
		    &r->has_sealed)))
			break;
	}
	/* The CALL's own status follows its rows. */
	hd_db_done(db);
out:
	if (bufs[C_PEM])
		explicit_bzero(bufs[C_PEM], caps[C_PEM]);
	if (bufs[C_SECRET])
		explicit_bzero(bufs[C_SECRET], caps[C_SECRET]);
	for (size_t i = 0; i < C__MAX; i++)
		free(bufs[i]);
	return err;
}

/* Seals one row's secrets with the current key and writes them back if the row is
 * unchanged; *stored says whether it was. */
static enum hd_err
hd_seal_row(struct hd_db *db, const struct hd_keyring *k, const struct hd_seal_row *r,
    bool *stored)
{
	static const char sql[] = "CALL hd_seal_credentials(?, ?, ?, ?, ?, ?, ?)";
	struct hd_buf plain, sealed, opened;
	struct hd_creds_secrets s = { r->pem, r->pem_len, r->secret, r->secret_len };
	int64_t done = 0;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &done };
	char aad[96];
	bool found = false;
	enum hd_err err;

	*stored = false;
	hd_buf_init(&plain, HD_SEALED_MAX);
	hd_buf_init(&sealed, HD_SEALED_MAX);
	hd_buf_init(&opened, HD_SEALED_MAX);
	if (r->has_sealed && !r->has_pem && !r->has_secret) {
		/* Sealed with an older key: opened with it, sealed again with the new one. */
		if ((err = hd_creds_open(k, r->app_id, r->provider, r->key_id, r->sealed,
		    r->sealed_len, &opened, &s)) != HD_OK) {
			hd_log_error("app %" PRIu64 ": its %s secrets are sealed with key %s, "
			    "which does not open them: add that key to credentials_key_file",
			    r->app_id, r->provider, r->key_id);
			goto out;
		}
	}
	hd_creds_aad(r->app_id, r->provider, aad, sizeof(aad));
	if ((err = hd_put_secret(&plain, s.private_key_pem, s.private_key_len)) != HD_OK ||
	    (err = hd_put_secret(&plain, s.client_secret, s.client_secret_len)) != HD_OK ||
	    (err = hd_seal(k, aad, plain.data, plain.len, &sealed)) != HD_OK)
		goto out;
	{
		struct hd_dbp p[] = { HD_DBP_U64(r->app_id), HD_DBP_STR(r->provider),
			r->has_pem ? HD_DBP_TEXT(r->pem, r->pem_len) : HD_DBP_NULL,
			r->has_secret ? HD_DBP_TEXT(r->secret, r->secret_len) : HD_DBP_NULL,
			r->has_sealed ? HD_DBP_BLOB(r->sealed, r->sealed_len) : HD_DBP_NULL,
			HD_DBP_STR(hd_keyring_current(k)), HD_DBP_BLOB(sealed.data, sealed.len) };

		err = hd_db_call_txn(db, sql, p, 7, &col, 1, &found);
	}
	*stored = err == HD_OK && found && done == 1;
out:
	if (plain.data)
		explicit_bzero(plain.data, plain.len);
	if (opened.data)
		explicit_bzero(opened.data, opened.len);
	hd_buf_free(&plain);
	hd_buf_free(&opened);
	hd_buf_free(&sealed);
	return err;
}

enum hd_err
hd_creds_seal_pass(struct hd_db *db, const struct hd_keyring *k, unsigned *sealed)
{
	struct hd_seal_row *rows = calloc(HD_SEAL_BATCH, sizeof(*rows));
	size_t n = 0;
	enum hd_err err;

	*sealed = 0;
	if (rows == NULL)
		return HD_ERR_NOMEM;
	hd_db_request_start(db);
	err = hd_seal_read(db, k, rows, &n);
	for (size_t i = 0; i < n && err == HD_OK; i++) {
		bool stored;

		/* A row that does not open is left for the operator; the others go on. */
		if ((err = hd_seal_row(db, k, &rows[i], &stored)) == HD_ERR_CRYPTO)
			err = HD_OK;
		*sealed += stored;
	}
	for (size_t i = 0; i < n; i++)
		hd_seal_row_clear(&rows[i]);
	free(rows);
	return err;
}
