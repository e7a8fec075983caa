/* MIME benchmark over the generated corpus (bridge-smtp/mailgen).
 *
 *   bench_mime [--count N] [--seed S] [--pool P]
 *
 * Prints: parse MB/s and parse+encode (byte-identical) round trips/s over a
 * pool of P encoded messages cycled to N; then N distinct generated trees
 * each built, encoded, parsed and compared (tree round trips/s, with the
 * generation time shown apart); then peak RSS.  Defaults: N 100000,
 * P 10000, S 1.  Times are CPU seconds of the one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bridge-smtp/mailgen.h"
#include "bridge-smtp/mime.h"
#include "common/buf.h"

/* CPU time of this (single-threaded) process: the machine is shared, so
 * wall time would measure the neighbours too.  The total is also given as
 * wall time. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long count = 100000, pool = 10000, seed = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--count"))
			count = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--pool"))
			pool = strtoul(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_mime [--count N] [--seed S] [--pool P]\n");
			return 2;
		}
	}
	if (pool > count)
		pool = count;
	if (!pool)
		pool = 1;
	struct mailgen *g = mailgen_new(seed);
	struct buf *msgs = calloc(pool, sizeof(*msgs));
	struct buf out = BUF_INIT;
	size_t pool_bytes = 0;
	if (!g || !msgs)
		return 1;
	for (unsigned long i = 0; i < pool; i++) {
		struct mime_msg *m = mailgen_build(g, i);
		if (!m || mime_encode(m, &msgs[i]) < 0)
			return 1;
		pool_bytes += msgs[i].len;
		mime_msg_free(m);
	}
	printf("mime: pool of %lu generated messages, %.1f KiB average\n", pool,
		(double)pool_bytes / (double)pool / 1024.0);

	/* parse only */
	double t0 = now(), bytes = 0;
	for (unsigned long i = 0; i < count; i++) {
		struct mime_msg *m;
		const struct buf *b = &msgs[i % pool];
		if (mime_parse(b->data, b->len, 0, NULL, &m) < 0)
			return 1;
		bytes += (double)b->len;
		mime_msg_free(m);
	}
	double t = now() - t0;
	printf("mime: parse %lu messages: %.2f s, %.0f MB/s, %.0f messages/s\n", count, t,
		bytes / t / 1e6, (double)count / t);

	/* parse + encode, byte-identical */
	t0 = now();
	for (unsigned long i = 0; i < count; i++) {
		struct mime_msg *m;
		const struct buf *b = &msgs[i % pool];
		buf_reset(&out);
		if (mime_parse(b->data, b->len, 0, NULL, &m) < 0 || mime_encode(m, &out) < 0 ||
		    out.len != b->len || memcmp(out.data, b->data, b->len) != 0) {
			fprintf(stderr, "mime: round trip of message %lu differs\n", i % pool);
			return 1;
		}
		mime_msg_free(m);
	}
	t = now() - t0;
	printf("mime: parse+encode (byte-identical) %lu messages: %.2f s, %.0f round trips/s, %.0f MB/s\n",
		count, t, (double)count / t, bytes / t / 1e6);
	for (unsigned long i = 0; i < pool; i++)
		buf_free(&msgs[i]);
	free(msgs);

	/* distinct trees: build, encode, parse, compare */
	double tgen = 0, trt = 0, w0 = wall();
	size_t tree_bytes = 0;
	t0 = now();
	for (unsigned long i = 0; i < count; i++) {
		double a = now();
		struct mime_msg *m = mailgen_build(g, i), *back = NULL;
		double b = now();
		buf_reset(&out);
		if (!m || mime_encode(m, &out) < 0 || mime_parse(out.data, out.len, 0, NULL, &back) < 0 ||
		    !mime_msg_equal(m, back, NULL, 0)) {
			fprintf(stderr, "mime: tree round trip of message %lu failed\n", i);
			return 1;
		}
		tree_bytes += out.len;
		mime_msg_free(back);
		mime_msg_free(m);
		tgen += b - a;
		trt += now() - b;
	}
	t = now() - t0;
	printf("mime: %lu distinct generated trees (%.1f KiB average): generate %.2f s; "
		"encode+parse+compare %.2f s = %.0f round trips/s; total %.2f s CPU, %.2f s wall\n",
		count, (double)tree_bytes / (double)count / 1024.0, tgen, trt, (double)count / trt, t,
		wall() - w0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("mime: peak RSS %ld MiB\n", ru.ru_maxrss / 1024);
	buf_free(&out);
	mailgen_free(g);
	return 0;
}
