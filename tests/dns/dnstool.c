/* Test probe for dns.h (and spf.h): the end-to-end tests run it against
 * their own DNS server and read one JSON object per query from stdout.
 *
 *   dnstool [--fwd ADDR@PORT] [--ta FILE] [--timeout MS] lookup NAME TYPE...
 *   dnstool [...] spf IP DOMAIN SENDER HELO      (several quadruples allowed)
 *   dnstool [...] stress THREADS ROUNDS NAME TYPE...  (concurrent lookups on
 *                 one resolver; prints how many answers matched the first)
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dns.h"
#ifdef DNSTOOL_SPF
#include "bridge-smtp/spf.h"
#endif

static int parse_type(const char *s, enum dns_type *t)
{
	static const struct { const char *name; enum dns_type type; } types[] = {
		{ "A", DNS_A }, { "AAAA", DNS_AAAA }, { "MX", DNS_MX }, { "TXT", DNS_TXT }, { "PTR", DNS_PTR },
		{ "SRV", DNS_SRV }, { "TLSA", DNS_TLSA },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0) {
			*t = types[i].type;
			return 0;
		}
	return -1;
}

static json_t *record_json(enum dns_type t, const struct dns_record *rec)
{
	char addr[INET6_ADDRSTRLEN];
	switch (t) {
	case DNS_A:
		return json_string(inet_ntop(AF_INET, rec->addr, addr, sizeof(addr)));
	case DNS_AAAA:
		return json_string(inet_ntop(AF_INET6, rec->addr, addr, sizeof(addr)));
	case DNS_MX:
		return json_pack("{s:i,s:s}", "pref", rec->pref, "host", rec->text);
	case DNS_SRV:
		return json_pack("{s:i,s:i,s:i,s:s}", "priority", rec->priority, "weight", rec->weight,
				 "port", rec->port, "host", rec->text);
	case DNS_TLSA: {
		char hex[2 * 256 + 1];
		size_t n = rec->len < 256 ? rec->len : 256;
		for (size_t i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", (unsigned char)rec->text[i]);
		hex[2 * n] = '\0';
		return json_pack("{s:i,s:i,s:i,s:s}", "usage", rec->tlsa_usage, "selector", rec->tlsa_selector,
				 "mtype", rec->tlsa_mtype, "data", hex);
	}
	default:
		return json_stringn_nocheck(rec->text, rec->len);
	}
}

static int do_lookup(struct dns_resolver *r, const char *name, const char *type)
{
	enum dns_type t;
	struct dns_result res;
	if (parse_type(type, &t) != 0) {
		fprintf(stderr, "unknown type %s\n", type);
		return -1;
	}
	if (dns_lookup(r, name, t, &res) != 0) {
		printf("{\"error\": \"dns_lookup failed\"}\n");
		return 0;
	}
	json_t *recs = json_array();
	for (size_t i = 0; i < res.count; i++)
		json_array_append_new(recs, record_json(t, &res.records[i]));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:o,s:s}", "name", name, "type", type,
		"status", dns_status_name(res.status), "security", dns_security_name(res.security),
		"ttl", (json_int_t)res.ttl, "records", recs, "why_bogus", res.why_bogus);
	char *s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
	dns_result_free(&res);
	return 0;
}

struct stress {
	struct dns_resolver *r;
	char **pairs;
	int npairs, rounds;
	size_t *want; /* record count of each pair's first answer */
	unsigned long same, differ;
	pthread_mutex_t lock;
};

static void *stress_thread(void *arg)
{
	struct stress *st = arg;
	unsigned long same = 0, differ = 0;
	for (int k = 0; k < st->rounds; k++)
		for (int i = 0; i < st->npairs; i++) {
			enum dns_type t;
			struct dns_result res;
			if (parse_type(st->pairs[2 * i + 1], &t) != 0 || dns_lookup(st->r, st->pairs[2 * i], t, &res) != 0) {
				differ++;
				continue;
			}
			if (res.status == DNS_OK && res.count == st->want[i])
				same++;
			else
				differ++;
			dns_result_free(&res);
		}
	pthread_mutex_lock(&st->lock);
	st->same += same;
	st->differ += differ;
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static int do_stress(struct dns_resolver *r, int nthreads, int rounds, char **pairs, int npairs)
{
	struct stress st = { r, pairs, npairs, rounds, NULL, 0, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[16];
	if (nthreads < 1 || nthreads > 16 || npairs < 1 || (st.want = calloc((size_t)npairs, sizeof(size_t))) == NULL)
		return -1;
	for (int i = 0; i < npairs; i++) {
		enum dns_type t;
		struct dns_result res;
		if (parse_type(pairs[2 * i + 1], &t) == 0 && dns_lookup(r, pairs[2 * i], t, &res) == 0) {
			st.want[i] = res.status == DNS_OK ? res.count : 0;
			dns_result_free(&res);
		}
	}
	int started = 0;
	for (; started < nthreads; started++)
		if (pthread_create(&th[started], NULL, stress_thread, &st) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	printf("{\"threads\": %d, \"same\": %lu, \"differ\": %lu}\n", started, st.same, st.differ);
	free(st.want);
	return 0;
}

#ifdef DNSTOOL_SPF
static int do_spf(struct dns_resolver *r, char **a)
{
	struct spf_outcome out;
	if (spf_check_host_str(r, a[0], a[1], a[2], a[3], &out) != 0) {
		printf("{\"error\": \"spf_check_host failed\"}\n");
		return 0;
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ip", a[0], "domain", a[1],
		"result", spf_result_name(out.result), "mechanism", out.mechanism,
		"explanation", out.explanation != NULL ? out.explanation : "",
		"problem", out.problem, "sender", a[2]);
	char *s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
	spf_outcome_free(&out);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	struct dns_resolver_options opt = { 0 };
	int i = 1;
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--fwd") == 0)
			opt.forwarder = argv[i + 1];
		else if (strcmp(argv[i], "--ta") == 0)
			opt.trust_anchor_file = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0)
			opt.timeout_ms = (unsigned)atoi(argv[i + 1]);
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: dnstool [--fwd A@P] [--ta F] [--timeout MS] lookup NAME TYPE... | spf IP DOMAIN SENDER HELO...\n");
		return 2;
	}
	char err[256];
	struct dns_resolver *r = dns_unbound_new(&opt, err, sizeof(err));
	if (r == NULL) {
		fprintf(stderr, "dnstool: %s\n", err);
		return 1;
	}
	int rc = 0;
	if (strcmp(argv[i], "lookup") == 0) {
		for (i++; i + 1 < argc && rc == 0; i += 2)
			rc = do_lookup(r, argv[i], argv[i + 1]);
	} else if (strcmp(argv[i], "stress") == 0 && i + 4 < argc) {
		rc = do_stress(r, atoi(argv[i + 1]), atoi(argv[i + 2]), argv + i + 3, (argc - i - 3) / 2);
#ifdef DNSTOOL_SPF
	} else if (strcmp(argv[i], "spf") == 0) {
		for (i++; i + 3 < argc && rc == 0; i += 4)
			rc = do_spf(r, argv + i);
#endif
	} else {
		fprintf(stderr, "dnstool: unknown command %s\n", argv[i]);
		rc = -1;
	}
	dns_resolver_free(r);
	return rc == 0 ? 0 : 1;
}
