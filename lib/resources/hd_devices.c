#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hd_devices.h"
#include "hd_random.h"
#include "hd_text.h"

static const char SQL_REGISTER[] =
    "CALL hd_register_device(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_IDENTITY_SECRET[] = "CALL hd_app_identity_secret(?)";
/* The platform is NULL for a device of any platform. */
static const char SQL_DELETE[] = "CALL hd_delete_device(?, ?, ?)";

enum hd_err
hd_device_register(struct hd_db *db, const struct hd_principal *who,
    const struct hd_device_reg *reg, char uid[HD_DEVICE_UID_LEN + 1], uint64_t *user_id,
    bool *created)
{
	enum { P_APP, P_USER_UID, P_EXTERNAL_ID, P_EMAIL, P_DEVICE_UID, P_PLATFORM, P_TOKEN,
		P_TOKEN_HASH, P_P256DH, P_AUTH, P_PERMISSION, P_INFO, P_AD_IDS, P__MAX =
		P_AD_IDS + HD_AD__MAX };
	char user_uid[HD_DEVICE_UID_LEN + 1], new_uid[HD_DEVICE_UID_LEN + 1];
	unsigned char token_hash[32];
	int64_t user = 0, inserted = 0;
	struct hd_dbp p[P__MAX];
	struct hd_dbc cols[3] = {
		{ .type = HD_DBT_TEXT, .buf = uid, .cap = HD_DEVICE_UID_LEN + 1 },
		{ .type = HD_DBT_I64, .num = &user },
		{ .type = HD_DBT_I64, .num = &inserted },
	};
	bool found = false;
	enum hd_err err;

	if ((err = hd_random_hex(user_uid, HD_DEVICE_UID_LEN / 2)) != HD_OK ||
	    (err = hd_random_hex(new_uid, HD_DEVICE_UID_LEN / 2)) != HD_OK ||
	    (err = hd_sha256(reg->token, reg->token_len, token_hash)) != HD_OK)
		return err;
	p[P_APP] = HD_DBP_U64(who->app_id);
	p[P_USER_UID] = HD_DBP_TEXT(user_uid, HD_DEVICE_UID_LEN);
	p[P_EXTERNAL_ID] = HD_DBP_TEXT(reg->external_id, reg->external_id_len);
	p[P_EMAIL] = reg->email ? HD_DBP_TEXT(reg->email, reg->email_len) : HD_DBP_NULL;
	p[P_DEVICE_UID] = HD_DBP_TEXT(new_uid, HD_DEVICE_UID_LEN);
	p[P_PLATFORM] = HD_DBP_STR(hd_platform_names[reg->platform]);
	p[P_TOKEN] = HD_DBP_TEXT(reg->token, reg->token_len);
	p[P_TOKEN_HASH] = HD_DBP_BLOB(token_hash, sizeof(token_hash));
	p[P_P256DH] = reg->p256dh ? HD_DBP_TEXT(reg->p256dh, reg->p256dh_len) : HD_DBP_NULL;
	p[P_AUTH] = reg->auth ? HD_DBP_TEXT(reg->auth, reg->auth_len) : HD_DBP_NULL;
	p[P_PERMISSION] = HD_DBP_U64(reg->push_permission ? 1 : 0);
	p[P_INFO] = reg->info_json ? HD_DBP_STR(reg->info_json) : HD_DBP_NULL;
	for (size_t i = 0; i < HD_AD__MAX; i++)
		p[P_AD_IDS + i] = reg->ad_ids[i] ?
		    HD_DBP_TEXT(reg->ad_ids[i], reg->ad_id_lens[i]) : HD_DBP_NULL;

	if ((err = hd_db_call_txn(db, SQL_REGISTER, p, P__MAX, cols, 3, &found)) != HD_OK)
		return err;
	if (!found)
		return HD_ERR_INTERNAL;
	*created = inserted != 0;
	*user_id = (uint64_t)user;
	return HD_OK;
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
	if ((err = hd_db_call(db, SQL_IDENTITY_SECRET, &id, 1, &col, 1, &found)) != HD_OK)
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
	struct hd_dbp p[3] = { HD_DBP_U64(who->app_id), HD_DBP_STR(uid), only };
	int64_t deleted = 0;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &deleted };
	bool row = false;
	enum hd_err err;

	*found = false;
	/* Another length names no device (and is not sent). */
	if (strlen(uid) != HD_DEVICE_UID_LEN)
		return HD_OK;
	if ((err = hd_db_call_txn(db, SQL_DELETE, p, 3, &col, 1, &row)) != HD_OK)
		return err;
	*found = row && deleted > 0;
	return HD_OK;
}
