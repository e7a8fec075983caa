/* One outbound federation request, blocking: discovery through the
 * resolver, X-Matrix signed with our key, JSON in and out.  For queries
 * (profile, devices, make_join/send_join); transactions go through the
 * sender instead.
 *
 * Contract: everything is borrowed for the call.  Returns 0 when an answer
 * arrived, with its status and its body parsed into *reply (a new
 * reference, NULL when the body is not JSON); -1 with a reason in err on
 * transport failure or bad arguments.  Blocks up to timeout_ms (10 s when
 * 0): call it from a worker thread.
 */
#ifndef SCOP_FED_CLIENT_H
#define SCOP_FED_CLIENT_H

#include <stddef.h>
#include <jansson.h>

#include "common/crypto.h"
#include "federation/resolver.h"

struct fed_client_req {
	struct fed_resolver *resolver;
	const struct scop_ed25519 *key;
	const char *origin;        /* our server name */
	const char *destination;
	const char *method;
	const char *uri;           /* path and query, already percent-encoded */
	const json_t *content;     /* NULL: no body */
	long timeout_ms;
	size_t max_body;           /* 1 MiB when 0 */
};

int fed_client_request(const struct fed_client_req *rq, long *status, json_t **reply, char *err, size_t errlen);

#endif
