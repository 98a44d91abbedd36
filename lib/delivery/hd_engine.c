/* The delivery engine's transport over libcurl multi (see hd_engine.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hd_engine.h"
#include "hd_log.h"
#include "hd_time.h"

#define HD_HEADERS_MAX (16 * 1024)
/* Requests per HTTP/2 connection before curl opens another one to the host. */
#define HD_STREAMS_PER_CONNECTION 100

/* An address a provider_connect_to entry routes to: device URLs may reach it. */
struct hd_connect_target {
	int family;
	unsigned char addr[16];
	unsigned short port;
};

struct hd_xfer {
	struct hd_engine *engine;
	CURL *easy;
	struct hd_http_request req;
	struct hd_buf body;
	struct hd_buf headers;
	hd_engine_done_fn done;
	void *arg;
	bool blocked;
	char errbuf[CURL_ERROR_SIZE];
	struct hd_xfer *prev, *next;   /* in the active list, or next in the free list */
};

struct hd_engine {
	const struct hd_config *cfg;
	CURLM *multi;
	CURL *post_easy;
	struct curl_slist *connect_to;
	struct hd_connect_target *targets;
	size_t ntargets;
	struct hd_xfer *active;
	struct hd_xfer *free;
	size_t in_flight;
	struct hd_engine_stats stats;
};

static enum hd_err
hd_curl_global(void)
{
	static bool done;

	/* Every program calls this from its main thread before any other thread exists. */
	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return HD_ERR_INTERNAL;
		done = true;
	}
	return HD_OK;
}

/* Parses one "HOST:PORT:ADDR:PORT" entry's target; ADDR may be [v6]. */
static enum hd_err
hd_parse_target(const char *entry, size_t len, struct hd_connect_target *t)
{
	const char *p = entry, *end = entry + len, *a, *aend;
	char addr[64];
	unsigned long port = 0;
	int colons = 0;

	while (p < end && colons < 2)
		if (*p++ == ':')
			colons++;
	if (colons < 2 || p >= end)
		return HD_ERR_CONFIG;
	if (*p == '[') {
		a = p + 1;
		if ((aend = memchr(a, ']', (size_t)(end - a))) == NULL || aend + 1 >= end ||
		    aend[1] != ':')
			return HD_ERR_CONFIG;
		p = aend + 2;
	} else {
		a = p;
		if ((aend = memchr(a, ':', (size_t)(end - a))) == NULL)
			return HD_ERR_CONFIG;
		p = aend + 1;
	}
	if ((size_t)(aend - a) >= sizeof(addr) || p >= end)
		return HD_ERR_CONFIG;
	memcpy(addr, a, (size_t)(aend - a));
	addr[aend - a] = '\0';
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
			return HD_ERR_CONFIG;
	}
	if (port == 0)
		return HD_ERR_CONFIG;
	t->port = (unsigned short)port;
	if (inet_pton(AF_INET, addr, t->addr) == 1)
		t->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, t->addr) == 1)
		t->family = AF_INET6;
	else
		return HD_ERR_CONFIG;
	return HD_OK;
}

static enum hd_err
hd_engine_parse_connect_to(struct hd_engine *e, const char *spec)
{
	const char *p = spec;
	size_t n = 1;

	for (const char *q = spec; *q; q++)
		n += *q == ',';
	if ((e->targets = calloc(n, sizeof(*e->targets))) == NULL)
		return HD_ERR_NOMEM;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *entry;
		struct curl_slist *l;

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (hd_parse_target(p, len, &e->targets[e->ntargets]) != HD_OK) {
			hd_log_error("provider_connect_to: bad entry '%.*s' (want HOST:PORT:ADDR:PORT)",
			    (int)len, p);
			return HD_ERR_CONFIG;
		}
		if ((entry = strndup(p, len)) == NULL)
			return HD_ERR_NOMEM;
		l = curl_slist_append(e->connect_to, entry);
		free(entry);
		if (l == NULL)
			return HD_ERR_NOMEM;
		e->connect_to = l;
		e->ntargets++;
		p = comma ? comma + 1 : p + len;
	}
	return HD_OK;
}

enum hd_err
hd_engine_new(const struct hd_config *cfg, struct hd_engine **out)
{
	struct hd_engine *e;
	enum hd_err err;

	*out = NULL;
	if ((err = hd_curl_global()) != HD_OK)
		return err;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return HD_ERR_NOMEM;
	e->cfg = cfg;
	if ((e->multi = curl_multi_init()) == NULL) {
		err = HD_ERR_NOMEM;
		goto fail;
	}
	curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->worker_connections);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
	    (long)HD_STREAMS_PER_CONNECTION);
	if (cfg->provider_connect_to &&
	    (err = hd_engine_parse_connect_to(e, cfg->provider_connect_to)) != HD_OK)
		goto fail;
	*out = e;
	return HD_OK;
fail:
	hd_engine_free(e);
	return err;
}

static void
hd_xfer_free(struct hd_xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	hd_http_request_clear(&x->req);
	hd_buf_free(&x->body);
	hd_buf_free(&x->headers);
	free(x);
}

void
hd_engine_free(struct hd_engine *e)
{
	struct hd_xfer *x, *next;

	if (e == NULL)
		return;
	hd_engine_abort_all(e);
	for (x = e->free; x; x = next) {
		next = x->next;
		hd_xfer_free(x);
	}
	if (e->post_easy)
		curl_easy_cleanup(e->post_easy);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->connect_to);
	free(e->targets);
	free(e);
}

/* Keeps what fits of a provider's answer; the rest is read and dropped, since an
 * oversized answer still tells its status. */
static size_t
hd_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct hd_buf *b = arg;
	size_t len = size * n, room = b->max - b->len;

	hd_buf_append(b, data, len < room ? len : room);
	return len;
}

static size_t
hd_on_header(char *data, size_t size, size_t n, void *arg)
{
	struct hd_buf *b = arg;
	size_t len = size * n, room = b->max - b->len;

	/* Only the final answer's block counts (not a 100 Continue before it). */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
		hd_buf_reset(b);
	hd_buf_append(b, data, len < room ? len : room);
	return len;
}

static bool
hd_ipv4_public(const unsigned char *a)
{
	return !(a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64) || (a[0] == 169 && a[1] == 254) ||
	    (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 192 && a[1] == 0 && a[2] == 0) || (a[0] == 198 && (a[1] & 0xfe) == 18));
}

/* Public IPv6 unicast; the forms that embed an IPv4 address (mapped, compatible,
 * NAT64, 6to4) are judged by that address, since they lead to it. */
static bool
hd_ipv6_public(const unsigned char *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char zero[12];
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, zero, 12) == 0 ||
	    memcmp(a, nat64, 12) == 0)
		return hd_ipv4_public(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)                          /* 2002::/16 6to4 */
		return hd_ipv4_public(a + 2);
	if ((a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) ||  /* 64:ff9b::/32 */
	    (a[0] == 0x01 && a[1] == 0 && a[2] == 0 && a[3] == 0) ||         /* 100::/64 */
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8))  /* 2001:db8::/32 */
		return false;
	return !((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0x80) == 0x80) ||
	    a[0] == 0xff);
}

/* Whether a device URL may connect to addr (4 or 16 bytes) at port: a configured
 * provider_connect_to target, or a public address. */
static bool
hd_address_allowed(const struct hd_engine *e, int family, const unsigned char *addr,
    unsigned short port)
{
	for (size_t i = 0; i < e->ntargets; i++) {
		const struct hd_connect_target *t = &e->targets[i];

		if (t->family == family && t->port == port &&
		    memcmp(t->addr, addr, family == AF_INET ? 4 : 16) == 0)
			return true;
	}
	if (family == AF_INET)
		return hd_ipv4_public(addr);
	return family == AF_INET6 && hd_ipv6_public(addr);
}

static curl_socket_t
hd_on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct hd_xfer *x = arg;
	const struct sockaddr *sa = &a->addr;
	bool allowed = false;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		allowed = hd_address_allowed(x->engine, AF_INET,
		    (const unsigned char *)&in->sin_addr, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		allowed = hd_address_allowed(x->engine, AF_INET6,
		    (const unsigned char *)&in6->sin6_addr, ntohs(in6->sin6_port));
	}
	if (!allowed) {
		x->blocked = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* Runs before every request, on a new connection or a reused one: a device URL must
 * not ride a pooled connection that was opened to an address it may not reach. */
static int
hd_on_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct hd_xfer *x = arg;
	unsigned char addr[16];

	(void)local_ip;
	(void)local_port;
	if (primary_port > 0 && primary_port <= 65535) {
		if (inet_pton(AF_INET, primary_ip, addr) == 1 &&
		    hd_address_allowed(x->engine, AF_INET, addr, (unsigned short)primary_port))
			return CURL_PREREQFUNC_OK;
		if (inet_pton(AF_INET6, primary_ip, addr) == 1 &&
		    hd_address_allowed(x->engine, AF_INET6, addr, (unsigned short)primary_port))
			return CURL_PREREQFUNC_OK;
	}
	x->blocked = true;
	return CURL_PREREQFUNC_ABORT;
}

/* Options every provider request shares: HTTPS only, HTTP/2, bounded in time. */
static void
hd_easy_common(const struct hd_engine *e, CURL *c)
{
	long timeout = (long)e->cfg->delivery_timeout_s * 1000;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 5000 ? timeout : 5000L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	/* Provider traffic goes direct: a proxy from the environment would both leak it
	 * and defeat the address checks of device URLs. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (e->cfg->ca_bundle)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cfg->ca_bundle);
}

static enum hd_err
hd_xfer_get(struct hd_engine *e, struct hd_xfer **out)
{
	struct hd_xfer *x = e->free;

	if (x) {
		e->free = x->next;
		curl_easy_reset(x->easy);
	} else {
		if ((x = calloc(1, sizeof(*x))) == NULL)
			return HD_ERR_NOMEM;
		if ((x->easy = curl_easy_init()) == NULL) {
			free(x);
			return HD_ERR_NOMEM;
		}
		x->engine = e;
		hd_buf_init(&x->body, HD_RESPONSE_MAX);
		hd_buf_init(&x->headers, HD_HEADERS_MAX);
	}
	x->prev = x->next = NULL;
	x->blocked = false;
	x->errbuf[0] = '\0';
	*out = x;
	return HD_OK;
}

static void
hd_xfer_put(struct hd_engine *e, struct hd_xfer *x)
{
	hd_http_request_clear(&x->req);
	hd_buf_reset(&x->body);
	hd_buf_reset(&x->headers);
	x->next = e->free;
	e->free = x;
}

enum hd_err
hd_engine_submit(struct hd_engine *e, struct hd_http_request *req, hd_engine_done_fn done,
    void *arg)
{
	struct hd_xfer *x;
	struct curl_blob cert, key;
	CURL *c;
	enum hd_err err;

	if ((err = hd_xfer_get(e, &x)) != HD_OK) {
		hd_http_request_clear(req);
		return err;
	}
	x->req = *req;
	memset(req, 0, sizeof(*req));
	x->done = done;
	x->arg = arg;
	c = x->easy;
	hd_easy_common(e, c);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_URL, x->req.url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->req.headers);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->req.body.data ? x->req.body.data : "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req.body.len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hd_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hd_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x->headers);
	/* Wait for a connection that can multiplex rather than open a new one. */
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	if (x->req.device_url) {
		curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, hd_on_open_socket);
		curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, x);
		curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, hd_on_prereq);
		curl_easy_setopt(c, CURLOPT_PREREQDATA, x);
		if (e->connect_to)
			curl_easy_setopt(c, CURLOPT_CONNECT_TO, e->connect_to);
	}
	if (x->req.client_cert_pem && x->req.client_key_pem) {
		cert = (struct curl_blob){ (void *)(uintptr_t)x->req.client_cert_pem,
			strlen(x->req.client_cert_pem), CURL_BLOB_NOCOPY };
		key = (struct curl_blob){ (void *)(uintptr_t)x->req.client_key_pem,
			strlen(x->req.client_key_pem), CURL_BLOB_NOCOPY };
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
	}
	if (curl_multi_add_handle(e->multi, c) != CURLM_OK) {
		hd_xfer_put(e, x);
		return HD_ERR_INTERNAL;
	}
	x->next = e->active;
	if (e->active)
		e->active->prev = x;
	e->active = x;
	if (++e->in_flight > e->stats.max_in_flight)
		e->stats.max_in_flight = e->in_flight;
	return HD_OK;
}

/* Ends x: tells its owner, unlinks it and keeps it for reuse. */
static void
hd_xfer_finish(struct hd_engine *e, struct hd_xfer *x, CURLcode result)
{
	struct hd_http_response resp = { 0 };
	long status = 0, connects = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
	e->stats.connections += (uint64_t)connects;
	e->stats.requests++;
	curl_multi_remove_handle(e->multi, x->easy);
	if (x->prev)
		x->prev->next = x->next;
	else
		e->active = x->next;
	if (x->next)
		x->next->prev = x->prev;
	e->in_flight--;

	resp.status = result == CURLE_OK ? status : 0;
	if (result != CURLE_OK)
		resp.transport_error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(result);
	resp.blocked = x->blocked;
	resp.body = x->body.data ? x->body.data : "";
	resp.body_len = x->body.len;
	resp.headers = x->headers.data ? x->headers.data : "";
	resp.headers_len = x->headers.len;
	x->done(x->arg, &resp);
	hd_xfer_put(e, x);
}

static size_t
hd_engine_collect(struct hd_engine *e)
{
	CURLMsg *m;
	int left;
	size_t finished = 0;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		struct hd_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		hd_xfer_finish(e, x, m->data.result);
		finished++;
	}
	return finished;
}

enum hd_err
hd_engine_run(struct hd_engine *e, int timeout_ms)
{
	int64_t deadline = hd_now_usec() + (int64_t)timeout_ms * 1000;
	int running;

	for (;;) {
		int64_t left;

		if (curl_multi_perform(e->multi, &running) != CURLM_OK)
			return HD_ERR_INTERNAL;
		if (hd_engine_collect(e) > 0 || e->in_flight == 0)
			return HD_OK;
		left = (deadline - hd_now_usec()) / 1000;
		if (left <= 0)
			return HD_OK;
		if (curl_multi_poll(e->multi, NULL, 0, (int)left, NULL) != CURLM_OK)
			return HD_ERR_INTERNAL;
	}
}

void
hd_engine_abort_all(struct hd_engine *e)
{
	while (e->active)
		hd_xfer_finish(e, e->active, CURLE_ABORTED_BY_CALLBACK);
}

size_t
hd_engine_in_flight(const struct hd_engine *e)
{
	return e->in_flight;
}

void
hd_engine_stats(const struct hd_engine *e, struct hd_engine_stats *out)
{
	*out = e->stats;
}

enum hd_err
hd_engine_post(struct hd_provider_ctx *ctx, const char *url, const char *ctype,
    const char *body, size_t body_len, long *status, struct hd_buf *resp)
{
	struct hd_engine *e = ctx->post_arg;
	struct curl_slist *headers = NULL, *l;
	char ctline[128];
	CURLcode rc;

	*status = 0;
	if (e->post_easy == NULL && (e->post_easy = curl_easy_init()) == NULL)
		return HD_ERR_NOMEM;
	curl_easy_reset(e->post_easy);
	hd_easy_common(e, e->post_easy);
	snprintf(ctline, sizeof(ctline), "Content-Type: %s", ctype);
	if ((l = curl_slist_append(headers, ctline)) == NULL)
		return HD_ERR_NOMEM;
	headers = l;
	curl_easy_setopt(e->post_easy, CURLOPT_URL, url);
	curl_easy_setopt(e->post_easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e->post_easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->post_easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(e->post_easy, CURLOPT_WRITEFUNCTION, hd_on_body);
	curl_easy_setopt(e->post_easy, CURLOPT_WRITEDATA, resp);
	rc = curl_easy_perform(e->post_easy);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		hd_log_warn("token request to %s failed: %s", url, curl_easy_strerror(rc));
		return HD_OK;
	}
	curl_easy_getinfo(e->post_easy, CURLINFO_RESPONSE_CODE, status);
	return HD_OK;
}
