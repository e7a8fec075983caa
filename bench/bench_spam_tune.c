/* Tunes the spam classifier by cross-validation on the training split
 * only: the test split is never read.
 *
 * usage: bench_spam_tune FOLD0.list ... FOLDk.list
 *
 * Each list ("spam PATH" / "ham PATH" lines, one message a file) is one
 * fold; tests/spam/split.py --folds writes the seven folds of the training
 * split (SHA-256 mod 10 = 0..6).  Every message is tokenized once, token
 * counts are kept per fold, and each message is scored by a filter trained
 * on the other folds (leave-one-fold-out), with the same arithmetic as
 * the filter (spam_token_prob, spam_combine).  For each setting of robs,
 * robx, min_dev and the number of tokens used it prints how much spam is
 * missed at the highest spam cut-off that lets through at most 0, 1, 2
 * out-of-fold false positives, and the cut-off itself, then false
 * positives / false negatives at cut-offs 0.9, 0.99 and 0.999.
 *
 * Environment: TUNE_ONLY=robs,robx,min_dev,k runs one setting (as printed,
 * e.g. "0.1,0.8,0,30"), TUNE_DUMP=the same also prints every message's
 * out-of-fold score on stderr, TUNE_COUNT_UNSEEN=1 gives tokens unseen in
 * the other folds robx instead of skipping them.  Tokenizer choices are
 * compiled in: rebuild to compare them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-smtp/spam.h"
#include "bridge-smtp/spam_msg.h"
#include "common/buf.h"

#define MAX_FOLDS 10

struct tmsg {
	uint64_t *h;
	size_t n;
	int is_spam;
	int fold;
	char *name;
	double score;
};

struct entry {
	uint64_t h;
	uint32_t c[MAX_FOLDS][2]; /* [fold][ham=0, spam=1] */
	uint32_t tot[2];
};

struct table {
	struct entry *e;
	size_t mask;
};

static struct entry *slot(struct table *t, uint64_t h)
{
	size_t i = (size_t)h & t->mask;
	while (t->e[i].h && t->e[i].h != h)
		i = (i + 1) & t->mask;
	return &t->e[i];
}

static int read_all(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char tmp[65536];
	size_t n;

	buf_init(b, 0);
	if (!f)
		return -1;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(b, tmp, n) < 0) {
			fclose(f);
			return -1;
		}
	fclose(f);
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct tmsg *m = NULL;
	size_t nm = 0, cap = 0, nspam = 0, nham = 0;
	int nfolds = argc - 1;
	uint32_t fs[MAX_FOLDS][2] = { { 0 } };
	struct spam_tokens tok;
	struct table tab;
	/* As the filter does; TUNE_COUNT_UNSEEN gives them robx instead. */
	int skip_unseen = getenv("TUNE_COUNT_UNSEEN") == NULL;
	/* "robs,robx,min_dev,k": only that setting / also its scores on stderr. */
	const char *only = getenv("TUNE_ONLY"), *dump = getenv("TUNE_DUMP");

	if (nfolds < 2 || nfolds > MAX_FOLDS) {
		fprintf(stderr, "usage: bench_spam_tune FOLD.list... (2..%d)\n", MAX_FOLDS);
		return 2;
	}
	if (spam_tokens_init(&tok, 0) < 0)
		return 1;
	for (int k = 0; k < nfolds; k++) {
		FILE *f = fopen(argv[k + 1], "r");
		char line[4096];
		if (!f) {
			perror(argv[k + 1]);
			return 1;
		}
		while (fgets(line, sizeof(line), f)) {
			size_t l = strlen(line);
			struct buf b;
			while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
				line[--l] = '\0';
			int is_spam = strncmp(line, "spam ", 5) == 0;
			const char *path = line + (is_spam ? 5 : 4);
			if (!l || read_all(path, &b) < 0) {
				fprintf(stderr, "cannot read %s\n", path);
				return 1;
			}
			if (nm == cap) {
				cap = cap ? 2 * cap : 1024;
				m = realloc(m, cap * sizeof(*m));
			}
			spam_tokens_reset(&tok);
			if (spam_msg_tokenize(&tok, b.data ? b.data : "", b.len) < 0)
				return 1;
			buf_free(&b);
			m[nm].n = tok.count;
			m[nm].h = malloc(tok.count * sizeof(uint64_t) + 1);
			memcpy(m[nm].h, tok.hashes, tok.count * sizeof(uint64_t));
			m[nm].is_spam = is_spam;
			m[nm].fold = k;
			m[nm].name = strdup(path);
			fs[k][is_spam]++;
			if (is_spam)
				nspam++;
			else
				nham++;
			nm++;
		}
		fclose(f);
	}
	spam_tokens_free(&tok);

	size_t ntok = 0;
	for (size_t i = 0; i < nm; i++)
		ntok += m[i].n;
	size_t sz = 1;
	while (sz < 2 * ntok)
		sz <<= 1;
	tab.e = calloc(sz, sizeof(*tab.e));
	tab.mask = sz - 1;
	for (size_t i = 0; i < nm; i++)
		for (size_t j = 0; j < m[i].n; j++) {
			struct entry *e = slot(&tab, m[i].h[j]);
			e->h = m[i].h[j];
			e->c[m[i].fold][m[i].is_spam]++;
			e->tot[m[i].is_spam]++;
		}
	fprintf(stderr, "%zu messages (%zu spam, %zu ham), %d folds\n", nm, nspam, nham, nfolds);

	static const double robs_v[] = { 0.05, 0.1, 0.2, 0.45 };
	static const double robx_v[] = { 0.5, 0.6, 0.7, 0.8 };
	static const double dev_v[] = { 0.0, 0.1, 0.2 };
	static const unsigned k_v[] = { 20, 30, 45, 150, 0 };
	double *probs = malloc(SPAM_TOK_MAX_TOKENS * sizeof(double));
	double *hs = malloc(nham * sizeof(double));
	double *ss = malloc(nspam * sizeof(double));
	uint32_t tot_s = 0, tot_h = 0;
	for (int k = 0; k < nfolds; k++) {
		tot_s += fs[k][1];
		tot_h += fs[k][0];
	}
	printf("robs robx min_dev k | FN@0FP cut | FN@1FP cut | FN@2FP cut | FP/FN@0.9 | @0.99 | @0.999\n");
	for (size_t a = 0; a < sizeof(robs_v) / sizeof(*robs_v); a++)
		for (size_t bx = 0; bx < sizeof(robx_v) / sizeof(*robx_v); bx++)
			for (size_t c = 0; c < sizeof(dev_v) / sizeof(*dev_v); c++)
				for (size_t d = 0; d < sizeof(k_v) / sizeof(*k_v); d++) {
					struct spam_params p = { robs_v[a], robx_v[bx], dev_v[c], k_v[d], 0.2, 0.995 };
					char key[64];
					size_t ih = 0, is = 0;
					snprintf(key, sizeof(key), "%g,%g,%g,%u", p.robs, p.robx, p.min_dev,
						 p.max_discriminators);
					if (only && strcmp(only, key) != 0)
						continue;
					for (size_t i = 0; i < nm; i++) {
						int k = m[i].fold;
						uint32_t ns = tot_s - fs[k][1], nh = tot_h - fs[k][0];
						size_t n = m[i].n < SPAM_TOK_MAX_TOKENS ? m[i].n : SPAM_TOK_MAX_TOKENS;
						size_t u = 0;
						for (size_t j = 0; j < n; j++) {
							struct entry *e = slot(&tab, m[i].h[j]);
							uint32_t bs = e->tot[1] - e->c[k][1], gs = e->tot[0] - e->c[k][0];
							if (skip_unseen && bs + gs == 0)
								continue;
							probs[u++] = spam_token_prob(&p, bs, gs, ns, nh);
						}
						double sc = spam_combine(&p, probs, u, NULL);
						m[i].score = sc;
						if (m[i].is_spam)
							ss[is++] = sc;
						else
							hs[ih++] = sc;
					}
					if (dump && strcmp(dump, key) == 0)
						for (size_t i = 0; i < nm; i++)
							fprintf(stderr, "%s %.9f %s\n", m[i].is_spam ? "spam" : "ham",
								m[i].score, m[i].name);
					qsort(hs, nham, sizeof(double), cmp_desc);
					printf("%g %g %g %u |", p.robs, p.robx, p.min_dev, p.max_discriminators);
					for (size_t allow = 0; allow < 3; allow++) {
						/* Spam iff score > hs[allow]: at most `allow` hams above. */
						double cut = hs[allow];
						size_t fn = 0;
						for (size_t i = 0; i < nspam; i++)
							fn += !(ss[i] > cut);
						printf(" %4zu %.9f |", fn, cut);
					}
					static const double cuts[] = { 0.9, 0.99, 0.999 };
					for (size_t ci = 0; ci < 3; ci++) {
						size_t fp = 0, fn = 0;
						for (size_t i = 0; i < nham; i++)
							fp += hs[i] >= cuts[ci];
						for (size_t i = 0; i < nspam; i++)
							fn += ss[i] < cuts[ci];
						printf(" %zu/%zu |", fp, fn);
					}
					printf("\n");
					fflush(stdout);
				}
	for (size_t i = 0; i < nm; i++) {
		free(m[i].h);
		free(m[i].name);
	}
	free(m);
	free(tab.e);
	free(probs);
	free(hs);
	free(ss);
	return 0;
}
