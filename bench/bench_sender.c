/* Federation sender throughput: transactions/s and PDUs/s pushed over
 * HTTPS (TLS 1.3, keep-alive) to a local sink, by the one sender thread.
 *
 * The sink is a tiny in-process TLS server (OpenSSL, a thread per
 * connection, self-signed P-256 certificate made at start-up) that reads
 * each request and answers 200 {} without parsing JSON, so the figures are
 * the sender's cost: building and signing (X-Matrix, Ed25519) each
 * transaction, libcurl and TLS.  The destinations are on the resolver's
 * no-verify list and reach the sink through address overrides.
 *
 *   bench_sender [DESTINATIONS [PDUS_PER_DESTINATION]]   (default 10 2000)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/httpc.h"
#include "federation/resolver.h"
#include "federation/sender.h"

#define MAX_DESTS 64

struct sink {
	int fd;
	int port;
	SSL_CTX *ctx;
	pthread_mutex_t lock;
	unsigned long requests;
	int conns; /* connection threads still running */
};

static SSL_CTX *make_ctx(void)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (pkey == NULL || x == NULL || ctx == NULL)
		return NULL;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"bench.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, pkey, EVP_sha256()) == 0 || SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		return NULL;
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

struct conn {
	struct sink *s;
	int fd;
};

/* Reads requests (headers, then Content-Length bytes) and answers each. */
static void *serve(void *arg)
{
	struct conn *c = arg;
	SSL *ssl = SSL_new(c->s->ctx);
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	char *buf = malloc(1 << 20);
	size_t have = 0;
	SSL_set_fd(ssl, c->fd);
	if (buf == NULL || SSL_accept(ssl) != 1)
		goto out;
	for (;;) {
		char *end;
		buf[have] = '\0';
		while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
			int n = SSL_read(ssl, buf + have, (int)((1 << 20) - 1 - have));
			if (n <= 0)
				goto out;
			have += (size_t)n;
			buf[have] = '\0';
		}
		size_t clen = 0;
		for (char *p = buf; p < end; p++) {
			if ((p == buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0)
				clen = strtoul(p + 15, NULL, 10);
		}
		size_t need = (size_t)(end + 4 - buf) + clen;
		if (need >= (1 << 20))
			goto out;
		while (have < need) {
			int n = SSL_read(ssl, buf + have, (int)((1 << 20) - 1 - have));
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		memmove(buf, buf + need, have - need);
		have -= need;
		pthread_mutex_lock(&c->s->lock);
		c->s->requests++;
		pthread_mutex_unlock(&c->s->lock);
		if (SSL_write(ssl, reply, sizeof(reply) - 1) <= 0)
			goto out;
	}
out:
	SSL_free(ssl);
	close(c->fd);
	free(buf);
	pthread_mutex_lock(&c->s->lock);
	c->s->conns--;
	pthread_mutex_unlock(&c->s->lock);
	free(c);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct sink *s = arg;
	for (;;) {
		int fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		struct conn *c = malloc(sizeof(*c));
		pthread_t t;
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->lock);
		s->conns++;
		pthread_mutex_unlock(&s->lock);
		if (pthread_create(&t, NULL, serve, c) != 0) {
			pthread_mutex_lock(&s->lock);
			s->conns--;
			pthread_mutex_unlock(&s->lock);
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(struct fed_resolver *r, const struct scop_ed25519 *key, const char *dests[], int nd, int pdus,
	       int edus, const char *label)
{
	struct fed_sender_options opt = { .origin = "origin.bench.test", .key = key, .resolver = r,
					  .max_edus = (size_t)edus + 1 };
	struct fed_sender *s = fed_sender_new(&opt);
	if (s == NULL)
		return -1;
	json_t *pdu = json_pack("{ss ss ss s{ss ss} sI s[s] s[s] si}", "type", "m.room.message", "room_id",
				"!bench:origin.bench.test", "sender", "@alice:origin.bench.test", "content", "msgtype",
				"m.text", "body", "a benchmark message of ordinary length", "origin_server_ts",
				(json_int_t)1700000000000LL, "prev_events", "$prev", "auth_events", "$auth", "depth", 10);
	json_t *edu = json_pack("{ss s{ss ss sb}}", "edu_type", "m.typing", "content", "room_id",
				"!bench:origin.bench.test", "user_id", "@alice:origin.bench.test", "typing", 1);
	for (int i = 0; i < pdus || i < edus; i++)
		for (int d = 0; d < nd; d++) {
			if (i < pdus)
				fed_sender_queue_pdu(s, dests[d], pdu);
			if (i < edus)
				fed_sender_queue_edu(s, dests[d], edu);
		}
	double t0 = now_s();
	int rc = fed_sender_start(s) == 0 ? fed_sender_wait_idle(s, 600000) : -1;
	double dt = now_s() - t0;
	struct fed_sender_stats st;
	fed_sender_get_stats(s, &st);
	fed_sender_free(s);
	json_decref(pdu);
	json_decref(edu);
	if (rc != 0 || st.txns_failed > 0) {
		fprintf(stderr, "bench_sender: %s did not finish (%llu failed)\n", label,
			(unsigned long long)st.txns_failed);
		return -1;
	}
	printf("%-10s %2d destinations: %6llu txns, %7llu PDUs, %7llu EDUs in %.2f s: %8.0f txn/s %9.0f PDU/s %9.0f EDU/s\n",
	       label, nd, (unsigned long long)st.txns_sent, (unsigned long long)st.pdus_sent,
	       (unsigned long long)st.edus_sent, dt, st.txns_sent / dt, st.pdus_sent / dt, st.edus_sent / dt);
	return 0;
}

int main(int argc, char **argv)
{
	int nd = argc > 1 ? atoi(argv[1]) : 10;
	int per = argc > 2 ? atoi(argv[2]) : 2000;
	if (nd < 1 || nd > MAX_DESTS || per < 1) {
		fprintf(stderr, "usage: bench_sender [DESTINATIONS (1-%d) [PDUS_PER_DESTINATION]]\n", MAX_DESTS);
		return 2;
	}
	httpc_global_init();
	struct sink sink = { .fd = -1 };
	pthread_mutex_init(&sink.lock, NULL);
	sink.ctx = make_ctx();
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	sink.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (sink.ctx == NULL || sink.fd < 0 || bind(sink.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(sink.fd, 128) != 0 || getsockname(sink.fd, (struct sockaddr *)&sa, &sl) != 0) {
		fprintf(stderr, "bench_sender: cannot start the sink\n");
		return 1;
	}
	sink.port = ntohs(sa.sin_port);
	pthread_t acc;
	pthread_create(&acc, NULL, accept_loop, &sink);
	pthread_detach(acc);

	static char names[MAX_DESTS][64], over[MAX_DESTS][128];
	const char *dests[MAX_DESTS + 1] = { 0 }, *overs[MAX_DESTS + 1] = { 0 };
	for (int i = 0; i < nd; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d.bench.test:%d", i, sink.port);
		snprintf(over[i], sizeof(over[i]), "d%d.bench.test:%d:127.0.0.1:%d", i, sink.port, sink.port);
		dests[i] = names[i];
		overs[i] = over[i];
	}
	char err[256];
	struct fed_resolver_options ro = { .dns_forwarder = "127.0.0.1@1", .no_verify = dests, .overrides = overs };
	struct fed_resolver *r = fed_resolver_new(&ro, err, sizeof(err));
	struct scop_ed25519 key;
	if (r == NULL || scop_ed25519_generate(&key, "bench") != 0) {
		fprintf(stderr, "bench_sender: %s\n", err);
		return 1;
	}
	printf("sink: in-process TLS 1.3 HTTP/1.1 sink on 127.0.0.1:%d (answers 200 {})\n", sink.port);
	int rc = 0;
	rc |= run(r, &key, dests, nd, per, 0, "PDUs");
	rc |= run(r, &key, dests, nd, 0, per, "EDUs");
	rc |= run(r, &key, dests, 1, per * 2, 0, "PDUs, 1");
	printf("sink saw %lu requests\n", sink.requests);
	fed_resolver_free(r);
	scop_ed25519_clear(&key);
	/* The senders are gone, so their connections are closed: wait for
	 * the sink's threads to see that and finish. */
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&sink.lock);
		int left = sink.conns;
		pthread_mutex_unlock(&sink.lock);
		if (left == 0)
			break;
		usleep(10000);
	}
	shutdown(sink.fd, SHUT_RDWR);
	close(sink.fd);
	SSL_CTX_free(sink.ctx);
	return rc ? 1 : 0;
}
