/*
 * user_token keys (audience dialect) act for the apps of their tenant that they are
 * granted (key_app_grants). hd_grant_app() resolves the app a request names by its
 * public id, within the key's tenant only, and completes the principal with it.
 */
#ifndef HD_GRANT_H
#define HD_GRANT_H

#include <stddef.h>

#include "hd_auth.h"
#include "hd_db.h"

enum hd_grant {
	HD_GRANT_OK,        /* who now names the app */
	HD_GRANT_NO_APP,    /* the key's tenant has no app with that id */
	HD_GRANT_NOT_APP,   /* the app is the tenant's, not granted to this key */
	HD_GRANT_NONE,      /* the key is granted no app at all */
};

/* Looks up app_uid for the user_token key in who (tenant_id, key_id) and, when it is
 * granted, fills who's app fields (app_id, app_uid, window, push_enabled, quotas). */
enum hd_err hd_grant_app(struct hd_db *db, struct hd_principal *who, const char *app_uid,
    size_t len, enum hd_grant *out);

#endif
