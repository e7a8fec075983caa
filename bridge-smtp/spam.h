/* The bridge's Bayesian spam filter: tokenizer + token store + Robinson-
 * Fisher classifier behind one handle.
 *
 * Use: spam_filter_open() a store (see spam_store.h for `where`), then
 * spam_filter_classify() raw messages; spam_filter_train() labelled mail;
 * when a user in a room says a message was misfiled,
 * spam_filter_relearn() moves it from one class to the other (untrain +
 * train in one transaction).  Untraining a message that was never trained
 * leaves counts clamped at zero, never negative.
 *
 * Memory: the filter owns its store and buffers; messages are only read.
 * Errors: 0 or -1 with a message from spam_filter_error().  One filter per
 * thread.
 */
#ifndef SCOP_SPAM_H
#define SCOP_SPAM_H

#include <stddef.h>
#include <stdint.h>

#include "bridge-smtp/spam_classify.h"
#include "bridge-smtp/spam_store.h"
#include "bridge-smtp/spam_token.h"

struct spam_filter;

struct spam_result {
	double score;               /* 0 ham .. 1 spam */
	enum spam_verdict verdict;
	size_t tokens;              /* distinct tokens in the message */
	size_t used;                /* tokens that counted */
};

/* p NULL means SPAM_PARAMS_DEFAULT. */
int spam_filter_open(struct spam_filter **out, const char *where, const struct spam_params *p, char *err,
		     size_t errlen);
void spam_filter_close(struct spam_filter *f);
const char *spam_filter_error(const struct spam_filter *f);
struct spam_store *spam_filter_store(struct spam_filter *f);
const struct spam_params *spam_filter_params(const struct spam_filter *f);
/* Fixes the "today" written with trained tokens (days since 1970); 0
 * means the clock.  For tests and replays. */
void spam_filter_set_day(struct spam_filter *f, uint32_t day);

int spam_filter_classify(struct spam_filter *f, const char *msg, size_t len, struct spam_result *r);
/* Classifies an already tokenized message. */
int spam_filter_classify_tokens(struct spam_filter *f, const struct spam_tokens *t, struct spam_result *r);

int spam_filter_train(struct spam_filter *f, const char *msg, size_t len, int is_spam);
int spam_filter_untrain(struct spam_filter *f, const char *msg, size_t len, int is_spam);
/* A message trained as was_spam is now known to be is_spam. */
int spam_filter_relearn(struct spam_filter *f, const char *msg, size_t len, int was_spam, int is_spam);

#endif
