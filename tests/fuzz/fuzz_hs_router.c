/* Fuzzes scopd's request-path router and percent-decoder with arbitrary
 * paths and methods (the first line is the method, the rest the path). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "homeserver/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int h;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *tmpl[] = {
		"/_matrix/client/versions",
		"/_matrix/client/v3/login",
		"/_matrix/client/v3/devices/{deviceId}",
		"/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}",
		"/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}",
		"/_synapse/admin/v1/register",
	};
	struct router *r = router_new();
	struct route_match m;
	char *s = malloc(size + 1), *path, *nl, *d;

	if (!r || !s) {
		router_free(r);
		free(s);
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < sizeof(tmpl) / sizeof(tmpl[0]); i++) {
		router_add(r, "GET", tmpl[i], &h, 0);
		router_add(r, "PUT", tmpl[i], &h, 1);
	}
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		path = nl + 1;
	} else {
		path = s;
	}
	if (router_match(r, nl ? s : "GET", path, &m) == ROUTE_FOUND)
		route_match_free(&m);
	/* Templates from the input must be accepted or refused, never crash. */
	router_add(r, "GET", path, &h, 2);
	if (router_match(r, "GET", path, &m) == ROUTE_FOUND)
		route_match_free(&m);
	d = percent_decode((const char *)data, size, 1);
	free(d);
	d = percent_decode((const char *)data, size, 0);
	free(d);
	router_free(r);
	free(s);
	return 0;
}
