/* Unit tests for ARC (RFC 8617): chains of 1-3 hops sealed and verified
 * with RSA and Ed25519 keys, each structural failure (missing and
 * duplicate instances, incomplete sets, instances out of range, cv=
 * rules, h= in a seal), a body changed after sealing, header changes
 * between hops (oldest-pass), cv=fail propagation, the 50-set limit, key
 * trouble, what each seal covers (every set, or its own on cv=fail), and
 * the Authentication-Results result.  Keys come from the
 * table-backed resolver of dns.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "bridge-smtp/arc.h"
#include "bridge-smtp/arc_int.h"
#include "bridge-smtp/authres.h"
#include "bridge-smtp/dkim.h"
#include "common/dns.h"
#include "bridge-smtp/mailhdr.h"

static const char plain_msg[] =
	"From: Alice <alice@example.com>\r\n"
	"To: list@lists.example.org\r\n"
	"Subject: Hello  there,\r\n"
	"  folded subject\r\n"
	"Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
	"Message-ID: <1@example.com>\r\n"
	"\r\n"
	"Body line one.  \r\n"
	"\tline two\r\n"
	"\r\n";

struct fixture {
	struct dkim_privkey *rsa, *ed;
	struct dns_resolver *dns;
	struct arc_verifier *v;
};

static struct fixture fx;

static int add_key(struct dns_resolver *d, const char *name, struct dkim_privkey *k)
{
	struct buf rec = BUF_INIT;
	int rc = dkim_pubkey_record(dkim_privkey_pkey(k), &rec) < 0 ? -1 : dns_static_add(d, name, DNS_TXT, rec.data, rec.len);

	buf_free(&rec);
	return rc;
}

static int setup(void **state)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *ed = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	struct arc_verify_opts o;

	(void)state;
	if (!rsa || !ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &ed) != 1)
		return -1;
	EVP_PKEY_CTX_free(ctx);
	fx.rsa = dkim_privkey_from_pkey(rsa);
	fx.ed = dkim_privkey_from_pkey(ed);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	fx.dns = dns_static_new();
	if (!fx.rsa || !fx.ed || !fx.dns || add_key(fx.dns, "rsa._domainkey.hop1.example", fx.rsa) < 0 ||
	    add_key(fx.dns, "ed._domainkey.hop2.example", fx.ed) < 0 ||
	    add_key(fx.dns, "rsa._domainkey.hop3.example", fx.rsa) < 0 ||
	    add_key(fx.dns, "ed._domainkey.hop3.example", fx.ed) < 0 ||
	    dns_static_add(fx.dns, "gone._domainkey.hop1.example", DNS_TXT, "v=DKIM1; k=rsa; p=", (size_t)-1) < 0 ||
	    dns_static_set_status(fx.dns, "slow._domainkey.hop1.example", DNS_TEMPFAIL) < 0)
		return -1;
	memset(&o, 0, sizeof(o));
	o.dns = fx.dns;
	fx.v = arc_verifier_new(&o);
	return fx.v ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	arc_verifier_free(fx.v);
	dns_resolver_free(fx.dns);
	dkim_privkey_free(fx.rsa);
	dkim_privkey_free(fx.ed);
	return 0;
}

/* ---- message editing ---- */

static char *dupstr(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

/* The field starting with prefix at the start of a line: [*start, *end). */
static int find_field(const char *msg, const char *prefix, size_t *start, size_t *end)
{
	const char *p = msg;
	size_t pl = strlen(prefix);

	for (;;) {
		if (strncmp(p, prefix, pl) == 0)
			break;
		if (!(p = strstr(p, "\r\n")) || p[2] == '\r')
			return -1;
		p += 2;
	}
	*start = (size_t)(p - msg);
	do {
		p = strstr(p, "\r\n") + 2;
	} while (*p == ' ' || *p == '\t');
	*end = (size_t)(p - msg);
	return 0;
}

static char *drop_field(char *msg, const char *prefix)
{
	size_t s, e;

	assert_int_equal(find_field(msg, prefix, &s, &e), 0);
	memmove(msg + s, msg + e, strlen(msg + e) + 1);
	return msg;
}

static char *dup_field(char *msg, const char *prefix)
{
	size_t s, e, n = strlen(msg);
	char *out;

	assert_int_equal(find_field(msg, prefix, &s, &e), 0);
	out = malloc(n + (e - s) + 1);
	assert_non_null(out);
	memcpy(out, msg, e);
	memcpy(out + e, msg + s, e - s);
	memcpy(out + e + (e - s), msg + e, n - e + 1);
	free(msg);
	return out;
}

/* Replaces the first occurrence of from (which must be there). */
static char *replace(char *msg, const char *from, const char *to)
{
	char *at = strstr(msg, from), *out;
	size_t n = strlen(msg), fl = strlen(from), tl = strlen(to), off;

	assert_non_null(at);
	off = (size_t)(at - msg);
	out = malloc(n - fl + tl + 1);
	assert_non_null(out);
	memcpy(out, msg, off);
	memcpy(out + off, to, tl);
	memcpy(out + off + tl, msg + off + fl, n - off - fl + 1);
	free(msg);
	return out;
}

/* ---- sealing and verifying ---- */

static const struct arc_result *verify(const char *msg)
{
	const struct arc_result *r = NULL;

	assert_int_equal(arc_verifier_message(fx.v, msg, strlen(msg), &r), 0);
	assert_non_null(r);
	return r;
}

/* Seals msg (freed) as domain/selector with key, given the chain status
 * r found on receipt; returns the new message. */
static char *seal_after(char *msg, const struct arc_result *r, struct dkim_privkey *key, const char *domain,
			const char *selector, int *rc_out)
{
	struct arc_seal_opts so;
	struct authres ar;
	struct buf out = BUF_INIT;
	char err[128] = "";
	int rc;

	memset(&ar, 0, sizeof(ar));
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "mx.%s", domain);
	assert_int_equal(authres_add(&ar, "spf", "pass", NULL), 0);
	assert_int_equal(arc_authres_add(&ar, r, "192.0.2.7"), 0);
	memset(&so, 0, sizeof(so));
	so.domain = domain;
	so.selector = selector;
	so.timestamp = 1795000000;
	rc = arc_seal(&so, key, &ar, r->status, msg, strlen(msg), &out, err, sizeof(err));
	if (rc_out)
		*rc_out = rc;
	else
		assert_int_equal(rc, 0);
	if (rc == 0) {
		assert_true(buf_append(&out, msg, strlen(msg)) == 0 && buf_putc(&out, '\0') == 0);
		free(msg);
		return out.data;
	}
	buf_free(&out);
	return msg;
}

/* The same, verifying the chain first as a sealer would. */
static char *seal_as(char *msg, struct dkim_privkey *key, const char *domain, const char *selector, int *rc_out)
{
	return seal_after(msg, verify(msg), key, domain, selector, rc_out);
}

static char *seal(char *msg, int hop)
{
	switch (hop) {
	case 1: return seal_as(msg, fx.rsa, "hop1.example", "rsa", NULL);
	case 2: return seal_as(msg, fx.ed, "hop2.example", "ed", NULL);
	default: return seal_as(msg, hop % 2 ? fx.rsa : fx.ed, "hop3.example", hop % 2 ? "rsa" : "ed", NULL);
	}
}

static char *chain_of(int hops)
{
	char *m = dupstr(plain_msg);
	for (int i = 1; i <= hops; i++)
		m = seal(m, i);
	return m;
}

static void assert_fail_with(const struct arc_result *r, const char *why)
{
	assert_int_equal(r->status, ARC_FAIL);
	if (!strstr(r->reason, why))
		fail_msg("reason \"%s\" lacks \"%s\"", r->reason, why);
}

/* ---- tests ---- */

static void test_none(void **state)
{
	const struct arc_result *r;

	(void)state;
	r = verify(plain_msg);
	assert_int_equal(r->status, ARC_NONE);
	assert_int_equal(r->count, 0);
	r = verify("not a message");
	assert_int_equal(r->status, ARC_NONE);
}

static void test_good_chains(void **state)
{
	char *m = dupstr(plain_msg);

	(void)state;
	for (int hops = 1; hops <= 3; hops++) {
		const struct arc_result *r;
		m = seal(m, hops);
		r = verify(m);
		assert_int_equal(r->status, ARC_PASS);
		assert_int_equal(r->count, hops);
		assert_int_equal(r->oldest_pass, 0);
		assert_int_equal(r->temporary, 0);
		for (int i = 1; i <= hops; i++) {
			assert_int_equal(r->sets[i].cv, i == 1 ? ARC_CV_NONE : ARC_CV_PASS);
			assert_int_equal(r->sets[i].as, DKIM_PASS);
			assert_int_equal(r->sets[i].ams, DKIM_PASS);
		}
		assert_string_equal(r->sets[1].as_domain, "hop1.example");
		assert_string_equal(r->sets[1].ams_domain, "hop1.example");
	}
	/* The AAR carries what the hop found: the chain before it passed. */
	assert_non_null(strstr(m, "ARC-Authentication-Results: i=3; mx.hop3.example;"));
	assert_non_null(strstr(m, "arc=pass smtp.remote-ip=192.0.2.7 header.oldest-pass=0"));
	assert_non_null(strstr(m, "ARC-Seal: i=2; a=ed25519-sha256; t=1795000000; cv=pass;"));
	free(m);
}

static void test_body_modified(void **state)
{
	char *m = chain_of(2);
	const struct arc_result *r;

	(void)state;
	m = replace(m, "Body line one.", "Body line 1.");
	r = verify(m);
	assert_fail_with(r, "ARC-Message-Signature i=2: AMS body hash mismatch");
	assert_int_equal(r->temporary, 0);
	assert_int_equal(r->sets[2].ams, DKIM_FAIL);
	/* The seals still hold: the message changed after the last hop. */
	assert_int_equal(r->sets[2].as, DKIM_PASS);
	assert_int_equal(r->sets[1].as, DKIM_PASS);
	free(m);
}

static void test_header_changed_between_hops(void **state)
{
	char *m = chain_of(1);
	const struct arc_result *r;

	(void)state;
	/* A list verifies the chain on receipt, rewrites the subject, then
	 * seals: hop 1's AMS breaks, the chain holds. */
	r = verify(m);
	assert_int_equal(r->status, ARC_PASS);
	m = replace(m, "Subject: Hello", "Subject: [list] Hello");
	m = seal_after(m, r, fx.ed, "hop2.example", "ed", NULL);
	m = seal(m, 3);
	r = verify(m);
	assert_int_equal(r->status, ARC_PASS);
	assert_int_equal(r->oldest_pass, 2);
	assert_int_equal(r->sets[1].ams, DKIM_FAIL);
	assert_int_equal(r->sets[2].ams, DKIM_PASS);
	free(m);
}

static void test_seal_modified(void **state)
{
	char *m = chain_of(2);
	const struct arc_result *r;

	(void)state;
	/* The first hop's results, rewritten later: its seal breaks. */
	m = replace(m, "i=1; mx.hop1.example;\r\n\tspf=pass", "i=1; mx.hop1.example;\r\n\tspf=fail");
	r = verify(m);
	assert_fail_with(r, "ARC-Seal i=2: ARC-Seal did not verify");
	assert_int_equal(r->sets[2].ams, DKIM_PASS);
	assert_int_equal(r->sets[2].as, DKIM_FAIL);
	free(m);
}

static void test_missing_instance(void **state)
{
	char *m = chain_of(3);

	(void)state;
	m = drop_field(m, "ARC-Seal: i=2;");
	m = drop_field(m, "ARC-Message-Signature: i=2;");
	m = drop_field(m, "ARC-Authentication-Results: i=2;");
	assert_fail_with(verify(m), "malformed chain: no ARC-Authentication-Results with i=2");
	free(m);
}

static void test_incomplete_set(void **state)
{
	static const char *const prefixes[3] = {
		"ARC-Authentication-Results: i=1;", "ARC-Message-Signature: i=1;", "ARC-Seal: i=1;",
	};
	static const char *const reasons[3] = {
		"no ARC-Authentication-Results with i=1", "no ARC-Message-Signature with i=1", "no ARC-Seal with i=1",
	};

	(void)state;
	for (int k = 0; k < 3; k++) {
		char *m = drop_field(chain_of(2), prefixes[k]);
		assert_fail_with(verify(m), reasons[k]);
		free(m);
	}
}

static void test_duplicate_instance(void **state)
{
	static const char *const prefixes[3] = {
		"ARC-Authentication-Results: i=1;", "ARC-Message-Signature: i=2;", "ARC-Seal: i=1;",
	};
	static const char *const reasons[3] = {
		"two ARC-Authentication-Results fields with i=1", "two ARC-Message-Signature fields with i=2",
		"two ARC-Seal fields with i=1",
	};

	(void)state;
	for (int k = 0; k < 3; k++) {
		char *m = dup_field(chain_of(2), prefixes[k]);
		assert_fail_with(verify(m), reasons[k]);
		free(m);
	}
}

static void test_bad_instances(void **state)
{
	static const char *const bad[][2] = {
		{ "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: i=51;" },
		{ "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: i=0;" },
		{ "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: mx.hop1.example;" },
		{ "ARC-Message-Signature: i=1;", "ARC-Message-Signature: i=x1;" },
		{ "ARC-Seal: i=1;", "ARC-Seal: i=-1;" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char *m = replace(chain_of(1), bad[k][0], bad[k][1]);
		assert_fail_with(verify(m), "without a valid instance");
		free(m);
	}
}

static void test_cv_rules(void **state)
{
	char *m;

	(void)state;
	m = replace(chain_of(2), "cv=none", "cv=pass");
	assert_fail_with(verify(m), "ARC-Seal i=1: cv= is not none");
	free(m);
	m = replace(chain_of(2), "cv=pass", "cv=none");
	assert_fail_with(verify(m), "ARC-Seal i=2: cv= is not pass");
	free(m);
	m = replace(chain_of(3), "i=2; a=ed25519-sha256; t=1795000000; cv=pass", "i=2; a=ed25519-sha256; t=1795000000; cv=fail");
	assert_fail_with(verify(m), "ARC-Seal i=2: cv= is not pass");
	free(m);
	m = replace(chain_of(1), "cv=none", "cv=maybe");
	assert_fail_with(verify(m), "ARC-Seal i=1: ARC-Seal: cv= missing or unknown");
	free(m);
	m = replace(chain_of(1), "cv=none;", "cv=none; h=from;");
	assert_fail_with(verify(m), "h= is not allowed");
	free(m);
}

static void test_cv_fail_propagation(void **state)
{
	char *m = chain_of(1);
	const struct arc_result *r;
	int rc;

	(void)state;
	m = replace(m, "Body line one.", "Body line 1.");
	assert_int_equal(verify(m)->status, ARC_FAIL);
	/* The next hop finds the chain broken and says so. */
	m = seal(m, 2);
	assert_non_null(strstr(m, "ARC-Seal: i=2; a=ed25519-sha256; t=1795000000; cv=fail;"));
	assert_non_null(strstr(m, "arc=fail"));
	r = verify(m);
	assert_fail_with(r, "ARC-Seal i=2: cv=fail: the chain has ended");
	/* And nobody extends it. */
	m = seal_as(m, fx.rsa, "hop3.example", "rsa", &rc);
	assert_int_equal(rc, ARC_SEAL_SKIPPED);
	assert_null(strstr(m, "i=3"));
	free(m);
}

/* Whether the seal of instance i in msg verifies over sets 1..prior and
 * its own (RFC 8617 5.1.1 and, for cv=fail, 5.1.2). */
static int seal_covers(const char *msg, int i, int prior, struct dkim_privkey *priv)
{
	struct mailhdr h = { 0 };
	struct arc_chain c;
	struct arc_seal_tags st;
	struct dkim_key key;
	struct buf rec = BUF_INIT, stripped = BUF_INIT, scratch = BUF_INIT;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const struct mailhdr_field *as;
	unsigned char hh[32];
	size_t voff;
	int ok;

	assert_non_null(md);
	assert_int_equal(mailhdr_split(msg, strlen(msg), &h), 0);
	arc_chain_collect(&h, &c);
	as = c.set[i][ARC_AS];
	assert_non_null(as);
	assert_int_equal(arc_seal_parse(as->value, as->value_len, &st, NULL, 0), 0);
	voff = (size_t)(as->value - as->raw);
	assert_int_equal(buf_append(&stripped, as->raw, voff + st.b_start), 0);
	assert_int_equal(buf_append(&stripped, as->raw + voff + st.b_end, as->raw_len - voff - st.b_end), 0);
	assert_int_equal(dkim_pubkey_record(dkim_privkey_pkey(priv), &rec), 0);
	assert_int_equal(dkim_key_parse(rec.data, rec.len, &key, NULL, 0), 0);
	assert_int_equal(arc_seal_hash(&c, prior, c.set[i][ARC_AAR]->raw, c.set[i][ARC_AAR]->raw_len,
				       c.set[i][ARC_AMS]->raw, c.set[i][ARC_AMS]->raw_len, stripped.data, stripped.len,
				       NULL, md, &scratch, hh), 0);
	ok = dkim_crypto_verify(&key, hh, st.b, st.b_len) == 0;
	dkim_key_free(&key);
	buf_free(&rec);
	buf_free(&stripped);
	buf_free(&scratch);
	EVP_MD_CTX_free(md);
	mailhdr_free(&h);
	return ok;
}

static void test_seal_scope(void **state)
{
	char *m = chain_of(2);

	(void)state;
	/* A passing chain: each seal covers every set up to its own. */
	assert_true(seal_covers(m, 2, 1, fx.ed));
	assert_false(seal_covers(m, 2, 0, fx.ed));
	assert_true(seal_covers(m, 1, 0, fx.rsa));
	/* A failed one: the cv=fail seal covers its own set alone. */
	m = replace(m, "Body line one.", "Body line 1.");
	m = seal_as(m, fx.rsa, "hop3.example", "rsa", NULL);
	assert_non_null(strstr(m, "cv=fail;"));
	assert_true(seal_covers(m, 3, 0, fx.rsa));
	assert_false(seal_covers(m, 3, 2, fx.rsa));
	free(m);
}

static void test_fifty_sets(void **state)
{
	char *m = dupstr(plain_msg);
	const struct arc_result *r;
	int rc;

	(void)state;
	for (int i = 1; i <= ARC_MAX_INSTANCES; i++)
		m = seal_as(m, fx.ed, "hop2.example", "ed", NULL);
	r = verify(m);
	assert_int_equal(r->status, ARC_PASS);
	assert_int_equal(r->count, 50);
	m = seal_as(m, fx.ed, "hop2.example", "ed", &rc);
	assert_int_equal(rc, ARC_SEAL_SKIPPED);
	free(m);
}

static void test_key_trouble(void **state)
{
	char *m = seal_as(dupstr(plain_msg), fx.rsa, "hop1.example", "gone", NULL);
	const struct arc_result *r;

	(void)state;
	r = verify(m);
	assert_fail_with(r, "key revoked");
	assert_int_equal(r->temporary, 0);
	free(m);
	m = seal_as(dupstr(plain_msg), fx.rsa, "hop1.example", "slow", NULL);
	r = verify(m);
	assert_int_equal(r->status, ARC_FAIL);
	assert_int_equal(r->temporary, 1);
	free(m);
	/* An Ed25519 signature against an RSA key record. */
	m = seal_as(dupstr(plain_msg), fx.ed, "hop1.example", "rsa", NULL);
	assert_fail_with(verify(m), "key type does not match a=");
	free(m);
}

static void test_ams_signing_arc_seal(void **state)
{
	char *m = chain_of(1);
	struct arc_seal_opts so;
	struct authres ar;
	struct buf out = BUF_INIT;
	static const char *const bad_headers[] = { "from", "arc-seal", NULL };
	char err[128];

	(void)state;
	/* Forbidden when verifying (checked before the signature)... */
	m = replace(m, "h=from:", "h=arc-seal:from:");
	assert_fail_with(verify(m), "AMS h= lists ARC-Seal");
	free(m);
	/* ...and refused when sealing. */
	memset(&ar, 0, sizeof(ar));
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "mx.example");
	memset(&so, 0, sizeof(so));
	so.domain = "hop1.example";
	so.selector = "rsa";
	so.headers = bad_headers;
	assert_int_equal(arc_seal(&so, fx.rsa, &ar, ARC_NONE, plain_msg, strlen(plain_msg), &out, err, sizeof(err)), -1);
	assert_int_equal(out.len, 0);
	/* A chain status that does not fit the message. */
	so.headers = NULL;
	m = chain_of(1);
	assert_int_equal(arc_seal(&so, fx.rsa, &ar, ARC_NONE, m, strlen(m), &out, err, sizeof(err)), -1);
	assert_int_equal(out.len, 0);
	free(m);
	buf_free(&out);
}

#define S(lit) lit, strlen(lit)

static void test_parsers(void **state)
{
	struct arc_seal_tags st;
	char err[96];
	static const char good[] = " i=3; a=ed25519-sha256; cv=pass; d=Example.ORG; s=sel;\r\n\t t=12; b=AAAA; x=ignored";

	(void)state;
	assert_int_equal(arc_aar_instance(" i=1; mx.example; none", 22), 1);
	assert_int_equal(arc_aar_instance("i = 50 ;x", 9), 50);
	assert_int_equal(arc_aar_instance(" i=51; x", 8), -1);
	assert_int_equal(arc_aar_instance(" i=1 x; y", 9), -1);
	assert_int_equal(arc_aar_instance(" i=", 3), -1);
	assert_int_equal(arc_aar_instance("", 0), -1);
	assert_int_equal(arc_seal_parse(good, strlen(good), &st, err, sizeof(err)), 0);
	assert_int_equal(st.instance, 3);
	assert_int_equal(st.cv, ARC_CV_PASS);
	assert_int_equal(st.algo, DKIM_ALGO_ED25519_SHA256);
	assert_string_equal(st.domain, "example.org");
	assert_string_equal(st.selector, "sel");
	assert_int_equal(st.t, 12);
	assert_int_equal(st.b_len, 3);
	assert_memory_equal(good + st.b_start, "AAAA;", 5);
	assert_int_equal(good[st.b_end], ';');
	assert_int_equal(arc_seal_parse(S("i=1; a=rsa-sha1; cv=none; d=a; s=b; b=AAAA"), &st, err, sizeof(err)), -1);
	assert_int_equal(arc_seal_parse(S("i=1; a=rsa-sha256; cv=none; d=a; s=b"), &st, err, sizeof(err)), -1);
	assert_int_equal(arc_seal_parse(S("i=1; a=rsa-sha256; cv=none; d=a..b; s=b; b=AAAA"), &st, err, sizeof(err)), -1);
	assert_int_equal(arc_seal_parse(S("i=1; i=2; a=rsa-sha256; cv=none; d=a; s=b; b=AAAA"), &st, err, sizeof(err)), -1);
}

static void test_authres(void **state)
{
	struct authres ar;
	struct arc_result *r = calloc(1, sizeof(*r));
	struct buf out = BUF_INIT;

	(void)state;
	assert_non_null(r);
	memset(&ar, 0, sizeof(ar));
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "mx.example.net");
	r->status = ARC_PASS;
	r->oldest_pass = 2;
	assert_int_equal(arc_authres_add(&ar, r, "2001:db8::1"), 0);
	r->status = ARC_FAIL;
	snprintf(r->reason, sizeof(r->reason), "ARC-Seal i=1: ARC-Seal did not verify");
	assert_int_equal(arc_authres_add(&ar, r, NULL), 0);
	assert_int_equal(authres_write(&ar, &out), 0);
	assert_true(buf_putc(&out, '\0') == 0);
	assert_non_null(strstr(out.data, "arc=pass smtp.remote-ip=\"2001:db8::1\" header.oldest-pass=2;"));
	assert_non_null(strstr(out.data, "arc=fail reason=\"ARC-Seal i=1: ARC-Seal did not verify\""));
	/* It reads back. */
	{
		struct authres back;
		const char *v = strchr(out.data, ':') + 1;
		assert_int_equal(authres_parse(v, strlen(v), &back), 0);
		assert_int_equal(back.count, 2);
		assert_string_equal(back.results[0].method, "arc");
		assert_string_equal(back.results[0].props[1].property, "oldest-pass");
	}
	buf_free(&out);
	free(r);
}

static void test_verifier_reuse(void **state)
{
	char *a = chain_of(2), *b = chain_of(1);

	(void)state;
	b = replace(b, "Body line one.", "Body line 1.");
	for (int round = 0; round < 3; round++) {
		assert_int_equal(verify(a)->status, ARC_PASS);
		assert_int_equal(verify(b)->status, ARC_FAIL);
		assert_int_equal(verify(plain_msg)->status, ARC_NONE);
	}
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_good_chains),
		cmocka_unit_test(test_body_modified),
		cmocka_unit_test(test_header_changed_between_hops),
		cmocka_unit_test(test_seal_modified),
		cmocka_unit_test(test_missing_instance),
		cmocka_unit_test(test_incomplete_set),
		cmocka_unit_test(test_duplicate_instance),
		cmocka_unit_test(test_bad_instances),
		cmocka_unit_test(test_cv_rules),
		cmocka_unit_test(test_cv_fail_propagation),
		cmocka_unit_test(test_seal_scope),
		cmocka_unit_test(test_fifty_sets),
		cmocka_unit_test(test_key_trouble),
		cmocka_unit_test(test_ams_signing_arc_seal),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_authres),
		cmocka_unit_test(test_verifier_reuse),
	};
	return cmocka_run_group_tests_name("arc", tests, setup, teardown);
}
