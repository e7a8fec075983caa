/* The arithmetic of the Bayesian spam classifier, kept apart from storage
 * and tokenizing so it can be checked against hand-computed values.
 *
 * Per token (Gary Robinson): p = (b/nb) / (b/nb + g/ng) from the token's
 * spam count b and ham count g over nb spam and ng ham messages trained,
 * then f = (s*x + n*p) / (s + n) with n = b + g, which pulls rarely seen
 * tokens towards the prior x with strength s.  Per message (Fisher):
 * tokens with |f - 0.5| >= min_dev, at most max_discriminators of the most
 * extreme, are combined as H = C(-2 sum ln f, 2k), S = C(-2 sum ln(1-f),
 * 2k) with C the inverse chi-square, and the score is (1 + H - S) / 2 in
 * [0, 1]: near 1 spam, near 0 ham, 0.5 with no evidence.
 *
 * Pure functions, no state; they never fail.
 */
#ifndef SCOP_SPAM_CLASSIFY_H
#define SCOP_SPAM_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

struct spam_params {
	double robs;                 /* s: strength of the prior */
	double robx;                 /* x: the prior for an unseen token */
	double min_dev;              /* tokens closer than this to 0.5 are ignored */
	unsigned max_discriminators; /* most extreme tokens used; 0 = all */
	double ham_cutoff;           /* score < ham_cutoff: ham */
	double spam_cutoff;          /* score >= spam_cutoff: spam; between: unsure */
};

/* Chosen by 7-fold cross-validation on the SpamAssassin public corpus
 * training split (bench/bench_spam_tune, BENCHMARKS.md): the 30 most
 * extreme tokens, all of them counting however close to 0.5, a weak prior
 * leaning spam for rare tokens, and a spam cut-off that let through one
 * ham in 2,969 out-of-fold. */
#define SPAM_PARAMS_DEFAULT { 0.1, 0.8, 0.0, 30, 0.20, 0.99 }

enum spam_verdict {
	SPAM_VERDICT_HAM = 0,
	SPAM_VERDICT_UNSURE = 1,
	SPAM_VERDICT_SPAM = 2,
};

/* "ham", "unsure", "spam". */
const char *spam_verdict_name(enum spam_verdict v);
enum spam_verdict spam_verdict_of(const struct spam_params *p, double score);

/* f(w) for a token seen in `spam` spam and `ham` ham messages, with nspam
 * and nham messages trained.  An unseen token gives robx. */
double spam_token_prob(const struct spam_params *p, uint32_t spam, uint32_t ham,
		       uint32_t nspam, uint32_t nham);

/* Probability that a chi-square variable with df (even, >= 2) degrees of
 * freedom is >= x2.  In [0, 1]. */
double spam_chi2q(double x2, unsigned df);

/* Combines token probabilities f[0..n) into a message score as above.
 * Reorders f (the tokens that counted first, in no particular order).  *used gets how many tokens counted
 * (may be NULL). */
double spam_combine(const struct spam_params *p, double *f, size_t n, size_t *used);

#endif
