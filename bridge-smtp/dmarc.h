/* DMARC (RFC 7489): policy records, identifier alignment, and the
 * per-message result and disposition.
 *
 * dmarc_check() does the whole job for one message: it finds the record
 * (_dmarc.<From domain>; only when no v=DMARC1 record is there,
 * _dmarc.<organizational domain>; several records, or one without a
 * usable p=, mean no DMARC: RFC 7489 6.6.3), decides
 * whether SPF or DKIM passed *aligned* with the From domain, and says what
 * the policy asks for, after pct sampling.  The pieces are exposed for
 * tests and for callers that already hold a record.
 *
 * Memory: everything is in caller-owned structs of fixed size.
 * Errors: functions return 0 or -1 (bad arguments, a record that is not
 * DMARC, no memory); lookup trouble is a result (DMARC_RES_TEMPERROR).
 */
#ifndef SCOP_DMARC_H
#define SCOP_DMARC_H

#include <stddef.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/pubsuffix.h"

struct dns_resolver;

enum dmarc_policy {
	DMARC_POLICY_NONE = 0,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED = 0, /* same organizational domain */
	DMARC_ALIGN_STRICT,      /* the same name */
};

struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp;  /* subdomain policy; equal to p when absent */
	int has_sp;
	enum dmarc_align adkim, aspf;
	int pct;               /* 0..100 */
	int p_defaulted;       /* p= was missing or bad; p=none assumed because rua= is there (6.6.3) */
	unsigned long ri;
	char rua[512], ruf[512], fo[32];
};

/* Parses one TXT record.  -1 when it is not a DMARC1 record, or has no
 * usable p= and no rua= (then no DMARC processing applies). */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec, char *err, size_t errlen);

const char *dmarc_policy_name(enum dmarc_policy p);

/* 1 when domains a and b are aligned in the given mode, else 0. */
int dmarc_aligned(const struct psl *psl, const char *a, const char *b, enum dmarc_align mode);

enum dmarc_result {
	DMARC_RES_NONE = 0,   /* no (usable) policy record */
	DMARC_RES_PASS,
	DMARC_RES_FAIL,
	DMARC_RES_TEMPERROR,  /* record lookup failed for now */
	DMARC_RES_PERMERROR,  /* the From domain is unusable */
};

const char *dmarc_result_name(enum dmarc_result r); /* RFC 8601 names */

struct dmarc_input {
	const char *from_domain; /* domain of the RFC5322.From address */
	const char *spf_domain;  /* domain SPF checked (MAIL FROM, or HELO when MAIL FROM is empty) */
	int spf_pass;            /* SPF result was pass */
	const struct dkim_result *dkim; /* every DKIM result of the message */
	size_t ndkim;
	unsigned sample;         /* uniform in 0..99, for pct; the caller draws it */
};

struct dmarc_outcome {
	enum dmarc_result result;
	int have_record;
	struct dmarc_record rec;
	char record_domain[256]; /* where the record was found */
	char org_domain[256];    /* organizational domain of the From domain */
	char from_domain[256];
	enum dmarc_policy policy;      /* p, or sp for a subdomain */
	enum dmarc_policy disposition; /* what to apply, after pct */
	int sampled_out;               /* pct left this message out: policy softened */
	int dkim_aligned, spf_aligned;
	char dkim_domain[256];         /* the aligned passing d=, if any */
};

/* Applies a record found at record_domain (the From domain or its
 * organizational domain) to the message. */
int dmarc_evaluate(const struct psl *psl, const struct dmarc_record *rec, const char *record_domain,
		   const struct dmarc_input *in, struct dmarc_outcome *out);

/* Discovery and evaluation. */
int dmarc_check(struct dns_resolver *dns, const struct psl *psl, const struct dmarc_input *in,
		struct dmarc_outcome *out);

#endif
