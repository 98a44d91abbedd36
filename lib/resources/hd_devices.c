#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hd_devices.h"
#include "hd_random.h"
#include "hd_text.h"


/* id = LAST_INSERT_ID(id) makes the insert id name the row whether it was inserted
 * or already there. A publishable key may give a user an email, never change one:
 * sends can target users by email. */
static const char SQL_UPSERT_USER[] =
    "INSERT INTO app_users (uid, app_id, external_id, email) VALUES (?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE email = COALESCE(email, VALUES(email)),"
    " id = LAST_INSERT_ID(id)";

static const char SQL_UPSERT_DEVICE[] =
    "INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, p256dh,"
    " auth_secret, push_permission, info, idfa, idfv, advertising_id, android_id,"
    " serial_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE app_user_id = VALUES(app_user_id),"
    " idfa = VALUES(idfa), idfv = VALUES(idfv), advertising_id = VALUES(advertising_id),"
    " android_id = VALUES(android_id), serial_id = VALUES(serial_id),"
    " platform = VALUES(platform), token = VALUES(token), p256dh = VALUES(p256dh),"
    " auth_secret = VALUES(auth_secret), push_permission = VALUES(push_permission),"
    " info = COALESCE(VALUES(info), info), status = 'active',"
    " last_active_at = NOW(6), id = LAST_INSERT_ID(id)";

static const char SQL_DEVICE_UID[] = "SELECT uid FROM devices WHERE id = ?";

static const char SQL_IDENTITY_SECRET[] = "SELECT identity_secret FROM apps WHERE id = ?";

/* The platform parameter, given twice, is NULL for a device of any platform. */
static const char SQL_DELETE_QUEUED[] =
    "DELETE dl FROM deliveries dl JOIN devices d ON d.id = dl.device_id"
    " WHERE d.app_id = ? AND d.uid = ? AND (? IS NULL OR d.platform = ?)"
    " AND dl.state = 'queued'";

static const char SQL_DELETE_DEVICE[] =
    "DELETE FROM devices WHERE app_id = ? AND uid = ? AND (? IS NULL OR platform = ?)";

static enum hd_err
hd_device_register_once(struct hd_db *db, const struct hd_principal *who,
    const struct hd_device_reg *reg, char uid[HD_DEVICE_UID_LEN + 1], uint64_t *user_id_out,
    bool *created)
{
	char user_uid[HD_DEVICE_UID_LEN + 1], new_uid[HD_DEVICE_UID_LEN + 1];
	unsigned char token_hash[32];
	uint64_t user_id = 0, device_id = 0, affected = 0;
	struct hd_dbp u[4], d[10 + HD_AD__MAX], id;
	struct hd_dbc col = { .type = HD_DBT_TEXT, .buf = uid, .cap = HD_DEVICE_UID_LEN + 1 };
	bool found;
	enum hd_err err;

	if ((err = hd_random_hex(user_uid, HD_DEVICE_UID_LEN / 2)) != HD_OK ||
	    (err = hd_random_hex(new_uid, HD_DEVICE_UID_LEN / 2)) != HD_OK ||
	    (err = hd_sha256(reg->token, reg->token_len, token_hash)) != HD_OK)
		return err;
	u[0] = HD_DBP_TEXT(user_uid, HD_DEVICE_UID_LEN);
	u[1] = HD_DBP_U64(who->app_id);
	u[2] = HD_DBP_TEXT(reg->external_id, reg->external_id_len);
	u[3] = reg->email ? HD_DBP_TEXT(reg->email, reg->email_len) : HD_DBP_NULL;
	d[0] = HD_DBP_TEXT(new_uid, HD_DEVICE_UID_LEN);
	d[1] = HD_DBP_U64(who->app_id);
	d[3] = HD_DBP_STR(hd_platform_names[reg->platform]);
	d[4] = HD_DBP_TEXT(reg->token, reg->token_len);
	d[5] = HD_DBP_BLOB(token_hash, sizeof(token_hash));
	d[6] = reg->p256dh ? HD_DBP_TEXT(reg->p256dh, reg->p256dh_len) : HD_DBP_NULL;
	d[7] = reg->auth ? HD_DBP_TEXT(reg->auth, reg->auth_len) : HD_DBP_NULL;
	d[8] = HD_DBP_U64(reg->push_permission ? 1 : 0);
	d[9] = reg->info_json ? HD_DBP_STR(reg->info_json) : HD_DBP_NULL;
	for (size_t i = 0; i < HD_AD__MAX; i++)
		d[10 + i] = reg->ad_ids[i] ? HD_DBP_TEXT(reg->ad_ids[i], reg->ad_id_lens[i]) :
		    HD_DBP_NULL;

	if ((err = hd_db_begin(db)) != HD_OK)
		return err;
	if ((err = hd_db_exec(db, SQL_UPSERT_USER, u, 4, NULL, &user_id)) != HD_OK)
		goto fail;
	d[2] = HD_DBP_U64(user_id);
	if ((err = hd_db_exec(db, SQL_UPSERT_DEVICE, d, 10 + HD_AD__MAX, &affected, &device_id)) != HD_OK)
		goto fail;
	id = HD_DBP_U64(device_id);
	if ((err = hd_db_query_one(db, SQL_DEVICE_UID, &id, 1, &col, 1, &found)) != HD_OK)
		goto fail;
	if (!found) {
		err = HD_ERR_INTERNAL;
		goto fail;
	}
	if ((err = hd_db_commit(db)) != HD_OK)
		return err;
	*created = affected == 1;
	*user_id_out = user_id;
	return HD_OK;
fail:
	hd_db_rollback(db);
	return err;
}

enum hd_err
hd_device_register(struct hd_db *db, const struct hd_principal *who,
    const struct hd_device_reg *reg, char uid[HD_DEVICE_UID_LEN + 1], uint64_t *user_id,
    bool *created)
{
	enum hd_err err = HD_ERR_DB_RETRY;

	for (int attempt = 0; attempt < HD_DB_TXN_ATTEMPTS && err == HD_ERR_DB_RETRY; attempt++)
		err = hd_device_register_once(db, who, reg, uid, user_id, created);
	return err;
}

enum hd_err
hd_device_identity_ok(struct hd_db *db, const struct hd_principal *who,
    const char *external_id, size_t external_id_len, const char *user_hash,
    size_t user_hash_len, bool *ok)
{
	unsigned char secret[32], mac[EVP_MAX_MD_SIZE];
	char expected[2 * 32 + 1];
	unsigned int maclen = 0;
	struct hd_dbp id = HD_DBP_U64(who->app_id);
	struct hd_dbc col = { .type = HD_DBT_BLOB, .buf = secret, .cap = sizeof(secret) };
	bool found;
	enum hd_err err;

	*ok = false;
	if ((err = hd_db_query_one(db, SQL_IDENTITY_SECRET, &id, 1, &col, 1, &found)) != HD_OK)
		return err;
	if (!found || col.is_null) {
		*ok = true;
		return HD_OK;
	}
	if (user_hash == NULL || user_hash_len != 2 * 32)
		goto out;
	if (HMAC(EVP_sha256(), secret, (int)col.len, (const unsigned char *)external_id,
	    external_id_len, mac, &maclen) == NULL || maclen != 32) {
		err = HD_ERR_CRYPTO;
		goto out;
	}
	hd_hex_encode(mac, 32, expected);
	/* Lower-case hex expected; constant time so the comparison leaks nothing. */
	*ok = CRYPTO_memcmp(expected, user_hash, 2 * 32) == 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return err;
}

enum hd_err
hd_device_delete(struct hd_db *db, const struct hd_principal *who, const char *uid,
    bool *found)
{
	return hd_device_delete_on(db, who, uid, HD_PLATFORM__MAX, found);
}

enum hd_err
hd_device_delete_on(struct hd_db *db, const struct hd_principal *who, const char *uid,
    enum hd_platform platform, bool *found)
{
	struct hd_dbp only = platform < HD_PLATFORM__MAX ?
	    HD_DBP_STR(hd_platform_names[platform]) : HD_DBP_NULL;
	struct hd_dbp p[4] = { HD_DBP_U64(who->app_id), HD_DBP_STR(uid), only, only };
	uint64_t affected = 0;
	enum hd_err err;

	*found = false;
	if ((err = hd_db_begin(db)) != HD_OK)
		return err;
	if ((err = hd_db_exec(db, SQL_DELETE_QUEUED, p, 4, NULL, NULL)) != HD_OK ||
	    (err = hd_db_exec(db, SQL_DELETE_DEVICE, p, 4, &affected, NULL)) != HD_OK) {
		hd_db_rollback(db);
		return err;
	}
	if ((err = hd_db_commit(db)) != HD_OK)
		return err;
	*found = affected > 0;
	return HD_OK;
}
