/* See read_query.h. */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "federation/read_query.h"
#include "homeserver/router.h"

int read_query_int(struct http_request *rq, const char *name, int64_t dflt, int64_t *out)
{
	char *s = http_query(rq, name);
	int rc = 0;

	*out = dflt;
	if (!s) {
		/* Absent, or present but badly percent-encoded. */
		if (rq->conn && MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name)) {
			*out = 0;
			return -1;
		}
		return 0;
	}
	if (read_parse_int(s, out) < 0) {
		*out = 0;
		rc = -1;
	}
	free(s);
	return rc;
}

struct collect {
	const char *name;
	json_t *out;
	size_t max;
	int fail;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct collect *c = cls;
	char *dec;
	(void)kind;
	if (c->fail || strcmp(key, c->name) != 0)
		return MHD_YES;
	if (!value || json_array_size(c->out) >= c->max ||
	    !(dec = percent_decode(value, strlen(value), 1))) {
		c->fail = 1;
		return MHD_YES;
	}
	if (json_array_append_new(c->out, json_string(dec)) < 0)
		c->fail = 1;
	free(dec);
	return MHD_YES;
}

json_t *read_query_all(struct http_request *rq, const char *name, size_t max)
{
	struct collect c = { name, json_array(), max, 0 };
	if (!c.out)
		return NULL;
	if (rq->conn)
		MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
	if (c.fail) {
		json_decref(c.out);
		return NULL;
	}
	return c.out;
}
