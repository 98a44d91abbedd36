#include <string.h>

#include "hd_platform.h"

const char *const hd_platform_names[] = { "ios", "android", "web", "windows", NULL };

bool
hd_platform_parse(const char *s, enum hd_platform *out)
{
	for (int i = 0; i < HD_PLATFORM__MAX; i++)
		if (strcmp(s, hd_platform_names[i]) == 0) {
			*out = (enum hd_platform)i;
			return true;
		}
	return false;
}
