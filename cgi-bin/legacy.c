/*
 * The legacy dialect (seed 003): POST /api/v2/push?format=xml|json, authenticated by
 * CompanyId + IntegrationKey in the body. No Content-Type means XML; an XML root
 * element (any name, e.g. <PushRequest>) must declare the XML Schema instance
 * namespace as xmlns:i, and i:nil="true" means absent. Clients of this API send ""
 * for identifiers they do not use, so empty strings count as absent too.
 */
#include <string.h>

#include "hd_endpoint.h"
#include "hd_send.h"

enum { F_USER_ID, F_USER_EMAIL, F_USER_EXTERNAL_ID, F_TITLE, F_BODY, F_SOUND,
	F_EXPIRY_SECS, F_COMPANY_ID, F_INTEGRATION_KEY, F__MAX };

#define E HD_F_EMPTY_IS_NULL
static const struct hd_field push_fields[F__MAX] = {
	[F_USER_ID] = { "UserId", HD_FT_STRING, E, 1, 64, NULL },
	[F_USER_EMAIL] = { "UserEmail", HD_FT_STRING, E, 3, 255, NULL },
	[F_USER_EXTERNAL_ID] = { "UserExternalId", HD_FT_STRING, E, 1, 255, NULL },
	[F_TITLE] = { "Title", HD_FT_STRING, E, 1, 256, NULL },
	[F_BODY] = { "Body", HD_FT_STRING, E, 1, 2048, NULL },
	[F_SOUND] = { "Sound", HD_FT_BOOL, E, 0, 0, NULL },
	/* 28 days: the longest expiry every provider honours. */
	[F_EXPIRY_SECS] = { "ExpirySecs", HD_FT_INT, E, 0, 2419200, NULL },
	[F_COMPANY_ID] = { "CompanyId", HD_FT_INT, E, 0, INT64_C(9007199254740991), NULL },
	[F_INTEGRATION_KEY] = { "IntegrationKey", HD_FT_STRING, E, 1, 256, NULL },
};
#undef E

static const char *const user_fields[] = { "UserId", "UserEmail", "UserExternalId", NULL };
static const struct hd_fieldset push_fieldset = { push_fields, F__MAX, user_fields };

static const char INVALID_KEY_TEXT[] =
    "CompanyId and IntegrationKey do not match an active integration";

static enum hd_problem
authenticate(struct hd_call *call)
{
	const struct hd_value *v = call->values;
	enum hd_err err;
	bool found;

	if (!v[F_COMPANY_ID].present || !v[F_INTEGRATION_KEY].present)
		return hd_refuse(&call->why, HD_P_MISSING_KEY,
		    v[F_COMPANY_ID].present ? "IntegrationKey" : "CompanyId",
		    "CompanyId and IntegrationKey are required");
	/* Batched: the send's batch looks the key up, for this company only. */
	if (call->defer) {
		call->defer->key = v[F_INTEGRATION_KEY].s;
		call->defer->key_len = v[F_INTEGRATION_KEY].len;
		call->defer->tenant_id = v[F_COMPANY_ID].i;
		call->defer->invalid_key_message = INVALID_KEY_TEXT;
		return HD_P_NONE;
	}
	if ((err = hd_auth_lookup(call->ctx->db, HD_KEY_INTEGRATION, v[F_INTEGRATION_KEY].s,
	    v[F_INTEGRATION_KEY].len, &call->who, &found)) != HD_OK)
		return hd_fail(call, err);
	/* A key answers only for its own company: the same error either way, so a key
	 * cannot be used to probe which company ids exist. */
	if (!found || call->who.tenant_id != (uint64_t)v[F_COMPANY_ID].i)
		return hd_refuse(&call->why, HD_P_INVALID_KEY, NULL, "%s", INVALID_KEY_TEXT);
	return HD_P_NONE;
}

static enum hd_problem
push(struct hd_call *call)
{
	const struct hd_value *v = call->values;
	struct hd_message m = {
		.source = HD_SRC_LEGACY,
		.title = v[F_TITLE].present ? v[F_TITLE].s : NULL,
		.title_len = v[F_TITLE].len,
		.body = v[F_BODY].present ? v[F_BODY].s : NULL,
		.body_len = v[F_BODY].len,
		.sound = v[F_SOUND].present && v[F_SOUND].i ? "default" : NULL,
		.ttl_s = v[F_EXPIRY_SECS].present && v[F_EXPIRY_SECS].i > 0 ?
		    v[F_EXPIRY_SECS].i : -1,
		.priority = 5,
	};
	struct hd_target t;
	struct hd_send_result res;
	json_object *doc;
	enum hd_problem p;

	if (m.title == NULL && m.body == NULL)
		return hd_refuse(&call->why, HD_P_MISSING_FIELD, "Title",
		    "Title or Body is required");
	/* One user: the API identifier wins over the external id, which wins over email
	 * (which must name a single user). */
	if (v[F_USER_ID].present)
		t = (struct hd_target){ HD_BY_USER_UID, v[F_USER_ID].s, v[F_USER_ID].len };
	else if (v[F_USER_EXTERNAL_ID].present)
		t = (struct hd_target){ HD_BY_EXTERNAL_ID, v[F_USER_EXTERNAL_ID].s,
		    v[F_USER_EXTERNAL_ID].len };
	else
		t = (struct hd_target){ HD_BY_EMAIL, v[F_USER_EMAIL].s, v[F_USER_EMAIL].len };
	if ((p = hd_send_call(call, &t, &m, &res)) != HD_P_NONE)
		return p;
	if ((p = hd_refuse_send(call, &res, HD_P_USER_NOT_FOUND)) != HD_P_NONE)
		return p;
	if ((doc = json_object_new_object()) == NULL)
		return hd_fail(call, HD_ERR_NOMEM);
	hd_json_set_bool(doc, "Success", true);
	hd_json_set_int(doc, "PushCount", res.push_count);
	hd_answer(call, 200, doc);
	return HD_P_NONE;
}

static json_object *
error_doc(const struct hd_refusal *why)
{
	const struct hd_problem_info *info = hd_problem_info(why->problem);
	json_object *doc = json_object_new_object();

	hd_json_set_bool(doc, "Success", false);
	hd_json_set_str(doc, "ErrorCode", info->legacy_code, strlen(info->legacy_code));
	hd_json_set_str(doc, "Message", why->message, strlen(why->message));
	if (why->field[0])
		hd_json_set_str(doc, "Field", why->field, strlen(why->field));
	return doc;
}

static const struct hd_dialect legacy = {
	.name = "legacy",
	.default_format = HD_FMT_XML,
	/* DESIGN.md §3: the answer follows format, else the request's format. */
	.ignore_accept = true,
	/* The seed: "If no ContentType is specified, XML is assumed." */
	.form_type_is_unset = true,
	.key_kind = HD_KEY_INTEGRATION,
	.auth_body = authenticate,
	.error_doc = error_doc,
	.error_root = "ErrorResponse",
};

static const struct hd_endpoint endpoints[] = {
	{ HD_POST, "/api/v2/push", &legacy, &push_fieldset, { NULL, true },
	  "PushResponse", HD_EP_BATCHED, push },
};

int
main(void)
{
	static const struct hd_program prog = { "herald-legacy", endpoints,
		sizeof(endpoints) / sizeof(endpoints[0]), &legacy };

	return hd_serve(&prog);
}
