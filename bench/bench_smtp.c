/* SMTP accept-and-spool throughput: the real server (epoll loop, session
 * state machine, durable spool with fsync) on a loopback port in this
 * process, and 1 or 50 client threads sending 10 KiB and 1 MiB messages
 * over plain SMTP with PIPELINING.  A message counts when its 250 has
 * arrived, i.e. after it was fsynced and renamed into the queue.
 *
 * The spool lives in a fresh directory under the current directory (so on
 * the disk the build is on, not a tmpfs) and is removed afterwards.  Peak
 * RSS is the whole process's, clients included.
 *
 * Then the same with mail authentication on (mx_auth: SPF, DKIM, DMARC,
 * Authentication-Results written into the spooled message, as the MX
 * listener does by default): messages DKIM-signed with RSA-2048, records
 * from a table resolver (dns_static), so the figures are the checks' CPU
 * and the spool rewrite, not network round trips.
 *
 * Usage: bench_smtp [scale]   (scale multiplies the message counts; 1) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bridge-smtp/dkim.h"
#include "common/dns.h"
#include "bridge-smtp/mx_auth.h"
#include "bridge-smtp/pubsuffix.h"
#include "bridge-smtp/smtp_server.h"
#include "bridge-smtp/spool.h"
#include "common/log.h"

struct client {
	pthread_t thread;
	int port;
	const char *msg;
	size_t msglen;
	int count;
	int ok;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one complete reply (the last line of a multi-line one) and
 * returns its code, or -1. */
struct reader {
	int fd;
	char buf[8192];
	size_t len;
};

static int read_reply(struct reader *r)
{
	for (;;) {
		char *eol = memmem(r->buf, r->len, "\r\n", 2);
		if (eol) {
			size_t ll = (size_t)(eol - r->buf) + 2;
			int code = atoi(r->buf);
			bool last = ll >= 6 && r->buf[3] == ' ';
			memmove(r->buf, r->buf + ll, r->len - ll);
			r->len -= ll;
			if (last)
				return code;
			continue;
		}
		if (r->len == sizeof(r->buf))
			return -1;
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (n <= 0)
			return -1;
		r->len += (size_t)n;
	}
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct reader r = { .fd = socket(AF_INET, SOCK_STREAM, 0) };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(r.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(r.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || read_reply(&r) != 220)
		goto out;
	static const char ehlo[] = "EHLO bench.example\r\n";
	if (send_all(r.fd, ehlo, sizeof(ehlo) - 1) < 0 || read_reply(&r) != 250)
		goto out;
	static const char env[] = "MAIL FROM:<bench@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n";
	for (int i = 0; i < c->count; i++) {
		if (send_all(r.fd, env, sizeof(env) - 1) < 0 || read_reply(&r) != 250 || read_reply(&r) != 250 ||
		    read_reply(&r) != 354)
			goto out;
		if (send_all(r.fd, c->msg, c->msglen) < 0 || send_all(r.fd, ".\r\n", 3) < 0 ||
		    read_reply(&r) != 250)
			goto out;
		c->ok++;
	}
	send_all(r.fd, "QUIT\r\n", 6);
	read_reply(&r);
out:
	close(r.fd);
	return NULL;
}

static char *make_message(size_t size, size_t *len, struct dkim_privkey *key)
{
	char *m = malloc(size + 200);
	size_t n = (size_t)snprintf(m, 200, "From: bench@remote.example\r\nTo: bob@example.org\r\n"
					    "Subject: bench\r\n\r\n");
	while (n + 80 <= size) {
		memset(m + n, 'a' + (char)(n % 26), 78);
		memcpy(m + n + 78, "\r\n", 2);
		n += 80;
	}
	*len = n;
	if (key) {
		struct dkim_sign_opts o = { .domain = "remote.example", .selector = "sel",
					    .hcanon = DKIM_CANON_RELAXED, .bcanon = DKIM_CANON_RELAXED };
		struct buf sig = BUF_INIT;
		char err[128];
		if (dkim_sign(&o, key, m, n, &sig, err, sizeof(err)) < 0 || buf_append(&sig, m, n) < 0) {
			fprintf(stderr, "dkim_sign: %s\n", err);
			exit(1);
		}
		free(m);
		*len = sig.len;
		return sig.data;
	}
	return m;
}

/* What the disk allows: the same write, fsync, rename, fsync-directory
 * sequence as the spool, without SMTP, one message at a time. */
static void fsync_baseline(const char *dir)
{
	char tmp[300], dst[300], q[256];
	char data[10240];
	memset(data, 'x', sizeof(data));
	snprintf(q, sizeof(q), "%s/probe", dir);
	if (mkdir(q, 0700) < 0)
		return;
	int dfd = open(q, O_RDONLY | O_DIRECTORY);
	int n = 200;
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s/t%d", dir, i);
		snprintf(dst, sizeof(dst), "%s/%d", q, i);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, data, sizeof(data)) != (ssize_t)sizeof(data) || fsync(fd) < 0 ||
		    close(fd) < 0 || rename(tmp, dst) < 0 || fsync(dfd) < 0)
			break;
	}
	double dt = now_s() - t0;
	printf("disk baseline (10 KiB write+fsync+rename+fsync dir, serial): %.1f/s\n", n / dt);
	for (int i = 0; i < n; i++) {
		snprintf(dst, sizeof(dst), "%s/%d", q, i);
		unlink(dst);
	}
	close(dfd);
	rmdir(q);
}

struct server_thread {
	pthread_t t;
	struct smtp_server *srv;
};

static void *server_main(void *arg)
{
	struct server_thread *st = arg;
	smtp_server_run(st->srv);
	return NULL;
}

static void run_case(int port, size_t size, int clients, int per_client, struct dkim_privkey *key)
{
	size_t len;
	char *msg = make_message(size, &len, key);
	struct client *cs = calloc((size_t)clients, sizeof(*cs));
	double t0 = now_s();
	for (int i = 0; i < clients; i++) {
		cs[i] = (struct client){ .port = port, .msg = msg, .msglen = len, .count = per_client };
		pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
	}
	int ok = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(cs[i].thread, NULL);
		ok += cs[i].ok;
	}
	double dt = now_s() - t0;
	printf("smtp accept+spool%s: %4zu KiB messages, %2d client(s): %5d msgs in %6.2f s = %8.1f msg/s, %7.2f MB/s%s\n",
	       key ? " +auth" : "", size / 1024, clients, ok, dt, ok / dt, (double)ok * (double)len / dt / 1e6,
	       ok == clients * per_client ? "" : "  (SOME FAILED)");
	fflush(stdout);
	free(cs);
	free(msg);
}

/* One server on a loopback port through the four cases; with pool,
 * every message is authenticated before its commit, and the clients'
 * messages are signed with key. */
static int bench_server(struct spool *sp, struct mx_auth_pool *pool, struct dkim_privkey *key, int scale)
{
	static const char *const domains[] = { "example.org" };
	struct smtp_server_config cfg = {
		.hostname = "bench.example",
		.local_domains = domains,
		.n_local_domains = 1,
		.idle_timeout_s = 60,
		.session_timeout_s = 600,
		.max_sessions = 1000,
		.spool = sp,
		.mx_check = pool ? mx_auth_smtp_check : NULL,
		.mx_check_ctx = pool,
	};
	smtp_limits_default(&cfg.limits);
	cfg.limits.max_messages = 100000;
	cfg.limits.max_commands = 1000000;
	struct server_thread st = { .srv = smtp_server_new(&cfg) };
	char err[256];
	if (!st.srv || smtp_server_listen(st.srv, "127.0.0.1", 0, SMTP_ROLE_MX, err, sizeof(err)) < 0) {
		fprintf(stderr, "server: %s\n", st.srv ? err : "cannot create");
		return -1;
	}
	int port = smtp_server_port(st.srv, 0);
	pthread_create(&st.t, NULL, server_main, &st);
	run_case(port, 10 * 1024, 1, 1000 * scale, key);
	run_case(port, 10 * 1024, 50, 40 * scale, key);
	run_case(port, 1024 * 1024, 1, 100 * scale, key);
	run_case(port, 1024 * 1024, 50, 4 * scale, key);
	smtp_server_stop(st.srv);
	pthread_join(st.t, NULL);
	smtp_server_free(st.srv);
	return 0;
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 1;
	if (scale < 1)
		scale = 1;
	signal(SIGPIPE, SIG_IGN);
	scop_log_init("bench_smtp", SCOP_LOG_WARN);
	char dir[] = "./bench-smtp-spool.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	struct spool sp;
	if (spool_open(&sp, dir, true, NULL) < 0) {
		perror("spool_open");
		return 1;
	}
	printf("spool on the build directory's file system; every message fsynced before its 250\n");
	fsync_baseline(dir);
	if (bench_server(&sp, NULL, NULL, scale) < 0)
		return 1;

	/* Mail authentication on: the records the signed messages need. */
	struct dns_resolver *dns = dns_static_new();
	static const char psl_text[] = "example\n";
	struct psl *psl = psl_load_buffer(psl_text, sizeof(psl_text) - 1, NULL, 0);
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct dkim_privkey *key = pk ? dkim_privkey_from_pkey(pk) : NULL;
	struct buf rec = BUF_INIT;
	EVP_PKEY_free(pk);
	if (!dns || !psl || !key || dkim_pubkey_record(dkim_privkey_pkey(key), &rec) < 0 ||
	    dns_static_add(dns, "remote.example", DNS_TXT, "v=spf1 ip4:127.0.0.1 -all", (size_t)-1) < 0 ||
	    dns_static_add(dns, "_dmarc.remote.example", DNS_TXT, "v=DMARC1; p=reject", (size_t)-1) < 0 ||
	    dns_static_add(dns, "sel._domainkey.remote.example", DNS_TXT, rec.data, (size_t)-1) < 0) {
		fprintf(stderr, "cannot set up mail authentication\n");
		return 1;
	}
	struct mx_auth_config mc = { .authserv_id = "bench.example", .dns = dns, .psl = psl, .budget_ms = 5000 };
	mx_auth_policy_default(&mc.policy);
	struct mx_auth_pool *pool = mx_auth_pool_new(&mc, 64);
	struct mx_auth_verdict v;
	size_t len;
	char *probe = make_message(10 * 1024, &len, key);
	struct mx_auth *a = mx_auth_pool_take(pool);
	struct mx_auth_input in = { .client_ip = "127.0.0.1", .helo = "bench.example",
				    .mail_from = "bench@remote.example", .msg = probe, .len = len };
	if (!a || mx_auth_check(a, &in, &v) < 0 || v.dmarc != DMARC_RES_PASS) {
		fprintf(stderr, "mail authentication does not pass: %s\n", a ? v.header.data : "no context");
		return 1;
	}
	mx_auth_verdict_free(&v);
	/* The checks alone, one thread, warm context: what they add per
	 * message before any disk work. */
	int nchecks = 2000 * scale;
	double t0 = now_s();
	for (int i = 0; i < nchecks; i++) {
		if (mx_auth_check(a, &in, &v) < 0)
			return 1;
		mx_auth_verdict_free(&v);
	}
	double dt = now_s() - t0;
	printf("mx_auth_check alone (10 KiB, RSA-2048 DKIM, SPF, DMARC, table DNS): %.0f checks/s, %.1f us each\n",
	       nchecks / dt, dt / nchecks * 1e6);
	mx_auth_pool_give(pool, a);
	free(probe);
	int rc = bench_server(&sp, pool, key, scale);
	mx_auth_pool_free(pool);
	dkim_privkey_free(key);
	buf_free(&rec);
	psl_free(psl);
	dns_resolver_free(dns);
	if (rc < 0)
		return 1;

	char **ids;
	size_t n;
	if (spool_list(&sp, &ids, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			spool_remove(&sp, ids[i]);
		spool_list_free(ids, n);
	}
	spool_close(&sp);
	char path[512];
	snprintf(path, sizeof(path), "%s/tmp", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/queue", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	rmdir(dir);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS (server and client threads): %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
	return 0;
}
