/* Feeds a whole message to the spam tokenizer: walks its MIME structure
 * and hands spam_token.h each header field (unfolded, RFC 2047-decoded),
 * each text/plain and text/html body (transfer encoding undone) and the
 * content type of every other part.
 *
 * Implemented in spam_msg_mime.c over the bridge's MIME parser (mime.h):
 * header values arrive RFC 2047-decoded and text bodies converted from
 * their charset to UTF-8.  A message without a single header field is
 * taken as plain text.
 *
 * Input is untrusted: any bytes are accepted, time and memory are bounded
 * (nesting depth, part count, header section size, and the tokenizer's own
 * bounds); parts past the depth or part limits set t->truncated.  Returns 0,
 * or -1 only when memory runs out.  A leading mbox "From " line is skipped.
 */
#ifndef SCOP_SPAM_MSG_H
#define SCOP_SPAM_MSG_H

#include <stddef.h>

#include "bridge-smtp/spam_token.h"

#define SPAM_MSG_MAX_DEPTH 8
#define SPAM_MSG_MAX_PARTS 64

int spam_msg_tokenize(struct spam_tokens *t, const char *msg, size_t len);

#endif
