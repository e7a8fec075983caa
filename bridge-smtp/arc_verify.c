/* ARC chain verification (RFC 8617 section 5.2). */
#include "bridge-smtp/arc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"

/* Body hashes by (canonicalization, l=): the AMSs of one chain mostly
 * share them. */
#define BODY_SLOTS 4

struct body_slot {
	enum dkim_canon canon;
	long long l;
	unsigned char digest[32];
	unsigned long long total;
};

struct arc_verifier {
	struct arc_verify_opts o;
	struct dkim_verify_opts ko; /* the same, for DKIM's key lookup */
	struct mailhdr h;
	const char *body;
	size_t body_len;
	struct dkim_arena arena;    /* h= names and b= of AMSs, per message */
	struct dkim_body *hasher;
	struct body_slot slots[BODY_SLOTS];
	size_t nslots;
	struct arc_seal_tags seals[ARC_MAX_INSTANCES + 1];
	EVP_MD_CTX *md;
	const EVP_MD *sha256;
	struct buf canon, field;
	struct arc_result res;
};

struct arc_verifier *arc_verifier_new(const struct arc_verify_opts *o)
{
	struct arc_verifier *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->o = *o;
	v->ko.dns = o->dns;
	v->ko.keys = o->keys;
	v->ko.key_record = o->key_record;
	v->sha256 = o->keys ? dkim_keycache_sha256(o->keys) : NULL;
	if (!(v->md = EVP_MD_CTX_new())) {
		free(v);
		return NULL;
	}
	return v;
}

void arc_verifier_free(struct arc_verifier *v)
{
	if (!v)
		return;
	mailhdr_free(&v->h);
	dkim_arena_free(&v->arena);
	dkim_body_free(v->hasher);
	EVP_MD_CTX_free(v->md);
	buf_free(&v->canon);
	buf_free(&v->field);
	free(v);
}

/* The body hash for c and l, from a slot or computed now; -1 on an
 * OpenSSL failure. */
static int body_hash(struct arc_verifier *v, enum dkim_canon c, long long l, const struct body_slot **out)
{
	struct body_slot *s;

	for (size_t i = 0; i < v->nslots; i++) {
		if (v->slots[i].canon == c && v->slots[i].l == l) {
			*out = &v->slots[i];
			return 0;
		}
	}
	s = &v->slots[v->nslots < BODY_SLOTS ? v->nslots++ : BODY_SLOTS - 1];
	s->canon = c;
	s->l = l;
	if (v->hasher ? dkim_body_restart(v->hasher, c, l) < 0 : !(v->hasher = dkim_body_new_md(c, l, v->sha256)))
		return -1;
	if (dkim_body_update(v->hasher, v->body, v->body_len) < 0 ||
	    dkim_body_final(v->hasher, s->digest, &s->total) < 0)
		return -1;
	*out = s;
	return 0;
}

/* The field f without b='s value: value offsets b_start..b_end. */
static int strip_b(struct buf *out, const struct mailhdr_field *f, size_t b_start, size_t b_end)
{
	size_t voff = (size_t)(f->value - f->raw);

	buf_reset(out);
	return buf_append(out, f->raw, voff + b_start) < 0 ||
	       buf_append(out, f->raw + voff + b_end, f->raw_len - voff - b_end) < 0 ? -1 : 0;
}

static enum dkim_status set_why(struct arc_set_result *sr, enum dkim_status st, const char *why)
{
	dkim_copy_str(sr->reason, sizeof(sr->reason), why);
	return st;
}

/* Verifies the AMS of instance i (as DKIM does, without v=). */
static enum dkim_status check_ams(struct arc_verifier *v, int i)
{
	const struct mailhdr_field *f = v->res.chain.set[i][ARC_AMS];
	struct arc_set_result *sr = &v->res.sets[i];
	struct dkim_result kr;
	struct dkim_sig sig;
	struct dkim_key local, *key;
	const struct body_slot *slot;
	unsigned char hh[32];
	enum dkim_status st;
	char err[96];
	int inst = 0;

	memset(&kr, 0, sizeof(kr));
	memset(&local, 0, sizeof(local));
	if (dkim_sig_parse_ams(f->value, f->value_len, &sig, &v->arena, &inst, err, sizeof(err)) < 0)
		return set_why(sr, DKIM_PERMERROR, err);
	dkim_copy_str(sr->ams_domain, sizeof(sr->ams_domain), sig.domain);
	for (size_t k = 0; k < sig.nheaders; k++) {
		if (strcmp(sig.headers[k], "arc-seal") == 0)
			return set_why(sr, DKIM_PERMERROR, "AMS h= lists ARC-Seal");
	}
	if (body_hash(v, sig.bcanon, sig.l, &slot) < 0)
		return set_why(sr, DKIM_TEMPERROR, "cannot hash the body");
	if (sig.l >= 0 && (unsigned long long)sig.l > slot->total)
		return set_why(sr, DKIM_PERMERROR, "AMS l= is longer than the body");
	if (!(key = dkim_key_lookup(&v->ko, sig.selector, sig.domain, &local, &kr)) ||
	    dkim_key_usable(key, sig.algo, &kr) < 0) {
		st = set_why(sr, kr.status, kr.reason);
		goto out;
	}
	if (!scop_ct_equal(slot->digest, 32, sig.bh, 32)) {
		st = set_why(sr, DKIM_FAIL, "AMS body hash mismatch");
		goto out;
	}
	if (strip_b(&v->field, f, sig.b_start, sig.b_end) < 0 ||
	    dkim_header_hash_ctx(sig.hcanon, &v->h, sig.headers, sig.nheaders, v->field.data, v->field.len,
				 v->sha256, v->md, &v->canon, hh) < 0) {
		st = set_why(sr, DKIM_TEMPERROR, "cannot hash the header");
		goto out;
	}
	st = dkim_crypto_verify(key, hh, sig.b, sig.b_len) == 0 ? DKIM_PASS
							   : set_why(sr, DKIM_FAIL, "AMS signature did not verify");
out:
	dkim_key_free(&local);
	return st;
}

/* Verifies the seal of instance i over sets 1..i. */
static enum dkim_status check_as(struct arc_verifier *v, int i)
{
	const struct arc_chain *c = &v->res.chain;
	const struct mailhdr_field *aar = c->set[i][ARC_AAR], *ams = c->set[i][ARC_AMS];
	const struct arc_seal_tags *st = &v->seals[i];
	struct arc_set_result *sr = &v->res.sets[i];
	struct dkim_result kr;
	struct dkim_key local, *key;
	unsigned char hh[32];
	enum dkim_status rc;

	memset(&kr, 0, sizeof(kr));
	memset(&local, 0, sizeof(local));
	if (!(key = dkim_key_lookup(&v->ko, st->selector, st->domain, &local, &kr)) ||
	    dkim_key_usable(key, st->algo, &kr) < 0) {
		rc = set_why(sr, kr.status, kr.reason);
		goto out;
	}
	if (strip_b(&v->field, c->set[i][ARC_AS], st->b_start, st->b_end) < 0 ||
	    arc_seal_hash(c, i - 1, aar->raw, aar->raw_len, ams->raw, ams->raw_len, v->field.data, v->field.len,
			  v->sha256, v->md, &v->canon, hh) < 0) {
		rc = set_why(sr, DKIM_TEMPERROR, "cannot hash the ARC set");
		goto out;
	}
	rc = dkim_crypto_verify(key, hh, st->b, st->b_len) == 0 ? DKIM_PASS
								: set_why(sr, DKIM_FAIL, "ARC-Seal did not verify");
out:
	dkim_key_free(&local);
	return rc;
}

/* "what i=N: why" (no i= when i is 0) as the chain's reason. */
static void chain_fail(struct arc_result *r, const char *what, int i, const char *why)
{
	if (r->status == ARC_FAIL)
		return; /* keep the first reason */
	r->status = ARC_FAIL;
	if (i > 0)
		snprintf(r->reason, sizeof(r->reason), "%s i=%d: %.100s", what, i, why);
	else
		snprintf(r->reason, sizeof(r->reason), "%s: %.100s", what, why);
}

int arc_verifier_message(struct arc_verifier *v, const char *msg, size_t len, const struct arc_result **out)
{
	struct arc_result *r = &v->res;
	int n;

	*out = r;
	dkim_arena_reset(&v->arena);
	v->nslots = 0;
	r->status = ARC_NONE;
	r->count = 0;
	r->oldest_pass = -1;
	r->temporary = 0;
	r->reason[0] = '\0';
	if (mailhdr_resplit(msg, len, &v->h) == MAILHDR_ENOMEM)
		return -1;
	/* A malformed header block leaves h empty: no chain to speak of. */
	v->body = v->h.count ? msg + v->h.body_off : msg;
	v->body_len = v->h.count ? len - v->h.body_off : 0;
	arc_chain_collect(&v->h, &r->chain);
	if ((n = r->count = r->chain.count) == 0 && !r->chain.malformed)
		return 0;
	for (int i = 1; i <= n; i++) {
		struct arc_set_result *sr = &r->sets[i];
		sr->cv = ARC_CV_NONE;
		sr->ams = sr->as = DKIM_NONE;
		sr->ams_domain[0] = sr->as_domain[0] = sr->reason[0] = '\0';
	}
	/* Structure (step 1 and 3): each set complete, instances 1..N. */
	if (r->chain.malformed) {
		chain_fail(r, "malformed chain", 0, r->chain.reason);
		return 0;
	}
	for (int i = n; i >= 1; i--) {
		const struct mailhdr_field *f = r->chain.set[i][ARC_AS];
		struct arc_set_result *sr = &r->sets[i];
		char err[96];

		if (arc_seal_parse(f->value, f->value_len, &v->seals[i], err, sizeof(err)) < 0) {
			sr->as = DKIM_PERMERROR;
			dkim_copy_str(sr->reason, sizeof(sr->reason), err);
			chain_fail(r, "ARC-Seal", i, err);
			return 0;
		}
		sr->cv = v->seals[i].cv;
		dkim_copy_str(sr->as_domain, sizeof(sr->as_domain), v->seals[i].domain);
		/* Step 2: a chain that an earlier hop declared failed has ended. */
		if (i == n && sr->cv == ARC_CV_FAIL) {
			chain_fail(r, "ARC-Seal", i, "cv=fail: the chain has ended");
			return 0;
		}
		if (sr->cv != (i == 1 ? ARC_CV_NONE : ARC_CV_PASS)) {
			chain_fail(r, "ARC-Seal", i, i == 1 ? "cv= is not none" : "cv= is not pass");
			return 0;
		}
	}
	/* Step 4: the newest AMS.  On failure the seals are checked all the
	 * same, to tell a message changed after the last hop from a forged
	 * chain; the result stays fail. */
	r->sets[n].ams = check_ams(v, n);
	if (r->sets[n].ams != DKIM_PASS) {
		r->temporary = r->sets[n].ams == DKIM_TEMPERROR;
		chain_fail(r, "ARC-Message-Signature", n, r->sets[n].reason);
	}
	/* Step 6: every seal, newest first. */
	for (int i = n; i >= 1; i--) {
		struct arc_set_result *sr = &r->sets[i];
		if ((sr->as = check_as(v, i)) != DKIM_PASS) {
			r->temporary |= sr->as == DKIM_TEMPERROR && r->status != ARC_FAIL;
			chain_fail(r, "ARC-Seal", i, sr->reason);
			break;
		}
	}
	if (r->status == ARC_FAIL)
		return 0;
	/* Step 5, after the seals (only a valid chain needs it): how far back
	 * the message still verifies. */
	if (!v->o.no_oldest_pass) {
		r->oldest_pass = 0;
		for (int i = n - 1; i >= 1; i--) {
			if ((r->sets[i].ams = check_ams(v, i)) != DKIM_PASS) {
				r->oldest_pass = i + 1;
				break;
			}
		}
	}
	r->status = ARC_PASS;
	return 0;
}

int arc_authres_add(struct authres *ar, const struct arc_result *r, const char *remote_ip)
{
	char op[16];

	if (authres_add(ar, "arc", arc_status_name(r->status), r->status == ARC_FAIL ? r->reason : NULL) < 0)
		return -1;
	if (remote_ip && authres_add_prop(ar, "smtp", "remote-ip", remote_ip) < 0)
		return -1;
	if (r->status == ARC_PASS && r->oldest_pass >= 0) {
		snprintf(op, sizeof(op), "%d", r->oldest_pass);
		if (authres_add_prop(ar, "header", "oldest-pass", op) < 0)
			return -1;
	}
	return 0;
}
