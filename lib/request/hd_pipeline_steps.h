/*
 * The pipeline's own steps, each in a file of its own (hd_negotiate.c, hd_route.c,
 * hd_cors.c), called by hd_pipeline.c. Not for programs or dialects: they see
 * hd_endpoint.h only. Every step that refuses fills call->why (or call->format_why)
 * and leaves the answer to the pipeline.
 */
#ifndef HD_PIPELINE_STEPS_H
#define HD_PIPELINE_STEPS_H

#include "hd_endpoint.h"

/* Sets call->in_fmt and call->out_fmt; a bad Content-Type or ?format= goes into
 * call->format_why, to be answered after admission. */
void hd_negotiate(struct hd_call *call, const struct hd_dialect *d);

/* Whether path is ep's path; a "{id}" segment matches one non-empty segment of at
 * most HD_PATH_ARG_MAX bytes, which *arg then points at (else NULL). */
bool hd_path_match(const struct hd_endpoint *ep, const char *path, const char **arg);
/* Finds the endpoint for the request; on a miss fills call->why with 404 or 405. */
const struct hd_endpoint *hd_route(const struct hd_program *prog, struct hd_call *call);

/* Checks an actual request's Origin against the caller's app (preflight: against
 * any app) and adds the CORS answer headers when it is allowed. */
enum hd_problem hd_cors_check(struct hd_call *call, const char *origin, bool preflight);
/* Whether an Origin header may be echoed into an answer header (printable ASCII). */
bool hd_origin_safe(const char *origin);
/* Answers an OPTIONS preflight for one of prog's browser-callable paths. */
enum hd_problem hd_preflight(struct hd_call *call, const struct hd_program *prog);
/* Whether path belongs to one of prog's browser-callable endpoints. */
bool hd_is_cors_path(const struct hd_program *prog, const char *path);

#endif
