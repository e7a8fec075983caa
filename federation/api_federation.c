/* The federation service of scopd: options, context, X-Matrix wrapper and
 * the /_matrix/federation/ endpoints that need only the account store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/yamljson.h"
#include "federation/api_federation.h"
#include "federation/api_keys.h"
#include "federation/api_read.h"
#include "federation/api_txn.h"
#include "federation/edu.h"
#include "federation/fed_client.h"
#include "federation/fed_join.h"
#include "federation/keyring.h"
#include "federation/resolver.h"
#include "federation/sender.h"
#include "homeserver/events/event.h"
#include "homeserver/events/event_sign.h"
#include "homeserver/rooms.h"
#include "homeserver/store/store.h"
#include "homeserver/store/store_rooms.h"

#define FED_MAX_LIST 64
#define FED_CATCHALL_DEPTH 8

static void set_err(char *err, size_t errlen, const char *msg, const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
}

static void free_list(char **l)
{
	if (!l)
		return;
	for (char **p = l; *p; p++)
		free(*p);
	free(l);
}

/* A YAML list of strings (absent: an empty list). */
static int string_list(const json_t *root, const char *key, char ***out, char *err, size_t errlen)
{
	const json_t *a = json_object_get(root, key), *v;
	size_t i, n = 0;

	*out = NULL;
	if (a && !json_is_null(a) && !json_is_array(a)) {
		set_err(err, errlen, key, "must be a list");
		return -1;
	}
	if (a && json_is_array(a))
		n = json_array_size(a);
	if (n > FED_MAX_LIST) {
		set_err(err, errlen, key, "too many entries");
		return -1;
	}
	*out = calloc(n + 1, sizeof(char *));
	if (!*out)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !((*out)[i] = strdup(json_string_value(v)))) {
			set_err(err, errlen, key, "entries must be strings");
			free_list(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

static int opt_string(const json_t *root, const char *key, char **out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		set_err(err, errlen, key, "must be a string");
		return -1;
	}
	return (*out = strdup(json_string_value(v))) ? 0 : -1;
}

/* A positive number of milliseconds (an integer, or a string of digits as
 * some YAML loaders give); absent: 0. */
static int opt_ms(const json_t *root, const char *key, long *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, key);
	char *end = NULL;
	long long n;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v) && json_string_value(v)[0])
		n = strtoll(json_string_value(v), &end, 10);
	else
		n = -1;
	if ((end && *end) || n <= 0 || n > 86400000LL * 7) {
		set_err(err, errlen, key, "must be a positive number of milliseconds (at most a week)");
		return -1;
	}
	*out = (long)n;
	return 0;
}

/* trusted_key_servers: one notary entry per (server, key). */
static int parse_notaries(const json_t *root, struct fed_options *o, char *err, size_t errlen)
{
	const json_t *a = json_object_get(root, "trusted_key_servers"), *s, *vk, *pub;
	const char *kid;
	size_t i, cap = 0, nn = 0;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > FED_MAX_LIST) {
		set_err(err, errlen, "trusted_key_servers", "must be a list");
		return -1;
	}
	json_array_foreach(a, i, s) {
		vk = json_object_get(s, "verify_keys");
		if (!json_is_string(json_object_get(s, "server_name")) || !json_is_object(vk)) {
			set_err(err, errlen, "trusted_key_servers",
				"each entry needs server_name and verify_keys (scopd checks notary signatures)");
			return -1;
		}
		cap += json_object_size(vk);
	}
	if (cap > FED_MAX_LIST) {
		set_err(err, errlen, "trusted_key_servers", "too many keys");
		return -1;
	}
	o->notaries = calloc(cap + 1, sizeof(*o->notaries));
	o->notary_names = calloc(2 * cap + 1, sizeof(char *));
	if (!o->notaries || !o->notary_names)
		return -1;
	json_array_foreach(a, i, s) {
		vk = json_object_get(s, "verify_keys");
		json_object_foreach((json_t *)vk, kid, pub) {
			struct keyring_notary *n = &o->notaries[o->n_notaries];
			unsigned char raw[64];
			long len = json_is_string(pub) ? base64_decode(json_string_value(pub),
								      strlen(json_string_value(pub)), raw,
								      sizeof(raw), BASE64_PAD_OPTIONAL) : -1;
			if (len != 32 || strlen(json_string_value(pub)) > 80) {
				set_err(err, errlen, "trusted_key_servers", "a verify key is not 32 bytes of base64");
				return -1;
			}
			memcpy(n->pub, raw, 32);
			o->notary_names[nn] = strdup(json_string_value(json_object_get(s, "server_name")));
			o->notary_names[nn + 1] = strdup(kid);
			if (!o->notary_names[nn] || !o->notary_names[nn + 1])
				return -1;
			n->server_name = o->notary_names[nn];
			n->key_id = o->notary_names[nn + 1];
			nn += 2;
			o->n_notaries++;
		}
	}
	return 0;
}

int fed_options_parse(const json_t *root, struct fed_options *opt, char *err, size_t errlen)
{
	memset(opt, 0, sizeof(*opt));
	if (err && errlen)
		err[0] = '\0';
	if (!json_is_object(root)) {
		set_err(err, errlen, "config", "not a mapping");
		return -1;
	}
	if (string_list(root, "federation_certificate_verification_whitelist", &opt->no_verify, err, errlen) < 0 ||
	    string_list(root, "federation_address_overrides", &opt->overrides, err, errlen) < 0 ||
	    opt_string(root, "federation_ca_file", &opt->ca_file, err, errlen) < 0 ||
	    opt_string(root, "federation_dns_forwarder", &opt->dns_forwarder, err, errlen) < 0 ||
	    opt_ms(root, "federation_backoff_base_ms", &opt->backoff_base_ms, err, errlen) < 0 ||
	    opt_ms(root, "federation_backoff_max_ms", &opt->backoff_max_ms, err, errlen) < 0 ||
	    parse_notaries(root, opt, err, errlen) < 0) {
		if (err && errlen && !err[0])
			set_err(err, errlen, "federation options", "out of memory");
		fed_options_free(opt);
		return -1;
	}
	return 0;
}

void fed_options_free(struct fed_options *opt)
{
	free_list(opt->no_verify);
	free_list(opt->overrides);
	free(opt->ca_file);
	free(opt->dns_forwarder);
	free(opt->notaries);
	free_list(opt->notary_names);
	memset(opt, 0, sizeof(*opt));
}

/* ---- the request URI as signed ---- */

struct query_acc {
	struct buf *b;
	int n;
	int fail;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_acc *q = cls;
	(void)kind;
	/* Values are kept percent-encoded by the HTTP layer, so this is the
	 * query string as sent (as long as the sender used '&' and '='). */
	if (buf_append(q->b, q->n++ ? "&" : "?", 1) < 0 || buf_append(q->b, key, strlen(key)) < 0 ||
	    (value && (buf_append(q->b, "=", 1) < 0 || buf_append(q->b, value, strlen(value)) < 0)))
		q->fail = 1;
	return MHD_YES;
}

char *fed_request_uri(struct http_request *rq)
{
	struct buf b;
	struct query_acc q = { &b, 0, 0 };
	char *s;

	buf_init(&b, 16384);
	if (buf_puts(&b, rq->path) < 0)
		q.fail = 1;
	if (rq->conn)
		MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	s = q.fail ? NULL : buf_detach(&b, NULL);
	buf_free(&b);
	return s;
}

struct query_find {
	const char *name, *value;
	int found, seen;
};

static enum MHD_Result find_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_find *q = cls;
	char *dec;
	(void)kind;
	if (strcmp(key, q->name) != 0 || !value)
		return MHD_YES;
	q->seen = 1;
	dec = percent_decode(value, strlen(value), 1);
	if (dec && strcmp(dec, q->value) == 0)
		q->found = 1;
	free(dec);
	return MHD_YES;
}

int fed_query_has(struct http_request *rq, const char *name, const char *value)
{
	struct query_find q = { name, value, 0, 0 };
	if (rq->conn)
		MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, find_arg, &q);
	return q.found ? 1 : q.seen ? 0 : -1;
}

/* ---- handlers ---- */

static void fed_entry(struct api_req *r)
{
	const struct fed_api_route *fr = (const struct fed_api_route *)r->match.handler;
	const char *auth;
	char origin[256], err[256], *uri;

	if (!fr->authenticated) {
		fr->fn(r, fr->fs, NULL);
		return;
	}
	auth = http_header(r->http, "Authorization");
	if (!auth) {
		api_error(r, 401, "M_UNAUTHORIZED", "Missing Authorization headers");
		return;
	}
	uri = fed_request_uri(r->http);
	if (!uri) {
		api_error(r, 500, "M_UNKNOWN", "Out of memory");
		return;
	}
	err[0] = '\0';
	/* An optional body left empty is parsed as {}, but was not signed. */
	if (keyring_check_request(fr->fs->keyring, auth, r->http->method, uri,
				  r->http->body_len ? r->body : NULL, origin,
				  sizeof(origin), err, sizeof(err)) < 0) {
		log_info("federation: refused %s %s: %s", r->http->method, r->http->path, err);
		api_error(r, 401, "M_UNAUTHORIZED", "%s", err[0] ? err : "Invalid signature");
	} else {
		fr->fn(r, fr->fs, origin);
	}
	free(uri);
}

static void fed_version(struct api_req *r, struct fed_service *fs, const char *origin)
{
	(void)fs;
	(void)origin;
	api_reply(r, 200, json_pack("{s:{s:s,s:s}}", "server", "name", "scopd", "version", PACKAGE_VERSION));
}

/* 400 unless user_id is a valid user on this server. */
static int local_user(struct api_req *r, struct fed_service *fs, const char *user_id)
{
	const char *dom;
	if (!user_id || !matrix_user_id_valid(user_id)) {
		api_error(r, 400, "M_INVALID_PARAM", "Invalid user ID");
		return -1;
	}
	dom = matrix_id_domain(user_id);
	if (!dom || strcmp(dom, fs->server_name) != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "User is not on this server");
		return -1;
	}
	return 0;
}

static void fed_query_profile(struct api_req *r, struct fed_service *fs, const char *origin)
{
	char *user_id = http_query(r->http, "user_id"), *field = http_query(r->http, "field");
	struct store_user u;
	enum store_rc rc;
	json_t *o;

	(void)origin;
	memset(&u, 0, sizeof(u));
	if (!user_id) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing user_id");
		goto out;
	}
	if (field && strcmp(field, "displayname") != 0 && strcmp(field, "avatar_url") != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Unknown profile field");
		goto out;
	}
	if (local_user(r, fs, user_id) < 0)
		goto out;
	rc = store_user_get(fs->hs->store, user_id, &u);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && u.deactivated)) {
		api_error(r, 404, "M_NOT_FOUND", "Profile not found");
		goto out;
	}
	if (rc != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		goto out;
	}
	o = json_object();
	if (u.displayname && (!field || strcmp(field, "displayname") == 0))
		json_object_set_new(o, "displayname", json_string(u.displayname));
	if (u.avatar_url && (!field || strcmp(field, "avatar_url") == 0))
		json_object_set_new(o, "avatar_url", json_string(u.avatar_url));
	api_reply(r, 200, o);
out:
	store_user_clear(&u);
	free(user_id);
	free(field);
}

static void fed_user_devices(struct api_req *r, struct fed_service *fs, const char *origin)
{
	const char *user_id = api_param(r, 0);
	struct store_device *list = NULL;
	size_t n = 0;
	json_t *devs;

	(void)origin;
	if (local_user(r, fs, user_id) < 0)
		return;
	if (store_device_list(fs->hs->store, user_id, &list, &n) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal error");
		return;
	}
	devs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_pack("{s:s}", "device_id", list[i].device_id);
		if (d && list[i].display_name)
			json_object_set_new(d, "device_display_name", json_string(list[i].display_name));
		json_array_append_new(devs, d);
	}
	store_device_list_free(list, n);
	/* No device keys yet (no E2E key store): devices without keys. */
	api_reply(r, 200, json_pack("{s:s,s:i,s:o}", "user_id", user_id, "stream_id", 0, "devices", devs));
}

void fed_path_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~')
			buf_putc(b, (char)*p);
		else
			buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

/* hs->fed_query (hs.h): the client API's remote profile and alias
 * lookups, as a signed request from this server. */
static int fed_query_hook(void *arg, const char *destination, const char *type, const char *const *params,
			  size_t nparams, long *status, json_t **reply)
{
	struct fed_service *fs = arg;
	struct buf uri;
	char err[256];
	int rc;

	*reply = NULL;
	if (strspn(type, "abcdefghijklmnopqrstuvwxyz_") != strlen(type) || nparams % 2)
		return -1;
	buf_init(&uri, 512);
	buf_printf(&uri, "/_matrix/federation/v1/query/%s", type);
	for (size_t i = 0; i + 1 < nparams; i += 2) {
		buf_putc(&uri, i ? '&' : '?');
		fed_path_escape(&uri, params[i]);
		buf_putc(&uri, '=');
		fed_path_escape(&uri, params[i + 1]);
	}
	struct fed_client_req rq = {
		.resolver = fs->resolver, .key = &fs->key, .origin = fs->server_name, .destination = destination,
		.method = "GET", .uri = uri.data,
	};
	rc = uri.data ? fed_client_request(&rq, status, reply, err, sizeof(err)) : -1;
	if (rc < 0)
		log_info("federation: query/%s to %s: %s", type, destination, uri.data ? err : "out of memory");
	buf_free(&uri);
	return rc;
}

/* Admin tool: asks the user's server for their devices over federation
 * (a signed request from this server; the answer is passed through). */
static void admin_remote_devices(struct api_req *r, struct fed_service *fs, const char *origin)
{
	const char *user_id = api_param(r, 0), *dest;
	static const char hex[] = "0123456789ABCDEF";
	char uri[1024], err[256];
	size_t n;
	long status;
	json_t *reply = NULL;

	(void)origin;
	if (!r->who.is_admin) {
		api_error(r, 403, "M_FORBIDDEN", "You are not a server admin");
		return;
	}
	if (!matrix_user_id_valid(user_id) || !(dest = matrix_id_domain(user_id)) ||
	    strcmp(dest, fs->server_name) == 0) {
		api_error(r, 400, "M_INVALID_PARAM", "Not a remote user ID");
		return;
	}
	n = (size_t)snprintf(uri, sizeof(uri), "/_matrix/federation/v1/user/devices/");
	for (const unsigned char *p = (const unsigned char *)user_id; *p && n + 4 < sizeof(uri); p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			uri[n++] = (char)*p;
		} else {
			uri[n++] = '%';
			uri[n++] = hex[*p >> 4];
			uri[n++] = hex[*p & 15];
		}
	}
	uri[n] = '\0';
	struct fed_client_req rq = {
		.resolver = fs->resolver, .key = &fs->key, .origin = fs->server_name, .destination = dest,
		.method = "GET", .uri = uri,
	};
	if (fed_client_request(&rq, &status, &reply, err, sizeof(err)) < 0) {
		api_error(r, 502, "M_UNKNOWN", "%s", err);
		return;
	}
	api_reply(r, 200, json_pack("{s:i,s:o}", "status", (int)status, "body", reply ? reply : json_null()));
}

/* Admin tool: the first half of joining a remote room, end to end.  Asks
 * server_name for a join template (make_join), hashes and signs it as
 * user_id's server, and sends it in a transaction, returning the remote
 * server's answer.  The other half (send_join, storing the room's state)
 * waits for a store path for remote events. */
static void admin_join_probe(struct api_req *r, struct fed_service *fs, const char *origin)
{
	const char *room_id, *user_id, *dest, *dom;
	struct buf uri;
	char err[256], txn_id[17], id[EVENT_ID_BUF], path[64];
	long status = 0;
	json_t *reply = NULL, *ev, *txn = NULL, *answer = NULL;
	const struct room_version *rv;
	int n;
	const struct room_version *all = room_version_all(&n);

	(void)origin;
	if (!r->who.is_admin) {
		api_error(r, 403, "M_FORBIDDEN", "You are not a server admin");
		return;
	}
	if (api_req_string(r, r->body, "room_id", &room_id) < 0 || api_req_string(r, r->body, "user_id", &user_id) < 0 ||
	    api_req_string(r, r->body, "server_name", &dest) < 0)
		return;
	if (!matrix_user_id_valid(user_id) || !(dom = matrix_id_domain(user_id)) || strcmp(dom, fs->server_name) != 0) {
		api_error(r, 400, "M_INVALID_PARAM", "user_id must be a local user");
		return;
	}
	buf_init(&uri, 4096);
	buf_puts(&uri, "/_matrix/federation/v1/make_join/");
	fed_path_escape(&uri, room_id);
	buf_putc(&uri, '/');
	fed_path_escape(&uri, user_id);
	for (int i = 0; i < n; i++)
		buf_printf(&uri, "%sver=%s", i ? "&" : "?", all[i].id);
	struct fed_client_req rq = {
		.resolver = fs->resolver, .key = &fs->key, .origin = fs->server_name, .destination = dest,
		.method = "GET", .uri = uri.data,
	};
	if (!uri.data || fed_client_request(&rq, &status, &reply, err, sizeof(err)) < 0) {
		api_error(r, 502, "M_UNKNOWN", "make_join: %s", uri.data ? err : "out of memory");
		goto out;
	}
	ev = json_object_get(reply, "event");
	rv = room_version_get(json_string_value(json_object_get(reply, "room_version")));
	if (status != 200 || !json_is_object(ev) || !rv) {
		api_reply(r, 200, json_pack("{s:i,s:O*}", "make_join_status", (int)status, "make_join", reply));
		goto out;
	}
	/* Only what make_join may fill in is taken from the template. */
	const char *sk = event_state_key(ev), *snd = event_sender(ev), *type = event_type(ev), *m = event_membership(ev);
	if (!sk || strcmp(sk, user_id) != 0 || !snd || strcmp(snd, user_id) != 0 || !type ||
	    strcmp(type, "m.room.member") != 0 || !m || strcmp(m, "join") != 0 ||
	    event_hash_and_sign(rv, ev, fs->server_name, &fs->key) < 0 || event_compute_id(rv, ev, id) < 0) {
		api_error(r, 502, "M_UNKNOWN", "make_join gave an unusable template");
		goto out;
	}
	scop_random_token(txn_id, 16);
	snprintf(path, sizeof(path), "/_matrix/federation/v1/send/%s", txn_id);
	txn = json_pack("{s:s,s:I,s:[O]}", "origin", fs->server_name, "origin_server_ts", (json_int_t)http_now_ms(),
			"pdus", ev);
	rq.method = "PUT";
	rq.uri = path;
	rq.content = txn;
	if (!txn || fed_client_request(&rq, &status, &answer, err, sizeof(err)) < 0) {
		api_error(r, 502, "M_UNKNOWN", "send: %s", txn ? err : "out of memory");
		goto out;
	}
	api_reply(r, 200, json_pack("{s:s,s:s,s:i,s:O*}", "event_id", id, "room_version", rv->id, "send_status",
				    (int)status, "send", answer));
out:
	json_decref(reply);
	json_decref(txn);
	json_decref(answer);
	buf_free(&uri);
}

static void fed_unrecognized(struct api_req *r, struct fed_service *fs, const char *origin)
{
	(void)fs;
	(void)origin;
	api_error(r, 404, "M_UNRECOGNIZED", "Unrecognized request");
}

/* ---- mounting ---- */

static const char *const catchall_paths[FED_CATCHALL_DEPTH] = {
	"/_matrix/federation/{a}",
	"/_matrix/federation/{a}/{b}",
	"/_matrix/federation/{a}/{b}/{c}",
	"/_matrix/federation/{a}/{b}/{c}/{d}",
	"/_matrix/federation/{a}/{b}/{c}/{d}/{e}",
	"/_matrix/federation/{a}/{b}/{c}/{d}/{e}/{f}",
	"/_matrix/federation/{a}/{b}/{c}/{d}/{e}/{f}/{g}",
	"/_matrix/federation/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}",
};
static const char *const catchall_methods[] = { "GET", "PUT", "POST", "DELETE" };

static int mount(struct fed_service *fs)
{
	const struct { const char *method, *path; fed_handler_fn fn; int auth; unsigned flags; } fixed[] = {
		{ "GET", "/_matrix/federation/v1/version", fed_version, 0, 0 },
		{ "GET", "/_matrix/federation/v1/query/profile", fed_query_profile, 1, 0 },
		{ "GET", "/_matrix/federation/v1/user/devices/{userId}", fed_user_devices, 1, 0 },
		{ "GET", "/_scop/admin/v1/federation/user_devices/{userId}", admin_remote_devices, 0, API_AUTH },
		{ "PUT", "/_matrix/federation/v1/send/{txnId}", fed_txn_handle, 1, API_JSON },
		{ "POST", "/_scop/admin/v1/federation/join_probe", admin_join_probe, 0, API_AUTH | API_JSON },
		{ "GET", "/_matrix/federation/v1/make_join/{roomId}/{userId}", fed_make_join, 1, 0 },
		{ "PUT", "/_matrix/federation/v2/send_join/{roomId}/{eventId}", fed_send_join, 1, API_JSON },
		{ "PUT", "/_matrix/federation/v2/invite/{roomId}/{eventId}", fed_invite, 1, API_JSON },
		{ "GET", "/_matrix/federation/v1/make_leave/{roomId}/{userId}", fed_make_leave, 1, 0 },
		{ "PUT", "/_matrix/federation/v2/send_leave/{roomId}/{eventId}", fed_send_leave, 1, API_JSON },
		{ "GET", "/_matrix/federation/v1/make_knock/{roomId}/{userId}", fed_make_knock, 1, 0 },
		{ "PUT", "/_matrix/federation/v1/send_knock/{roomId}/{eventId}", fed_send_knock, 1, API_JSON },
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	size_t nkeys = api_keys_nroutes, nread = api_read_nroutes;
	size_t ncatch = FED_CATCHALL_DEPTH * (sizeof(catchall_methods) / sizeof(catchall_methods[0]));
	size_t i = 0;

	fs->routes = calloc(nfixed + nkeys + nread + ncatch, sizeof(*fs->routes));
	if (!fs->routes)
		return -1;
	for (size_t k = 0; k < nkeys; k++, i++) {
		fs->routes[i].route = api_keys_routes[k].route;
		fs->routes[i].fn = api_keys_routes[k].fn;
	}
	for (size_t k = 0; k < nfixed; k++, i++) {
		/* Other servers' events may carry \u0000 (Synapse passes it on
		 * from clients); event_validate() keeps it out of what the auth
		 * rules read. */
		fs->routes[i].route = (struct api_route){ fixed[k].method, fixed[k].path, fed_entry,
							  fixed[k].flags | API_JSON_NUL };
		fs->routes[i].fn = fixed[k].fn;
		fs->routes[i].authenticated = fixed[k].auth;
	}
	for (size_t k = 0; k < nread; k++, i++) {
		fs->routes[i].route = (struct api_route){ api_read_routes[k].method, api_read_routes[k].path,
							  fed_entry, api_read_routes[k].flags | API_JSON_NUL };
		fs->routes[i].fn = api_read_routes[k].fn;
		fs->routes[i].authenticated = 1;
	}
	/* The catch-all comes last: the router takes the first match. */
	for (size_t d = 0; d < FED_CATCHALL_DEPTH; d++)
		for (size_t m = 0; m < sizeof(catchall_methods) / sizeof(catchall_methods[0]); m++, i++) {
			fs->routes[i].route = (struct api_route){ catchall_methods[m], catchall_paths[d], fed_entry,
								  API_JSON_OPTIONAL };
			fs->routes[i].fn = fed_unrecognized;
			fs->routes[i].authenticated = 1;
		}
	fs->nroutes = i;
	for (i = 0; i < fs->nroutes; i++) {
		fs->routes[i].fs = fs;
		fs->routes[i].route.fn = fed_entry; /* the keys' table leaves it NULL */
		if (router_add(fs->hs->router, fs->routes[i].route.method, fs->routes[i].route.path,
			       (void *)&fs->routes[i], fs->routes[i].route.flags) < 0)
			return -1;
	}
	return 0;
}

/* ---- outbound PDUs and the outbox ---- */

/* The sender's persistence hooks (called under its lock). */
static void outbox_queued(void *ctx, const char *dest, const char *pdu_json)
{
	struct fed_service *fs = ctx;
	if (room_store_outbox_add(rooms_store(fs->hs->rooms), dest, pdu_json) != STORE_OK)
		log_error("federation: cannot keep a PDU for %s in the outbox", dest);
}

static void outbox_delivered(void *ctx, const char *dest, size_t n)
{
	struct fed_service *fs = ctx;
	if (room_store_outbox_delivered(rooms_store(fs->hs->rooms), dest, n) != STORE_OK)
		log_error("federation: cannot clear %zu delivered PDU(s) for %s from the outbox", n, dest);
}

static int outbox_load(void *ctx, const char *dest, size_t limit, char ***pdus, size_t *n)
{
	struct fed_service *fs = ctx;
	return room_store_outbox_load(rooms_store(fs->hs->rooms), dest, limit, pdus, n) == STORE_OK ? 0 : -1;
}

/* What was not delivered before the last stop: the sender reads it back
 * from the outbox per destination, a bounded batch at a time. */
static void outbox_restore(struct fed_service *fs)
{
	char **dests = NULL;
	size_t n = 0;

	if (room_store_outbox_dests(rooms_store(fs->hs->rooms), &dests, &n) != STORE_OK) {
		log_error("federation: cannot read the outbox");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (fed_sender_resume(fs->sender, dests[i]) != 0)
			log_warn("federation: cannot resume sending to %s", dests[i]);
		free(dests[i]);
	}
	free(dests);
	if (n)
		log_info("federation: undelivered PDU(s) for %zu server(s) in the outbox", n);
}

/* rooms' hook for every event this server created: the event's commit
 * already put it in the outbox for these servers (room_store_set_outbox),
 * so the sender only has to read it from there. */
static void outbound(void *arg, const json_t *pdu, const char *const *servers, size_t n)
{
	struct fed_service *fs = arg;
	(void)pdu;
	for (size_t i = 0; i < n; i++)
		if (fed_sender_resume(fs->sender, servers[i]) < 0)
			log_warn("federation: cannot wake the queue for %s", servers[i]);
}

struct fed_service *fed_service_new(struct hs *hs, const char *config_path, char *err, size_t errlen)
{
	struct fed_service *fs = calloc(1, sizeof(*fs));
	json_t *root = NULL;

	if (!fs) {
		set_err(err, errlen, "federation", "out of memory");
		return NULL;
	}
	fs->hs = hs;
	fs->server_name = hs->cfg->server_name;
	root = yaml_load_file(config_path, err, errlen);
	if (!root || fed_options_parse(root, &fs->opt, err, errlen) < 0)
		goto fail;
	if (scop_ed25519_load(hs->cfg->signing_key_path, &fs->key) < 0) {
		set_err(err, errlen, "federation: cannot load the signing key", hs->cfg->signing_key_path);
		goto fail;
	}
	struct fed_resolver_options ropt = {
		.dns_forwarder = fs->opt.dns_forwarder,
		.ca_file = fs->opt.ca_file,
		.no_verify = (const char *const *)fs->opt.no_verify,
		.overrides = (const char *const *)fs->opt.overrides,
	};
	fs->resolver = fed_resolver_new(&ropt, err, errlen);
	if (!fs->resolver)
		goto fail;
	struct keyring_options kopt = {
		.server_name = fs->server_name,
		.key = &fs->key,
		.resolver = fs->resolver,
		.notaries = fs->opt.notaries,
		.n_notaries = fs->opt.n_notaries,
	};
	fs->keyring = keyring_new(&kopt);
	struct fed_sender_options sopt = {
		.origin = fs->server_name,
		.key = &fs->key,
		.resolver = fs->resolver,
		.backoff_base_ms = fs->opt.backoff_base_ms,
		.backoff_max_ms = fs->opt.backoff_max_ms,
	};
	if (hs->rooms)
		sopt.persist = (struct fed_sender_persist){ .pdu_queued = outbox_queued,
							    .pdus_delivered = outbox_delivered,
							    .pdus_load = outbox_load, .ctx = fs };
	fs->sender = fed_sender_new(&sopt);
	if (!fs->keyring || !fs->sender) {
		set_err(err, errlen, "federation", "cannot create the keyring or sender");
		goto fail;
	}
	if (mount(fs) < 0) {
		set_err(err, errlen, "federation", "cannot add the routes");
		goto fail;
	}
	if (hs->rooms) /* local typing and receipts go out as EDUs (edu.h) */
		rooms_set_edu_hook(hs->rooms, fed_edu_outbound, fs);
	if (hs->rooms) {
		room_store_set_outbox(rooms_store(hs->rooms), fs->server_name);
		outbox_restore(fs);
		rooms_set_outbound(hs->rooms, outbound, fs);
		rooms_set_invite_hook(hs->rooms, fed_invite_remote, fs);
		hs->remote_join = fed_join_remote;
		hs->remote_leave = fed_leave_remote;
		hs->remote_knock = fed_knock_remote;
		hs->fed_query = fed_query_hook;
		hs->remote_join_arg = fs;
	}
	json_decref(root);
	log_info("federation: %zu trusted key server key(s), %zu routes", fs->opt.n_notaries, fs->nroutes);
	return fs;
fail:
	json_decref(root);
	fed_service_free(fs);
	return NULL;
}

int fed_service_pdu_key(void *arg, const char *server, const char *key_id, int64_t ts_ms,
			unsigned char pub[32])
{
	struct fed_service *fs = arg;
	char err[256];
	/* 0 means "any validity": the epoch is a time every key covered. */
	return keyring_get(fs->keyring, server, key_id, ts_ms > 0 ? ts_ms : 1, pub, err, sizeof(err));
}

int fed_service_start(struct fed_service *fs)
{
	return fed_sender_start(fs->sender);
}

void fed_service_free(struct fed_service *fs)
{
	if (!fs)
		return;
	if (fs->hs && fs->hs->rooms)
		rooms_set_edu_hook(fs->hs->rooms, NULL, NULL);
	if (fs->hs && fs->hs->rooms)
		rooms_set_outbound(fs->hs->rooms, NULL, NULL);
	if (fs->hs && fs->hs->rooms)
		room_store_set_outbox(rooms_store(fs->hs->rooms), NULL);
	if (fs->hs && fs->hs->rooms)
		rooms_set_invite_hook(fs->hs->rooms, NULL, NULL);
	if (fs->hs && fs->hs->remote_join_arg == fs) {
		fs->hs->remote_join = NULL;
		fs->hs->remote_leave = NULL;
		fs->hs->remote_knock = NULL;
		fs->hs->fed_query = NULL;
		fs->hs->remote_join_arg = NULL;
	}
	fed_sender_free(fs->sender);
	keyring_free(fs->keyring);
	fed_resolver_free(fs->resolver);
	fed_options_free(&fs->opt);
	scop_ed25519_clear(&fs->key);
	/* The router still points at the routes: free the service only
	 * after the HTTP server stopped. */
	free(fs->routes);
	free(fs);
}
