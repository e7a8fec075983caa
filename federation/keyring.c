/* keyring.h: a small per-server cache of verified key documents.  Lookups
 * are linear: a homeserver talks to hundreds of servers, not millions, and
 * the cache is bounded (the oldest fetched entry makes room).
 *
 * A miss fetches under a per-server "fetching" mark: other threads that
 * want the same server's keys wait for that fetch (kr->fetched) instead of
 * starting their own, then read the cache, or the failure hold. */
#include "federation/keyring.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "common/httpc.h"
#include "common/log.h"
#include "federation/server_name.h"
#include "federation/xmatrix.h"
#include "homeserver/events/event_sign.h"

#define MAX_KEYS 32
#define MAX_SERVERS 4096
#define KEY_DOC_MAX (64 * 1024)
#define QUERY_RESP_MAX (1024 * 1024)
/* After every way of getting a server's keys failed, callers get the
 * failure from the cache for this long instead of a new round of
 * fetches: one unreachable server must not cost a fetch per event. */
#define FAILURE_HOLD_MS (60 * 1000)

struct ks_entry {
	char server[256];
	json_t *doc;                /* the latest verified document, or NULL */
	struct server_key keys[MAX_KEYS];
	size_t n;
	int64_t fetched_ms;
	int64_t failed_until_ms;    /* no new fetch before this */
	int fetching;               /* a keyring_get() is fetching: wait for it */
};

struct keyring {
	char *server_name;
	const struct scop_ed25519 *key;
	struct server_old_key *old_keys;
	size_t n_old;
	int64_t validity_ms;
	struct fed_resolver *resolver;
	struct keyring_notary *notaries;
	size_t n_notaries;
	struct keyring_persist persist;
	long timeout_ms, origin_timeout_ms, budget_ms;

	pthread_mutex_t lock;
	pthread_cond_t fetched;     /* a fetch mark was cleared */
	struct ks_entry *entries;
	size_t n_entries;
};

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct keyring *keyring_new(const struct keyring_options *opt)
{
	struct keyring *kr = calloc(1, sizeof(*kr));
	if (kr == NULL)
		return NULL;
	pthread_mutex_init(&kr->lock, NULL);
	pthread_cond_init(&kr->fetched, NULL);
	kr->key = opt->key;
	kr->validity_ms = opt->key_validity_ms > 0 ? opt->key_validity_ms : 7LL * 24 * 3600 * 1000;
	kr->resolver = opt->resolver;
	kr->persist = opt->persist;
	kr->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : 10000;
	kr->origin_timeout_ms = opt->origin_timeout_ms > 0 ? opt->origin_timeout_ms : 3000;
	kr->budget_ms = opt->fetch_budget_ms > 0 ? opt->fetch_budget_ms : 6000;
	kr->server_name = strdup(opt->server_name ? opt->server_name : "");
	kr->entries = calloc(MAX_SERVERS, sizeof(*kr->entries));
	if (kr->server_name == NULL || kr->entries == NULL)
		goto fail;
	if (opt->n_old > 0) {
		kr->old_keys = calloc(opt->n_old, sizeof(*kr->old_keys));
		if (kr->old_keys == NULL)
			goto fail;
		memcpy(kr->old_keys, opt->old_keys, opt->n_old * sizeof(*kr->old_keys));
		kr->n_old = opt->n_old;
	}
	if (opt->n_notaries > 0) {
		/* n_notaries counts the slots to free, filled or not. */
		kr->notaries = calloc(opt->n_notaries, sizeof(*kr->notaries));
		if (kr->notaries == NULL)
			goto fail;
		kr->n_notaries = opt->n_notaries;
		for (size_t i = 0; i < opt->n_notaries; i++) {
			kr->notaries[i] = opt->notaries[i];
			kr->notaries[i].server_name = strdup(opt->notaries[i].server_name);
			kr->notaries[i].key_id = strdup(opt->notaries[i].key_id);
			if (kr->notaries[i].server_name == NULL || kr->notaries[i].key_id == NULL)
				goto fail;
		}
	}
	return kr;
fail:
	keyring_free(kr);
	return NULL;
}

void keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	for (size_t i = 0; i < kr->n_entries; i++)
		json_decref(kr->entries[i].doc);
	free(kr->entries);
	for (size_t i = 0; kr->notaries != NULL && i < kr->n_notaries; i++) {
		free((char *)kr->notaries[i].server_name);
		free((char *)kr->notaries[i].key_id);
	}
	free(kr->notaries);
	free(kr->old_keys);
	free(kr->server_name);
	pthread_mutex_destroy(&kr->lock);
	pthread_cond_destroy(&kr->fetched);
	free(kr);
}

static struct ks_entry *find_entry(struct keyring *kr, const char *server)
{
	for (size_t i = 0; i < kr->n_entries; i++)
		if (strcasecmp(kr->entries[i].server, server) == 0)
			return &kr->entries[i];
	return NULL;
}

/* Under the lock: a fresh entry for server, evicting the one fetched
 * longest ago when the cache is full (never one being fetched: its
 * fetcher holds a pointer to it).  NULL when every entry is. */
static struct ks_entry *new_entry(struct keyring *kr, const char *server)
{
	struct ks_entry *e = NULL;
	if (kr->n_entries < MAX_SERVERS) {
		e = &kr->entries[kr->n_entries++];
	} else {
		for (size_t i = 0; i < kr->n_entries; i++)
			if (!kr->entries[i].fetching && (e == NULL || kr->entries[i].fetched_ms < e->fetched_ms))
				e = &kr->entries[i];
		if (e == NULL)
			return NULL;
		json_decref(e->doc);
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->server, sizeof(e->server), "%s", server);
	return e;
}

static int key_valid_at(const struct server_key *k, int64_t ts)
{
	return k->old ? k->expired_ts >= ts : k->valid_until_ts >= ts;
}

/* Under the lock: 1 and pub when server has key_id valid at ts. */
static int cached_key(struct keyring *kr, const char *server, const char *key_id, int64_t ts,
		      unsigned char pub[32])
{
	struct ks_entry *e = find_entry(kr, server);
	for (size_t i = 0; e != NULL && i < e->n; i++) {
		if (strcmp(e->keys[i].key_id, key_id) == 0 && key_valid_at(&e->keys[i], ts)) {
			memcpy(pub, e->keys[i].pub, 32);
			return 1;
		}
	}
	return 0;
}

int keyring_add_document(struct keyring *kr, const json_t *doc, const char *server,
			 const struct keyring_notary *notary, char *err, size_t errlen)
{
	struct server_key keys[MAX_KEYS];
	size_t n = 0;
	if (server_keys_verify(doc, server, notary ? notary->server_name : NULL, notary ? notary->key_id : NULL,
			       notary ? notary->pub : NULL, keys, MAX_KEYS, &n, err, errlen) != 0)
		return -1;
	json_t *copy = json_deep_copy(doc);
	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&kr->lock);
	struct ks_entry *e = find_entry(kr, server);
	if (e != NULL) {
		/* Keep the document valid the longest: a notary may relay an
		 * older copy than the one we already have. */
		json_t *vu_old = json_object_get(e->doc, "valid_until_ts");
		json_t *vu_new = json_object_get(copy, "valid_until_ts");
		if (json_integer_value(vu_new) < json_integer_value(vu_old)) {
			pthread_mutex_unlock(&kr->lock);
			json_decref(copy);
			return 0;
		}
	} else if ((e = new_entry(kr, server)) == NULL) {
		pthread_mutex_unlock(&kr->lock);
		json_decref(copy);
		snprintf(err, errlen, "key cache full");
		return -1;
	}
	/* Keys the new document no longer lists stay known (with their old
	 * validity): events they signed still need checking. */
	for (size_t i = 0; i < e->n && n < MAX_KEYS; i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++)
			if (strcmp(keys[j].key_id, e->keys[i].key_id) == 0)
				found = 1;
		if (!found)
			keys[n++] = e->keys[i];
	}
	memcpy(e->keys, keys, n * sizeof(keys[0]));
	e->n = n;
	json_decref(e->doc);
	e->doc = copy;
	e->fetched_ms = now_ms();
	e->failed_until_ms = 0;
	pthread_mutex_unlock(&kr->lock);
	if (kr->persist.save != NULL) {
		char *text = json_dumps(doc, JSON_COMPACT);
		if (text != NULL) {
			kr->persist.save(kr->persist.ctx, server, text);
			free(text);
		}
	}
	return 0;
}

/* Sends one request to server_name (resolved by discovery), discovery
 * and transfer together within timeout_ms; returns the parsed JSON body
 * of a 200 answer, or NULL with a reason. */
static json_t *fed_request(struct keyring *kr, const char *server_name, const char *method, const char *path,
			   const char *body, size_t max_body, long timeout_ms, char *err, size_t errlen)
{
	struct fed_target t;
	struct fed_route route;
	int64_t start = mono_ms();
	if (kr->resolver == NULL) {
		snprintf(err, errlen, "no resolver");
		return NULL;
	}
	if (fed_resolver_resolve_within(kr->resolver, server_name, timeout_ms, &t, err, errlen) != 0)
		return NULL;
	timeout_ms -= (long)(mono_ms() - start);
	if (timeout_ms <= 0) {
		snprintf(err, errlen, "%s: timed out", server_name);
		return NULL;
	}
	if (fed_resolver_route(kr->resolver, server_name, &t, path, &route) != 0) {
		snprintf(err, errlen, "URL too long");
		return NULL;
	}
	const char *headers[] = { route.host_header, "Content-Type: application/json", NULL };
	struct httpc_request req = {
		.method = method, .headers = headers, .body = body, .body_len = body ? strlen(body) : 0,
		.timeout_ms = timeout_ms, .max_body = max_body,
	};
	fed_route_apply(&route, &req);
	struct httpc_response resp;
	int rc = httpc_request(&req, &resp);
	json_t *out = NULL;
	if (rc != HTTPC_OK) {
		snprintf(err, errlen, "%s: %s", server_name, resp.err);
	} else if (resp.status != 200) {
		snprintf(err, errlen, "%s: HTTP %ld", server_name, resp.status);
	} else {
		json_error_t je;
		out = json_loadb(resp.body.data, resp.body.len, JSON_REJECT_DUPLICATES, &je);
		if (out == NULL || !json_is_object(out)) {
			snprintf(err, errlen, "%s: not a JSON object", server_name);
			json_decref(out);
			out = NULL;
		}
	}
	httpc_response_free(&resp);
	return out;
}

static int fetch_direct(struct keyring *kr, const char *server, long timeout_ms, char *err, size_t errlen)
{
	json_t *doc = fed_request(kr, server, "GET", "/_matrix/key/v2/server", NULL, KEY_DOC_MAX, timeout_ms,
				  err, errlen);
	if (doc == NULL)
		return -1;
	int rc = keyring_add_document(kr, doc, server, NULL, err, errlen);
	json_decref(doc);
	return rc;
}

int keyring_fetch_direct(struct keyring *kr, const char *server, char *err, size_t errlen)
{
	return fetch_direct(kr, server, kr->timeout_ms, err, errlen);
}

static int fetch_notary(struct keyring *kr, const struct keyring_notary *notary, const char *server,
			const char *key_id, int64_t min_valid_ts, long timeout_ms, char *err, size_t errlen)
{
	json_t *crit = json_object();
	if (key_id != NULL && *key_id != '\0')
		json_object_set_new(crit, key_id, json_pack("{sI}", "minimum_valid_until_ts", (json_int_t)min_valid_ts));
	json_t *q = json_pack("{s{so}}", "server_keys", server, crit);
	char *body = q ? json_dumps(q, JSON_COMPACT) : NULL;
	json_decref(q);
	if (body == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_t *resp = fed_request(kr, notary->server_name, "POST", "/_matrix/key/v2/query", body,
				   QUERY_RESP_MAX, timeout_ms, err, errlen);
	free(body);
	if (resp == NULL)
		return -1;
	json_t *list = json_object_get(resp, "server_keys");
	int added = 0;
	char why[256] = "no document for the server";
	size_t i;
	json_t *doc;
	json_array_foreach(list, i, doc) {
		const char *name = json_string_value(json_object_get(doc, "server_name"));
		if (name == NULL || strcasecmp(name, server) != 0)
			continue;
		if (keyring_add_document(kr, doc, server, notary, why, sizeof(why)) == 0)
			added++;
	}
	json_decref(resp);
	if (added == 0) {
		snprintf(err, errlen, "notary %s: %s", notary->server_name, why);
		return -1;
	}
	return 0;
}

int keyring_fetch_notary(struct keyring *kr, const struct keyring_notary *notary, const char *server,
			 const char *key_id, int64_t min_valid_ts, char *err, size_t errlen)
{
	return fetch_notary(kr, notary, server, key_id, min_valid_ts, kr->timeout_ms, err, errlen);
}

static int load_persisted(struct keyring *kr, const char *server)
{
	if (kr->persist.load == NULL)
		return -1;
	char *text = kr->persist.load(kr->persist.ctx, server);
	if (text == NULL)
		return -1;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	char err[128];
	/* Saved documents were verified before; checking again is cheap and
	 * guards against a tampered store. */
	int rc = doc != NULL ? keyring_add_document(kr, doc, server, NULL, err, sizeof(err)) : -1;
	json_decref(doc);
	return rc;
}

/* The fetching half of keyring_get(), with this thread holding server's
 * fetch mark: persistence, then the origin (origin_timeout_ms), then each
 * notary, all within budget_ms.  0 with pub, or -1 with err. */
static int fetch_key(struct keyring *kr, const char *server, const char *key_id, int64_t ts_ms,
		     unsigned char pub[32], char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + kr->budget_ms;
	for (int step = 0; step < 2 + (int)kr->n_notaries; step++) {
		char why[256] = "";
		long left = (long)(deadline - mono_ms());
		int rc, hit;
		if (step > 0 && left <= 0) {
			log_info("keys of %s: gave up after %ld ms", server, kr->budget_ms);
			if (err[0] == '\0')
				snprintf(err, errlen, "keys of %s: timed out", server);
			break;
		}
		if (step == 0)
			rc = load_persisted(kr, server);
		else if (step == 1)
			rc = fetch_direct(kr, server, left < kr->origin_timeout_ms ? left : kr->origin_timeout_ms,
					  why, sizeof(why));
		else
			rc = fetch_notary(kr, &kr->notaries[step - 2], server, key_id, ts_ms,
					  left < kr->timeout_ms ? left : kr->timeout_ms, why, sizeof(why));
		if (rc != 0 && why[0] != '\0') {
			log_info("keys of %s: %s", server, why);
			snprintf(err, errlen, "%s", why);
		}
		pthread_mutex_lock(&kr->lock);
		hit = cached_key(kr, server, key_id, ts_ms, pub);
		pthread_mutex_unlock(&kr->lock);
		if (hit)
			return 0;
		if (rc == 0)
			snprintf(err, errlen, "%s has no key %s valid at %lld", server, key_id, (long long)ts_ms);
	}
	if (err[0] == '\0')
		snprintf(err, errlen, "no keys for %s", server);
	return -1;
}

int keyring_get(struct keyring *kr, const char *server, const char *key_id, int64_t ts_ms,
		unsigned char pub[32], char *err, size_t errlen)
{
	char why[256] = "";
	struct ks_entry *fe;
	int hit, held, rc;

	if (ts_ms <= 0)
		ts_ms = now_ms();
	pthread_mutex_lock(&kr->lock);
	for (;;) {
		hit = cached_key(kr, server, key_id, ts_ms, pub);
		fe = find_entry(kr, server);
		held = fe != NULL && fe->failed_until_ms > now_ms();
		if (hit || held || fe == NULL || !fe->fetching)
			break;
		/* Someone fetches these keys now: share the outcome. */
		pthread_cond_wait(&kr->fetched, &kr->lock);
	}
	if (!hit && !held && fe == NULL)
		fe = new_entry(kr, server);
	if (!hit && !held && fe != NULL)
		fe->fetching = 1;
	pthread_mutex_unlock(&kr->lock);
	if (hit)
		return 0;
	if (held || fe == NULL) {
		snprintf(err, errlen, held ? "keys of %s failed recently; not retrying yet" : "key cache full (%s)",
			 server);
		return -1;
	}
	rc = fetch_key(kr, server, key_id, ts_ms, pub, why, sizeof(why));
	pthread_mutex_lock(&kr->lock);
	fe->fetching = 0; /* fe stayed ours: new_entry() skips marked entries */
	if (rc != 0)
		fe->failed_until_ms = now_ms() + FAILURE_HOLD_MS;
	pthread_cond_broadcast(&kr->fetched);
	pthread_mutex_unlock(&kr->lock);
	if (rc != 0)
		snprintf(err, errlen, "%s", why);
	return rc;
}

int keyring_check_request(struct keyring *kr, const char *authorization, const char *method, const char *uri,
			  const json_t *content, char *origin, size_t cap, char *err, size_t errlen)
{
	struct xmatrix_auth auth;
	struct server_name sn;
	unsigned char pub[32];
	enum xmatrix_status st = authorization ? xmatrix_parse(authorization, &auth) : XMATRIX_MALFORMED;
	if (st != XMATRIX_OK) {
		snprintf(err, errlen, "Authorization: %s", xmatrix_status_str(st));
		return -1;
	}
	if (server_name_parse(auth.origin, &sn) != 0) {
		snprintf(err, errlen, "invalid origin");
		return -1;
	}
	if (keyring_get(kr, auth.origin, auth.key_id, 0, pub, err, errlen) != 0)
		return -1;
	st = xmatrix_verify(&auth, kr->server_name, method, uri, content, pub);
	if (st != XMATRIX_OK) {
		snprintf(err, errlen, "Authorization: %s", xmatrix_status_str(st));
		return -1;
	}
	snprintf(origin, cap, "%s", auth.origin);
	return 0;
}

/* ---- server side ---- */

json_t *keyring_handle_server(struct keyring *kr)
{
	return server_keys_build(kr->server_name, kr->key, now_ms() + kr->validity_ms, kr->old_keys, kr->n_old);
}

int keyring_query_parse(const json_t *body, struct keyring_query_item *items, size_t max, size_t *n,
			char *err, size_t errlen)
{
	*n = 0;
	json_t *sk = json_object_get(body, "server_keys");
	if (!json_is_object(body) || !json_is_object(sk)) {
		snprintf(err, errlen, "server_keys must be an object");
		return -1;
	}
	const char *server;
	json_t *crit;
	json_object_foreach(sk, server, crit) {
		struct server_name sn;
		if (server_name_parse(server, &sn) != 0) {
			snprintf(err, errlen, "invalid server name");
			return -1;
		}
		if (!json_is_object(crit)) {
			snprintf(err, errlen, "criteria for %s must be an object", server);
			return -1;
		}
		const char *key_id;
		json_t *c;
		size_t before = *n;
		json_object_foreach(crit, key_id, c) {
			if (*n >= max) {
				snprintf(err, errlen, "too many keys asked for");
				return -1;
			}
			json_t *mv = json_object_get(c, "minimum_valid_until_ts");
			if (!json_is_object(c) || strlen(key_id) >= sizeof(items->key_id) ||
			    (mv != NULL && !json_is_integer(mv))) {
				snprintf(err, errlen, "bad criteria for %s", server);
				return -1;
			}
			struct keyring_query_item *it = &items[(*n)++];
			snprintf(it->server, sizeof(it->server), "%s", server);
			snprintf(it->key_id, sizeof(it->key_id), "%s", key_id);
			it->min_valid_until_ts = mv ? json_integer_value(mv) : 0;
		}
		if (*n == before) {
			if (*n >= max) {
				snprintf(err, errlen, "too many servers asked for");
				return -1;
			}
			struct keyring_query_item *it = &items[(*n)++];
			snprintf(it->server, sizeof(it->server), "%s", server);
			it->key_id[0] = '\0';
			it->min_valid_until_ts = 0;
		}
	}
	return 0;
}

/* Under the lock: a copy of server's document when it satisfies it. */
static json_t *usable_doc(struct keyring *kr, const struct keyring_query_item *it)
{
	struct ks_entry *e = find_entry(kr, it->server);
	if (e == NULL || e->doc == NULL)
		return NULL;
	if (json_integer_value(json_object_get(e->doc, "valid_until_ts")) < it->min_valid_until_ts)
		return NULL;
	if (it->key_id[0] != '\0') {
		int found = 0;
		for (size_t i = 0; i < e->n; i++)
			if (strcmp(e->keys[i].key_id, it->key_id) == 0)
				found = 1;
		if (!found)
			return NULL;
	}
	return json_deep_copy(e->doc);
}

json_t *keyring_handle_query(struct keyring *kr, const struct keyring_query_item *items, size_t n)
{
	json_t *list = json_array();
	json_t *out = json_pack("{so}", "server_keys", list);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct keyring_query_item *it = &items[i];
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(items[j].server, it->server) == 0)
				dup = 1;
		if (dup)
			continue; /* one document per server answers all its keys */
		json_t *doc;
		if (strcasecmp(it->server, kr->server_name) == 0) {
			doc = keyring_handle_server(kr);
		} else {
			pthread_mutex_lock(&kr->lock);
			doc = usable_doc(kr, it);
			pthread_mutex_unlock(&kr->lock);
			if (doc == NULL) {
				char err[256];
				if (keyring_fetch_direct(kr, it->server, err, sizeof(err)) != 0)
					log_info("notary: keys of %s: %s", it->server, err);
				pthread_mutex_lock(&kr->lock);
				doc = usable_doc(kr, it);
				pthread_mutex_unlock(&kr->lock);
			}
			if (doc != NULL && json_sign(doc, kr->server_name, kr->key) != 0) {
				json_decref(doc);
				doc = NULL;
			}
		}
		if (doc != NULL)
			json_array_append_new(list, doc);
	}
	return out;
}
