/* A signed federation request over httpc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/httpc.h"
#include "federation/discovery.h"
#include "federation/fed_client.h"
#include "federation/xmatrix.h"

int fed_client_request(const struct fed_client_req *rq, long *status, json_t **reply, char *err, size_t errlen)
{
	struct fed_target t;
	struct fed_route route;
	struct buf auth;
	struct httpc_response resp;
	char *body = NULL;
	int rc = -1;

	*reply = NULL;
	*status = 0;
	if (!rq->uri || rq->uri[0] != '/') {
		snprintf(err, errlen, "bad request URI");
		return -1;
	}
	if (fed_resolver_resolve(rq->resolver, rq->destination, &t, err, errlen) != 0)
		return -1;
	if (fed_resolver_route(rq->resolver, rq->destination, &t, rq->uri, &route) != 0) {
		snprintf(err, errlen, "URL too long");
		return -1;
	}
	buf_init(&auth, 4096);
	if (buf_puts(&auth, "Authorization: ") < 0 ||
	    xmatrix_sign(rq->key, rq->origin, rq->destination, rq->method, rq->uri, rq->content, &auth) < 0) {
		snprintf(err, errlen, "cannot sign the request");
		buf_free(&auth);
		return -1;
	}
	if (rq->content && !(body = json_dumps(rq->content, JSON_COMPACT))) {
		snprintf(err, errlen, "out of memory");
		buf_free(&auth);
		return -1;
	}
	const char *headers[] = { route.host_header, auth.data, "Content-Type: application/json", NULL };
	struct httpc_request req = {
		.method = rq->method, .headers = headers, .body = body, .body_len = body ? strlen(body) : 0,
		.timeout_ms = rq->timeout_ms ? rq->timeout_ms : 10000, .max_body = rq->max_body,
	};
	fed_route_apply(&route, &req);
	if (httpc_request(&req, &resp) != HTTPC_OK) {
		snprintf(err, errlen, "%s: %s", rq->destination, resp.err);
	} else {
		*status = resp.status;
		/* NUL allowed: a send_join answer may hold events carrying \u0000
		 * (see API_JSON_NUL). */
		*reply = json_loadb(resp.body.data, resp.body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
		rc = 0;
	}
	httpc_response_free(&resp);
	free(body);
	explicit_bzero(auth.data, auth.len);
	buf_free(&auth);
	return rc;
}
