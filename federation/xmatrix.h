/* X-Matrix request authentication (server-server API, "Request
 * Authentication"): the Authorization header a server puts on each
 * federation request, signed with its Ed25519 key over
 *   {"method", "uri", "origin", "destination", "content"?}
 * in canonical JSON.
 *
 * The parser takes untrusted header text and never allocates; values that
 * do not fit the fixed fields are rejected, not truncated.
 */
#ifndef SCOP_XMATRIX_H
#define SCOP_XMATRIX_H

#include <jansson.h>

#include "common/buf.h"
#include "common/crypto.h"

enum xmatrix_status {
	XMATRIX_OK = 0,
	XMATRIX_MALFORMED,          /* not an X-Matrix header, or a bad or missing parameter */
	XMATRIX_WRONG_DESTINATION,  /* destination names another server */
	XMATRIX_BAD_SIGNATURE,      /* signature does not verify (or could not be computed) */
};

/* Server names are at most 255 bytes (spec grammar); key ids and
 * signatures are short, so larger values are treated as malformed. */
struct xmatrix_auth {
	char origin[256];
	char destination[256]; /* empty when the header had none (older senders) */
	char key_id[128];
	char sig[128];         /* unpadded base64, as sent */
};

/* Appends the complete header value ("X-Matrix origin=...") to out.
 * content is the request's JSON body or NULL when it has none; uri is the
 * path and query as sent (e.g. "/_matrix/federation/v1/send/123").
 * Returns 0, or -1 when signing fails or out runs out of room. */
int xmatrix_sign(const struct scop_ed25519 *key, const char *origin, const char *destination,
		 const char *method, const char *uri, const json_t *content, struct buf *out);

/* Parses one Authorization header value into auth. */
enum xmatrix_status xmatrix_parse(const char *header, struct xmatrix_auth *auth);

/* Checks a parsed header against the request as received by my_server_name,
 * with pub the origin's public key for auth->key_id (looked up by the
 * caller).  content is the parsed body or NULL. */
enum xmatrix_status xmatrix_verify(const struct xmatrix_auth *auth, const char *my_server_name,
				   const char *method, const char *uri, const json_t *content,
				   const unsigned char pub[32]);

const char *xmatrix_status_str(enum xmatrix_status st);

#endif
