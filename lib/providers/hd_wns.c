/*
 * Windows Push Notification Services: toast notifications POSTed to a device's channel
 * URI with an OAuth access token (client credentials grant), following Microsoft's
 * "Push notification service request and response headers".
 *
 * The toast is built with libxml2's tree API, so every text is escaped by the
 * serializer, never pasted into markup:
 *   <toast launch="{"url":…,"data":{…}}">
 *     <visual><binding template="ToastGeneric">
 *       <text>title</text><text>subtitle</text><text>body</text>
 *       <image placement="appLogoOverride" src="icon"/><image src="image"/>
 *     </binding></visual>
 *     <actions><action content="title" arguments="id"/>…</actions>
 *   </toast>
 * Each piece appears only when set; launch is the JSON object of url and data, what
 * the app receives on activation. A toast shows at most 5 buttons: further actions are
 * left out. Sound names are left out: they do not map onto ms-winsoundevent names.
 * raw_wns is sent as it is after a check that it is well-formed XML without a DOCTYPE
 * whose root is <toast>.
 *
 * X-WNS-Tag (collapse_id) and X-WNS-Group (thread_id) are at most 16 characters; a
 * longer value or one with characters other than letters, digits, '-', '_' and '.'
 * is left out (the toast then replaces nothing). X-WNS-Priority: herald's high → 1,
 * normal → 2, low → 3 (4, "very low", is not used).
 *
 * Access tokens are cached per app in the provider state until 5 minutes before they
 * expire, and dropped when WNS answers 401.
 *
 * Memory: the state owns the token cache (one entry per app that sent to Windows);
 * it is not locked: one per engine thread. A built request owns its URL, headers and
 * body.
 *
 * Answers: 200 delivered, except X-WNS-Status "channelthrottled" (retried: the channel's
 * rate was exceeded) and "dropped" (retried while X-WNS-DeviceConnectionStatus says the
 * device is offline; rejected otherwise: the user turned these notifications off or
 * the client refused it, and WNS advises against resending); 401 retried with a fresh
 * token; 404 and 410 gone; 406 (throttle limit), 429 and 5xx retried honouring
 * Retry-After; 400, 403 (channel of another app), 405, 413 and anything else rejected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <libxml/chvalid.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "hd_oauth.h"
#include "hd_provider.h"
#include "hd_text.h"
#include "hd_time.h"

#define WNS_TOKEN_URL "https://login.live.com/accesstoken.srf"
#define WNS_URL_MAX 2048
#define WNS_PAYLOAD_MAX 5000
#define WNS_HEADER_VALUE_MAX 16     /* X-WNS-Tag, X-WNS-Group */
#define WNS_ACTIONS_MAX 5
#define WNS_DETAIL_MAX 120

#define WNS_XC(s) ((const xmlChar *)(s))

/* Microsoft's endpoint gives expires_in as a number or a decimal string, and may
 * leave it out. After a failed fetch the app's deliveries wait 10 s before the next
 * (blocking) fetch, so an unreachable endpoint cannot stall the worker per message. */
static const struct hd_oauth_policy wns_oauth = {
	.provider = "wns",
	.default_life_s = 3600,
	.life_as_text = true,
	.max_life_s = 30 * 86400,
	.hold_s = 10,
};

static enum hd_err
wns_init(struct hd_provider_ctx *ctx, void **state)
{
	struct hd_oauth *cache;
	enum hd_err err;

	(void)ctx;
	if ((err = hd_oauth_new(&wns_oauth, &cache)) == HD_OK)
		*state = cache;
	return err;
}

static void
wns_fini(void *state)
{
	hd_oauth_free(state);
}

/* A channel URI: https, a host, no userinfo, printable ASCII, at most WNS_URL_MAX
 * bytes. The host is not held to *.notify.windows.com: test and staging stand-ins
 * live elsewhere, and the engine refuses private addresses for device URLs. */
static bool
wns_channel_ok(const char *url)
{
	size_t len = strlen(url), host = sizeof("https://") - 1, end;

	if (len > WNS_URL_MAX || len <= host || strncasecmp(url, "https://", host) != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return false;
	for (end = host; end < len && !strchr("/?#", url[end]); end++)
		if (url[end] == '@')
			return false;
	return end > host && url[host] != ':';
}

/* X-WNS-Tag and X-WNS-Group values (see the header comment). */
static bool
wns_label_ok(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > WNS_HEADER_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* XML 1.0 §2.2: text with a character outside Char cannot be carried at all, escaped
 * or not. */
static bool
wns_xml_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	/* libxml2's decoder takes a stray continuation byte for a character start. */
	if (!hd_utf8_valid(s, left))
		return false;
	while (left > 0) {
		int len = left > 4 ? 4 : (int)left;
		int c = xmlGetUTF8Char(p, &len);

		if (c < 0 || !xmlIsCharQ(c))
			return false;
		p += len;
		left -= (size_t)len;
	}
	return true;
}

/* The launch argument: {"url": …, "data": {…}}, members present when set; *out is
 * NULL when there is neither (caller frees *out). *why is set when data is not a JSON
 * object. */
static enum hd_err
wns_launch(const struct hd_notification *n, char **out, const char **why)
{
	json_object *obj, *data = NULL;
	const char *text;
	enum hd_err err = HD_ERR_NOMEM;
	int rc;

	*out = NULL;
	if (n->url == NULL && n->data_json == NULL)
		return HD_OK;
	if ((obj = json_object_new_object()) == NULL)
		return HD_ERR_NOMEM;
	if (hd_json_put_str(obj, "url", n->url) != HD_OK)
		goto out;
	if (n->data_json) {
		if ((rc = hd_json_parse_object(n->data_json, strlen(n->data_json), &data)) != 0) {
			err = rc == 1 ? HD_OK : (enum hd_err)-rc;
			if (rc == 1)
				*why = "data is not a JSON object";
			goto out;
		}
		if (hd_json_put(obj, "data", data) != HD_OK)
			goto out;
	}
	text = hd_json_text(obj);
	if (text && (*out = strdup(text)) != NULL)
		err = HD_OK;
out:
	json_object_put(obj);
	return err;
}

/* A child element of parent holding text (escaped by the serializer); NULL when
 * parent is NULL or memory ran out, so calls chain and one check at the end finds a
 * failure. */
static xmlNodePtr
wns_child(xmlNodePtr parent, const char *name, const char *text)
{
	if (parent == NULL)
		return NULL;
	return xmlNewTextChild(parent, NULL, WNS_XC(name), WNS_XC(text));
}

static bool
wns_attr(xmlNodePtr node, const char *name, const char *value)
{
	return node && xmlNewProp(node, WNS_XC(name), WNS_XC(value)) != NULL;
}

/* Builds the toast of the header comment into *xml (xmlFree it). *why is set, and
 * nothing built, when the notification cannot become a toast. */
static enum hd_err
wns_toast(const struct hd_notification *n, xmlChar **xml, int *size, const char **why)
{
	const char *texts[] = { n->title, n->subtitle, n->body, n->icon, n->image, n->url };
	xmlDocPtr doc = NULL;
	xmlNodePtr toast, binding, actions, el;
	char *launch = NULL;
	size_t nactions = n->nactions < WNS_ACTIONS_MAX ? n->nactions : WNS_ACTIONS_MAX;
	bool ok = true;
	enum hd_err err;

	*xml = NULL;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i] && !wns_xml_text_ok(texts[i]))
			ok = false;
	for (size_t i = 0; i < nactions; i++)
		if ((n->actions[i].id && !wns_xml_text_ok(n->actions[i].id)) ||
		    (n->actions[i].title && !wns_xml_text_ok(n->actions[i].title)))
			ok = false;
	if ((err = wns_launch(n, &launch, why)) != HD_OK || *why)
		return err;
	if (!ok || (launch && !wns_xml_text_ok(launch))) {
		*why = "a text holds characters XML cannot carry";
		free(launch);
		return HD_OK;
	}
	err = HD_ERR_NOMEM;
	if ((doc = xmlNewDoc(WNS_XC("1.0"))) == NULL ||
	    (toast = xmlNewDocNode(doc, NULL, WNS_XC("toast"), NULL)) == NULL)
		goto out;
	xmlDocSetRootElement(doc, toast);
	if (launch && !wns_attr(toast, "launch", launch))
		goto out;
	binding = wns_child(wns_child(toast, "visual", NULL), "binding", NULL);
	ok = wns_attr(binding, "template", "ToastGeneric");
	if (n->title)
		ok = ok && wns_child(binding, "text", n->title);
	if (n->subtitle)
		ok = ok && wns_child(binding, "text", n->subtitle);
	if (n->body)
		ok = ok && wns_child(binding, "text", n->body);
	if (n->icon) {
		el = wns_child(binding, "image", NULL);
		ok = ok && wns_attr(el, "placement", "appLogoOverride") &&
		    wns_attr(el, "src", n->icon);
	}
	if (n->image)
		ok = ok && wns_attr(wns_child(binding, "image", NULL), "src", n->image);
	if (nactions > 0) {
		actions = wns_child(toast, "actions", NULL);
		for (size_t i = 0; ok && i < nactions; i++) {
			el = wns_child(actions, "action", NULL);
			ok = wns_attr(el, "content", n->actions[i].title ? n->actions[i].title : "") &&
			    wns_attr(el, "arguments", n->actions[i].id ? n->actions[i].id : "");
		}
	}
	if (!ok)
		goto out;
	xmlDocDumpMemoryEnc(doc, xml, size, "UTF-8");
	if (*xml != NULL)
		err = HD_OK;
out:
	xmlFreeDoc(doc);
	free(launch);
	return err;
}

static void
wns_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	xmlParserCtxtPtr pctx = ctx;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	*(bool *)pctx->_private = true;
	xmlStopParser(pctx);
}

/* raw_wns must be well-formed XML with a <toast> root. A DOCTYPE stops the parser at
 * once, so no entity is ever declared or expanded, and NONET keeps it offline. */
static enum hd_err
wns_raw_ok(const char *xml, size_t len, bool *ok)
{
	xmlParserCtxtPtr ctx;
	xmlNodePtr root;
	bool saw_dtd = false;

	*ok = false;
	if ((ctx = xmlCreateMemoryParserCtxt(xml, (int)len)) == NULL)
		return len == 0 ? HD_OK : HD_ERR_NOMEM;
	ctx->_private = &saw_dtd;
	ctx->sax->internalSubset = wns_refuse_dtd;
	ctx->sax->externalSubset = wns_refuse_dtd;
	xmlCtxtUseOptions(ctx, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlParseDocument(ctx);
	*ok = !saw_dtd && ctx->wellFormed && ctx->myDoc &&
	    (root = xmlDocGetRootElement(ctx->myDoc)) != NULL && root->ns == NULL &&
	    strcmp((const char *)root->name, "toast") == 0;
	xmlFreeDoc(ctx->myDoc);
	ctx->myDoc = NULL;
	xmlFreeParserCtxt(ctx);
	return HD_OK;
}

/* application/x-www-form-urlencoded: unreserved characters as they are, the rest as
 * %XX. */
static enum hd_err
wns_form_add(struct hd_buf *b, const char *name, const char *value)
{
	enum hd_err err;

	if ((err = hd_buf_puts(b, name)) != HD_OK || (err = hd_buf_puts(b, "=")) != HD_OK)
		return err;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			err = hd_buf_append(b, p, 1);
		else
			err = hd_buf_printf(b, "%%%02X", *p);
		if (err != HD_OK)
			return err;
	}
	return HD_OK;
}

/* The client credentials grant, with the app's id and secret. */
static enum hd_err
wns_grant_form(const void *arg, int64_t now, struct hd_buf *form)
{
	const struct hd_app_creds *creds = arg;
	enum hd_err err;

	(void)now;
	if ((err = hd_buf_puts(form, "grant_type=client_credentials&")) != HD_OK ||
	    (err = wns_form_add(form, "client_id", creds->wns_client_id)) != HD_OK ||
	    (err = hd_buf_puts(form, "&")) != HD_OK ||
	    (err = wns_form_add(form, "client_secret", creds->wns_client_secret)) != HD_OK)
		return err;
	return hd_buf_puts(form, "&scope=notify.windows.com");
}

static enum hd_err
wns_headers(const struct hd_notification *n, const char *access, struct curl_slist **h)
{
	int64_t ttl = hd_notification_ttl_left(n, hd_now_usec());
	int prio = n->priority >= 8 ? 1 : n->priority <= 3 ? 3 : 2;
	enum hd_err err;

	if ((err = hd_header_add(h, "Content-Type: text/xml")) != HD_OK ||
	    (err = hd_header_add(h, "X-WNS-Type: wns/toast")) != HD_OK ||
	    (err = hd_header_add(h, "Authorization: Bearer %s", access)) != HD_OK ||
	    (err = hd_header_add(h, "X-WNS-RequestForStatus: true")) != HD_OK ||
	    (err = hd_header_add(h, "X-WNS-Priority: %d", prio)) != HD_OK)
		return err;
	if (ttl >= 0 && (err = hd_header_add(h, "X-WNS-TTL: %lld", (long long)ttl)) != HD_OK)
		return err;
	if (wns_label_ok(n->collapse_id) &&
	    (err = hd_header_add(h, "X-WNS-Tag: %s", n->collapse_id)) != HD_OK)
		return err;
	if (wns_label_ok(n->thread_id) &&
	    (err = hd_header_add(h, "X-WNS-Group: %s", n->thread_id)) != HD_OK)
		return err;
	return HD_OK;
}

static int
wns_build(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_notification *n, const struct hd_device_target *d,
    struct hd_http_request *req, struct hd_outcome *refused)
{
	xmlChar *built = NULL;
	const char *payload, *why = NULL, *access;
	size_t len;
	int size = 0, rc;
	bool ok;
	enum hd_err err;

	memset(req, 0, sizeof(*req));
	hd_buf_init(&req->body, WNS_PAYLOAD_MAX);
	if (creds->wns_client_id == NULL || creds->wns_client_secret == NULL)
		return hd_outcome_refuse(refused, "no WNS credentials for this app");
	if (d->token == NULL || !wns_channel_ok(d->token))
		return hd_outcome_refuse(refused, "malformed WNS channel URI");
	if (n->raw_wns) {
		payload = n->raw_wns;
		len = strlen(payload);
	} else {
		if ((err = wns_toast(n, &built, &size, &why)) != HD_OK)
			return -(int)err;
		if (why)
			return hd_outcome_refuse(refused, "%s", why);
		payload = (const char *)built;
		len = (size_t)size;
	}
	if (len > WNS_PAYLOAD_MAX) {
		rc = hd_outcome_refuse(refused, "payload is %zu bytes; WNS allows %d", len,
		    WNS_PAYLOAD_MAX);
		goto out;
	}
	if (n->raw_wns) {
		if ((err = wns_raw_ok(payload, len, &ok)) != HD_OK)
			goto fail;
		if (!ok) {
			rc = hd_outcome_refuse(refused,
			    "raw WNS payload is not a well-formed <toast> XML document");
			goto out;
		}
	}
	if ((err = hd_oauth_token(state, ctx, creds->app_id, creds->wns_client_id,
	    ctx->cfg && ctx->cfg->wns_token_url ? ctx->cfg->wns_token_url : WNS_TOKEN_URL,
	    wns_grant_form, creds, hd_now_usec(), &access)) != HD_OK)
		goto fail;
	if ((req->url = strdup(d->token)) == NULL) {
		err = HD_ERR_NOMEM;
		goto fail;
	}
	req->device_url = true;
	if ((err = hd_buf_append(&req->body, payload, len)) != HD_OK ||
	    (err = wns_headers(n, access, &req->headers)) != HD_OK)
		goto fail;
	rc = HD_BUILD_READY;
	goto out;
fail:
	rc = -(int)err;
out:
	xmlFree(built);
	if (rc != HD_BUILD_READY)
		hd_http_request_clear(req);
	return rc;
}

/* Sets out->reason to what, then WNS's X-WNS-Error-Description when it gave one
 * (printable ASCII only, cut to fit). */
static void
wns_reason(struct hd_outcome *out, const struct hd_http_response *resp, const char *what)
{
	char desc[512], clean[WNS_DETAIL_MAX] = "";

	if (hd_http_header(resp, "X-WNS-Error-Description", desc, sizeof(desc)))
		hd_text_clean(clean, sizeof(clean), desc, strlen(desc));
	hd_outcome_explain(out, what, clean);
}

static void
wns_retry(struct hd_outcome *out, const struct hd_http_response *resp, const char *what)
{
	out->kind = HD_OUTCOME_RETRY;
	out->retry_at = hd_retry_after(resp, hd_now_usec());
	wns_reason(out, resp, what);
}

/* A 200 answer, by X-WNS-Status (received, dropped, channelthrottled). */
static void
wns_accepted(struct hd_outcome *out, const struct hd_http_response *resp)
{
	char status[32], conn[32];

	if (!hd_http_header(resp, "X-WNS-Status", status, sizeof(status)) ||
	    strcasecmp(status, "received") == 0) {
		out->kind = HD_OUTCOME_DELIVERED;
	} else if (strcasecmp(status, "channelthrottled") == 0) {
		wns_retry(out, resp, "WNS throttled this channel");
	} else if (strcasecmp(status, "dropped") == 0 &&
	    hd_http_header(resp, "X-WNS-DeviceConnectionStatus", conn, sizeof(conn)) &&
	    (strcasecmp(conn, "disconnected") == 0 || strcasecmp(conn, "tempdisconnected") == 0)) {
		wns_retry(out, resp, "WNS dropped the notification: the device is offline");
	} else if (strcasecmp(status, "dropped") == 0) {
		out->kind = HD_OUTCOME_REJECTED;
		wns_reason(out, resp, "WNS dropped the notification");
	} else {
		out->kind = HD_OUTCOME_DELIVERED;
	}
}

static void
wns_classify(struct hd_provider_ctx *ctx, void *state, const struct hd_app_creds *creds,
    const struct hd_http_response *resp, struct hd_outcome *out)
{
	char what[48];
	long s = resp->status;

	(void)ctx;
	if (!hd_outcome_begin(out, resp, "no answer from WNS"))
		return;
	if (s == 200) {
		wns_accepted(out, resp);
	} else if (s >= 201 && s < 300) {
		out->kind = HD_OUTCOME_DELIVERED;
	} else if (s == 401) {
		out->kind = HD_OUTCOME_RETRY;
		out->auth_expired = true;
		hd_oauth_drop(state, creds->app_id);
		wns_reason(out, resp, "WNS refused the access token");
	} else if (s == 404) {
		out->kind = HD_OUTCOME_GONE;
		wns_reason(out, resp, "channel URI not recognized");
	} else if (s == 410) {
		out->kind = HD_OUTCOME_GONE;
		wns_reason(out, resp, "channel expired");
	} else if (s == 406) {
		wns_retry(out, resp, "throttle limit exceeded");
	} else if (s == 429) {
		wns_retry(out, resp, "too many requests");
	} else if (s >= 500 && s < 600) {
		wns_retry(out, resp, "WNS error");
	} else {
		out->kind = HD_OUTCOME_REJECTED;
		snprintf(what, sizeof(what), "unexpected HTTP status %ld", s);
		wns_reason(out, resp, s == 400 ? "bad request" :
		    s == 403 ? "the channel belongs to another app" :
		    s == 405 ? "method not allowed" :
		    s == 413 ? "payload too large" : what);
	}
}

const struct hd_provider hd_provider_wns = {
	.name = "wns",
	.init = wns_init,
	.fini = wns_fini,
	.build = wns_build,
	.classify = wns_classify,
};
