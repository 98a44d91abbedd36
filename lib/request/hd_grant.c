#include <stdio.h>
#include <string.h>

#include "hd_grant.h"

static const char SQL_GRANTED_APP[] = "CALL hd_key_app_grant(?, ?, ?)";

enum { C_ID, C_UID, C_WINDOW, C_ENABLED, C_HOURLY, C_DAILY, C_GRANTED, C_ANY, C__MAX };

enum hd_err
hd_grant_app(struct hd_db *db, struct hd_principal *who, const char *app_uid, size_t len,
    enum hd_grant *out)
{
	int64_t id = 0, window = 0, enabled = 0, hourly = 0, daily = 0, granted = 0, any = 0;
	char uid[sizeof(who->app_uid)];
	struct hd_dbc cols[C__MAX] = {
		[C_ID] = { .type = HD_DBT_I64, .num = &id },
		[C_UID] = { .type = HD_DBT_TEXT, .buf = uid, .cap = sizeof(uid) },
		[C_WINDOW] = { .type = HD_DBT_I64, .num = &window },
		[C_ENABLED] = { .type = HD_DBT_I64, .num = &enabled },
		[C_HOURLY] = { .type = HD_DBT_I64, .num = &hourly },
		[C_DAILY] = { .type = HD_DBT_I64, .num = &daily },
		[C_GRANTED] = { .type = HD_DBT_I64, .num = &granted },
		[C_ANY] = { .type = HD_DBT_I64, .num = &any },
	};
	struct hd_dbp p[3] = { HD_DBP_U64(who->key_id), HD_DBP_TEXT(app_uid, len),
		HD_DBP_U64(who->tenant_id) };
	bool found = false;
	enum hd_err err;

	*out = HD_GRANT_NO_APP;
	/* apps.uid is CHAR(36): a longer id names no app (and is not sent). */
	if (len >= sizeof(uid))
		return HD_OK;
	if ((err = hd_db_call(db, SQL_GRANTED_APP, p, 3, cols, C__MAX, &found)) != HD_OK)
		return err;
	if (!found)
		return HD_OK;
	if (!granted) {
		*out = any ? HD_GRANT_NOT_APP : HD_GRANT_NONE;
		return HD_OK;
	}
	who->app_id = (uint64_t)id;
	snprintf(who->app_uid, sizeof(who->app_uid), "%s", uid);
	who->dedupe_window_s = (unsigned)window;
	who->push_enabled = enabled != 0;
	who->quota_hourly = cols[C_HOURLY].is_null ? -1 : hourly;
	who->quota_daily = cols[C_DAILY].is_null ? -1 : daily;
	*out = HD_GRANT_OK;
	return HD_OK;
}
