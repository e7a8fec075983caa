/* SPF evaluations per second with a warm cache.
 *
 * 1. libunbound resolver forwarding to a private Knot DNS server (started
 *    here with tests/dns/dnsserver.py and the zones in tests/dns/zones, or
 *    the one in $SCOP_DNS_FORWARDER), after one pass to fill the cache:
 *    what the mail bridge pays per message once records are cached.
 * 2. The table-backed resolver: the cost of parsing and evaluating alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_knot.h"
#include "common/dns.h"
#include "bridge-smtp/spf.h"

#ifndef SCOP_SRCDIR
#define SCOP_SRCDIR "."
#endif

static const struct { const char *ip, *domain; } cases[] = {
	{ "192.0.2.11", "example.com" },        /* mx */
	{ "203.0.113.5", "example.com" },       /* include */
	{ "192.0.2.99", "example.com" },        /* -all after everything */
	{ "192.0.2.3", "redir.example.com" },   /* redirect */
	{ "192.0.2.1", "macro.example.com" },   /* exists with macros */
	{ "192.0.2.30", "ptrspf.example.com" }, /* ptr */
	{ "2001:db8::10", "six.example.com" },
	{ "192.0.2.1", "explain.example.com" }, /* fail with explanation */
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_once(struct dns_resolver *r, size_t i)
{
	struct spf_outcome out;
	char sender[128];
	snprintf(sender, sizeof(sender), "user@%s", cases[i].domain);
	if (spf_check_host_str(r, cases[i].ip, cases[i].domain, sender, "mail.example.org", &out) != 0)
		return -1;
	int bad = out.result == SPF_TEMPERROR;
	spf_outcome_free(&out);
	return bad ? -1 : 0;
}

static void measure(const char *label, struct dns_resolver *r, double seconds)
{
	for (size_t i = 0; i < NCASES; i++) /* warm the cache */
		if (run_once(r, i) != 0) {
			printf("%s: case %zu gave temperror; is the DNS server up?\n", label, i);
			return;
		}
	unsigned long n = 0;
	double start = now_s(), t;
	do {
		for (size_t i = 0; i < NCASES; i++)
			run_once(r, i);
		n += NCASES;
	} while ((t = now_s() - start) < seconds);
	printf("%s: %lu SPF evaluations in %.2f s = %.0f evaluations/s (%.1f us each)\n",
		label, n, t, n / t, t / n * 1e6);
}

static void fill_table(struct dns_resolver *r)
{
	static const char *const rr[][3] = {
		{ "example.com", "TXT", "v=spf1 mx a:relay.example.com ip4:198.51.100.0/24 include:_spf.example.net -all" },
		{ "example.com", "MX", "10 mx1.example.com" }, { "example.com", "MX", "20 mx2.example.com" },
		{ "example.com", "MX", "30 mx3.example.com" }, { "mx1.example.com", "A", "192.0.2.11" },
		{ "mx2.example.com", "A", "192.0.2.12" }, { "mx3.example.com", "AAAA", "2001:db8::13" },
		{ "relay.example.com", "A", "192.0.2.20" },
		{ "_spf.example.net", "TXT", "v=spf1 ip4:203.0.113.0/26 ip6:2001:db8:beef::/48 ?all" },
		{ "redir.example.com", "TXT", "v=spf1 redirect=soft.example.com" },
		{ "soft.example.com", "TXT", "v=spf1 ip4:192.0.2.0/28 ~all" },
		{ "macro.example.com", "TXT", "v=spf1 exists:%{ir}.%{l1r-}._spf.example.com -all" },
		{ "1.2.0.192.user._spf.example.com", "A", "127.0.0.2" },
		{ "ptrspf.example.com", "TXT", "v=spf1 ptr:example.com -all" },
		{ "30.2.0.192.in-addr.arpa", "PTR", "onlya.example.com" }, { "onlya.example.com", "A", "192.0.2.30" },
		{ "six.example.com", "TXT", "v=spf1 ip6:2001:db8:1::/48 a/24//64 -all" },
		{ "six.example.com", "AAAA", "2001:db8::10" },
		{ "explain.example.com", "TXT", "v=spf1 ip4:192.0.2.77 -all exp=exp.example.com" },
		{ "exp.example.com", "TXT", "%{i} is not one of %{d}'s designated mail servers." },
	};
	for (size_t i = 0; i < sizeof(rr) / sizeof(rr[0]); i++) {
		enum dns_type t = strcmp(rr[i][1], "A") == 0 ? DNS_A : strcmp(rr[i][1], "AAAA") == 0 ? DNS_AAAA :
			strcmp(rr[i][1], "MX") == 0 ? DNS_MX : strcmp(rr[i][1], "PTR") == 0 ? DNS_PTR : DNS_TXT;
		dns_static_add(r, rr[i][0], t, rr[i][2], (size_t)-1);
	}
}

int main(void)
{
	struct bench_knot knot;
	bench_knot_start(&knot, SCOP_SRCDIR);
	const char *fwd = knot.fwd;
	if (fwd[0] != '\0') {
		char err[256];
		struct dns_resolver_options opt = { .forwarder = fwd, .timeout_ms = 5000 };
		struct dns_resolver *r = dns_unbound_new(&opt, err, sizeof(err));
		if (r != NULL) {
			measure("libunbound, warm cache, Knot on loopback", r, 2.0);
			dns_resolver_free(r);
		} else {
			printf("libunbound: %s\n", err);
		}
	} else {
		printf("libunbound: no DNS server (knotd) available, skipped\n");
	}
	bench_knot_stop(&knot);
	struct dns_resolver *t = dns_static_new();
	if (t != NULL) {
		fill_table(t);
		measure("table resolver (parse + evaluate only)", t, 2.0);
		dns_resolver_free(t);
	}
	return 0;
}
