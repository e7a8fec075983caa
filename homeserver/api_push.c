/* Push rule endpoints.  See api_push.h. */
#include "homeserver/api_push.h"

#include <jansson.h>

/* Clients (matrix-js-sdk) need the ruleset to exist before they sync. */
static void pushrules_get(struct api_req *r)
{
	api_reply(r, 200, json_pack("{s:{s:[],s:[],s:[],s:[],s:[]}}", "global", "override",
				    "content", "room", "sender", "underride"));
}

#define V (API_CLIENT_R0 | API_CLIENT_V3)
#define A (V | API_AUTH)
const struct api_route api_push_routes[] = {
	{ "GET", "/pushrules", pushrules_get, A },
};
const size_t api_push_nroutes = sizeof(api_push_routes) / sizeof(api_push_routes[0]);
