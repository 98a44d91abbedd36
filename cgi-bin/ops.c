/*
 * Operations (native API): GET /health says whether this process and the database
 * are well; GET /metrics is the Prometheus page (docs/metrics.md): the counters every
 * FastCGI process of the host shares, and the queue read at scrape time. Neither
 * needs a key nor is rate limited, so load balancers and Prometheus can poll them
 * as they usually do; the web server's access rules keep /metrics to the scraper.
 */
#include "hd_endpoint.h"
#include "hd_metrics_http.h"
#include "hd_metrics_text.h"

static enum hd_problem
health(struct hd_call *call)
{
	json_object *doc = json_object_new_object();
	bool db_ok = hd_db_check(call->ctx->db) == HD_OK;

	if (doc == NULL)
		return hd_fail(call, HD_ERR_NOMEM);
	hd_json_set_str(doc, "status", db_ok ? "ok" : "unavailable", db_ok ? 2 : 11);
	hd_json_set_str(doc, "database", db_ok ? "ok" : "unreachable", db_ok ? 2 : 11);
	if (!db_ok)
		hd_answer_header(call, "Retry-After", "1");
	hd_answer(call, db_ok ? 200 : 503, doc);
	return HD_P_NONE;
}

static enum hd_problem
metrics(struct hd_call *call)
{
	enum hd_err err = hd_metrics_http_page(call->ctx->db, &call->reply->body);

	if (err != HD_OK) {
		hd_buf_reset(&call->reply->body);
		return hd_fail(call, err);
	}
	hd_answer_text(call, 200, HD_METRICS_CONTENT_TYPE);
	return HD_P_NONE;
}

static const struct hd_dialect native = {
	.name = "ops",
	.default_format = HD_FMT_JSON,
	.error_doc = hd_native_error_doc,
	.error_root = "response",
};

static const struct hd_endpoint endpoints[] = {
	{ HD_GET, "/health", &native, NULL, { NULL, false }, "health",
	  HD_EP_PUBLIC | HD_EP_NO_RATE, health },
	{ HD_GET, "/metrics", &native, NULL, { NULL, false }, NULL,
	  HD_EP_PUBLIC | HD_EP_NO_RATE, metrics },
};

int
main(void)
{
	static const struct hd_program prog = { "herald-ops", endpoints,
		sizeof(endpoints) / sizeof(endpoints[0]), &native };

	return hd_serve(&prog);
}
