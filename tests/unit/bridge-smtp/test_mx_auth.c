/* mx_auth: verdicts and Authentication-Results from table DNS. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "bridge-smtp/dkim.h"
#include "common/dns.h"
#include "bridge-smtp/mx_auth.h"
#include "bridge-smtp/pubsuffix.h"
#include "bridge-smtp/spool.h"
#include "common/buf.h"

struct fx {
	struct dns_resolver *dns;
	struct psl *psl;
	struct dkim_privkey *key;
	struct mx_auth_config cfg;
	struct mx_auth *a;
};

static const char psl_text[] = "com\nnet\norg\nexample\n";

static void add(struct dns_resolver *dns, const char *name, enum dns_type t, const char *data)
{
	assert_int_equal(dns_static_add(dns, name, t, data, (size_t)-1), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct buf rec = BUF_INIT;
	assert_non_null(f);
	f->dns = dns_static_new();
	f->psl = psl_load_buffer(psl_text, sizeof(psl_text) - 1, NULL, 0);
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(pk);
	f->key = dkim_privkey_from_pkey(pk);
	EVP_PKEY_free(pk);
	assert_non_null(f->key);
	assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(f->key), &rec), 0);

	/* good.example: everything passes for 192.0.2.1. */
	add(f->dns, "good.example", DNS_TXT, "v=spf1 ip4:192.0.2.1 -all");
	add(f->dns, "mail.good.example", DNS_TXT, "v=spf1 ip4:192.0.2.1 -all");
	add(f->dns, "_dmarc.good.example", DNS_TXT, "v=DMARC1; p=reject");
	add(f->dns, "sel._domainkey.good.example", DNS_TXT, rec.data);
	/* quar.example: p=quarantine. */
	add(f->dns, "quar.example", DNS_TXT, "v=spf1 -all");
	add(f->dns, "_dmarc.quar.example", DNS_TXT, "v=DMARC1; p=quarantine");
	/* tmp.example: the DMARC record cannot be fetched. */
	add(f->dns, "tmp.example", DNS_TXT, "v=spf1 -all");
	assert_int_equal(dns_static_set_status(f->dns, "_dmarc.tmp.example", DNS_TEMPFAIL), 0);
	/* spftmp.example: SPF cannot be fetched; p=none. */
	assert_int_equal(dns_static_set_status(f->dns, "spftmp.example", DNS_TEMPFAIL), 0);
	add(f->dns, "_dmarc.spftmp.example", DNS_TXT, "v=DMARC1; p=none");
	/* keytmp.example: p=reject, SPF fails, the DKIM key is unreachable. */
	add(f->dns, "keytmp.example", DNS_TXT, "v=spf1 -all");
	add(f->dns, "_dmarc.keytmp.example", DNS_TXT, "v=DMARC1; p=reject");
	assert_int_equal(dns_static_set_status(f->dns, "sel._domainkey.keytmp.example", DNS_TEMPFAIL), 0);
	buf_free(&rec);

	f->cfg.authserv_id = "mx.test";
	f->cfg.dns = f->dns;
	f->cfg.psl = f->psl;
	mx_auth_policy_default(&f->cfg.policy);
	f->a = mx_auth_new(&f->cfg);
	assert_non_null(f->a);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mx_auth_free(f->a);
	dkim_privkey_free(f->key);
	psl_free(f->psl);
	dns_resolver_free(f->dns);
	free(f);
	return 0;
}

/* A message From: user@dom, signed by d=sign_dom unless sign_dom is NULL;
 * extra (CRLF lines) goes on top of the header. */
static void make_msg(struct fx *f, struct buf *out, const char *dom, const char *sign_dom, const char *extra)
{
	struct buf msg = BUF_INIT;
	assert_int_equal(buf_printf(&msg,
				    "%sFrom: User <user@%s>\r\nTo: rcpt@mx.test\r\nSubject: hello\r\n"
				    "Message-ID: <1@%s>\r\n\r\nBody line\r\n",
				    extra ? extra : "", dom, dom),
			 0);
	if (sign_dom) {
		struct dkim_sign_opts o = { .domain = sign_dom, .selector = "sel",
					    .hcanon = DKIM_CANON_RELAXED, .bcanon = DKIM_CANON_RELAXED };
		char err[128];
		assert_int_equal(dkim_sign(&o, f->key, msg.data, msg.len, out, err, sizeof(err)), 0);
	}
	assert_int_equal(buf_append(out, msg.data, msg.len), 0);
	buf_free(&msg);
}

static void check(struct fx *f, const char *ip, const char *helo, const char *mail_from, const struct buf *msg,
		  struct mx_auth_verdict *v)
{
	struct mx_auth_input in = { .client_ip = ip, .helo = helo, .mail_from = mail_from, .msg = msg->data,
				    .len = msg->len };
	assert_int_equal(mx_auth_check(f->a, &in, v), 0);
	assert_non_null(v->header.data);
	assert_true(strncmp(v->header.data, "Authentication-Results: mx.test;", 32) == 0);
	assert_true(v->header.len >= 2 && memcmp(v->header.data + v->header.len - 2, "\r\n", 2) == 0);
}

static void test_all_pass(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;
	make_msg(f, &msg, "good.example", "good.example", NULL);
	check(f, "192.0.2.1", "mail.good.example", "user@good.example", &msg, &v);
	assert_int_equal(v.action, MX_AUTH_ACCEPT);
	assert_int_equal(v.spf, SPF_PASS);
	assert_int_equal(v.dkim, DKIM_PASS);
	assert_int_equal(v.dmarc, DMARC_RES_PASS);
	assert_non_null(strstr(v.header.data, "spf=pass smtp.mailfrom=user@good.example"));
	assert_non_null(strstr(v.header.data, "dkim=pass header.d=good.example"));
	assert_non_null(strstr(v.header.data, "dmarc=pass"));
	assert_non_null(strstr(v.header.data, "header.from=good.example"));
	assert_int_equal(v.ncuts, 0);
	mx_auth_verdict_free(&v);
	/* The same context again: the verifier and key cache are reused. */
	check(f, "192.0.2.1", "mail.good.example", "user@good.example", &msg, &v);
	assert_int_equal(v.dmarc, DMARC_RES_PASS);
	mx_auth_verdict_free(&v);
	buf_free(&msg);
}

static void test_dmarc_reject(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;
	make_msg(f, &msg, "good.example", "good.example", NULL);
	msg.data[msg.len - 3] = 'X'; /* the body changed after signing */
	check(f, "198.51.100.7", "evil.example", "user@good.example", &msg, &v);
	assert_int_equal(v.spf, SPF_FAIL);
	assert_int_equal(v.dkim, DKIM_FAIL);
	assert_int_equal(v.dmarc, DMARC_RES_FAIL);
	assert_int_equal(v.action, MX_AUTH_REJECT);
	assert_true(strncmp(v.reply, "550 5.7.1 ", 10) == 0);
	assert_non_null(strstr(v.reply, "good.example"));
	mx_auth_verdict_free(&v);

	/* With dmarc_reject off the failure is only recorded. */
	f->cfg.policy.dmarc_reject = false;
	struct mx_auth *a = mx_auth_new(&f->cfg);
	struct mx_auth_input in = { .client_ip = "198.51.100.7", .helo = "evil.example",
				    .mail_from = "user@good.example", .msg = msg.data, .len = msg.len };
	assert_int_equal(mx_auth_check(a, &in, &v), 0);
	assert_int_equal(v.action, MX_AUTH_ACCEPT);
	assert_non_null(strstr(v.header.data, "dmarc=fail"));
	assert_non_null(strstr(v.header.data, "spf=fail"));
	mx_auth_verdict_free(&v);
	mx_auth_free(a);
	buf_free(&msg);
}

static void test_arc_reported(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;
	/* No ARC fields: nothing about ARC in the field. */
	make_msg(f, &msg, "good.example", "good.example", NULL);
	check(f, "192.0.2.1", "mail.good.example", "user@good.example", &msg, &v);
	assert_int_equal(v.arc, ARC_NONE);
	assert_null(strstr(v.header.data, "\tarc=")); /* not dmarc= */
	mx_auth_verdict_free(&v);
	buf_free(&msg);
	/* A seal without the rest of its set: a broken chain, reported as
	 * arc=fail with the client's address; DMARC still passes. */
	make_msg(f, &msg, "good.example", "good.example",
		 "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=good.example; s=sel; b=AAAA\r\n");
	check(f, "192.0.2.1", "mail.good.example", "user@good.example", &msg, &v);
	assert_int_equal(v.arc, ARC_FAIL);
	assert_non_null(strstr(v.header.data, "\tarc=fail"));
	assert_non_null(strstr(v.header.data, "smtp.remote-ip=192.0.2.1"));
	assert_int_equal(v.dmarc, DMARC_RES_PASS);
	assert_int_equal(v.action, MX_AUTH_ACCEPT);
	mx_auth_verdict_free(&v);
	buf_free(&msg);
}

static void test_quarantine_marked(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;
	make_msg(f, &msg, "quar.example", NULL, NULL);
	check(f, "198.51.100.7", "evil.example", "user@quar.example", &msg, &v);
	assert_int_equal(v.action, MX_AUTH_ACCEPT);
	assert_true(v.quarantine);
	assert_int_equal(v.dkim, DKIM_NONE);
	assert_non_null(strstr(v.header.data, "dkim=none"));
	assert_non_null(strstr(v.header.data, "dmarc=fail (p=quarantine"));
	assert_non_null(strstr(v.header.data, "dis=quarantine"));
	mx_auth_verdict_free(&v);
	buf_free(&msg);
}

static void test_none(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;
	make_msg(f, &msg, "nothing.example", NULL, NULL);
	check(f, "192.0.2.9", "host.nothing.example", "a@nothing.example", &msg, &v);
	assert_int_equal(v.action, MX_AUTH_ACCEPT);
	assert_int_equal(v.spf, SPF_NONE);
	assert_int_equal(v.dkim, DKIM_NONE);
	assert_int_equal(v.dmarc, DMARC_RES_NONE);
	assert_non_null(strstr(v.header.data, "spf=none"));
	assert_non_null(strstr(v.header.data, "dmarc=none"));
	mx_auth_verdict_free(&v);
	buf_free(&msg);
}

static void test_null_sender_uses_helo(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;
	make_msg(f, &msg, "good.example", "good.example", NULL);
	check(f, "192.0.2.1", "mail.good.example", "", &msg, &v);
	assert_int_equal(v.spf, SPF_PASS);
	assert_string_equal(v.spf_identity, "helo");
	assert_non_null(strstr(v.header.data, "spf=pass smtp.helo=mail.good.example"));
	assert_int_equal(v.dmarc, DMARC_RES_PASS);
	mx_auth_verdict_free(&v);
	/* An address literal has no SPF. */
	check(f, "192.0.2.1", "[192.0.2.1]", "", &msg, &v);
	assert_int_equal(v.spf, SPF_NONE);
	mx_auth_verdict_free(&v);
	buf_free(&msg);
}

static void test_temperror_paths(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;

	/* The DMARC record is needed to know whether to reject: 451. */
	make_msg(f, &msg, "tmp.example", NULL, NULL);
	check(f, "198.51.100.7", "evil.example", "user@tmp.example", &msg, &v);
	assert_int_equal(v.dmarc, DMARC_RES_TEMPERROR);
	assert_int_equal(v.action, MX_AUTH_DEFER);
	assert_true(strncmp(v.reply, "451 4.7.0 ", 10) == 0);
	mx_auth_verdict_free(&v);
	buf_free(&msg);

	/* SPF temperror with p=none and no SPF policy: recorded only. */
	make_msg(f, &msg, "spftmp.example", NULL, NULL);
	check(f, "198.51.100.7", "evil.example", "user@spftmp.example", &msg, &v);
	assert_int_equal(v.spf, SPF_TEMPERROR);
	assert_int_equal(v.action, MX_AUTH_ACCEPT);
	assert_non_null(strstr(v.header.data, "spf=temperror"));
	mx_auth_verdict_free(&v);

	/* ... but with spf_reject the answer is needed. */
	f->cfg.policy.spf_reject = true;
	struct mx_auth *a = mx_auth_new(&f->cfg);
	struct mx_auth_input in = { .client_ip = "198.51.100.7", .helo = "evil.example",
				    .mail_from = "user@spftmp.example", .msg = msg.data, .len = msg.len };
	assert_int_equal(mx_auth_check(a, &in, &v), 0);
	assert_int_equal(v.action, MX_AUTH_DEFER);
	assert_true(strncmp(v.reply, "451 4.7.0 ", 10) == 0);
	mx_auth_verdict_free(&v);
	buf_free(&msg);

	/* spf_reject turns an SPF fail into 550 even with p=quarantine. */
	make_msg(f, &msg, "quar.example", NULL, NULL);
	in.mail_from = "user@quar.example";
	in.msg = msg.data;
	in.len = msg.len;
	assert_int_equal(mx_auth_check(a, &in, &v), 0);
	assert_int_equal(v.action, MX_AUTH_REJECT);
	assert_true(strncmp(v.reply, "550 5.7.1 SPF", 13) == 0);
	mx_auth_verdict_free(&v);
	mx_auth_free(a);
	buf_free(&msg);

	/* p=reject and SPF fails, but an aligned signature's key could not
	 * be fetched: it might have passed, so 451, not 550. */
	make_msg(f, &msg, "keytmp.example", "keytmp.example", NULL);
	check(f, "198.51.100.7", "evil.example", "user@keytmp.example", &msg, &v);
	assert_int_equal(v.dkim, DKIM_TEMPERROR);
	assert_int_equal(v.dmarc, DMARC_RES_FAIL);
	assert_int_equal(v.action, MX_AUTH_DEFER);
	assert_true(strncmp(v.reply, "451 4.7.0 ", 10) == 0);
	assert_non_null(strstr(v.header.data, "dkim=temperror"));
	mx_auth_verdict_free(&v);
	buf_free(&msg);
}

static const char forged[] = "Authentication-Results: mx.test; spf=pass smtp.mailfrom=x@good.example\r\n"
			     "Received: from somewhere\r\n"
			     "authentication-results :\r\n\tMX.TEST (comment); dkim=pass\r\n"
			     "Authentication-Results: other.example; spf=pass\r\n"
			     "Authentication-Results: mx.test.evil; spf=pass\r\n"
			     "Authentication-Results: mx.test\r\n";

static void test_forged_removed(void **state)
{
	struct fx *f = *state;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;
	make_msg(f, &msg, "good.example", NULL, forged);
	/* The same text in the body is not a header field. */
	assert_int_equal(buf_puts(&msg, "Authentication-Results: mx.test; dkim=pass\r\n"), 0);
	check(f, "192.0.2.1", "mail.good.example", "user@good.example", &msg, &v);
	assert_int_equal(v.ncuts, 3);
	assert_int_equal(v.cuts[0].off, 0);
	assert_true(strncmp(msg.data + v.cuts[0].off + v.cuts[0].len, "Received:", 9) == 0);
	assert_true(strncmp(msg.data + v.cuts[1].off, "authentication-results :", 24) == 0);
	assert_true(strncmp(msg.data + v.cuts[1].off + v.cuts[1].len, "Authentication-Results: other", 29) == 0);
	assert_true(strncmp(msg.data + v.cuts[2].off, "Authentication-Results: mx.test\r\n", 33) == 0);
	assert_int_equal(v.cuts[2].len, 33);
	mx_auth_verdict_free(&v);
	buf_free(&msg);

	/* A header block without a body, and nothing at all. */
	struct spool_cut *cuts;
	size_t n;
	assert_int_equal(mx_auth_find_forged("Authentication-Results: mx.test; none", 37, "mx.test", &cuts, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cuts[0].len, 37);
	free(cuts);
	assert_int_equal(mx_auth_find_forged("", 0, "mx.test", &cuts, &n), 0);
	assert_int_equal(n, 0);
	assert_null(cuts);
}

static void test_malformed_input(void **state)
{
	struct fx *f = *state;
	struct mx_auth_verdict v;
	/* No From, broken header lines: no crash, DMARC permerror, accepted. */
	static const char junk[] = "no colon here\r\n\x01\x02: x\r\nAuthentication-Results: mx.test; x\r\n\r\n";
	struct buf msg = BUF_INIT;
	assert_int_equal(buf_puts(&msg, junk), 0);
	check(f, "not an address", NULL, NULL, &msg, &v);
	assert_int_equal(v.dmarc, DMARC_RES_PERMERROR);
	assert_int_equal(v.action, MX_AUTH_ACCEPT);
	assert_int_equal(v.ncuts, 1);
	mx_auth_verdict_free(&v);
	buf_free(&msg);
	struct mx_auth_input in = { .client_ip = "192.0.2.1", .msg = NULL, .len = 0 };
	assert_int_equal(mx_auth_check(f->a, &in, &v), 0);
	mx_auth_verdict_free(&v);
	assert_int_equal(mx_auth_check(NULL, &in, &v), -1);
}

/* A resolver that takes 5 ms per lookup and remembers what it was given. */
struct slow_dns {
	struct dns_resolver base;
	struct dns_resolver *inner;
	unsigned calls, last_timeout;
};

static int slow_lookup(struct dns_resolver *r, const char *name, enum dns_type type, unsigned timeout_ms,
		       struct dns_result *res)
{
	struct slow_dns *s = (struct slow_dns *)r;
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	s->calls++;
	s->last_timeout = timeout_ms;
	nanosleep(&ts, NULL);
	return dns_lookup(s->inner, name, type, res);
}

static void slow_free(struct dns_resolver *r)
{
	(void)r;
}

static const struct dns_backend slow_backend = { slow_lookup, slow_free };

static void test_dns_budget(void **state)
{
	struct fx *f = *state;
	struct slow_dns slow = { .base = { &slow_backend }, .inner = f->dns };
	struct mx_auth_config cfg = f->cfg;
	struct buf msg = BUF_INIT;
	struct mx_auth_verdict v;

	/* 2 ms for everything: the SPF record's lookup gets at most that,
	 * and once it has taken 5 ms nothing else is asked. */
	cfg.dns = &slow.base;
	cfg.budget_ms = 2;
	struct mx_auth *a = mx_auth_new(&cfg);
	assert_non_null(a);
	make_msg(f, &msg, "good.example", "good.example", NULL);
	struct mx_auth_input in = { .client_ip = "192.0.2.1", .helo = "mail.good.example",
				    .mail_from = "user@good.example", .msg = msg.data, .len = msg.len };
	assert_int_equal(mx_auth_check(a, &in, &v), 0);
	assert_int_equal(slow.calls, 1);
	assert_true(slow.last_timeout >= 1 && slow.last_timeout <= 2);
	assert_int_equal(v.spf, SPF_PASS);
	assert_int_equal(v.dkim, DKIM_TEMPERROR);
	assert_int_equal(v.dmarc, DMARC_RES_TEMPERROR);
	assert_int_equal(v.action, MX_AUTH_DEFER);
	mx_auth_verdict_free(&v);

	/* Each message has its own budget. */
	slow.calls = 0;
	assert_int_equal(mx_auth_check(a, &in, &v), 0);
	assert_int_equal(slow.calls, 1);
	mx_auth_verdict_free(&v);
	mx_auth_free(a);

	/* No budget: every lookup gets the resolver's own timeout (0). */
	cfg.budget_ms = 0;
	slow.calls = 0;
	a = mx_auth_new(&cfg);
	assert_int_equal(mx_auth_check(a, &in, &v), 0);
	assert_int_equal(v.dmarc, DMARC_RES_PASS);
	assert_true(slow.calls >= 3);
	assert_int_equal(slow.last_timeout, 0);
	mx_auth_verdict_free(&v);
	mx_auth_free(a);
	buf_free(&msg);
}

static void test_spooled(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/test_mx_auth.XXXXXX";
	struct spool sp;
	struct spool_writer *w;
	struct spool_message m;
	struct buf msg = BUF_INIT;
	char id[SPOOL_ID_MAX];
	const char *rcpts[] = { "rcpt@mx.test" };
	struct spool_envelope env = { .listener = "mx", .client = "192.0.2.1", .helo = "mail.good.example",
				      .body = "7BIT", .from = "user@good.example", .rcpts = rcpts, .n_rcpts = 1,
				      .received = 1, .trace = "Received: from test\r\n" };
	struct mx_auth_pool *pool = mx_auth_pool_new(&f->cfg, 2);
	char reply[256] = "";

	assert_non_null(mkdtemp(dir));
	assert_non_null(pool);
	assert_int_equal(spool_open(&sp, dir, true, NULL), 0);
	make_msg(f, &msg, "good.example", "good.example", forged);

	/* Accepted: our field after the trace, the forged ones gone. */
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(spool_write(w, msg.data, 100), 0);
	assert_int_equal(spool_write(w, msg.data + 100, msg.len - 100), 0);
	assert_int_equal(mx_auth_smtp_check(pool, w, &env, reply, sizeof(reply)), 0);
	assert_int_equal(spool_commit(w, id), 0);
	assert_int_equal(spool_load(&sp, id, &m), 0);
	assert_true(strncmp(m.data, "Received: from test\r\nAuthentication-Results: mx.test;\r\n\tspf=pass", 64) == 0);
	assert_non_null(strstr(m.data, "dkim=pass"));
	assert_non_null(strstr(m.data, "dmarc=pass"));
	assert_null(strstr(m.data, "mx.test; spf=pass smtp.mailfrom=x@good.example"));
	assert_null(strstr(m.data, "MX.TEST"));
	assert_non_null(strstr(m.data, "Authentication-Results: other.example; spf=pass\r\n"));
	assert_int_equal(m.size, strlen(m.data));
	spool_message_free(&m);

	/* Refused: the reply comes back and the caller aborts. */
	env.client = "198.51.100.7";
	msg.data[msg.len - 3] = 'X';
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(spool_write(w, msg.data, msg.len), 0);
	assert_int_equal(mx_auth_smtp_check(pool, w, &env, reply, sizeof(reply)), 1);
	assert_true(strncmp(reply, "550 5.7.1 ", 10) == 0);
	spool_abort(w);

	/* spool_edit refuses cuts outside the message. */
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(spool_write(w, "abc", 3), 0);
	struct spool_cut bad = { 2, 5 };
	assert_int_equal(spool_edit(w, "x", 1, &bad, 1), -1);
	assert_int_equal(errno, EINVAL);
	spool_abort(w);

	char **ids;
	size_t n;
	assert_int_equal(spool_list(&sp, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spool_remove(&sp, ids[0]), 0);
	spool_list_free(ids, n);
	spool_close(&sp);
	char path[128];
	snprintf(path, sizeof(path), "%s/tmp", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/queue", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	rmdir(dir);
	mx_auth_pool_free(pool);
	buf_free(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dmarc_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arc_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_sender_uses_helo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temperror_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spooled, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
