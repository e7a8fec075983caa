/* Sender ownership for submission; see smtp_sender.h. */
#include "bridge-smtp/smtp_sender.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge-smtp/smtp_cmd.h"

/* An address split into a comparable local part (unquoted) and domain
 * (without a trailing dot). */
struct addr_parts {
	char local[SMTP_PATH_MAX + 1];
	const char *domain;
	size_t domain_len;
};

static int split_addr(const char *addr, struct addr_parts *out)
{
	const char *at = strrchr(addr, '@');
	if (!at || at == addr || !at[1])
		return -1;
	size_t ll = (size_t)(at - addr), k = 0;
	if (ll >= 2 && addr[0] == '"' && addr[ll - 1] == '"') {
		for (size_t i = 1; i + 1 < ll; i++) {
			if (addr[i] == '\\' && i + 2 < ll)
				i++;
			if (k >= sizeof(out->local) - 1)
				return -1;
			out->local[k++] = addr[i];
		}
	} else {
		if (ll >= sizeof(out->local))
			return -1;
		memcpy(out->local, addr, ll);
		k = ll;
	}
	out->local[k] = '\0';
	out->domain = at + 1;
	out->domain_len = strlen(out->domain);
	if (out->domain_len > 1 && out->domain[out->domain_len - 1] == '.')
		out->domain_len--;
	return k > 0 ? 0 : -1;
}

static bool domain_is(const struct addr_parts *a, const char *dom)
{
	size_t n = strlen(dom);
	if (n > 1 && dom[n - 1] == '.')
		n--;
	return n == a->domain_len && strncasecmp(a->domain, dom, n) == 0;
}

static bool is_local_domain(const struct smtp_sender_policy *p, const struct addr_parts *a)
{
	for (size_t i = 0; i < p->n_local_domains; i++)
		if (domain_is(a, p->local_domains[i]))
			return true;
	return false;
}

static bool same_addr(const struct addr_parts *a, const char *other)
{
	struct addr_parts b;
	char dom[SMTP_DOMAIN_MAX + 2];
	if (split_addr(other, &b) < 0 || b.domain_len >= sizeof(dom))
		return false;
	memcpy(dom, b.domain, b.domain_len);
	dom[b.domain_len] = '\0';
	return strcasecmp(a->local, b.local) == 0 && domain_is(a, dom);
}

static bool granted(const struct smtp_sender_policy *p, const char *identity, const struct addr_parts *a)
{
	for (size_t g = 0; g < p->n_grants; g++) {
		const struct smtp_sender_grant *gr = &p->grants[g];
		if (strcmp(gr->identity, identity) != 0)
			continue;
		for (size_t i = 0; i < gr->n_addrs; i++) {
			const char *e = gr->addrs[i];
			if (e[0] == '@' ? domain_is(a, e + 1) : same_addr(a, e))
				return true;
		}
	}
	return false;
}

void smtp_sender_policy_default(struct smtp_sender_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->check_envelope = true;
	p->check_header = true;
}

void smtp_sender_policy_free(struct smtp_sender_policy *p)
{
	for (size_t g = 0; g < p->n_grants; g++) {
		free(p->grants[g].identity);
		for (size_t i = 0; i < p->grants[g].n_addrs; i++)
			free(p->grants[g].addrs[i]);
		free(p->grants[g].addrs);
	}
	free(p->grants);
	p->grants = NULL;
	p->n_grants = 0;
}

bool smtp_sender_owns(const struct smtp_sender_policy *p, const char *identity, const char *addr)
{
	struct addr_parts a;
	if (!identity || !*identity || !addr || split_addr(addr, &a) < 0)
		return false;
	if (granted(p, identity, &a))
		return true;
	/* The identity's own local part. */
	const char *lp = identity;
	size_t lplen;
	if (identity[0] == '@') {
		lp = identity + 1;
		const char *colon = strchr(lp, ':');
		lplen = colon ? (size_t)(colon - lp) : strlen(lp);
	} else if (strchr(identity, '@')) {
		return same_addr(&a, identity);
	} else {
		lplen = strlen(lp);
	}
	return lplen > 0 && strlen(a.local) == lplen && strncasecmp(a.local, lp, lplen) == 0 &&
	       is_local_domain(p, &a);
}
