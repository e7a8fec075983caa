/* Cached lookups through one libunbound resolver (common/dns.h) shared by
 * 1, 2, 4 and 8 threads: lookups per second and per-lookup latency
 * (mean, median, 99th percentile, worst), after one pass fills the cache.
 * This is what federation pays when several senders discover servers at
 * once, and the mail bridge when several sessions check SPF.
 *
 * The DNS server is a private Knot DNS started here with
 * tests/dns/dnsserver.py and the zones in tests/dns/zones, or the one in
 * $SCOP_DNS_FORWARDER.  BENCH_SECONDS sets the time per thread count
 * (default 2).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_knot.h"
#include "common/dns.h"

#ifndef SCOP_SRCDIR
#define SCOP_SRCDIR "."
#endif

static const struct { const char *name; enum dns_type type; } queries[] = {
	{ "_matrix-fed._tcp.example.com", DNS_SRV },
	{ "example.com", DNS_MX },
	{ "example.com", DNS_A },
	{ "split.example.com", DNS_TXT },
	{ "30.2.0.192.in-addr.arpa", DNS_PTR },
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

/* Latency histogram in microseconds: 1 us buckets up to 100 ms. */
#define HIST_MAX 100000

struct run {
	struct dns_resolver *r;
	double seconds;
	pthread_mutex_t lock;
	unsigned long *hist; /* HIST_MAX + 1 buckets, the last for longer */
	unsigned long n, failed;
	double total_us, worst_us;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	struct run *run = arg;
	unsigned long *hist = calloc(HIST_MAX + 1, sizeof(*hist));
	unsigned long n = 0, failed = 0;
	double total = 0, worst = 0, start = now_s();
	if (hist == NULL)
		return NULL;
	for (size_t i = 0; now_s() - start < run->seconds; i = (i + 1) % NQUERIES) {
		struct dns_result res;
		double t0 = now_s();
		int rc = dns_lookup(run->r, queries[i].name, queries[i].type, &res);
		double us = (now_s() - t0) * 1e6;
		if (rc != 0 || res.status != DNS_OK)
			failed++;
		if (rc == 0)
			dns_result_free(&res);
		n++;
		total += us;
		if (us > worst)
			worst = us;
		hist[us < HIST_MAX ? (size_t)us : HIST_MAX]++;
	}
	pthread_mutex_lock(&run->lock);
	for (size_t i = 0; i <= HIST_MAX; i++)
		run->hist[i] += hist[i];
	run->n += n;
	run->failed += failed;
	run->total_us += total;
	if (worst > run->worst_us)
		run->worst_us = worst;
	pthread_mutex_unlock(&run->lock);
	free(hist);
	return NULL;
}

static unsigned long percentile(const struct run *run, double p)
{
	unsigned long want = (unsigned long)(run->n * p), seen = 0;
	for (size_t i = 0; i <= HIST_MAX; i++) {
		seen += run->hist[i];
		if (seen > want)
			return (unsigned long)i;
	}
	return HIST_MAX;
}

static void measure(struct dns_resolver *r, int nthreads, double seconds)
{
	struct run run = { .r = r, .seconds = seconds };
	pthread_t th[8];
	int started = 0;
	pthread_mutex_init(&run.lock, NULL);
	if ((run.hist = calloc(HIST_MAX + 1, sizeof(*run.hist))) == NULL)
		return;
	double start = now_s();
	for (; started < nthreads; started++)
		if (pthread_create(&th[started], NULL, worker, &run) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	double t = now_s() - start;
	if (run.n > 0)
		printf("%d thread%s: %lu lookups in %.2f s = %.0f lookups/s; latency mean %.0f us, "
		       "median %lu us, p99 %lu us, worst %.0f us; %lu failed\n",
		       started, started == 1 ? "" : "s", run.n, t, run.n / t, run.total_us / run.n,
		       percentile(&run, 0.5), percentile(&run, 0.99), run.worst_us, run.failed);
	free(run.hist);
	pthread_mutex_destroy(&run.lock);
}

int main(void)
{
	double seconds = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 2.0;
	struct bench_knot knot;
	bench_knot_start(&knot, SCOP_SRCDIR);
	const char *fwd = knot.fwd;
	if (fwd[0] == '\0') {
		bench_knot_stop(&knot);
		printf("no DNS server (knotd) available, skipped\n");
		return 0;
	}
	char err[256];
	struct dns_resolver_options opt = { .forwarder = fwd, .timeout_ms = 5000 };
	struct dns_resolver *r = dns_unbound_new(&opt, err, sizeof(err));
	if (r == NULL) {
		printf("libunbound: %s\n", err);
	} else {
		for (size_t i = 0; i < NQUERIES; i++) { /* warm the cache */
			struct dns_result res;
			if (dns_lookup(r, queries[i].name, queries[i].type, &res) == 0)
				dns_result_free(&res);
		}
		printf("libunbound resolver, warm cache, Knot on loopback (SRV, MX, A, TXT, PTR round-robin):\n");
		static const int threads[] = { 1, 2, 4, 8 };
		for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++)
			measure(r, threads[i], seconds);
		dns_resolver_free(r);
	}
	bench_knot_stop(&knot);
	return 0;
}
