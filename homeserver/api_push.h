/* Push rules (client-server API, "Push Rules"): the endpoints under
 * /_matrix/client/v3/pushrules/.  Mounted by hs_rooms_start(). */
#ifndef SCOP_HS_API_PUSH_H
#define SCOP_HS_API_PUSH_H

#include <stddef.h>

#include "homeserver/api.h"

extern const struct api_route api_push_routes[];
extern const size_t api_push_nroutes;

#endif
