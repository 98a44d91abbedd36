/*
 * The audience dialect's error shape (seed 001): numeric codes with the seed's HTTP
 * statuses and msg templates, {"status_code":N,"errors":[{"code":C,"msg":"…"}]}
 * (XML through the one mapping, docs/formats.md). Refusals made anywhere in the
 * pipeline (herald's problems) are given the code that matches them by
 * hd_audience_refine(); the dialect's own checks refuse with a code directly
 * (hd_audience_refuse()). docs/audience.md lists every code and when herald sends it.
 */
#ifndef HD_AUDIENCE_CODES_H
#define HD_AUDIENCE_CODES_H

#include <json-c/json.h>

#include "hd_fields.h"

enum hd_audience_code {
	HD_AC_UNKNOWN = 1,
	HD_AC_EMPTY_BODY = 2,
	HD_AC_MALFORMED = 3,
	HD_AC_FIELD_NOT_FOUND = 4,
	HD_AC_INVALID_APP = 6,
	HD_AC_WRONG_TOKEN = 11,
	HD_AC_TOKEN_NOT_SET = 12,
	HD_AC_NO_APP_ACCESS = 13,
	HD_AC_NO_API_ACCESS = 15,
	HD_AC_NO_PUSH_ACCESS = 23,
	HD_AC_PUSH_DISABLED = 24,
	HD_AC_NOT_INTEGRATED = 25,
	HD_AC_NO_PUSH_TOKENS = 26,
	HD_AC_AUDIENCE_TOO_LARGE = 27,
	HD_AC_UNEXPECTED_VALUE = 28,
	HD_AC_UNEXPECTED_FIELD = 29,
	HD_AC_INVALID_VALUE = 30,
	HD_AC_PAYLOAD_TOO_LARGE = 31,
	HD_AC_REPEATED_PACK = 32,
	HD_AC_NO_USERS = 33,
};

/* Refuses with an audience code: the problem, the seed's status and the message are
 * the code's; the arguments fill the code's msg template in order (see the .c). */
enum hd_problem hd_audience_refuse(struct hd_refusal *why, enum hd_audience_code code,
    const char *field, const char *a, const char *b);

/* Gives a refusal made without a code (by the pipeline) the matching code, status and
 * msg. Refusals that already carry a code are left as they are. */
void hd_audience_refine(struct hd_refusal *why);

/* The error document of a refined refusal (caller owns it; NULL: out of memory). */
json_object *hd_audience_error_doc(const struct hd_refusal *why);

#endif
