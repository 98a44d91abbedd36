/*
 * Device registration: apps and browsers say where to deliver (a provider token, or a
 * Web Push subscription) for one of the app's users. Registering a token the app
 * already has updates that device (reinstalls, user switches) and keeps its id.
 */
#ifndef HD_DEVICES_H
#define HD_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_auth.h"
#include "hd_db.h"
#include "hd_platform.h"


/* Advertising and vendor identifiers a device may carry (the audience dialect finds
 * devices by them): devices.idfa, idfv, advertising_id, android_id, serial_id. */
enum hd_device_ad_id { HD_AD_IDFA, HD_AD_IDFV, HD_AD_ADVERTISING_ID, HD_AD_ANDROID_ID,
	HD_AD_SERIAL_ID, HD_AD__MAX };

#define HD_DEVICE_AD_ID_MAX 128

/* A registration. Strings are borrowed; optional ones may be NULL. */
struct hd_device_reg {
	enum hd_platform platform;
	const char *token;        /* web: the subscription's endpoint */
	size_t token_len;
	const char *p256dh;       /* web only */
	size_t p256dh_len;
	const char *auth;         /* web only */
	size_t auth_len;
	const char *external_id;  /* the app's id for the user */
	size_t external_id_len;
	const char *email;
	size_t email_len;
	bool push_permission;
	const char *info_json;    /* device info as JSON text */
	const char *ad_ids[HD_AD__MAX];  /* NULL: the device does not say (stored NULL) */
	size_t ad_id_lens[HD_AD__MAX];
};

#define HD_DEVICE_UID_LEN 32

/* Creates or updates the device in the principal's app. uid receives its public id,
 * *user_id the numeric id of its user (app_users.id); *created says whether it is new. */
enum hd_err hd_device_register(struct hd_db *db, const struct hd_principal *who,
    const struct hd_device_reg *reg, char uid[HD_DEVICE_UID_LEN + 1], uint64_t *user_id,
    bool *created);

/* Whether a registration may claim the user named external_id: always when the
 * app has no identity secret; else only when user_hash (hex) is
 * HMAC-SHA256(secret, external_id), compared in constant time. */
enum hd_err hd_device_identity_ok(struct hd_db *db, const struct hd_principal *who,
    const char *external_id, size_t external_id_len, const char *user_hash,
    size_t user_hash_len, bool *ok);

/* Removes the device with public id uid from the principal's app, with its queued
 * deliveries. *found is false when the app has no such device. */
enum hd_err hd_device_delete(struct hd_db *db, const struct hd_principal *who,
    const char *uid, bool *found);
/* The same for a device of one platform: another platform's device with that id counts
 * as not found and stays. HD_PLATFORM__MAX: any platform. */
enum hd_err hd_device_delete_on(struct hd_db *db, const struct hd_principal *who,
    const char *uid, enum hd_platform platform, bool *found);

#endif
