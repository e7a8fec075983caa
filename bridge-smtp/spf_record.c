/* SPF record parser: RFC 7208 section 12 ABNF, no DNS. */
#include "bridge-smtp/spf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPF_NONE: return "none";
	case SPF_NEUTRAL: return "neutral";
	case SPF_PASS: return "pass";
	case SPF_FAIL: return "fail";
	case SPF_SOFTFAIL: return "softfail";
	case SPF_TEMPERROR: return "temperror";
	case SPF_PERMERROR: return "permerror";
	}
	return "?";
}

int spf_is_record(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int toplabel_ok(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return 0;
	int alpha = 0, hyphen = 0;
	for (size_t i = 0; i < len; i++) {
		if (is_alpha(s[i]))
			alpha = 1;
		else if (s[i] == '-')
			hyphen = 1;
		else if (!is_alnum(s[i]))
			return 0;
	}
	return alpha || hyphen;
}

/* domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static int domain_spec_ok(const char *s, size_t len)
{
	if (len == 0 || spf_macro_check(s, len, 0) != 0)
		return 0;
	/* Ends in a macro-expand? "%{...}" ends in '}', "%%", "%_", "%-" in
	 * their second char; literal '}' or '_' would not be a toplabel. */
	if (s[len - 1] == '}' && memchr(s, '{', len) != NULL) {
		/* The last '{' must open the final macro: '}' is not a
		 * delimiter, so "%{...}" has no inner '}'. */
		const char *open = NULL;
		for (size_t i = len; i-- > 0;)
			if (s[i] == '{') {
				open = s + i;
				break;
			}
		if (open != NULL && open > s && open[-1] == '%')
			return 1;
	}
	if (len >= 2 && s[len - 2] == '%' && (s[len - 1] == '%' || s[len - 1] == '_' || s[len - 1] == '-')) {
		/* Make sure the '%' is not itself the second half of "%%". */
		size_t n = 0;
		for (size_t i = len - 1; i-- > 0 && s[i] == '%';)
			n++;
		if (n % 2 == 1)
			return 1;
	}
	size_t end = len;
	if (s[end - 1] == '.')
		end--;
	size_t dot = end;
	while (dot > 0 && s[dot - 1] != '.')
		dot--;
	if (dot == 0)
		return 0; /* domain-end needs "." toplabel */
	return toplabel_ok(s + dot, end - dot);
}

/* "/" ("0" / %x31-39 0*DIGIT), up to max. */
static int parse_cidr(const char *s, size_t len, int max, int *out)
{
	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return -1;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static size_t digits_before(const char *s, size_t end)
{
	size_t i = end;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	return end - i;
}

/* Strips a dual-cidr-length from the end of s[0..*len); fills t. */
static int strip_dual_cidr(const char *s, size_t *len, struct spf_term *t)
{
	size_t n = *len, d = digits_before(s, n);
	if (d > 0 && n >= d + 2 && s[n - d - 1] == '/' && s[n - d - 2] == '/') {
		if (parse_cidr(s + n - d, d, 128, &t->cidr6) != 0)
			return -1;
		n -= d + 2;
	}
	d = digits_before(s, n);
	if (d > 0 && n >= d + 1 && s[n - d - 1] == '/') {
		if (parse_cidr(s + n - d, d, 32, &t->cidr4) != 0)
			return -1;
		n -= d + 1;
	}
	*len = n;
	return 0;
}

static char *dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static const struct {
	const char *name;
	enum spf_mech mech;
} mechs[] = {
	{ "all", SPF_MECH_ALL }, { "include", SPF_MECH_INCLUDE }, { "a", SPF_MECH_A },
	{ "mx", SPF_MECH_MX }, { "ptr", SPF_MECH_PTR }, { "ip4", SPF_MECH_IP4 },
	{ "ip6", SPF_MECH_IP6 }, { "exists", SPF_MECH_EXISTS },
};

/* Parses one directive s[0..len) into t.  Returns 0 or -1 with err set. */
static int parse_directive(const char *s, size_t len, struct spf_term *t, char *err, size_t errlen)
{
	t->qualifier = SPF_PASS;
	t->cidr4 = 32;
	t->cidr6 = 128;
	size_t p = 0;
	if (len > 0 && (s[0] == '+' || s[0] == '-' || s[0] == '~' || s[0] == '?')) {
		t->qualifier = s[0] == '+' ? SPF_PASS : s[0] == '-' ? SPF_FAIL : s[0] == '~' ? SPF_SOFTFAIL : SPF_NEUTRAL;
		p = 1;
	}
	size_t nstart = p;
	while (p < len && is_alnum(s[p]))
		p++;
	size_t nlen = p - nstart;
	size_t i;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == nlen && strncasecmp(s + nstart, mechs[i].name, nlen) == 0)
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0])) {
		snprintf(err, errlen, "unknown mechanism '%.*s'", (int)(len > 40 ? 40 : len), s);
		return -1;
	}
	t->mech = mechs[i].mech;
	const char *rest = s + p;
	size_t rlen = len - p;
	int has_arg = rlen > 0 && rest[0] == ':';
	const char *arg = has_arg ? rest + 1 : rest;
	size_t alen = has_arg ? rlen - 1 : rlen;

	switch (t->mech) {
	case SPF_MECH_ALL:
		if (rlen != 0)
			goto syntax;
		return 0;
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS:
		if (!has_arg || !domain_spec_ok(arg, alen))
			goto syntax;
		break;
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (strip_dual_cidr(arg, &alen, t) != 0)
			goto syntax;
		if (!has_arg && alen != 0)
			goto syntax;
		if (has_arg && !domain_spec_ok(arg, alen))
			goto syntax;
		break;
	case SPF_MECH_PTR:
		if (!has_arg && rlen != 0)
			goto syntax;
		if (has_arg && !domain_spec_ok(arg, alen))
			goto syntax;
		break;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6: {
		if (!has_arg)
			goto syntax;
		char ip[64];
		const char *slash = memchr(arg, '/', alen);
		size_t iplen = slash != NULL ? (size_t)(slash - arg) : alen;
		if (iplen == 0 || iplen >= sizeof(ip))
			goto syntax;
		memcpy(ip, arg, iplen);
		ip[iplen] = '\0';
		int v4 = t->mech == SPF_MECH_IP4;
		if (inet_pton(v4 ? AF_INET : AF_INET6, ip, t->addr) != 1)
			goto syntax;
		if (slash != NULL &&
		    parse_cidr(slash + 1, alen - iplen - 1, v4 ? 32 : 128, v4 ? &t->cidr4 : &t->cidr6) != 0)
			goto syntax;
		return 0;
	}
	}
	if (has_arg && (t->domain_spec = dupn(arg, alen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	return 0;
syntax:
	snprintf(err, errlen, "invalid term '%.*s'", (int)(len > 60 ? 60 : len), s);
	return -1;
}

void spf_record_free(struct spf_record *rec)
{
	if (rec == NULL)
		return;
	for (size_t i = 0; i < rec->count; i++) {
		free(rec->terms[i].domain_spec);
		free(rec->terms[i].text);
	}
	free(rec->terms);
	free(rec->redirect);
	free(rec->exp);
	free(rec);
}

int spf_record_parse(const char *text, size_t len, struct spf_record **out, char *err, size_t errlen)
{
	char dummy[8];
	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (errlen > 0)
		err[0] = '\0';
	*out = NULL;
	if (!spf_is_record(text, len)) {
		snprintf(err, errlen, "not a v=spf1 record");
		return -1;
	}
	struct spf_record *rec = calloc(1, sizeof(*rec));
	if (rec == NULL)
		return -2;
	int rc = 0;
	size_t p = 6, cap = 0;
	while (p < len) {
		if (text[p] != ' ') {
			snprintf(err, errlen, "terms must be separated by spaces");
			rc = -1;
			break;
		}
		while (p < len && text[p] == ' ')
			p++;
		if (p == len)
			break;
		size_t start = p;
		while (p < len && text[p] != ' ')
			p++;
		const char *t = text + start;
		size_t tlen = p - start;
		/* modifier: name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
		size_t n = 0;
		if (is_alpha(t[0]))
			for (n = 1; n < tlen && (is_alnum(t[n]) || t[n] == '-' || t[n] == '_' || t[n] == '.'); n++)
				;
		if (n > 0 && n < tlen && t[n] == '=') {
			const char *v = t + n + 1;
			size_t vlen = tlen - n - 1;
			char **slot = NULL;
			if (n == 8 && strncasecmp(t, "redirect", 8) == 0)
				slot = &rec->redirect;
			else if (n == 3 && strncasecmp(t, "exp", 3) == 0)
				slot = &rec->exp;
			if (slot != NULL) {
				if (*slot != NULL) {
					snprintf(err, errlen, "duplicate %.*s modifier", (int)n, t);
					rc = -1;
					break;
				}
				if (!domain_spec_ok(v, vlen)) {
					snprintf(err, errlen, "invalid %.*s domain", (int)n, t);
					rc = -1;
					break;
				}
				if ((*slot = dupn(v, vlen)) == NULL) {
					rc = -2;
					break;
				}
			} else if (spf_macro_check(v, vlen, 1) != 0) {
				snprintf(err, errlen, "invalid modifier '%.*s'", (int)(tlen > 60 ? 60 : tlen), t);
				rc = -1;
				break;
			}
			continue;
		}
		if (rec->count == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct spf_term *nt = realloc(rec->terms, ncap * sizeof(*nt));
			if (nt == NULL) {
				rc = -2;
				break;
			}
			rec->terms = nt;
			cap = ncap;
		}
		struct spf_term *term = &rec->terms[rec->count];
		memset(term, 0, sizeof(*term));
		if ((rc = parse_directive(t, tlen, term, err, errlen)) != 0) {
			free(term->domain_spec);
			break;
		}
		if ((term->text = dupn(t, tlen)) == NULL) {
			free(term->domain_spec);
			rc = -2;
			break;
		}
		if (term->mech == SPF_MECH_ALL)
			rec->has_all = 1;
		rec->count++;
	}
	if (rc != 0) {
		spf_record_free(rec);
		return rc;
	}
	*out = rec;
	return 0;
}
