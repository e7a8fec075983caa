/* DKIM verification of every signature of a message, body streamed. */
#include "bridge-smtp/dkim_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/dns.h"
#include "common/crypto.h"

/* One body hash per distinct (canonicalization, l=) pair: two
 * signatures with the same body settings share the work. */
struct body_slot {
	enum dkim_canon canon;
	long long l;
	struct dkim_body *body;
	unsigned char digest[32];
	unsigned long long total;
	int done;
};

struct sig_state {
	struct dkim_sig sig;
	int parsed;
	size_t field;  /* index of its DKIM-Signature field */
	size_t slot;
};

#define MAX_SLOTS 8

/* What lives for one message comes from the arena; what is kept between
 * messages (the field array, body hashers, the header hash context and
 * buffers) is reused, so a warmed-up verifier allocates nothing. */
struct dkim_verifier {
	struct dkim_verify_opts o;
	struct dkim_arena arena; /* header copy, signature states, results, h=, b= */
	struct mailhdr h;
	struct sig_state *sigs;
	struct dkim_result *res;
	size_t nsigs;
	struct body_slot slots[MAX_SLOTS];
	size_t nslots;
	struct dkim_body *bodies[MAX_SLOTS]; /* slot i hashes with bodies[i] */
	size_t nbodies;
	EVP_MD_CTX *hmd;     /* header hash */
	struct buf hcanon;   /* canonical header fields */
	struct buf field;    /* the DKIM-Signature field without b='s value */
	const EVP_MD *sha256; /* the key cache's, if any */
	size_t key_record_len;
	int have_headers, finished;
};

const char *dkim_status_name(enum dkim_status s)
{
	switch (s) {
	case DKIM_PASS: return "pass";
	case DKIM_FAIL: return "fail";
	case DKIM_NEUTRAL: return "neutral";
	case DKIM_POLICY: return "policy";
	case DKIM_TEMPERROR: return "temperror";
	case DKIM_PERMERROR: return "permerror";
	case DKIM_NONE: break;
	}
	return "none";
}

struct dkim_verifier *dkim_verifier_new(const struct dkim_verify_opts *o)
{
	struct dkim_verifier *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->o = *o;
	v->key_record_len = o->key_record ? strlen(o->key_record) : 0;
	v->sha256 = o->keys ? dkim_keycache_sha256(o->keys) : NULL;
	if (!v->o.max_signatures)
		v->o.max_signatures = 8;
	return v;
}

void dkim_verifier_reset(struct dkim_verifier *v)
{
	dkim_arena_reset(&v->arena);
	v->h.count = 0;
	v->sigs = NULL;
	v->res = NULL;
	v->nsigs = 0;
	v->nslots = 0;
	v->have_headers = 0;
	v->finished = 0;
}

void dkim_verifier_free(struct dkim_verifier *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nbodies; i++)
		dkim_body_free(v->bodies[i]);
	dkim_arena_free(&v->arena);
	mailhdr_free(&v->h);
	EVP_MD_CTX_free(v->hmd);
	buf_free(&v->hcanon);
	buf_free(&v->field);
	free(v);
}

static void set_result(struct dkim_result *r, enum dkim_status st, const char *why)
{
	r->status = st;
	dkim_copy_str(r->reason, sizeof(r->reason), why ? why : "");
}

static int is_sig_field(const struct mailhdr_field *f)
{
	return f->name_len == 14 && strncasecmp(f->name, "dkim-signature", 14) == 0;
}

/* A body hasher for the next slot: one kept from an earlier message,
 * restarted, or a new one. */
static struct dkim_body *slot_body(struct dkim_verifier *v, enum dkim_canon c, long long l)
{
	size_t i = v->nslots;

	if (i < v->nbodies)
		return dkim_body_restart(v->bodies[i], c, l) < 0 ? NULL : v->bodies[i];
	if (!(v->bodies[i] = dkim_body_new_md(c, l, v->sha256)))
		return NULL;
	v->nbodies++;
	return v->bodies[i];
}

/* Splits the header block hdr[len] (which must last until the results
 * are made) into v->h, and parses its signatures. */
static int take_headers(struct dkim_verifier *v, const char *hdr, size_t len)
{
	size_t n = 0;

	v->have_headers = 1;
	if (mailhdr_resplit(hdr, len, &v->h) == MAILHDR_ENOMEM)
		return -1;
	/* A malformed header block leaves h empty: the message then counts
	 * as unsigned, which is all a verifier can say of it. */
	for (size_t i = 0; i < v->h.count; i++)
		n += is_sig_field(&v->h.fields[i]);
	if (n == 0)
		return 0;
	if (!(v->sigs = dkim_arena_alloc(&v->arena, n * sizeof(*v->sigs))) ||
	    !(v->res = dkim_arena_alloc(&v->arena, n * sizeof(*v->res))))
		return -1;
	/* Each state is set below (the parse fills the dkim_sig in it);
	 * results start empty. */
	memset(v->res, 0, n * sizeof(*v->res));
	for (size_t i = 0; i < v->h.count; i++) {
		const struct mailhdr_field *f = &v->h.fields[i];
		struct sig_state *s;
		struct dkim_result *r;
		char err[128];

		if (!is_sig_field(f))
			continue;
		s = &v->sigs[v->nsigs];
		r = &v->res[v->nsigs++];
		s->field = i;
		s->parsed = 0;
		s->slot = 0;
		if (v->nsigs > v->o.max_signatures) {
			set_result(r, DKIM_NEUTRAL, "not checked: too many signatures");
			continue;
		}
		if (dkim_sig_parse_arena(f->value, f->value_len, &s->sig, &v->arena, err, sizeof(err)) < 0) {
			set_result(r, DKIM_PERMERROR, err);
			continue;
		}
		s->parsed = 1;
		r->algo = s->sig.algo;
		dkim_copy_str(r->domain, sizeof(r->domain), s->sig.domain);
		dkim_copy_str(r->selector, sizeof(r->selector), s->sig.selector);
		dkim_copy_str(r->identity, sizeof(r->identity), s->sig.identity);
		dkim_copy_str(r->b_prefix, sizeof(r->b_prefix), s->sig.b_prefix);
		for (s->slot = 0; s->slot < v->nslots; s->slot++) {
			if (v->slots[s->slot].canon == s->sig.bcanon && v->slots[s->slot].l == s->sig.l)
				break;
		}
		if (s->slot == v->nslots) {
			if (v->nslots == MAX_SLOTS) {
				s->parsed = 0;
				set_result(r, DKIM_NEUTRAL, "not checked: too many distinct body hashes");
				continue;
			}
			v->slots[s->slot].canon = s->sig.bcanon;
			v->slots[s->slot].l = s->sig.l;
			if (!(v->slots[s->slot].body = slot_body(v, s->sig.bcanon, s->sig.l)))
				return -1;
			v->nslots++;
		}
	}
	return 0;
}

int dkim_verifier_headers(struct dkim_verifier *v, const char *hdr, size_t len)
{
	char *copy;

	if (v->have_headers)
		return -1;
	v->have_headers = 1;
	if (!(copy = dkim_arena_alloc(&v->arena, len + 1)))
		return -1;
	memcpy(copy, hdr, len);
	return take_headers(v, copy, len);
}

int dkim_verifier_body(struct dkim_verifier *v, const void *data, size_t n)
{
	for (size_t i = 0; i < v->nslots; i++) {
		if (dkim_body_update(v->slots[i].body, data, n) < 0)
			return -1;
	}
	return 0;
}

/* Parses rec into local, or finds it in the cache; NULL on a bad record
 * (with r set). */
static struct dkim_key *use_record(const struct dkim_verify_opts *o, const char *rec, size_t len,
				   struct dkim_key *local, struct dkim_result *r)
{
	struct dkim_key *k;
	char err[128];

	if (o->keys && (k = dkim_keycache_get(o->keys, rec, len)))
		return k;
	if (dkim_key_parse(rec, len, local, err, sizeof(err)) < 0) {
		set_result(r, DKIM_PERMERROR, err);
		return NULL;
	}
	if (o->keys && (k = dkim_keycache_put(o->keys, rec, len, local)))
		return k;
	return local;
}

/* Fetches the key: from the fixed record (key_record_len bytes), or DNS.
 * On failure sets r and returns NULL. */
static struct dkim_key *get_key(const struct dkim_verify_opts *o, size_t key_record_len, const char *selector,
				const char *domain, struct dkim_key *local, struct dkim_result *r)
{
	struct dkim_key *k = NULL;
	char name[600];
	struct dns_result dr;

	if (o->key_record)
		return use_record(o, o->key_record, key_record_len, local, r);
	if (!o->dns) {
		set_result(r, DKIM_TEMPERROR, "no resolver for the key lookup");
		return NULL;
	}
	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	memset(&dr, 0, sizeof(dr));
	if (dns_lookup(o->dns, name, DNS_TXT, &dr) < 0) {
		set_result(r, DKIM_TEMPERROR, "key lookup failed");
		return NULL;
	}
	if (dr.status == DNS_TEMPFAIL || dr.security == DNS_SEC_BOGUS) {
		set_result(r, DKIM_TEMPERROR, "key lookup failed temporarily");
	} else if (dr.status != DNS_OK || dr.count == 0) {
		set_result(r, DKIM_PERMERROR, "no key record");
	} else {
		/* Several records at one name: take the first that parses. */
		for (size_t i = 0; i < dr.count && !k; i++)
			k = use_record(o, dr.records[i].text, dr.records[i].len, local, r);
	}
	dns_result_free(&dr);
	return k;
}

struct dkim_key *dkim_key_lookup(const struct dkim_verify_opts *o, const char *selector, const char *domain,
				 struct dkim_key *local, struct dkim_result *r)
{
	return get_key(o, o->key_record ? strlen(o->key_record) : 0, selector, domain, local, r);
}

int dkim_key_usable(const struct dkim_key *key, enum dkim_algo algo, struct dkim_result *r)
{
	if (key->revoked)
		set_result(r, DKIM_PERMERROR, "key revoked");
	else if (key->algo != algo)
		set_result(r, DKIM_PERMERROR, "key type does not match a=");
	else if (!key->sha256_ok)
		set_result(r, DKIM_PERMERROR, "key h= does not allow sha256");
	else if (!key->email_ok)
		set_result(r, DKIM_PERMERROR, "key s= does not allow email");
	else
		return 0;
	return -1;
}

static void check_one(struct dkim_verifier *v, struct sig_state *s, struct dkim_result *r)
{
	const struct dkim_sig *sig = &s->sig;
	struct body_slot *slot = &v->slots[s->slot];
	struct dkim_key local, *key;
	struct buf *stripped = &v->field;
	const struct mailhdr_field *f = &v->h.fields[s->field];
	unsigned char hh[32];
	size_t voff;
	long long now = v->o.now ? v->o.now : (long long)time(NULL);

	memset(&local, 0, sizeof(local));
	if (sig->x >= 0 && sig->x < now) {
		set_result(r, DKIM_FAIL, "signature expired");
		return;
	}
	if (sig->l >= 0 && (unsigned long long)sig->l > slot->total) {
		set_result(r, DKIM_PERMERROR, "l= is longer than the body");
		return;
	}
	/* The key comes before the hashes: its t=y changes what a failure means. */
	if (!(key = get_key(&v->o, v->key_record_len, sig->selector, sig->domain, &local, r)))
		return;
	r->testing = key->testing;
	if (dkim_key_usable(key, sig->algo, r) < 0)
		goto out;
	if (key->strict) {
		const char *at = strrchr(sig->identity, '@');
		if (!at || strcasecmp(at + 1, sig->domain) != 0) {
			set_result(r, DKIM_PERMERROR, "key t=s forbids an i= subdomain");
			goto out;
		}
	}
	if (!scop_ct_equal(slot->digest, 32, sig->bh, 32)) {
		set_result(r, DKIM_FAIL, "body hash mismatch");
		goto out;
	}
	/* The field without b='s value, from the offsets the parse kept
	 * (dkim_strip_b would parse the tag list again). */
	voff = (size_t)(f->value - f->raw);
	buf_reset(stripped);
	if ((!v->hmd && !(v->hmd = EVP_MD_CTX_new())) ||
	    buf_append(stripped, f->raw, voff + sig->b_start) < 0 ||
	    buf_append(stripped, f->raw + voff + sig->b_end, f->raw_len - voff - sig->b_end) < 0 ||
	    dkim_header_hash_ctx(sig->hcanon, &v->h, sig->headers, sig->nheaders, stripped->data, stripped->len,
				 v->sha256, v->hmd, &v->hcanon, hh) < 0) {
		set_result(r, DKIM_PERMERROR, "cannot hash the header");
		goto out;
	}
	if (dkim_crypto_verify(key, hh, sig->b, sig->b_len) < 0) {
		set_result(r, DKIM_FAIL, "signature did not verify");
		goto out;
	}
	if (sig->l >= 0 && (unsigned long long)sig->l < slot->total) {
		r->partial_body = 1;
		if (v->o.reject_partial_body) {
			set_result(r, DKIM_POLICY, "l= leaves part of the body unsigned");
			goto out;
		}
		set_result(r, DKIM_PASS, "l= leaves part of the body unsigned");
		goto out;
	}
	set_result(r, DKIM_PASS, NULL);
out:
	/* A key in testing mode: failures are reported, but must not count
	 * against the message (RFC 6376 3.6.1). */
	if (r->testing && r->status != DKIM_PASS && r->status != DKIM_POLICY) {
		char why[sizeof(r->reason)];
		snprintf(why, sizeof(why), "testing mode: %.140s", r->reason);
		set_result(r, DKIM_NEUTRAL, why);
	}
	dkim_key_free(&local);
}

int dkim_verifier_finish(struct dkim_verifier *v, const struct dkim_result **res, size_t *count)
{
	if (!v->have_headers)
		return -1;
	if (!v->finished) {
		v->finished = 1;
		for (size_t i = 0; i < v->nslots; i++) {
			if (dkim_body_final(v->slots[i].body, v->slots[i].digest, &v->slots[i].total) < 0)
				return -1;
		}
		for (size_t i = 0; i < v->nsigs; i++) {
			if (v->sigs[i].parsed)
				check_one(v, &v->sigs[i], &v->res[i]);
		}
	}
	*res = v->res;
	*count = v->nsigs;
	return 0;
}

int dkim_verifier_message(struct dkim_verifier *v, const char *msg, size_t len, const struct dkim_result **res,
			  size_t *count)
{
	size_t body_off;

	*res = NULL;
	*count = 0;
	dkim_verifier_reset(v);
	/* No copy of the header block: msg outlives the call.  The split
	 * finds where the body starts; a malformed block has no signatures
	 * to check, and so needs no body. */
	if (take_headers(v, msg, len) < 0)
		return -1;
	body_off = v->h.count ? v->h.body_off : len;
	if (dkim_verifier_body(v, msg + body_off, len - body_off) < 0)
		return -1;
	return dkim_verifier_finish(v, res, count);
}

int dkim_verify(const struct dkim_verify_opts *o, const char *msg, size_t len,
		struct dkim_result **res, size_t *count)
{
	struct dkim_verifier *v = dkim_verifier_new(o);
	const struct dkim_result *r;
	size_t body_off = mailhdr_body_off(msg, len);
	int rc = -1;

	*res = NULL;
	*count = 0;
	if (!v)
		return -1;
	if (dkim_verifier_headers(v, msg, body_off) < 0 ||
	    dkim_verifier_body(v, msg + body_off, len - body_off) < 0 ||
	    dkim_verifier_finish(v, &r, count) < 0)
		goto out;
	if (*count) {
		if (!(*res = malloc(*count * sizeof(**res))))
			goto out;
		memcpy(*res, r, *count * sizeof(**res));
	}
	rc = 0;
out:
	dkim_verifier_free(v);
	return rc;
}
