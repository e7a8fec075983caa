/* ARC sealing (RFC 8617 section 5.1): the next ARC set for a message. */
#include "bridge-smtp/arc_int.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/base64.h"

/* DKIM's default set, plus the DKIM signatures the message arrived with
 * (RFC 8617 4.1.2 suggests them).  Never ARC fields, nor
 * Authentication-Results, which later hops may rewrite. */
static const char *const default_headers[] = {
	"from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", "list-id", "dkim-signature", NULL,
};

static int forbidden_name(const char *name)
{
	return strncasecmp(name, "arc-", 4) == 0 || strcasecmp(name, "authentication-results") == 0;
}

/* "ARC-Authentication-Results: i=N; " and our field after its name. */
static int build_aar(const struct authres *ar, int instance, struct buf *aar)
{
	struct buf tmp = BUF_INIT;
	const char *prefix = "Authentication-Results: ";
	size_t pl = strlen(prefix);
	int rc = -1;

	if (authres_write(ar, &tmp) < 0 || tmp.len < pl || memcmp(tmp.data, prefix, pl) != 0)
		goto out;
	if (buf_printf(aar, "ARC-Authentication-Results: i=%d; ", instance) < 0 ||
	    buf_append(aar, tmp.data + pl, tmp.len - pl) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&tmp);
	return rc;
}

/* "ARC-Seal: i=..; a=..; t=..; cv=..;\r\n\td=..; s=..;\r\n\tb=": what the
 * seal's hash covers; the signature is then appended. */
static int build_as(struct buf *as, int instance, enum dkim_algo algo, long long t, enum arc_cv cv,
		    const char *domain, const char *selector)
{
	return buf_printf(as, "ARC-Seal: i=%d; a=%s; t=%lld; cv=%s;\r\n\td=%s; s=%s;\r\n\tb=", instance,
			  algo == DKIM_ALGO_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256", t, arc_cv_name(cv),
			  domain, selector);
}

/* b= in base64, folded after 72 characters a line. */
static int append_b64(struct buf *out, const unsigned char *sig, size_t siglen)
{
	size_t n = base64_encoded_len(siglen, BASE64_PAD);
	char *b64;
	int rc = -1;

	if (!(b64 = malloc(n + 1)))
		return -1;
	n = base64_encode(sig, siglen, b64, BASE64_PAD);
	for (size_t i = 0; i < n; i += 72) {
		size_t k = n - i < 72 ? n - i : 72;
		if ((i && buf_append(out, "\r\n\t ", 4) < 0) || buf_append(out, b64 + i, k) < 0)
			goto out;
	}
	rc = buf_append(out, "\r\n", 2);
out:
	free(b64);
	return rc;
}

int arc_seal(const struct arc_seal_opts *o, struct dkim_privkey *key, const struct authres *ar,
	     enum arc_status chain, const char *msg, size_t len, struct buf *out, char *err, size_t errlen)
{
	struct mailhdr h = { 0 };
	struct arc_chain c;
	struct dkim_sign_opts so;
	struct dkim_signer *signer = NULL;
	struct buf aar = BUF_INIT, ams = BUF_INIT, as = BUF_INIT, scratch = BUF_INIT;
	EVP_MD_CTX *md = NULL;
	unsigned char hh[32], *sig = NULL;
	size_t siglen = 0;
	enum arc_cv cv;
	enum dkim_algo algo;
	long long t = o->timestamp ? o->timestamp : (long long)time(NULL);
	size_t out_len = out->len;
	int n, rc = -1, hrc;

	if (!key || !ar || !o->domain || !o->selector)
		return scop_err(err, errlen, "%s", "key, Authentication-Results, domain and selector are needed");
	for (const char *const *p = o->headers; p && *p; p++) {
		if (forbidden_name(*p))
			return scop_err(err, errlen, "the AMS must not sign %s", *p);
	}
	if ((hrc = mailhdr_split(msg, len, &h)) < 0)
		return scop_err(err, errlen, "%s", hrc == MAILHDR_ENOMEM ? "out of memory" : "malformed header block");
	arc_chain_collect(&h, &c);
	n = c.count;
	if (n > 0 && c.set[n][ARC_AS]) {
		struct arc_seal_tags top;
		if (arc_seal_parse(c.set[n][ARC_AS]->value, c.set[n][ARC_AS]->value_len, &top, NULL, 0) == 0 &&
		    top.cv == ARC_CV_FAIL) {
			rc = ARC_SEAL_SKIPPED; /* the chain has ended (5.1 step 1) */
			goto out;
		}
	}
	if (n >= ARC_MAX_INSTANCES) {
		rc = ARC_SEAL_SKIPPED;
		goto out;
	}
	if (n == 0) {
		cv = chain == ARC_FAIL ? ARC_CV_FAIL : ARC_CV_NONE;
	} else if (chain == ARC_NONE) {
		scop_err(err, errlen, "%s", "chain status none for a message with ARC sets");
		goto out;
	} else {
		cv = chain == ARC_PASS ? ARC_CV_PASS : ARC_CV_FAIL;
	}

	/* AAR */
	if (build_aar(ar, n + 1, &aar) < 0) {
		scop_err(err, errlen, "%s", "cannot write the ARC-Authentication-Results field");
		goto out;
	}
	/* AMS: a DKIM signature of the message as it is here. */
	memset(&so, 0, sizeof(so));
	so.domain = o->domain;
	so.selector = o->selector;
	so.hcanon = so.bcanon = DKIM_CANON_RELAXED;
	so.headers = o->headers ? o->headers : default_headers;
	so.timestamp = t;
	if (!(signer = dkim_signer_new_ams(&so, key, n + 1, err, errlen)) ||
	    dkim_signer_message(signer, msg, len, &ams, err, errlen) < 0)
		goto out;
	/* AS: over every set and ours, or ours alone on a failed chain (5.1.2). */
	algo = EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_ED25519 ? DKIM_ALGO_ED25519_SHA256 : DKIM_ALGO_RSA_SHA256;
	if (build_as(&as, n + 1, algo, t, cv, o->domain, o->selector) < 0 || !(md = EVP_MD_CTX_new())) {
		scop_err(err, errlen, "%s", "out of memory");
		goto out;
	}
	if (arc_seal_hash(&c, cv == ARC_CV_FAIL ? 0 : n, aar.data, aar.len, ams.data, ams.len, as.data, as.len,
			  key->sha256, md, &scratch, hh) < 0 ||
	    dkim_crypto_sign(key, hh, &sig, &siglen) < 0) {
		scop_err(err, errlen, "%s", "sealing failed");
		goto out;
	}
	if (append_b64(&as, sig, siglen) < 0 || buf_append(out, as.data, as.len) < 0 ||
	    buf_append(out, ams.data, ams.len) < 0 || buf_append(out, aar.data, aar.len) < 0) {
		out->len = out_len; /* nothing half-written */
		scop_err(err, errlen, "%s", "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(sig);
	EVP_MD_CTX_free(md);
	dkim_signer_free(signer);
	buf_free(&aar);
	buf_free(&ams);
	buf_free(&as);
	buf_free(&scratch);
	mailhdr_free(&h);
	return rc;
}
