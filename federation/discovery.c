#include "federation/discovery.h"
#include "federation/server_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int fed_well_known_parse(const char *body, size_t len, char *out, size_t cap)
{
	json_t *j;
	const char *m;
	struct server_name sn;
	int rc = -1;

	if (len > FED_WELL_KNOWN_MAX)
		return -1;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	m = json_string_value(json_object_get(j, "m.server"));
	if (m && strlen(m) < cap && server_name_parse(m, &sn) == 0) {
		strcpy(out, m);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

static void set_target(struct fed_target *t, const char *host, uint16_t port,
		       const char *host_header, const char *tls_name)
{
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->port = port;
	snprintf(t->host_header, sizeof(t->host_header), "%s", host_header);
	snprintf(t->tls_name, sizeof(t->tls_name), "%s", tls_name);
}

/* The record to use first: lowest priority, then highest weight (a caller
 * that wants RFC 2782's weighted choice can re-order). */
static const struct fed_srv *best_srv(const struct fed_srv *recs, int n)
{
	const struct fed_srv *best = NULL;
	for (int i = 0; i < n; i++) {
		if (recs[i].target[0] == '\0' || strcmp(recs[i].target, ".") == 0)
			continue; /* "service not available" */
		if (!best || recs[i].priority < best->priority ||
		    (recs[i].priority == best->priority && recs[i].weight > best->weight))
			best = &recs[i];
	}
	return best;
}

/* Steps 3.2-3.4 and 4-6 share this: SRV under both service names, then
 * the default port.  Returns -1 only for a temporary DNS failure. */
static int srv_or_default(const struct fed_discovery_ops *ops, void *ctx, const char *host,
			  const char *host_header, struct fed_target *out, char *err, size_t errlen)
{
	static const char *services[] = { "_matrix-fed._tcp.", "_matrix._tcp." };
	struct fed_srv recs[16];
	char name[300];

	for (size_t s = 0; s < 2; s++) {
		int n;
		snprintf(name, sizeof(name), "%s%s", services[s], host);
		n = ops->lookup_srv ? ops->lookup_srv(ctx, name, recs, 16) : 0;
		if (n < 0) {
			snprintf(err, errlen, "SRV lookup of %s failed", name);
			return -1;
		}
		const struct fed_srv *b = best_srv(recs, n > 16 ? 16 : n);
		if (b) {
			set_target(out, b->target, b->port, host_header, host);
			out->via_srv = 1;
			return 0;
		}
	}
	set_target(out, host, FED_DEFAULT_PORT, host_header, host);
	return 0;
}

int fed_discover(const char *server_name, const struct fed_discovery_ops *ops, void *ctx,
		 struct fed_target *out, char *err, size_t errlen)
{
	struct server_name sn, dn;
	char delegated[256];
	char *body = NULL;
	size_t len = 0;
	int have_wk = 0;

	memset(out, 0, sizeof(*out));
	if (server_name_parse(server_name, &sn) < 0) {
		snprintf(err, errlen, "invalid server name");
		return -1;
	}
	if (sn.kind != SERVER_HOST_DNS || sn.port) {
		set_target(out, sn.host, sn.port ? sn.port : FED_DEFAULT_PORT, server_name, sn.host);
		return 0;
	}
	if (ops->fetch_well_known && ops->fetch_well_known(ctx, sn.host, &body, &len) == 0) {
		have_wk = body && fed_well_known_parse(body, len, delegated, sizeof(delegated)) == 0 &&
			  server_name_parse(delegated, &dn) == 0;
		free(body);
	}
	if (!have_wk)
		return srv_or_default(ops, ctx, sn.host, sn.host, out, err, errlen);
	out->via_well_known = 1;
	if (dn.kind != SERVER_HOST_DNS || dn.port) {
		set_target(out, dn.host, dn.port ? dn.port : FED_DEFAULT_PORT, delegated, dn.host);
		return 0;
	}
	if (srv_or_default(ops, ctx, dn.host, dn.host, out, err, errlen) < 0)
		return -1;
	out->via_well_known = 1;
	return 0;
}
