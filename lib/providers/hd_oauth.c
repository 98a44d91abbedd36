/* The OAuth access-token cache of hd_oauth.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "hd_log.h"
#include "hd_metrics.h"
#include "hd_oauth.h"
#include "hd_text.h"
#include "hd_time.h"

#define HD_OAUTH_ACCESS_MAX 2048
#define HD_OAUTH_FORM_MAX 8192
#define HD_OAUTH_ANSWER_MAX 16384
#define HD_OAUTH_EARLY_S 300        /* renew this long before expiry */
#define HD_OAUTH_MIN_LIFE_S 60      /* a shorter-lived token would be fetched per message */
#define HD_OAUTH_WHY_MAX 128
#define HD_OAUTH_CODE_MAX 48        /* RFC 6749 §5.2 error codes are short */

struct hd_oauth_entry {
	uint64_t app_id;
	char *account;              /* the client the token is for */
	char *access;               /* NULL until fetched, and once refused */
	int64_t use_until;          /* usec */
	int64_t hold_until;         /* usec: no fetch before this after a failure */
	bool failing;               /* a failure is logged once, until a fetch succeeds */
};

struct hd_oauth {
	const struct hd_oauth_policy *policy;
	struct hd_oauth_entry *e;
	size_t n;
};

enum hd_err
hd_oauth_new(const struct hd_oauth_policy *policy, struct hd_oauth **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return HD_ERR_NOMEM;
	(*out)->policy = policy;
	return HD_OK;
}

static void
hd_oauth_wipe(char **access)
{
	if (*access) {
		OPENSSL_cleanse(*access, strlen(*access));
		free(*access);
		*access = NULL;
	}
}

void
hd_oauth_free(struct hd_oauth *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].account);
		hd_oauth_wipe(&c->e[i].access);
	}
	free(c->e);
	free(c);
}

static struct hd_oauth_entry *
hd_oauth_find(struct hd_oauth *c, uint64_t app_id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].app_id == app_id)
			return &c->e[i];
	return NULL;
}

/* app_id's entry, made when missing, and emptied when it was for another account. */
static enum hd_err
hd_oauth_entry(struct hd_oauth *c, uint64_t app_id, const char *account,
    struct hd_oauth_entry **out)
{
	struct hd_oauth_entry *e, *grown;
	char *copy;

	if ((e = hd_oauth_find(c, app_id)) == NULL) {
		if ((grown = realloc(c->e, (c->n + 1) * sizeof(*grown))) == NULL)
			return HD_ERR_NOMEM;
		c->e = grown;
		e = &grown[c->n++];
		memset(e, 0, sizeof(*e));
		e->app_id = app_id;
	}
	if (e->account == NULL || strcmp(e->account, account) != 0) {
		if ((copy = strdup(account)) == NULL)
			return HD_ERR_NOMEM;
		free(e->account);
		hd_oauth_wipe(&e->access);
		memset(e, 0, sizeof(*e));
		e->app_id = app_id;
		e->account = copy;
	}
	*out = e;
	return HD_OK;
}

/* RFC 6750 §2.1 b64token: what a Bearer token may hold, so it is safe in a header. */
static bool
hd_oauth_b64token(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > HD_OAUTH_ACCESS_MAX)
		return false;
	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	    (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i])))
		i++;
	if (i == 0)
		return false;
	while (i < len && s[i] == '=')
		i++;
	return i == len;
}

/* expires_in, by the policy; false when it is missing where required, or not sane. */
static bool
hd_oauth_life(const struct hd_oauth_policy *p, json_object *doc, int64_t *life)
{
	json_object *v;
	const char *s;

	*life = p->default_life_s;
	if (json_object_object_get_ex(doc, "expires_in", &v)) {
		if (json_object_is_type(v, json_type_int))
			*life = json_object_get_int64(v);
		else if (p->life_as_text && json_object_is_type(v, json_type_string) &&
		    (s = json_object_get_string(v)) != NULL)
			return hd_parse_i64(s, strlen(s), life) == 0 &&
			    *life >= HD_OAUTH_MIN_LIFE_S && *life <= p->max_life_s;
		else
			return false;
	}
	return *life >= HD_OAUTH_MIN_LIFE_S && *life <= p->max_life_s;
}

/* Reads the token endpoint's answer into e. Returns false, with why set, for an
 * answer that is not a sane token. */
static bool
hd_oauth_take(const struct hd_oauth_policy *p, const struct hd_buf *answer, int64_t now,
    struct hd_oauth_entry *e, char *why, size_t whycap)
{
	json_object *doc = NULL, *v;
	const char *type;
	int64_t life;
	bool ok = false;
	char *copy;

	if (answer->data == NULL || hd_json_parse_object(answer->data, answer->len, &doc) != 0) {
		snprintf(why, whycap, "token endpoint answer is not JSON");
		goto out;
	}
	type = hd_json_get_str(doc, "token_type");
	if (!json_object_object_get_ex(doc, "access_token", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !hd_oauth_b64token(json_object_get_string(v), (size_t)json_object_get_string_len(v)) ||
	    (json_object_object_get_ex(doc, "token_type", NULL) &&
	    (type == NULL || strcasecmp(type, "bearer") != 0)) ||
	    !hd_oauth_life(p, doc, &life)) {
		snprintf(why, whycap, "token endpoint answer has no sane access token");
		goto out;
	}
	if ((copy = strdup(json_object_get_string(v))) == NULL) {
		snprintf(why, whycap, "out of memory");
		goto out;
	}
	hd_oauth_wipe(&e->access);
	e->access = copy;
	/* Short-lived tokens are renewed at half their life instead. */
	e->use_until = now + (life > 2 * HD_OAUTH_EARLY_S ? life - HD_OAUTH_EARLY_S :
	    life / 2) * HD_USEC_PER_SEC;
	ok = true;
out:
	json_object_put(doc);
	return ok;
}

/* Asks the token endpoint for a token into e. */
static enum hd_err
hd_oauth_fetch(const struct hd_oauth_policy *p, struct hd_provider_ctx *ctx, const char *url,
    hd_oauth_form_fn form_fn, const void *form_arg, int64_t now, struct hd_oauth_entry *e,
    char *why, size_t whycap)
{
	struct hd_buf form, answer;
	json_object *doc = NULL;
	char error[HD_OAUTH_CODE_MAX] = "";
	const char *code;
	long status = 0;
	enum hd_err err;

	hd_buf_init(&form, HD_OAUTH_FORM_MAX);
	hd_buf_init(&answer, HD_OAUTH_ANSWER_MAX);
	if ((err = form_fn(form_arg, now, &form)) != HD_OK) {
		snprintf(why, whycap, "token request not made: %s", hd_strerror(err));
		goto out;
	}
	err = ctx->post(ctx, url, "application/x-www-form-urlencoded", form.data, form.len,
	    &status, &answer);
	if (err != HD_OK || status != 200) {
		/* RFC 6749 §5.2's "error" code says why, and is no secret. */
		if (answer.data && hd_json_parse_object(answer.data, answer.len, &doc) == 0 &&
		    (code = hd_json_get_str(doc, "error")) != NULL)
			hd_text_clean(error, sizeof(error), code, strlen(code));
		if (status == 0)
			snprintf(why, whycap, "no answer from the token endpoint: %s",
			    hd_strerror(err));
		else
			snprintf(why, whycap, "token endpoint answered %ld%s%s", status,
			    error[0] ? ": " : "", error);
		if (err == HD_OK)
			err = HD_ERR_IO;
		goto out;
	}
	if (!hd_oauth_take(p, &answer, now, e, why, whycap))
		err = HD_ERR_IO;
out:
	json_object_put(doc);
	if (form.data)
		OPENSSL_cleanse(form.data, form.len);
	hd_buf_free(&form);
	hd_buf_free(&answer);
	return err;
}

enum hd_err
hd_oauth_token(struct hd_oauth *c, struct hd_provider_ctx *ctx, uint64_t app_id,
    const char *account, const char *url, hd_oauth_form_fn form_fn, const void *form_arg,
    int64_t now, const char **access)
{
	const struct hd_oauth_policy *p = c->policy;
	struct hd_oauth_entry *e;
	char why[HD_OAUTH_WHY_MAX];
	enum hd_err err;

	if ((err = hd_oauth_entry(c, app_id, account, &e)) != HD_OK)
		return err;
	if (e->access && now < e->use_until) {
		*access = e->access;
		return HD_OK;
	}
	if (now < e->hold_until)
		return HD_ERR_IO;
	if (ctx->post == NULL)
		return HD_ERR_INTERNAL;
	err = hd_oauth_fetch(p, ctx, url, form_fn, form_arg, now, e, why, sizeof(why));
	hd_metrics_count(HD_M_TOKEN_REFRESHES,
	    (const char *const[]){ p->provider, err == HD_OK ? "ok" : "failed" }, 1);
	if (err != HD_OK) {
		e->hold_until = now + p->hold_s * HD_USEC_PER_SEC;
		if (!e->failing)
			hd_log_warn("%s: no access token for app %" PRIu64 ": %s", p->provider,
			    app_id, why);
		e->failing = true;
		return err;
	}
	e->failing = false;
	e->hold_until = 0;
	*access = e->access;
	return HD_OK;
}

void
hd_oauth_drop(struct hd_oauth *c, uint64_t app_id)
{
	struct hd_oauth_entry *e = hd_oauth_find(c, app_id);

	if (e)
		hd_oauth_wipe(&e->access);
}
