/*
 * The inbox dialect's payload mapping (seed 002, docs/inbox.md): the checks of a
 * notification that field declarations cannot express (URL schemes, media, actions,
 * metadata), what a notification stores (messages.extras, with the inbox-only
 * fields under "inbox") and pushes (the APNs custom keys in messages.data), the
 * answer document of a stored notification, and the RFC 9457 problem documents.
 *
 * Memory: a note borrows every string and object from the parsed request. Returned
 * json_object trees belong to the caller (json_object_put).
 */
#ifndef HD_INBOX_MAP_H
#define HD_INBOX_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "hd_fields.h"

#define HD_INBOX_URL_MAX 2048
#define HD_INBOX_ACTIONS_MAX 10
#define HD_INBOX_ACTION_TEXT_MAX 64
#define HD_INBOX_METADATA_KEYS_MAX 20
#define HD_INBOX_METADATA_KEY_MAX 64
#define HD_INBOX_METADATA_VALUE_MAX 4096
/* messages.extras is a TEXT column. */
#define HD_INBOX_EXTRAS_MAX 65535

/* The level names, in the order of enum hd_interruption's PASSIVE, ACTIVE,
 * TIME_SENSITIVE (NULL-terminated, for the field declaration). */
extern const char *const hd_inbox_levels[];
extern const char *const hd_inbox_media_types[];

/* A validated create request. Absent strings are NULL. */
struct hd_inbox_note {
	const struct hd_value *title, *body, *subtitle, *thread_id, *source,
	    *source_display_name, *url, *icon_url, *activity_slug;
	int level;                        /* index in hd_inbox_levels; -1: absent */
	bool media;                       /* media was given: then both of */
	const struct hd_value *media_url;
	int media_type;                   /* index in hd_inbox_media_types; -1: absent */
	const struct hd_value *actions;   /* ARRAY value, or NULL */
	json_object *metadata;            /* object, or NULL */
	bool push;
};

/* The semantic checks of a note: URL schemes, media complete and https, each action's
 * members, the metadata's keys and values. Returns HD_P_NONE or the problem (shape:
 * HD_P_INVALID_TYPE / HD_P_UNKNOWN_FIELD; semantics: HD_P_INVALID_VALUE,
 * HD_P_TOO_LONG, HD_P_MISSING_FIELD, HD_P_OUT_OF_RANGE) with *why filled. */
enum hd_problem hd_inbox_note_check(const struct hd_inbox_note *n, bool from_xml,
    struct hd_refusal *why);

/* The messages.extras object of a note (hd_notification.h keys, plus "inbox"), and
 * the custom data pushed beside "aps" (icon, actions, media, source, activity).
 * NULL when out of memory. */
json_object *hd_inbox_extras(const struct hd_inbox_note *n, bool from_xml);
json_object *hd_inbox_push_data(const struct hd_inbox_note *n, bool from_xml);

/* A stored notification as the API shows it (the seed's shape, plus read and
 * read_at). extras is messages.extras (may be NULL); read_at NULL when unread. */
json_object *hd_inbox_item_doc(unsigned long long id, const char *title,
    const char *body, const char *extras, size_t extras_len, const char *created_at,
    const char *read_at);

/* The RFC 9457 problem document of a refusal: type, title, status, detail, code (the
 * inbox dialect's codes), and retry_after_ms on 429. */
json_object *hd_inbox_problem_doc(const struct hd_refusal *why);
/* Gives a refusal the inbox dialect's status: 422 for semantic validation failures
 * (the seed: 400 for malformed or wrongly shaped bodies only). */
void hd_inbox_refine_refusal(struct hd_refusal *why);
/* The dialect's code of a problem (e.g. "subscription.required"). */
const char *hd_inbox_code(enum hd_problem p);

#endif
