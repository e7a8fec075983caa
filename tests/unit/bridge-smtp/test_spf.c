/* SPF: record parser, macro expansion, limits, and the RFC 7208 test suite
 * (pyspf/OpenSPF YAML, from Debian's python3-spf) over the table-backed
 * resolver, so every scenario gets exactly its zone data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/dns.h"
#include "bridge-smtp/spf.h"
#include "common/yamljson.h"

#define SUITE_GZ "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"

static int parses(const char *text)
{
	struct spf_record *rec = NULL;
	char err[128];
	int rc = spf_record_parse(text, strlen(text), &rec, err, sizeof(err));
	spf_record_free(rec);
	return rc == 0;
}

static void test_parse_valid(void **state)
{
	(void)state;
	static const char *ok[] = {
		"v=spf1", "v=spf1 ", "V=SPF1 -ALL", "v=spf1 +all", "v=spf1 ~all", "v=spf1 ?all",
		"v=spf1 a mx ptr -all", "v=spf1 a:example.com/24", "v=spf1 a//64", "v=spf1 a/0//0",
		"v=spf1 mx:mail.example.com/24//48", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32",
		"v=spf1 ip4:192.0.2.1 ip6:::1", "v=spf1 include:_spf.example.com exists:%{i}.bl.example.org",
		"v=spf1 redirect=_spf.example.com", "v=spf1 -all exp=explain.%{d}",
		"v=spf1 foo=bar -all", "v=spf1 x-unknown=%{c} -all",
		"v=spf1 exists:%{ir}.%{l1r-}.%{d2}", "v=spf1 a:example.com.", "v=spf1 a:foo.1-2",
		"v=spf1   -all   ", "v=spf1 ptr:example.com", "v=spf1 a:%{d}", "v=spf1 a:x.%%",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!parses(ok[i]))
			fail_msg("should parse: %s", ok[i]);
	}
	struct spf_record *rec;
	const char *t = "v=spf1 -mx:mail.example.com/24//48 ip6:2001:db8::/32 ?all exp=e.example.com";
	assert_int_equal(spf_record_parse(t, strlen(t), &rec, NULL, 0), 0);
	assert_int_equal(rec->count, 3);
	assert_int_equal(rec->terms[0].mech, SPF_MECH_MX);
	assert_int_equal(rec->terms[0].qualifier, SPF_FAIL);
	assert_string_equal(rec->terms[0].domain_spec, "mail.example.com");
	assert_int_equal(rec->terms[0].cidr4, 24);
	assert_int_equal(rec->terms[0].cidr6, 48);
	assert_int_equal(rec->terms[1].cidr6, 32);
	assert_int_equal(rec->terms[2].qualifier, SPF_NEUTRAL);
	assert_true(rec->has_all);
	assert_string_equal(rec->exp, "e.example.com");
	spf_record_free(rec);
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static const char *bad[] = {
		"v=spf10", "spf1 -all", "v=spf1 -al", "v=spf1 all:x", "v=spf1 ip4:300.1.1.1",
		"v=spf1 ip4:1.2.3.4/33", "v=spf1 ip4:1.2.3.4/032", "v=spf1 ip6:::1/129", "v=spf1 ip4",
		"v=spf1 include", "v=spf1 include:", "v=spf1 a:foo.123", "v=spf1 a:example",
		"v=spf1 redirect=a.example.com redirect=b.example.com", "v=spf1 exp=a.com exp=b.com",
		"v=spf1 a:%{x}.example.com", "v=spf1 a:%{c}.example.com", "v=spf1 a:%{d0}.example.com",
		"v=spf1 a:%example.com", "v=spf1 -all\t", "v=spf1 =foo", "v=spf1 foo=%{", "v=spf1 ptr/24",
		"v=spf1 a:ex\x01mple.com", "v=spf1 ip4:1.2.3.4//64", "v=spf1 mx//129",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parses(bad[i]))
			fail_msg("should not parse: %s", bad[i]);
	}
	assert_true(spf_is_record("v=spf1", 6));
	assert_false(spf_is_record("v=spf1x", 7));
	assert_false(spf_is_record("v=spf", 5));
}

static char *expand(const char *s, const char *ip, int is_exp)
{
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	if (strchr(ip, ':') != NULL) {
		static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xcb, [15] = 0x01 };
		req.family = 6;
		memcpy(req.ip, v6, 16);
	} else {
		static const uint8_t v4[4] = { 192, 0, 2, 3 };
		req.family = 4;
		memcpy(req.ip, v4, 4);
	}
	req.sender = "strong-bad@email.example.com";
	req.domain = "email.example.com";
	req.helo = "mx.example.org";
	req.now = 1234567890;
	return spf_macro_expand(s, strlen(s), &req, "email.example.com", NULL, is_exp);
}

/* The examples of RFC 7208 section 7.4. */
static void test_macros(void **state)
{
	(void)state;
	static const struct { const char *in, *ip, *out; } ex[] = {
		{ "%{s}", "4", "strong-bad@email.example.com" },
		{ "%{o}", "4", "email.example.com" },
		{ "%{d}", "4", "email.example.com" },
		{ "%{d4}", "4", "email.example.com" },
		{ "%{d3}", "4", "email.example.com" },
		{ "%{d2}", "4", "example.com" },
		{ "%{d1}", "4", "com" },
		{ "%{dr}", "4", "com.example.email" },
		{ "%{d2r}", "4", "example.email" },
		{ "%{l}", "4", "strong-bad" },
		{ "%{l-}", "4", "strong.bad" },
		{ "%{lr}", "4", "strong-bad" },
		{ "%{lr-}", "4", "bad.strong" },
		{ "%{l1r-}", "4", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", "4", "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "4", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "4", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "4", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net", "4", "example.com.trusted-domains.example.net" },
		{ "%{ir}.%{v}._spf.%{d2}", "6",
		  "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com" },
		{ "%%%_%-", "4", "% %20" },
		{ "%{S}", "4", "strong-bad%40email.example.com" },
		{ "%{h}", "4", "mx.example.org" },
		{ "%{p}", "4", "unknown" },
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		char *got = expand(ex[i].in, ex[i].ip[0] == '6' ? "::" : "4", 0);
		if (got == NULL || strcmp(got, ex[i].out) != 0)
			fail_msg("%s: got %s, want %s", ex[i].in, got ? got : "(error)", ex[i].out);
		free(got);
	}
	char *got = expand("%{c} at %{t} for %{r}", "4", 1);
	assert_non_null(got);
	assert_string_equal(got, "192.0.2.3 at 1234567890 for unknown");
	free(got);
	assert_null(expand("%{c}", "4", 0)); /* c/r/t only in explanations */
	assert_null(expand("%{x}", "4", 0));
	assert_null(expand("%", "4", 0));
	assert_null(expand("a b", "4", 0));
}

static struct dns_resolver *zone(const char *const *rr)
{
	struct dns_resolver *r = dns_static_new();
	assert_non_null(r);
	for (; rr[0] != NULL; rr += 3) {
		enum dns_type t = strcmp(rr[1], "A") == 0 ? DNS_A : strcmp(rr[1], "AAAA") == 0 ? DNS_AAAA :
			strcmp(rr[1], "MX") == 0 ? DNS_MX : strcmp(rr[1], "PTR") == 0 ? DNS_PTR : DNS_TXT;
		assert_int_equal(dns_static_add(r, rr[0], t, rr[2], (size_t)-1), 0);
	}
	return r;
}

static enum spf_result check(struct dns_resolver *r, const char *ip, const char *domain, struct spf_outcome *out)
{
	char sender[300];
	snprintf(sender, sizeof(sender), "user@%s", domain);
	assert_int_equal(spf_check_host_str(r, ip, domain, sender, "helo.example.org", out), 0);
	return out->result;
}

static void test_limits(void **state)
{
	(void)state;
	static const char *const rr[] = {
		"ten.example.com", "TXT", "v=spf1 a:h.example.com a:h.example.com a:h.example.com a:h.example.com "
			"a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com "
			"a:h.example.com -all",
		"eleven.example.com", "TXT", "v=spf1 a:h.example.com a:h.example.com a:h.example.com a:h.example.com "
			"a:h.example.com a:h.example.com a:h.example.com a:h.example.com a:h.example.com "
			"a:h.example.com a:h.example.com -all",
		"ipsfree.example.com", "TXT", "v=spf1 ip4:1.1.1.1 ip4:1.1.1.2 ip4:1.1.1.3 ip4:1.1.1.4 ip4:1.1.1.5 "
			"ip4:1.1.1.6 ip4:1.1.1.7 ip4:1.1.1.8 ip4:1.1.1.9 ip4:1.1.1.10 ip4:1.1.1.11 a:h.example.com -all",
		"h.example.com", "A", "192.0.2.200",
		"void2.example.com", "TXT", "v=spf1 a:n1.example.com a:n2.example.com +all",
		"void3.example.com", "TXT", "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com +all",
		"mx11.example.com", "TXT", "v=spf1 mx -all",
		"mx10.example.com", "TXT", "v=spf1 mx -all",
		"loop.example.com", "TXT", "v=spf1 include:loop.example.com -all",
		"redir.example.com", "TXT", "v=spf1 redirect=loop2.example.com",
		"loop2.example.com", "TXT", "v=spf1 redirect=redir.example.com",
		NULL,
	};
	struct dns_resolver *r = zone(rr);
	for (int i = 0; i < 11; i++) {
		char mx[64];
		snprintf(mx, sizeof(mx), "%d mx%d.example.com", i, i);
		assert_int_equal(dns_static_add(r, "mx11.example.com", DNS_MX, mx, (size_t)-1), 0);
		if (i < 10)
			assert_int_equal(dns_static_add(r, "mx10.example.com", DNS_MX, mx, (size_t)-1), 0);
	}
	assert_int_equal(dns_static_add(r, "mx9.example.com", DNS_A, "192.0.2.9", (size_t)-1), 0);
	struct spf_outcome out;
	assert_int_equal(check(r, "192.0.2.200", "ten.example.com", &out), SPF_PASS);
	assert_int_equal(check(r, "192.0.2.1", "ten.example.com", &out), SPF_FAIL);
	assert_int_equal(out.dns_terms, 10);
	assert_int_equal(check(r, "192.0.2.1", "eleven.example.com", &out), SPF_PERMERROR);
	assert_int_equal(check(r, "192.0.2.200", "ipsfree.example.com", &out), SPF_PASS);
	assert_int_equal(check(r, "192.0.2.1", "void2.example.com", &out), SPF_PASS);
	assert_int_equal(check(r, "192.0.2.1", "void3.example.com", &out), SPF_PERMERROR);
	assert_int_equal(check(r, "192.0.2.9", "mx11.example.com", &out), SPF_PERMERROR);
	assert_int_equal(check(r, "192.0.2.9", "mx10.example.com", &out), SPF_PASS);
	assert_string_equal(out.mechanism, "mx");
	assert_int_equal(check(r, "192.0.2.1", "loop.example.com", &out), SPF_PERMERROR);
	assert_int_equal(check(r, "192.0.2.1", "redir.example.com", &out), SPF_PERMERROR);
	/* ptr: only the first 10 PTR names are tried; the 11th would match. */
	assert_int_equal(dns_static_add(r, "ptr.example.com", DNS_TXT, "v=spf1 ptr -all", (size_t)-1), 0);
	for (int i = 0; i < 11; i++) {
		char host[64];
		snprintf(host, sizeof(host), "h%d.%s", i, i == 10 ? "ptr.example.com" : "elsewhere.example");
		assert_int_equal(dns_static_add(r, "7.2.0.192.in-addr.arpa", DNS_PTR, host, (size_t)-1), 0);
		assert_int_equal(dns_static_add(r, host, DNS_A, "192.0.2.7", (size_t)-1), 0);
		if (i == 0)
			assert_int_equal(dns_static_add(r, "8.2.0.192.in-addr.arpa", DNS_PTR, "h10.ptr.example.com", (size_t)-1), 0);
	}
	assert_int_equal(check(r, "192.0.2.7", "ptr.example.com", &out), SPF_FAIL);
	/* The name must also resolve back to the client to count. */
	assert_int_equal(check(r, "192.0.2.8", "ptr.example.com", &out), SPF_FAIL);
	assert_int_equal(dns_static_add(r, "h10.ptr.example.com", DNS_A, "192.0.2.8", (size_t)-1), 0);
	assert_int_equal(check(r, "192.0.2.8", "ptr.example.com", &out), SPF_PASS);
	dns_resolver_free(r);
}

static void test_results(void **state)
{
	(void)state;
	static const char *const rr[] = {
		"example.com", "TXT", "v=spf1 ip4:192.0.2.0/24 include:inc.example.com ~all exp=why.example.com",
		"inc.example.com", "TXT", "v=spf1 ip6:2001:db8::/32 -all",
		"why.example.com", "TXT", "%{i} may not send for %{d}",
		"hard.example.com", "TXT", "v=spf1 -all exp=why.example.com",
		"temp.example.com", "TXT", "v=spf1 a:down.example.com -all",
		"noinc.example.com", "TXT", "v=spf1 include:nothing.example.com -all",
		"twice.example.com", "TXT", "v=spf1 -all",
		"twice.example.com", "TXT", "v=spf1 +all",
		"other.example.com", "TXT", "not spf",
		NULL,
	};
	struct dns_resolver *r = zone(rr);
	assert_int_equal(dns_static_set_status(r, "down.example.com", DNS_TEMPFAIL), 0);
	struct spf_outcome out;
	assert_int_equal(check(r, "192.0.2.7", "example.com", &out), SPF_PASS);
	assert_string_equal(out.mechanism, "ip4:192.0.2.0/24");
	assert_int_equal(check(r, "2001:db8::1", "example.com", &out), SPF_PASS);
	assert_string_equal(out.mechanism, "include:inc.example.com");
	assert_int_equal(check(r, "::ffff:192.0.2.9", "example.com", &out), SPF_PASS);
	assert_int_equal(check(r, "198.51.100.1", "example.com", &out), SPF_SOFTFAIL);
	assert_null(out.explanation);
	assert_int_equal(check(r, "198.51.100.1", "hard.example.com", &out), SPF_FAIL);
	assert_non_null(out.explanation);
	assert_string_equal(out.explanation, "198.51.100.1 may not send for hard.example.com");
	spf_outcome_free(&out);
	assert_int_equal(check(r, "198.51.100.1", "temp.example.com", &out), SPF_TEMPERROR);
	assert_int_equal(check(r, "198.51.100.1", "noinc.example.com", &out), SPF_PERMERROR);
	assert_int_equal(check(r, "198.51.100.1", "twice.example.com", &out), SPF_PERMERROR);
	assert_int_equal(check(r, "198.51.100.1", "other.example.com", &out), SPF_NONE);
	assert_int_equal(check(r, "198.51.100.1", "missing.example.com", &out), SPF_NONE);
	assert_int_equal(check(r, "198.51.100.1", "localhost", &out), SPF_NONE);
	assert_int_equal(spf_check_host_str(r, "not-an-ip", "example.com", "a@example.com", NULL, &out), -1);
	assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
	assert_string_equal(spf_result_name(SPF_PERMERROR), "permerror");
	dns_resolver_free(r);
}

static void test_headers(void **state)
{
	(void)state;
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.family = 4;
	req.ip[0] = 192;
	req.ip[2] = 2;
	req.ip[3] = 1;
	req.domain = "example.com";
	req.sender = "a@example.com";
	req.helo = "mx.example.com";
	struct spf_outcome out;
	memset(&out, 0, sizeof(out));
	out.result = SPF_PASS;
	snprintf(out.mechanism, sizeof(out.mechanism), "ip4:192.0.2.0/24");
	char *h = spf_received_spf(&req, &out, "mailfrom", "mx.example.org");
	assert_string_equal(h, "pass (mx.example.org: domain of a@example.com designates 192.0.2.1 as permitted "
		"sender) client-ip=192.0.2.1; envelope-from=\"a@example.com\"; helo=mx.example.com; "
		"receiver=mx.example.org; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"");
	free(h);
	h = spf_auth_result(&req, &out, "mailfrom");
	assert_string_equal(h, "spf=pass smtp.mailfrom=\"a@example.com\"");
	free(h);
	/* Hostile HELO: no line break or unbalanced quote gets through. */
	req.helo = "evil\r\nX-Injected: yes \"(x)";
	out.result = SPF_PERMERROR;
	out.mechanism[0] = '\0';
	snprintf(out.problem, sizeof(out.problem), "bad \"record\"");
	h = spf_received_spf(&req, &out, "helo", NULL);
	assert_null(strchr(h, '\r'));
	assert_null(strchr(h, '\n'));
	assert_non_null(strstr(h, "helo=\"evil??X-Injected: yes \\\"(x)\""));
	assert_non_null(strstr(h, "identity=helo; problem=\"bad \\\"record\\\"\""));
	free(h);
	h = spf_auth_result(&req, &out, "helo");
	assert_string_equal(h, "spf=permerror smtp.helo=\"evil??X-Injected: yes \\\"(x)\"");
	free(h);
}

/* ---- The RFC 7208 suite ---- */

static char *read_gz(const char *path, size_t *len)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s' 2>/dev/null", path);
	FILE *f = popen(cmd, "r");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 18, n = 0, got;
	char *buf = malloc(cap);
	while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	if (pclose(f) != 0 || n == 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static enum dns_type type_of(const char *t)
{
	if (strcmp(t, "A") == 0)
		return DNS_A;
	if (strcmp(t, "AAAA") == 0)
		return DNS_AAAA;
	if (strcmp(t, "MX") == 0)
		return DNS_MX;
	if (strcmp(t, "PTR") == 0)
		return DNS_PTR;
	if (strcmp(t, "TXT") == 0)
		return DNS_TXT;
	return 0;
}

/* TXT data: a string, or a list of character-strings to join (they may
 * hold NUL bytes, so lengths are kept). */
static char *txt_text(json_t *v, size_t *len)
{
	size_t n = 0, i;
	json_t *s;
	if (json_is_string(v)) {
		n = json_string_length(v);
		char *out = malloc(n + 1);
		memcpy(out, json_string_value(v), n + 1);
		*len = n;
		return out;
	}
	json_array_foreach(v, i, s)
		n += json_string_length(s);
	char *out = calloc(1, n + 1);
	*len = 0;
	json_array_foreach(v, i, s) {
		memcpy(out + *len, json_string_value(s), json_string_length(s));
		*len += json_string_length(s);
	}
	return out;
}

static void add_rr(struct dns_resolver *r, const char *name, const char *type, json_t *v)
{
	enum dns_type t = type_of(type);
	char data[600];
	if (t == DNS_TXT) {
		size_t tlen;
		char *txt = txt_text(v, &tlen);
		if (txt != NULL && strcmp(txt, "NONE") != 0)
			dns_static_add(r, name, t, txt, tlen);
		free(txt);
		return;
	}
	if (t == DNS_MX && json_is_array(v)) {
		snprintf(data, sizeof(data), "%lld %s", (long long)json_integer_value(json_array_get(v, 0)),
			json_string_value(json_array_get(v, 1)));
	} else if (json_is_string(v)) {
		snprintf(data, sizeof(data), "%s", json_string_value(v));
	} else {
		return;
	}
	if (t != 0)
		dns_static_add(r, name, t, data, (size_t)-1);
}

/* Zone data as the suite's own driver (testspf.py) reads it: SPF-type
 * records stand in for TXT when a name has none; TIMEOUT makes the name's
 * other lookups time out; CNAMEs are followed (their target's records are
 * copied); names under "error." that are not listed time out. */
static struct dns_resolver *scenario_zone(json_t *zd)
{
	struct dns_resolver *r = dns_static_new();
	const char *name;
	json_t *entries;
	json_object_foreach(zd, name, entries) {
		size_t i;
		json_t *e;
		int has_txt = 0;
		dns_static_add_name(r, name);
		json_array_foreach(entries, i, e)
			if (json_is_object(e) && json_object_get(e, "TXT") != NULL)
				has_txt = 1;
		json_array_foreach(entries, i, e) {
			if (json_is_string(e) && strcmp(json_string_value(e), "TIMEOUT") == 0) {
				dns_static_set_status(r, name, DNS_TEMPFAIL);
				continue;
			}
			const char *type;
			json_t *v;
			json_object_foreach(e, type, v) {
				if (strcmp(type, "SPF") == 0) {
					if (!has_txt)
						add_rr(r, name, "TXT", v);
				} else if (strcmp(type, "CNAME") != 0) {
					add_rr(r, name, type, v);
				}
			}
		}
	}
	/* CNAMEs: copy the target's records; a loop is a server failure. */
	json_object_foreach(zd, name, entries) {
		json_t *e = json_array_get(entries, 0);
		json_t *cname = json_is_object(e) ? json_object_get(e, "CNAME") : NULL;
		if (cname == NULL)
			continue;
		const char *target = json_string_value(cname);
		char tnorm[256] = "";
		for (int hops = 0; hops < 8; hops++) {
			dns_name_normalize(target, tnorm, sizeof(tnorm));
			json_t *te = NULL;
			const char *k;
			json_t *v;
			json_object_foreach(zd, k, v) {
				char kn[256];
				if (dns_name_normalize(k, kn, sizeof(kn)) == 0 && strcmp(kn, tnorm) == 0)
					te = v;
			}
			json_t *first = te != NULL ? json_array_get(te, 0) : NULL;
			json_t *next = json_is_object(first) ? json_object_get(first, "CNAME") : NULL;
			if (next == NULL) {
				size_t i;
				json_t *x;
				json_array_foreach(te, i, x) {
					const char *type;
					json_t *val;
					if (json_is_object(x))
						json_object_foreach(x, type, val)
							if (strcmp(type, "CNAME") != 0 && strcmp(type, "SPF") != 0)
								add_rr(r, name, type, val);
				}
				break;
			}
			target = json_string_value(next);
			if (hops == 7)
				dns_static_set_status(r, name, DNS_TEMPFAIL);
		}
	}
	return r;
}

static int result_ok(json_t *want, enum spf_result got)
{
	if (json_is_string(want))
		return strcasecmp(json_string_value(want), spf_result_name(got)) == 0;
	size_t i;
	json_t *w;
	json_array_foreach(want, i, w)
		if (strcasecmp(json_string_value(w), spf_result_name(got)) == 0)
			return 1;
	return 0;
}

/* Scenario tests this implementation answers differently from the suite,
 * each for a reason given in the report (kept empty when all pass). */
static const char *const known_differences[] = {
	/* Wants %{i} of an IPv6 address in upper-case hex (pyspf's choice);
	 * RFC 7208 section 7.4's own example is lower case, which we follow.
	 * DNS ignores the case, so only explanation text differs. */
	"v-macro-ip6",
	NULL,
};

static int known(const char *test)
{
	for (size_t i = 0; known_differences[i] != NULL; i++)
		if (strcmp(known_differences[i], test) == 0)
			return 1;
	return 0;
}

static void test_rfc7208_suite(void **state)
{
	(void)state;
	size_t len;
	char *text = read_gz(getenv("SPF_SUITE") ? getenv("SPF_SUITE") : SUITE_GZ, &len);
	if (text == NULL) {
		skip();
		return;
	}
	char err[256];
	json_t *docs = yaml_load_all_string(text, len, err, sizeof(err));
	free(text);
	if (docs == NULL)
		fail_msg("suite: %s", err);
	size_t di, passed = 0, failed = 0, unexpected = 0, explained = 0;
	json_t *doc;
	json_array_foreach(docs, di, doc) {
		json_t *zd = json_object_get(doc, "zonedata");
		json_t *tests = json_object_get(doc, "tests");
		if (!json_is_object(tests))
			continue;
		const char *tname;
		json_t *tc;
		json_object_foreach(tests, tname, tc) {
			struct dns_resolver *r = scenario_zone(zd);
			const char *host = json_string_value(json_object_get(tc, "host"));
			const char *helo = json_string_value(json_object_get(tc, "helo"));
			const char *from = json_string_value(json_object_get(tc, "mailfrom"));
			char sender[600];
			const char *domain;
			if (from == NULL || from[0] == '\0') {
				snprintf(sender, sizeof(sender), "postmaster@%s", helo ? helo : "");
				domain = helo ? helo : "";
			} else {
				snprintf(sender, sizeof(sender), "%s", from);
				const char *at = strrchr(from, '@');
				domain = at != NULL ? at + 1 : from;
			}
			struct spf_request req;
			memset(&req, 0, sizeof(req));
			struct spf_outcome out;
			memset(&out, 0, sizeof(out));
			int rc = -1;
			char ipbuf[64];
			snprintf(ipbuf, sizeof(ipbuf), "%s", host ? host : "");
			rc = spf_check_host_str(r, ipbuf, domain, sender, helo, &out);
			json_t *want = json_object_get(tc, "result");
			const char *want_exp = json_string_value(json_object_get(tc, "explanation"));
			int ok = rc == 0 && result_ok(want, out.result);
			if (ok && want_exp != NULL && strcmp(want_exp, "DEFAULT") != 0 && out.result == SPF_FAIL) {
				explained++;
				ok = out.explanation != NULL && strcmp(out.explanation, want_exp) == 0;
			}
			if (ok) {
				passed++;
			} else {
				failed++;
				char *w = json_dumps(want, JSON_ENCODE_ANY);
				if (!known(tname))
					unexpected++;
				printf("# %s %s: got %s (%s) expl=%s, want %s expl=%s\n", known(tname) ? "known" : "FAIL",
					tname, spf_result_name(out.result), out.problem,
					out.explanation ? out.explanation : "-", w, want_exp ? want_exp : "-");
				free(w);
			}
			spf_outcome_free(&out);
			dns_resolver_free(r);
		}
	}
	printf("# RFC 7208 suite: %zu passed, %zu failed (%zu unexpected), %zu explanations compared\n",
		passed, failed, unexpected, explained);
	json_decref(docs);
	assert_true(passed > 0);
	assert_int_equal(unexpected, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_rfc7208_suite),
	};
	return cmocka_run_group_tests_name("spf", tests, NULL, NULL);
}
