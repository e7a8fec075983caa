/* The ARC fields of a message: collecting them into sets by instance,
 * parsing ARC-Seal values, and the hash a seal signs. */
#include "bridge-smtp/arc_int.h"
#include "bridge-smtp/dkim_tags.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

static const char *const kind_name[3] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal",
};

const char *arc_status_name(enum arc_status s)
{
	return s == ARC_PASS ? "pass" : s == ARC_FAIL ? "fail" : "none";
}

const char *arc_cv_name(enum arc_cv cv)
{
	return cv == ARC_CV_PASS ? "pass" : cv == ARC_CV_FAIL ? "fail" : "none";
}

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 1..50 from digits s[n] (no sign, at most two significant digits), or -1. */
static int instance_num(const char *s, size_t n)
{
	int v = 0;

	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= ARC_MAX_INSTANCES ? v : -1;
}

int arc_aar_instance(const char *value, size_t len)
{
	size_t i = 0, s;

	/* arc-info = "i" [FWS] "=" [FWS] 1*DIGIT [FWS] ";" (RFC 8617 4.1.1) */
	while (i < len && is_fws(value[i]))
		i++;
	if (i == len || value[i++] != 'i')
		return -1;
	while (i < len && is_fws(value[i]))
		i++;
	if (i == len || value[i++] != '=')
		return -1;
	while (i < len && is_fws(value[i]))
		i++;
	s = i;
	while (i < len && value[i] >= '0' && value[i] <= '9')
		i++;
	{
		int n = instance_num(value + s, i - s);
		while (i < len && is_fws(value[i]))
			i++;
		return i < len && value[i] == ';' ? n : -1;
	}
}

/* The i= of an AMS or AS value, or -1. */
static int tag_instance(const char *value, size_t len)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;

	if (dkim_tags_parse(value, len, &tl, NULL, 0) < 0 || !(t = dkim_tags_get(&tl, "i")))
		return -1;
	return instance_num(t->value, t->value_len);
}

enum { BAD_INSTANCE, DUPLICATE, MISSING };

static void set_malformed(struct arc_chain *c, int why, int kind, int i)
{
	if (c->malformed)
		return; /* the first problem is the one to report */
	c->malformed = 1;
	if (why == BAD_INSTANCE)
		snprintf(c->reason, sizeof(c->reason), "%s without a valid instance (1..50)", kind_name[kind]);
	else
		snprintf(c->reason, sizeof(c->reason), why == DUPLICATE ? "two %s fields with i=%d" : "no %s with i=%d",
			 kind_name[kind], i);
}

void arc_chain_collect(const struct mailhdr *h, struct arc_chain *c)
{
	c->count = 0;
	c->malformed = 0;
	c->reason[0] = '\0';
	memset(c->set, 0, sizeof(c->set));
	for (size_t k = 0; k < h->count; k++) {
		const struct mailhdr_field *f = &h->fields[k];
		int kind, i;

		if (f->name_len < 8 || (f->name[0] | 0x20) != 'a')
			continue; /* the common case, cheaply */
		if (mailhdr_name_is(f, "arc-authentication-results"))
			kind = ARC_AAR;
		else if (mailhdr_name_is(f, "arc-message-signature"))
			kind = ARC_AMS;
		else if (mailhdr_name_is(f, "arc-seal"))
			kind = ARC_AS;
		else
			continue;
		i = kind == ARC_AAR ? arc_aar_instance(f->value, f->value_len) : tag_instance(f->value, f->value_len);
		if (i < 0) {
			set_malformed(c, BAD_INSTANCE, kind, 0);
			continue;
		}
		if (c->set[i][kind]) {
			set_malformed(c, DUPLICATE, kind, i);
			continue;
		}
		c->set[i][kind] = f;
		if (i > c->count)
			c->count = i;
	}
	for (int i = 1; i <= c->count; i++) {
		for (int kind = 0; kind < 3; kind++) {
			if (!c->set[i][kind])
				set_malformed(c, MISSING, kind, i);
		}
	}
}

/* The a= algorithms ARC takes: DKIM's. */
static int parse_algo(const struct dkim_tag *t, enum dkim_algo *out)
{
	if (dkim_tag_is(t, "rsa-sha256"))
		*out = DKIM_ALGO_RSA_SHA256;
	else if (dkim_tag_is(t, "ed25519-sha256"))
		*out = DKIM_ALGO_ED25519_SHA256;
	else
		return -1;
	return 0;
}

int arc_seal_parse(const char *value, size_t len, struct arc_seal_tags *out, char *err, size_t errlen)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	char why[64];
	long b;

	out->instance = 0;
	out->cv = ARC_CV_NONE;
	out->domain[0] = out->selector[0] = '\0';
	out->t = -1;
	out->b_len = out->b_start = out->b_end = 0;
	if (dkim_tags_parse(value, len, &tl, why, sizeof(why)) < 0)
		return scop_err(err, errlen, "ARC-Seal: bad tag list: %s", why);
	if (!(t = dkim_tags_get(&tl, "i")) || (out->instance = instance_num(t->value, t->value_len)) < 0)
		return scop_err(err, errlen, "%s", "ARC-Seal: i= missing or not 1..50");
	if (dkim_tags_get(&tl, "h"))
		return scop_err(err, errlen, "%s", "ARC-Seal: h= is not allowed");
	t = dkim_tags_get(&tl, "cv");
	if (dkim_tag_is(t, "none"))
		out->cv = ARC_CV_NONE;
	else if (dkim_tag_is(t, "pass"))
		out->cv = ARC_CV_PASS;
	else if (dkim_tag_is(t, "fail"))
		out->cv = ARC_CV_FAIL;
	else
		return scop_err(err, errlen, "%s", "ARC-Seal: cv= missing or unknown");
	if (parse_algo(dkim_tags_get(&tl, "a"), &out->algo) < 0)
		return scop_err(err, errlen, "%s", "ARC-Seal: a= missing or unknown");
	if (!(t = dkim_tags_get(&tl, "d")) || dkim_tag_copy_name(t, out->domain, sizeof(out->domain), 1) < 0)
		return scop_err(err, errlen, "%s", "ARC-Seal: d= missing or malformed");
	if (!(t = dkim_tags_get(&tl, "s")) || dkim_tag_copy_name(t, out->selector, sizeof(out->selector), 0) < 0)
		return scop_err(err, errlen, "%s", "ARC-Seal: s= missing or malformed");
	if ((t = dkim_tags_get(&tl, "t"))) {
		long long v = 0;
		if (t->value_len == 0 || t->value_len > 18)
			return scop_err(err, errlen, "%s", "ARC-Seal: t= malformed");
		for (size_t i = 0; i < t->value_len; i++) {
			if (t->value[i] < '0' || t->value[i] > '9')
				return scop_err(err, errlen, "%s", "ARC-Seal: t= malformed");
			v = v * 10 + (t->value[i] - '0');
		}
		out->t = v;
	}
	if (!(t = dkim_tags_get(&tl, "b")) || (b = dkim_b64_fws_decode(t->value, t->value_len, out->b, sizeof(out->b))) <= 0)
		return scop_err(err, errlen, "%s", "ARC-Seal: b= missing, not base64 or too long");
	out->b_len = (size_t)b;
	/* As for DKIM: from just after "b=" to the end of the tag-spec. */
	out->b_start = t->value_off;
	while (out->b_start > 0 && value[out->b_start - 1] != '=')
		out->b_start--;
	out->b_end = t->end_off;
	return 0;
}

int arc_seal_hash(const struct arc_chain *c, int prior, const char *aar, size_t aar_len, const char *ams,
		  size_t ams_len, const char *as, size_t as_len, const EVP_MD *sha256, EVP_MD_CTX *md,
		  struct buf *b, unsigned char digest[32])
{
	unsigned int dl = 0;

	buf_reset(b);
	for (int i = 1; i <= prior; i++) {
		for (int kind = 0; kind < 3; kind++) {
			const struct mailhdr_field *f = c->set[i][kind];
			if (!f || dkim_canon_header(DKIM_CANON_RELAXED, f->raw, f->raw_len, b) < 0)
				return -1;
		}
	}
	if (dkim_canon_header(DKIM_CANON_RELAXED, aar, aar_len, b) < 0 ||
	    dkim_canon_header(DKIM_CANON_RELAXED, ams, ams_len, b) < 0 ||
	    dkim_canon_header(DKIM_CANON_RELAXED, as, as_len, b) < 0 || b->len < 2)
		return -1;
	/* The seal itself goes in without the CRLF its canonical form ends in. */
	if (EVP_DigestInit_ex(md, sha256 ? sha256 : EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, b->data, b->len - 2) != 1 || EVP_DigestFinal_ex(md, digest, &dl) != 1 || dl != 32)
		return -1;
	return 0;
}
