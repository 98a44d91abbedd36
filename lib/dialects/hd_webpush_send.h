/*
 * The webpush dialect's sends (seed 004, docs/webpush.md): POST /v2/push/send and
 * POST /v2/push/broadcast. The program declares the body's fields in the order of
 * enum hd_wp_field; hd_wp_send() checks what a declaration cannot (exactly one
 * targeting option, URLs, the payload's size), maps the request onto one message for
 * the service's web clients (hd_send_targets), and then delivers it with a bounded
 * wait (at most HD_WP_SYNC_MAX clients) or leaves it to the worker, answering the
 * seed's send document.
 *
 * What the service worker receives is the JSON object
 *   {"title", "body", "icon", "badge", "image", "tag", "data", "request_id"}
 * (members present when given), stored as the message's raw Web Push payload; tag is
 * also the Topic, urgency the Urgency header, ttl the TTL.
 */
#ifndef HD_WEBPUSH_SEND_H
#define HD_WEBPUSH_SEND_H

#include <stdbool.h>

#include "hd_endpoint.h"

/* More resolved clients than this are queued for the worker. */
#define HD_WP_SYNC_MAX 100
/* Items in one targeting list (the send primitive's limit). */
#define HD_WP_LIST_MAX 1000
#define HD_WP_TTL_MAX (28 * 86400)
#define HD_WP_URL_MAX 2048

enum hd_wp_field {
	HD_WPF_TITLE, HD_WPF_BODY, HD_WPF_ICON, HD_WPF_BADGE, HD_WPF_IMAGE, HD_WPF_TAG,
	HD_WPF_DATA, HD_WPF_URGENCY, HD_WPF_TTL, HD_WPF_ASYNC, HD_WPF_ALL,
	HD_WPF_EMAILS, HD_WPF_EMAIL, HD_WPF_USER_IDS, HD_WPF_USER_ID,
	HD_WPF_REG_IDS, HD_WPF_REG_ID, HD_WPF__MAX
};

/* The urgency field's values, in the order of enum hd_urgency from HD_URG_VERY_LOW. */
extern const char *const hd_wp_urgencies[];

/* Runs the send for the validated call->values; broadcast: target_all is implied and
 * no other targeting option may be given. */
enum hd_problem hd_wp_send(struct hd_call *call, bool broadcast);

/* The outcome of a message's deliveries after a synchronous send. gone is owned by
 * the struct: release it with json_object_put(). */
struct hd_wp_outcome {
	uint64_t delivered;
	uint64_t failed;    /* gone, rejected, expired, or not finished */
	json_object *gone;  /* array of the gone ones' registration ids ("reg_…") */
};

/* Reads the outcome of message_id's deliveries into *out (zeroed by the caller). */
enum hd_err hd_wp_outcomes(struct hd_db *db, uint64_t message_id,
    struct hd_wp_outcome *out);

#endif
