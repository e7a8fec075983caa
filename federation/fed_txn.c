/* The shape of an inbound transaction; see fed_txn.h. */
#include <stdio.h>
#include <string.h>

#include "federation/fed_txn.h"

int fed_txn_parse(const json_t *body, const char *auth_origin, struct fed_txn *out, char *err, size_t errlen)
{
	const json_t *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body)) {
		snprintf(err, errlen, "transaction is not an object");
		return -1;
	}
	out->origin = json_string_value(json_object_get(body, "origin"));
	if (!out->origin) {
		snprintf(err, errlen, "origin missing");
		return -1;
	}
	if (auth_origin && strcmp(out->origin, auth_origin) != 0) {
		snprintf(err, errlen, "origin does not match the authenticated server");
		return -1;
	}
	v = json_object_get(body, "origin_server_ts");
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "origin_server_ts missing or not an integer");
		return -1;
	}
	out->origin_server_ts = (int64_t)json_integer_value(v);
	out->pdus = json_object_get(body, "pdus");
	if (!json_is_array(out->pdus) || json_array_size(out->pdus) > FED_TXN_MAX_IN_PDUS) {
		snprintf(err, errlen, "pdus must be an array of at most %d", FED_TXN_MAX_IN_PDUS);
		return -1;
	}
	json_array_foreach(out->pdus, i, v)
		if (!json_is_object(v)) {
			snprintf(err, errlen, "pdus[%zu] is not an object", i);
			return -1;
		}
	out->edus = json_object_get(body, "edus");
	if (!out->edus || json_is_null(out->edus)) {
		out->edus = NULL;
		return 0;
	}
	if (!json_is_array(out->edus) || json_array_size(out->edus) > FED_TXN_MAX_IN_EDUS) {
		snprintf(err, errlen, "edus must be an array of at most %d", FED_TXN_MAX_IN_EDUS);
		return -1;
	}
	json_array_foreach(out->edus, i, v)
		if (!json_is_string(json_object_get(v, "edu_type")) || !json_is_object(json_object_get(v, "content"))) {
			snprintf(err, errlen, "edus[%zu] needs edu_type and content", i);
			return -1;
		}
	return 0;
}
