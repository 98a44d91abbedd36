/*
 * Query parameters as declared fields. An endpoint that takes parameters in its URL
 * (?status=active&limit=50) declares them like body fields (hd_fields.h), and they
 * are validated the way the text of an XML body is: integers from their digits,
 * enums by name, strings by length. Parameters nobody declared are ignored (format=
 * belongs to the pipeline).
 */
#ifndef HD_QUERY_H
#define HD_QUERY_H

#include "hd_endpoint.h"

/* Longest value of a declared parameter, percent-decoded. */
#define HD_QUERY_VALUE_MAX 1024

/* Validates the request's parameters named in fs into call->values (fs->n at most
 * HD_MAX_FIELDS). The values borrow from a document the pipeline frees with the
 * call (call->body, which must be unused: the endpoint takes no body). Returns
 * HD_P_NONE, or the problem with call->why filled (HD_P_BAD_PARAMETER for a value
 * that is not percent-encoded UTF-8 or is too long). */
enum hd_problem hd_query_validate(struct hd_call *call, const struct hd_fieldset *fs);

#endif
