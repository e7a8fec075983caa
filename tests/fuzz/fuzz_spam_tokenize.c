/* Fuzzes the spam tokenizer through the message adapter (headers, RFC 2047
 * words, multipart boundaries, base64/QP, HTML stripping, URLs), and the
 * HTML and text entry points on their own.  The tokenizer's bounds must
 * hold whatever the input: never more than max tokens. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bridge-smtp/spam_msg.h"
#include "bridge-smtp/spam_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spam_tokens t;

	if (spam_tokens_init(&t, 500) < 0)
		return 0;
	if (spam_msg_tokenize(&t, (const char *)data, size) == 0 && t.count > t.max)
		abort();
	spam_tokens_reset(&t);
	if (spam_tok_html(&t, (const char *)data, size) == 0 && t.count > t.max)
		abort();
	spam_tokens_reset(&t);
	spam_tok_text(&t, (const char *)data, size);
	spam_tok_header(&t, "Subject", (const char *)data, size);
	spam_tok_header(&t, "Received", (const char *)data, size);
	spam_tok_header(&t, "Message-ID", (const char *)data, size);
	spam_tokens_free(&t);
	return 0;
}
