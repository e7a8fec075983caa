/* Inbound federation transactions (PUT /_matrix/federation/v1/send/{txnId}):
 * the body's shape, checked before any PDU is looked at.
 *
 * Contract: pure; the parsed struct borrows from body.  0, or -1 with a
 * reason (the caller answers 400 M_BAD_JSON).
 */
#ifndef SCOP_FED_TXN_H
#define SCOP_FED_TXN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define FED_TXN_MAX_IN_PDUS 50
#define FED_TXN_MAX_IN_EDUS 100

struct fed_txn {
	const char *origin;
	int64_t origin_server_ts;
	const json_t *pdus;   /* array of objects (may be empty) */
	const json_t *edus;   /* array of {edu_type, content}, or NULL when absent */
};

/* auth_origin is the server the X-Matrix header authenticated: a body
 * claiming another origin is refused. */
int fed_txn_parse(const json_t *body, const char *auth_origin, struct fed_txn *out, char *err, size_t errlen);

#endif
