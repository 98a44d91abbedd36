/* The webpush dialect's ids (hd_pushid) and a client's device_info from what its
 * registration stored (hd_client_device_info). */
#include <stdbool.h>
#include <string.h>

#include "hd_clients.h"
#include "hd_pushid.h"
#include "unit.h"

static void
test_reg_id_parse(void)
{
	static const struct { const char *in; bool ok; } rows[] = {
		{ "reg_0123456789abcdef0123456789abcdef", true },
		{ "0123456789abcdef0123456789abcdef", true },
		{ "reg_0123456789ABCDEF0123456789abcdef", false },   /* ids are lowercase */
		{ "reg_0123456789abcdef0123456789abcde", false },    /* 31 digits */
		{ "reg_0123456789abcdef0123456789abcdef0", false },  /* 33 digits */
		{ "reg_0123456789abcdef0123456789abcdeg", false },
		{ "REG_0123456789abcdef0123456789abcdef", false },
		{ "reg_reg_0123456789abcdef0123456789ab", false },
		{ "svc_0123456789abcdef0123456789abcdef", false },
		{ "reg_", false },
		{ "", false },
	};
	char uid[HD_DEVICE_UID_LEN + 1];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(uid, 'x', sizeof(uid));
		CHECK_MSG(hd_reg_id_parse(rows[i].in, uid) == rows[i].ok, "row %zu '%s'", i,
		    rows[i].in);
		if (rows[i].ok)
			CHECK_MSG(strcmp(uid, "0123456789abcdef0123456789abcdef") == 0, "row %zu", i);
	}
}

static void
test_ids_round_trip(void)
{
	char reg[HD_REG_ID_LEN + 1], svc[HD_SVC_ID_MAX + 1], org[HD_ORG_ID_MAX + 1];
	char uid[HD_DEVICE_UID_LEN + 1];

	hd_reg_id("fedcba9876543210fedcba9876543210", reg);
	CHECK(strcmp(reg, "reg_fedcba9876543210fedcba9876543210") == 0);
	CHECK(hd_reg_id_parse(reg, uid) && strcmp(uid, reg + 4) == 0);
	hd_svc_id("3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a1b", svc);
	CHECK(strcmp(svc, "svc_3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a1b") == 0);
	hd_org_id(7, org);
	CHECK(strcmp(org, "org_7") == 0);
	hd_org_id(UINT64_MAX, org);
	CHECK(strcmp(org, "org_18446744073709551615") == 0);
}

/* The JSON text of member key of info, "null" when JSON null. */
static const char *
member(json_object *info, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(info, key, &v))
		return "(absent)";
	return v == NULL ? "null" : json_object_get_string(v);
}

static void
test_device_info(void)
{
	static const struct {
		const char *stored;
		const char *browser, *version, *os, *type;
		bool installed;
	} rows[] = {
		/* A user agent is read. */
		{ "{\"user_agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\"}",
		  "Chrome", "120", "Windows", "desktop", false },
		/* navigator.userAgent's own name works too, and is_installed counts. */
		{ "{\"userAgent\":\"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1\",\"is_installed\":true}",
		  "Safari", "17", "iOS", "mobile", true },
		/* Names the page gave win over the user agent's. */
		{ "{\"browser_name\":\"Brave\",\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) Chrome/121.0 Safari/537.36\"}",
		  "Brave", "121", "Linux", "desktop", false },
		{ "{\"browser_name\":\"Chrome\",\"browser_version\":\"120\",\"os_name\":\"Windows\",\"device_type\":\"desktop\"}",
		  "Chrome", "120", "Windows", "desktop", false },
		/* Nothing usable: all null. */
		{ "{\"model\":\"iPhone15,2\",\"is_installed\":\"yes\"}", "null", "null", "null", "null", false },
		{ "{\"user_agent\":42,\"browser_name\":\"\"}", "null", "null", "null", "null", false },
		{ "not json", "null", "null", "null", "null", false },
		{ "[1,2]", "null", "null", "null", "null", false },
		{ NULL, "null", "null", "null", "null", false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool installed = !rows[i].installed;
		json_object *info = hd_client_device_info(rows[i].stored,
		    rows[i].stored ? strlen(rows[i].stored) : 0, &installed);

		CHECK_MSG(info != NULL, "row %zu", i);
		if (info == NULL)
			continue;
		CHECK_MSG(json_object_object_length(info) == 4, "row %zu: %d members", i,
		    json_object_object_length(info));
		CHECK_MSG(strcmp(member(info, "browser_name"), rows[i].browser) == 0, "row %zu: %s",
		    i, member(info, "browser_name"));
		CHECK_MSG(strcmp(member(info, "browser_version"), rows[i].version) == 0,
		    "row %zu: %s", i, member(info, "browser_version"));
		CHECK_MSG(strcmp(member(info, "os_name"), rows[i].os) == 0, "row %zu: %s", i,
		    member(info, "os_name"));
		CHECK_MSG(strcmp(member(info, "device_type"), rows[i].type) == 0, "row %zu: %s", i,
		    member(info, "device_type"));
		CHECK_MSG(installed == rows[i].installed, "row %zu: installed", i);
		json_object_put(info);
	}
}

int
main(void)
{
	test_reg_id_parse();
	test_ids_round_trip();
	test_device_info();
	UNIT_DONE();
}
