/* Read-only server-server endpoints.  See api_read.h. */
#include "federation/api_read.h"

static void fed_event_get(struct api_req *r, struct fed_service *fs, const char *origin)
{
	(void)fs;
	(void)origin;
	api_error(r, 404, "M_NOT_FOUND", "Unknown event");
}

const struct fed_read_route api_read_routes[] = {
	{ "GET", "/_matrix/federation/v1/event/{eventId}", fed_event_get, 0 },
};
const size_t api_read_nroutes = sizeof(api_read_routes) / sizeof(api_read_routes[0]);
