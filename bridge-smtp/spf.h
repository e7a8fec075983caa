/* SPF (RFC 7208): the record parser, macro expansion and check_host().
 *
 * spf_record_parse() turns the text of one "v=spf1" TXT record into a
 * struct spf_record without any DNS; it accepts exactly the ABNF of RFC
 * 7208 section 12 (plus its section 4.6 rules: redirect and exp at most
 * once, unknown mechanisms are errors, unknown modifiers are ignored).
 * Macros are checked there but expanded only during evaluation.
 *
 * spf_check_host() evaluates check_host(ip, domain, sender) through a
 * struct dns_resolver (dns.h), with the limits of section 4.6.4: at most
 * 10 terms that cause DNS queries (include, a, mx, ptr, exists, redirect),
 * at most 2 "void" lookups (NXDOMAIN or no records), at most 10 MX names
 * (more is permerror) and 10 PTR names (the rest ignored).  A bogus DNSSEC
 * answer is a DNS_TEMPFAIL and so a temperror.
 *
 * Memory: a struct spf_record is freed with spf_record_free(); a struct
 * spf_outcome owns its explanation, freed by spf_outcome_free().
 */
#ifndef SCOP_SPF_H
#define SCOP_SPF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/dns.h"

enum spf_result {
	SPF_NONE = 0,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror":
 * the words Received-SPF (RFC 7208 section 9.1) and Authentication-Results
 * (RFC 8601) use. */
const char *spf_result_name(enum spf_result r);

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech mech;
	enum spf_result qualifier;  /* PASS, FAIL, SOFTFAIL or NEUTRAL */
	char *domain_spec;          /* unexpanded macro-string; NULL if absent */
	int cidr4, cidr6;           /* prefix lengths; 32 and 128 when absent */
	uint8_t addr[16];           /* ip4 (first 4 bytes) or ip6 network */
	char *text;                 /* the term as written, for reports */
};

struct spf_record {
	struct spf_term *terms;     /* directives, in order */
	size_t count;
	char *redirect;             /* domain-spec of redirect=, or NULL */
	char *exp;                  /* domain-spec of exp=, or NULL */
	int has_all;                /* an "all" directive is present */
};

/* Is text (len bytes) an SPF version 1 record ("v=spf1" followed by a
 * space or the end, case-insensitive)? */
int spf_is_record(const char *text, size_t len);

/* Parses a record.  Returns 0 and a new record in *out, or -1 with a
 * one-line reason in err (err may be NULL) for a syntax error (a
 * permerror), or -2 when memory runs out.  Input may contain any bytes. */
int spf_record_parse(const char *text, size_t len, struct spf_record **out, char *err, size_t errlen);
void spf_record_free(struct spf_record *rec);

/* Checks a macro-string (RFC 7208 section 7.1) without expanding it;
 * is_exp allows the c, r and t letters, which only explanations may use.
 * Returns 0 if valid, -1 if not. */
int spf_macro_check(const char *s, size_t len, int is_exp);

/* What a macro expansion can refer to.  ip is 4 or 16 bytes (family 4/6). */
struct spf_request {
	int family;
	uint8_t ip[16];
	const char *domain;       /* the domain being checked (current <domain>) */
	const char *sender;       /* MAIL FROM, or postmaster@HELO */
	const char *helo;         /* HELO/EHLO name, may be NULL ("unknown") */
	const char *receiver;     /* our host name for %{r}; NULL: "unknown" */
	time_t now;               /* for %{t}; 0 means time(NULL) */
};

/* Expands macro-string s (len bytes) for req with domain d as %{d} and the
 * validated name p as %{p} (NULL: "unknown").  Returns a malloc()ed string,
 * or NULL for a syntax error or if out of memory. */
char *spf_macro_expand(const char *s, size_t len, const struct spf_request *req,
	const char *d, const char *p, int is_exp);

struct spf_outcome {
	enum spf_result result;
	char mechanism[128];   /* the matching directive ("-all", "include:x"),
	                        * "default" when none matched, or "" on error */
	char *explanation;     /* for fail: the expanded exp= text, else NULL */
	char problem[160];     /* why, for temperror/permerror (and none) */
	unsigned dns_terms;    /* DNS-querying terms evaluated */
	unsigned void_lookups;
};

/* check_host() of RFC 7208 section 4.  sender without a local-part (NULL,
 * "", "@x" or "x") uses "postmaster".  Returns 0 with out filled, or -1 for
 * invalid arguments or out of memory.  Every other failure is a result. */
int spf_check_host(struct dns_resolver *r, const struct spf_request *req, struct spf_outcome *out);

/* The same, with the client address in text form (IPv4, IPv6, or IPv4-
 * mapped IPv6, which is treated as IPv4).  -1 for an unparsable address. */
int spf_check_host_str(struct dns_resolver *r, const char *ip, const char *domain,
	const char *sender, const char *helo, struct spf_outcome *out);

void spf_outcome_free(struct spf_outcome *out);

/* Header text for a result.  identity is "mailfrom" or "helo"; receiver is
 * our host name (NULL: left out).  Untrusted values (sender, HELO, the
 * problem text) are quoted and stripped of control characters, so the
 * result is one safe header line.  malloc()ed; NULL if out of memory.
 *
 * spf_received_spf(): the value of a Received-SPF field (RFC 7208 section
 * 9.1), e.g. `pass (example.org: domain of a@example.com designates
 * 192.0.2.1 as permitted sender) client-ip=192.0.2.1;
 * envelope-from="a@example.com"; helo=mx.example.com; receiver=example.org;
 * identity=mailfrom; mechanism="ip4:192.0.2.0/24"`.
 *
 * spf_auth_result(): the resinfo of an Authentication-Results field (RFC
 * 8601), e.g. `spf=pass smtp.mailfrom=a@example.com`. */
char *spf_received_spf(const struct spf_request *req, const struct spf_outcome *out,
	const char *identity, const char *receiver);
char *spf_auth_result(const struct spf_request *req, const struct spf_outcome *out, const char *identity);

#endif
