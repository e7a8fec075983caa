/* Spam tokenizer core: turns the parts of a parsed message into a set of
 * distinct tokens for the Bayesian classifier.
 *
 * The core knows nothing of MIME: an adapter (spam_msg.h) walks the message
 * and feeds it (header name, decoded value) pairs, text bodies, HTML bodies
 * (stripped here) and attachment content types.  Tokens are strings such
 * as "subject:free", "url:example.com", "att:application/zip", a plain
 * body word or a pair of neighbouring body words ("bi:click here"); each is identified by a 64-bit hash, which is what the token
 * database stores.  Two strings with the same hash count as one token.
 *
 * Bounds: at most max_tokens distinct tokens per message and at most
 * SPAM_TOK_TEXT_BUDGET bytes of header and body text scanned; past either
 * bound input is ignored and `truncated` is set, so time and memory per
 * message are bounded whatever the input.  Bytes >= 0x80 are word
 * characters, so UTF-8 text stays whole (words of 3 to 40 bytes count;
 * longer runs become one "skip:" token of their kind and rough length);
 * only ASCII letters are folded to lower case.
 *
 * Memory: struct spam_tokens owns everything it holds; spam_tokens_free()
 * releases it.  Functions return 0, or -1 when memory runs out (the set
 * keeps what it had).
 */
#ifndef SCOP_SPAM_TOKEN_H
#define SCOP_SPAM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define SPAM_TOK_MAX_TOKENS 3000        /* default distinct tokens per message */
#define SPAM_TOK_TEXT_BUDGET (1u << 20) /* bytes of text scanned per message */
#define SPAM_TOK_MIN_WORD 3             /* shorter words are dropped */
#define SPAM_TOK_MAX_WORD 40            /* longer words become "skip:" tokens */

struct spam_tokens {
	uint64_t *hashes;   /* count entries, in the order first seen */
	uint32_t *str_off;  /* offset of each token's string in pool */
	struct buf pool;    /* NUL-separated token strings */
	size_t count;
	size_t max;         /* max_tokens */
	uint64_t *table;    /* open addressing on the hash; 0 = empty slot */
	uint32_t *slot;     /* table index of each token, to clear just those */
	size_t table_mask;
	size_t budget;      /* bytes of text still to be scanned */
	int truncated;      /* a bound was reached */
};

/* max_tokens 0 means SPAM_TOK_MAX_TOKENS. */
int spam_tokens_init(struct spam_tokens *t, size_t max_tokens);
void spam_tokens_free(struct spam_tokens *t);
/* Empties the set for the next message, keeping its memory. */
void spam_tokens_reset(struct spam_tokens *t);

/* Adds one token string as is (no folding).  Returns 0 (also when the
 * token was already there or the set is full) or -1. */
int spam_tokens_add(struct spam_tokens *t, const char *s, size_t len);
int spam_tokens_has(const struct spam_tokens *t, const char *s);
static inline const char *spam_tokens_str(const struct spam_tokens *t, size_t i)
{
	return t->pool.data + t->str_off[i];
}

/* The hash identifying a token string in the database. */
uint64_t spam_token_hash(const char *s, size_t len);

/* A header field: name as written, value already unfolded and with
 * RFC 2047 encoded words decoded. */
int spam_tok_header(struct spam_tokens *t, const char *name, const char *value, size_t len);
/* 1 when spam_tok_header() tokenizes the value of field `name` (any case),
 * 0 when only the field's presence counts: adapters may then skip
 * decoding the value and pass an empty one. */
int spam_tok_header_words(const char *name);
/* A text/plain body part, transfer encoding already undone. */
int spam_tok_text(struct spam_tokens *t, const char *text, size_t len);
/* A text/html body part: tags are stripped (URLs in href/src kept, style,
 * script and comments dropped, common entities decoded) and the text
 * tokenized as by spam_tok_text, plus a few markup tokens. */
int spam_tok_html(struct spam_tokens *t, const char *html, size_t len);
/* A non-text part: its content type ("type/subtype", any case) and
 * filename (may be NULL). */
int spam_tok_attachment(struct spam_tokens *t, const char *content_type, const char *filename);

#endif
