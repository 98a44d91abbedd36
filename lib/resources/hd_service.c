#include <string.h>

#include "hd_endpoint.h"
#include "hd_pushid.h"
#include "hd_service.h"
#include "hd_time.h"

/* The public half of the VAPID key comes from the view hd_webpush_vapid: the web
 * programs never read app_credentials, which holds private keys. */
static const char SQL_SERVICE[] = "CALL hd_web_service(?)";
/* What hd_queue_message has charged in the current UTC hour and day. */
static const char SQL_QUOTA[] = "CALL hd_app_quota_state(?)";

static void
hd_json_set_ids(json_object *doc, const struct hd_principal *who, bool service_first)
{
	char svc[HD_SVC_ID_MAX + 1], org[HD_ORG_ID_MAX + 1];

	hd_svc_id(who->app_uid, svc);
	hd_org_id(who->tenant_id, org);
	if (service_first)
		hd_json_set_str(doc, "service_id", svc, strlen(svc));
	hd_json_set_str(doc, "organization_id", org, strlen(org));
	if (!service_first)
		hd_json_set_str(doc, "service_id", svc, strlen(svc));
}

/* value, or null when the column was NULL. */
static void
hd_json_set_opt_int(json_object *doc, const char *key, const struct hd_dbc *col, int64_t v)
{
	if (col->is_null)
		json_object_object_add(doc, key, NULL);
	else
		hd_json_set_int(doc, key, v);
}

enum hd_err
hd_service_doc(struct hd_db *db, const struct hd_principal *who, json_object **doc)
{
	char uid[40], name[808], contact[1024], vapid[88];
	int64_t enabled, hourly, daily, has_vapid, active, subscribers;
	struct hd_dbc c[10] = {
		{ .type = HD_DBT_TEXT, .buf = uid, .cap = sizeof(uid) },
		{ .type = HD_DBT_TEXT, .buf = name, .cap = sizeof(name) },
		{ .type = HD_DBT_I64, .num = &enabled },
		{ .type = HD_DBT_I64, .num = &hourly },
		{ .type = HD_DBT_I64, .num = &daily },
		{ .type = HD_DBT_TEXT, .buf = contact, .cap = sizeof(contact) },
		{ .type = HD_DBT_TEXT, .buf = vapid, .cap = sizeof(vapid) },
		{ .type = HD_DBT_I64, .num = &has_vapid },
		{ .type = HD_DBT_I64, .num = &active },
		{ .type = HD_DBT_I64, .num = &subscribers },
	};
	struct hd_dbp p = HD_DBP_U64(who->app_id);
	bool found = false;
	enum hd_err err;
	json_object *d;

	*doc = NULL;
	if ((err = hd_db_call(db, SQL_SERVICE, &p, 1, c, 10, &found)) != HD_OK)
		return err;
	/* The key that admitted the request names the app, which cannot go away: apps
	 * are never deleted while keys refer to them (foreign key). */
	if (!found)
		return HD_ERR_INTERNAL;
	if ((d = json_object_new_object()) == NULL)
		return HD_ERR_NOMEM;
	hd_json_set_ids(d, who, true);
	hd_json_set_str(d, "service_identifier", uid, strlen(uid));
	hd_json_set_str(d, "service_name", name, strlen(name));
	if (c[6].is_null)
		json_object_object_add(d, "vapid_public_key", NULL);
	else
		hd_json_set_str(d, "vapid_public_key", vapid, strlen(vapid));
	if (c[5].is_null)
		json_object_object_add(d, "contact_email", NULL);
	else
		hd_json_set_str(d, "contact_email", contact, strlen(contact));
	hd_json_set_bool(d, "notifications_enabled", enabled != 0);
	hd_json_set_bool(d, "is_active", has_vapid != 0);
	hd_json_set_opt_int(d, "hourly_notification_limit", &c[3], hourly);
	hd_json_set_opt_int(d, "daily_notification_limit", &c[4], daily);
	hd_json_set_int(d, "active_registrations", active);
	hd_json_set_int(d, "push_subscribers", subscribers);
	*doc = d;
	return HD_OK;
}

static void
hd_json_set_remaining(json_object *doc, const char *key, const struct hd_dbc *limit_col,
    int64_t limit, const struct hd_dbc *used_col, int64_t used)
{
	int64_t left = limit - (used_col->is_null ? 0 : used);

	if (limit_col->is_null)
		json_object_object_add(doc, key, NULL);
	else
		hd_json_set_int(doc, key, left > 0 ? left : 0);
}

enum hd_err
hd_quota_doc(struct hd_db *db, const struct hd_principal *who, json_object **doc)
{
	int64_t hourly, daily, used_hour, used_day, hour_end, day_end;
	struct hd_dbc c[6] = {
		{ .type = HD_DBT_I64, .num = &hourly },
		{ .type = HD_DBT_I64, .num = &daily },
		{ .type = HD_DBT_I64, .num = &used_hour },
		{ .type = HD_DBT_I64, .num = &used_day },
		{ .type = HD_DBT_TIME, .num = &hour_end },
		{ .type = HD_DBT_TIME, .num = &day_end },
	};
	struct hd_dbp p = HD_DBP_U64(who->app_id);
	char text[HD_RFC3339_LEN + 1];
	bool found = false;
	enum hd_err err;
	json_object *d;

	*doc = NULL;
	if ((err = hd_db_call(db, SQL_QUOTA, &p, 1, c, 6, &found)) != HD_OK)
		return err;
	if (!found)
		return HD_ERR_INTERNAL;
	if ((d = json_object_new_object()) == NULL)
		return HD_ERR_NOMEM;
	hd_json_set_ids(d, who, false);
	hd_json_set_opt_int(d, "hourly_limit", &c[0], hourly);
	hd_json_set_opt_int(d, "daily_limit", &c[1], daily);
	hd_json_set_remaining(d, "hourly_remaining", &c[0], hourly, &c[2], used_hour);
	hd_json_set_remaining(d, "daily_remaining", &c[1], daily, &c[3], used_day);
	hd_rfc3339_format(hour_end, text);
	hd_json_set_str(d, "reset_hourly_at", text, strlen(text));
	hd_rfc3339_format(day_end, text);
	hd_json_set_str(d, "reset_daily_at", text, strlen(text));
	*doc = d;
	return HD_OK;
}
