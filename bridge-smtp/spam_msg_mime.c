/* spam_msg.h over the bridge's MIME parser (mime.h): header values come
 * unfolded, RFC 2047-decoded and in UTF-8; text bodies come with their
 * transfer encoding undone and converted from their charset to UTF-8, so
 * the same word in ISO-8859-1 and in UTF-8 mail is one token. */
#include "bridge-smtp/spam_msg.h"

#include <stdio.h>
#include <string.h>

#include "bridge-smtp/mime.h"

static int tokenize_part(struct spam_tokens *t, struct mime_msg *m, struct mime_part *p)
{
	for (struct mime_header *h = mime_header_first(p); h; h = mime_header_next(h)) {
		const char *name = mime_header_name(h), *v = "";
		size_t len = 0;
		/* Decoding values nobody reads is most of a header's cost. */
		if (spam_tok_header_words(name) && !(v = mime_header_value(m, h, &len)))
			return -1;
		if (spam_tok_header(t, name, v, len) < 0)
			return -1;
	}
	if (mime_part_kind(p) != MIME_LEAF)
		return 0; /* its children come next in the walk */
	const char *type = mime_part_type(m, p), *sub = mime_part_subtype(m, p);
	const char *disp = mime_part_disposition(m, p);
	int is_text = type && sub && strcmp(type, "text") == 0 && (strcmp(sub, "plain") == 0 || strcmp(sub, "html") == 0);
	if (!is_text || (disp && strcmp(disp, "attachment") == 0)) {
		char ct[128];
		snprintf(ct, sizeof(ct), "%s/%s", type ? type : "application", sub ? sub : "octet-stream");
		return spam_tok_attachment(t, ct, mime_part_filename(m, p));
	}
	size_t len = 0;
	const char *text = mime_part_text(m, p, &len);
	if (!text)
		return -1;
	return sub[0] == 'h' ? spam_tok_html(t, text, len) : spam_tok_text(t, text, len);
}

int spam_msg_tokenize(struct spam_tokens *t, const char *msg, size_t len)
{
	/* Tighter than the parser's defaults: a filter needs no more, and
	 * time per message stays bounded. */
	static const struct mime_limits lim = { SPAM_MSG_MAX_DEPTH, SPAM_MSG_MAX_PARTS, 500, 256u << 10 };
	struct mime_msg *m;
	struct mime_part *root;
	int rc = 0;

	if (len >= 5 && memcmp(msg, "From ", 5) == 0) {
		const char *nl = memchr(msg, '\n', len);
		size_t skip = nl ? (size_t)(nl - msg) + 1 : len;
		msg += skip;
		len -= skip;
	}
	if (mime_parse(msg, len, 0, &lim, &m) < 0)
		return -1;
	root = mime_msg_root(m);
	if (!mime_header_first(root)) {
		/* Not a single header field: the parser keeps such lines as
		 * unparsed header bytes, but to a filter they are the text. */
		mime_msg_free(m);
		return spam_tok_text(t, msg, len);
	}
	for (struct mime_part *p = root; p && rc == 0; p = mime_part_walk(root, p))
		rc = tokenize_part(t, m, p);
	/* Parts past the limits are kept whole as leaves; say so. */
	size_t nerr = 0;
	const struct mime_error *e = mime_msg_errors(m, &nerr, NULL);
	for (size_t i = 0; i < nerr; i++)
		if (e[i].code == MIME_E_DEPTH || e[i].code == MIME_E_TOO_MANY_PARTS)
			t->truncated = 1;
	mime_msg_free(m);
	return rc;
}
