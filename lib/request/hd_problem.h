/*
 * The catalog of reasons herald refuses a request. Each problem fixes its HTTP status
 * and a stable machine code; every dialect renders the same problem in its own error
 * shape (developer {"error":{...}}, legacy ErrorResponse, webpush {"detail","code"}),
 * so the JSON and XML writers and all dialects share this one table.
 */
#ifndef HD_PROBLEM_H
#define HD_PROBLEM_H

enum hd_problem {
	HD_P_NONE = 0,
	HD_P_MALFORMED,         /* 400: body is not well-formed JSON/XML, or refused XML */
	HD_P_EMPTY_BODY,        /* 400: an endpoint that takes a body got none (rendered as
	                           HD_P_MALFORMED by every dialect without codes of its own) */
	HD_P_MISSING_FIELD,     /* 400 */
	HD_P_INVALID_TYPE,      /* 400 */
	HD_P_OUT_OF_RANGE,      /* 400 */
	HD_P_TOO_LONG,          /* 400 */
	HD_P_UNKNOWN_FIELD,     /* 400 */
	HD_P_INVALID_VALUE,     /* 400: right type, wrong form (timestamp, enum, URL) */
	HD_P_CONFLICT_FIELDS,   /* 400: mutually exclusive fields given together */
	HD_P_MISSING_NAMESPACE, /* 400: legacy XML root without xmlns:i */
	HD_P_BAD_PARAMETER,     /* 400: query parameter with a bad value */
	HD_P_MISSING_KEY,       /* 401 */
	HD_P_INVALID_KEY,       /* 401 */
	HD_P_KEY_KIND,          /* 403: a valid key of a kind this endpoint does not take */
	HD_P_ORIGIN_NOT_ALLOWED,/* 403 */
	HD_P_PUSH_DISABLED,     /* 403: the app's sending is switched off */
	HD_P_IDENTITY,          /* 403: registration without a valid user_hash */
	HD_P_NOT_FOUND,         /* 404: unknown route or resource */
	HD_P_USER_NOT_FOUND,    /* 404 */
	HD_P_NO_DEVICES,        /* 404: no device with push permission */
	HD_P_METHOD,            /* 405 */
	HD_P_AMBIGUOUS_USER,    /* 409: an email that names several users */
	HD_P_BODY_TOO_LARGE,    /* 413 */
	HD_P_MEDIA_TYPE,        /* 415 */
	HD_P_RATE_LIMITED,      /* 429 with Retry-After */
	HD_P_QUOTA_EXCEEDED,    /* 429 with Retry-After: the app's hourly/daily quota */
	HD_P_SUBSCRIPTION,      /* 403: the app has no active subscription for this API */
	HD_P_UNKNOWN_REFERENCE, /* 422: a field names something that does not exist */
	HD_P_INTERNAL,          /* 500 */
	HD_P_UNAVAILABLE,       /* 503 with Retry-After */
	HD_P__MAX
};

struct hd_problem_info {
	int status;               /* HTTP status */
	const char *code;         /* snake_case code: developer, devices, ops */
	const char *legacy_code;  /* PascalCase code: legacy dialect */
	const char *webpush_code; /* UPPER_SNAKE code: webpush dialect */
	const char *message;      /* default human message */
};

/* Returns the catalog entry of p (never NULL; out-of-range p gives HD_P_INTERNAL's). */
const struct hd_problem_info *hd_problem_info(enum hd_problem p);

#endif
