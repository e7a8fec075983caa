/* Robinson-Fisher arithmetic; see spam_classify.h. */
#include "bridge-smtp/spam_classify.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

const char *spam_verdict_name(enum spam_verdict v)
{
	switch (v) {
	case SPAM_VERDICT_HAM:
		return "ham";
	case SPAM_VERDICT_SPAM:
		return "spam";
	default:
		return "unsure";
	}
}

enum spam_verdict spam_verdict_of(const struct spam_params *p, double score)
{
	if (score >= p->spam_cutoff)
		return SPAM_VERDICT_SPAM;
	if (score < p->ham_cutoff)
		return SPAM_VERDICT_HAM;
	return SPAM_VERDICT_UNSURE;
}

double spam_token_prob(const struct spam_params *p, uint32_t spam, uint32_t ham,
		       uint32_t nspam, uint32_t nham)
{
	double n = (double)spam + (double)ham;
	double bs, gs, pw;

	if (n == 0)
		return p->robx;
	/* A count above its message total means the counts drifted (untrain
	 * of mail never trained); the ratio must stay within [0, 1]. */
	bs = (double)spam / (double)(nspam > spam ? nspam : (spam ? spam : 1));
	gs = (double)ham / (double)(nham > ham ? nham : (ham ? ham : 1));
	pw = bs + gs > 0 ? bs / (bs + gs) : 0.5;
	return (p->robs * p->robx + n * pw) / (p->robs + n);
}

double spam_chi2q(double x2, unsigned df)
{
	/* For even df the tail is a finite Poisson sum:
	 * Q = e^-m * sum_{i < df/2} m^i / i!, m = x2 / 2. */
	double m = x2 / 2.0, term, sum;

	if (df < 2 || x2 <= 0)
		return 1.0;
	term = sum = exp(-m);
	for (unsigned i = 1; i < df / 2; i++) {
		term *= m / i;
		sum += term;
	}
	return sum < 1.0 ? sum : 1.0;
}

static double dev(double f)
{
	return fabs(f - 0.5);
}

/* Moves the k most extreme of f[0..n) to the front, in no order
 * (quickselect: most messages have hundreds of tokens and use 30, so a
 * full sort was most of the time spent classifying). */
static void select_extreme(double *f, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;

	while (lo < hi) {
		double pivot = dev(f[lo + (hi - lo) / 2]);
		ptrdiff_t i = lo, j = hi;
		while (i <= j) {
			while (dev(f[i]) > pivot)
				i++;
			while (dev(f[j]) < pivot)
				j--;
			if (i <= j) {
				double tmp = f[i];
				f[i++] = f[j];
				f[j--] = tmp;
			}
		}
		/* Now f[lo..j] >= pivot >= f[i..hi], and f(j..i) == pivot. */
		if (want <= j)
			hi = j;
		else if (want >= i)
			lo = i;
		else
			return;
	}
}

double spam_combine(const struct spam_params *p, double *f, size_t n, size_t *used)
{
	size_t k = 0;
	double lnf = 0, ln1f = 0, h, s;

	/* Keep the informative tokens at the front. */
	for (size_t i = 0; i < n; i++)
		if (fabs(f[i] - 0.5) >= p->min_dev) {
			double tmp = f[k];
			f[k++] = f[i];
			f[i] = tmp;
		}
	if (p->max_discriminators && k > p->max_discriminators) {
		select_extreme(f, k, p->max_discriminators);
		k = p->max_discriminators;
	}
	if (used)
		*used = k;
	if (k == 0)
		return 0.5;
	for (size_t i = 0; i < k; i++) {
		/* With robs = 0 a token can reach 0 or 1 exactly. */
		double v = f[i] < 1e-9 ? 1e-9 : f[i] > 1 - 1e-9 ? 1 - 1e-9 : f[i];
		lnf += log(v);
		ln1f += log(1.0 - v);
	}
	h = spam_chi2q(-2.0 * lnf, (unsigned)(2 * k));
	s = spam_chi2q(-2.0 * ln1f, (unsigned)(2 * k));
	return (1.0 + h - s) / 2.0;
}
