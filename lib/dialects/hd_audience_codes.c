#include <stdio.h>
#include <string.h>

#include "hd_audience_codes.h"
#include "hd_problem.h"
#include "hd_text.h"

struct hd_code_info {
	int code;
	int status;
	enum hd_problem problem;
	const char *msg;        /* the seed's template: each {} takes the next argument */
};

/* The seed's table (001, "List of possible errors"); msg texts are its own. */
static const struct hd_code_info hd_codes[] = {
	{ HD_AC_UNKNOWN, 500, HD_P_INTERNAL, "Unknown Error" },
	{ HD_AC_EMPTY_BODY, 400, HD_P_EMPTY_BODY, "Request body is empty" },
	{ HD_AC_MALFORMED, 400, HD_P_MALFORMED, "Malformed json" },
	{ HD_AC_FIELD_NOT_FOUND, 400, HD_P_MISSING_FIELD, "Field not found: {}" },
	{ HD_AC_INVALID_APP, 400, HD_P_NOT_FOUND, "Invalid app id {}" },
	{ HD_AC_WRONG_TOKEN, 401, HD_P_INVALID_KEY,
	  "Authorization error. Wrong user token {}" },
	{ HD_AC_TOKEN_NOT_SET, 401, HD_P_MISSING_KEY,
	  "Authorization error. User_token is not set." },
	{ HD_AC_NO_APP_ACCESS, 403, HD_P_KEY_KIND,
	  "Access denied. You have no access to the app {}" },
	{ HD_AC_NO_API_ACCESS, 403, HD_P_KEY_KIND, "Access denied. You have no access to API." },
	{ HD_AC_NO_PUSH_ACCESS, 403, HD_P_KEY_KIND,
	  "Access denied. You have no access to Push API." },
	{ HD_AC_PUSH_DISABLED, 400, HD_P_PUSH_DISABLED,
	  "Push service is not enabled in an application settings." },
	{ HD_AC_NOT_INTEGRATED, 400, HD_P_NO_DEVICES,
	  "The devtodev SDK is not integrated with the application you specified" },
	{ HD_AC_NO_PUSH_TOKENS, 400, HD_P_NO_DEVICES,
	  "No push token has been received from the devtodev SDK integrated with the app"
	  " you specified. Please make sure the SDK is integrated correctly." },
	{ HD_AC_AUDIENCE_TOO_LARGE, 400, HD_P_OUT_OF_RANGE,
	  "The audience array should not contain more than 1000 elements." },
	{ HD_AC_UNEXPECTED_VALUE, 400, HD_P_INVALID_VALUE,
	  "Unexpected value for field {}. Received value: {}. Expected values: {}." },
	{ HD_AC_UNEXPECTED_FIELD, 400, HD_P_UNKNOWN_FIELD, "Unexpected field {}" },
	{ HD_AC_INVALID_VALUE, 400, HD_P_INVALID_VALUE,
	  "Invalid value for field {}. Received value: {}. Expected: {}" },
	{ HD_AC_PAYLOAD_TOO_LARGE, 400, HD_P_TOO_LONG, "Notification payload size limit exceeded." },
	{ HD_AC_REPEATED_PACK, 400, HD_P_CONFLICT_FIELDS,
	  "The sending was blocked. The request with the {} identifier has already been sent"
	  " during previous 10 minutes." },
	{ HD_AC_NO_USERS, 400, HD_P_NO_DEVICES,
	  "The requested users have not been found, or there have been no push-token"
	  " received from them." },
};

static const struct hd_code_info *
hd_code_find(int code)
{
	for (size_t i = 0; i < sizeof(hd_codes) / sizeof(hd_codes[0]); i++)
		if (hd_codes[i].code == code)
			return &hd_codes[i];
	return &hd_codes[0];
}

/* Writes tmpl into out with each {} replaced by the next of args (NULL: ""). */
static void
hd_fill(char *out, size_t cap, const char *tmpl, const char *const *args, size_t nargs)
{
	size_t used = 0, next = 0;

	for (const char *p = tmpl; *p && used + 1 < cap; p++) {
		if (p[0] == '{' && p[1] == '}') {
			const char *a = next < nargs && args[next] ? args[next] : "";
			size_t n = strlen(a);

			next++;
			if (n > cap - 1 - used)
				n = cap - 1 - used;
			memcpy(out + used, a, n);
			used += n;
			p++;
			continue;
		}
		out[used++] = *p;
	}
	out[used] = '\0';
	hd_utf8_trim(out);
}

enum hd_problem
hd_audience_refuse(struct hd_refusal *why, enum hd_audience_code code, const char *field,
    const char *a, const char *b)
{
	const struct hd_code_info *info = hd_code_find((int)code);
	const char *args[3] = { field, a, b };

	why->problem = info->problem;
	why->code = info->code;
	why->status = info->status;
	snprintf(why->field, sizeof(why->field), "%s", field ? field : "");
	hd_utf8_trim(why->field);
	/* Templates without a field name ({} first) take the arguments from a on. */
	if (info->code == HD_AC_INVALID_APP || info->code == HD_AC_WRONG_TOKEN ||
	    info->code == HD_AC_NO_APP_ACCESS || info->code == HD_AC_REPEATED_PACK)
		hd_fill(why->message, sizeof(why->message), info->msg, args + 1, 2);
	else
		hd_fill(why->message, sizeof(why->message), info->msg, args, 3);
	return info->problem;
}

/* herald's problems as audience codes; what the seed has no code for keeps herald's
 * status with code 1 and herald's own message (docs/audience.md). */
static int
hd_code_of(enum hd_problem p)
{
	switch (p) {
	case HD_P_EMPTY_BODY:
		return HD_AC_EMPTY_BODY;
	case HD_P_MALFORMED:
	case HD_P_MEDIA_TYPE:
		return HD_AC_MALFORMED;
	case HD_P_MISSING_FIELD:
		return HD_AC_FIELD_NOT_FOUND;
	case HD_P_UNKNOWN_FIELD:
		return HD_AC_UNEXPECTED_FIELD;
	case HD_P_INVALID_TYPE:
	case HD_P_OUT_OF_RANGE:
	case HD_P_TOO_LONG:
	case HD_P_INVALID_VALUE:
	case HD_P_CONFLICT_FIELDS:
	case HD_P_BAD_PARAMETER:
		return HD_AC_INVALID_VALUE;
	case HD_P_MISSING_KEY:
		return HD_AC_TOKEN_NOT_SET;
	case HD_P_INVALID_KEY:
		return HD_AC_WRONG_TOKEN;
	case HD_P_KEY_KIND:
		return HD_AC_NO_API_ACCESS;
	case HD_P_PUSH_DISABLED:
		return HD_AC_PUSH_DISABLED;
	case HD_P_NO_DEVICES:
	case HD_P_USER_NOT_FOUND:
		return HD_AC_NO_USERS;
	default:
		return HD_AC_UNKNOWN;
	}
}

void
hd_audience_refine(struct hd_refusal *why)
{
	char herald[sizeof(why->message)], field[sizeof(why->field)];
	int code;

	if (why->code != 0)
		return;
	code = hd_code_of(why->problem);
	if (code == HD_AC_UNKNOWN) {
		/* 5xx keep the seed's "Unknown Error"; the rest say what herald refused. */
		why->code = code;
		why->status = hd_problem_info(why->problem)->status;
		if (why->status >= 500 && why->problem != HD_P_UNAVAILABLE)
			snprintf(why->message, sizeof(why->message), "Unknown Error");
		return;
	}
	snprintf(herald, sizeof(herald), "%s", why->message);
	snprintf(field, sizeof(field), "%s", why->field[0] ? why->field : "body");
	if (code == HD_AC_INVALID_VALUE) {
		/* The pipeline's checks keep no copy of the value: herald's reason says it. */
		hd_audience_refuse(why, HD_AC_INVALID_VALUE, field, "(not shown)", herald);
	} else if (code == HD_AC_MALFORMED && why->problem == HD_P_MEDIA_TYPE) {
		/* A body of another type is not a JSON body either; herald's status stays. */
		hd_audience_refuse(why, HD_AC_MALFORMED, NULL, NULL, NULL);
		why->status = 415;
	} else {
		hd_audience_refuse(why, (enum hd_audience_code)code, field, NULL, NULL);
	}
}

json_object *
hd_audience_error_doc(const struct hd_refusal *why)
{
	json_object *doc = json_object_new_object(), *errors = json_object_new_array(),
	    *err = json_object_new_object();

	if (doc == NULL || errors == NULL || err == NULL ||
	    json_object_object_add(err, "code", json_object_new_int(why->code)) != 0 ||
	    json_object_object_add(err, "msg", json_object_new_string(why->message)) != 0 ||
	    json_object_array_add(errors, err) != 0) {
		json_object_put(doc);
		json_object_put(errors);
		json_object_put(err);
		return NULL;
	}
	err = NULL;
	if (json_object_object_add(doc, "status_code", json_object_new_int(why->status)) != 0 ||
	    json_object_object_add(doc, "errors", errors) != 0) {
		json_object_put(doc);
		json_object_put(errors);
		return NULL;
	}
	return doc;
}
