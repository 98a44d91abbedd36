/*
 * Ids in the webpush dialect's style (seed 004: "reg_abc123", "svc_xyz789",
 * "org_abc123"), derived from herald's own public ids so that they are stable across
 * calls and need no table: "reg_" + a device's public id (the id POST /devices
 * answers), "svc_" + an app's public id (the developer dialect's app_id), "org_" + a
 * tenant's id (the legacy dialect's CompanyId). docs/webpush.md.
 */
#ifndef HD_PUSHID_H
#define HD_PUSHID_H

#include <stdbool.h>
#include <stdint.h>

#include "hd_devices.h"

#define HD_REG_ID_LEN (4 + HD_DEVICE_UID_LEN)
#define HD_SVC_ID_MAX (4 + 39)
#define HD_ORG_ID_MAX (4 + 20)

/* The device id a registration id names: "reg_" + 32 lowercase hex digits, or the 32
 * digits alone. Copies it into uid and returns true, else returns false. */
bool hd_reg_id_parse(const char *s, char uid[HD_DEVICE_UID_LEN + 1]);
/* "reg_" + uid, "svc_" + app_uid, "org_" + tenant id, each with a NUL. */
void hd_reg_id(const char *uid, char out[HD_REG_ID_LEN + 1]);
void hd_svc_id(const char *app_uid, char out[HD_SVC_ID_MAX + 1]);
void hd_org_id(uint64_t tenant_id, char out[HD_ORG_ID_MAX + 1]);

#endif
