/*
 * The audience dialect's platform objects (ios, android, win, uwp) mapped onto
 * herald's neutral message: title, body, data, sound, TTL and priority from the first
 * platform object present (ios, android, uwp, win), and per provider a raw override
 * (messages.extras raw.apns, raw.fcm, raw.wns; hd_notification.h) that carries
 * everything the platform page describes, so that APNs, FCM and WNS each receive
 * their own object's notification. docs/audience.md has the field-by-field table.
 * A provider payload over its limit is code 31.
 *
 * Memory: the notice owns data_json and extras_json (hd_audience_notice_free); the
 * message's other strings borrow from the body, which must outlive it.
 */
#ifndef HD_AUDIENCE_MAP_H
#define HD_AUDIENCE_MAP_H

#include <json-c/json.h>

#include "hd_fields.h"
#include "hd_send.h"

/* Provider payload limits the mapping enforces (code 31). */
#define HD_AUDIENCE_APNS_MAX 4096
#define HD_AUDIENCE_FCM_MAX 4096
/* Room kept in the FCM message for the device token herald adds when it sends. */
#define HD_AUDIENCE_FCM_TOKEN_ROOM 256
#define HD_AUDIENCE_WNS_MAX 5000

struct hd_audience_notice {
	struct hd_message m;
	unsigned platforms;   /* HD_PF_* bits of the platform objects present */
	char *data_json;
	char *extras_json;
};

/* Maps a body that hd_audience_check() accepted. HD_P_NONE, or a refusal with its
 * audience code (31, or 30 for data keys a provider reserves). */
enum hd_problem hd_audience_map(json_object *body, struct hd_audience_notice *out,
    struct hd_refusal *why);

void hd_audience_notice_free(struct hd_audience_notice *n);

/* Identifier kinds an audience element may carry, and the text of a devtodevId. */
#define HD_AUDIENCE_IDENTIFIERS 8
#define HD_AUDIENCE_NUMBER_TEXT 24

struct hd_target_item;

/* The checked body's audience as target items, one group per element (its index):
 * with a token, that device only (the element's other identifiers are ignored, as the
 * platform pages say); else each identifier on the platforms it exists on among
 * platforms (HD_PF_*), an identifier of no such platform naming nothing. items has
 * room for HD_AUDIENCE_IDENTIFIERS per element and numbers one text per element
 * (devtodevId values, which the items borrow, as they borrow the body's strings).
 * Returns the number of items; *ngroups the number of elements. */
size_t hd_audience_targets(json_object *body, unsigned platforms,
    struct hd_target_item *items, char (*numbers)[HD_AUDIENCE_NUMBER_TEXT],
    size_t *ngroups);

#endif
