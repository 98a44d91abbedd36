#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "hd_ratelimit.h"

/* LAST_INSERT_ID(expr) hands the new count back with the upsert itself, so one round
 * trip both counts and tells. A fresh row reports insert id 0, meaning 1. */
static const char SQL_RATE_HIT[] =
    "INSERT INTO rate_limit (addr, sec, hits) VALUES (?, UNIX_TIMESTAMP(), 1)"
    " ON DUPLICATE KEY UPDATE"
    " hits = LAST_INSERT_ID(IF(sec = UNIX_TIMESTAMP(), hits + 1, 1)),"
    " sec = UNIX_TIMESTAMP()";

static const char SQL_RATE_PURGE[] =
    "DELETE FROM rate_limit WHERE sec < UNIX_TIMESTAMP() - 10";

/* Seconds between purges of stale rows, per process. */
#define HD_RATE_PURGE_EVERY 60

enum hd_err
hd_ratelimit_hit(struct hd_db *db, const char *addr, unsigned limit, bool *limited)
{
	static time_t last_purge;
	unsigned char bin[16];
	size_t binlen;
	uint64_t affected = 0, hits = 0;
	struct hd_dbp p;
	enum hd_err err;
	time_t now;

	*limited = false;
	if (limit == 0)
		return HD_OK;
	if (inet_pton(AF_INET, addr, bin) == 1)
		binlen = 4;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		binlen = 16;
	else {
		binlen = strnlen(addr, sizeof(bin));
		memcpy(bin, addr, binlen);
	}
	p = HD_DBP_BLOB(bin, binlen);
	if ((err = hd_db_exec(db, SQL_RATE_HIT, &p, 1, &affected, &hits)) != HD_OK)
		return err;
	if (affected == 1 || hits == 0)
		hits = 1;
	*limited = hits > limit;
	now = time(NULL);
	if (now - last_purge >= HD_RATE_PURGE_EVERY) {
		last_purge = now;
		err = hd_db_exec(db, SQL_RATE_PURGE, NULL, 0, NULL, NULL);
	}
	return err;
}
