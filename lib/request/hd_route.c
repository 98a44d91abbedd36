/*
 * Routing: a program's endpoint table matched against the request's method and path,
 * with 404 and 405 (and its Allow header) for misses.
 */
#include <stdio.h>
#include <string.h>

#include "hd_pipeline_steps.h"

/* Whether path is ep's path; a "{id}" segment matches one non-empty segment of at
 * most HD_PATH_ARG_MAX bytes, which *arg then points at (else NULL). */
bool
hd_path_match(const struct hd_endpoint *ep, const char *path, const char **arg)
{
	const char *brace = strstr(ep->path, "{id}");
	size_t plen = brace ? (size_t)(brace - ep->path) : strlen(ep->path);
	const char *rest = path + plen;

	*arg = NULL;
	if (brace == NULL)
		return strcmp(path, ep->path) == 0;
	if (strncmp(path, ep->path, plen) != 0 || *rest == '\0' || strchr(rest, '/') ||
	    strlen(rest) > HD_PATH_ARG_MAX)
		return false;
	*arg = rest;
	return true;
}

/* Finds the endpoint for the request; on a miss fills why with 404 or 405. */
const struct hd_endpoint *
hd_route(const struct hd_program *prog, struct hd_call *call)
{
	const struct hd_request *req = call->req;
	char allow[96] = "";
	size_t used = 0;
	bool path_known = false;

	for (size_t i = 0; i < prog->nendpoints; i++) {
		const struct hd_endpoint *ep = &prog->endpoints[i];
		const char *arg;
		int n;

		if (!hd_path_match(ep, req->path, &arg))
			continue;
		path_known = true;
		if (ep->method == req->method || (req->method == HD_HEAD && ep->method == HD_GET)) {
			if (arg)
				snprintf(call->path_arg, sizeof(call->path_arg), "%s", arg);
			return ep;
		}
		n = snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "",
		    hd_method_name(ep->method));
		if (n > 0 && (size_t)n < sizeof(allow) - used)
			used += (size_t)n;
	}
	if (path_known) {
		hd_answer_header(call, "Allow", allow);
		hd_refuse(&call->why, HD_P_METHOD, NULL, "method not allowed; allowed: %s", allow);
	} else
		hd_refuse(&call->why, HD_P_NOT_FOUND, NULL, "no such endpoint");
	return NULL;
}
