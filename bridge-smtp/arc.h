/* ARC, the Authenticated Received Chain (RFC 8617): verifying the chain
 * of ARC sets on a message, and sealing a message (adding the next set).
 *
 * An ARC set is three header fields with one instance number i=:
 * ARC-Authentication-Results (AAR: a copy of that hop's
 * Authentication-Results), ARC-Message-Signature (AMS: a DKIM signature
 * without v=, over the message as that hop saw it) and ARC-Seal (AS: a
 * signature over the ARC fields of every set up to its own, with relaxed
 * header canonicalization, and cv= saying what that hop found of the
 * chain before it).  Keys, canonicalization, tag lists and the crypto are
 * DKIM's (dkim.h); so are the two algorithms, rsa-sha256 and
 * ed25519-sha256.
 *
 * Verifying (RFC 8617 section 5.2) gives none (no ARC fields), pass or
 * fail.  Fail when: the sets are malformed (an instance outside 1..50, a
 * gap, a set lacking a field or having two of one); the newest seal says
 * cv=fail (the chain has ended); cv= breaks the rules (i=1 none, later
 * ones pass); the newest AMS does not verify; or any seal does not.  When
 * the newest AMS fails the seals are still checked, so the per-set
 * results tell "modified after the last hop" from "forged chain".  On a
 * pass, oldest_pass says how far back the AMSs still verify.  A key
 * lookup that failed for now makes a fail with temporary set, which a
 * receiver may answer with a 4xx instead of acting on it.
 *
 * Sealing (section 5.1) takes our Authentication-Results for the message
 * and the chain status our verification found, and writes the next set:
 * cv=none on a message without ARC, cv=pass on a passing chain, and on a
 * failing one cv=fail with a seal over our own set only (5.1.2).  A
 * chain whose newest seal already says cv=fail, or that has 50 sets, is
 * not extended.
 *
 * Both take a whole message in memory (raw, CRLF line endings), unlike
 * DKIM's streaming signer and verifier: ARC needs the header block twice
 * over and the body once, and the bridge holds the message anyway.
 *
 * Memory: a verifier is opaque and reusable (arc_verifier_message resets
 * it and keeps its buffers); its result belongs to it and lasts until the
 * next message.  struct arc_chain points into the message's header split.
 * Nothing here logs key material.
 *
 * Errors: 0, or -1 for bad arguments or no memory (with a reason in err
 * where there is one).  Verification problems are results, not errors.
 */
#ifndef SCOP_ARC_H
#define SCOP_ARC_H

#include <stddef.h>

#include "bridge-smtp/authres.h"
#include "bridge-smtp/dkim.h"
#include "bridge-smtp/mailhdr.h"
#include "common/buf.h"

#define ARC_MAX_INSTANCES 50

enum arc_status { ARC_NONE = 0, ARC_PASS, ARC_FAIL };
enum arc_cv { ARC_CV_NONE = 0, ARC_CV_PASS, ARC_CV_FAIL };

const char *arc_status_name(enum arc_status s); /* "none", "pass", "fail" */
const char *arc_cv_name(enum arc_cv cv);

/* ---- the ARC fields of a message (parsing untrusted input) ---- */

enum arc_kind { ARC_AAR = 0, ARC_AMS = 1, ARC_AS = 2 };

struct arc_chain {
	int count; /* the highest instance seen, 0 when there are no ARC fields */
	/* set[i][kind] for i in 1..count; NULL when missing */
	const struct mailhdr_field *set[ARC_MAX_INSTANCES + 1][3];
	int malformed;     /* the structure is broken (see reason) */
	char reason[128];
};

/* Collects the ARC fields of h by instance (the fields must outlive c).
 * A field whose instance cannot be read or is outside 1..50, two fields
 * of a kind for one instance, or a set missing a field (gaps included)
 * makes the chain malformed; count is still the highest instance read. */
void arc_chain_collect(const struct mailhdr *h, struct arc_chain *c);

/* The instance of an ARC-Authentication-Results value ("i=N; ..."), or -1. */
int arc_aar_instance(const char *value, size_t len);

/* An ARC-Seal value. */
struct arc_seal_tags {
	int instance;
	enum arc_cv cv;
	enum dkim_algo algo;
	char domain[256];
	char selector[256];
	long long t;          /* -1 when absent */
	unsigned char b[1024];
	size_t b_len;
	size_t b_start, b_end; /* what the hash leaves out: b='s value and the space around it */
};

/* Parses an ARC-Seal value: i=, cv=, a=, d=, s=, b= required, t=
 * optional, h= forbidden (RFC 8617 4.1.3), other tags ignored. */
int arc_seal_parse(const char *value, size_t len, struct arc_seal_tags *out, char *err, size_t errlen);

/* ---- verifying ---- */

struct arc_verify_opts {
	struct dns_resolver *dns;   /* keys at <s>._domainkey.<d> */
	struct dkim_keycache *keys; /* optional */
	const char *key_record;     /* when set, used for every signature instead of DNS */
	int no_oldest_pass;         /* skip checking the older AMSs (RFC 8617 5.2 step 5) */
};

struct arc_set_result {
	enum arc_cv cv;
	enum dkim_status ams, as;   /* DKIM_NONE: not checked */
	char ams_domain[256];
	char as_domain[256];
	char reason[96];            /* why the AMS or AS did not pass */
};

struct arc_result {
	enum arc_status status;
	int count;          /* N, the number of sets */
	int oldest_pass;    /* pass: 0 when every AMS verifies, else the lowest instance
			     * from which on all do; -1 when not checked */
	int temporary;      /* fail: a key lookup failed for now */
	char reason[160];   /* fail: why */
	struct arc_set_result sets[ARC_MAX_INSTANCES + 1]; /* [1..count] */
	struct arc_chain chain; /* the fields, pointing into the message */
};

struct arc_verifier;

struct arc_verifier *arc_verifier_new(const struct arc_verify_opts *o);
/* Verifies the chain of msg[len] (raw, CRLF line endings).  *res belongs
 * to v and lasts until the next call; its chain points into msg. */
int arc_verifier_message(struct arc_verifier *v, const char *msg, size_t len, const struct arc_result **res);
void arc_verifier_free(struct arc_verifier *v);

/* Adds "arc=<result>" to ar, with smtp.remote-ip (when remote_ip is not
 * NULL) and, on a pass, header.oldest-pass; a fail carries its reason. */
int arc_authres_add(struct authres *ar, const struct arc_result *r, const char *remote_ip);

/* ---- sealing ---- */

struct arc_seal_opts {
	const char *domain;   /* d= of the AMS and the AS */
	const char *selector; /* s= */
	/* Header names for the AMS's h=, NULL-terminated; NULL means DKIM's
	 * default set and DKIM-Signature.  Never ARC fields or
	 * Authentication-Results. */
	const char *const *headers;
	long long timestamp;  /* t=; 0 means now */
};

#define ARC_SEAL_SKIPPED 1

/* Seals msg[len]: appends the new set (ARC-Seal, ARC-Message-Signature,
 * ARC-Authentication-Results, each CRLF-terminated, to go on top of the
 * message) to out.  ar is our Authentication-Results for the message (its
 * authserv-id and results make the AAR; it should carry arc=), chain
 * what verifying the message's chain gave.  Returns 0, ARC_SEAL_SKIPPED
 * when the chain may not be extended (nothing appended), or -1. */
int arc_seal(const struct arc_seal_opts *o, struct dkim_privkey *key, const struct authres *ar,
	     enum arc_status chain, const char *msg, size_t len, struct buf *out, char *err, size_t errlen);

#endif
