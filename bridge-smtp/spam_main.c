/* scop-spam: train, run and measure the bridge's spam filter by hand.
 *
 *   scop-spam train   [--db W] --spam PATH... --ham PATH...
 *   scop-spam untrain [--db W] --spam PATH... --ham PATH...
 *   scop-spam relearn [--db W] --spam PATH... --ham PATH...
 *        (users' verdicts: mail trained as ham that is spam, and the
 *        reverse, moved across in one update per message)
 *   scop-spam classify [--db W] FILE...      prints "FILE verdict score"
 *   scop-spam eval [--db W] --train LIST --test LIST [--json]
 *   scop-spam prune [--db W] [--days N [--max-count C]] [--max-size T]
 *   scop-spam stats [--db W]
 *
 * PATH is a message file, an mbox file or a directory of either.  A LIST
 * names one labelled path a line: "spam PATH" or "ham PATH".  The database
 * W defaults to $SCOP_SPAM_DB, else ./scop-spam.db; eval defaults to a
 * private in-memory database.  Cut-offs: --ham-cutoff, --spam-cutoff.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bridge-smtp/spam.h"
#include "common/buf.h"

#define MAX_FILE (256u << 20) /* bytes read from one file */

struct msg {
	char *data;
	size_t len;
	int is_spam;
	char *name;
};

struct msgs {
	struct msg *v;
	size_t n, cap;
};

static void msgs_free(struct msgs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].data);
		free(m->v[i].name);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int msgs_push(struct msgs *m, const char *data, size_t len, int is_spam, const char *name)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct msg *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -1;
		m->v = v;
		m->cap = cap;
	}
	struct msg *x = &m->v[m->n];
	x->data = malloc(len + 1);
	x->name = strdup(name);
	if (!x->data || !x->name) {
		free(x->data);
		free(x->name);
		return -1;
	}
	memcpy(x->data, data, len);
	x->data[len] = '\0';
	x->len = len;
	x->is_spam = is_spam;
	m->n++;
	return 0;
}

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char tmp[65536];
	size_t n;

	buf_init(b, MAX_FILE);
	if (!f) {
		fprintf(stderr, "scop-spam: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(b, tmp, n) < 0) {
			fprintf(stderr, "scop-spam: %s: too large\n", path);
			fclose(f);
			buf_free(b);
			return -1;
		}
	fclose(f);
	return 0;
}

/* An mbox separator: "From " at a line start, with a time of day in it
 * ("From a@b Thu Aug 22 12:36:23 2002"), so a body line that merely starts
 * with "From " does not split a message. */
static int is_from_line(const char *p, size_t n)
{
	if (n < 5 || memcmp(p, "From ", 5) != 0)
		return 0;
	for (size_t i = 5; i + 8 <= n && p[i] != '\n'; i++)
		if (p[i + 2] == ':' && p[i + 5] == ':' && p[i] >= '0' && p[i] <= '9' && p[i + 3] >= '0' &&
		    p[i + 3] <= '9' && p[i + 6] >= '0' && p[i + 6] <= '9')
			return 1;
	return 0;
}

/* Splits a file into messages: an mbox when it starts with a From line,
 * else one message. */
static int add_file(struct msgs *m, const char *path, int is_spam)
{
	struct buf b;
	int rc = 0;

	if (read_file(path, &b) < 0)
		return -1;
	const char *p = b.data ? b.data : "";
	size_t len = b.len;
	if (!is_from_line(p, len)) {
		rc = msgs_push(m, p, len, is_spam, path);
	} else {
		size_t start = 0;
		for (size_t i = 1; i + 1 < len; i++) {
			if (p[i - 1] == '\n' && p[i] == '\n' && is_from_line(p + i + 1, len - i - 1)) {
				if ((rc = msgs_push(m, p + start, i + 1 - start, is_spam, path)) < 0)
					break;
				start = i + 1;
			}
		}
		if (rc == 0 && start < len)
			rc = msgs_push(m, p + start, len - start, is_spam, path);
	}
	buf_free(&b);
	if (rc < 0)
		fprintf(stderr, "scop-spam: out of memory\n");
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every regular file (not dot-files) of a directory, sorted. */
static int add_path(struct msgs *m, const char *path, int is_spam)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "scop-spam: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_file(m, path, is_spam);
	if (!(d = opendir(path))) {
		fprintf(stderr, "scop-spam: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (!v) {
				rc = -1;
				break;
			}
			names = v;
		}
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		if (!(names[n] = malloc(l))) {
			rc = -1;
			break;
		}
		snprintf(names[n++], l, "%s/%s", path, e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			rc = add_file(m, names[i], is_spam);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Lines "spam PATH" / "ham PATH"; blank lines and # comments skipped. */
static int add_list(struct msgs *m, const char *list)
{
	FILE *f = fopen(list, "r");
	char line[4096];
	int rc = 0, lineno = 0;

	if (!f) {
		fprintf(stderr, "scop-spam: %s: %s\n", list, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *p = line, *path;
		size_t l = strlen(p);
		lineno++;
		while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
			p[--l] = '\0';
		if (!*p || *p == '#')
			continue;
		if (strncmp(p, "spam ", 5) == 0)
			path = p + 5;
		else if (strncmp(p, "ham ", 4) == 0)
			path = p + 4;
		else {
			fprintf(stderr, "scop-spam: %s:%d: want \"spam PATH\" or \"ham PATH\"\n", list, lineno);
			rc = -1;
			break;
		}
		rc = add_path(m, path, p[0] == 's');
	}
	fclose(f);
	return rc;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fputs("usage: scop-spam train|untrain|relearn [--db W] [--spam PATH]... [--ham PATH]...\n"
	      "       scop-spam classify [--db W] FILE...\n"
	      "       scop-spam eval [--db W] --train LIST --test LIST [--json]\n"
	      "       scop-spam prune [--db W] [--days N [--max-count C]] [--max-size T]\n"
	      "       scop-spam stats [--db W]\n"
	      "options: --ham-cutoff X --spam-cutoff X (scores are 0 ham .. 1 spam)\n"
	      "         --robs S --robx X --min-dev D --max-tokens N (classifier; see spam_classify.h)\n"
	      "         --verbose (eval: list misclassified messages on stderr)\n",
	      stderr);
	return 2;
}

struct opts {
	const char *db;
	struct msgs labelled; /* --spam/--ham */
	const char *train, *test;
	int json;
	int verbose; /* eval: list the messages it got wrong */
	long days, max_count;
	long long max_size; /* prune: keep at most this many tokens; -1 no bound */
	struct spam_params params;
};

enum learn_mode { LEARN_TRAIN, LEARN_UNTRAIN, LEARN_RELEARN };

static int learn_one(struct spam_filter *f, const struct msg *m, enum learn_mode mode)
{
	switch (mode) {
	case LEARN_UNTRAIN:
		return spam_filter_untrain(f, m->data, m->len, m->is_spam);
	case LEARN_RELEARN:
		return spam_filter_relearn(f, m->data, m->len, !m->is_spam, m->is_spam);
	default:
		return spam_filter_train(f, m->data, m->len, m->is_spam);
	}
}

static int train_all(struct spam_filter *f, const struct msgs *m, enum learn_mode mode)
{
	struct spam_store *st = spam_filter_store(f);

	/* One transaction for the lot: thousands of small ones cost fsyncs. */
	if (spam_store_begin(st) < 0)
		goto fail;
	for (size_t i = 0; i < m->n; i++) {
		if (learn_one(f, &m->v[i], mode) < 0) {
			fprintf(stderr, "scop-spam: %s: %s\n", m->v[i].name, spam_filter_error(f));
			spam_store_rollback(st);
			return -1;
		}
	}
	if (spam_store_commit(st) == 0)
		return 0;
fail:
	fprintf(stderr, "scop-spam: %s\n", spam_store_error(st));
	return -1;
}

static int open_filter(struct opts *o, const char *dflt, struct spam_filter **f)
{
	char err[256];
	const char *where = o->db ? o->db : dflt;

	if (spam_filter_open(f, where, &o->params, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-spam: %s\n", err);
		return -1;
	}
	return 0;
}

static const char *default_db(void)
{
	const char *e = getenv("SCOP_SPAM_DB");
	return e && *e ? e : "scop-spam.db";
}

static int cmd_train(struct opts *o, enum learn_mode mode)
{
	struct spam_filter *f;
	int rc;

	if (o->labelled.n == 0)
		return usage();
	if (open_filter(o, default_db(), &f) < 0)
		return 1;
	rc = train_all(f, &o->labelled, mode);
	if (rc == 0) {
		static const char *const done[] = { "trained", "untrained", "relearned" };
		uint32_t ns, nh;
		spam_store_totals(spam_filter_store(f), &ns, &nh);
		printf("%s %zu messages; now %u spam, %u ham\n", done[mode], o->labelled.n, ns, nh);
	}
	spam_filter_close(f);
	return rc == 0 ? 0 : 1;
}

static int cmd_classify(struct opts *o, int argc, char **argv)
{
	struct spam_filter *f;
	struct msgs m = { 0 };
	int rc = 0;

	if (argc == 0)
		return usage();
	for (int i = 0; i < argc && rc == 0; i++)
		rc = add_path(&m, argv[i], 0);
	if (rc < 0 || open_filter(o, default_db(), &f) < 0) {
		msgs_free(&m);
		return 1;
	}
	/* Many messages: one scan of the table beats a lookup per token. */
	if (m.n > 50 && spam_store_cache_load(spam_filter_store(f)) < 0)
		fprintf(stderr, "scop-spam: cache: %s\n", spam_store_error(spam_filter_store(f)));
	for (size_t i = 0; i < m.n; i++) {
		struct spam_result r;
		if (spam_filter_classify(f, m.v[i].data, m.v[i].len, &r) < 0) {
			fprintf(stderr, "scop-spam: %s: %s\n", m.v[i].name, spam_filter_error(f));
			rc = -1;
			break;
		}
		printf("%s %s %.6f\n", m.v[i].name, spam_verdict_name(r.verdict), r.score);
	}
	spam_filter_close(f);
	msgs_free(&m);
	return rc == 0 ? 0 : 1;
}

static int cmd_eval(struct opts *o)
{
	struct msgs train = { 0 }, test = { 0 };
	struct spam_filter *f = NULL;
	size_t nspam = 0, nham = 0, fp = 0, fn = 0, unsure = 0, unsure_spam = 0;
	double t0, t_train, t_classify;
	int rc = 1;

	if (!o->train || !o->test)
		return usage();
	if (add_list(&train, o->train) < 0 || add_list(&test, o->test) < 0 || open_filter(o, ":memory:", &f) < 0)
		goto out;
	t0 = now();
	if (train_all(f, &train, LEARN_TRAIN) < 0)
		goto out;
	t_train = now() - t0;
	if (spam_store_cache_load(spam_filter_store(f)) < 0) {
		fprintf(stderr, "scop-spam: %s\n", spam_store_error(spam_filter_store(f)));
		goto out;
	}
	t0 = now();
	for (size_t i = 0; i < test.n; i++) {
		struct spam_result r;
		if (spam_filter_classify(f, test.v[i].data, test.v[i].len, &r) < 0) {
			fprintf(stderr, "scop-spam: %s\n", spam_filter_error(f));
			goto out;
		}
		/* Unsure mail is delivered (marked), so it counts as not spam. */
		if (test.v[i].is_spam) {
			nspam++;
			fn += r.verdict != SPAM_VERDICT_SPAM;
			unsure_spam += r.verdict == SPAM_VERDICT_UNSURE;
		} else {
			nham++;
			fp += r.verdict == SPAM_VERDICT_SPAM;
		}
		unsure += r.verdict == SPAM_VERDICT_UNSURE;
		if (o->verbose && (test.v[i].is_spam ? r.verdict != SPAM_VERDICT_SPAM : r.verdict != SPAM_VERDICT_HAM))
			fprintf(stderr, "%s %s %s %.6f\n", test.v[i].is_spam ? "spam" : "ham", test.v[i].name,
				spam_verdict_name(r.verdict), r.score);
	}
	t_classify = now() - t0;
	size_t total = nspam + nham;
	double acc = total ? 100.0 * (double)(total - fp - fn) / (double)total : 0;
	double fpr = nham ? 100.0 * (double)fp / (double)nham : 0;
	double fnr = nspam ? 100.0 * (double)fn / (double)nspam : 0;
	double rate = t_classify > 0 ? (double)total / t_classify : 0;
	if (o->json) {
		printf("{\"train\": %zu, \"test\": %zu, \"test_spam\": %zu, \"test_ham\": %zu, "
		       "\"accuracy\": %.4f, \"fp_rate\": %.4f, \"fn_rate\": %.4f, \"fp\": %zu, \"fn\": %zu, "
		       "\"unsure\": %zu, \"unsure_spam\": %zu, \"train_seconds\": %.3f, \"classify_per_second\": %.1f}\n",
		       train.n, total, nspam, nham, acc, fpr, fnr, fp, fn, unsure, unsure_spam, t_train, rate);
	} else {
		printf("trained %zu messages in %.2f s\n", train.n, t_train);
		printf("tested %zu messages (%zu spam, %zu ham)\n", total, nspam, nham);
		printf("accuracy %.2f%%  false positives %.2f%% (%zu)  false negatives %.2f%% (%zu)  unsure %zu "
		       "(%zu spam)\n",
		       acc, fpr, fp, fnr, fn, unsure, unsure_spam);
		printf("classification %.0f messages/s\n", rate);
	}
	rc = 0;
out:
	spam_filter_close(f);
	msgs_free(&train);
	msgs_free(&test);
	return rc;
}

static int cmd_prune(struct opts *o)
{
	struct spam_filter *f;
	uint64_t removed = 0, trimmed = 0, left = 0;
	uint32_t today = (uint32_t)(time(NULL) / 86400);

	if (o->days < 0 && o->max_size < 0)
		return usage();
	if (open_filter(o, default_db(), &f) < 0)
		return 1;
	struct spam_store *st = spam_filter_store(f);
	uint32_t before = o->days > (long)today ? 0 : today - (uint32_t)o->days;
	if ((o->days >= 0 && spam_store_prune(st, (uint32_t)o->max_count, before, &removed) < 0) ||
	    (o->max_size >= 0 && spam_store_trim(st, (uint64_t)o->max_size, &trimmed) < 0) ||
	    spam_store_size(st, &left) < 0) {
		fprintf(stderr, "scop-spam: %s\n", spam_store_error(st));
		spam_filter_close(f);
		return 1;
	}
	printf("pruned %llu tokens; %llu left\n", (unsigned long long)(removed + trimmed), (unsigned long long)left);
	spam_filter_close(f);
	return 0;
}

static int cmd_stats(struct opts *o)
{
	struct spam_filter *f;
	uint32_t ns, nh;
	uint64_t tokens;

	if (open_filter(o, default_db(), &f) < 0)
		return 1;
	struct spam_store *st = spam_filter_store(f);
	if (spam_store_totals(st, &ns, &nh) < 0 || spam_store_size(st, &tokens) < 0) {
		fprintf(stderr, "scop-spam: %s\n", spam_store_error(st));
		spam_filter_close(f);
		return 1;
	}
	printf("backend %s\nspam messages %u\nham messages %u\ntokens %llu\n", spam_store_backend(st), ns, nh,
	       (unsigned long long)tokens);
	spam_filter_close(f);
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 || *out > 1 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "spam", required_argument, NULL, 's' },
		{ "ham", required_argument, NULL, 'h' },
		{ "train", required_argument, NULL, 't' },
		{ "test", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "days", required_argument, NULL, 'D' },
		{ "max-count", required_argument, NULL, 'c' },
		{ "max-size", required_argument, NULL, 'z' },
		{ "ham-cutoff", required_argument, NULL, 'H' },
		{ "spam-cutoff", required_argument, NULL, 'S' },
		{ "robs", required_argument, NULL, 'r' },
		{ "robx", required_argument, NULL, 'x' },
		{ "min-dev", required_argument, NULL, 'm' },
		{ "max-tokens", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct spam_params defaults = SPAM_PARAMS_DEFAULT;
	struct opts o = { .days = -1, .max_count = 1, .max_size = -1, .params = defaults };
	const char *cmd;
	int c, rc;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.db = optarg;
			break;
		case 's':
		case 'h':
			if (add_path(&o.labelled, optarg, c == 's') < 0) {
				msgs_free(&o.labelled);
				return 1;
			}
			break;
		case 't':
			o.train = optarg;
			break;
		case 'T':
			o.test = optarg;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'D':
			o.days = strtol(optarg, NULL, 10);
			break;
		case 'c':
			o.max_count = strtol(optarg, NULL, 10);
			if (o.max_count < 0)
				o.max_count = 0;
			break;
		case 'z':
			o.max_size = strtoll(optarg, NULL, 10);
			if (o.max_size < 0)
				o.max_size = 0;
			break;
		case 'H':
		case 'S':
			if (parse_double(optarg, c == 'H' ? &o.params.ham_cutoff : &o.params.spam_cutoff) < 0) {
				fprintf(stderr, "scop-spam: cut-offs are numbers in [0, 1]\n");
				msgs_free(&o.labelled);
				return 2;
			}
			break;
		case 'r':
		case 'x':
		case 'm': {
			double *dst = c == 'r' ? &o.params.robs : c == 'x' ? &o.params.robx : &o.params.min_dev;
			if (parse_double(optarg, dst) < 0) {
				fprintf(stderr, "scop-spam: --robs, --robx and --min-dev are numbers in [0, 1]\n");
				msgs_free(&o.labelled);
				return 2;
			}
			break;
		}
		case 'k':
			o.params.max_discriminators = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'v':
			o.verbose = 1;
			break;
		default:
			msgs_free(&o.labelled);
			return usage();
		}
	}
	if (strcmp(cmd, "train") == 0)
		rc = cmd_train(&o, LEARN_TRAIN);
	else if (strcmp(cmd, "untrain") == 0)
		rc = cmd_train(&o, LEARN_UNTRAIN);
	else if (strcmp(cmd, "relearn") == 0)
		rc = cmd_train(&o, LEARN_RELEARN);
	else if (strcmp(cmd, "classify") == 0)
		rc = cmd_classify(&o, argc - optind, argv + optind);
	else if (strcmp(cmd, "eval") == 0)
		rc = cmd_eval(&o);
	else if (strcmp(cmd, "prune") == 0)
		rc = cmd_prune(&o);
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(&o);
	else
		rc = usage();
	msgs_free(&o.labelled);
	return rc;
}
