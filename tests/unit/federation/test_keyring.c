/* keyring.h: documents added by hand, cache validity (valid_until_ts, old
 * keys' expired_ts), persistence hooks, the two server-side handlers; and
 * against loopback servers that accept and never answer: the time budget
 * of a lookup, one shared fetch for concurrent lookups, the failure hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "federation/keyring.h"
#include "homeserver/events/event_sign.h"

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

struct persisted {
	char server[256];
	char *doc;
	int saves;
};

static void save(void *ctx, const char *server, const char *doc)
{
	struct persisted *p = ctx;
	snprintf(p->server, sizeof(p->server), "%s", server);
	free(p->doc);
	p->doc = strdup(doc);
	p->saves++;
}

static char *load(void *ctx, const char *server)
{
	struct persisted *p = ctx;
	if (p->doc == NULL || strcmp(server, p->server) != 0)
		return NULL;
	return strdup(p->doc);
}

static void test_cache_validity(void **state)
{
	(void)state;
	struct scop_ed25519 ours, theirs, old;
	assert_int_equal(scop_ed25519_generate(&ours, "me"), 0);
	assert_int_equal(scop_ed25519_generate(&theirs, "t1"), 0);
	assert_int_equal(scop_ed25519_generate(&old, "t0"), 0);
	struct persisted p = { .doc = NULL };
	struct keyring_options opt = { .server_name = "me.test", .key = &ours,
				       .persist = { .save = save, .load = load, .ctx = &p } };
	struct keyring *kr = keyring_new(&opt);
	assert_non_null(kr);
	int64_t now = now_ms();
	struct server_old_key ok = { "ed25519:t0", { 0 }, now - 1000 };
	memcpy(ok.pub, old.pub, 32);
	json_t *doc = server_keys_build("them.test", &theirs, now + 60000, &ok, 1);
	char err[256];
	assert_int_equal(keyring_add_document(kr, doc, "them.test", NULL, err, sizeof(err)), 0);
	assert_int_equal(p.saves, 1);
	/* Not accepted for another server's name. */
	assert_int_equal(keyring_add_document(kr, doc, "other.test", NULL, err, sizeof(err)), -1);

	unsigned char pub[32];
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:t1", now, pub, err, sizeof(err)), 0);
	assert_memory_equal(pub, theirs.pub, 32);
	/* The old key verifies events from before it expired, not after. */
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:t0", now - 5000, pub, err, sizeof(err)), 0);
	assert_memory_equal(pub, old.pub, 32);
	/* Past valid_until_ts / expired_ts: no resolver, so no refetch. */
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:t1", now + 120000, pub, err, sizeof(err)), -1);
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:t0", now, pub, err, sizeof(err)), -1);
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:nope", now, pub, err, sizeof(err)), -1);
	/* The failures above are held: no new round of fetches for a while,
	 * while keys that are cached and valid still answer. */
	int saves = p.saves;
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:nope", now, pub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "recently"));
	assert_int_equal(p.saves, saves);
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:t1", now, pub, err, sizeof(err)), 0);
	assert_int_equal(keyring_get(kr, "nobody.test", "ed25519:x", now, pub, err, sizeof(err)), -1);
	assert_int_equal(keyring_get(kr, "nobody.test", "ed25519:x", now, pub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "recently"));
	/* A document arriving (e.g. relayed by a notary) lifts the hold. */
	assert_int_equal(keyring_add_document(kr, doc, "them.test", NULL, err, sizeof(err)), 0);
	keyring_free(kr);

	/* A new keyring finds the document through the persistence hook. */
	kr = keyring_new(&opt);
	assert_int_equal(keyring_get(kr, "them.test", "ed25519:t1", now, pub, err, sizeof(err)), 0);
	assert_memory_equal(pub, theirs.pub, 32);
	keyring_free(kr);
	json_decref(doc);
	free(p.doc);
}

static void test_query_parse(void **state)
{
	(void)state;
	struct keyring_query_item items[4];
	size_t n;
	char err[128];
	json_t *b = json_loads("{\"server_keys\":{\"a.test\":{},\"b.test:8448\":{\"ed25519:x\":"
			       "{\"minimum_valid_until_ts\":123},\"ed25519:y\":{}}}}", 0, NULL);
	assert_int_equal(keyring_query_parse(b, items, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(items[0].server, "a.test");
	assert_string_equal(items[0].key_id, "");
	assert_string_equal(items[1].server, "b.test:8448");
	assert_string_equal(items[1].key_id, "ed25519:x");
	assert_int_equal(items[1].min_valid_until_ts, 123);
	assert_int_equal(items[2].min_valid_until_ts, 0);
	assert_int_equal(keyring_query_parse(b, items, 2, &n, err, sizeof(err)), -1);
	json_decref(b);
	static const char *bad[] = {
		"[]", "{}", "{\"server_keys\":[]}", "{\"server_keys\":{\"bad name\":{}}}",
		"{\"server_keys\":{\"a.test\":[]}}", "{\"server_keys\":{\"a.test\":{\"k\":1}}}",
		"{\"server_keys\":{\"a.test\":{\"k\":{\"minimum_valid_until_ts\":\"1\"}}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = json_loads(bad[i], 0, NULL);
		assert_non_null(b);
		assert_int_equal(keyring_query_parse(b, items, 4, &n, err, sizeof(err)), -1);
		json_decref(b);
	}
}

static void test_handlers(void **state)
{
	(void)state;
	struct scop_ed25519 ours, theirs;
	assert_int_equal(scop_ed25519_generate(&ours, "me"), 0);
	assert_int_equal(scop_ed25519_generate(&theirs, "t1"), 0);
	struct keyring_options opt = { .server_name = "me.test", .key = &ours };
	struct keyring *kr = keyring_new(&opt);
	char err[256];
	struct server_key keys[4];
	size_t n;

	json_t *mine = keyring_handle_server(kr);
	assert_int_equal(server_keys_verify(mine, "me.test", NULL, NULL, NULL, keys, 4, &n, err, sizeof(err)), 0);
	assert_true(keys[0].valid_until_ts > now_ms());
	json_decref(mine);

	int64_t vu = now_ms() + 60000;
	json_t *doc = server_keys_build("them.test", &theirs, vu, NULL, 0);
	assert_int_equal(keyring_add_document(kr, doc, "them.test", NULL, err, sizeof(err)), 0);
	struct keyring_query_item items[3] = {
		{ "them.test", "", 0 }, { "them.test", "ed25519:t1", 0 }, { "me.test", "", 0 },
	};
	json_t *resp = keyring_handle_query(kr, items, 3);
	json_t *list = json_object_get(resp, "server_keys");
	assert_int_equal(json_array_size(list), 2); /* one document per server */
	json_t *relayed = json_array_get(list, 0);
	struct keyring_notary notary = { "me.test", ours.key_id, { 0 } };
	memcpy(notary.pub, ours.pub, 32);
	assert_int_equal(server_keys_verify(relayed, "them.test", "me.test", ours.key_id, ours.pub, keys, 4, &n,
					    err, sizeof(err)), 0);
	assert_int_equal(server_keys_verify(json_array_get(list, 1), "me.test", NULL, NULL, NULL, keys, 4, &n,
					    err, sizeof(err)), 0);
	json_decref(resp);

	/* Not valid long enough, or an unknown key: left out (no resolver to refetch). */
	struct keyring_query_item later = { "them.test", "", vu + 1 };
	resp = keyring_handle_query(kr, &later, 1);
	assert_int_equal(json_array_size(json_object_get(resp, "server_keys")), 0);
	json_decref(resp);
	struct keyring_query_item unknown = { "them.test", "ed25519:zz", 0 };
	resp = keyring_handle_query(kr, &unknown, 1);
	assert_int_equal(json_array_size(json_object_get(resp, "server_keys")), 0);
	json_decref(resp);

	/* A relayed copy older than the one cached does not replace it. */
	json_t *older = server_keys_build("them.test", &theirs, vu - 30000, NULL, 0);
	assert_int_equal(keyring_add_document(kr, older, "them.test", NULL, err, sizeof(err)), 0);
	resp = keyring_handle_query(kr, items, 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(resp, "server_keys"), 0),
							    "valid_until_ts")), vu);
	json_decref(resp);
	json_decref(older);
	json_decref(doc);
	keyring_free(kr);
}

struct race {
	struct keyring *kr;
	json_t *doc;
	const unsigned char *pub;
	int failures;
};

static void *racer(void *arg)
{
	struct race *r = arg;
	char err[256];
	unsigned char pub[32];
	for (int i = 0; i < 200; i++) {
		if (i % 10 == 0 && keyring_add_document(r->kr, r->doc, "them.test", NULL, err, sizeof(err)) != 0)
			r->failures++;
		if (keyring_get(r->kr, "them.test", "ed25519:t1", 0, pub, err, sizeof(err)) != 0 ||
		    memcmp(pub, r->pub, 32) != 0)
			r->failures++;
	}
	return NULL;
}

/* Readers and writers on one keyring from several threads (ASan would
 * see a use-after-free of a replaced document). */
static void test_threads(void **state)
{
	(void)state;
	struct scop_ed25519 ours, theirs;
	char err[256];
	assert_int_equal(scop_ed25519_generate(&ours, "me"), 0);
	assert_int_equal(scop_ed25519_generate(&theirs, "t1"), 0);
	struct keyring_options opt = { .server_name = "me.test", .key = &ours };
	struct keyring *kr = keyring_new(&opt);
	json_t *doc = server_keys_build("them.test", &theirs, now_ms() + 600000, NULL, 0);
	assert_int_equal(keyring_add_document(kr, doc, "them.test", NULL, err, sizeof(err)), 0);
	pthread_t t[4];
	struct race r[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){ kr, doc, theirs.pub, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, racer, &r[i]), 0);
	}
	struct keyring_query_item item = { "them.test", "", 0 };
	for (int i = 0; i < 50; i++) {
		json_t *resp = keyring_handle_query(kr, &item, 1);
		assert_int_equal(json_array_size(json_object_get(resp, "server_keys")), 1);
		json_decref(resp);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].failures, 0);
	}
	json_decref(doc);
	keyring_free(kr);
}

/* A server that accepts connections, counts them and never says a word. */
struct mute {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t lock;
	int conns[64];
	size_t n;
};

static void *mute_loop(void *arg)
{
	struct mute *m = arg;
	int fd;
	while ((fd = accept(m->fd, NULL, NULL)) >= 0) {
		pthread_mutex_lock(&m->lock);
		if (m->n < 64)
			m->conns[m->n++] = fd;
		else
			close(fd);
		pthread_mutex_unlock(&m->lock);
	}
	return NULL;
}

static void mute_start(struct mute *m)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(m->fd >= 0);
	assert_int_equal(bind(m->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(m->fd, 16), 0);
	assert_int_equal(getsockname(m->fd, (struct sockaddr *)&a, &alen), 0);
	m->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&m->thread, NULL, mute_loop, m), 0);
}

/* Connections accepted so far; waits a little for at least one, since
 * the accept thread may run after the client already gave up. */
static size_t mute_count(struct mute *m)
{
	size_t n = 0;
	for (int i = 0; i < 500 && n == 0; i++) {
		pthread_mutex_lock(&m->lock);
		n = m->n;
		pthread_mutex_unlock(&m->lock);
		if (n == 0)
			usleep(10000);
	}
	return n;
}

static void mute_stop(struct mute *m)
{
	shutdown(m->fd, SHUT_RDWR);
	pthread_join(m->thread, NULL);
	close(m->fd);
	for (size_t i = 0; i < m->n; i++)
		close(m->conns[i]);
	pthread_mutex_destroy(&m->lock);
}

static int64_t mono_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct getter {
	struct keyring *kr;
	const char *server;
	int rc;
};

static void *getter_run(void *arg)
{
	struct getter *g = arg;
	char err[256];
	unsigned char pub[32];
	g->rc = keyring_get(g->kr, g->server, "ed25519:a", 0, pub, err, sizeof(err));
	return NULL;
}

/* A dead origin and a dead notary: one lookup ends within the budget
 * (the per-fetch timeout, a minute here, would be the old wait), six
 * concurrent lookups make one connection to each, and later lookups fail
 * at once from the failure hold. */
static void test_dead_origin(void **state)
{
	(void)state;
	struct mute origin, notary;
	struct scop_ed25519 ours;
	char origin_name[64], notary_name[64], err[256];
	mute_start(&origin);
	mute_start(&notary);
	snprintf(origin_name, sizeof(origin_name), "127.0.0.1:%d", origin.port);
	snprintf(notary_name, sizeof(notary_name), "127.0.0.1:%d", notary.port);
	const char *no_verify[] = { origin_name, notary_name, NULL };
	struct fed_resolver *res = fed_resolver_new(&(struct fed_resolver_options){ .dns_forwarder = "127.0.0.1@1",
										    .no_verify = no_verify },
						    err, sizeof(err));
	assert_non_null(res);
	assert_int_equal(scop_ed25519_generate(&ours, "me"), 0);
	struct keyring_notary nt = { .server_name = notary_name, .key_id = "ed25519:n" };
	struct keyring_options opt = { .server_name = "me.test", .key = &ours, .resolver = res,
				       .notaries = &nt, .n_notaries = 1, .timeout_ms = 60000,
				       .origin_timeout_ms = 300, .fetch_budget_ms = 800 };
	struct keyring *kr = keyring_new(&opt);
	assert_non_null(kr);

	pthread_t t[6];
	struct getter g[6];
	int64_t start = mono_now_ms();
	for (int i = 0; i < 6; i++) {
		g[i] = (struct getter){ kr, origin_name, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, getter_run, &g[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(g[i].rc, -1);
	}
	/* Far below the minute one fetch could take; loose for busy machines. */
	assert_true(mono_now_ms() - start < 30000);
	assert_int_equal(mute_count(&origin), 1);
	assert_int_equal(mute_count(&notary), 1);
	unsigned char pub[32];
	assert_int_equal(keyring_get(kr, origin_name, "ed25519:b", 0, pub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "recently"));
	assert_int_equal(mute_count(&origin), 1);
	keyring_free(kr);
	fed_resolver_free(res);
	mute_stop(&origin);
	mute_stop(&notary);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_validity),
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_handlers),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_dead_origin),
	};
	return cmocka_run_group_tests_name("keyring", tests, NULL, NULL);
}
