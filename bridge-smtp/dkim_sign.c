/* DKIM signing: stream the body, then build, hash and sign the field. */
#include "bridge-smtp/dkim_int.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/base64.h"

static const char *const default_headers[] = {
	"from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", "list-id", NULL,
};

/* Everything but the body hash state is kept from message to message
 * (buffers, the field array, the header hash context), so that a signer
 * reset between messages allocates nothing once warmed up. */
struct dkim_signer {
	struct dkim_sign_opts o;
	char *domain, *selector, *identity;
	struct dkim_privkey *key;
	enum dkim_algo algo;
	struct dkim_body *body;
	struct buf hdr;    /* copy of the header block (dkim_signer_headers) */
	struct mailhdr h;
	EVP_MD_CTX *hmd;   /* header hash */
	struct buf hcanon; /* canonical header fields */
	struct buf prefix; /* "DKIM-Signature: v=1; a=...; d=...; s=...; [i=...;]", the same for every message */
	size_t prefix_col; /* the column where prefix ends */
	struct buf field;  /* the field being built */
	struct buf sig64;  /* b= in base64 */
	unsigned char *sig; /* the signature, EVP_PKEY_get_size bytes */
	size_t sigcap;
	int arc_instance;  /* > 0: an ARC-Message-Signature of this instance */
	int have_headers;
	/* The folded h= tag of the last message, and what it was made from:
	 * messages from one source mostly sign the same names, and building
	 * the tag a name at a time was a visible part of an Ed25519 signature. */
	struct buf htag;
	const char *htag_names[DKIM_MAX_SIGNED_HEADERS];
	size_t htag_n, htag_col_in, htag_col_out;
};

static int valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

void dkim_signer_free(struct dkim_signer *s)
{
	if (!s)
		return;
	dkim_body_free(s->body);
	mailhdr_free(&s->h);
	buf_free(&s->hdr);
	EVP_MD_CTX_free(s->hmd);
	buf_free(&s->hcanon);
	buf_free(&s->prefix);
	buf_free(&s->field);
	buf_free(&s->sig64);
	buf_free(&s->htag);
	free(s->sig);
	free(s->domain);
	free(s->selector);
	free(s->identity);
	free(s);
}

/* Folding writer: pieces go on the current line while it stays under 76
 * columns, else on a new line after CRLF TAB.  A piece comes in up to
 * three parts (e.g. "d=", the domain, ";") so that building the field
 * needs no snprintf per tag: formatting was a measurable share of an
 * Ed25519 signature. */
struct folder {
	struct buf *b;
	size_t col;
};

static int put_parts(struct folder *f, const char *sep, const char *a, const char *b, const char *c)
{
	size_t al = strlen(a), bl = strlen(b), cl = strlen(c), pl = al + bl + cl, sl = strlen(sep);

	if (f->col + sl + pl > 76 && f->col > 1) {
		if (buf_append(f->b, "\r\n\t", 3) < 0)
			return -1;
		f->col = 1;
	} else {
		if (buf_append(f->b, sep, sl) < 0)
			return -1;
		f->col += sl;
	}
	f->col += pl;
	return buf_append(f->b, a, al) < 0 || buf_append(f->b, b, bl) < 0 || buf_append(f->b, c, cl) < 0 ? -1 : 0;
}

static int put_piece(struct folder *f, const char *sep, const char *piece)
{
	return put_parts(f, sep, piece, "", "");
}

/* "t=" and the decimal of v >= 0 and ";" into out[32]; snprintf cost
 * more than the rest of the tags together. */
static void fmt_tag_num(char *out, char tag, long long v)
{
	char digits[24];
	size_t n = 0, k = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	out[k++] = tag;
	out[k++] = '=';
	while (n)
		out[k++] = digits[--n];
	out[k++] = ';';
	out[k] = '\0';
}

/* The tags that are the same for every message this signer signs. */
static int build_prefix(struct dkim_signer *s)
{
	struct folder f = { &s->prefix, 0 };

	char inst[32];

	buf_reset(&s->prefix);
	if (s->arc_instance > 0)
		fmt_tag_num(inst, 'i', s->arc_instance);
	if (buf_puts(&s->prefix, s->arc_instance > 0 ? "ARC-Message-Signature:" : "DKIM-Signature:") < 0)
		return -1;
	f.col = s->prefix.len;
	if (put_piece(&f, " ", s->arc_instance > 0 ? inst : "v=1;") < 0 ||
	    put_piece(&f, " ", s->algo == DKIM_ALGO_RSA_SHA256 ? "a=rsa-sha256;" : "a=ed25519-sha256;") < 0 ||
	    put_parts(&f, " ", s->o.hcanon == DKIM_CANON_RELAXED ? "c=relaxed/" : "c=simple/",
		      s->o.bcanon == DKIM_CANON_RELAXED ? "relaxed;" : "simple;", "") < 0 ||
	    put_parts(&f, " ", "d=", s->domain, ";") < 0 || put_parts(&f, " ", "s=", s->selector, ";") < 0 ||
	    (s->identity && put_parts(&f, " ", "i=", s->identity, ";") < 0))
		return -1;
	s->prefix_col = f.col;
	return 0;
}

struct dkim_signer *dkim_signer_new(const struct dkim_sign_opts *o, struct dkim_privkey *key, char *err,
				    size_t errlen)
{
	struct dkim_signer *s;
	int id = key ? EVP_PKEY_get_base_id(key->pkey) : 0;

	if (!valid_name(o->domain) || !valid_name(o->selector)) {
		scop_err(err, errlen, "%s", "domain or selector missing or malformed");
		return NULL;
	}
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		scop_err(err, errlen, "%s", "signing key is neither RSA nor Ed25519");
		return NULL;
	}
	if (o->identity) {
		/* i= must sit in d= (or below it), or verifiers reject it. */
		const char *at = strrchr(o->identity, '@');
		size_t dl = strlen(o->domain), il = at ? strlen(at + 1) : 0;
		if (!at || strlen(o->identity) > 255 || strpbrk(o->identity, "; \t\r\n") ||
		    !((il == dl && strcasecmp(at + 1, o->domain) == 0) ||
		      (il > dl && at[il - dl] == '.' && strcasecmp(at + 1 + il - dl, o->domain) == 0))) {
			scop_err(err, errlen, "%s", "identity must be an address in the signing domain or below it");
			return NULL;
		}
	}
	if (!(s = calloc(1, sizeof(*s))))
		goto nomem;
	s->o = *o;
	s->key = key;
	s->algo = id == EVP_PKEY_ED25519 ? DKIM_ALGO_ED25519_SHA256 : DKIM_ALGO_RSA_SHA256;
	if (!(s->domain = strdup(o->domain)) || !(s->selector = strdup(o->selector)) ||
	    (o->identity && !(s->identity = strdup(o->identity))) ||
	    !(s->body = dkim_body_new_md(o->bcanon, -1, key->sha256)) || build_prefix(s) < 0)
		goto nomem;
	return s;
nomem:
	dkim_signer_free(s);
	scop_err(err, errlen, "%s", "out of memory");
	return NULL;
}

struct dkim_signer *dkim_signer_new_ams(const struct dkim_sign_opts *o, struct dkim_privkey *key, int instance,
					char *err, size_t errlen)
{
	struct dkim_signer *s;

	if (o->identity || instance < 1 || instance > DKIM_ARC_MAX_INSTANCE) {
		scop_err(err, errlen, "%s", "an ARC-Message-Signature has an instance, not an identity");
		return NULL;
	}
	if (!(s = dkim_signer_new(o, key, err, errlen)))
		return NULL;
	s->arc_instance = instance;
	if (build_prefix(s) < 0) {
		dkim_signer_free(s);
		scop_err(err, errlen, "%s", "out of memory");
		return NULL;
	}
	return s;
}

int dkim_signer_reset(struct dkim_signer *s)
{
	s->have_headers = 0;
	s->h.count = 0;
	return dkim_body_restart(s->body, s->o.bcanon, -1);
}

/* Splits hdr[len], which must last until the signature is made. */
static int take_headers(struct dkim_signer *s, const char *hdr, size_t len, char *err, size_t errlen)
{
	int rc;

	if ((rc = mailhdr_resplit(hdr, len, &s->h)) < 0)
		return scop_err(err, errlen, "%s", rc == MAILHDR_ENOMEM ? "out of memory" : "malformed header block");
	s->have_headers = 1;
	return 0;
}

int dkim_signer_headers(struct dkim_signer *s, const char *hdr, size_t len, char *err, size_t errlen)
{
	if (s->have_headers)
		return scop_err(err, errlen, "%s", "headers given twice");
	buf_reset(&s->hdr);
	if (buf_append(&s->hdr, hdr, len) < 0)
		return scop_err(err, errlen, "%s", "out of memory");
	return take_headers(s, s->hdr.data, len, err, errlen);
}

int dkim_signer_body(struct dkim_signer *s, const void *data, size_t n)
{
	return dkim_body_update(s->body, data, n);
}

int dkim_signer_finish(struct dkim_signer *s, struct buf *out, char *err, size_t errlen)
{
	const char *const *want = s->o.headers ? s->o.headers : default_headers;
	const char *names[DKIM_MAX_SIGNED_HEADERS];
	size_t nnames = 0;
	unsigned char bh[32], hh[32];
	char bh64[48], piece[32];
	struct buf *field = &s->field;
	struct folder f = { field, 0 };
	size_t siglen, start, from_count = 0, len64;
	long long t = s->o.timestamp;

	if (!s->have_headers)
		return scop_err(err, errlen, "%s", "no headers given");
	for (size_t i = 0; i < s->h.count; i++)
		from_count += mailhdr_name_is(&s->h.fields[i], "from");
	if (from_count == 0)
		return scop_err(err, errlen, "%s", "message has no From field");
	/* Each wanted name once per occurrence, plus once more so that a field
	 * added later in transit breaks the signature (RFC 6376 8.15). */
	for (size_t w = 0; want[w]; w++) {
		size_t count = 0, wl = strlen(want[w]);
		for (size_t i = 0; i < s->h.count; i++) {
			const struct mailhdr_field *hf = &s->h.fields[i];
			/* The first letter settles most pairs of equal length. */
			count += hf->name_len == wl && (hf->name[0] | 0x20) == (want[w][0] | 0x20) &&
				 strncasecmp(hf->name, want[w], wl) == 0;
		}
		if (count && !s->o.no_oversign)
			count++;
		for (size_t k = 0; k < count; k++) {
			if (nnames == DKIM_MAX_SIGNED_HEADERS)
				return scop_err(err, errlen, "%s", "too many header fields to sign");
			names[nnames++] = want[w];
		}
	}
	if (dkim_body_final(s->body, bh, NULL) < 0)
		return scop_err(err, errlen, "%s", "body hash failed");
	base64_encode(bh, 32, bh64, BASE64_PAD);
	if (t == 0)
		t = (long long)time(NULL);

	/* Room for a typical field up front, rather than growing it piece
	 * by piece; the fixed tags come ready-made. */
	buf_reset(field);
	if (buf_reserve(field, 1024) < 0 || buf_append(field, s->prefix.data, s->prefix.len) < 0)
		goto nomem;
	f.col = s->prefix_col;
	if (t > 0) {
		fmt_tag_num(piece, 't', t);
		if (put_piece(&f, " ", piece) < 0)
			goto nomem;
		if (s->o.expire_after > 0) {
			fmt_tag_num(piece, 'x', t + s->o.expire_after);
			if (put_piece(&f, " ", piece) < 0)
				goto nomem;
		}
	}
	if (nnames > 0 && nnames == s->htag_n && f.col == s->htag_col_in &&
	    memcmp(names, s->htag_names, nnames * sizeof(*names)) == 0) {
		if (buf_append(field, s->htag.data, s->htag.len) < 0)
			goto nomem;
		f.col = s->htag_col_out;
	} else {
		size_t from = field->len, col_in = f.col;
		for (size_t i = 0; i < nnames; i++) {
			if (put_parts(&f, i == 0 ? " " : "", i == 0 ? "h=" : "", names[i],
				      i + 1 < nnames ? ":" : ";") < 0)
				goto nomem;
		}
		buf_reset(&s->htag);
		s->htag_n = 0;
		if (buf_append(&s->htag, field->data + from, field->len - from) == 0) {
			memcpy(s->htag_names, names, nnames * sizeof(*names));
			s->htag_n = nnames;
			s->htag_col_in = col_in;
			s->htag_col_out = f.col;
		}
	}
	if (put_parts(&f, " ", "bh=", bh64, ";") < 0 || put_piece(&f, " ", "b=") < 0)
		goto nomem;

	if (!s->hmd && !(s->hmd = EVP_MD_CTX_new()))
		goto nomem;
	if (!s->sig) {
		s->sigcap = s->algo == DKIM_ALGO_ED25519_SHA256 ? 64 : (size_t)EVP_PKEY_get_size(s->key->pkey);
		if (!(s->sig = malloc(s->sigcap)))
			goto nomem;
	}
	siglen = s->sigcap;
	if (dkim_header_hash_ctx(s->o.hcanon, &s->h, names, nnames, field->data, field->len, s->key->sha256, s->hmd,
				 &s->hcanon, hh) < 0 ||
	    dkim_crypto_sign_buf(s->key, hh, s->sig, &siglen) < 0)
		return scop_err(err, errlen, "%s", "signing failed");
	buf_reset(&s->sig64);
	if (buf_reserve(&s->sig64, base64_encoded_len(siglen, BASE64_PAD) + 1) < 0)
		goto nomem;
	len64 = base64_encode(s->sig, siglen, s->sig64.data, BASE64_PAD);
	/* b= goes last and may be folded anywhere: a verifier removes all
	 * of its value, white space included. */
	for (start = 0; start < len64;) {
		size_t room = f.col < 75 ? 76 - f.col : 0, n = len64 - start;
		if (room == 0) {
			if (buf_append(field, "\r\n\t", 3) < 0)
				goto nomem;
			f.col = 1;
			continue;
		}
		if (n > room)
			n = room;
		if (buf_append(field, s->sig64.data + start, n) < 0)
			goto nomem;
		f.col += n;
		start += n;
	}
	if (buf_append(field, "\r\n", 2) < 0 || buf_append(out, field->data, field->len) < 0)
		goto nomem;
	return 0;
nomem:
	return scop_err(err, errlen, "%s", "out of memory");
}

int dkim_signer_message(struct dkim_signer *s, const char *msg, size_t len, struct buf *out, char *err,
			size_t errlen)
{
	if (dkim_signer_reset(s) < 0)
		return scop_err(err, errlen, "%s", "body hash failed");
	/* The split finds where the body starts; no copy of the header
	 * block, as msg lasts the call. */
	if (take_headers(s, msg, len, err, errlen) < 0)
		return -1;
	if (dkim_signer_body(s, msg + s->h.body_off, len - s->h.body_off) < 0)
		return scop_err(err, errlen, "%s", "body hash failed");
	return dkim_signer_finish(s, out, err, errlen);
}

int dkim_sign(const struct dkim_sign_opts *o, struct dkim_privkey *key, const char *msg, size_t len,
	      struct buf *out, char *err, size_t errlen)
{
	struct dkim_signer *s = dkim_signer_new(o, key, err, errlen);
	int rc = -1;

	if (!s)
		return -1;
	size_t body_off = mailhdr_body_off(msg, len);
	if (dkim_signer_headers(s, msg, body_off, err, errlen) < 0)
		goto out;
	if (dkim_signer_body(s, msg + body_off, len - body_off) < 0) {
		scop_err(err, errlen, "%s", "body hash failed");
		goto out;
	}
	rc = dkim_signer_finish(s, out, err, errlen);
out:
	dkim_signer_free(s);
	return rc;
}
