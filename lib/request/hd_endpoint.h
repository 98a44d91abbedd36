/*
 * Endpoints as data. A FastCGI program is a table of endpoints (method, path, dialect,
 * body fields, handler) handed to hd_serve(); the pipeline (hd_pipeline.c) does
 * everything that is the same for all of them, in the order of DESIGN.md §2:
 * route, bound the body, rate-limit, authenticate, parse, validate, run, answer.
 * A dialect fixes where keys come from, default formats and the error shape.
 */
#ifndef HD_ENDPOINT_H
#define HD_ENDPOINT_H

#include <stdint.h>
#include <json-c/json.h>

#include "hd_auth.h"
#include "hd_batch.h"
#include "hd_config.h"
#include "hd_db.h"
#include "hd_doc.h"
#include "hd_fields.h"
#include "hd_request.h"

#define HD_MAX_FIELDS 32
#define HD_PATH_ARG_MAX 64

struct hd_call;

struct hd_deliverer;

/* A request thread's state: the process's configuration, the thread's own database
 * connection, the process's send batcher (NULL: sends run on their own), and the
 * thread's deliverer for synchronous sends (programs with HD_EP_DELIVERS endpoints;
 * else NULL). */
struct hd_ctx {
	struct hd_config cfg;
	struct hd_db *db;
	struct hd_batch *batch;
	struct hd_deliverer *deliverer;
};

struct hd_dialect {
	const char *name;
	enum hd_format default_format;
	bool ignore_accept;    /* answers follow ?format=, then the request's format only */
	/* application/x-www-form-urlencoded counts as no Content-Type: the type that
	 * curl -d and most HTTP libraries send when the caller names none, as this
	 * dialect's clients were told they may. */
	bool form_type_is_unset;
	enum hd_key_kind key_kind;
	/* A valid herald key of another kind answers 403 (HD_P_KEY_KIND), not 401. */
	bool other_kind_forbidden;
	/* CGI name of the header carrying the key (NULL when auth_body finds it), and the
	 * header's name for people. */
	const char *key_header;
	const char *key_header_name;
	/* When set, the header carries "<scheme> <key>" (RFC 9110 §11.6.2, e.g.
	 * Authorization: Bearer, RFC 6750 §2.1); a header without it carries no key. */
	const char *key_scheme;
	/* Authenticates from the parsed, validated body (legacy). */
	enum hd_problem (*auth_body)(struct hd_call *call);
	/* The largest body the dialect's requests take (NULL: max_body_bytes); the
	 * audience dialect's 1000-element audiences need more than other sends. */
	size_t (*max_body)(const struct hd_config *cfg);
	/* Gives a refusal the dialect's own code, status and message (NULL: none), before
	 * error_doc renders it (the audience dialect's numeric codes). */
	void (*refine_refusal)(struct hd_refusal *why);
	/* Builds this dialect's error document for a refusal (caller owns it). */
	json_object *(*error_doc)(const struct hd_refusal *why);
	const char *error_root;        /* XML root element of errors */
	/* Errors are RFC 9457 problem documents: application/problem+json, or
	 * application/problem+xml with root element error_root in namespace error_ns. */
	bool problem_media;
	const char *error_ns;
};

#define HD_EP_PUBLIC      0x01u  /* no key (health) */
#define HD_EP_NO_RATE     0x02u  /* not rate limited (health checks) */
#define HD_EP_CORS        0x04u  /* browser-callable: CORS for the app's origins
                                     (needs a dialect with a header key) */
#define HD_EP_BATCHED     0x08u  /* a send: admission runs in the send's batch
                                     (hd_batch.h); not with HD_EP_CORS */
#define HD_EP_DELIVERS    0x10u  /* a send that may deliver before it answers
                                     (hd_deliver_call): the program runs send_threads
                                     request threads, each with a deliverer */

typedef enum hd_problem (*hd_handler)(struct hd_call *call);

struct hd_endpoint {
	enum hd_method method;
	const char *path;     /* exact, or ending in "{id}" for one path segment */
	const struct hd_dialect *dialect;
	const struct hd_fieldset *fields;  /* NULL: the endpoint takes no body */
	struct hd_xml_rules xml;
	const char *answer_root;           /* XML root element of answers */
	unsigned flags;
	hd_handler handler;
};

struct hd_program {
	const char *name;
	const struct hd_endpoint *endpoints;
	size_t nendpoints;
	const struct hd_dialect *dialect;  /* for answers before a route is known */
};

/* Everything a handler sees. Handlers answer with hd_answer() and return HD_P_NONE,
 * or return a problem after filling call->why (hd_refuse()). */
struct hd_call {
	struct hd_ctx *ctx;
	const struct hd_request *req;
	const struct hd_endpoint *ep;
	struct hd_principal who;
	json_object *body;                   /* parsed body, owned by the pipeline */
	struct hd_value values[HD_MAX_FIELDS];
	enum hd_format in_fmt, out_fmt;
	/* A bad Content-Type or ?format=, held back until after admission so that the
	 * documented order of checks holds (DESIGN.md §2). */
	struct hd_refusal format_why;
	/* Non-NULL while the request runs deferred: its admission waits for the send's
	 * batch (hd_send_call). Any refusal before that reruns the request in full. */
	struct hd_admission *defer;
	char path_arg[HD_PATH_ARG_MAX + 1];
	struct hd_refusal why;
	/* the answer */
	int status;
	json_object *answer;                 /* owned by the pipeline once set */
	struct hd_reply *reply;
};

/* Sets the answer: status and document (ownership passes to the pipeline). A NULL doc
 * answers with no body (204). */
void hd_answer(struct hd_call *call, int status, json_object *doc);
/* Sets the answer to the body the handler wrote into call->reply->body itself, for
 * answers that are neither JSON nor XML (the Prometheus page); content_type must be
 * static text. */
void hd_answer_text(struct hd_call *call, int status, const char *content_type);
/* Adds a header line to the answer (name and value must be trusted text). */
enum hd_err hd_answer_header(struct hd_call *call, const char *name, const char *value);
struct hd_send_result;
struct hd_target;
struct hd_message;
/* The refusal a send's result calls for (push disabled, quota spent, no user or no
 * device), or HD_P_NONE when it stored the message. no_user names the problem for an
 * unknown user: dialects that do not tell it apart pass HD_P_NO_DEVICES. */
enum hd_problem hd_refuse_send(struct hd_call *call, const struct hd_send_result *res,
    enum hd_problem no_user);
/* HD_P_NONE, or the 503 to answer when the queue backlog is over the configured limit
 * (nothing may be stored then). */
enum hd_problem hd_backlog_call(struct hd_call *call);
/* Sends m to t for the caller (hd_send), unless the queue backlog is over the
 * configured limit: then nothing is stored and the answer is 503. Returns
 * HD_P_NONE with res filled, or the refusal to answer (503 also for an unreachable
 * database). Deferred, it runs in the process's batch with the request's admission
 * (hd_batch_send_call), which fills call->who. */
enum hd_problem hd_send_call(struct hd_call *call, const struct hd_target *t,
    const struct hd_message *m, struct hd_send_result *res);
enum hd_problem hd_batch_send_call(struct hd_call *call, const struct hd_target *t,
    const struct hd_message *m, struct hd_send_result *res);
/* Delivers message_id's deliveries now for the caller (hd_deliver_message on the
 * thread's deliverer: the endpoint must have HD_EP_DELIVERS), then waits for those a
 * worker claimed first, all within the configured sync_wait_ms; what is unfinished
 * then is left to the worker. The outcomes are then in the deliveries' rows, read
 * once. collapse_id: as for hd_deliver_message (NULL: none). */
enum hd_err hd_deliver_call(struct hd_call *call, uint64_t message_id,
    const char *collapse_id);
/* Maps a library error to a refusal (503 for an unreachable database, else 500). */
enum hd_problem hd_fail(struct hd_call *call, enum hd_err err);

/* The body bound of dialect d under cfg (its max_body, else max_body_bytes). */
size_t hd_body_limit(const struct hd_dialect *d, const struct hd_config *cfg);

/* Runs the pipeline for one request and fills reply. */
void hd_pipeline_run(struct hd_ctx *ctx, const struct hd_program *prog,
    const struct hd_request *req, struct hd_reply *reply);

/* The FastCGI loop: loads the configuration, accepts requests until the server stops
 * it. Returns the process exit status. */
int hd_serve(const struct hd_program *prog);

/* Shared error shape of herald's native APIs (developer, devices, operations):
 * {"error":{"code":…,"message":…,"field":…}} under XML root "response". */
json_object *hd_native_error_doc(const struct hd_refusal *why);

/* json-c constructors that tolerate a NULL (allocation failure) object. */
void hd_json_set_str(json_object *obj, const char *key, const char *s, size_t len);
void hd_json_set_int(json_object *obj, const char *key, int64_t v);
void hd_json_set_bool(json_object *obj, const char *key, bool v);

#endif
