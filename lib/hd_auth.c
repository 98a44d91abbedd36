#include <string.h>
#include <openssl/evp.h>

#include "hd_auth.h"

static const char *const hd_key_kind_names[HD_KEY__MAX] = {
	[HD_KEY_NONE] = "",
	[HD_KEY_SERVER] = "server",
	[HD_KEY_SECRET] = "secret",
	[HD_KEY_USER_TOKEN] = "user_token",
	[HD_KEY_BEARER] = "bearer",
	[HD_KEY_INTEGRATION] = "integration",
	[HD_KEY_CLIENT] = "client",
};

static const char SQL_KEY_LOOKUP[] =
    "SELECT k.id, k.tenant_id, k.app_id, k.app_user_id, a.uid, a.dedupe_window_s"
    " FROM api_keys k LEFT JOIN apps a ON a.id = k.app_id"
    " WHERE k.key_hash = ? AND k.kind = ? AND k.revoked_at IS NULL";

enum hd_err
hd_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

enum hd_err
hd_auth_lookup(struct hd_db *db, enum hd_key_kind kind, const char *key, size_t len,
    struct hd_principal *out, bool *found)
{
	unsigned char hash[32];
	int64_t id = 0, tenant = 0, app = 0, user = 0, window = 0;
	struct hd_dbc cols[] = {
		{ .type = HD_DBT_U64, .num = &id },
		{ .type = HD_DBT_U64, .num = &tenant },
		{ .type = HD_DBT_U64, .num = &app },
		{ .type = HD_DBT_U64, .num = &user },
		{ .type = HD_DBT_TEXT, .buf = out->app_uid, .cap = sizeof(out->app_uid) },
		{ .type = HD_DBT_U64, .num = &window },
	};
	struct hd_dbp params[2];
	enum hd_err err;

	*found = false;
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > HD_KEY_MAX_LEN || (unsigned)kind >= HD_KEY__MAX ||
	    kind == HD_KEY_NONE)
		return HD_OK;
	if ((err = hd_sha256(key, len, hash)) != HD_OK)
		return err;
	params[0] = HD_DBP_BLOB(hash, sizeof(hash));
	params[1] = HD_DBP_STR(hd_key_kind_names[kind]);
	err = hd_db_query_one(db, SQL_KEY_LOOKUP, params, 2, cols, 6, found);
	if (err != HD_OK || !*found)
		return err;
	out->kind = kind;
	out->key_id = (uint64_t)id;
	out->tenant_id = (uint64_t)tenant;
	out->app_id = cols[2].is_null ? 0 : (uint64_t)app;
	out->app_user_id = cols[3].is_null ? 0 : (uint64_t)user;
	if (cols[4].is_null)
		out->app_uid[0] = '\0';
	out->dedupe_window_s = cols[5].is_null ? 600 : (unsigned)window;
	return HD_OK;
}
