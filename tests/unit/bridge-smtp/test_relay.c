/* Unit tests for the relay: its configuration, the durable delivery
 * record, MX routing, DSNs, and whole passes over a real spool against a
 * small SMTP sink on loopback (routing from a table resolver). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bridge-smtp/relay.h"
#include "bridge-smtp/relay_config.h"
#include "bridge-smtp/relay_dsn.h"
#include "bridge-smtp/relay_mx.h"
#include "bridge-smtp/relay_state.h"
#include "bridge-smtp/smtp_client.h"
#include "common/dns.h"

static void test_config(void **state)
{
	(void)state;
	struct relay_config c;
	char err[256];
	const char *y = "relay:\n  dkim:\n    - {domain: a.test, selector: s1, key_file: /k}\n"
			"  retry_schedule: [1, 2]\n  max_age: 100\n  tls: require\n  port: 2525\n"
			"  require_tls_domains: [b.test]\n  smtp_timeout: 7\n  smtp_timeouts: {rcpt: 9}\n";
	assert_int_equal(relay_config_parse(y, strlen(y), &c, err, sizeof(err)), 0);
	assert_true(c.enabled);
	assert_int_equal(c.n_dkim, 1);
	assert_string_equal(c.dkim[0].selector, "s1");
	assert_int_equal(c.n_retry, 2);
	assert_int_equal(c.retry[1], 2);
	assert_int_equal(c.max_age_s, 100);
	assert_int_equal(c.port, 2525);
	assert_true(relay_config_require_tls(&c, "x.test"));
	assert_int_equal(c.timeouts.greeting, 7000);
	assert_int_equal(c.timeouts.rcpt, 9000);
	relay_config_free(&c);

	const char *none = "hostname: x\n";
	assert_int_equal(relay_config_parse(none, strlen(none), &c, err, sizeof(err)), 0);
	assert_false(c.enabled);
	assert_int_equal(c.max_age_s, 5 * 86400);
	assert_int_equal(c.tls, RELAY_TLS_DANE);
	assert_int_equal(c.timeouts.data_term, 600000);
	relay_config_free(&c);

	static const char *const bad[] = {
		"relay: {typo: 1}\n", "relay: {tls: maybe}\n", "relay: {retry_schedule: []}\n",
		"relay: {dkim: [{domain: a}]}\n", "relay: {port: 0}\n", "relay: 3\n",
		"relay: {smtp_timeouts: {dot: 3}}\n", "relay: {smtp_timeouts: {mail: 0}}\n", NULL,
	};
	for (size_t i = 0; bad[i]; i++)
		if (relay_config_parse(bad[i], strlen(bad[i]), &c, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i]);
}

static char *tmpdir(void)
{
	char t[] = "/tmp/test_relay.XXXXXX";
	char *d = mkdtemp(t);
	assert_non_null(d);
	return strdup(d);
}

static void rmtree(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_state(void **state)
{
	(void)state;
	char *dir = tmpdir();
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	struct relay_state st, st2;
	/* No record yet: fresh. */
	assert_int_equal(relay_state_load(fd, "q1", 2, &st), 0);
	assert_int_equal(st.rcpts[1].state, RELAY_PENDING);
	st.attempts = 3;
	st.next = 1700000000;
	st.rcpts[0].state = RELAY_SENT;
	st.rcpts[0].code = 250;
	strcpy(st.rcpts[0].enh, "2.0.0");
	strcpy(st.rcpts[0].host, "mx.remote.test");
	strcpy(st.rcpts[0].text, "queued as 12 34");
	st.rcpts[1].state = RELAY_FAILED;
	strcpy(st.rcpts[1].text, "bad\nline");
	assert_int_equal(relay_state_save(fd, "q1", &st), 0);
	/* A crash while writing the next record leaves a tmp file; the
	 * record read back is the last complete one. */
	int t = openat(fd, "q1.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(t >= 0);
	assert_int_equal(write(t, "SCOP-RELAY 1\natt", 16), 16);
	close(t);
	assert_int_equal(relay_state_load(fd, "q1", 2, &st2), 1);
	assert_int_equal(st2.attempts, 3);
	assert_int_equal(st2.next, 1700000000);
	assert_int_equal(st2.rcpts[0].state, RELAY_SENT);
	assert_int_equal(st2.rcpts[0].code, 250);
	assert_string_equal(st2.rcpts[0].host, "mx.remote.test");
	assert_string_equal(st2.rcpts[0].text, "queued as 12 34");
	assert_int_equal(st2.rcpts[1].state, RELAY_FAILED);
	assert_string_equal(st2.rcpts[1].text, "bad?line");
	assert_false(relay_state_done(&st2));
	st2.rcpts[1].state = RELAY_BOUNCED;
	assert_true(relay_state_done(&st2));
	relay_state_free(&st2);
	/* A record for a different number of recipients is not used. */
	assert_int_equal(relay_state_load(fd, "q1", 3, &st2), -1);
	static const char *const bad[] = { "", "SCOP-RELAY 2\n", "SCOP-RELAY 1\nrcpt: 0 sent 250 - - x\n",
					   "SCOP-RELAY 1\nrcpt: 1 sent 250 - - x\nrcpt: 0 sent 250 - - x\n",
					   "SCOP-RELAY 1\nrcpt: 0 lost 250 - - x\nrcpt: 1 sent 250 - - x\n", NULL };
	for (size_t i = 0; bad[i]; i++)
		assert_int_equal(relay_state_parse(bad[i], strlen(bad[i]), 2, &st2), -1);
	assert_int_equal(relay_state_remove(fd, "q1"), 0);
	assert_int_equal(unlinkat(fd, "q1.tmp", 0), 0);
	assert_int_equal(relay_state_load(fd, "q1", 2, &st2), 0);
	relay_state_free(&st2);
	relay_state_free(&st);
	close(fd);
	rmtree(dir);
	free(dir);
}

static void test_mx(void **state)
{
	(void)state;
	struct dns_resolver *d = dns_static_new();
	assert_int_equal(dns_static_add(d, "multi.test", DNS_MX, "20 b.multi.test", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "multi.test", DNS_MX, "10 a.multi.test", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "multi.test", DNS_MX, "30 c.multi.test", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "null.test", DNS_MX, "0 .", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "implicit.test", DNS_A, "127.0.0.9", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "implicit.test", DNS_AAAA, "::1", (size_t)-1), 0);
	assert_int_equal(dns_static_add_name(d, "slow.test"), 0);
	assert_int_equal(dns_static_set_status(d, "slow.test", DNS_TEMPFAIL), 0);

	assert_int_equal(dns_static_add(d, "eq.test", DNS_MX, "10 a.eq.test", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "eq.test", DNS_MX, "10 b.eq.test", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "eq.test", DNS_MX, "5 first.eq.test", (size_t)-1), 0);

	struct relay_route r;
	/* Equal preferences are shuffled, lower ones always come first. */
	int a_first = 0;
	for (int i = 0; i < 64; i++) {
		assert_int_equal(relay_route_resolve(d, "eq.test", 0, &r), 0);
		assert_int_equal(r.n_hosts, 3);
		assert_string_equal(r.hosts[0].name, "first.eq.test");
		a_first += strcmp(r.hosts[1].name, "a.eq.test") == 0;
		relay_route_free(&r);
	}
	assert_true(a_first > 0 && a_first < 64);
	assert_int_equal(relay_route_resolve(d, "multi.test", 0, &r), 0);
	assert_int_equal(r.status, RELAY_ROUTE_OK);
	assert_int_equal(r.n_hosts, 3);
	assert_string_equal(r.hosts[0].name, "a.multi.test");
	assert_string_equal(r.hosts[1].name, "b.multi.test");
	assert_string_equal(r.hosts[2].name, "c.multi.test");
	relay_route_free(&r);

	assert_int_equal(relay_route_resolve(d, "null.test", 0, &r), 0);
	assert_int_equal(r.status, RELAY_ROUTE_PERM);
	assert_string_equal(r.enh, "5.1.10");
	relay_route_free(&r);

	assert_int_equal(relay_route_resolve(d, "implicit.test", 0, &r), 0);
	assert_int_equal(r.status, RELAY_ROUTE_OK);
	assert_true(r.implicit);
	assert_string_equal(r.hosts[0].name, "implicit.test");
	struct sockaddr_storage a[4];
	socklen_t l[4];
	int tf = 0;
	assert_int_equal(relay_host_addrs(d, "implicit.test", 2525, 0, a, l, 4, &tf, NULL), 2);
	assert_int_equal(a[0].ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&a[0])->sin_port), 2525);
	assert_int_equal(a[1].ss_family, AF_INET6);
	assert_int_equal(tf, 0);
	relay_route_free(&r);

	assert_int_equal(relay_route_resolve(d, "nowhere.test", 0, &r), 0);
	assert_int_equal(r.status, RELAY_ROUTE_PERM);
	assert_string_equal(r.enh, "5.1.2");
	relay_route_free(&r);

	assert_int_equal(relay_route_resolve(d, "slow.test", 0, &r), 0);
	assert_int_equal(r.status, RELAY_ROUTE_TEMP);
	relay_route_free(&r);
	dns_resolver_free(d);
}

/* The DNSSEC status DANE (relay_dane.h) starts from. */
static void test_route_security(void **state)
{
	(void)state;
	struct dns_resolver *d = dns_static_new();
	assert_non_null(d);
	assert_int_equal(dns_static_add(d, "sec.test", DNS_MX, "10 mx.sec.test", (size_t)-1), 0);
	assert_int_equal(dns_static_set_security(d, "sec.test", DNS_SEC_SECURE), 0);
	assert_int_equal(dns_static_add(d, "mx.sec.test", DNS_A, "127.0.0.1", (size_t)-1), 0);
	assert_int_equal(dns_static_set_security(d, "mx.sec.test", DNS_SEC_SECURE), 0);
	assert_int_equal(dns_static_add(d, "plain.test", DNS_MX, "10 mx.plain.test", (size_t)-1), 0);
	assert_int_equal(dns_static_add(d, "mx.plain.test", DNS_A, "127.0.0.1", (size_t)-1), 0);
	/* An address lookup that fails does not make the other insecure. */
	assert_int_equal(dns_static_add(d, "half.test", DNS_A, "127.0.0.1", (size_t)-1), 0);
	assert_int_equal(dns_static_set_security(d, "half.test", DNS_SEC_SECURE), 0);
	assert_int_equal(dns_static_set_status(d, "half.test", DNS_TEMPFAIL), 0);
	/* Implicit MX: a secure denial counts. */
	assert_int_equal(dns_static_add_name(d, "imp.test"), 0);
	assert_int_equal(dns_static_set_security(d, "imp.test", DNS_SEC_SECURE), 0);

	struct relay_route r;
	assert_int_equal(relay_route_resolve(d, "sec.test", 0, &r), 0);
	assert_true(r.secure);
	relay_route_free(&r);
	assert_int_equal(relay_route_resolve(d, "plain.test", 0, &r), 0);
	assert_false(r.secure);
	relay_route_free(&r);
	assert_int_equal(relay_route_resolve(d, "imp.test", 0, &r), 0);
	assert_true(r.implicit && r.secure);
	relay_route_free(&r);

	struct sockaddr_storage a[4];
	socklen_t l[4];
	int tf = 0, sec = -1;
	assert_int_equal(relay_host_addrs(d, "mx.sec.test", 25, 0, a, l, 4, &tf, &sec), 1);
	assert_int_equal(sec, 1);
	assert_int_equal(relay_host_addrs(d, "mx.plain.test", 25, 0, a, l, 4, &tf, &sec), 1);
	assert_int_equal(sec, 0);
	assert_int_equal(tf, 0);
	assert_int_equal(relay_host_addrs(d, "half.test", 25, 0, a, l, 4, &tf, &sec), 1);
	assert_int_equal(sec, 1);
	assert_int_equal(tf, 1);
	tf = 0;
	assert_int_equal(relay_host_addrs(d, "gone.test", 25, 0, a, l, 4, &tf, &sec), 0);
	assert_int_equal(sec, 0);
	dns_resolver_free(d);
}

static void test_dsn(void **state)
{
	(void)state;
	char *rcpts[2] = { "a@remote.test", "b@remote.test" };
	char data[] = "From: u@local.test\r\nSubject: hi\r\n\r\nsecret body\r\n";
	struct spool_message m = { .id = "123.abc", .received = 1700000000, .from = "u@local.test",
				   .rcpts = rcpts, .n_rcpts = 2, .data = data, .size = strlen(data) };
	struct relay_state st;
	assert_int_equal(relay_state_init(&st, 2), 0);
	struct buf b = BUF_INIT;
	/* Nothing failed: no DSN. */
	assert_int_equal(relay_dsn_build("mx.local.test", &m, &st, 1700000100, &b), -1);
	st.rcpts[0].state = RELAY_SENT;
	st.rcpts[1].state = RELAY_FAILED;
	st.rcpts[1].code = 550;
	strcpy(st.rcpts[1].enh, "5.1.1");
	strcpy(st.rcpts[1].host, "mx.remote.test");
	strcpy(st.rcpts[1].text, "no such user");
	buf_reset(&b);
	assert_int_equal(relay_dsn_build("mx.local.test", &m, &st, 1700000100, &b), 0);
	const char *want[] = { "Content-Type: multipart/report; report-type=delivery-status",
			       "Reporting-MTA: dns; mx.local.test", "Final-Recipient: rfc822; b@remote.test",
			       "Action: failed", "Status: 5.1.1", "Remote-MTA: dns; mx.remote.test",
			       "Diagnostic-Code: smtp; 550 5.1.1 no such user", "Content-Type: text/rfc822-headers",
			       "Subject: hi", "To: <u@local.test>", "Auto-Submitted: auto-replied", NULL };
	for (size_t i = 0; want[i]; i++)
		if (!strstr(b.data, want[i]))
			fail_msg("DSN lacks '%s':\n%s", want[i], b.data);
	assert_null(strstr(b.data, "a@remote.test"));
	assert_null(strstr(b.data, "secret body"));
	buf_free(&b);
	relay_state_free(&st);
}

/* ---- whole passes against a sink ---- */

struct sink {
	int lfd;
	int port;
	volatile int stop;
	const char *rcpt_reply;   /* what RCPT gets */
	int broken_tls;           /* offer STARTTLS, then hang up on it */
	int messages;             /* completed DATA transactions */
	char last[8192];
	pthread_mutex_t mu;
};

static int sink_line(int fd, char *line, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		char ch;
		if (read(fd, &ch, 1) != 1)
			return -1;
		line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return (int)n;
}

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
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
		char line[1024];
		say(fd, "220 sink.test ESMTP\r\n");
		while (sink_line(fd, line, sizeof(line)) > 0) {
			if (strncmp(line, "EHLO", 4) == 0) {
				if (s->broken_tls)
					say(fd, "250-sink.test\r\n250-STARTTLS\r\n250 SIZE 1000000\r\n");
				else
					say(fd, "250-sink.test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n");
			} else if (strncmp(line, "STARTTLS", 8) == 0) {
				say(fd, "220 2.0.0 go ahead\r\n");
				break; /* no handshake: the client's fails */
			} else if (strncmp(line, "MAIL", 4) == 0) {
				say(fd, "250 2.1.0 ok\r\n");
			} else if (strncmp(line, "RCPT", 4) == 0) {
				pthread_mutex_lock(&s->mu);
				say(fd, s->rcpt_reply);
				pthread_mutex_unlock(&s->mu);
			} else if (strncmp(line, "DATA", 4) == 0) {
				say(fd, "354 go\r\n");
				size_t n = 0;
				while (sink_line(fd, line, sizeof(line)) > 0 && strcmp(line, ".\r\n") != 0) {
					size_t l = strlen(line);
					if (n + l < sizeof(s->last)) {
						memcpy(s->last + n, line, l);
						n += l;
					}
				}
				s->last[n] = '\0';
				pthread_mutex_lock(&s->mu);
				s->messages++;
				pthread_mutex_unlock(&s->mu);
				say(fd, "250 2.0.0 queued\r\n");
			} else if (strncmp(line, "QUIT", 4) == 0) {
				say(fd, "221 bye\r\n");
				break;
			} else {
				say(fd, "502 no\r\n");
			}
		}
		close(fd);
	}
	return NULL;
}

static void sink_reply(struct sink *s, const char *r)
{
	pthread_mutex_lock(&s->mu);
	s->rcpt_reply = r;
	pthread_mutex_unlock(&s->mu);
}

struct world {
	char *dir;
	struct spool sp;
	struct dns_resolver *dns;
	struct relay_config cfg;
	struct relay *relay;
	struct sink sink;
	pthread_t th;
};

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	w->dir = tmpdir();
	assert_int_equal(spool_open(&w->sp, w->dir, false, NULL), 0);
	w->sink.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(w->sink.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(w->sink.lfd, 16), 0);
	socklen_t al = sizeof(a);
	getsockname(w->sink.lfd, (struct sockaddr *)&a, &al);
	w->sink.port = ntohs(a.sin_port);
	w->sink.rcpt_reply = "250 2.1.5 ok\r\n";
	pthread_mutex_init(&w->sink.mu, NULL);
	assert_int_equal(pthread_create(&w->th, NULL, sink_main, &w->sink), 0);

	w->dns = dns_static_new();
	dns_static_add(w->dns, "remote.test", DNS_MX, "10 mx1.remote.test", (size_t)-1);
	dns_static_add(w->dns, "remote.test", DNS_MX, "20 mx2.remote.test", (size_t)-1);
	/* mx1 has no address: the relay goes on to mx2. */
	dns_static_add_name(w->dns, "mx1.remote.test");
	dns_static_add(w->dns, "mx2.remote.test", DNS_A, "127.0.0.1", (size_t)-1);
	dns_static_add(w->dns, "null.test", DNS_MX, "0 .", (size_t)-1);

	char y[256];
	snprintf(y, sizeof(y), "relay: {retry_schedule: [10, 20], max_age: 100, port: %d, tls: none}\n",
		 w->sink.port);
	char err[256];
	assert_int_equal(relay_config_parse(y, strlen(y), &w->cfg, err, sizeof(err)), 0);
	static const char *const local[] = { "local.test" };
	struct relay_opts o = { .hostname = "mx.local.test", .local_domains = local, .n_local_domains = 1,
				.cfg = &w->cfg, .dns = w->dns, .spool = &w->sp };
	assert_non_null(w->relay = relay_new(&o, err, sizeof(err)));
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	w->sink.stop = 1;
	pthread_join(w->th, NULL);
	close(w->sink.lfd);
	relay_free(w->relay);
	relay_config_free(&w->cfg);
	dns_resolver_free(w->dns);
	spool_close(&w->sp);
	rmtree(w->dir);
	free(w->dir);
	pthread_mutex_destroy(&w->sink.mu);
	free(w);
	return 0;
}

static void queue(struct world *w, const char *listener, const char *from, const char *const *rcpts, size_t n,
		  int64_t received, char id[SPOOL_ID_MAX])
{
	static const char msg[] = "From: u@local.test\r\nSubject: t\r\n\r\n.hello\r\n";
	struct spool_envelope e = { .listener = listener, .client = "127.0.0.1", .helo = "c", .body = "7BIT",
				    .from = from, .rcpts = rcpts, .n_rcpts = n, .received = received };
	assert_int_equal(spool_store(&w->sp, &e, msg, strlen(msg), id), 0);
}

static size_t queued(struct world *w)
{
	char **ids;
	size_t n;
	assert_int_equal(spool_list(&w->sp, &ids, &n), 0);
	spool_list_free(ids, n);
	return n;
}

/* The one other queue file than id (a DSN), loaded into m. */
static void load_other(struct world *w, const char *id, struct spool_message *m)
{
	char **ids;
	size_t n;
	assert_int_equal(spool_list(&w->sp, &ids, &n), 0);
	size_t found = n;
	for (size_t i = 0; i < n; i++)
		if (!id || strcmp(ids[i], id) != 0)
			found = i;
	assert_true(found < n);
	assert_int_equal(spool_load(&w->sp, ids[found], m), 0);
	spool_list_free(ids, n);
}

static void test_pass_delivers(void **state)
{
	struct world *w = *state;
	static const char *const r[] = { "a@remote.test", "b@REMOTE.test" };
	char id[SPOOL_ID_MAX], mx_id[SPOOL_ID_MAX];
	queue(w, "submission", "u@local.test", r, 2, 1000, id);
	/* MX mail is never relayed. */
	static const char *const lr[] = { "x@local.test" };
	queue(w, "mx", "someone@remote.test", lr, 1, 1000, mx_id);
	struct relay_stats st;
	assert_int_equal(relay_run_once(w->relay, 1001, &st), 0);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.sent, 2);
	assert_int_equal(w->sink.messages, 1); /* one transaction for the domain */
	assert_non_null(strstr(w->sink.last, "\r\n..hello\r\n"));
	assert_int_equal(queued(w), 1);
	struct spool_message m;
	assert_int_equal(spool_load(&w->sp, mx_id, &m), 0);
	spool_message_free(&m);
	assert_int_equal(relay_run_once(w->relay, 1002, &st), 0);
	assert_int_equal(st.messages, 0);
	assert_int_equal(w->sink.messages, 1);
}

static void test_leftover_records(void **state)
{
	struct world *w = *state;
	static const char *const r[] = { "a@remote.test" };
	char id[SPOOL_ID_MAX], path[512];
	queue(w, "submission", "u@local.test", r, 1, 1000, id);
	struct relay_state st;
	assert_int_equal(relay_state_init(&st, 1), 0);
	st.next = 5000;
	snprintf(path, sizeof(path), "%s/relay", w->dir);
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	assert_int_equal(relay_state_save(fd, id, &st), 0);
	assert_int_equal(relay_state_save(fd, "1.orphan", &st), 0);
	int t = openat(fd, "2.half.tmp", O_WRONLY | O_CREAT, 0600);
	close(t);
	relay_state_free(&st);
	relay_free(w->relay);
	static const char *const local[] = { "local.test" };
	struct relay_opts o = { .hostname = "mx.local.test", .local_domains = local, .n_local_domains = 1,
				.cfg = &w->cfg, .dns = w->dns, .spool = &w->sp };
	char err[128];
	assert_non_null(w->relay = relay_new(&o, err, sizeof(err)));
	assert_int_equal(faccessat(fd, id, F_OK, 0), 0);
	assert_int_equal(faccessat(fd, "1.orphan", F_OK, 0), -1);
	assert_int_equal(faccessat(fd, "2.half.tmp", F_OK, 0), -1);
	/* The kept record still holds the message back. */
	struct relay_stats rs;
	assert_int_equal(relay_run_once(w->relay, 1000, &rs), 0);
	assert_int_equal(rs.messages, 0);
	close(fd);
}

static void test_pass_tls_fallback(void **state)
{
	struct world *w = *state;
	static const char *const r[] = { "a@remote.test" };
	char id[SPOOL_ID_MAX], err[128];
	queue(w, "submission", "u@local.test", r, 1, 1000, id);
	w->sink.broken_tls = 1;
	/* Opportunistic TLS with a client context this time. */
	SSL_CTX *ctx = smtp_client_tls_ctx_new(err, sizeof(err));
	assert_non_null(ctx);
	relay_free(w->relay);
	w->cfg.tls = RELAY_TLS_OPPORTUNISTIC;
	static const char *const local[] = { "local.test" };
	struct relay_opts o = { .hostname = "mx.local.test", .local_domains = local, .n_local_domains = 1,
				.cfg = &w->cfg, .dns = w->dns, .spool = &w->sp, .tls = ctx };
	assert_non_null(w->relay = relay_new(&o, err, sizeof(err)));
	struct relay_stats st;
	assert_int_equal(relay_run_once(w->relay, 1000, &st), 0);
	/* The failed handshake is followed by a delivery in the clear. */
	assert_int_equal(st.sent, 1);
	assert_int_equal(w->sink.messages, 1);
	assert_int_equal(queued(w), 0);

	/* With TLS required it waits instead. */
	queue(w, "submission", "u@local.test", r, 1, 1000, id);
	w->cfg.tls = RELAY_TLS_REQUIRE;
	assert_int_equal(relay_run_once(w->relay, 1000, &st), 0);
	assert_int_equal(st.deferred, 1);
	assert_int_equal(w->sink.messages, 1);
	relay_free(w->relay);
	w->relay = NULL;
	SSL_CTX_free(ctx);
}

static void test_pass_retry(void **state)
{
	struct world *w = *state;
	static const char *const r[] = { "a@remote.test" };
	char id[SPOOL_ID_MAX];
	queue(w, "submission", "u@local.test", r, 1, 1000, id);
	sink_reply(&w->sink, "451 4.7.1 greylisted\r\n");
	struct relay_stats st;
	assert_int_equal(relay_run_once(w->relay, 1000, &st), 0);
	assert_int_equal(st.deferred, 1);
	assert_int_equal(queued(w), 1);
	/* The record says when to come back: not before 1010. */
	sink_reply(&w->sink, "250 ok\r\n");
	assert_int_equal(relay_run_once(w->relay, 1005, &st), 0);
	assert_int_equal(st.messages, 0);
	/* A restarted relay reads the record (no in-memory state). */
	relay_free(w->relay);
	static const char *const local[] = { "local.test" };
	struct relay_opts o = { .hostname = "mx.local.test", .local_domains = local, .n_local_domains = 1,
				.cfg = &w->cfg, .dns = w->dns, .spool = &w->sp };
	char err[128];
	assert_non_null(w->relay = relay_new(&o, err, sizeof(err)));
	assert_int_equal(relay_run_once(w->relay, 1005, &st), 0);
	assert_int_equal(st.messages, 0);
	assert_int_equal(relay_run_once(w->relay, 1010, &st), 0);
	assert_int_equal(st.sent, 1);
	assert_int_equal(queued(w), 0);
	assert_int_equal(w->sink.messages, 1);
}

static void test_pass_bounce(void **state)
{
	struct world *w = *state;
	static const char *const r[] = { "a@remote.test", "c@null.test" };
	char id[SPOOL_ID_MAX];
	queue(w, "submission", "u@local.test", r, 2, 1000, id);
	sink_reply(&w->sink, "550 5.1.1 no such user\r\n");
	struct relay_stats st;
	assert_int_equal(relay_run_once(w->relay, 1000, &st), 0);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.dsns, 1);
	/* The original is gone; the DSN went to the local sender as MX mail. */
	struct spool_message m;
	load_other(w, NULL, &m);
	assert_string_equal(m.listener, "mx");
	assert_string_equal(m.from, "");
	assert_int_equal(m.n_rcpts, 1);
	assert_string_equal(m.rcpts[0], "u@local.test");
	assert_non_null(strstr(m.data, "Final-Recipient: rfc822; a@remote.test"));
	assert_non_null(strstr(m.data, "Status: 5.1.10"));
	assert_non_null(strstr(m.data, "Diagnostic-Code: smtp; 550 5.1.1 no such user"));
	spool_message_free(&m);
	assert_int_equal(queued(w), 1);
}

static void test_pass_no_bounce_of_bounce_and_expiry(void **state)
{
	struct world *w = *state;
	static const char *const r[] = { "a@remote.test" };
	char id[SPOOL_ID_MAX];
	queue(w, "submission", "", r, 1, 1000, id);
	sink_reply(&w->sink, "550 5.1.1 no such user\r\n");
	struct relay_stats st;
	assert_int_equal(relay_run_once(w->relay, 1000, &st), 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.dsns, 0);
	assert_int_equal(queued(w), 0);

	/* Failing for now until max_age: then a DSN. */
	queue(w, "submission", "u@remote.test", r, 1, 1000, id);
	sink_reply(&w->sink, "452 4.2.2 mailbox full\r\n");
	int64_t t = 1000;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(relay_run_once(w->relay, t, &st), 0);
		struct spool_message gone;
		if (spool_load(&w->sp, id, &gone) < 0)
			break;
		spool_message_free(&gone);
		t += 10;
	}
	assert_true(t <= 1000 + 100 + 20);
	struct spool_message m;
	load_other(w, id, &m);
	/* A sender elsewhere: the DSN is relayed on. */
	assert_string_equal(m.listener, "submission");
	assert_non_null(strstr(m.data, "Status: 4.4.7"));
	assert_non_null(strstr(m.data, "mailbox full"));
	spool_message_free(&m);
}

int main(void)
{
	/* As in the daemons: a peer that hangs up is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_route_security),
		cmocka_unit_test(test_dsn),
		cmocka_unit_test_setup_teardown(test_pass_delivers, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_pass_retry, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_leftover_records, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_pass_tls_fallback, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_pass_bounce, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_pass_no_bounce_of_bounce_and_expiry, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
