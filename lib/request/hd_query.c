#include <stdlib.h>
#include <string.h>

#include "hd_query.h"
#include "hd_text.h"

enum hd_problem
hd_query_validate(struct hd_call *call, const struct hd_fieldset *fs)
{
	char *value;
	json_object *doc;
	enum hd_problem p = HD_P_NONE;

	if (fs->n > HD_MAX_FIELDS || call->body != NULL)
		return hd_refuse(&call->why, HD_P_INTERNAL, NULL, "bad query declaration");
	if ((value = malloc(HD_QUERY_VALUE_MAX + 1)) == NULL)
		return hd_fail(call, HD_ERR_NOMEM);
	if ((doc = call->body = json_object_new_object()) == NULL) {
		p = hd_fail(call, HD_ERR_NOMEM);
		goto out;
	}
	for (size_t i = 0; i < fs->n; i++) {
		const char *name = fs->fields[i].name;
		int q = hd_request_query(call->req, name, value, HD_QUERY_VALUE_MAX + 1);
		json_object *s;

		if (q == 0)
			continue;
		if (q < 0 || !hd_utf8_valid(value, strlen(value))) {
			p = hd_refuse(&call->why, HD_P_BAD_PARAMETER, name,
			    "%s must be percent-encoded UTF-8 of at most %d bytes", name,
			    HD_QUERY_VALUE_MAX);
			goto out;
		}
		if ((s = json_object_new_string(value)) == NULL ||
		    json_object_object_add(doc, name, s) != 0) {
			json_object_put(s);
			p = hd_fail(call, HD_ERR_NOMEM);
			goto out;
		}
	}
	p = hd_fields_validate(fs, doc, true, call->values, &call->why);
out:
	free(value);
	return p;
}
