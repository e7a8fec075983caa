/* SPF check_host() (RFC 7208 sections 4 and 5) over dns.h. */
#include "bridge-smtp/spf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPF_MAX_DNS_TERMS 10
#define SPF_MAX_VOID 2
#define SPF_MAX_NAMES 10 /* MX exchanges and PTR names */

/* State of one check_host() evaluation, shared by nested include/redirect. */
struct spf_eval {
	struct dns_resolver *r;
	const struct spf_request *req;
	struct spf_outcome *out;
};

static enum spf_result problem(struct spf_eval *ev, enum spf_result res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum spf_result problem(struct spf_eval *ev, enum spf_result res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->out->problem, sizeof(ev->out->problem), fmt, ap);
	va_end(ap);
	return res;
}

/* Any DNS error other than "no such name/record" is a temperror
 * (section 4.4 and 5); a bogus DNSSEC answer arrives as DNS_TEMPFAIL. */
static int dns_failed(const struct dns_result *res)
{
	return res->status == DNS_TEMPFAIL || res->status == DNS_PERMFAIL;
}

static int is_void(const struct dns_result *res)
{
	return res->status == DNS_NXDOMAIN || res->status == DNS_NODATA;
}

static int count_void(struct spf_eval *ev)
{
	return ++ev->out->void_lookups > SPF_MAX_VOID;
}

static int addr_match(const struct spf_request *req, const uint8_t *addr, int cidr)
{
	int bytes = cidr / 8, bits = cidr % 8;
	if (memcmp(req->ip, addr, (size_t)bytes) != 0)
		return 0;
	if (bits == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xFF << (8 - bits));
	return (req->ip[bytes] & mask) == (addr[bytes] & mask);
}

/* Looks up the client's address family for name and matches with the
 * prefix length.  Returns 1 match, 0 none, or a negative spf_result. */
static int match_host(struct spf_eval *ev, const char *name, int cidr4, int cidr6, int count_voids)
{
	struct dns_result res;
	enum dns_type type = ev->req->family == 4 ? DNS_A : DNS_AAAA;
	if (dns_lookup(ev->r, name, type, &res) != 0)
		return -SPF_TEMPERROR;
	int rc = 0;
	if (dns_failed(&res)) {
		rc = -SPF_TEMPERROR;
		problem(ev, SPF_TEMPERROR, "DNS failure looking up %s", name);
	} else if (is_void(&res)) {
		if (count_voids && count_void(ev)) {
			rc = -SPF_PERMERROR;
			problem(ev, SPF_PERMERROR, "more than 2 void lookups (at %s)", name);
		}
	} else {
		for (size_t i = 0; i < res.count && rc == 0; i++)
			rc = addr_match(ev->req, res.records[i].addr, ev->req->family == 4 ? cidr4 : cidr6);
	}
	dns_result_free(&res);
	return rc;
}

static void reverse_name(const struct spf_request *req, char *out, size_t outlen)
{
	if (req->family == 4) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", req->ip[3], req->ip[2], req->ip[1], req->ip[0]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	size_t p = 0;
	for (int i = 15; i >= 0; i--) {
		out[p++] = hex[req->ip[i] & 15];
		out[p++] = '.';
		out[p++] = hex[req->ip[i] >> 4];
		out[p++] = '.';
	}
	snprintf(out + p, outlen - p, "ip6.arpa");
}

static int name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (n == d)
		return strncasecmp(name, domain, n) == 0;
	return n > d && name[n - d - 1] == '.' && strncasecmp(name + n - d, domain, d) == 0;
}

/* The validated host names of the client (section 5.5), up to 10 PTR
 * names tried.  Calls fn for each until it returns non-zero.  Returns
 * what fn returned, 0, or a negative spf_result (void lookup limit). */
static int validated_names(struct spf_eval *ev, int count_voids,
	int (*fn)(const char *name, void *arg), void *arg)
{
	char rev[80];
	reverse_name(ev->req, rev, sizeof(rev));
	struct dns_result ptr;
	if (dns_lookup(ev->r, rev, DNS_PTR, &ptr) != 0)
		return -SPF_TEMPERROR;
	int rc = 0;
	if (is_void(&ptr) && count_voids && count_void(ev)) {
		rc = -SPF_PERMERROR;
		problem(ev, SPF_PERMERROR, "more than 2 void lookups (at %s)", rev);
	}
	/* A DNS error here makes ptr simply not match (section 5.5). */
	for (size_t i = 0; ptr.status == DNS_OK && i < ptr.count && i < SPF_MAX_NAMES && rc == 0; i++) {
		int m = match_host(ev, ptr.records[i].text, 32, 128, 0);
		if (m == 1)
			rc = fn(ptr.records[i].text, arg);
	}
	dns_result_free(&ptr);
	return rc;
}

static int ptr_match_cb(const char *name, void *arg)
{
	return name_within(name, arg);
}

struct pick_p {
	const char *domain;
	char best[256];
	int exact;
};

static int p_macro_cb(const char *name, void *arg)
{
	struct pick_p *pp = arg;
	if (name_within(name, pp->domain)) {
		snprintf(pp->best, sizeof(pp->best), "%s", name);
		return 1;
	}
	if (pp->best[0] == '\0')
		snprintf(pp->best, sizeof(pp->best), "%s", name);
	return 0;
}

static int needs_p(const char *s, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++)
		if (s[i] == '%' && s[i + 1] == '{' && (s[i + 2] == 'p' || s[i + 2] == 'P'))
			return 1;
	return 0;
}

/* Expands a domain-spec; truncates over-long results from the left
 * (section 7.3).  NULL on a macro error. */
static char *expand_domain(struct spf_eval *ev, const char *spec, const char *domain, int is_exp)
{
	struct pick_p pp = { domain, "", 0 };
	if (needs_p(spec, strlen(spec)))
		validated_names(ev, 0, p_macro_cb, &pp);
	char *s = spf_macro_expand(spec, strlen(spec), ev->req, domain, pp.best[0] ? pp.best : NULL, is_exp);
	if (s == NULL || is_exp)
		return s;
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	char *p = s;
	while (strlen(p) > 253) {
		char *dot = strchr(p, '.');
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (p != s)
		memmove(s, p, strlen(p) + 1);
	return s;
}

/* Single TXT "v=spf1" record of domain, parsed.  Returns SPF_PASS with
 * *rec set, or none/temperror/permerror. */
static enum spf_result fetch_record(struct spf_eval *ev, const char *domain, struct spf_record **rec)
{
	struct dns_result res;
	*rec = NULL;
	if (dns_lookup(ev->r, domain, DNS_TXT, &res) != 0)
		return problem(ev, SPF_TEMPERROR, "lookup failed for %s", domain);
	if (res.status == DNS_PERMFAIL && dns_name_normalize(domain, (char[256]){ 0 }, 256) != 0) {
		dns_result_free(&res);
		return problem(ev, SPF_NONE, "invalid domain %s", domain);
	}
	if (dns_failed(&res)) {
		dns_result_free(&res);
		return problem(ev, SPF_TEMPERROR, "DNS failure looking up TXT %s", domain);
	}
	const struct dns_record *found = NULL;
	for (size_t i = 0; i < res.count; i++) {
		if (!spf_is_record(res.records[i].text, res.records[i].len))
			continue;
		if (found != NULL) {
			dns_result_free(&res);
			return problem(ev, SPF_PERMERROR, "more than one SPF record at %s", domain);
		}
		found = &res.records[i];
	}
	if (found == NULL) {
		dns_result_free(&res);
		return problem(ev, SPF_NONE, "no SPF record at %s", domain);
	}
	char err[128];
	int rc = spf_record_parse(found->text, found->len, rec, err, sizeof(err));
	dns_result_free(&res);
	if (rc == -2)
		return problem(ev, SPF_TEMPERROR, "out of memory");
	if (rc != 0)
		return problem(ev, SPF_PERMERROR, "%s", err);
	return SPF_PASS;
}

static char *explain(struct spf_eval *ev, const struct spf_record *rec, const char *domain)
{
	char *target = expand_domain(ev, rec->exp, domain, 0);
	char *text = NULL;
	struct dns_result res;
	if (target != NULL && dns_lookup(ev->r, target, DNS_TXT, &res) == 0) {
		if (res.status == DNS_OK && res.count == 1 && strlen(res.records[0].text) == res.records[0].len) {
			struct pick_p pp = { domain, "", 0 };
			if (needs_p(res.records[0].text, res.records[0].len))
				validated_names(ev, 0, p_macro_cb, &pp);
			text = spf_macro_expand(res.records[0].text, res.records[0].len, ev->req, domain,
				pp.best[0] ? pp.best : NULL, 1);
		}
		dns_result_free(&res);
	}
	free(target);
	return text;
}

static enum spf_result check_host(struct spf_eval *ev, const char *domain, char **expl);

/* Evaluates one directive.  Returns 1 match, 0 no match, or a negative
 * spf_result to stop with. */
static int eval_term(struct spf_eval *ev, const struct spf_term *t, const char *domain)
{
	if (t->mech == SPF_MECH_ALL)
		return 1;
	if (t->mech == SPF_MECH_IP4 || t->mech == SPF_MECH_IP6) {
		if ((t->mech == SPF_MECH_IP4) != (ev->req->family == 4))
			return 0;
		return addr_match(ev->req, t->addr, t->mech == SPF_MECH_IP4 ? t->cidr4 : t->cidr6);
	}
	if (++ev->out->dns_terms > SPF_MAX_DNS_TERMS) {
		problem(ev, SPF_PERMERROR, "more than 10 DNS-querying terms (at %s)", t->text);
		return -SPF_PERMERROR;
	}
	char *target = t->domain_spec != NULL ? expand_domain(ev, t->domain_spec, domain, 0) : strdup(domain);
	if (target == NULL) {
		problem(ev, SPF_PERMERROR, "macro expansion failed in %s", t->text);
		return -SPF_PERMERROR;
	}
	char norm[256];
	if (dns_name_normalize(target, norm, sizeof(norm)) != 0) {
		problem(ev, SPF_PERMERROR, "%s: not a valid domain name after expansion", t->text);
		free(target);
		return -SPF_PERMERROR;
	}
	int rc = 0;
	struct dns_result res;
	switch (t->mech) {
	case SPF_MECH_A:
		rc = match_host(ev, target, t->cidr4, t->cidr6, 1);
		break;
	case SPF_MECH_EXISTS:
		if (dns_lookup(ev->r, target, DNS_A, &res) != 0) {
			rc = -SPF_TEMPERROR;
			break;
		}
		if (dns_failed(&res)) {
			rc = -SPF_TEMPERROR;
			problem(ev, SPF_TEMPERROR, "DNS failure looking up %s", target);
		} else if (is_void(&res)) {
			if (count_void(ev)) {
				rc = -SPF_PERMERROR;
				problem(ev, SPF_PERMERROR, "more than 2 void lookups (at %s)", target);
			}
		} else {
			rc = 1;
		}
		dns_result_free(&res);
		break;
	case SPF_MECH_MX:
		if (dns_lookup(ev->r, target, DNS_MX, &res) != 0) {
			rc = -SPF_TEMPERROR;
			break;
		}
		if (dns_failed(&res)) {
			rc = -SPF_TEMPERROR;
			problem(ev, SPF_TEMPERROR, "DNS failure looking up MX %s", target);
		} else if (is_void(&res)) {
			if (count_void(ev)) {
				rc = -SPF_PERMERROR;
				problem(ev, SPF_PERMERROR, "more than 2 void lookups (at %s)", target);
			}
		} else if (res.count > SPF_MAX_NAMES) {
			rc = -SPF_PERMERROR;
			problem(ev, SPF_PERMERROR, "more than 10 MX names at %s", target);
		} else {
			for (size_t i = 0; i < res.count && rc == 0; i++)
				if (strcmp(res.records[i].text, ".") != 0)
					rc = match_host(ev, res.records[i].text, t->cidr4, t->cidr6, 0);
		}
		dns_result_free(&res);
		break;
	case SPF_MECH_PTR:
		rc = validated_names(ev, 1, ptr_match_cb, target);
		break;
	case SPF_MECH_INCLUDE: {
		char *sub = NULL;
		enum spf_result r = check_host(ev, target, &sub);
		free(sub);
		if (r == SPF_PASS)
			rc = 1;
		else if (r == SPF_TEMPERROR)
			rc = -SPF_TEMPERROR;
		else if (r == SPF_PERMERROR || r == SPF_NONE) {
			if (r == SPF_NONE)
				problem(ev, SPF_PERMERROR, "include of %s found no SPF record", target);
			rc = -SPF_PERMERROR;
		}
		break;
	}
	default:
		break;
	}
	free(target);
	return rc;
}

static enum spf_result check_host(struct spf_eval *ev, const char *domain, char **expl)
{
	struct spf_record *rec;
	*expl = NULL;
	enum spf_result r = fetch_record(ev, domain, &rec);
	if (r != SPF_PASS)
		return r;
	for (size_t i = 0; i < rec->count; i++) {
		const struct spf_term *t = &rec->terms[i];
		int m = eval_term(ev, t, domain);
		if (m < 0) {
			spf_record_free(rec);
			return (enum spf_result)-m;
		}
		if (m == 1) {
			snprintf(ev->out->mechanism, sizeof(ev->out->mechanism), "%s", t->text);
			if (t->qualifier == SPF_FAIL && rec->exp != NULL)
				*expl = explain(ev, rec, domain);
			r = t->qualifier;
			spf_record_free(rec);
			return r;
		}
	}
	if (rec->redirect != NULL && !rec->has_all) {
		if (++ev->out->dns_terms > SPF_MAX_DNS_TERMS) {
			spf_record_free(rec);
			return problem(ev, SPF_PERMERROR, "more than 10 DNS-querying terms (at redirect)");
		}
		char *target = expand_domain(ev, rec->redirect, domain, 0);
		spf_record_free(rec);
		if (target == NULL)
			return problem(ev, SPF_PERMERROR, "macro expansion failed in redirect");
		r = check_host(ev, target, expl);
		if (r == SPF_NONE)
			r = problem(ev, SPF_PERMERROR, "redirect to %s found no SPF record", target);
		free(target);
		return r;
	}
	spf_record_free(rec);
	snprintf(ev->out->mechanism, sizeof(ev->out->mechanism), "default");
	return SPF_NEUTRAL;
}

/* Initial processing (section 4.3): a malformed or single-label domain
 * gives none without any lookup. */
static int domain_ok(const char *d)
{
	char norm[256];
	if (dns_name_normalize(d, norm, sizeof(norm)) != 0 || strchr(norm, '.') == NULL)
		return 0;
	return 1;
}

int spf_check_host(struct dns_resolver *r, const struct spf_request *req, struct spf_outcome *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (r == NULL || req == NULL || out == NULL || req->domain == NULL ||
	    (req->family != 4 && req->family != 6))
		return -1;
	/* The sender with a local-part: "postmaster" when there is none. */
	char *sender = NULL;
	const char *s = req->sender != NULL ? req->sender : "";
	const char *at = strrchr(s, '@');
	if (at == NULL || at == s) {
		const char *dom = at != NULL ? at + 1 : (s[0] ? s : req->domain);
		size_t n = strlen(dom) + sizeof("postmaster@");
		if ((sender = malloc(n)) == NULL)
			return -1;
		snprintf(sender, n, "postmaster@%s", dom);
	}
	struct spf_request rq = *req;
	if (sender != NULL)
		rq.sender = sender;
	if (rq.now == 0)
		rq.now = time(NULL);
	struct spf_eval ev = { r, &rq, out };
	if (!domain_ok(req->domain)) {
		out->result = SPF_NONE;
		snprintf(out->problem, sizeof(out->problem), "not a valid domain name");
	} else {
		out->result = check_host(&ev, req->domain, &out->explanation);
		if (out->result != SPF_FAIL) {
			free(out->explanation);
			out->explanation = NULL;
		}
		if (out->result == SPF_TEMPERROR || out->result == SPF_PERMERROR)
			out->mechanism[0] = '\0';
		else if (out->result != SPF_NONE)
			out->problem[0] = '\0';
	}
	free(sender);
	return 0;
}

int spf_check_host_str(struct dns_resolver *r, const char *ip, const char *domain,
	const char *sender, const char *helo, struct spf_outcome *out)
{
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, req.ip) == 1) {
		req.family = 4;
	} else if (inet_pton(AF_INET6, ip, req.ip) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		req.family = 6;
		if (memcmp(req.ip, mapped, 12) == 0) {
			memmove(req.ip, req.ip + 12, 4);
			memset(req.ip + 4, 0, 12);
			req.family = 4;
		}
	} else {
		return -1;
	}
	req.domain = domain;
	req.sender = sender;
	req.helo = helo;
	return spf_check_host(r, &req, out);
}

void spf_outcome_free(struct spf_outcome *out)
{
	if (out != NULL) {
		free(out->explanation);
		out->explanation = NULL;
	}
}
