/* The spam filter handle; see spam.h. */
#include "bridge-smtp/spam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge-smtp/spam_msg.h"

struct spam_filter {
	struct spam_store *store;
	struct spam_params params;
	struct spam_tokens tokens;
	struct spam_count *counts; /* tokens.max entries */
	double *probs;
	uint32_t day;
	char err[256];
};

int spam_filter_open(struct spam_filter **out, const char *where, const struct spam_params *p, char *err,
		     size_t errlen)
{
	static const struct spam_params defaults = SPAM_PARAMS_DEFAULT;
	struct spam_filter *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f || spam_tokens_init(&f->tokens, 0) < 0) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->params = p ? *p : defaults;
	f->counts = malloc(f->tokens.max * sizeof(*f->counts));
	f->probs = malloc(f->tokens.max * sizeof(*f->probs));
	if (!f->counts || !f->probs) {
		snprintf(err, errlen, "out of memory");
		spam_filter_close(f);
		return -1;
	}
	if (spam_store_open(&f->store, where, err, errlen) < 0) {
		spam_filter_close(f);
		return -1;
	}
	*out = f;
	return 0;
}

void spam_filter_close(struct spam_filter *f)
{
	if (!f)
		return;
	spam_store_close(f->store);
	spam_tokens_free(&f->tokens);
	free(f->counts);
	free(f->probs);
	free(f);
}

const char *spam_filter_error(const struct spam_filter *f)
{
	return f->err;
}

struct spam_store *spam_filter_store(struct spam_filter *f)
{
	return f->store;
}

const struct spam_params *spam_filter_params(const struct spam_filter *f)
{
	return &f->params;
}

void spam_filter_set_day(struct spam_filter *f, uint32_t day)
{
	f->day = day;
}

static int store_fail(struct spam_filter *f)
{
	snprintf(f->err, sizeof(f->err), "%s", spam_store_error(f->store));
	return -1;
}

static int tokenize(struct spam_filter *f, const char *msg, size_t len)
{
	spam_tokens_reset(&f->tokens);
	if (spam_msg_tokenize(&f->tokens, msg, len) < 0) {
		snprintf(f->err, sizeof(f->err), "out of memory");
		return -1;
	}
	return 0;
}

int spam_filter_classify_tokens(struct spam_filter *f, const struct spam_tokens *t, struct spam_result *r)
{
	uint32_t nspam, nham;
	size_t n = t->count < f->tokens.max ? t->count : f->tokens.max;

	if (spam_store_totals(f->store, &nspam, &nham) < 0 ||
	    spam_store_lookup(f->store, t->hashes, n, f->counts) < 0)
		return store_fail(f);
	/* Tokens never trained carry no evidence: skipping them (rather than
	 * giving them robx) keeps an empty or freshly upgraded store neutral,
	 * whatever robx is.  Measured alike on the training split. */
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (f->counts[i].spam || f->counts[i].ham)
			f->probs[k++] = spam_token_prob(&f->params, f->counts[i].spam, f->counts[i].ham, nspam, nham);
	r->tokens = t->count;
	r->score = spam_combine(&f->params, f->probs, k, &r->used);
	r->verdict = spam_verdict_of(&f->params, r->score);
	return 0;
}

int spam_filter_classify(struct spam_filter *f, const char *msg, size_t len, struct spam_result *r)
{
	if (tokenize(f, msg, len) < 0)
		return -1;
	return spam_filter_classify_tokens(f, &f->tokens, r);
}

static uint32_t today(const struct spam_filter *f)
{
	return f->day ? f->day : (uint32_t)(time(NULL) / 86400);
}

static int learn(struct spam_filter *f, const char *msg, size_t len, int dspam, int dham)
{
	uint32_t day = (dspam > 0 || dham > 0) ? today(f) : 0;
	if (tokenize(f, msg, len) < 0)
		return -1;
	if (spam_store_update(f->store, f->tokens.hashes, f->tokens.count, dspam, dham, day) < 0)
		return store_fail(f);
	return 0;
}

int spam_filter_train(struct spam_filter *f, const char *msg, size_t len, int is_spam)
{
	return learn(f, msg, len, is_spam ? 1 : 0, is_spam ? 0 : 1);
}

int spam_filter_untrain(struct spam_filter *f, const char *msg, size_t len, int is_spam)
{
	return learn(f, msg, len, is_spam ? -1 : 0, is_spam ? 0 : -1);
}

int spam_filter_relearn(struct spam_filter *f, const char *msg, size_t len, int was_spam, int is_spam)
{
	int ds, dh;

	if (!was_spam == !is_spam)
		return 0;
	/* One update moves every token (and the totals) across. */
	ds = is_spam ? 1 : -1;
	dh = -ds;
	if (tokenize(f, msg, len) < 0)
		return -1;
	if (spam_store_update(f->store, f->tokens.hashes, f->tokens.count, ds, dh, today(f)) < 0)
		return store_fail(f);
	return 0;
}
