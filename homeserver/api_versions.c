/* Discovery: GET /_matrix/client/versions and /.well-known/matrix/client. */
#include <stdio.h>
#include <string.h>

#include "homeserver/api.h"

static void versions(struct api_req *r)
{
	api_reply(r, 200, json_pack("{s:[sssssssssssssssss],s:{}}", "versions",
				    "r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0",
				    "r0.6.0", "r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5",
				    "v1.6", "v1.7", "v1.8", "v1.9",
				    "unstable_features"));
}

static void well_known(struct api_req *r)
{
	const struct hs_config *c = r->hs->cfg;
	char url[300];

	if (c->public_baseurl) {
		snprintf(url, sizeof(url), "%s", c->public_baseurl);
	} else if (c->nbinds) {
		int v6 = strchr(c->binds[0].addr, ':') != NULL;
		snprintf(url, sizeof(url), "http://%s%s%s:%d/", v6 ? "[" : "", c->binds[0].addr,
			 v6 ? "]" : "", c->binds[0].port);
	} else {
		api_error(r, 404, "M_NOT_FOUND", "No .well-known configured");
		return;
	}
	api_reply(r, 200, json_pack("{s:{s:s}}", "m.homeserver", "base_url", url));
}

const struct api_route api_versions_routes[] = {
	{ "GET", "/_matrix/client/versions", versions, 0 },
	{ "GET", "/.well-known/matrix/client", well_known, 0 },
};
const size_t api_versions_nroutes = sizeof(api_versions_routes) / sizeof(api_versions_routes[0]);
