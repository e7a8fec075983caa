/* /_matrix/key/v2/: thin adapters from HTTP to keyring.h's handlers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "federation/api_keys.h"
#include "federation/keyring.h"

#define KEYS_MAX_QUERY 64

static void key_server(struct api_req *r, struct fed_service *fs, const char *origin)
{
	json_t *doc = keyring_handle_server(fs->keyring);
	(void)origin;
	if (!doc)
		api_error(r, 500, "M_UNKNOWN", "Cannot sign the key document");
	else
		api_reply(r, 200, doc);
}

static void answer_query(struct api_req *r, struct fed_service *fs, const struct keyring_query_item *items,
			 size_t n)
{
	json_t *out = keyring_handle_query(fs->keyring, items, n);
	if (!out)
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
	else
		api_reply(r, 200, out);
}

static void key_query_post(struct api_req *r, struct fed_service *fs, const char *origin)
{
	struct keyring_query_item *items = calloc(KEYS_MAX_QUERY, sizeof(*items));
	size_t n = 0;
	char err[256];

	(void)origin;
	if (!items) {
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		return;
	}
	err[0] = '\0';
	if (keyring_query_parse(r->body, items, KEYS_MAX_QUERY, &n, err, sizeof(err)) < 0)
		api_error(r, 400, "M_BAD_JSON", "%s", err[0] ? err : "Bad query");
	else
		answer_query(r, fs, items, n);
	free(items);
}

/* GET /_matrix/key/v2/query/{serverName}[/{keyId}]: the key id form is
 * the spec's older one, still sent by Synapse before 1.7x. */
static void key_query_get(struct api_req *r, struct fed_service *fs, const char *origin)
{
	struct keyring_query_item item;
	const char *server = api_param(r, 0), *key_id = api_param(r, 1);
	char *min = http_query(r->http, "minimum_valid_until_ts"), *end = NULL;

	(void)origin;
	memset(&item, 0, sizeof(item));
	if (strlen(server) >= sizeof(item.server)) {
		api_error(r, 400, "M_INVALID_PARAM", "Server name too long");
		goto out;
	}
	memcpy(item.server, server, strlen(server) + 1);
	if (strlen(key_id) >= sizeof(item.key_id)) {
		api_error(r, 400, "M_INVALID_PARAM", "Key ID too long");
		goto out;
	}
	memcpy(item.key_id, key_id, strlen(key_id) + 1);
	if (min) {
		errno = 0;
		long long v = strtoll(min, &end, 10);
		if (errno || end == min || *end || v < 0) {
			api_error(r, 400, "M_INVALID_PARAM", "Bad minimum_valid_until_ts");
			goto out;
		}
		item.min_valid_until_ts = v;
	}
	answer_query(r, fs, &item, 1);
out:
	free(min);
}

const struct fed_keys_route api_keys_routes[] = {
	{ { "GET", "/_matrix/key/v2/server", NULL, 0 }, key_server },
	/* The older form with a key id, which Synapse up to 1.7x still asks
	 * for; the spec says the id is ignored and all keys returned. */
	{ { "GET", "/_matrix/key/v2/server/{keyId}", NULL, 0 }, key_server },
	{ { "POST", "/_matrix/key/v2/query", NULL, API_JSON }, key_query_post },
	{ { "GET", "/_matrix/key/v2/query/{serverName}", NULL, 0 }, key_query_get },
	{ { "GET", "/_matrix/key/v2/query/{serverName}/{keyId}", NULL, 0 }, key_query_get },
};
const size_t api_keys_nroutes = sizeof(api_keys_routes) / sizeof(api_keys_routes[0]);
