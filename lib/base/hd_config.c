#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd_buf.h"
#include "hd_config.h"
#include "hd_text.h"

#ifndef HD_SYSCONFDIR
#define HD_SYSCONFDIR "/etc"
#endif
#ifndef HD_LOCALSTATEDIR
#define HD_LOCALSTATEDIR "/var"
#endif

#define HD_CONFIG_MAX_BYTES (64 * 1024)
#define HD_SECRET_FILE_MAX (4 * 1024)

enum hd_ctype { HD_C_STR, HD_C_UINT, HD_C_SIZE, HD_C_SECRET_FILE, HD_C_CHOICE,
	HD_C_DB_ADDRESSES };

struct hd_ckey {
	const char *name;
	enum hd_ctype type;
	size_t offset;
	unsigned long long min, max;   /* numbers only */
	unsigned long long def;        /* numbers; choices: an index into names */
	const char *const *names;      /* choices only: what the file may say */
	size_t nnames;
};

#define HD_OFF(f) offsetof(struct hd_config, f)
#define HD_STR(k) { #k, HD_C_STR, HD_OFF(k), 0, 0, 0, NULL, 0 }
#define HD_NUM(k, lo, hi, d) { #k, HD_C_UINT, HD_OFF(k), lo, hi, d, NULL, 0 }
#define HD_CHOICE(k, d, names, n) { #k, HD_C_CHOICE, HD_OFF(k), 0, 0, d, names, n }

/* Choices are stored as unsigned: both enums below have no negative member. */
_Static_assert(sizeof(enum hd_log_level) == sizeof(unsigned), "enum size");
_Static_assert(sizeof(enum hd_log_format) == sizeof(unsigned), "enum size");
_Static_assert(sizeof(enum hd_sync_delivery) == sizeof(unsigned), "enum size");

const char *const hd_sync_delivery_names[HD_SYNC__MAX] = { "inline", "worker" };

/* Every key, its bounds and its default: herald.conf(5) documents exactly these
 * (tests/unit/test_config_doc.c holds it to that). */
static const struct hd_ckey hd_ckeys[] = {
	HD_STR(db_socket),
	HD_STR(db_host),
	HD_NUM(db_port, 1, 65535, 3306),
	{ "db_addresses", HD_C_DB_ADDRESSES, HD_OFF(db_addresses), 0, 0, 0, NULL, 0 },
	HD_STR(db_name),
	HD_STR(db_user),
	HD_STR(db_password),
	{ "db_password_file", HD_C_SECRET_FILE, HD_OFF(db_password), 0, 0, 0, NULL, 0 },
	HD_STR(worker_db_user),
	HD_STR(worker_db_password),
	{ "worker_db_password_file", HD_C_SECRET_FILE, HD_OFF(worker_db_password), 0, 0, 0,
	  NULL, 0 },
	HD_NUM(db_timeout_s, 1, 60, 1),
	HD_NUM(db_query_timeout_s, 2, 60, 2),
	{ "max_body_bytes", HD_C_SIZE, HD_OFF(max_body_bytes), 1024, 64 * 1024 * 1024,
	  64 * 1024, NULL, 0 },
	HD_NUM(rate_limit_per_address, 0, 1000000, 100),
	HD_CHOICE(log_level, HD_LOG_INFO, hd_log_level_names, HD_LOG__MAX),
	HD_CHOICE(log_format, HD_LOG_TEXT, hd_log_format_names, HD_LOG_FORMAT__MAX),
	HD_NUM(max_queue_backlog, 0, 1000000000, 0),
	HD_NUM(send_threads, 1, 256, 32),
	HD_NUM(send_batch_max, 0, 4096, 64),
	HD_STR(apns_url),
	HD_STR(apns_sandbox_url),
	HD_STR(fcm_url),
	HD_STR(fcm_token_url),
	HD_STR(wns_token_url),
	HD_STR(ca_bundle),
	HD_STR(credentials_key_file),
	HD_STR(provider_connect_to),
	HD_NUM(delivery_timeout_s, 1, 300, 10),
	HD_NUM(sync_wait_ms, 100, 60000, 5000),
	HD_CHOICE(sync_delivery, HD_SYNC_INLINE, hd_sync_delivery_names, HD_SYNC__MAX),
	HD_NUM(worker_batch, 1, 10000, 500),
	HD_NUM(worker_lease_s, 5, 3600, 60),
	HD_NUM(worker_max_attempts, 1, 100, 12),
	HD_NUM(worker_streams, 1, 100000, 400),
	HD_NUM(worker_connections, 1, 64, 4),
	{ "audience_max_body_bytes", HD_C_SIZE, HD_OFF(audience_max_body_bytes), 1024,
	  64 * 1024 * 1024, 1024 * 1024, NULL, 0 },
	HD_STR(metrics_file),
	HD_STR(worker_metrics_file),
	HD_NUM(worker_metrics_every_s, 1, 3600, 5),
	HD_NUM(worker_status_every_s, 1, 3600, 10),
};

#define HD_NKEYS (sizeof(hd_ckeys) / sizeof(hd_ckeys[0]))

void
hd_config_defaults(struct hd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < HD_NKEYS; i++) {
		char *field = (char *)cfg + hd_ckeys[i].offset;

		switch (hd_ckeys[i].type) {
		case HD_C_UINT:
		case HD_C_CHOICE:
			*(unsigned *)field = (unsigned)hd_ckeys[i].def;
			break;
		case HD_C_SIZE:
			*(size_t *)field = (size_t)hd_ckeys[i].def;
			break;
		case HD_C_STR:
		case HD_C_SECRET_FILE:
		case HD_C_DB_ADDRESSES:
			break;
		}
	}
}

/* "a, b or c" */
static void
hd_choices_text(const struct hd_ckey *k, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < k->nnames && len < cap; i++) {
		int n = snprintf(out + len, cap - len, "%s%s", i == 0 ? "" :
		    i + 1 == k->nnames ? " or " : ", ", k->names[i]);
		if (n < 0)
			return;
		len += (size_t)n;
	}
}

const char *
hd_config_key(size_t i, char *summary, size_t cap)
{
	const struct hd_ckey *k;
	char choices[128];

	if (i >= HD_NKEYS)
		return NULL;
	k = &hd_ckeys[i];
	switch (k->type) {
	case HD_C_UINT:
	case HD_C_SIZE:
		snprintf(summary, cap, "a whole number from %llu to %llu; default %llu",
		    k->min, k->max, k->def);
		break;
	case HD_C_CHOICE:
		hd_choices_text(k, choices, sizeof(choices));
		snprintf(summary, cap, "%s; default %s", choices, k->names[k->def]);
		break;
	case HD_C_STR:
		snprintf(summary, cap, "text; no default");
		break;
	case HD_C_SECRET_FILE:
		snprintf(summary, cap, "the path of a file; no default");
		break;
	case HD_C_DB_ADDRESSES:
		snprintf(summary, cap, "a list of addresses; no default");
		break;
	}
	return k->name;
}

static void
hd_db_addresses_free(struct hd_config *cfg)
{
	for (size_t i = 0; i < cfg->db_naddresses; i++) {
		free(cfg->db_addresses[i].socket);
		free(cfg->db_addresses[i].host);
	}
	free(cfg->db_addresses);
	cfg->db_addresses = NULL;
	cfg->db_naddresses = 0;
}

static void hd_trim(const char **s, size_t *len);

/* "ADDRESS[, ADDRESS...]", each a unix socket path (starting with '/') or
 * HOST[:PORT] (default port: 3306). Replaces cfg's list; on error leaves it empty. */
static enum hd_err
hd_db_addresses_parse(struct hd_config *cfg, const char *v, size_t vlen, char *err,
    size_t errlen, unsigned line)
{
	const char *p = v, *end = v + vlen;
	size_t n = 1;

	hd_db_addresses_free(cfg);
	for (const char *c = v; c < end; c++)
		n += *c == ',';
	if ((cfg->db_addresses = calloc(n, sizeof(*cfg->db_addresses))) == NULL)
		return HD_ERR_NOMEM;
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p)), *item = p, *colon;
		size_t ilen = (size_t)((comma ? comma : end) - p);
		struct hd_db_address *a = &cfg->db_addresses[cfg->db_naddresses];
		uint64_t port = 3306;

		p = (comma ? comma : end) + 1;
		hd_trim(&item, &ilen);
		colon = ilen > 0 && item[0] != '/' ? memchr(item, ':', ilen) : NULL;
		if (ilen == 0 || colon == item || (colon && (hd_parse_u64(colon + 1,
		    ilen - (size_t)(colon + 1 - item), &port) != 0 || port < 1 || port > 65535))) {
			snprintf(err, errlen, "line %u: db_addresses wants a list of /socket/path or "
			    "host[:port], separated by commas", line);
			hd_db_addresses_free(cfg);
			return HD_ERR_CONFIG;
		}
		cfg->db_naddresses++;
		if (item[0] == '/')
			a->socket = strndup(item, ilen);
		else
			a->host = strndup(item, colon ? (size_t)(colon - item) : ilen);
		a->port = (unsigned)port;
		if (a->socket == NULL && a->host == NULL) {
			hd_db_addresses_free(cfg);
			return HD_ERR_NOMEM;
		}
	}
	return HD_OK;
}

static void
hd_secret_free(char **secret)
{
	if (*secret)
		explicit_bzero(*secret, strlen(*secret));
	free(*secret);
	*secret = NULL;
}

void
hd_config_free(struct hd_config *cfg)
{
	hd_db_addresses_free(cfg);
	free(cfg->db_socket);
	free(cfg->db_host);
	free(cfg->db_name);
	free(cfg->db_user);
	free(cfg->worker_db_user);
	hd_secret_free(&cfg->db_password);
	hd_secret_free(&cfg->worker_db_password);
	cfg->db_socket = cfg->db_host = cfg->db_name = cfg->db_user = NULL;
	cfg->worker_db_user = NULL;
	free(cfg->apns_url);
	free(cfg->apns_sandbox_url);
	free(cfg->fcm_url);
	free(cfg->fcm_token_url);
	free(cfg->wns_token_url);
	free(cfg->ca_bundle);
	free(cfg->provider_connect_to);
	free(cfg->credentials_key_file);
	cfg->apns_url = cfg->apns_sandbox_url = cfg->fcm_url = cfg->fcm_token_url = NULL;
	cfg->wns_token_url = cfg->ca_bundle = cfg->provider_connect_to = NULL;
	cfg->credentials_key_file = NULL;
	free(cfg->metrics_file);
	free(cfg->worker_metrics_file);
	cfg->metrics_file = cfg->worker_metrics_file = NULL;
}

const char *
hd_config_metrics_file(const struct hd_config *cfg)
{
	return cfg->metrics_file ? cfg->metrics_file : HD_LOCALSTATEDIR "/lib/herald/metrics";
}

const char *
hd_config_path(void)
{
	const char *p = getenv("HERALD_CONFIG");

	return p && *p ? p : HD_SYSCONFDIR "/herald/herald.conf";
}

/* Reads a whole small file into a NUL-terminated string (caller frees). */
static enum hd_err
hd_read_small_file(const char *path, size_t max, char **out, size_t *outlen)
{
	struct hd_buf b;
	char chunk[4096];
	size_t n;
	FILE *f;
	enum hd_err err = HD_OK;

	hd_buf_init(&b, max);
	if ((f = fopen(path, "r")) == NULL)
		return HD_ERR_CONFIG;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((err = hd_buf_append(&b, chunk, n)) != HD_OK)
			break;
	if (err == HD_OK && ferror(f))
		err = HD_ERR_CONFIG;
	fclose(f);
	if (err == HD_OK && b.data == NULL)
		err = hd_buf_append(&b, "", 0);
	if (err != HD_OK) {
		hd_buf_free(&b);
		return err == HD_ERR_NOMEM ? HD_ERR_CONFIG : err;
	}
	*out = hd_buf_steal(&b, outlen);
	return HD_OK;
}

static enum hd_err
hd_config_set(struct hd_config *cfg, const struct hd_ckey *k, const char *v,
    size_t vlen, char *err, size_t errlen, unsigned line)
{
	char *field = (char *)cfg + k->offset;
	unsigned long long n;
	uint64_t u;
	char *s = NULL, *file = NULL;
	size_t flen;
	char choices[128];

	switch (k->type) {
	case HD_C_STR:
	case HD_C_SECRET_FILE:
		if (vlen == 0) {
			snprintf(err, errlen, "line %u: %s needs a value", line, k->name);
			return HD_ERR_CONFIG;
		}
		if ((s = strndup(v, vlen)) == NULL)
			return HD_ERR_NOMEM;
		if (k->type == HD_C_SECRET_FILE) {
			if (hd_read_small_file(s, HD_SECRET_FILE_MAX, &file, &flen) != HD_OK) {
				snprintf(err, errlen, "line %u: %s: cannot read %s",
				    line, k->name, s);
				free(s);
				return HD_ERR_CONFIG;
			}
			free(s);
			while (flen > 0 && (file[flen - 1] == '\n' || file[flen - 1] == '\r'))
				file[--flen] = '\0';
			s = file;
		}
		free(*(char **)field);
		*(char **)field = s;
		return HD_OK;
	case HD_C_UINT:
	case HD_C_SIZE:
		if (hd_parse_u64(v, vlen, &u) != 0 || u < k->min || u > k->max) {
			snprintf(err, errlen, "line %u: %s must be a whole number from %llu to %llu",
			    line, k->name, k->min, k->max);
			return HD_ERR_CONFIG;
		}
		n = u;
		if (k->type == HD_C_UINT)
			*(unsigned *)field = (unsigned)n;
		else
			*(size_t *)field = (size_t)n;
		return HD_OK;
	case HD_C_CHOICE:
		for (size_t i = 0; i < k->nnames; i++)
			if (strlen(k->names[i]) == vlen && memcmp(k->names[i], v, vlen) == 0) {
				*(unsigned *)field = (unsigned)i;
				return HD_OK;
			}
		hd_choices_text(k, choices, sizeof(choices));
		snprintf(err, errlen, "line %u: %s must be %s", line, k->name, choices);
		return HD_ERR_CONFIG;
	case HD_C_DB_ADDRESSES:
		return hd_db_addresses_parse(cfg, v, vlen, err, errlen, line);
	}
	return HD_ERR_INTERNAL;
}

static void
hd_trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
	    (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* Two keys fill each password: a file and an inline value would silently race. */
static enum hd_err
hd_one_source(const unsigned char *seen, size_t offset, char *err, size_t errlen)
{
	for (size_t i = 0, first = HD_NKEYS; i < HD_NKEYS; i++)
		if (seen[i] && hd_ckeys[i].offset == offset) {
			if (first != HD_NKEYS) {
				snprintf(err, errlen, "set only one of %s and %s",
				    hd_ckeys[first].name, hd_ckeys[i].name);
				return HD_ERR_CONFIG;
			}
			first = i;
		}
	return HD_OK;
}

enum hd_err
hd_config_parse(struct hd_config *cfg, const char *text, size_t len, char *err,
    size_t errlen)
{
	const size_t nkeys = HD_NKEYS;
	unsigned char seen[HD_NKEYS] = { 0 };
	const char *p = text, *end = text + len;
	unsigned line = 0;
	enum hd_err rc;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *l = p, *eq, *key, *val;
		size_t llen = (size_t)((eol ? eol : end) - p), klen, vlen, i;

		p = eol ? eol + 1 : end;
		line++;
		hd_trim(&l, &llen);
		if (llen == 0 || l[0] == '#')
			continue;
		if ((eq = memchr(l, '=', llen)) == NULL) {
			snprintf(err, errlen, "line %u: expected key = value", line);
			return HD_ERR_CONFIG;
		}
		key = l;
		klen = (size_t)(eq - l);
		val = eq + 1;
		vlen = llen - klen - 1;
		hd_trim(&key, &klen);
		hd_trim(&val, &vlen);
		for (i = 0; i < nkeys; i++)
			if (strlen(hd_ckeys[i].name) == klen &&
			    memcmp(hd_ckeys[i].name, key, klen) == 0)
				break;
		if (i == nkeys) {
			snprintf(err, errlen, "line %u: unknown key '%.*s'", line,
			    (int)(klen > 64 ? 64 : klen), key);
			return HD_ERR_CONFIG;
		}
		if (seen[i]++) {
			snprintf(err, errlen, "line %u: %s is set twice", line, hd_ckeys[i].name);
			return HD_ERR_CONFIG;
		}
		if (memchr(val, '\0', vlen) != NULL) {
			snprintf(err, errlen, "line %u: NUL byte in value", line);
			return HD_ERR_CONFIG;
		}
		if ((rc = hd_config_set(cfg, &hd_ckeys[i], val, vlen, err, errlen, line)) != HD_OK)
			return rc;
	}
	if ((rc = hd_one_source(seen, offsetof(struct hd_config, db_password), err,
	    errlen)) != HD_OK ||
	    (rc = hd_one_source(seen, offsetof(struct hd_config, worker_db_password), err,
	    errlen)) != HD_OK)
		return rc;
	if (cfg->worker_db_password != NULL && cfg->worker_db_user == NULL) {
		snprintf(err, errlen, "worker_db_password is for worker_db_user, which is not set");
		return HD_ERR_CONFIG;
	}
	if (cfg->db_name == NULL) {
		snprintf(err, errlen, "db_name is required");
		return HD_ERR_CONFIG;
	}
	return HD_OK;
}

enum hd_err
hd_config_load(struct hd_config *cfg, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	enum hd_err rc;

	hd_config_defaults(cfg);
	errno = 0;
	if (hd_read_small_file(path, HD_CONFIG_MAX_BYTES, &text, &len) != HD_OK) {
		if (errno != 0)
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s is larger than %d bytes", path, HD_CONFIG_MAX_BYTES);
		return HD_ERR_CONFIG;
	}
	rc = hd_config_parse(cfg, text, len, err, errlen);
	free(text);
	if (rc != HD_OK)
		hd_config_free(cfg);
	return rc;
}
