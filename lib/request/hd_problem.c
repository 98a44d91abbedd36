#include "hd_problem.h"

static const struct hd_problem_info hd_problems[HD_P__MAX] = {
	[HD_P_NONE] = { 200, "ok", "Ok", "OK", "ok" },
	[HD_P_MALFORMED] = { 400, "malformed_body", "InvalidRequest", "INVALID_REQUEST", "the body is not a valid document" },
	[HD_P_EMPTY_BODY] = { 400, "malformed_body", "InvalidRequest", "INVALID_REQUEST", "the body is empty" },
	[HD_P_MISSING_FIELD] = { 400, "missing_field", "MissingField", "INVALID_REQUEST", "a required field is missing" },
	[HD_P_INVALID_TYPE] = { 400, "invalid_type", "InvalidType", "INVALID_REQUEST", "a field has the wrong type" },
	[HD_P_OUT_OF_RANGE] = { 400, "out_of_range", "OutOfRange", "INVALID_REQUEST", "a number is out of range" },
	[HD_P_TOO_LONG] = { 400, "too_long", "TooLong", "INVALID_REQUEST", "a value is too long" },
	[HD_P_UNKNOWN_FIELD] = { 400, "unknown_field", "UnknownField", "INVALID_REQUEST", "the body has a field this endpoint does not take" },
	[HD_P_INVALID_VALUE] = { 400, "invalid_value", "InvalidValue", "INVALID_REQUEST", "a field has an invalid value" },
	[HD_P_CONFLICT_FIELDS] = { 400, "conflicting_fields", "ConflictingFields", "INVALID_REQUEST", "fields that exclude each other were given together" },
	[HD_P_MISSING_NAMESPACE] = { 400, "missing_namespace", "MissingNamespace", "INVALID_REQUEST", "the XML root element must declare xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"" },
	[HD_P_BAD_PARAMETER] = { 400, "bad_parameter", "InvalidParameter", "INVALID_REQUEST", "a query parameter has an invalid value" },
	[HD_P_MISSING_KEY] = { 401, "missing_key", "Unauthorized", "UNAUTHORIZED", "the request carries no key" },
	[HD_P_INVALID_KEY] = { 401, "invalid_key", "Unauthorized", "UNAUTHORIZED", "the key is not valid" },
	[HD_P_KEY_KIND] = { 403, "key_kind_not_allowed", "Forbidden", "FORBIDDEN", "this key is a valid key of another kind, which cannot use this endpoint" },
	[HD_P_ORIGIN_NOT_ALLOWED] = { 403, "origin_not_allowed", "Forbidden", "FORBIDDEN", "this origin is not allowed for the app" },
	[HD_P_PUSH_DISABLED] = { 403, "push_disabled", "PushDisabled", "FORBIDDEN", "sending is disabled for this app" },
	[HD_P_IDENTITY] = { 403, "identity_not_verified", "Forbidden", "FORBIDDEN", "user_hash does not prove the app's backend vouches for this user" },
	[HD_P_NOT_FOUND] = { 404, "not_found", "NotFound", "NOT_FOUND", "not found" },
	[HD_P_USER_NOT_FOUND] = { 404, "user_not_found", "UserNotFound", "NOT_FOUND", "no such user" },
	[HD_P_NO_DEVICES] = { 404, "no_devices", "NoDevices", "NOT_FOUND", "no devices with push permission found for this user" },
	[HD_P_AMBIGUOUS_USER] = { 409, "ambiguous_user", "AmbiguousUser", "INVALID_REQUEST", "several users have this email" },
	[HD_P_METHOD] = { 405, "method_not_allowed", "MethodNotAllowed", "METHOD_NOT_ALLOWED", "method not allowed" },
	[HD_P_BODY_TOO_LARGE] = { 413, "body_too_large", "BodyTooLarge", "PAYLOAD_TOO_LARGE", "the body is larger than this server accepts" },
	[HD_P_MEDIA_TYPE] = { 415, "unsupported_media_type", "UnsupportedMediaType", "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json or application/xml" },
	[HD_P_RATE_LIMITED] = { 429, "rate_limited", "RateLimited", "RATE_LIMITED", "too many requests from this address; see Retry-After" },
	[HD_P_QUOTA_EXCEEDED] = { 429, "quota_exceeded", "QuotaExceeded", "QUOTA_EXCEEDED", "the app's delivery quota is spent; see Retry-After" },
	[HD_P_SUBSCRIPTION] = { 403, "subscription_required", "SubscriptionRequired", "FORBIDDEN", "the app has no active subscription for this API" },
	[HD_P_UNKNOWN_REFERENCE] = { 422, "unknown_reference", "UnknownReference", "INVALID_REQUEST", "a field names something that does not exist" },
	[HD_P_INTERNAL] = { 500, "internal", "InternalError", "INTERNAL_ERROR", "internal error" },
	[HD_P_UNAVAILABLE] = { 503, "unavailable", "ServiceUnavailable", "SERVICE_UNAVAILABLE", "the service is temporarily unavailable; see Retry-After" },
};

const struct hd_problem_info *
hd_problem_info(enum hd_problem p)
{
	if ((unsigned)p >= HD_P__MAX)
		p = HD_P_INTERNAL;
	return &hd_problems[p];
}
