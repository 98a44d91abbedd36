/*
 * The send operation every dialect shares: resolve the target user's devices with push
 * permission, decide dedupe, and store the message with one queued delivery per device
 * in one transaction. The database decides: the dedupe primary key picks the single
 * winner among concurrent requests with one key, and deadlocks (Galera certification
 * conflicts among them) rerun the whole transaction.
 */
#ifndef HD_SEND_H
#define HD_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_auth.h"
#include "hd_db.h"

enum hd_source { HD_SRC_DEVELOPER, HD_SRC_AUDIENCE, HD_SRC_INBOX, HD_SRC_LEGACY,
	HD_SRC_WEBPUSH, HD_SRC__MAX };

enum hd_target_by { HD_BY_EXTERNAL_ID, HD_BY_USER_UID, HD_BY_EMAIL, HD_BY__MAX };

/* The neutral message. Strings are borrowed and need not be NUL-terminated. */
struct hd_message {
	enum hd_source source;
	const char *title;         /* may be NULL */
	size_t title_len;
	const char *body;          /* may be NULL */
	size_t body_len;
	const char *data_json;     /* client data as JSON text, or NULL */
	const char *sound;         /* provider sound name, or NULL */
	int64_t ttl_s;             /* < 0: provider default */
	int priority;              /* 1..10 */
	int64_t schedule_at;       /* usec since the epoch; 0 or past: now */
	const char *dedupe_key;    /* NULL: no dedupe */
	size_t dedupe_len;
	/* Stored by hd_send_targets() only (hd_send_targets.h): */
	const char *campaign;      /* messages.campaign, or NULL */
	size_t campaign_len;
	const char *extras_json;   /* messages.extras (hd_notification.h), or NULL */
};

struct hd_target {
	enum hd_target_by by;
	const char *value;
	size_t len;
};

struct hd_send_result {
	bool disabled;         /* the app's sending is switched off: nothing stored */
	unsigned push_count;   /* deliveries queued (replay: the first request's) */
	bool replayed;         /* a dedupe repeat inside the window: nothing stored */
	bool user_found;       /* meaningful when push_count == 0 */
	bool user_ambiguous;   /* the email names several users: nothing stored */
	unsigned quota_retry_after; /* > 0: a quota refused the send; seconds until its
	                               window ends. Nothing stored. */
	char first_target[256];     /* replay: the user as the first request named it */
};

/* The source's name as messages.source stores it. */
const char *hd_source_name(enum hd_source source);

/* Stores m for the user named by t in the principal's app, charging the deliveries to
 * the app's quotas. Nothing is stored when push_count is 0 (the app may not send, a
 * quota is spent, no such user or several, or no device with push permission) or
 * when the answer is a replay. */
enum hd_err hd_send(struct hd_db *db, const struct hd_principal *who,
    const struct hd_target *t, const struct hd_message *m, struct hd_send_result *out);

#endif
