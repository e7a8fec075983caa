/* Server signing-key documents (server-server API, "Retrieving server
 * keys"): the self-signed answer to GET /_matrix/key/v2/server, and the
 * checks a fetched document (direct, or relayed by a notary through
 * /_matrix/key/v2/query) must pass before its keys are trusted.
 *
 * No I/O here: fetching and caching are the caller's.
 */
#ifndef SCOP_SERVER_KEYS_H
#define SCOP_SERVER_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/crypto.h"

/* An old key that is no longer used for signing but still verifies events
 * signed before expired_ts. */
struct server_old_key {
	const char *key_id;
	unsigned char pub[32];
	int64_t expired_ts;
};

/* Returns a new reference to the signed document for server_name with the
 * current key and the given old keys (n_old may be 0), or NULL on failure. */
json_t *server_keys_build(const char *server_name, const struct scop_ed25519 *key,
			  int64_t valid_until_ts, const struct server_old_key *old, size_t n_old);

/* A key taken from a verified document. */
struct server_key {
	char key_id[64];
	unsigned char pub[32];
	int64_t valid_until_ts; /* for current keys: the document's valid_until_ts */
	int64_t expired_ts;     /* for old keys; 0 for current keys */
	int old;
};

/* Checks doc as the key document of expected_server: field types,
 * server_name, every key decodes to 32 bytes, and it carries at least one
 * signature by expected_server, each made by one of its own verify_keys and
 * valid.  When notary is not NULL the document must also carry a valid
 * signature by notary with notary_key_id/notary_pub.
 *
 * On success fills keys[0..*count) (at most max; extra keys are an error)
 * and returns 0; otherwise -1 with a one-line reason in err. */
int server_keys_verify(const json_t *doc, const char *expected_server,
		       const char *notary, const char *notary_key_id, const unsigned char *notary_pub,
		       struct server_key *keys, size_t max, size_t *count, char *err, size_t errlen);

#endif
