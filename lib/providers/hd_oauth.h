/*
 * OAuth 2.0 access tokens for the providers that need one (FCM, WNS), cached per app.
 * A token is fetched from the provider's token endpoint through ctx->post (the
 * provider makes the request form), read from the answer's {"access_token",
 * "token_type", "expires_in"} (RFC 6749 §5.1), checked to be an RFC 6750 b64token
 * so it is safe in a header, and reused until five minutes before it expires (half
 * its life when it lives ten minutes or less). A failed fetch is logged once until
 * one succeeds, never with the request, which holds the secret.
 *
 * Memory: the cache owns every token (wiped when freed) and a copy of each account
 * name; hd_oauth_token's *access stays valid until the next call on the cache. The
 * cache is not locked: one per engine thread.
 */
#ifndef HD_OAUTH_H
#define HD_OAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "hd_buf.h"
#include "hd_error.h"
#include "hd_provider.h"

/* What differs between token endpoints. */
struct hd_oauth_policy {
	const char *provider;     /* names it in logs: "fcm", "wns" */
	int64_t default_life_s;   /* lifetime when the answer has no expires_in; 0: the
	                             answer must have one */
	bool life_as_text;        /* expires_in may also come as a decimal string */
	int64_t max_life_s;       /* a longer expires_in is not sane */
	int64_t hold_s;           /* after a failed fetch, fail at once this long */
};

struct hd_oauth;

/* Writes the token request's form (application/x-www-form-urlencoded) into form. */
typedef enum hd_err (*hd_oauth_form_fn)(const void *arg, int64_t now, struct hd_buf *form);

/* A new, empty cache that follows policy (borrowed: it must outlive the cache). */
enum hd_err hd_oauth_new(const struct hd_oauth_policy *policy, struct hd_oauth **out);
void hd_oauth_free(struct hd_oauth *c);

/* The access token of app_id for account (the client the token belongs to: a token
 * of another account is not reused), now in usec: cached, or fetched at url with the
 * form that form_fn writes. HD_ERR_IO when the endpoint refused or gave no usable
 * token, or when a fetch for the app failed less than hold_s ago; the post's own
 * error when nothing was answered. */
enum hd_err hd_oauth_token(struct hd_oauth *c, struct hd_provider_ctx *ctx, uint64_t app_id,
    const char *account, const char *url, hd_oauth_form_fn form_fn, const void *form_arg,
    int64_t now, const char **access);

/* Forgets app_id's token, after the provider refused it; the next call fetches one. */
void hd_oauth_drop(struct hd_oauth *c, uint64_t app_id);

#endif
