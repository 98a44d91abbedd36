#include <stdlib.h>
#include <string.h>

#include "hd_clients.h"
#include "hd_doc.h"
#include "hd_endpoint.h"
#include "hd_pushid.h"
#include "hd_time.h"
#include "hd_useragent.h"

const char *const hd_client_statuses[] = { "active", "inactive", "expired", "unregistered",
	NULL };

/* Stored device info is at most 1024 bytes (POST /devices); a longer value written by
 * other means is read cut, fails to parse, and counts as none. */
#define HD_CLIENT_INFO_CHARS 4096
#define HD_CLIENT_INFO_CAP (4 * HD_CLIENT_INFO_CHARS + 1)

/* The filters (status, email) are NULL for any. notification_count: deliveries to the
 * device that reached it (delivered), as long as hd_purge keeps them. */
static const char SQL_CLIENTS[] = "CALL hd_web_clients(?, ?, ?, ?, ?, ?)";
static const char SQL_CLIENTS_TOTAL[] = "CALL hd_web_clients_total(?, ?, ?)";

#define HD_CLIENT_COLS 8

/* One row of HD_CLIENT_SELECT, with its buffers. */
struct hd_client_row {
	char uid[HD_DEVICE_UID_LEN + 1];
	char status[16];
	char email[1024];
	char info[HD_CLIENT_INFO_CAP];
	int64_t permission, last_active, created, delivered;
	struct hd_dbc cols[HD_CLIENT_COLS];
};

static struct hd_client_row *
hd_client_row_new(void)
{
	struct hd_client_row *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cols[0] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = r->uid, .cap = sizeof(r->uid) };
	r->cols[1] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = r->status,
	    .cap = sizeof(r->status) };
	r->cols[2] = (struct hd_dbc){ .type = HD_DBT_I64, .num = &r->permission };
	r->cols[3] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = r->email,
	    .cap = sizeof(r->email) };
	r->cols[4] = (struct hd_dbc){ .type = HD_DBT_TIME, .num = &r->last_active };
	r->cols[5] = (struct hd_dbc){ .type = HD_DBT_TIME, .num = &r->created };
	r->cols[6] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = r->info, .cap = sizeof(r->info) };
	r->cols[7] = (struct hd_dbc){ .type = HD_DBT_I64, .num = &r->delivered };
	return r;
}

static void
hd_json_set_null(json_object *obj, const char *key)
{
	if (obj != NULL)
		json_object_object_add(obj, key, NULL);
}

static void
hd_json_set_text(json_object *obj, const char *key, const char *s)
{
	if (s == NULL || *s == '\0')
		hd_json_set_null(obj, key);
	else
		hd_json_set_str(obj, key, s, strlen(s));
}

static void
hd_json_set_time(json_object *obj, const char *key, int64_t usec)
{
	char text[HD_RFC3339_LEN + 1];

	hd_rfc3339_format(usec, text);
	hd_json_set_str(obj, key, text, strlen(text));
}

/* A string member of info, or NULL. */
static const char *
hd_info_str(json_object *info, const char *key)
{
	json_object *v;

	if (info == NULL || !json_object_object_get_ex(info, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

json_object *
hd_client_device_info(const char *info, size_t len, bool *installed)
{
	json_object *tree = NULL, *doc, *v;
	const char *why, *ua_text, *given;
	struct hd_useragent ua;
	char version[sizeof(ua.browser_version)];

	*installed = false;
	if (info != NULL && len > 0 && hd_json_parse(info, len, &tree, &why) != HD_P_NONE)
		tree = NULL;
	if ((doc = json_object_new_object()) == NULL)
		goto out;
	ua_text = hd_info_str(tree, "user_agent");
	if (ua_text == NULL)
		ua_text = hd_info_str(tree, "userAgent");
	hd_useragent_parse(ua_text, ua_text ? strlen(ua_text) : 0, &ua);
	memcpy(version, ua.browser_version, sizeof(version));
	hd_json_set_text(doc, "browser_name",
	    (given = hd_info_str(tree, "browser_name")) ? given : ua.browser);
	hd_json_set_text(doc, "browser_version",
	    (given = hd_info_str(tree, "browser_version")) ? given : version);
	hd_json_set_text(doc, "os_name", (given = hd_info_str(tree, "os_name")) ? given : ua.os);
	hd_json_set_text(doc, "device_type",
	    (given = hd_info_str(tree, "device_type")) ? given : ua.device_type);
	*installed = tree != NULL && json_object_object_get_ex(tree, "is_installed", &v) &&
	    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
out:
	json_object_put(tree);
	return doc;
}

/* The seed's client object for one row. */
static json_object *
hd_client_doc(const struct hd_principal *who, const struct hd_client_row *r)
{
	char reg[HD_REG_ID_LEN + 1], svc[HD_SVC_ID_MAX + 1], org[HD_ORG_ID_MAX + 1];
	json_object *doc = json_object_new_object(), *info;
	bool active = strcmp(r->status, "active") == 0, installed;

	if (doc == NULL)
		return NULL;
	info = hd_client_device_info(r->cols[6].is_null ? NULL : r->info,
	    r->cols[6].is_null ? 0 : r->cols[6].len, &installed);
	if (info == NULL) {
		json_object_put(doc);
		return NULL;
	}
	hd_reg_id(r->uid, reg);
	hd_svc_id(who->app_uid, svc);
	hd_org_id(who->tenant_id, org);
	hd_json_set_str(doc, "registration_id", reg, strlen(reg));
	hd_json_set_str(doc, "organization_id", org, strlen(org));
	hd_json_set_str(doc, "service_id", svc, strlen(svc));
	hd_json_set_str(doc, "status", r->status, strlen(r->status));
	hd_json_set_bool(doc, "is_active", active);
	/* Web Push reaches browsers through their vendor's push service, which never
	 * tells the sender whether a browser is connected. */
	hd_json_set_bool(doc, "is_online", false);
	hd_json_set_bool(doc, "is_installed", installed);
	hd_json_set_bool(doc, "is_subscribed", active && r->permission != 0);
	if (r->cols[3].is_null)
		hd_json_set_null(doc, "user_email");
	else
		hd_json_set_str(doc, "user_email", r->email, strlen(r->email));
	hd_json_set_time(doc, "last_active", r->last_active);
	hd_json_set_int(doc, "notification_count", r->delivered);
	if (json_object_object_add(doc, "device_info", info) != 0) {
		json_object_put(info);
		json_object_put(doc);
		return NULL;
	}
	hd_json_set_time(doc, "created_at", r->created);
	return doc;
}

enum hd_err
hd_clients_list(struct hd_db *db, const struct hd_principal *who,
    const struct hd_client_query *q, json_object *list, int64_t *total)
{
	struct hd_client_row *r = hd_client_row_new();
	struct hd_dbp status = q->status >= 0 ? HD_DBP_STR(hd_client_statuses[q->status]) :
	    HD_DBP_NULL;
	struct hd_dbp email = q->email ? HD_DBP_TEXT(q->email, q->email_len) : HD_DBP_NULL;
	/* The total takes the same parameters less the uid and the page. */
	struct hd_dbp totals[3] = { HD_DBP_U64(who->app_id), status, email };
	struct hd_dbp p[6] = { HD_DBP_U64(who->app_id), HD_DBP_NULL, status, email,
	    HD_DBP_I64(q->limit), HD_DBP_I64(q->offset) };
	struct hd_dbc count = { .type = HD_DBT_I64, .num = total };
	bool row = false;
	enum hd_err err;

	*total = 0;
	if (r == NULL)
		return HD_ERR_NOMEM;
	/* One snapshot (REPEATABLE READ): the page and the total agree. */
	if ((err = hd_db_begin(db)) != HD_OK)
		goto out;
	if ((err = hd_db_call(db, SQL_CLIENTS_TOTAL, totals, 3, &count, 1, &row)) != HD_OK)
		goto out;
	if ((err = hd_db_query(db, SQL_CLIENTS, p, 6, r->cols, HD_CLIENT_COLS)) != HD_OK)
		goto out;
	while ((err = hd_db_fetch(db, &row)) == HD_OK && row) {
		json_object *doc = hd_client_doc(who, r);

		if (doc == NULL || json_object_array_add(list, doc) != 0) {
			json_object_put(doc);
			err = HD_ERR_NOMEM;
			break;
		}
	}
	hd_db_done(db);
out:
	hd_db_rollback(db);
	free(r);
	return err;
}

enum hd_err
hd_client_get(struct hd_db *db, const struct hd_principal *who, const char *uid,
    json_object **doc)
{
	struct hd_client_row *r = hd_client_row_new();
	struct hd_dbp p[6] = { HD_DBP_U64(who->app_id), HD_DBP_STR(uid), HD_DBP_NULL,
	    HD_DBP_NULL, HD_DBP_I64(1), HD_DBP_I64(0) };
	bool found = false;
	enum hd_err err;

	*doc = NULL;
	if (r == NULL)
		return HD_ERR_NOMEM;
	/* Another length names no client (and is not sent). */
	if (strlen(uid) != HD_DEVICE_UID_LEN) {
		free(r);
		return HD_OK;
	}
	err = hd_db_call(db, SQL_CLIENTS, p, 6, r->cols, HD_CLIENT_COLS, &found);
	if (err == HD_OK && found && (*doc = hd_client_doc(who, r)) == NULL)
		err = HD_ERR_NOMEM;
	free(r);
	return err;
}
