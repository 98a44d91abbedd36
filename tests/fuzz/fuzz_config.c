/*
 * Fuzz driver: configuration text (hd_config_parse over the defaults, then
 * hd_config_free; the sanitizers see every leak). An accepted configuration has a
 * db_name and every number inside its declared range; a refusal says why in one
 * line. Inputs naming files under /dev or /proc are skipped, so that a mutated
 * db_password_file can neither block on a device nor read process state.
 */
#include <string.h>

#include "fuzz.h"
#include "hd_config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hd_config cfg;
	char err[256];
	enum hd_err rc;

	if (fuzz_contains(data, size, "/dev/") || fuzz_contains(data, size, "/proc/") ||
	    fuzz_contains(data, size, "/sys/"))
		return 0;
	hd_config_defaults(&cfg);
	memset(err, 0, sizeof(err));
	rc = hd_config_parse(&cfg, (const char *)data, size, err, sizeof(err));
	if (rc == HD_OK) {
		FUZZ_ASSERT(cfg.db_name != NULL);
		FUZZ_ASSERT(cfg.db_port >= 1 && cfg.db_port <= 65535);
		FUZZ_ASSERT(cfg.db_timeout_s >= 1 && cfg.db_timeout_s <= 60);
		FUZZ_ASSERT(cfg.max_body_bytes >= 1024 && cfg.max_body_bytes <= 64 * 1024 * 1024);
		FUZZ_ASSERT(cfg.rate_limit_per_address <= 1000000);
		FUZZ_ASSERT((unsigned)cfg.log_level < HD_LOG__MAX);
	} else {
		FUZZ_ASSERT(rc == HD_ERR_CONFIG || rc == HD_ERR_NOMEM);
		FUZZ_ASSERT(rc != HD_ERR_CONFIG || (err[0] != '\0' && strchr(err, '\n') == NULL));
	}
	hd_config_free(&cfg);
	return 0;
}
