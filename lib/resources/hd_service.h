/*
 * The webpush dialect's service (= app) documents: its configuration with live
 * registration counts (GET /v2/push/service), and its quota figures
 * (GET /v2/push/quota), read the way the send path enforces quotas: deliveries
 * charged in quota_usage per UTC hour and day (hd_queue_message). docs/webpush.md has
 * every field's meaning. Documents returned are owned by the caller.
 */
#ifndef HD_SERVICE_H
#define HD_SERVICE_H

#include <json-c/json.h>

#include "hd_auth.h"
#include "hd_db.h"

/* The service document of the principal's app into *doc. */
enum hd_err hd_service_doc(struct hd_db *db, const struct hd_principal *who,
    json_object **doc);

/* The quota document of the principal's app into *doc. */
enum hd_err hd_quota_doc(struct hd_db *db, const struct hd_principal *who,
    json_object **doc);

#endif
