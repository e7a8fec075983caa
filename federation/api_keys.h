/* The key endpoints of scopd (server-server API, "Retrieving server
 * keys"), unauthenticated, served from the service's keyring:
 *   GET  /_matrix/key/v2/server              our signed key document
 *   POST /_matrix/key/v2/query               notary query (may fetch keys)
 *   GET  /_matrix/key/v2/query/{serverName}  the same for one server
 * and the older forms with a key id that Synapse 1.67 still sends:
 *   GET  /_matrix/key/v2/server/{keyId}      the same document (id ignored)
 *   GET  /_matrix/key/v2/query/{serverName}/{keyId}  only that key
 * They are part of fed_service's route table (api_federation.h), which
 * hands each handler the service.
 */
#ifndef SCOP_FED_API_KEYS_H
#define SCOP_FED_API_KEYS_H

#include <stddef.h>

#include "federation/api_federation.h"

struct fed_keys_route {
	struct api_route route;   /* fn is replaced by the service's entry */
	fed_handler_fn fn;
};

extern const struct fed_keys_route api_keys_routes[];
extern const size_t api_keys_nroutes;

#endif
