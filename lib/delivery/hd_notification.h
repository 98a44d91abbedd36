/*
 * The neutral notification: what a stored message says, independent of any provider.
 * Each provider (hd_provider.h) maps it to its own request. The delivery layer loads
 * it from the database (messages row + its extras JSON) and owns every string in it:
 * hd_notification_clear() frees them. Absent strings are NULL.
 */
#ifndef HD_NOTIFICATION_H
#define HD_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_error.h"

enum hd_interruption { HD_INTR_DEFAULT, HD_INTR_PASSIVE, HD_INTR_ACTIVE,
	HD_INTR_TIME_SENSITIVE, HD_INTR_CRITICAL };

/* Web Push Urgency (RFC 8030 §5.3) when a message names one; DEFAULT follows the
 * priority. */
enum hd_urgency { HD_URG_DEFAULT, HD_URG_VERY_LOW, HD_URG_LOW, HD_URG_NORMAL,
	HD_URG_HIGH };

struct hd_action {
	char *id;
	char *title;
};

struct hd_notification {
	char *title;
	char *subtitle;
	char *body;
	char *data_json;        /* the client's custom data: a JSON object's text */
	char *sound;
	bool has_badge;
	long badge;
	char *image;            /* image / media URL shown with the notification */
	char *icon;
	char *url;              /* what a click opens */
	struct hd_action *actions;
	size_t nactions;
	char *category;         /* APNs category, FCM click_action */
	char *thread_id;        /* APNs thread-id, FCM/Web tag */
	char *collapse_id;      /* apns-collapse-id, FCM collapse_key, Web Push Topic, WNS tag */
	int priority;           /* 1..10: >= 8 high, <= 3 low, else normal */
	int64_t expires_at;     /* usec since the epoch; 0: no TTL given (provider default) */
	enum hd_interruption interruption;
	enum hd_urgency urgency;
	bool content_available; /* background update */
	bool mutable_content;   /* iOS notification service extension may edit it */
	/* Per-platform raw overrides: when set, the provider sends this instead of the
	 * payload it would build (APNs: the JSON body; FCM: the message object, to which
	 * the token is added; Web Push: the plaintext to encrypt; WNS: the toast XML). */
	char *raw_apns;
	char *raw_fcm;
	char *raw_webpush;
	char *raw_wns;
};

/* Sets the fields a message keeps in its extras JSON object (messages.extras, see
 * docs/delivery.md): subtitle, badge, image, icon, url, actions [{id, title}],
 * category, thread_id, collapse_id, interruption, urgency ("very-low", "low", "normal",
 * "high"), content_available, mutable_content, raw {apns, fcm, webpush, wns}. HD_ERR_INTERNAL when the text is not such an object
 * (herald wrote it, so that is a bug or a hand-edited row). */
enum hd_err hd_notification_set_extras(struct hd_notification *n, const char *json,
    size_t len);

/* Frees every string and the actions; the struct is zeroed afterwards. */
void hd_notification_clear(struct hd_notification *n);

/* The TTL in seconds left at now (usec), rounded down, at least 0; -1 when the
 * notification has no expiry. */
int64_t hd_notification_ttl_left(const struct hd_notification *n, int64_t now);

#endif
