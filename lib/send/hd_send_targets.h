/*
 * A send to a list of targets (migration 0010): the audience, webpush and inbox
 * dialects name their recipients by devices (ids, tokens, advertising and vendor
 * identifiers), by users (external id, uid, numeric id, email) or as every device of
 * the app. One database round trip resolves the list to the app's active devices with
 * push permission, each device once, and stores the message with one queued delivery
 * per device in one transaction: dedupe by primary key, the app's quotas charged the
 * deliveries and refusing the send whole, deadlocks rerun whole. The dialect then
 * delivers inline (hd_deliver_message) or leaves it to the worker.
 *
 * Memory: every string is borrowed from the caller and need not be NUL-terminated;
 * hd_send_targets() allocates only for the duration of the call.
 */
#ifndef HD_SEND_TARGETS_H
#define HD_SEND_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_auth.h"
#include "hd_db.h"
#include "hd_send.h"

/* The numbers are the procedure's kinds (schema/migrations/0010_send_targets.sql). */
enum hd_target_kind {
	HD_TK_ALL,              /* every device of the app; value ignored */
	HD_TK_DEVICE_UID,       /* devices.uid (herald's device id; webpush registration) */
	HD_TK_DEVICE_TOKEN,     /* devices.token: provider token or Web Push endpoint */
	HD_TK_IDFA,
	HD_TK_IDFV,
	HD_TK_ADVERTISING_ID,
	HD_TK_ANDROID_ID,
	HD_TK_SERIAL_ID,
	HD_TK_USER_EXTERNAL_ID, /* app_users.external_id: all the user's devices */
	HD_TK_USER_UID,         /* app_users.uid */
	HD_TK_USER_NUMBER,      /* app_users.id as decimal text */
	HD_TK_USER_EMAIL,       /* app_users.email: every user with it */
	HD_TK__MAX
};

/* Platforms a target's devices must be on (0: any). */
#define HD_PF_IOS     0x1u
#define HD_PF_ANDROID 0x2u
#define HD_PF_WEB     0x4u
#define HD_PF_WINDOWS 0x8u

#define HD_TARGETS_MAX 1000
#define HD_TARGET_VALUE_MAX 2048

struct hd_target_item {
	enum hd_target_kind kind;
	unsigned platforms;     /* HD_PF_* bits; 0: any */
	unsigned group;         /* the caller's grouping (one audience element); < ngroups */
	const char *value;      /* at most HD_TARGET_VALUE_MAX bytes */
	size_t len;
};

struct hd_targets_send {
	const struct hd_target_item *items;
	size_t nitems;              /* 1 .. HD_TARGETS_MAX */
	size_t ngroups;             /* 1 .. HD_TARGETS_MAX */
	const struct hd_message *m;
	int64_t dedupe_window_s;    /* < 0: the app's window (the principal's) */
	bool inbox;                 /* stored even without devices, an inbox_items row per
	                               user the items name */
	bool no_push;               /* no deliveries (an inbox-only notification) */
};

struct hd_targets_result {
	bool disabled;              /* the app may not send: nothing stored */
	unsigned quota_retry_after; /* > 0: a quota refused the send whole; seconds until
	                               the window ends. Nothing stored. */
	bool replayed;              /* a dedupe repeat: message_id and push_count are the
	                               first request's; nothing stored */
	bool stored;                /* message_id names a message (new or replayed) */
	uint64_t message_id;
	unsigned push_count;        /* deliveries queued */
	unsigned users;             /* distinct users named: user kinds by the users that
	                               exist, device kinds by the owners of devices found */
	unsigned *group_devices;    /* caller's array of ngroups, or NULL: distinct
	                               devices each group found (filled by the call) */
};

/* Stores s->m for the devices s->items name in the principal's app. Nothing is stored
 * when no device is found (unless s->inbox and a user is), when the app may not send,
 * when a quota refuses, or for a replay. A list out of bounds is HD_ERR_INTERNAL:
 * the dialect bounds it first. */
enum hd_err hd_send_targets(struct hd_db *db, const struct hd_principal *who,
    const struct hd_targets_send *s, struct hd_targets_result *out);

#endif
