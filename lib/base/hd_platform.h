/*
 * The device platforms herald delivers to, as devices.platform names them: one
 * enumeration for the request path (registration, targeting) and the delivery layer
 * (which provider a device's deliveries go to). The names are static.
 */
#ifndef HD_PLATFORM_H
#define HD_PLATFORM_H

#include <stdbool.h>

enum hd_platform { HD_PLATFORM_IOS, HD_PLATFORM_ANDROID, HD_PLATFORM_WEB,
	HD_PLATFORM_WINDOWS, HD_PLATFORM__MAX };

/* Names in the order of enum hd_platform, NULL-terminated (for field declarations). */
extern const char *const hd_platform_names[];

/* The platform a NUL-terminated name names; false for none. */
bool hd_platform_parse(const char *s, enum hd_platform *out);

#endif
