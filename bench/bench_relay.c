/* Outbound relay throughput: messages/s from the spool through the relay
 * (load, DKIM-sign, route, SMTP to a loopback sink, durable record,
 * queue file removed) with one pass of relay_run_once over N queued
 * submission messages of ~2 KiB, one recipient each.  Routing comes from
 * a table resolver (dns_static: MX -> 127.0.0.1), so the figures are the
 * relay's own cost plus one TCP connection and SMTP transaction per
 * message (the relay opens one connection per message and domain).  The
 * sink is a thread in this process that reads with large buffers.
 *
 * Three runs: unsigned, RSA-2048 (rsa-sha256) and Ed25519 signatures.
 * The spool lives under the current directory (the build's disk).
 *
 * Usage: bench_relay [scale]   (scale multiplies the message count; 1) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/relay.h"
#include "bridge-smtp/relay_config.h"
#include "common/dns.h"
#include "common/log.h"

struct sink {
	int lfd;
	volatile int stop;
	long messages;
};

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

static void serve(struct sink *s, int fd)
{
	char buf[65536], line[1024];
	size_t ll = 0;
	int in_data = 0;
	say(fd, "220 sink ESMTP\r\n");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n; i++) {
			if (ll < sizeof(line) - 1)
				line[ll++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[ll] = '\0';
			ll = 0;
			if (in_data) {
				if (strcmp(line, ".\r\n") == 0) {
					in_data = 0;
					s->messages++;
					say(fd, "250 2.0.0 ok\r\n");
				}
			} else if (strncmp(line, "EHLO", 4) == 0) {
				say(fd, "250-sink\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n");
			} else if (strncmp(line, "DATA", 4) == 0) {
				in_data = 1;
				say(fd, "354 go\r\n");
			} else if (strncmp(line, "QUIT", 4) == 0) {
				say(fd, "221 bye\r\n");
				return;
			} else {
				say(fd, "250 ok\r\n");
			}
		}
	}
}

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	while (!s->stop) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(s, fd);
		close(fd);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_case(const char *name, int n, int port, EVP_PKEY *pkey, struct sink *sink)
{
	char dir[] = "bench-relay.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return -1;
	}
	struct spool sp;
	if (spool_open(&sp, dir, false, NULL) < 0) {
		perror("spool_open");
		return -1;
	}
	char msg[2300];
	int off = snprintf(msg, sizeof(msg),
			   "From: Alice <alice@local.test>\r\nTo: bob@remote.test\r\nSubject: relay bench\r\n"
			   "Date: Mon, 23 Nov 2026 20:00:00 +0000\r\nMessage-ID: <bench@local.test>\r\n\r\n");
	while (off < 2200)
		off += snprintf(msg + off, sizeof(msg) - (size_t)off, "The quick brown fox jumps over the lazy dog %d.\r\n",
				off);
	static const char *const rcpt[] = { "bob@remote.test" };
	struct spool_envelope env = { .listener = "submission", .client = "127.0.0.1", .helo = "c", .body = "7BIT",
				      .from = "alice@local.test", .rcpts = rcpt, .n_rcpts = 1,
				      .received = (int64_t)time(NULL) };
	for (int i = 0; i < n; i++) {
		char id[SPOOL_ID_MAX];
		if (spool_store(&sp, &env, msg, (size_t)off, id) < 0) {
			perror("spool_store");
			return -1;
		}
	}
	struct dns_resolver *dns = dns_static_new();
	dns_static_add(dns, "remote.test", DNS_MX, "10 mx.remote.test", (size_t)-1);
	dns_static_add(dns, "mx.remote.test", DNS_A, "127.0.0.1", (size_t)-1);
	char y[128], err[256];
	snprintf(y, sizeof(y), "relay: {port: %d, tls: none}\n", port);
	struct relay_config cfg;
	if (relay_config_parse(y, strlen(y), &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	struct dkim_privkey *key = NULL;
	struct relay_signer signer = { .domain = "local.test" };
	if (pkey) {
		key = dkim_privkey_from_pkey(pkey);
		struct dkim_sign_opts so = { .domain = "local.test", .selector = "s1", .hcanon = DKIM_CANON_RELAXED,
					     .bcanon = DKIM_CANON_RELAXED };
		signer.signer = dkim_signer_new(&so, key, err, sizeof(err));
	}
	static const char *const local[] = { "local.test" };
	struct relay_opts o = { .hostname = "out.local.test", .local_domains = local, .n_local_domains = 1,
				.cfg = &cfg, .dns = dns, .spool = &sp, .signers = &signer, .n_signers = pkey ? 1 : 0 };
	struct relay *r = relay_new(&o, err, sizeof(err));
	long before = sink->messages;
	struct relay_stats st;
	double t0 = now_s();
	relay_run_once(r, (int64_t)time(NULL), &st);
	double dt = now_s() - t0;
	printf("%-28s %6d messages  %8.1f msg/s  (%zu sent, %ld at the sink)\n", name, n, n / dt, st.sent,
	       sink->messages - before);
	relay_free(r);
	dkim_signer_free(signer.signer);
	dkim_privkey_free(key);
	relay_config_free(&cfg);
	dns_resolver_free(dns);
	spool_close(&sp);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 1;
	if (scale < 1)
		scale = 1;
	scop_log_init("bench_relay", SCOP_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	struct sink sink = { 0 };
	sink.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (bind(sink.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(sink.lfd, 64) < 0 ||
	    getsockname(sink.lfd, (struct sockaddr *)&a, &al) < 0) {
		perror("sink");
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, sink_main, &sink);
	int port = ntohs(a.sin_port);
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int n = 500 * scale;
	int rc = 0;
	rc |= run_case("unsigned", n, port, NULL, &sink);
	rc |= run_case("DKIM rsa-sha256 (2048)", n, port, rsa, &sink);
	rc |= run_case("DKIM ed25519-sha256", n, port, ed, &sink);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS %.1f MiB\n", ru.ru_maxrss / 1024.0);
	sink.stop = 1;
	pthread_join(th, NULL);
	close(sink.lfd);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	return rc ? 1 : 0;
}
