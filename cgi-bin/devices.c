/*
 * Device registration (native API): POST /devices and DELETE /devices/{id}, with a
 * publishable client key in X-Client-Key. Browsers call it cross-origin: CORS answers
 * for the app's allowed origins. XML bodies use root element <device>.
 */
#include <string.h>

#include "hd_devices.h"
#include "hd_endpoint.h"
#include "hd_text.h"

enum { F_PLATFORM, F_TOKEN, F_SUBSCRIPTION, F_SUB_ENDPOINT, F_SUB_EXPIRATION, F_SUB_KEYS,
	F_SUB_P256DH, F_SUB_AUTH, F_APP_USER_ID, F_USER_HASH, F_EMAIL, F_PUSH_PERMISSION,
	F_DEVICE_INFO, F_IDFA, F_IDFV, F_ADVERTISING_ID, F_ANDROID_ID, F_SERIAL_ID, F__MAX };

static const struct hd_field register_fields[F__MAX] = {
	[F_PLATFORM] = { "platform", HD_FT_ENUM, HD_F_REQUIRED, 0, 0, hd_platform_names },
	[F_TOKEN] = { "token", HD_FT_STRING, 0, 1, 2048, NULL },
	[F_SUBSCRIPTION] = { "subscription", HD_FT_OBJECT, 0, 0, 4096, NULL },
	[F_SUB_ENDPOINT] = { "subscription.endpoint", HD_FT_STRING, 0, 1, 2048, NULL },
	/* Browsers serialise PushSubscription with "expirationTime": null. */
	[F_SUB_EXPIRATION] = { "subscription.expirationTime", HD_FT_INT, 0, 0,
	    INT64_C(253402300799999), NULL },
	[F_SUB_KEYS] = { "subscription.keys", HD_FT_OBJECT, 0, 0, 1024, NULL },
	[F_SUB_P256DH] = { "subscription.keys.p256dh", HD_FT_STRING, 0, 1, 128, NULL },
	[F_SUB_AUTH] = { "subscription.keys.auth", HD_FT_STRING, 0, 1, 64, NULL },
	[F_APP_USER_ID] = { "app_user_id", HD_FT_STRING, HD_F_REQUIRED, 1, 255, NULL },
	/* hex HMAC-SHA256 of app_user_id, for apps with identity verification */
	[F_USER_HASH] = { "user_hash", HD_FT_STRING, 0, 64, 64, NULL },
	[F_EMAIL] = { "email", HD_FT_STRING, 0, 3, 255, NULL },
	[F_PUSH_PERMISSION] = { "push_permission", HD_FT_BOOL, 0, 0, 0, NULL },
	[F_DEVICE_INFO] = { "device_info", HD_FT_OBJECT, HD_F_OPEN, 0, 1024, NULL },
	/* Advertising and vendor identifiers, the audience dialect's ways to name a device
	 * (docs/audience.md); in the order of enum hd_device_ad_id. */
	[F_IDFA] = { "idfa", HD_FT_STRING, 0, 1, HD_DEVICE_AD_ID_MAX, NULL },
	[F_IDFV] = { "idfv", HD_FT_STRING, 0, 1, HD_DEVICE_AD_ID_MAX, NULL },
	[F_ADVERTISING_ID] = { "advertisingId", HD_FT_STRING, 0, 1, HD_DEVICE_AD_ID_MAX, NULL },
	[F_ANDROID_ID] = { "androidId", HD_FT_STRING, 0, 1, HD_DEVICE_AD_ID_MAX, NULL },
	[F_SERIAL_ID] = { "serialId", HD_FT_STRING, 0, 1, HD_DEVICE_AD_ID_MAX, NULL },
};

static const struct hd_fieldset register_fieldset = { register_fields, F__MAX, NULL };

static bool
all_chars(const char *s, size_t len, const char *allowed_extra, bool hex_only)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');
		if (!hex_only)
			ok = ok || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (allowed_extra && c && strchr(allowed_extra, c));
		if (!ok)
			return false;
	}
	return true;
}

/* A push service's https URL (Web Push endpoints, WNS channel URIs), checked so that
 * a publishable key cannot make the delivery engine send requests into a private
 * network: a DNS name with a dot (no IP literal in any notation, no userinfo), the
 * default port, printable ASCII. The worker checks the resolved address again. */
/* A push service's https URL (Web Push endpoints, WNS channel URIs), checked so that
 * a publishable key cannot make the delivery engine send requests into a private
 * network: a DNS name with a dot whose last label starts with a letter (so no IP
 * literal in any of its notations), no userinfo, the default port, printable ASCII.
 * The delivery engine checks the resolved address again. */
static bool
https_url(const char *s, size_t len)
{
	size_t host, end, last;

	if (len < 9 || strncmp(s, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	host = 8;
	for (end = host; end < len && s[end] != '/' && s[end] != '?' && s[end] != '#'; end++)
		;
	if (end - host > 4 && strncmp(s + end - 4, ":443", 4) == 0)
		end -= 4;
	if (end == host || end - host > 253)
		return false;
	for (size_t i = host; i < end; i++) {
		char c = s[i];
		/* '@' (userinfo), ':' (another port), '[' (IPv6), '%' … are refused here. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || (c == '.' && i > host &&
		    s[i - 1] != '.')))
			return false;
	}
	for (last = end; last > host && s[last - 1] != '.'; last--)
		;
	return last > host && last < end &&
	    ((s[last] >= 'a' && s[last] <= 'z') || (s[last] >= 'A' && s[last] <= 'Z'));
}

/* Checks the platform's token form (web: the subscription) and fills reg. */
static enum hd_problem
check_target(struct hd_call *call, struct hd_device_reg *reg)
{
	const struct hd_value *v = call->values;
	unsigned char key[80];

	if (reg->platform == HD_PLATFORM_WEB) {
		if (v[F_TOKEN].present)
			return hd_refuse(&call->why, HD_P_CONFLICT_FIELDS, "token",
			    "web devices register a subscription, not a token");
		if (!v[F_SUBSCRIPTION].present || !v[F_SUB_ENDPOINT].present ||
		    !v[F_SUB_P256DH].present || !v[F_SUB_AUTH].present)
			return hd_refuse(&call->why, HD_P_MISSING_FIELD, "subscription",
			    "web devices need subscription.endpoint, subscription.keys.p256dh and subscription.keys.auth");
		if (!https_url(v[F_SUB_ENDPOINT].s, v[F_SUB_ENDPOINT].len))
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, "subscription.endpoint",
			    "subscription.endpoint must be an https URL");
		/* RFC 8291 §3.2: an uncompressed P-256 point and a 16-byte secret. */
		if (hd_base64url_decode(v[F_SUB_P256DH].s, v[F_SUB_P256DH].len, key, sizeof(key)) != 65 ||
		    key[0] != 0x04)
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, "subscription.keys.p256dh",
			    "p256dh must be a base64url uncompressed P-256 public key (65 bytes)");
		if (hd_base64url_decode(v[F_SUB_AUTH].s, v[F_SUB_AUTH].len, key, sizeof(key)) != 16)
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, "subscription.keys.auth",
			    "auth must be a base64url 16-byte secret");
		reg->token = v[F_SUB_ENDPOINT].s;
		reg->token_len = v[F_SUB_ENDPOINT].len;
		reg->p256dh = v[F_SUB_P256DH].s;
		reg->p256dh_len = v[F_SUB_P256DH].len;
		reg->auth = v[F_SUB_AUTH].s;
		reg->auth_len = v[F_SUB_AUTH].len;
		return HD_P_NONE;
	}
	if (v[F_SUBSCRIPTION].present)
		return hd_refuse(&call->why, HD_P_CONFLICT_FIELDS, "subscription",
		    "only web devices register a subscription");
	if (!v[F_TOKEN].present)
		return hd_refuse(&call->why, HD_P_MISSING_FIELD, "token",
		    "token is required for %s devices", hd_platform_names[reg->platform]);
	reg->token = v[F_TOKEN].s;
	reg->token_len = v[F_TOKEN].len;
	switch (reg->platform) {
	case HD_PLATFORM_IOS:
		/* APNs device tokens are hex (32 bytes today; Apple reserves growth). */
		if (reg->token_len < 32 || reg->token_len > 200 || reg->token_len % 2 ||
		    !all_chars(reg->token, reg->token_len, NULL, true))
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, "token",
			    "an ios token must be an APNs device token in hex");
		break;
	case HD_PLATFORM_ANDROID:
		if (!all_chars(reg->token, reg->token_len, "-_:.", false))
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, "token",
			    "an android token must be an FCM registration token");
		break;
	case HD_PLATFORM_WINDOWS:
		if (!https_url(reg->token, reg->token_len))
			return hd_refuse(&call->why, HD_P_INVALID_VALUE, "token",
			    "a windows token must be a WNS channel URI (https)");
		break;
	default:
		break;
	}
	return HD_P_NONE;
}

static enum hd_problem
register_device(struct hd_call *call)
{
	const struct hd_value *v = call->values;
	struct hd_device_reg reg = {
		.platform = (enum hd_platform)v[F_PLATFORM].i,
		.external_id = v[F_APP_USER_ID].s,
		.external_id_len = v[F_APP_USER_ID].len,
		.email = v[F_EMAIL].present ? v[F_EMAIL].s : NULL,
		.email_len = v[F_EMAIL].len,
		.push_permission = v[F_PUSH_PERMISSION].present ? v[F_PUSH_PERMISSION].i != 0 : true,
	};
	char uid[HD_DEVICE_UID_LEN + 1];
	uint64_t user_id = 0;
	json_object *doc;
	bool created = false, vouched = false;
	enum hd_problem p;
	enum hd_err err;

	if ((p = check_target(call, &reg)) != HD_P_NONE)
		return p;
	if ((err = hd_device_identity_ok(call->ctx->db, &call->who, reg.external_id,
	    reg.external_id_len, v[F_USER_HASH].present ? v[F_USER_HASH].s : NULL,
	    v[F_USER_HASH].len, &vouched)) != HD_OK)
		return hd_fail(call, err);
	if (!vouched)
		return hd_refuse(&call->why, HD_P_IDENTITY, "user_hash",
		    "this app verifies identities: user_hash must be the hex HMAC-SHA256 of app_user_id under the app's identity secret");
	if (reg.email && memchr(reg.email, '@', reg.email_len) == NULL)
		return hd_refuse(&call->why, HD_P_INVALID_VALUE, "email",
		    "email must be an email address");
	if (v[F_DEVICE_INFO].present)
		reg.info_json = json_object_to_json_string_ext(v[F_DEVICE_INFO].obj,
		    JSON_C_TO_STRING_PLAIN);
	for (size_t i = 0; i < HD_AD__MAX; i++)
		if (v[F_IDFA + i].present) {
			reg.ad_ids[i] = v[F_IDFA + i].s;
			reg.ad_id_lens[i] = v[F_IDFA + i].len;
		}
	if ((err = hd_device_register(call->ctx->db, &call->who, &reg, uid, &user_id,
	    &created)) != HD_OK)
		return hd_fail(call, err);
	if ((doc = json_object_new_object()) == NULL)
		return hd_fail(call, HD_ERR_NOMEM);
	hd_json_set_str(doc, "id", uid, strlen(uid));
	hd_json_set_str(doc, "app_user_id", reg.external_id, reg.external_id_len);
	hd_json_set_str(doc, "platform", hd_platform_names[reg.platform],
	    strlen(hd_platform_names[reg.platform]));
	hd_json_set_bool(doc, "push_permission", reg.push_permission);
	hd_json_set_str(doc, "status", "active", 6);
	/* The user's numeric id, by which the audience dialect's devtodevId names it. */
	hd_json_set_int(doc, "devtodevId", (int64_t)user_id);
	hd_answer(call, created ? 201 : 200, doc);
	return HD_P_NONE;
}

static enum hd_problem
delete_device(struct hd_call *call)
{
	bool found = false;
	enum hd_err err;

	if (strlen(call->path_arg) == HD_DEVICE_UID_LEN &&
	    all_chars(call->path_arg, HD_DEVICE_UID_LEN, NULL, true) &&
	    (err = hd_device_delete(call->ctx->db, &call->who, call->path_arg, &found)) != HD_OK)
		return hd_fail(call, err);
	if (!found)
		return hd_refuse(&call->why, HD_P_NOT_FOUND, NULL, "no such device");
	hd_answer(call, 204, NULL);
	return HD_P_NONE;
}

static const struct hd_dialect native = {
	.name = "devices",
	.default_format = HD_FMT_JSON,
	.key_kind = HD_KEY_CLIENT,
	.key_header = "HTTP_X_CLIENT_KEY",
	.key_header_name = "X-Client-Key",
	.error_doc = hd_native_error_doc,
	.error_root = "response",
};

static const struct hd_endpoint endpoints[] = {
	{ HD_POST, "/devices", &native, &register_fieldset, { "device", false },
	  "device", HD_EP_CORS, register_device },
	{ HD_DELETE, "/devices/{id}", &native, NULL, { NULL, false },
	  "response", HD_EP_CORS, delete_device },
};

int
main(void)
{
	static const struct hd_program prog = { "herald-devices", endpoints,
		sizeof(endpoints) / sizeof(endpoints[0]), &native };

	return hd_serve(&prog);
}
