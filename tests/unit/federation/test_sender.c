/* sender.h: backoff arithmetic, queue rules (bad names, EDU limit,
 * persistence hooks), retries against a closed loopback port with a clean
 * shutdown, and against a scripted local HTTPS peer: 4xx answers drop a
 * transaction after max_rejections, 5xx and 429 keep retrying, and the
 * memory cap spills PDUs to a (fake) store that refills the queue in order.
 * Delivery between servers is tested end to end in
 * tests/e2e/test_federation_net.py. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "federation/sender.h"

/* ---- a scripted HTTPS peer: one connection at a time ---- */

#define SINK_MAX 256

struct sink {
	int fd, port;
	SSL_CTX *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	long script[16];         /* statuses for the first requests, then dflt */
	size_t nscript;
	long dflt;
	size_t requests;
	char txn_ids[SINK_MAX][64];
	long accepted[SINK_MAX]; /* "n" of each PDU answered 200, in order */
	size_t naccepted;
};

static SSL_CTX *sink_ctx(void)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(pkey);
	assert_non_null(x);
	assert_non_null(ctx);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sink.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_int_not_equal(X509_sign(x, pkey, EVP_sha256()), 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

/* One request: records it and answers from the script.  -1 when the
 * connection ends. */
static int sink_one(struct sink *k, SSL *ssl, char *buf, size_t cap, size_t *have)
{
	char *end;
	buf[*have] = '\0';
	while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
		int n = SSL_read(ssl, buf + *have, (int)(cap - 1 - *have));
		if (n <= 0)
			return -1;
		*have += (size_t)n;
		buf[*have] = '\0';
	}
	size_t clen = 0;
	for (char *p = buf; p < end; p++)
		if ((p == buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0)
			clen = strtoul(p + 15, NULL, 10);
	size_t head = (size_t)(end + 4 - buf), need = head + clen;
	if (need >= cap)
		return -1;
	while (*have < need) {
		int n = SSL_read(ssl, buf + *have, (int)(cap - 1 - *have));
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
	json_t *txn = json_loadb(buf + head, clen, 0, NULL);
	pthread_mutex_lock(&k->lock);
	size_t i = k->requests++;
	long status = i < k->nscript ? k->script[i] : k->dflt;
	const char *id = strstr(buf, "/send/");
	if (i < SINK_MAX && id != NULL)
		sscanf(id + 6, "%63[^ ]", k->txn_ids[i]);
	if (status == 200) {
		size_t j;
		json_t *pdu;
		json_array_foreach(json_object_get(txn, "pdus"), j, pdu)
			if (k->naccepted < SINK_MAX)
				k->accepted[k->naccepted++] = (long)json_integer_value(json_object_get(pdu, "n"));
	}
	pthread_mutex_unlock(&k->lock);
	json_decref(txn);
	memmove(buf, buf + need, *have - need);
	*have -= need;
	char reply[160];
	int len = snprintf(reply, sizeof(reply),
			   "HTTP/1.1 %ld X\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", status);
	return SSL_write(ssl, reply, len) > 0 ? 0 : -1;
}

static void *sink_loop(void *arg)
{
	struct sink *k = arg;
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	int fd;
	assert_non_null(buf);
	while ((fd = accept(k->fd, NULL, NULL)) >= 0) {
		SSL *ssl = SSL_new(k->ctx);
		size_t have = 0;
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1)
			while (sink_one(k, ssl, buf, cap, &have) == 0)
				;
		SSL_free(ssl);
		close(fd);
	}
	free(buf);
	return NULL;
}

static void sink_start(struct sink *k, long dflt)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	memset(k, 0, sizeof(*k));
	k->dflt = dflt;
	k->ctx = sink_ctx();
	pthread_mutex_init(&k->lock, NULL);
	k->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(k->fd >= 0);
	assert_int_equal(bind(k->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(k->fd, 8), 0);
	assert_int_equal(getsockname(k->fd, (struct sockaddr *)&a, &alen), 0);
	k->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&k->thread, NULL, sink_loop, k), 0);
}

/* After the sender is freed (its connection closed). */
static void sink_stop(struct sink *k)
{
	shutdown(k->fd, SHUT_RDWR);
	pthread_join(k->thread, NULL);
	close(k->fd);
	SSL_CTX_free(k->ctx);
	pthread_mutex_destroy(&k->lock);
}

/* ---- a fake outbox: the store side of the persistence hooks ---- */

struct outbox {
	char *rows[SINK_MAX];
	size_t n;
	size_t loads;
	size_t delivered;
};

static void ob_queued(void *ctx, const char *dest, const char *pdu)
{
	struct outbox *o = ctx;
	(void)dest;
	assert_true(o->n < SINK_MAX);
	o->rows[o->n++] = strdup(pdu);
}

static void ob_delivered(void *ctx, const char *dest, size_t n)
{
	struct outbox *o = ctx;
	(void)dest;
	assert_true(n <= o->n);
	for (size_t i = 0; i < n; i++)
		free(o->rows[i]);
	memmove(o->rows, o->rows + n, (o->n - n) * sizeof(char *));
	o->n -= n;
	o->delivered += n;
}

static int ob_load(void *ctx, const char *dest, size_t limit, char ***pdus, size_t *n)
{
	struct outbox *o = ctx;
	(void)dest;
	o->loads++;
	*n = o->n < limit ? o->n : limit;
	*pdus = calloc(*n + 1, sizeof(char *));
	for (size_t i = 0; i < *n; i++)
		(*pdus)[i] = strdup(o->rows[i]);
	return 0;
}

static void ob_free(struct outbox *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->rows[i]);
	o->n = 0;
}

struct peer_test {
	struct scop_ed25519 key;
	struct sink sink;
	struct outbox ob;
	struct fed_resolver *resolver;
	struct fed_sender *s;
	char dest[64];
};

static void peer_setup(struct peer_test *t, long dflt, size_t max_pdus, int with_load)
{
	char err[128];
	memset(t, 0, sizeof(*t));
	assert_int_equal(scop_ed25519_generate(&t->key, "k"), 0);
	sink_start(&t->sink, dflt);
	snprintf(t->dest, sizeof(t->dest), "127.0.0.1:%d", t->sink.port);
	const char *no_verify[] = { t->dest, NULL };
	t->resolver = fed_resolver_new(&(struct fed_resolver_options){ .dns_forwarder = "127.0.0.1@1",
									.no_verify = no_verify }, err, sizeof(err));
	assert_non_null(t->resolver);
	struct fed_sender_options opt = {
		.origin = "me.test", .key = &t->key, .resolver = t->resolver, .backoff_base_ms = 10,
		.backoff_max_ms = 40, .request_timeout_ms = 5000, .max_pdus = max_pdus,
		.persist = { .pdu_queued = ob_queued, .pdus_delivered = ob_delivered,
			     .pdus_load = with_load ? ob_load : NULL, .ctx = &t->ob },
	};
	t->s = fed_sender_new(&opt);
	assert_non_null(t->s);
}

static void peer_teardown(struct peer_test *t)
{
	fed_sender_free(t->s);
	sink_stop(&t->sink);
	fed_resolver_free(t->resolver);
	ob_free(&t->ob);
}

static void queue_n(struct peer_test *t, int from, int to)
{
	for (int i = from; i < to; i++) {
		json_t *pdu = json_pack("{ss si}", "type", "m.room.message", "n", i);
		assert_int_equal(fed_sender_queue_pdu(t->s, t->dest, pdu), 0);
		json_decref(pdu);
	}
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(fed_backoff_ms(0, 1000, 3600000, 7), 0);
	for (uint32_t rnd = 0; rnd < 2000; rnd += 97) {
		long d1 = fed_backoff_ms(1, 1000, 3600000, rnd);
		long d3 = fed_backoff_ms(3, 1000, 3600000, rnd);
		long d40 = fed_backoff_ms(40, 1000, 3600000, rnd);
		assert_true(d1 >= 500 && d1 <= 1000);
		assert_true(d3 >= 2000 && d3 <= 4000);
		assert_true(d40 >= 1800000 && d40 <= 3600000);
	}
	assert_int_equal(fed_backoff_ms(UINT32_MAX, 1000, 3600000, 0), 1800000);
}

struct hook_log {
	int queued;
	size_t delivered;
	char last_dest[256];
};

static void on_queued(void *ctx, const char *dest, const char *pdu)
{
	struct hook_log *l = ctx;
	l->queued++;
	snprintf(l->last_dest, sizeof(l->last_dest), "%s", dest);
	assert_non_null(strstr(pdu, "\"type\""));
}

static void on_delivered(void *ctx, const char *dest, size_t n)
{
	struct hook_log *l = ctx;
	(void)dest;
	l->delivered += n;
}

static void test_queue_rules(void **state)
{
	(void)state;
	struct scop_ed25519 key;
	char err[128];
	assert_int_equal(scop_ed25519_generate(&key, "k"), 0);
	struct fed_resolver *r = fed_resolver_new(&(struct fed_resolver_options){ .dns_forwarder = "127.0.0.1@1" },
						  err, sizeof(err));
	assert_non_null(r);
	struct hook_log log = { 0 };
	struct fed_sender_options opt = { .origin = "me.test", .key = &key, .resolver = r, .max_edus = 10,
					  .persist = { .pdu_queued = on_queued, .pdus_delivered = on_delivered, .ctx = &log } };
	struct fed_sender *s = fed_sender_new(&opt);
	assert_non_null(s);
	json_t *pdu = json_pack("{ss}", "type", "m.room.message");
	json_t *edu = json_pack("{ss}", "edu_type", "m.typing");
	assert_int_equal(fed_sender_queue_pdu(s, "them.test", pdu), 0);
	assert_int_equal(fed_sender_queue_pdu(s, "bad name", pdu), -1);
	assert_int_equal(fed_sender_queue_pdu(s, "me.test", pdu), -1);
	assert_int_equal(fed_sender_queue_pdu(s, "them.test", NULL), -1);
	assert_int_equal(log.queued, 1);
	assert_string_equal(log.last_dest, "them.test");
	for (int i = 0; i < 25; i++)
		assert_int_equal(fed_sender_queue_edu(s, "them.test", edu), 0);
	struct fed_sender_stats st;
	fed_sender_get_stats(s, &st);
	assert_int_equal(st.edus_dropped, 15);
	/* Not started: nothing moves. */
	assert_int_equal(fed_sender_wait_idle(s, 50), -1);
	fed_sender_free(s);
	assert_int_equal(log.delivered, 0);
	json_decref(pdu);
	json_decref(edu);
	fed_resolver_free(r);
}

static void test_retries_then_shutdown(void **state)
{
	(void)state;
	struct scop_ed25519 key;
	char err[128];
	assert_int_equal(scop_ed25519_generate(&key, "k"), 0);
	struct fed_resolver *r = fed_resolver_new(&(struct fed_resolver_options){ .dns_forwarder = "127.0.0.1@1" },
						  err, sizeof(err));
	struct fed_sender_options opt = { .origin = "me.test", .key = &key, .resolver = r, .backoff_base_ms = 10,
					  .backoff_max_ms = 40, .request_timeout_ms = 2000 };
	struct fed_sender *s = fed_sender_new(&opt);
	assert_non_null(s);
	json_t *pdu = json_pack("{ss}", "type", "m.room.message");
	/* Port 1 on loopback: connection refused, so every attempt fails. */
	assert_int_equal(fed_sender_queue_pdu(s, "127.0.0.1:1", pdu), 0);
	assert_int_equal(fed_sender_start(s), 0);
	struct fed_sender_stats st = { 0 };
	for (int i = 0; i < 200 && st.txns_failed < 3; i++) {
		usleep(20000);
		fed_sender_get_stats(s, &st);
	}
	assert_true(st.txns_failed >= 3);
	assert_int_equal(st.txns_sent, 0);
	assert_int_equal(fed_sender_wait_idle(s, 30), -1); /* the PDU is kept */
	fed_sender_free(s);
	json_decref(pdu);
	fed_resolver_free(r);
}

/* Other 4xx answers are final: after three the transaction is dropped
 * (and cleared from the store), and the destination goes on. */
static void test_refused_dropped(void **state)
{
	(void)state;
	struct peer_test *t = calloc(1, sizeof(*t));
	peer_setup(t, 200, 0, 1);
	t->sink.script[0] = t->sink.script[1] = t->sink.script[2] = 400;
	t->sink.nscript = 3;
	queue_n(t, 0, 2);
	assert_int_equal(fed_sender_start(t->s), 0);
	assert_int_equal(fed_sender_wait_idle(t->s, 20000), 0);
	struct fed_sender_stats st;
	fed_sender_get_stats(t->s, &st);
	assert_int_equal(st.txns_rejected, 3);
	assert_int_equal(st.txns_dropped, 1);
	assert_int_equal(st.pdus_dropped, 2);
	assert_int_equal(st.txns_sent, 0);
	assert_int_equal(t->ob.n, 0);
	assert_int_equal(t->ob.delivered, 2);
	assert_int_equal(t->sink.requests, 3);
	assert_string_equal(t->sink.txn_ids[0], t->sink.txn_ids[2]); /* the same txn each time */
	/* The next PDU gets through. */
	queue_n(t, 2, 3);
	assert_int_equal(fed_sender_wait_idle(t->s, 20000), 0);
	fed_sender_get_stats(t->s, &st);
	assert_int_equal(st.txns_sent, 1);
	assert_int_equal(t->sink.naccepted, 1);
	assert_int_equal(t->sink.accepted[0], 2);
	assert_string_not_equal(t->sink.txn_ids[3], t->sink.txn_ids[0]);
	peer_teardown(t);
	free(t);
}

/* 5xx, 429 and 401 are not final: the same transaction is retried until
 * it gets through, however many times. */
static void test_server_errors_retried(void **state)
{
	(void)state;
	struct peer_test *t = calloc(1, sizeof(*t));
	peer_setup(t, 200, 0, 1);
	long script[] = { 500, 502, 429, 429, 429, 401, 401, 401, 429, 503 };
	memcpy(t->sink.script, script, sizeof(script));
	t->sink.nscript = sizeof(script) / sizeof(script[0]);
	queue_n(t, 0, 3);
	assert_int_equal(fed_sender_start(t->s), 0);
	assert_int_equal(fed_sender_wait_idle(t->s, 30000), 0);
	struct fed_sender_stats st;
	fed_sender_get_stats(t->s, &st);
	assert_int_equal(st.txns_failed, 10);
	assert_int_equal(st.txns_rejected, 0);
	assert_int_equal(st.txns_dropped, 0);
	assert_int_equal(st.txns_sent, 1);
	assert_int_equal(st.pdus_sent, 3);
	assert_int_equal(t->sink.requests, 11);
	for (size_t i = 1; i < 11; i++)
		assert_string_equal(t->sink.txn_ids[i], t->sink.txn_ids[0]);
	assert_int_equal(t->ob.n, 0);
	peer_teardown(t);
	free(t);
}

/* With a load hook PDUs wait in the store and are read back max_pdus at
 * a time, in order. */
static void test_spill_and_refill(void **state)
{
	(void)state;
	struct peer_test *t = calloc(1, sizeof(*t));
	peer_setup(t, 200, 5, 1);
	queue_n(t, 0, 23);
	assert_int_equal(fed_sender_queued_pdus(t->s, t->dest), 0); /* the store is the queue */
	assert_int_equal(t->ob.n, 23);
	assert_int_equal(fed_sender_start(t->s), 0);
	assert_int_equal(fed_sender_wait_idle(t->s, 30000), 0);
	assert_int_equal(t->sink.naccepted, 23);
	for (size_t i = 0; i < 23; i++)
		assert_int_equal(t->sink.accepted[i], (long)i);
	assert_int_equal(t->ob.n, 0);
	assert_true(t->ob.loads >= 4);
	peer_teardown(t);
	free(t);
}

/* After a restart: the store has PDUs the sender never saw. */
static void test_resume(void **state)
{
	(void)state;
	struct peer_test *t = calloc(1, sizeof(*t));
	peer_setup(t, 200, 4, 1);
	for (int i = 0; i < 9; i++) {
		char row[64];
		snprintf(row, sizeof(row), "{\"type\":\"m.room.message\",\"n\":%d}", i);
		t->ob.rows[t->ob.n++] = strdup(i == 3 ? "not json" : row);
	}
	assert_int_equal(fed_sender_resume(t->s, t->dest), 0);
	assert_int_equal(fed_sender_resume(t->s, "bad name"), -1);
	assert_int_equal(fed_sender_queued_pdus(t->s, t->dest), 0);
	queue_n(t, 9, 11); /* after what the store has */
	assert_int_equal(fed_sender_queued_pdus(t->s, t->dest), 0);
	assert_int_equal(fed_sender_start(t->s), 0);
	assert_int_equal(fed_sender_wait_idle(t->s, 30000), 0);
	/* The unreadable row is skipped, the rest arrive in order. */
	assert_int_equal(t->sink.naccepted, 10);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(t->sink.accepted[i], (long)(i < 3 ? i : i + 1));
	assert_int_equal(t->ob.n, 0);
	peer_teardown(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_queue_rules),
		cmocka_unit_test(test_retries_then_shutdown),
		cmocka_unit_test(test_refused_dropped),
		cmocka_unit_test(test_server_errors_retried),
		cmocka_unit_test(test_spill_and_refill),
		cmocka_unit_test(test_resume),
	};
	return cmocka_run_group_tests_name("sender", tests, NULL, NULL);
}
