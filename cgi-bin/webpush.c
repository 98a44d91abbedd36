/*
 * The webpush dialect (seed 004): POST /v2/push/send and /v2/push/broadcast (bodies
 * in JSON, or XML under root <notification>), /v2/push/service, /v2/push/quota,
 * /v2/push/clients and /v2/push/clients/{registration_id} (GET, DELETE), with a secret
 * key in X-Secret-Key. JSON by default; answers in XML when asked (?format=xml or
 * Accept), errors {"detail","code"} under XML root <error>. docs/webpush.md.
 */
#include <string.h>

#include "hd_clients.h"
#include "hd_endpoint.h"
#include "hd_pushid.h"
#include "hd_query.h"
#include "hd_service.h"
#include "hd_webpush_send.h"

/* title and body are the seed's characters; the URLs, tag and data are bounded again,
 * all together, by what one Web Push message carries (hd_wp_send). */
static const struct hd_field send_fields[HD_WPF__MAX] = {
	[HD_WPF_TITLE] = { "title", HD_FT_STRING, HD_F_REQUIRED | HD_F_CHARS, 1, 100, NULL },
	[HD_WPF_BODY] = { "body", HD_FT_STRING, HD_F_REQUIRED | HD_F_CHARS, 1, 255, NULL },
	[HD_WPF_ICON] = { "icon", HD_FT_STRING, 0, 1, HD_WP_URL_MAX, NULL },
	[HD_WPF_BADGE] = { "badge", HD_FT_STRING, 0, 1, HD_WP_URL_MAX, NULL },
	[HD_WPF_IMAGE] = { "image", HD_FT_STRING, 0, 1, HD_WP_URL_MAX, NULL },
	[HD_WPF_TAG] = { "tag", HD_FT_STRING, 0, 1, 255, NULL },
	[HD_WPF_DATA] = { "data", HD_FT_OBJECT, HD_F_OPEN, 0, 4096, NULL },
	[HD_WPF_URGENCY] = { "urgency", HD_FT_ENUM, 0, 0, 0, hd_wp_urgencies },
	[HD_WPF_TTL] = { "ttl", HD_FT_INT, 0, 0, HD_WP_TTL_MAX, NULL },
	[HD_WPF_ASYNC] = { "async_mode", HD_FT_BOOL, 0, 0, 0, NULL },
	[HD_WPF_ALL] = { "target_all", HD_FT_BOOL, 0, 0, 0, NULL },
	[HD_WPF_EMAILS] = { "target_user_emails", HD_FT_LIST, 0, 1, HD_WP_LIST_MAX, NULL },
	[HD_WPF_EMAIL] = { "target_user_emails[]", HD_FT_STRING, 0, 1, 255, NULL },
	[HD_WPF_USER_IDS] = { "target_user_ids", HD_FT_LIST, 0, 1, HD_WP_LIST_MAX, NULL },
	[HD_WPF_USER_ID] = { "target_user_ids[]", HD_FT_STRING, 0, 1, 255, NULL },
	[HD_WPF_REG_IDS] = { "target_registration_ids", HD_FT_LIST, 0, 1, HD_WP_LIST_MAX,
	    NULL },
	[HD_WPF_REG_ID] = { "target_registration_ids[]", HD_FT_STRING, 0, 1, HD_REG_ID_LEN,
	    NULL },
};

static const struct hd_fieldset send_fieldset = { send_fields, HD_WPF__MAX, NULL };

enum { Q_STATUS, Q_USER_EMAIL, Q_LIMIT, Q_OFFSET, Q__MAX };

static const struct hd_field list_params[Q__MAX] = {
	[Q_STATUS] = { "status", HD_FT_ENUM, 0, 0, 0, hd_client_statuses },
	[Q_USER_EMAIL] = { "user_email", HD_FT_STRING, 0, 1, 255, NULL },
	[Q_LIMIT] = { "limit", HD_FT_INT, 0, 1, 1000, NULL },
	[Q_OFFSET] = { "offset", HD_FT_INT, 0, 0, INT64_C(9007199254740991), NULL },
};

static const struct hd_fieldset list_paramset = { list_params, Q__MAX, NULL };

enum { D_REASON, D__MAX };

/* The reason is taken and checked, not stored: herald keeps no deregistration log. */
static const struct hd_field delete_params[D__MAX] = {
	[D_REASON] = { "reason", HD_FT_STRING, 0, 0, 255, NULL },
};

static const struct hd_fieldset delete_paramset = { delete_params, D__MAX, NULL };

#define DEFAULT_LIMIT 100

static enum hd_problem
answer_doc(struct hd_call *call, enum hd_err err, json_object *doc)
{
	if (err != HD_OK)
		return hd_fail(call, err);
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
send(struct hd_call *call)
{
	return hd_wp_send(call, false);
}

static enum hd_problem
broadcast(struct hd_call *call)
{
	return hd_wp_send(call, true);
}

static enum hd_problem
service(struct hd_call *call)
{
	json_object *doc = NULL;
	enum hd_err err = hd_service_doc(call->ctx->db, &call->who, &doc);

	return answer_doc(call, err, doc);
}

static enum hd_problem
quota(struct hd_call *call)
{
	json_object *doc = NULL;
	enum hd_err err = hd_quota_doc(call->ctx->db, &call->who, &doc);

	return answer_doc(call, err, doc);
}

static enum hd_problem
list_clients(struct hd_call *call)
{
	const struct hd_value *v = call->values;
	struct hd_client_query q = { .status = -1 };
	json_object *doc, *list;
	int64_t total = 0;
	enum hd_problem p;
	enum hd_err err;

	if ((p = hd_query_validate(call, &list_paramset)) != HD_P_NONE)
		return p;
	if (v[Q_STATUS].present)
		q.status = (int)v[Q_STATUS].i;
	if (v[Q_USER_EMAIL].present) {
		q.email = v[Q_USER_EMAIL].s;
		q.email_len = v[Q_USER_EMAIL].len;
	}
	q.limit = v[Q_LIMIT].present ? v[Q_LIMIT].i : DEFAULT_LIMIT;
	q.offset = v[Q_OFFSET].present ? v[Q_OFFSET].i : 0;
	if ((doc = json_object_new_object()) == NULL || (list = json_object_new_array()) == NULL ||
	    json_object_object_add(doc, "clients", list) != 0) {
		json_object_put(doc);
		return hd_fail(call, HD_ERR_NOMEM);
	}
	if ((err = hd_clients_list(call->ctx->db, &call->who, &q, list, &total)) != HD_OK) {
		json_object_put(doc);
		return hd_fail(call, err);
	}
	hd_json_set_int(doc, "total", total);
	hd_json_set_int(doc, "limit", q.limit);
	hd_json_set_int(doc, "offset", q.offset);
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
no_client(struct hd_call *call)
{
	return hd_refuse(&call->why, HD_P_NOT_FOUND, NULL,
	    "this service has no client registration with that id");
}

static enum hd_problem
get_client(struct hd_call *call)
{
	char uid[HD_DEVICE_UID_LEN + 1];
	json_object *doc = NULL;
	enum hd_err err;

	if (!hd_reg_id_parse(call->path_arg, uid))
		return no_client(call);
	if ((err = hd_client_get(call->ctx->db, &call->who, uid, &doc)) != HD_OK)
		return hd_fail(call, err);
	if (doc == NULL)
		return no_client(call);
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
delete_client(struct hd_call *call)
{
	char uid[HD_DEVICE_UID_LEN + 1], reg[HD_REG_ID_LEN + 1];
	const char *msg = "Client deregistered successfully";
	json_object *doc;
	bool found = false;
	enum hd_problem p;
	enum hd_err err;

	if ((p = hd_query_validate(call, &delete_paramset)) != HD_P_NONE)
		return p;
	if (!hd_reg_id_parse(call->path_arg, uid))
		return no_client(call);
	if ((err = hd_device_delete_on(call->ctx->db, &call->who, uid, HD_PLATFORM_WEB,
	    &found)) != HD_OK)
		return hd_fail(call, err);
	if (!found)
		return no_client(call);
	if ((doc = json_object_new_object()) == NULL)
		return hd_fail(call, HD_ERR_NOMEM);
	hd_reg_id(uid, reg);
	hd_json_set_bool(doc, "success", true);
	hd_json_set_str(doc, "registration_id", reg, strlen(reg));
	hd_json_set_str(doc, "message", msg, strlen(msg));
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static json_object *
error_doc(const struct hd_refusal *why)
{
	const struct hd_problem_info *info = hd_problem_info(why->problem);
	json_object *doc = json_object_new_object();

	hd_json_set_str(doc, "detail", why->message, strlen(why->message));
	hd_json_set_str(doc, "code", info->webpush_code, strlen(info->webpush_code));
	return doc;
}

static const struct hd_dialect webpush = {
	.name = "webpush",
	.default_format = HD_FMT_JSON,
	.key_kind = HD_KEY_SECRET,
	.other_kind_forbidden = true,
	.key_header = "HTTP_X_SECRET_KEY",
	.key_header_name = "X-Secret-Key",
	.error_doc = error_doc,
	.error_root = "error",
};

static const struct hd_endpoint endpoints[] = {
	{ HD_POST, "/v2/push/send", &webpush, &send_fieldset, { "notification", false },
	  "response", HD_EP_DELIVERS, send },
	{ HD_POST, "/v2/push/broadcast", &webpush, &send_fieldset, { "notification", false },
	  "response", HD_EP_DELIVERS, broadcast },
	{ HD_GET, "/v2/push/service", &webpush, NULL, { NULL, false }, "service", 0, service },
	{ HD_GET, "/v2/push/quota", &webpush, NULL, { NULL, false }, "quota", 0, quota },
	{ HD_GET, "/v2/push/clients", &webpush, NULL, { NULL, false }, "response", 0,
	  list_clients },
	{ HD_GET, "/v2/push/clients/{id}", &webpush, NULL, { NULL, false }, "client", 0,
	  get_client },
	{ HD_DELETE, "/v2/push/clients/{id}", &webpush, NULL, { NULL, false }, "response", 0,
	  delete_client },
};

int
main(void)
{
	static const struct hd_program prog = { "herald-webpush", endpoints,
		sizeof(endpoints) / sizeof(endpoints[0]), &webpush };

	return hd_serve(&prog);
}
