/*
 * The inbox dialect's reads and writes besides the send (schema/migrations/0012):
 * the checks before a notification is stored, the pages of a user's inbox, one
 * item, marking read, deleting, and a stored notification's push outcome. Every call
 * names the caller's app user, so a request can reach its own inbox only.
 *
 * Memory: rows are handed to a callback with text borrowed for the call's length.
 */
#ifndef HD_INBOX_STORE_H
#define HD_INBOX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_db.h"

/* Page sizes of GET /notifications. */
#define HD_INBOX_PAGE_DEFAULT 20
#define HD_INBOX_PAGE_MAX 100

/* One stored inbox item; strings valid during the callback only. */
struct hd_inbox_row {
	uint64_t id;
	const char *title;       /* "" when none */
	const char *body;
	const char *extras;      /* messages.extras, or NULL */
	size_t extras_len;
	const char *created_at;  /* RFC 3339, UTC */
	const char *read_at;     /* NULL when unread */
};

typedef enum hd_err (*hd_inbox_row_fn)(void *arg, const struct hd_inbox_row *row);

/* Whether app_id's inbox subscription is active, and whether slug (NULL: none) is an
 * activity of app user user_id. */
enum hd_err hd_inbox_check(struct hd_db *db, uint64_t app_id, uint64_t user_id,
    const char *slug, size_t slug_len, bool *subscribed, bool *activity_found);

/* Up to limit (1..HD_INBOX_PAGE_MAX + 1) items of user_id's inbox, newest first,
 * with ids below before (0: from the newest), only unread ones when unread. */
enum hd_err hd_inbox_list(struct hd_db *db, uint64_t user_id, uint64_t before,
    bool unread, unsigned limit, hd_inbox_row_fn fn, void *arg);

/* Item id of user_id's inbox: fn runs once when it exists (*found). */
enum hd_err hd_inbox_get(struct hd_db *db, uint64_t user_id, uint64_t id,
    hd_inbox_row_fn fn, void *arg, bool *found);

/* Marks item id read or unread, then as hd_inbox_get. */
enum hd_err hd_inbox_mark(struct hd_db *db, uint64_t user_id, uint64_t id, bool read,
    hd_inbox_row_fn fn, void *arg, bool *found);

/* Removes item id from user_id's inbox; *deleted says whether it was there. */
enum hd_err hd_inbox_delete(struct hd_db *db, uint64_t user_id, uint64_t id,
    bool *deleted);

/* A stored notification's push, as its deliveries stand now: in_flight counts those
 * a worker is sending; queued ones (waiting for a retry) are neither. */
struct hd_inbox_outcome {
	uint64_t deliveries, delivered, in_flight, failed;
	uint64_t permitted_devices, unpermitted_devices;   /* the user's active devices */
};

enum hd_err hd_inbox_outcome(struct hd_db *db, uint64_t user_id, uint64_t message_id,
    struct hd_inbox_outcome *out);

#endif
