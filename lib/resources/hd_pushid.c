#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hd_pushid.h"

bool
hd_reg_id_parse(const char *s, char uid[HD_DEVICE_UID_LEN + 1])
{
	if (strncmp(s, "reg_", 4) == 0)
		s += 4;
	if (strlen(s) != HD_DEVICE_UID_LEN)
		return false;
	/* Device ids are written lowercase (hd_random_hex). */
	for (size_t i = 0; i < HD_DEVICE_UID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	memcpy(uid, s, HD_DEVICE_UID_LEN + 1);
	return true;
}

void
hd_reg_id(const char *uid, char out[HD_REG_ID_LEN + 1])
{
	snprintf(out, HD_REG_ID_LEN + 1, "reg_%s", uid);
}

void
hd_svc_id(const char *app_uid, char out[HD_SVC_ID_MAX + 1])
{
	snprintf(out, HD_SVC_ID_MAX + 1, "svc_%s", app_uid);
}

void
hd_org_id(uint64_t tenant_id, char out[HD_ORG_ID_MAX + 1])
{
	snprintf(out, HD_ORG_ID_MAX + 1, "org_%" PRIu64, tenant_id);
}
