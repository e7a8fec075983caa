#include "bridge-smtp/dmarc.h"
#include "common/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge-smtp/dkim_tags.h"
#include "common/dns.h"

const char *dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? "reject" : p == DMARC_POLICY_QUARANTINE ? "quarantine" : "none";
}

const char *dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RES_PASS: return "pass";
	case DMARC_RES_FAIL: return "fail";
	case DMARC_RES_TEMPERROR: return "temperror";
	case DMARC_RES_PERMERROR: return "permerror";
	case DMARC_RES_NONE: break;
	}
	return "none";
}

static int tag_ieq(const struct dkim_tag *t, const char *s)
{
	return strlen(s) == t->value_len && strncasecmp(t->value, s, t->value_len) == 0;
}

static int parse_policy(const struct dkim_tag *t, enum dmarc_policy *p)
{
	if (tag_ieq(t, "none"))
		*p = DMARC_POLICY_NONE;
	else if (tag_ieq(t, "quarantine"))
		*p = DMARC_POLICY_QUARANTINE;
	else if (tag_ieq(t, "reject"))
		*p = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

static void copy_tag(const struct dkim_tag *t, char *out, size_t outsz)
{
	size_t n = t->value_len < outsz - 1 ? t->value_len : outsz - 1;

	memcpy(out, t->value, n);
	out[n] = '\0';
}

/* rua= holds at least one syntactically valid URI (scheme ":" rest). */
static int has_valid_uri(const char *s)
{
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *colon = memchr(s, ':', n);
		const char *p = s;
		while (p < s + n && isspace((unsigned char)*p))
			p++;
		if (colon && colon > p && isalpha((unsigned char)*p))
			return 1;
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec, char *err, size_t errlen)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	int p_ok, sp_ok = 1;

	memset(rec, 0, sizeof(*rec));
	rec->pct = 100;
	rec->ri = 86400;
	if (dkim_tags_parse(txt, len, &tl, NULL, 0) < 0)
		return scop_err(err, errlen, "%s", "malformed tag list");
	if (tl.count == 0 || tl.tags[0].name_len != 1 || tl.tags[0].name[0] != 'v' ||
	    !dkim_tag_is(&tl.tags[0], "DMARC1"))
		return scop_err(err, errlen, "%s", "not a DMARC1 record");
	if ((t = dkim_tags_get(&tl, "rua")))
		copy_tag(t, rec->rua, sizeof(rec->rua));
	if ((t = dkim_tags_get(&tl, "ruf")))
		copy_tag(t, rec->ruf, sizeof(rec->ruf));
	if ((t = dkim_tags_get(&tl, "fo")))
		copy_tag(t, rec->fo, sizeof(rec->fo));
	p_ok = (t = dkim_tags_get(&tl, "p")) && parse_policy(t, &rec->p) == 0;
	if ((t = dkim_tags_get(&tl, "sp"))) {
		sp_ok = parse_policy(t, &rec->sp) == 0;
		rec->has_sp = sp_ok;
	}
	if (!p_ok || !sp_ok) {
		/* RFC 7489 6.6.3: with a usable rua=, act as if p=none. */
		if (!has_valid_uri(rec->rua))
			return scop_err(err, errlen, "%s", "no valid p= (and no rua=)");
		rec->p = DMARC_POLICY_NONE;
		rec->has_sp = 0;
		rec->p_defaulted = 1;
	}
	if (!rec->has_sp)
		rec->sp = rec->p;
	/* Bad values of the optional tags fall back to their defaults. */
	if ((t = dkim_tags_get(&tl, "adkim")) && tag_ieq(t, "s"))
		rec->adkim = DMARC_ALIGN_STRICT;
	if ((t = dkim_tags_get(&tl, "aspf")) && tag_ieq(t, "s"))
		rec->aspf = DMARC_ALIGN_STRICT;
	if ((t = dkim_tags_get(&tl, "pct")) && t->value_len > 0 && t->value_len <= 3) {
		int v = 0, ok = 1;
		for (size_t i = 0; i < t->value_len; i++) {
			if (!isdigit((unsigned char)t->value[i]))
				ok = 0;
			else
				v = v * 10 + (t->value[i] - '0');
		}
		if (ok && v <= 100)
			rec->pct = v;
	}
	if ((t = dkim_tags_get(&tl, "ri")) && t->value_len > 0 && t->value_len < 10) {
		unsigned long v = 0;
		int ok = 1;
		for (size_t i = 0; i < t->value_len; i++) {
			if (!isdigit((unsigned char)t->value[i]))
				ok = 0;
			else
				v = v * 10 + (unsigned long)(t->value[i] - '0');
		}
		if (ok)
			rec->ri = v;
	}
	return 0;
}

static int norm(const char *in, char *out, size_t outsz)
{
	size_t n = in ? strlen(in) : 0;

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= outsz)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	return 0;
}

int dmarc_aligned(const struct psl *psl, const char *a, const char *b, enum dmarc_align mode)
{
	char na[256], nb[256], oa[256], ob[256];

	if (norm(a, na, sizeof(na)) < 0 || norm(b, nb, sizeof(nb)) < 0)
		return 0;
	if (strcmp(na, nb) == 0)
		return 1;
	if (mode == DMARC_ALIGN_STRICT)
		return 0;
	if (psl_org_domain(psl, na, oa, sizeof(oa)) < 0 || psl_org_domain(psl, nb, ob, sizeof(ob)) < 0)
		return 0;
	return strcmp(oa, ob) == 0;
}

int dmarc_evaluate(const struct psl *psl, const struct dmarc_record *rec, const char *record_domain,
		   const struct dmarc_input *in, struct dmarc_outcome *out)
{
	char from[256];

	memset(out, 0, sizeof(*out));
	if (norm(in->from_domain, from, sizeof(from)) < 0)
		return -1;
	snprintf(out->from_domain, sizeof(out->from_domain), "%s", from);
	if (psl_org_domain(psl, from, out->org_domain, sizeof(out->org_domain)) < 0)
		return -1;
	out->have_record = 1;
	out->rec = *rec;
	snprintf(out->record_domain, sizeof(out->record_domain), "%s", record_domain);
	/* sp= governs when the record came from the organizational domain
	 * and the From domain is below it. */
	out->policy = strcasecmp(record_domain, from) != 0 ? rec->sp : rec->p;

	out->spf_aligned = in->spf_pass && in->spf_domain && dmarc_aligned(psl, in->spf_domain, from, rec->aspf);
	out->dkim_aligned = 0;
	for (size_t i = 0; i < in->ndkim; i++) {
		if (in->dkim[i].status == DKIM_PASS && dmarc_aligned(psl, in->dkim[i].domain, from, rec->adkim)) {
			out->dkim_aligned = 1;
			snprintf(out->dkim_domain, sizeof(out->dkim_domain), "%s", in->dkim[i].domain);
			break;
		}
	}
	out->sampled_out = 0;
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_RES_PASS;
		out->disposition = DMARC_POLICY_NONE;
		return 0;
	}
	out->result = DMARC_RES_FAIL;
	out->disposition = out->policy;
	if (out->policy != DMARC_POLICY_NONE && in->sample >= (unsigned)rec->pct) {
		/* RFC 7489 6.6.4: a message left out by pct gets the next
		 * weaker policy. */
		out->sampled_out = 1;
		out->disposition = out->policy == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
	}
	return 0;
}

enum fetch_result {
	FETCH_NONE = 0,  /* no DMARC record there: the caller may look further */
	FETCH_FOUND,     /* exactly one, and usable */
	FETCH_STOP,      /* several, or one unusable: no DMARC for this message */
	FETCH_TEMPFAIL,
};

/* RFC 7489 6.6.3: keep only the TXT records that start with v=DMARC1; an
 * empty set lets discovery go on to the organizational domain, anything
 * but exactly one usable record ends it. */
static enum fetch_result fetch(struct dns_resolver *dns, const char *domain, struct dmarc_record *rec)
{
	char name[300];
	struct dns_result r;
	int found = 0, candidates = 0;

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	memset(&r, 0, sizeof(r));
	if (dns_lookup(dns, name, DNS_TXT, &r) < 0)
		return FETCH_TEMPFAIL;
	if (r.status == DNS_TEMPFAIL || r.security == DNS_SEC_BOGUS) {
		dns_result_free(&r);
		return FETCH_TEMPFAIL;
	}
	if (r.status == DNS_OK) {
		for (size_t i = 0; i < r.count; i++) {
			const char *t = r.records[i].text;
			size_t n = r.records[i].len, k = 0;
			while (k < n && (t[k] == ' ' || t[k] == '\t'))
				k++;
			if (n - k < 8 || strncmp(t + k, "v=DMARC1", 8) != 0)
				continue;
			if (n - k > 8 && t[k + 8] != ';' && t[k + 8] != ' ' && t[k + 8] != '\t')
				continue;
			candidates++;
			if (dmarc_record_parse(t, n, rec, NULL, 0) == 0)
				found = 1;
		}
	}
	dns_result_free(&r);
	if (candidates == 0)
		return FETCH_NONE;
	return candidates == 1 && found ? FETCH_FOUND : FETCH_STOP;
}

int dmarc_check(struct dns_resolver *dns, const struct psl *psl, const struct dmarc_input *in,
		struct dmarc_outcome *out)
{
	char from[256];
	struct dmarc_record rec;
	enum fetch_result rc;

	memset(out, 0, sizeof(*out));
	if (norm(in->from_domain, from, sizeof(from)) < 0 || !strchr(from, '.') ||
	    psl_org_domain(psl, from, out->org_domain, sizeof(out->org_domain)) < 0) {
		out->result = DMARC_RES_PERMERROR;
		return 0;
	}
	snprintf(out->from_domain, sizeof(out->from_domain), "%s", from);
	rc = fetch(dns, from, &rec);
	if (rc == FETCH_FOUND)
		return dmarc_evaluate(psl, &rec, from, in, out);
	if (rc == FETCH_NONE && strcmp(from, out->org_domain) != 0) {
		rc = fetch(dns, out->org_domain, &rec);
		if (rc == FETCH_FOUND)
			return dmarc_evaluate(psl, &rec, out->org_domain, in, out);
	}
	out->result = rc == FETCH_TEMPFAIL ? DMARC_RES_TEMPERROR : DMARC_RES_NONE;
	return 0;
}
