/*
 * Fuzz driver: what a browser's registration stored, read back as a client's
 * device_info (hd_client_device_info, which parses the stored JSON and reads a
 * User-Agent with hd_useragent_parse), and the raw bytes as a User-Agent. Every
 * answer has the four device_info members, each null or a string; a version is
 * digits only; an installed client said so.
 */
#include <string.h>

#include "fuzz.h"
#include "hd_clients.h"
#include "hd_useragent.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const members[] = { "browser_name", "browser_version", "os_name",
		"device_type" };
	struct hd_useragent ua;
	json_object *info, *v;
	bool installed = false;

	hd_useragent_parse((const char *)data, size, &ua);
	for (size_t i = 0; ua.browser_version[i]; i++)
		FUZZ_ASSERT(ua.browser_version[i] >= '0' && ua.browser_version[i] <= '9');
	FUZZ_ASSERT(strlen(ua.browser_version) < sizeof(ua.browser_version));
	FUZZ_ASSERT(ua.browser_version[0] == '\0' || ua.browser != NULL);
	FUZZ_ASSERT(ua.device_type == NULL || ua.os != NULL ||
	    strcmp(ua.device_type, "desktop") != 0);

	info = hd_client_device_info((const char *)data, size, &installed);
	FUZZ_ASSERT(info != NULL);
	FUZZ_ASSERT(json_object_object_length(info) == 4);
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		FUZZ_ASSERT(json_object_object_get_ex(info, members[i], &v));
		FUZZ_ASSERT(v == NULL || json_object_is_type(v, json_type_string));
	}
	FUZZ_ASSERT(!installed || fuzz_contains(data, size, "is_installed"));
	json_object_put(info);
	return 0;
}
