/* Unit tests for the spam classifier: Robinson's token probability and
 * Fisher's chi-square combining against hand-computed values, cut-offs,
 * and through the filter handle (in-memory SQLite) train/untrain symmetry,
 * relearning, pruning and cache coherence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bridge-smtp/spam.h"
#include "bridge-smtp/spam_classify.h"
#include "bridge-smtp/spam_msg.h"

static const struct spam_params defaults = SPAM_PARAMS_DEFAULT;

static void test_token_prob(void **state)
{
	struct spam_params p = defaults;
	(void)state;
	p.robs = 0.45;
	p.robx = 0.5;
	/* b/nb = 0.3, g/ng = 0.1: p = 0.75; f = (0.45*0.5 + 4*0.75) / 4.45. */
	assert_float_equal(spam_token_prob(&p, 3, 1, 10, 10), 0.7247191011235954, 1e-12);
	assert_float_equal(spam_token_prob(&p, 0, 0, 10, 10), 0.5, 0);
	p.robx = 0.52;
	assert_float_equal(spam_token_prob(&p, 0, 0, 10, 10), 0.52, 0);
	/* Only spam seen: approaches 1 with more evidence, never reaches it. */
	double one = spam_token_prob(&p, 1, 0, 10, 10), many = spam_token_prob(&p, 10, 0, 10, 10);
	assert_true(one > 0.5 && many > one && many < 1.0);
	/* Counts above the totals (drift) stay in range. */
	double odd = spam_token_prob(&p, 50, 0, 10, 0);
	assert_true(odd > 0.5 && odd < 1.0);
}

static void test_chi2q(void **state)
{
	(void)state;
	assert_float_equal(spam_chi2q(2.0, 2), 0.36787944117144233, 1e-12);  /* e^-1 */
	assert_float_equal(spam_chi2q(4.0, 4), 0.4060058497098381, 1e-12);   /* 3 e^-2 */
	assert_float_equal(spam_chi2q(0.0, 10), 1.0, 0);
	assert_true(spam_chi2q(5000.0, 300) < 1e-100);
	assert_true(spam_chi2q(1e-6, 300) <= 1.0);
}

static void test_combine(void **state)
{
	struct spam_params p = defaults;
	size_t used;
	(void)state;
	double two[] = { 0.9, 0.9 };
	assert_float_equal(spam_combine(&p, two, 2, &used), 0.9623161667528988, 1e-12);
	assert_int_equal(used, 2);
	double three[] = { 0.2, 0.8, 0.7 };
	assert_float_equal(spam_combine(&p, three, 3, &used), 0.6052727358419391, 1e-12);
	/* Too close to 0.5 to count: no evidence. */
	p.min_dev = 0.1;
	double weak[] = { 0.55, 0.45 };
	assert_float_equal(spam_combine(&p, weak, 2, &used), 0.5, 0);
	assert_int_equal(used, 0);
	assert_float_equal(spam_combine(&p, NULL, 0, &used), 0.5, 0);
	/* Only the most extreme count: 0.99 and 0.01 balance exactly. */
	p.max_discriminators = 2;
	double ext[] = { 0.7, 0.99, 0.3, 0.01 };
	assert_float_equal(spam_combine(&p, ext, 4, &used), 0.5, 1e-12);
	assert_int_equal(used, 2);
	/* robs = 0 can give exact 0 and 1; the score stays finite. */
	double edge[] = { 1.0, 1.0, 0.0 };
	double s = spam_combine(&defaults, edge, 3, NULL);
	assert_true(s >= 0.0 && s <= 1.0);
}

static void test_verdicts(void **state)
{
	struct spam_params p = defaults;
	(void)state;
	p.ham_cutoff = 0.2;
	p.spam_cutoff = 0.9;
	assert_int_equal(spam_verdict_of(&p, 0.1), SPAM_VERDICT_HAM);
	assert_int_equal(spam_verdict_of(&p, 0.2), SPAM_VERDICT_UNSURE);
	assert_int_equal(spam_verdict_of(&p, 0.89), SPAM_VERDICT_UNSURE);
	assert_int_equal(spam_verdict_of(&p, 0.9), SPAM_VERDICT_SPAM);
	assert_string_equal(spam_verdict_name(SPAM_VERDICT_HAM), "ham");
	assert_string_equal(spam_verdict_name(SPAM_VERDICT_UNSURE), "unsure");
	assert_string_equal(spam_verdict_name(SPAM_VERDICT_SPAM), "spam");
}

static const char spam1[] = "From: Deals <win@prizes.example>\nSubject: You WIN cash now\n\n"
			    "Claim your cash prize now! Visit http://prizes.example/claim free money\n";
static const char spam2[] = "From: Offers <x@cheap.example>\nSubject: cheap pills cash\n\n"
			    "Cheap pills, free shipping, cash back. http://cheap.example/\n";
static const char ham1[] = "From: Alice <alice@work.example>\nSubject: Meeting notes\n\n"
			   "Hi Bob, attached are the notes from the design meeting about the parser.\n";
static const char ham2[] = "From: Bob <bob@work.example>\nSubject: Re: Meeting notes\n\n"
			   "Thanks Alice, the parser design looks good; see you at the meeting.\n";
static const char extra[] = "From: Carol <carol@else.example>\nSubject: Unique zebra words\n\n"
			    "Zebra quokka axolotl pangolin narwhal.\n";

static struct spam_filter *trained(void)
{
	struct spam_filter *f;
	char err[256];
	assert_int_equal(spam_filter_open(&f, ":memory:", NULL, err, sizeof(err)), 0);
	spam_filter_set_day(f, 20000);
	assert_int_equal(spam_filter_train(f, spam1, sizeof(spam1) - 1, 1), 0);
	assert_int_equal(spam_filter_train(f, spam2, sizeof(spam2) - 1, 1), 0);
	assert_int_equal(spam_filter_train(f, ham1, sizeof(ham1) - 1, 0), 0);
	assert_int_equal(spam_filter_train(f, ham2, sizeof(ham2) - 1, 0), 0);
	return f;
}

static void test_filter_classifies(void **state)
{
	struct spam_filter *f = trained();
	struct spam_result r;
	static const char probe_spam[] = "Subject: free cash prize\n\nClaim free cash now, cheap pills\n";
	static const char probe_ham[] = "Subject: parser meeting\n\nAlice, the design notes for the parser meeting\n";
	(void)state;
	assert_int_equal(spam_filter_classify(f, probe_spam, sizeof(probe_spam) - 1, &r), 0);
	assert_true(r.score > 0.9);
	assert_true(r.used > 0 && r.tokens >= r.used);
	assert_int_equal(spam_filter_classify(f, probe_ham, sizeof(probe_ham) - 1, &r), 0);
	assert_true(r.score < 0.1);
	assert_int_equal(r.verdict, SPAM_VERDICT_HAM);
	/* Nothing known: no evidence either way (untrained tokens are
	 * skipped, not given robx, which leans spam). */
	static const char unknown[] = "\n\nqwertyuiop asdfghjkl\n";
	assert_int_equal(spam_filter_classify(f, unknown, sizeof(unknown) - 1, &r), 0);
	assert_int_equal(r.used, 0);
	assert_float_equal(r.score, 0.5, 1e-12);
	assert_int_equal(r.verdict, SPAM_VERDICT_UNSURE);
	spam_filter_close(f);
}

/* Counts of every token of msg. */
static struct spam_count *counts_of(struct spam_filter *f, const char *msg, size_t *n)
{
	struct spam_tokens t;
	struct spam_count *c;
	assert_int_equal(spam_tokens_init(&t, 0), 0);
	assert_int_equal(spam_msg_tokenize(&t, msg, strlen(msg)), 0);
	c = calloc(t.count + 1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(spam_store_lookup(spam_filter_store(f), t.hashes, t.count, c), 0);
	*n = t.count;
	spam_tokens_free(&t);
	return c;
}

static void test_train_untrain_symmetry(void **state)
{
	struct spam_filter *f = trained();
	struct spam_store *st = spam_filter_store(f);
	uint32_t ns0, nh0, ns, nh;
	uint64_t size0, size;
	size_t n0, n1;
	(void)state;
	assert_int_equal(spam_store_totals(st, &ns0, &nh0), 0);
	assert_int_equal(spam_store_size(st, &size0), 0);
	struct spam_count *before = counts_of(f, spam1, &n0);
	assert_int_equal(spam_filter_train(f, extra, sizeof(extra) - 1, 1), 0);
	assert_int_equal(spam_filter_train(f, spam1, sizeof(spam1) - 1, 0), 0);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, ns0 + 1);
	assert_int_equal(nh, nh0 + 1);
	assert_int_equal(spam_filter_untrain(f, spam1, sizeof(spam1) - 1, 0), 0);
	assert_int_equal(spam_filter_untrain(f, extra, sizeof(extra) - 1, 1), 0);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, ns0);
	assert_int_equal(nh, nh0);
	/* Tokens only `extra` had are gone again, not left at 0/0. */
	assert_int_equal(spam_store_size(st, &size), 0);
	assert_int_equal(size, size0);
	struct spam_count *after = counts_of(f, spam1, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0 * sizeof(*before));
	/* Untraining what was never trained clamps at zero. */
	assert_int_equal(spam_filter_untrain(f, extra, sizeof(extra) - 1, 1), 0);
	assert_int_equal(spam_filter_untrain(f, extra, sizeof(extra) - 1, 1), 0);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(spam_store_size(st, &size), 0);
	assert_int_equal(size, size0);
	free(before);
	free(after);
	spam_filter_close(f);
}

static void test_relearn(void **state)
{
	struct spam_filter *f = trained();
	struct spam_store *st = spam_filter_store(f);
	uint32_t ns, nh;
	(void)state;
	/* Users say ham1 was spam after all. */
	assert_int_equal(spam_filter_relearn(f, ham1, sizeof(ham1) - 1, 0, 1), 0);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, 3);
	assert_int_equal(nh, 1);
	/* "attached" (only in ham1) moved from ham to spam. */
	struct spam_tokens t;
	struct spam_count one;
	assert_int_equal(spam_tokens_init(&t, 0), 0);
	assert_int_equal(spam_tokens_add(&t, "attached", 8), 0);
	assert_int_equal(spam_store_lookup(st, t.hashes, 1, &one), 0);
	assert_int_equal(one.spam, 1);
	assert_int_equal(one.ham, 0);
	spam_tokens_free(&t);
	/* Same class: nothing to do. */
	assert_int_equal(spam_filter_relearn(f, ham1, sizeof(ham1) - 1, 1, 1), 0);
	assert_int_equal(spam_store_totals(st, &ns, &nh), 0);
	assert_int_equal(ns, 3);
	spam_filter_close(f);
}

static void test_prune_rare_old(void **state)
{
	struct spam_filter *f = trained(); /* day 20000 */
	struct spam_store *st = spam_filter_store(f);
	uint64_t before, after, removed;
	struct spam_tokens t;
	struct spam_count c[2];
	(void)state;
	spam_filter_set_day(f, 20100);
	assert_int_equal(spam_filter_train(f, extra, sizeof(extra) - 1, 0), 0);
	assert_int_equal(spam_store_size(st, &before), 0);
	/* Seen once and not since day 20050: the first batch's one-offs go;
	 * tokens seen twice ("cash", "meeting") and the new ones stay. */
	assert_int_equal(spam_store_prune(st, 1, 20050, &removed), 0);
	assert_int_equal(spam_store_size(st, &after), 0);
	assert_true(removed > 0);
	assert_int_equal(after, before - removed);
	assert_int_equal(spam_tokens_init(&t, 0), 0);
	assert_int_equal(spam_tokens_add(&t, "cash", 4), 0);
	assert_int_equal(spam_tokens_add(&t, "claim", 5), 0);
	assert_int_equal(spam_store_lookup(st, t.hashes, 2, c), 0);
	assert_int_equal(c[0].spam, 2);
	assert_int_equal(c[1].spam + c[1].ham, 0); /* pruned */
	spam_tokens_reset(&t);
	assert_int_equal(spam_tokens_add(&t, "zebra", 5), 0);
	assert_int_equal(spam_store_lookup(st, t.hashes, 1, c), 0);
	assert_int_equal(c[0].ham, 1); /* recent, kept */
	spam_tokens_free(&t);
	spam_filter_close(f);
}

static void test_cache_coherent(void **state)
{
	struct spam_filter *f = trained();
	struct spam_store *st = spam_filter_store(f);
	struct spam_result a, b;
	size_t n;
	(void)state;
	assert_int_equal(spam_store_cache_load(st), 0);
	assert_int_equal(spam_filter_train(f, extra, sizeof(extra) - 1, 1), 0);
	assert_int_equal(spam_filter_untrain(f, spam2, sizeof(spam2) - 1, 1), 0);
	assert_int_equal(spam_filter_classify(f, spam1, sizeof(spam1) - 1, &a), 0);
	struct spam_count *cached = counts_of(f, spam2, &n);
	spam_store_cache_drop(st);
	assert_int_equal(spam_filter_classify(f, spam1, sizeof(spam1) - 1, &b), 0);
	assert_float_equal(a.score, b.score, 0);
	struct spam_count *stored = counts_of(f, spam2, &n);
	assert_memory_equal(cached, stored, n * sizeof(*cached));
	free(cached);
	free(stored);
	spam_filter_close(f);
}

static void test_open_error(void **state)
{
	struct spam_filter *f = (struct spam_filter *)1;
	char err[256] = "";
	(void)state;
	assert_int_equal(spam_filter_open(&f, "/nonexistent-dir/x/y.db", NULL, err, sizeof(err)), -1);
	assert_null(f);
	assert_true(strlen(err) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_prob),
		cmocka_unit_test(test_chi2q),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_filter_classifies),
		cmocka_unit_test(test_train_untrain_symmetry),
		cmocka_unit_test(test_relearn),
		cmocka_unit_test(test_prune_rare_old),
		cmocka_unit_test(test_cache_coherent),
		cmocka_unit_test(test_open_error),
	};
	return cmocka_run_group_tests_name("spam_classify", tests, NULL, NULL);
}
