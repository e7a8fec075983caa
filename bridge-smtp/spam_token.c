/* Spam tokenizer core; see spam_token.h for the contract. */
#include "bridge-smtp/spam_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_MAX 48
#define HOST_MAX 128

static uint64_t load_le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* load_le(p, 8) in one load where the machine is little-endian: hashing
 * is the tokenizer's largest single cost. */
static uint64_t load_le8(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
#else
	return load_le(p, 8);
#endif
}

uint64_t spam_token_hash(const char *s, size_t len)
{
	/* Eight bytes a step (read little-endian, so the value is the same on
	 * every machine: the database stores it), multiply-xorshift mixing and
	 * a splitmix64 finalizer. */
	const unsigned char *p = (const unsigned char *)s;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * 0xff51afd7ed558ccdULL);

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t k = load_le8(p) * 0x87c37b91114253d5ULL;
		h ^= k ^ (k >> 31);
		h = (h << 27 | h >> 37) * 0x4cf5ad432745937fULL;
	}
	if (len) {
		uint64_t k = load_le(p, len) * 0x87c37b91114253d5ULL;
		h ^= k ^ (k >> 31);
		h = (h << 27 | h >> 37) * 0x4cf5ad432745937fULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	/* Kept below 2^63 so it fits a signed 64-bit SQL integer as is, and
	 * never 0, which marks an empty slot. */
	h &= 0x7fffffffffffffffULL;
	return h ? h : 1;
}

int spam_tokens_init(struct spam_tokens *t, size_t max_tokens)
{
	size_t cap = 16;

	memset(t, 0, sizeof(*t));
	t->max = max_tokens ? max_tokens : SPAM_TOK_MAX_TOKENS;
	while (cap < 2 * t->max)
		cap <<= 1;
	t->hashes = malloc(t->max * sizeof(*t->hashes));
	t->str_off = malloc(t->max * sizeof(*t->str_off));
	t->slot = malloc(t->max * sizeof(*t->slot));
	t->table = calloc(cap, sizeof(*t->table));
	buf_init(&t->pool, 0);
	if (!t->hashes || !t->str_off || !t->slot || !t->table) {
		spam_tokens_free(t);
		return -1;
	}
	t->table_mask = cap - 1;
	t->budget = SPAM_TOK_TEXT_BUDGET;
	return 0;
}

void spam_tokens_free(struct spam_tokens *t)
{
	free(t->hashes);
	free(t->str_off);
	free(t->slot);
	free(t->table);
	buf_free(&t->pool);
	memset(t, 0, sizeof(*t));
}

void spam_tokens_reset(struct spam_tokens *t)
{
	/* Clearing only the used slots keeps reset cheap for small messages. */
	for (size_t i = 0; i < t->count; i++)
		t->table[t->slot[i]] = 0;
	buf_reset(&t->pool);
	t->count = 0;
	t->budget = SPAM_TOK_TEXT_BUDGET;
	t->truncated = 0;
}

static size_t slot_of(const struct spam_tokens *t, uint64_t h)
{
	size_t i = (size_t)h & t->table_mask;
	while (t->table[i] && t->table[i] != h)
		i = (i + 1) & t->table_mask;
	return i;
}

int spam_tokens_add(struct spam_tokens *t, const char *s, size_t len)
{
	uint64_t h = spam_token_hash(s, len);
	size_t i = slot_of(t, h);
	size_t off = t->pool.len;

	if (t->table[i])
		return 0;
	if (t->count >= t->max) {
		t->truncated = 1;
		return 0;
	}
	if (buf_reserve(&t->pool, len + 1) < 0)
		return -1;
	memcpy(t->pool.data + off, s, len);
	t->pool.data[off + len] = '\0';
	t->pool.len += len + 1;
	t->pool.data[t->pool.len] = '\0';
	t->table[i] = h;
	t->slot[t->count] = (uint32_t)i;
	t->hashes[t->count] = h;
	t->str_off[t->count] = (uint32_t)off;
	t->count++;
	return 0;
}

int spam_tokens_has(const struct spam_tokens *t, const char *s)
{
	uint64_t h = spam_token_hash(s, strlen(s));
	return t->table && t->table[slot_of(t, h)] == h;
}

/* Takes n bytes from the text budget; returns how many may be scanned. */
static size_t spend(struct spam_tokens *t, size_t n)
{
	if (n > t->budget) {
		n = t->budget;
		t->truncated = 1;
	}
	t->budget -= n;
	return n;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Inside a word: letters, digits, any non-ASCII byte, and punctuation that
 * spam likes to carry ("$100", "100%", "don't", "e-mail", "v1.0").  A
 * table, as this is the tokenizer's innermost test. */
static const unsigned char word_chars[256] = {
	['$'] = 1, ['%'] = 1, ['\''] = 1, ['-'] = 1, ['_'] = 1, ['.'] = 1, ['@'] = 1, ['!'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	[0x80 ... 0xff] = 1,
};

static int is_word(unsigned char c)
{
	return word_chars[c];
}

/* Punctuation stripped from either end of a word. */
static int is_trim(unsigned char c)
{
	return c == '.' || c == '\'' || c == '-' || c == '_' || c == '!' || c == '@';
}

/* Trims and folds word w into out[SPAM_TOK_MAX_WORD + 16]; returns its
 * length, or 0 when it is too short to count.  Over-long words become a
 * "skip:" token saying only their kind and rough length, as in SpamBayes:
 * they are mostly encoded junk. */
static size_t norm_word(const char *w, size_t n, char *out)
{
	while (n && is_trim((unsigned char)*w)) {
		w++;
		n--;
	}
	while (n && is_trim((unsigned char)w[n - 1]))
		n--;
	if (n < SPAM_TOK_MIN_WORD)
		return 0;
	if (n > SPAM_TOK_MAX_WORD) {
		unsigned char c = (unsigned char)*w;
		char kind = c >= 0x80 ? '8' : is_alnum(c) ? lower((char)c) : '?';
		size_t bucket = n / 10 * 10;
		return (size_t)snprintf(out, SPAM_TOK_MAX_WORD + 16, "skip:%c %zu", kind, bucket > 200 ? 200 : bucket);
	}
	for (size_t i = 0; i < n; i++)
		out[i] = lower(w[i]);
	return n;
}

/* prefix + folded word as a token. */
static int add_word(struct spam_tokens *t, const char *prefix, size_t plen, const char *w, size_t n)
{
	char tok[PREFIX_MAX + SPAM_TOK_MAX_WORD + 16];
	size_t k;

	memcpy(tok, prefix, plen);
	k = norm_word(w, n, tok + plen);
	return k ? spam_tokens_add(t, tok, plen + k) : 0;
}

static int is_skip(const char *w, size_t n)
{
	return n > 5 && memcmp(w, "skip:", 5) == 0;
}

/* Words of s as tokens; in body text (no prefix) also each pair of
 * neighbouring words, "bi:first second": measured by cross-validation on
 * the training split, pairs cut missed spam by a third at the same false
 * positives (BENCHMARKS.md).  Words too short to count and "skip:" tokens
 * break a pair. */
static int scan_words(struct spam_tokens *t, const char *prefix, const char *s, size_t len)
{
	size_t plen = strlen(prefix);
	size_t i = 0, prevn = 0;
	char pair[3 + 2 * (SPAM_TOK_MAX_WORD + 16) + 1];
	char *prev = pair + 3, cur[SPAM_TOK_MAX_WORD + 16];

	memcpy(pair, "bi:", 3);
	while (i < len) {
		size_t start;
		while (i < len && !is_word((unsigned char)s[i]))
			i++;
		start = i;
		while (i < len && is_word((unsigned char)s[i]))
			i++;
		if (i == start)
			continue;
		if (plen) {
			if (add_word(t, prefix, plen, s + start, i - start) < 0)
				return -1;
			continue;
		}
		size_t n = norm_word(s + start, i - start, cur);
		if (n && spam_tokens_add(t, cur, n) < 0)
			return -1;
		if (n == 0 || is_skip(cur, n)) {
			prevn = 0;
			continue;
		}
		if (prevn) {
			prev[prevn] = ' ';
			memcpy(prev + prevn + 1, cur, n);
			if (spam_tokens_add(t, pair, 3 + prevn + 1 + n) < 0)
				return -1;
		}
		memcpy(prev, cur, n);
		prevn = n;
	}
	return 0;
}

/* "url:host" and "url:" + each parent domain down to the top level. */
static int add_host(struct spam_tokens *t, const char *h, size_t n)
{
	char tok[HOST_MAX + 8];
	size_t len = 0;

	/* Drop userinfo: "http://paypal.com@evil.example/" goes to evil. */
	for (size_t i = n; i > 0; i--)
		if (h[i - 1] == '@') {
			h += i;
			n -= i;
			break;
		}
	while (n && h[n - 1] == '.')
		n--;
	if (n == 0 || n > HOST_MAX)
		return 0;
	memcpy(tok, "url:", 4);
	for (size_t i = 0; i < n; i++)
		tok[4 + i] = lower(h[i]);
	len = 4 + n;
	if (spam_tokens_add(t, tok, len) < 0)
		return -1;
	for (size_t i = 4; i < len; i++) {
		if (tok[i] != '.' || i + 1 >= len)
			continue;
		/* Shift the suffix down to right after "url:". */
		size_t rest = len - (i + 1);
		char sub[HOST_MAX + 8];
		memcpy(sub, "url:", 4);
		memcpy(sub + 4, tok + i + 1, rest);
		if (spam_tokens_add(t, sub, 4 + rest) < 0)
			return -1;
	}
	return 0;
}

static int is_host_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '-' || c == '_' || c == '@' || c >= 0x80;
}

/* Hosts of http(s)/ftp URLs and bare "www." names in s. */
static int scan_urls(struct spam_tokens *t, const char *s, size_t len)
{
	for (size_t i = 0; i + 4 < len; i++) {
		size_t h;
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/' && i >= 3 &&
		    (lower(s[i - 1]) == 'p' || lower(s[i - 1]) == 's')) {
			h = i + 3;
		} else if (lower(s[i]) == 'w' && lower(s[i + 1]) == 'w' && lower(s[i + 2]) == 'w' &&
			   s[i + 3] == '.' && (i == 0 || !is_host_char((unsigned char)s[i - 1]))) {
			h = i;
		} else {
			continue;
		}
		size_t e = h;
		while (e < len && e - h <= HOST_MAX && is_host_char((unsigned char)s[e]))
			e++;
		if (e > h && add_host(t, s + h, e - h) < 0)
			return -1;
		i = e > i ? e - 1 : i;
	}
	return 0;
}

int spam_tok_text(struct spam_tokens *t, const char *text, size_t len)
{
	len = spend(t, len);
	if (scan_urls(t, text, len) < 0)
		return -1;
	return scan_words(t, "", text, len);
}

/* Header fields whose words are tokens.  Others (list and relay
 * chatter, dates, ids, tool markup) count only by their presence
 * ("hdr:name"): measured on the corpus's training split, tokenizing every
 * field let mailing-list headers outvote the body of spam sent through
 * lists (BENCHMARKS.md). */
static const char *const word_fields[] = {
	"subject", "from", "to", "cc", "reply-to", "return-path", "content-type",
	"content-transfer-encoding", "mime-version", "x-mailer", "user-agent", "organization",
	"list-id", "message-id", "received", NULL,
};

static int is_word_field(const char *lname)
{
	for (size_t i = 0; word_fields[i]; i++)
		if (strcmp(lname, word_fields[i]) == 0)
			return 1;
	return 0;
}

int spam_tok_header_words(const char *name)
{
	char lname[32];
	size_t n = 0;
	for (; name[n] && n < sizeof(lname) - 1; n++)
		lname[n] = lower(name[n]);
	lname[n] = '\0';
	return !name[n] && is_word_field(lname);
}

int spam_tok_header(struct spam_tokens *t, const char *name, const char *value, size_t len)
{
	char prefix[PREFIX_MAX];
	size_t n = 0;

	for (; name[n] && n < 30; n++) {
		unsigned char c = (unsigned char)name[n];
		if (c <= 32 || c >= 127 || c == ':')
			return 0;
		prefix[n] = lower((char)c);
	}
	if (n == 0 || name[n])
		return 0;
	prefix[n] = '\0';
	{
		char tok[PREFIX_MAX + 8];
		memcpy(tok, "hdr:", 4);
		memcpy(tok + 4, prefix, n);
		if (spam_tokens_add(t, tok, 4 + n) < 0)
			return -1;
	}
	if (!is_word_field(prefix))
		return 0;
	len = spend(t, len);
	if (strcmp(prefix, "message-id") == 0) {
		/* Only the domain is shared between messages. */
		const char *at = memchr(value, '@', len);
		if (!at)
			return 0;
		size_t rest = len - (size_t)(at + 1 - value);
		size_t e = 0;
		while (e < rest && at[1 + e] != '>')
			e++;
		memcpy(prefix + n, ":", 2);
		return scan_words(t, prefix, at + 1, e);
	}
	if (strcmp(prefix, "received") == 0) {
		/* Relay names and addresses, not the dates and ids. */
		size_t i = 0;
		memcpy(prefix + n, ":", 2);
		while (i < len) {
			size_t s;
			while (i < len && !is_host_char((unsigned char)value[i]))
				i++;
			s = i;
			while (i < len && is_host_char((unsigned char)value[i]))
				i++;
			if (i > s && memchr(value + s, '.', i - s) &&
			    add_word(t, prefix, n + 1, value + s, i - s) < 0)
				return -1;
		}
		return 0;
	}
	memcpy(prefix + n, ":", 2);
	if (scan_words(t, prefix, value, len) < 0)
		return -1;
	return scan_urls(t, value, len);
}

static int starts_ci(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (len < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != lit[i])
			return 0;
	return 1;
}

/* Finds a case-insensitive literal; returns its offset or len. */
static size_t find_ci(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	for (size_t i = 0; i + n <= len; i++)
		if (lower(s[i]) == lit[0] && starts_ci(s + i, len - i, lit))
			return i;
	return len;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return buf_putc(b, ' ');
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(b, u, n);
}

/* Decodes the entity at s (which starts with '&'); returns bytes used, or
 * 0 when it is not one we know (the '&' is then copied as is). */
static size_t entity(const char *s, size_t len, struct buf *out, int *err)
{
	static const struct { const char *name; const char *text; } named[] = {
		{ "&nbsp;", " " }, { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
		{ "&quot;", "\"" }, { "&apos;", "'" }, { "&copy;", "(c)" }, { "&reg;", "(r)" },
	};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (starts_ci(s, len, named[i].name)) {
			*err = buf_puts(out, named[i].text);
			return strlen(named[i].name);
		}
	if (len >= 4 && s[1] == '#') {
		size_t i = 2;
		int hex = 0;
		unsigned long cp = 0;
		if (lower(s[2]) == 'x') {
			hex = 1;
			i++;
		}
		size_t start = i;
		for (; i < len && i < 12; i++) {
			char c = lower(s[i]);
			if (c >= '0' && c <= '9')
				cp = cp * (hex ? 16 : 10) + (unsigned long)(c - '0');
			else if (hex && c >= 'a' && c <= 'f')
				cp = cp * 16 + (unsigned long)(c - 'a' + 10);
			else
				break;
		}
		if (i == start || i >= len || s[i] != ';')
			return 0;
		*err = put_utf8(out, cp);
		return i + 1;
	}
	return 0;
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* Tags after which the text reads as a new word (sorted, for bsearch). */
static int is_block_tag(const char *name)
{
	static const char *const block[] = {
		"a", "blockquote", "body", "br", "center", "dd", "div", "dt", "form", "h1", "h2", "h3",
		"h4", "h5", "h6", "head", "hr", "html", "img", "input", "li", "ol", "option", "p",
		"pre", "select", "table", "tbody", "td", "th", "title", "tr", "ul",
	};
	return bsearch(name, block, sizeof(block) / sizeof(block[0]), sizeof(block[0]), cmp_name) != NULL;
}

/* Handles the tag whose text (between < and >) is s[0..n): a markup token,
 * and the hosts of URLs in href, src and action attributes. */
static int html_tag(struct spam_tokens *t, const char *s, size_t n, struct buf *out)
{
	char name[16];
	size_t i = 0, k = 0;

	if (i < n && s[i] == '/')
		i++;
	while (i < n && k < sizeof(name) - 1 && is_alnum((unsigned char)s[i]))
		name[k++] = lower(s[i++]);
	name[k] = '\0';
	if (k == 0)
		return 0;
	if (s[0] != '/') {
		char tok[32];
		memcpy(tok, "html:", 5);
		memcpy(tok + 5, name, k);
		if (spam_tokens_add(t, tok, 5 + k) < 0)
			return -1;
	}
	if (is_block_tag(name) && buf_putc(out, ' ') < 0)
		return -1;
	/* Attribute values are scanned for URLs as they are. */
	if (k && (strcmp(name, "a") == 0 || strcmp(name, "img") == 0 || strcmp(name, "form") == 0 ||
		  strcmp(name, "area") == 0 || strcmp(name, "iframe") == 0))
		return scan_urls(t, s + i, n - i);
	return 0;
}

int spam_tok_html(struct spam_tokens *t, const char *html, size_t len)
{
	struct buf out;
	size_t i = 0;
	int rc = -1;

	len = spend(t, len);
	/* Stripped text is never longer than the markup plus a few bytes per
	 * entity, so it is bounded by the budget just spent. */
	buf_init(&out, 0);
	if (buf_reserve(&out, len + 1) < 0)
		goto done;
	while (i < len) {
		if (html[i] == '<') {
			if (starts_ci(html + i, len - i, "<!--")) {
				/* Comments inside words ("vi<!-- x -->agra") vanish. */
				size_t e = find_ci(html + i + 4, len - i - 4, "-->");
				i += 4 + e + 3;
				continue;
			}
			if (starts_ci(html + i, len - i, "<style") || starts_ci(html + i, len - i, "<script")) {
				const char *close = lower(html[i + 2]) == 't' ? "</style" : "</script";
				size_t e = find_ci(html + i + 1, len - i - 1, close);
				if (html_tag(t, html + i + 1, len - i - 1 < 6 ? len - i - 1 : 6, &out) < 0)
					goto done;
				i += 1 + e;
				if (i >= len)
					break;
			}
			size_t e = i + 1;
			while (e < len && html[e] != '>' && e - i < 4096)
				e++;
			if (html_tag(t, html + i + 1, e - i - 1, &out) < 0)
				goto done;
			i = e + 1;
			continue;
		}
		if (html[i] == '&') {
			int err = 0;
			size_t used = entity(html + i, len - i, &out, &err);
			if (err < 0)
				goto done;
			if (used) {
				i += used;
				continue;
			}
		}
		/* Copy the run of plain text up to the next markup. */
		size_t e = i + 1;
		while (e < len && html[e] != '<' && html[e] != '&')
			e++;
		if (buf_append(&out, html + i, e - i) < 0)
			goto done;
		i = e;
	}
	if (scan_urls(t, out.data ? out.data : "", out.len) < 0 ||
	    scan_words(t, "", out.data ? out.data : "", out.len) < 0)
		goto done;
	rc = 0;
done:
	buf_free(&out);
	return rc;
}

int spam_tok_attachment(struct spam_tokens *t, const char *content_type, const char *filename)
{
	char tok[96];
	size_t n = 0;

	memcpy(tok, "att:", 4);
	for (const char *p = content_type ? content_type : ""; *p && n < 60; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 32 || c == ';' || c >= 127)
			break;
		tok[4 + n++] = lower((char)c);
	}
	if (n == 0) {
		memcpy(tok + 4, "unknown", 7);
		n = 7;
	}
	if (spam_tokens_add(t, tok, 4 + n) < 0)
		return -1;
	if (filename) {
		const char *dot = strrchr(filename, '.');
		if (dot && dot[1]) {
			n = 0;
			memcpy(tok, "att-ext:", 8);
			for (const char *p = dot + 1; *p && n < 12; p++)
				tok[8 + n++] = lower(*p);
			if (spam_tokens_add(t, tok, 8 + n) < 0)
				return -1;
		}
	}
	return 0;
}
