/*
 * What the audience dialect reads back for its answer: the outcome of each delivery of
 * a message (successful, erroneous and one error detail per failed device), and why a
 * send found no device (the seed's codes 25, 26 and 33).
 *
 * Memory: the details array is the caller's (json_object_put).
 */
#ifndef HD_AUDIENCE_REPORT_H
#define HD_AUDIENCE_REPORT_H

#include <stdint.h>
#include <json-c/json.h>

#include "hd_audience_codes.h"
#include "hd_db.h"

struct hd_audience_outcome {
	unsigned successful;      /* delivered */
	unsigned erroneous;       /* gone, rejected, expired, or still to be retried */
	json_object *details;     /* [{identifier, platform, status, reason}], one per
	                             erroneous delivery */
};

/* Reads message_id's deliveries in app_id. */
enum hd_err hd_audience_outcome(struct hd_db *db, uint64_t app_id, uint64_t message_id,
    struct hd_audience_outcome *out);

/* Why a send to app_id found no device: HD_AC_NOT_INTEGRATED (the app has no device
 * at all), HD_AC_NO_PUSH_TOKENS (none active with push permission), else
 * HD_AC_NO_USERS (the audience named none of them). */
enum hd_err hd_audience_why_none(struct hd_db *db, uint64_t app_id,
    enum hd_audience_code *out);

#endif
