/* bench_knot.h: the DNS benchmarks' private Knot server. */
#include "bench/bench_knot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_knot_start(struct bench_knot *k, const char *srcdir)
{
	const char *env = getenv("SCOP_DNS_FORWARDER");
	char cmd[2400], line[512];
	FILE *p;
	int port = 0;

	memset(k, 0, sizeof(*k));
	snprintf(k->src, sizeof(k->src), "%s", getenv("SCOP_SRCDIR") ? getenv("SCOP_SRCDIR") : srcdir);
	if (env) {
		snprintf(k->fwd, sizeof(k->fwd), "%s", env);
		return;
	}
	snprintf(k->dir, sizeof(k->dir), "/tmp/scop-bench-dns-XXXXXX");
	if (!mkdtemp(k->dir)) {
		k->dir[0] = '\0';
		return;
	}
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/dns/dnsserver.py' start '%s' '%s'/tests/dns/zones/*.zone",
		 k->src, k->dir, k->src);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(line, sizeof(line), p) != NULL && sscanf(line, "%d", &port) == 1 && port > 0)
			snprintf(k->fwd, sizeof(k->fwd), "127.0.0.1@%d", port);
		pclose(p);
	}
}

void bench_knot_stop(struct bench_knot *k)
{
	char cmd[2400];

	if (k->dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/dns/dnsserver.py' stop '%s'; rm -rf '%s'", k->src,
		 k->dir, k->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not stop knotd in %s\n", k->dir);
	k->dir[0] = '\0';
}
