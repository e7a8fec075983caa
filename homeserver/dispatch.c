/* From an HTTP request to an endpoint handler: routing, CORS preflight,
 * JSON body parsing, authentication; and the answer helpers of api.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "homeserver/api.h"
#include "homeserver/auth.h"
#include "homeserver/jsonbody.h"
#include "homeserver/nonce.h"
#include "homeserver/query.h"
#include "homeserver/ratelimit.h"
#include "homeserver/uia.h"
#include "homeserver/store/store.h"

#define RATELIMIT_KEYS 4096

int api_add_routes(struct router *rt, const struct api_route *routes, size_t n)
{
	static const struct { unsigned flag; const char *prefix; } versions[] = {
		{ API_CLIENT_R0, "/_matrix/client/r0" },
		{ API_CLIENT_V3, "/_matrix/client/v3" },
		{ API_CLIENT_V1, "/_matrix/client/v1" },
	};
	char path[512];

	for (size_t i = 0; i < n; i++) {
		unsigned fl = routes[i].flags;
		if (!(fl & (API_CLIENT_R0 | API_CLIENT_V3 | API_CLIENT_V1))) {
			if (router_add(rt, routes[i].method, routes[i].path, (void *)&routes[i], fl) < 0)
				return -1;
			continue;
		}
		for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
			if (!(fl & versions[v].flag))
				continue;
			snprintf(path, sizeof(path), "%s%s", versions[v].prefix, routes[i].path);
			if (router_add(rt, routes[i].method, path, (void *)&routes[i], fl) < 0)
				return -1;
		}
	}
	return 0;
}

void api_reply(struct api_req *r, int status, json_t *body)
{
	json_decref(r->http->reply);
	r->http->reply = body ? body : json_object();
	r->http->status = status;
}

void api_error(struct api_req *r, int status, const char *errcode, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_reply(r, status, json_pack("{s:s,s:s}", "errcode", errcode, "error", msg));
}

void api_ratelimited(struct api_req *r, int64_t retry_after_ms)
{
	api_reply(r, 429, json_pack("{s:s,s:s,s:I}", "errcode", "M_LIMIT_EXCEEDED",
				    "error", "Too many requests", "retry_after_ms",
				    (json_int_t)retry_after_ms));
}

const char *api_param(const struct api_req *r, size_t i)
{
	return i < r->match.nparams ? r->match.params[i] : "";
}

int api_query_limit(struct api_req *r, long dflt, long max, long *out)
{
	char *s = http_query(r->http, "limit");
	enum query_int_rc rc = QUERY_INT_OK;

	if (s)
		rc = query_uint(s, max, out);
	else if (http_query_has(r->http, "limit"))
		rc = QUERY_INT_BAD; /* badly percent-encoded */
	else
		*out = dflt > max ? max : dflt;
	free(s);
	if (rc == QUERY_INT_NEGATIVE)
		api_error(r, 400, "M_INVALID_PARAM", "Query parameter limit must not be negative");
	else if (rc != QUERY_INT_OK)
		api_error(r, 400, "M_INVALID_PARAM", "Query parameter limit must be an integer");
	return rc == QUERY_INT_OK ? 0 : -1;
}

int api_opt_string(struct api_req *r, json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		api_error(r, 400, "M_BAD_JSON", "'%s' must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int api_req_string(struct api_req *r, json_t *obj, const char *key, const char **out)
{
	if (api_opt_string(r, obj, key, out) < 0)
		return -1;
	if (!*out) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing parameter: %s", key);
		return -1;
	}
	return 0;
}

int api_opt_bool(struct api_req *r, json_t *obj, const char *key, int dflt, int *out)
{
	json_t *v = json_object_get(obj, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		api_error(r, 400, "M_BAD_JSON", "'%s' must be a boolean", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int api_opt_object(struct api_req *r, json_t *obj, const char *key, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		api_error(r, 400, "M_BAD_JSON", "'%s' must be an object", key);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parses the body as a JSON object; answers and returns -1 when it is not. */
static int parse_body(struct api_req *r, int flags)
{
	static const char *msgs[] = { "", "Content not JSON.", "Content must be a JSON object.",
				      "Request body too large" };
	enum json_body_rc rc = json_body_parse(r->http->body, r->http->body_len,
					       r->hs->cfg->max_request_body, flags, &r->body);
	if (rc == JSON_BODY_OK)
		return 0;
	api_error(r, json_body_status(rc), json_body_errcode(rc), "%s", msgs[rc]);
	return -1;
}

size_t hs_body_limit(void *ctx, const char *method, const char *path)
{
	struct hs *hs = ctx;
	struct route_match m;
	size_t limit = hs->cfg->max_request_body;

	if (router_match(hs->router, method, path, &m) == ROUTE_FOUND) {
		const struct api_route *route = m.handler;
		if (route->flags & API_RAW_BODY)
			limit = hs->cfg->max_upload_size;
		route_match_free(&m);
	}
	return limit;
}

void hs_dispatch(void *ctx, struct http_request *rq)
{
	struct api_req r;
	const struct api_route *route;

	memset(&r, 0, sizeof(r));
	r.hs = ctx;
	r.http = rq;
	if (strcmp(rq->method, "OPTIONS") == 0) {
		/* CORS preflight: the HTTP layer adds the Allow-* headers. */
		api_reply(&r, 200, json_object());
		return;
	}
	/* HEAD is GET without the body, which libmicrohttpd leaves out. */
	switch (router_match(r.hs->router, strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method,
			     rq->path, &r.match)) {
	case ROUTE_FOUND:
		break;
	case ROUTE_BAD_METHOD:
		api_error(&r, 405, "M_UNRECOGNIZED", "Unrecognized request");
		return;
	case ROUTE_NOT_FOUND:
		api_error(&r, 404, "M_UNRECOGNIZED", "Unrecognized request");
		return;
	default:
		api_error(&r, 400, "M_INVALID_PARAM", "Badly encoded path");
		return;
	}
	route = r.match.handler;
	if ((route->flags & (API_JSON | API_JSON_OPTIONAL)) &&
	    parse_body(&r, (route->flags & API_JSON ? 0 : JSON_BODY_EMPTY_OK) |
			   (route->flags & API_JSON_NUL ? JSON_BODY_ALLOW_NUL : 0)) < 0)
		goto out;
	if ((route->flags & API_AUTH) && auth_requester(&r) < 0)
		goto out;
	route->fn(&r);
out:
	/* A suspended request is answered later by whoever resumes it (and
	 * may already have been, on another thread: do not touch its reply). */
	if (!rq->suspended && !rq->reply && !rq->raw_reply)
		api_error(&r, 500, "M_UNKNOWN", "Internal server error");
	requester_clear(&r.who);
	json_decref(r.body);
	route_match_free(&r.match);
}

static void release_regtoken(void *ctx, const char *token)
{
	struct hs *hs = ctx;
	store_regtoken_use_release(hs->store, token);
}

int hs_init(struct hs *hs, const struct hs_config *cfg, struct store *st)
{
	static const struct { const struct api_route *routes; const size_t *n; } groups[] = {
		{ api_versions_routes, &api_versions_nroutes },
		{ api_register_routes, &api_register_nroutes },
		{ api_login_routes, &api_login_nroutes },
		{ api_devices_routes, &api_devices_nroutes },
		{ api_account_routes, &api_account_nroutes },
		{ api_admin_routes, &api_admin_nroutes },
	};
	memset(hs, 0, sizeof(*hs));
	hs->cfg = cfg;
	hs->store = st;
	hs->pw.time_cost = cfg->argon2_time_cost;
	hs->pw.memory_kib = cfg->argon2_memory_kib;
	hs->pw.parallelism = cfg->argon2_parallelism;
	hs->router = router_new();
	hs->rl.login_ip = ratelimit_new(cfg->rc_login_address.per_second,
					cfg->rc_login_address.burst_count, RATELIMIT_KEYS);
	hs->rl.login_user = ratelimit_new(cfg->rc_login_account.per_second,
					  cfg->rc_login_account.burst_count, RATELIMIT_KEYS);
	hs->rl.failed_ip = ratelimit_new(cfg->rc_login_failed.per_second,
					 cfg->rc_login_failed.burst_count, RATELIMIT_KEYS);
	hs->rl.failed_user = ratelimit_new(cfg->rc_login_failed.per_second,
					   cfg->rc_login_failed.burst_count, RATELIMIT_KEYS);
	hs->rl.register_ip = ratelimit_new(cfg->rc_registration.per_second,
					   cfg->rc_registration.burst_count, RATELIMIT_KEYS);
	/* One last-seen write per token per five minutes, not per request. */
	hs->rl.touch = ratelimit_new(1.0 / 300, 1, RATELIMIT_KEYS);
	hs->uia = uia_new(release_regtoken, hs);
	hs->nonces = nonces_new();
	hs->dummy_hash = password_hash("not a password", &hs->pw);
	if (!hs->router || !hs->rl.login_ip || !hs->rl.login_user || !hs->rl.failed_ip ||
	    !hs->rl.failed_user || !hs->rl.register_ip || !hs->rl.touch || !hs->uia || !hs->nonces ||
	    !hs->dummy_hash)
		goto fail;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (api_add_routes(hs->router, groups[i].routes, *groups[i].n) < 0)
			goto fail;
	return 0;
fail:
	hs_free(hs);
	return -1;
}

void hs_free(struct hs *hs)
{
	router_free(hs->router);
	ratelimit_free(hs->rl.login_ip);
	ratelimit_free(hs->rl.login_user);
	ratelimit_free(hs->rl.failed_ip);
	ratelimit_free(hs->rl.failed_user);
	ratelimit_free(hs->rl.register_ip);
	ratelimit_free(hs->rl.touch);
	uia_free(hs->uia);
	nonces_free(hs->nonces);
	free(hs->dummy_hash);
	memset(hs, 0, sizeof(*hs));
}
