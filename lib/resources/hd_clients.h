/*
 * The webpush dialect's clients: an app's Web Push registrations, i.e. its devices of
 * platform web registered through POST /devices, read as the seed's client objects
 * (docs/webpush.md has every field's meaning). Documents returned are owned by the
 * caller (json_object_put).
 */
#ifndef HD_CLIENTS_H
#define HD_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "hd_auth.h"
#include "hd_db.h"
#include "hd_devices.h"

/* devices.status values, in order, NULL-terminated (for field declarations). */
extern const char *const hd_client_statuses[];

struct hd_client_query {
	int status;            /* index in hd_client_statuses; -1: any */
	const char *email;     /* the user's email (case-insensitive); NULL: any */
	size_t email_len;
	int64_t limit;         /* 1..1000 */
	int64_t offset;        /* 0.. */
};

/* Appends to list (an array) the clients of the principal's app that match q, oldest
 * registration first, from q->offset on, at most q->limit, and sets *total to how many
 * match in all; both read in one snapshot. */
enum hd_err hd_clients_list(struct hd_db *db, const struct hd_principal *who,
    const struct hd_client_query *q, json_object *list, int64_t *total);

/* The client whose device id is uid, in the principal's app: *doc, or NULL when the
 * app has no web device with that id. */
enum hd_err hd_client_get(struct hd_db *db, const struct hd_principal *who,
    const char *uid, json_object **doc);

/* The device_info object of a client from what its registration stored (device_info
 * of POST /devices, JSON text, may be NULL): browser_name, browser_version, os_name and
 * device_type as the page gave them, else read from its user_agent (or userAgent);
 * null when unknown. *installed: the registration said "is_installed": true. */
json_object *hd_client_device_info(const char *info, size_t len, bool *installed);

#endif
