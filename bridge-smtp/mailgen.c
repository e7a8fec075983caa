/* Deterministic mail corpus generator (see mailgen.h).  Text comes from a
 * few lines of Hamlet (public domain) and greetings in several scripts, so
 * that every charset path of the decoder gets exercised. */
#include "bridge-smtp/mailgen.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rng {
	uint64_t s;
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(splitmix(&r->s) % n) : 0;
}

static int chance(struct rng *r, unsigned percent)
{
	return rnd(r, 100) < percent;
}

enum lang { L_EN, L_DE, L_FR, L_RU, L_EL, L_JA, L_ZH, L_MIX, L_COUNT };

static const char *const hamlet[] = {
	"To be, or not to be, that is the question:",
	"Whether 'tis nobler in the mind to suffer",
	"The slings and arrows of outrageous fortune,",
	"Or to take arms against a sea of troubles",
	"And by opposing end them. To die-to sleep,",
	"No more; and by a sleep to say we end",
	"The heart-ache and the thousand natural shocks",
	"That flesh is heir to: 'tis a consummation",
	"Devoutly to be wish'd. To die, to sleep;",
	"To sleep, perchance to dream-ay, there's the rub:",
	"Something is rotten in the state of Denmark.",
	"Though this be madness, yet there is method in't.",
	"There are more things in heaven and earth, Horatio,",
	"Than are dreamt of in your philosophy.",
	"The rest is silence.",
	"Alas, poor Yorick! I knew him, Horatio.",
	"Brevity is the soul of wit.",
	"--- not a boundary, just dashes ---",
	"From the table of my memory I'll wipe away all trivial fond records,",
	".",
};

static const char *const words[L_COUNT][8] = {
	[L_EN] = { "question", "fortune", "troubles", "sleep", "dream", "Denmark", "Horatio", "silence" },
	[L_DE] = { "Grüße", "Straße", "Müller", "schön", "Übermut", "Käse", "Glück", "Äpfel" },
	[L_FR] = { "été", "garçon", "déjà", "où", "Noël", "cœur", "français", "élève" },
	[L_RU] = { "Привет", "мир", "быть", "или", "не", "вопрос", "Дания", "сон" },
	[L_EL] = { "Καλημέρα", "κόσμε", "είναι", "ή", "δεν", "ερώτηση", "ύπνος", "όνειρο" },
	[L_JA] = { "日本語", "こんにちは", "世界", "夢", "眠り", "問題", "沈黙", "デンマーク" },
	[L_ZH] = { "中文", "你好", "世界", "梦", "睡眠", "问题", "沉默", "丹麦" },
	[L_MIX] = { "naïve", "Ωmega", "😀", "Привет", "日本", "€uro", "Straße", "ß" },
};

/* Charsets that can hold each language (the first is used most). */
static const char *const charsets[L_COUNT][3] = {
	[L_EN] = { "us-ascii", "utf-8", "iso-8859-1" },
	[L_DE] = { "iso-8859-1", "utf-8", "windows-1252" },
	[L_FR] = { "windows-1252", "utf-8", "iso-8859-15" },
	[L_RU] = { "koi8-r", "utf-8", "windows-1251" },
	[L_EL] = { "iso-8859-7", "utf-8", "utf-8" },
	[L_JA] = { "iso-2022-jp", "shift_jis", "utf-8" },
	[L_ZH] = { "gb2312", "utf-8", "gbk" },
	[L_MIX] = { "utf-8", "utf-8", "utf-8" },
};

#define NCONV 16

struct mailgen {
	uint64_t seed;
	struct {
		const char *name;
		iconv_t cd;
	} conv[NCONV];
	struct buf text, tmp;
};

struct mailgen *mailgen_new(uint64_t seed)
{
	struct mailgen *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->seed = seed;
	for (int i = 0; i < NCONV; i++)
		g->conv[i].cd = (iconv_t)-1;
	return g;
}

void mailgen_free(struct mailgen *g)
{
	if (!g)
		return;
	for (int i = 0; i < NCONV; i++)
		if (g->conv[i].cd != (iconv_t)-1)
			iconv_close(g->conv[i].cd);
	buf_free(&g->text);
	buf_free(&g->tmp);
	free(g);
}

/* Converts UTF-8 text to charset into out; -1 if it cannot. */
static int from_utf8(struct mailgen *g, const char *cs, const char *in, size_t n, struct buf *out)
{
	iconv_t cd = (iconv_t)-1;
	int i;

	buf_reset(out);
	for (i = 0; i < NCONV && g->conv[i].name; i++)
		if (strcmp(g->conv[i].name, cs) == 0) {
			cd = g->conv[i].cd;
			break;
		}
	if (cd == (iconv_t)-1) {
		if (i == NCONV)
			return -1;
		cd = iconv_open(cs, "UTF-8");
		if (cd == (iconv_t)-1)
			return -1;
		g->conv[i].name = cs;
		g->conv[i].cd = cd;
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	if (buf_reserve(out, n * 4 + 16) < 0)
		return -1;
	char *ip = (char *)in, *op = out->data;
	size_t il = n, ol = out->cap - 1;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return -1;
	out->len = (size_t)(op - out->data);
	out->data[out->len] = '\0';
	return 0;
}

static void put_words(struct rng *r, struct buf *b, enum lang l, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		if (i)
			buf_putc(b, ' ');
		if (l != L_EN && chance(r, 60))
			buf_puts(b, words[l][rnd(r, 8)]);
		else
			buf_puts(b, words[L_EN][rnd(r, 8)]);
	}
}

/* Text of a few lines: Hamlet, words of the language, the odd long line,
 * trailing spaces and lines that look like mbox or SMTP separators. */
static void gen_text(struct rng *r, struct buf *b, enum lang l, int html)
{
	unsigned lines = 1 + rnd(r, 25);
	if (html)
		buf_puts(b, "<html><body>\r\n");
	for (unsigned i = 0; i < lines; i++) {
		unsigned k = rnd(r, 10);
		if (html)
			buf_puts(b, "<p>");
		if (k < 5)
			buf_puts(b, hamlet[rnd(r, sizeof(hamlet) / sizeof(hamlet[0]))]);
		else if (k < 9)
			put_words(r, b, l, 1 + rnd(r, 12));
		else if (chance(r, 50))
			put_words(r, b, l, 20 + rnd(r, 200)); /* long line */
		else
			buf_puts(b, "trailing space   ");
		if (html)
			buf_puts(b, "</p>");
		if (i + 1 < lines || chance(r, 80))
			buf_puts(b, "\r\n");
	}
	if (html)
		buf_puts(b, "</body></html>\r\n");
}

static void gen_address(struct rng *r, struct buf *b, enum lang l)
{
	static const char *const users[] = { "hamlet", "ophelia", "horatio", "polonius", "gertrude", "laertes" };
	static const char *const domains[] = { "elsinore.example", "denmark.example.org", "wittenberg.example.net" };
	const char *u = users[rnd(r, 6)];
	unsigned k = rnd(r, 4);
	if (k == 0) {
		buf_printf(b, "%s@%s", u, domains[rnd(r, 3)]);
	} else if (k == 1) {
		buf_printf(b, "\"%c%s, Prince\" <%s@%s>", u[0] - 32, u + 1, u, domains[rnd(r, 3)]);
	} else {
		put_words(r, b, l, 1 + rnd(r, 2));
		buf_printf(b, " <%s@%s>", u, domains[rnd(r, 3)]);
	}
}

static struct mime_part *gen_leaf_text(struct mailgen *g, struct rng *r, struct mime_msg *m,
	struct mime_part *p, enum lang l, int html)
{
	const char *cs = charsets[l][rnd(r, 10) < 6 ? 0 : 1 + rnd(r, 2)];
	buf_reset(&g->text);
	gen_text(r, &g->text, l, html);
	const char *body = g->text.data;
	size_t len = g->text.len;
	if (strcmp(cs, "utf-8") != 0 && strcmp(cs, "us-ascii") != 0) {
		if (from_utf8(g, cs, g->text.data, g->text.len, &g->tmp) == 0) {
			body = g->tmp.data;
			len = g->tmp.len;
		} else {
			cs = "utf-8";
		}
	} else if (strcmp(cs, "us-ascii") == 0) {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)body[i] >= 0x80) {
				cs = "utf-8";
				break;
			}
	}
	const char *const params[] = { "charset", cs, chance(r, 20) ? "format" : NULL, "flowed", NULL };
	if (mime_part_set_type(m, p, html ? "text/html" : "text/plain", params) < 0 ||
	    mime_part_set_body(m, p, body, len) < 0)
		return NULL;
	return p;
}

static int gen_attachment(struct rng *r, struct mime_msg *m, struct mime_part *p, enum lang l)
{
	static const char *const types[] = { "application/pdf", "image/png", "application/octet-stream",
		"application/zip", "text/csv" };
	const char *type = types[rnd(r, 5)];
	struct buf name = BUF_INIT, data = BUF_INIT;
	int rc = -1;

	put_words(r, &name, chance(r, 50) ? l : L_EN, 1 + rnd(r, chance(r, 10) ? 12 : 3));
	buf_puts(&name, ".bin");
	size_t n = chance(r, 3) ? 20000 + rnd(r, 40000) : rnd(r, 3000);
	if (buf_reserve(&data, n) < 0)
		goto out;
	if (strcmp(type, "text/csv") == 0) {
		while (data.len < n)
			buf_printf(&data, "%u,%u,\"%s\"\r\n", rnd(r, 1000), rnd(r, 1000), words[L_EN][rnd(r, 8)]);
	} else {
		for (size_t i = 0; i < n; i += 8) {
			uint64_t x = splitmix(&r->s);
			memcpy(data.data + i, &x, n - i < 8 ? n - i : 8);
		}
		data.len = n;
	}
	const char *const tp[] = { "name", name.data, NULL };
	const char *const dp[] = { "filename", name.data, chance(r, 30) ? "size" : NULL, "1234", NULL };
	if (mime_part_set_type(m, p, type, chance(r, 50) ? tp : NULL) < 0 ||
	    mime_part_set_disposition(m, p, chance(r, 80) ? "attachment" : "inline", dp) < 0 ||
	    mime_part_set_body(m, p, data.data ? data.data : "", data.len) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&name);
	buf_free(&data);
	return rc;
}

static int gen_headers(struct rng *r, struct mime_msg *m, struct mime_part *p, uint64_t seed,
	uint64_t n, enum lang l)
{
	struct buf b = BUF_INIT;
	int rc = -1;

#define ADD(name) do { if (mime_header_add(m, p, name, b.data ? b.data : "") < 0) goto out; buf_reset(&b); } while (0)
	gen_address(r, &b, l);
	ADD("From");
	unsigned to = 1 + rnd(r, 3);
	for (unsigned i = 0; i < to; i++) {
		if (i)
			buf_puts(&b, ", ");
		gen_address(r, &b, l);
	}
	ADD("To");
	if (chance(r, 30)) {
		gen_address(r, &b, l);
		ADD("Cc");
	}
	if (chance(r, 30))
		buf_puts(&b, "Re: ");
	put_words(r, &b, l, 1 + rnd(r, chance(r, 10) ? 40 : 8));
	ADD("Subject");
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	buf_printf(&b, "%s, %u %s %u %02u:%02u:%02u +0000", days[n % 7], 1 + (unsigned)(n % 28),
		months[(n / 28) % 12], 2000 + (unsigned)(n % 27), (unsigned)(n % 24), (unsigned)(n % 60),
		(unsigned)((n / 60) % 60));
	ADD("Date");
	buf_printf(&b, "<%llu.%llu@gen.elsinore.example>", (unsigned long long)n, (unsigned long long)seed);
	ADD("Message-ID");
	if (chance(r, 30)) {
		buf_printf(&b, "<%llu.%llu@gen.elsinore.example>", (unsigned long long)n / 2,
			(unsigned long long)seed);
		ADD("In-Reply-To");
		for (unsigned i = 0; i < 1 + rnd(r, 12); i++)
			buf_printf(&b, "%s<%llu.%u@gen.elsinore.example>", i ? " " : "",
				(unsigned long long)n, i);
		ADD("References");
	}
	buf_puts(&b, "1.0");
	ADD("MIME-Version");
	if (chance(r, 10)) {
		/* long unstructured text with tabs and runs of spaces: folding */
		put_words(r, &b, l, 30 + rnd(r, 60));
		buf_puts(&b, "\t\tend   of  it");
		ADD("X-Long-Header");
	}
	if (chance(r, 5)) {
		buf_puts(&b, "control\rchars\n and =?fake?= words ?= =?");
		ADD("X-Odd");
	}
#undef ADD
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

static int gen_body(struct mailgen *g, struct rng *r, struct mime_msg *m, struct mime_part *p,
	enum lang l, unsigned depth);

static int gen_multipart(struct mailgen *g, struct rng *r, struct mime_msg *m, struct mime_part *p,
	enum lang l, unsigned depth)
{
	unsigned k = rnd(r, 4);
	if (k == 0) {
		if (mime_part_set_type(m, p, "multipart/alternative", NULL) < 0)
			return -1;
		struct mime_part *a = mime_part_add_child(m, p), *b;
		if (!a || !gen_leaf_text(g, r, m, a, l, 0) || !(b = mime_part_add_child(m, p)) ||
		    !gen_leaf_text(g, r, m, b, l, 1))
			return -1;
		return 0;
	}
	if (mime_part_set_type(m, p, k == 1 ? "multipart/related" : "multipart/mixed", NULL) < 0)
		return -1;
	unsigned n = 1 + rnd(r, 4);
	for (unsigned i = 0; i < n; i++) {
		struct mime_part *c = mime_part_add_child(m, p);
		if (!c)
			return -1;
		if (i == 0) {
			if (gen_body(g, r, m, c, l, depth + 1) < 0)
				return -1;
		} else if (chance(r, 85) || depth > 4) {
			if (gen_attachment(r, m, c, l) < 0)
				return -1;
		} else if (chance(r, 50)) {
			/* a forwarded message */
			if (mime_part_set_type(m, c, "message/rfc822", NULL) < 0)
				return -1;
			struct mime_part *inner = mime_part_add_child(m, c);
			if (!inner || gen_headers(r, m, inner, 0, rnd(r, 100000), l) < 0 ||
			    gen_body(g, r, m, inner, l, depth + 2) < 0)
				return -1;
		} else if (gen_multipart(g, r, m, c, l, depth + 1) < 0) {
			return -1;
		}
	}
	return 0;
}

static int gen_body(struct mailgen *g, struct rng *r, struct mime_msg *m, struct mime_part *p,
	enum lang l, unsigned depth)
{
	if (depth < 6 && chance(r, depth == 0 ? 55 : 25))
		return gen_multipart(g, r, m, p, l, depth);
	return gen_leaf_text(g, r, m, p, l, chance(r, 15)) ? 0 : -1;
}

static void seed_rng(struct mailgen *g, uint64_t n, unsigned salt, struct rng *r)
{
	uint64_t x = g->seed * 0x100000001b3ull + salt;
	r->s = splitmix(&x) ^ n;
	r->s = splitmix(&r->s);
}

struct mime_msg *mailgen_build(struct mailgen *g, uint64_t n)
{
	struct rng r;
	struct mime_msg *m = mime_msg_new();
	if (!m)
		return NULL;
	seed_rng(g, n, 1, &r);
	enum lang l = (enum lang)rnd(&r, L_COUNT);
	struct mime_part *root = mime_msg_root(m);
	if (gen_headers(&r, m, root, g->seed, n, l) < 0 || gen_body(g, &r, m, root, l, 0) < 0) {
		mime_msg_free(m);
		return NULL;
	}
	return m;
}

/* ---- raw, mostly damaged, text ----------------------------------------- */

static const char *const oddities[] = {
	"Subject: =?UTF-8?B?broken base64!?= =?utf-8?q?=FF=FE?= =?x?q?y?=\r\n",
	"Subject:\r\n",
	"Subject:   \t  lots of   white\t\tspace   \r\n",
	"X-Folded: first\r\n\t\r\n second\r\n",
	"Content-Type: multipart/mixed\r\n",
	"Content-Type: text/plain; charset*=''%; name*0*=x'y'%41; name*5=z\r\n",
	"Content-Transfer-Encoding: base64\r\n",
	"Content-Transfer-Encoding: quoted-printable\r\n",
	"Content-Type: text/plain; charset=x-unknown-charset\r\n",
	"not a header line at all\r\n",
	" continuation without a field\r\n",
	"X-8bit: \xc3\x28 \xff\xfe raw bytes\r\n",
	"From nobody Mon Jan  1 00:00:00 2000\r\n",
};

static void mutate(struct rng *r, struct buf *b)
{
	size_t pos = b->len ? rnd(r, (uint32_t)b->len) : 0;
	switch (rnd(r, 12)) {
	case 0: /* truncate */
		b->len = pos;
		b->data[b->len] = '\0';
		break;
	case 1: { /* CRLF -> LF everywhere */
		size_t w = 0;
		for (size_t i = 0; i < b->len; i++)
			if (!(b->data[i] == '\r' && i + 1 < b->len && b->data[i + 1] == '\n'))
				b->data[w++] = b->data[i];
		b->len = w;
		b->data[w] = '\0';
		break;
	}
	case 2: { /* delete a line (often a boundary) */
		char *s = memchr(b->data + pos, '\n', b->len - pos);
		if (!s)
			break;
		char *e = memchr(s + 1, '\n', b->len - (size_t)(s + 1 - b->data));
		if (!e)
			break;
		memmove(s + 1, e + 1, b->len - (size_t)(e + 1 - b->data));
		b->len -= (size_t)(e - s);
		b->data[b->len] = '\0';
		break;
	}
	case 3: /* flip a byte */
		if (b->len)
			b->data[pos] = (char)rnd(r, 256);
		break;
	case 4: /* insert a bare CR, LF or NUL */
	{
		char c = "\r\n\0"[rnd(r, 3)];
		if (buf_putc(b, 'x') == 0) {
			memmove(b->data + pos + 1, b->data + pos, b->len - 1 - pos);
			b->data[pos] = c;
		}
		break;
	}
	case 5: { /* an odd header line at the front */
		const char *o = oddities[rnd(r, sizeof(oddities) / sizeof(oddities[0]))];
		size_t ol = strlen(o);
		if (buf_reserve(b, ol) == 0) {
			memmove(b->data + ol, b->data, b->len + 1);
			memcpy(b->data, o, ol);
			b->len += ol;
		}
		break;
	}
	case 6: { /* a huge header */
		struct buf h = BUF_INIT;
		buf_puts(&h, "X-Huge: ");
		unsigned n = 1000 + rnd(r, 20000);
		for (unsigned i = 0; i < n; i++)
			buf_putc(&h, chance(r, 2) ? '\n' : (char)('a' + rnd(r, 26)));
		buf_puts(&h, "\r\n");
		if (h.data && buf_reserve(b, h.len) == 0) {
			memmove(b->data + h.len, b->data, b->len + 1);
			memcpy(b->data, h.data, h.len);
			b->len += h.len;
		}
		buf_free(&h);
		break;
	}
	case 7: { /* deep nesting around the message */
		struct buf w = BUF_INIT;
		unsigned d = 1 + rnd(r, 90);
		for (unsigned i = 0; i < d; i++)
			buf_printf(&w, "Content-Type: multipart/mixed; boundary=\"n%u\"\r\n\r\n--n%u\r\n", i, i);
		buf_append(&w, b->data, b->len);
		for (unsigned i = d; i-- > 0;)
			if (chance(r, 90))
				buf_printf(&w, "\r\n--n%u--\r\n", i);
		buf_reset(b);
		buf_append(b, w.data, w.len);
		buf_free(&w);
		break;
	}
	case 8: { /* duplicate a chunk */
		size_t n = rnd(r, 200);
		if (pos + n > b->len)
			n = b->len - pos;
		if (n && buf_reserve(b, n) == 0) {
			memmove(b->data + pos + n, b->data + pos, b->len - pos + 1);
			b->len += n;
		}
		break;
	}
	case 9: /* 8-bit garbage */
		for (unsigned i = 0; i < 20 && pos + i < b->len; i++)
			b->data[pos + i] = (char)(0x80 + rnd(r, 128));
		break;
	case 10: { /* drop the "--" of a delimiter line */
		char *d = memmem(b->data + pos, b->len - pos, "\n--", 3);
		if (d) {
			memmove(d + 1, d + 3, b->len - (size_t)(d + 3 - b->data) + 1);
			b->len -= 2;
		}
		break;
	}
	default: { /* a very long line */
		size_t n = 1000 + rnd(r, 5000);
		if (buf_reserve(b, n) == 0) {
			memmove(b->data + pos + n, b->data + pos, b->len - pos + 1);
			memset(b->data + pos, 'L', n);
			b->len += n;
		}
		break;
	}
	}
}

int mailgen_raw(struct mailgen *g, uint64_t n, struct buf *out)
{
	struct rng r;
	struct buf b = BUF_INIT;
	struct mime_msg *m = mailgen_build(g, n);
	int rc = -1;

	if (!m)
		return -1;
	seed_rng(g, n, 2, &r);
	if (mime_encode(m, &b) < 0)
		goto out;
	if (!b.data && buf_reserve(&b, 1) < 0)
		goto out;
	if (chance(&r, 70)) {
		unsigned k = 1 + rnd(&r, 4);
		for (unsigned i = 0; i < k; i++)
			mutate(&r, &b);
	}
	rc = buf_append(out, b.data, b.len);
out:
	buf_free(&b);
	mime_msg_free(m);
	return rc;
}
