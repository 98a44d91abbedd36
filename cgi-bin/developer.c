/*
 * The developer dialect (seed 000): POST /developer/push with X-Server-Key.
 * JSON by default; XML bodies use root element <push>, answers root <response>.
 */
#include <string.h>

#include "hd_endpoint.h"
#include "hd_send.h"
#include "hd_time.h"

enum { F_APP_USER_ID, F_TITLE, F_BODY, F_EXTRA_DATA, F_SCHEDULE_AT, F_PRIORITY,
	F_DEDUPE_KEY, F__MAX };

/* Limits keep title + body + extra_data inside the smallest provider payload (4 KiB). */
static const struct hd_field push_fields[F__MAX] = {
	[F_APP_USER_ID] = { "app_user_id", HD_FT_STRING, HD_F_REQUIRED, 1, 255, NULL },
	[F_TITLE] = { "title", HD_FT_STRING, HD_F_REQUIRED, 1, 256, NULL },
	[F_BODY] = { "body", HD_FT_STRING, HD_F_REQUIRED, 1, 2048, NULL },
	[F_EXTRA_DATA] = { "extra_data", HD_FT_OBJECT, HD_F_OPEN, 0, 1024, NULL },
	[F_SCHEDULE_AT] = { "schedule_at", HD_FT_TIME, 0, 0, 0, NULL },
	[F_PRIORITY] = { "priority", HD_FT_INT, 0, 1, 10, NULL },
	[F_DEDUPE_KEY] = { "dedupe_key", HD_FT_STRING, 0, 1, 255, NULL },
};

static const struct hd_fieldset push_fieldset = { push_fields, F__MAX, NULL };

/* Schedules further ahead than this are refused: a typo in a year should not queue a
 * message for decades. */
#define SCHEDULE_MAX_AHEAD_USEC (INT64_C(366) * 86400 * 1000000)

static enum hd_problem
push(struct hd_call *call)
{
	const struct hd_value *v = call->values;
	struct hd_message m = {
		.source = HD_SRC_DEVELOPER,
		.title = v[F_TITLE].s,
		.title_len = v[F_TITLE].len,
		.body = v[F_BODY].s,
		.body_len = v[F_BODY].len,
		.ttl_s = -1,
		.priority = v[F_PRIORITY].present ? (int)v[F_PRIORITY].i : 5,
		.schedule_at = v[F_SCHEDULE_AT].present ? v[F_SCHEDULE_AT].i : 0,
		.dedupe_key = v[F_DEDUPE_KEY].present ? v[F_DEDUPE_KEY].s : NULL,
		.dedupe_len = v[F_DEDUPE_KEY].len,
	};
	struct hd_target t = { HD_BY_EXTERNAL_ID, v[F_APP_USER_ID].s, v[F_APP_USER_ID].len };
	struct hd_send_result res;
	json_object *doc;
	enum hd_problem p;

	if (m.schedule_at > hd_now_usec() + SCHEDULE_MAX_AHEAD_USEC)
		return hd_refuse(&call->why, HD_P_OUT_OF_RANGE, "schedule_at",
		    "schedule_at must be at most one year ahead");
	if (v[F_EXTRA_DATA].present)
		m.data_json = json_object_to_json_string_ext(v[F_EXTRA_DATA].obj,
		    JSON_C_TO_STRING_PLAIN);
	if ((p = hd_send_call(call, &t, &m, &res)) != HD_P_NONE)
		return p;
	if ((p = hd_refuse_send(call, &res, HD_P_NO_DEVICES)) != HD_P_NONE)
		return p;
	if ((doc = json_object_new_object()) == NULL)
		return hd_fail(call, HD_ERR_NOMEM);
	hd_json_set_int(doc, "push_count", res.push_count);
	/* A replay answers with the first request's body, user included. */
	if (res.replayed)
		hd_json_set_str(doc, "app_user_id", res.first_target, strlen(res.first_target));
	else
		hd_json_set_str(doc, "app_user_id", t.value, t.len);
	hd_json_set_str(doc, "app_id", call->who.app_uid, strlen(call->who.app_uid));
	hd_answer(call, res.replayed ? 200 : 201, doc);
	return HD_P_NONE;
}

static const struct hd_dialect developer = {
	.name = "developer",
	.default_format = HD_FMT_JSON,
	.key_kind = HD_KEY_SERVER,
	.key_header = "HTTP_X_SERVER_KEY",
	.key_header_name = "X-Server-Key",
	.error_doc = hd_native_error_doc,
	.error_root = "response",
};

static const struct hd_endpoint endpoints[] = {
	{ HD_POST, "/developer/push", &developer, &push_fieldset, { "push", false },
	  "response", HD_EP_BATCHED, push },
};

int
main(void)
{
	static const struct hd_program prog = { "herald-developer", endpoints,
		sizeof(endpoints) / sizeof(endpoints[0]), &developer };

	return hd_serve(&prog);
}
