/* SPF, DKIM, ARC and DMARC for arriving mail; see mx_auth.h. */
#include "bridge-smtp/mx_auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bridge-smtp/arc.h"
#include "bridge-smtp/authres.h"
#include "bridge-smtp/mailhdr.h"
#include "bridge-smtp/pubsuffix.h"
#include "common/crypto.h"
#include "common/dns.h"
#include "common/log.h"

#define KEYCACHE_ENTRIES 256

/* A resolver in front of the shared one that gives each lookup only what
 * is left of the message's DNS budget (and fails it at once when nothing
 * is), so that SPF's ten terms, DKIM's keys and DMARC's records together
 * cannot hold the session for more than the budget. */
struct budget_dns {
	struct dns_resolver base;
	struct dns_resolver *inner;
	long long deadline_ms; /* 0: no limit */
};

struct mx_auth {
	struct mx_auth_config cfg;
	struct budget_dns dns;
	struct dkim_keycache *keys;
	struct dkim_verifier *ver;
	struct arc_verifier *arc;
	struct mailhdr hdr;
	struct authres ar; /* large: kept off the worker's stack */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int budget_lookup(struct dns_resolver *r, const char *name, enum dns_type type, unsigned timeout_ms,
			 struct dns_result *res)
{
	struct budget_dns *b = (struct budget_dns *)r;
	if (b->deadline_ms) {
		long long left = b->deadline_ms - now_ms();
		if (left <= 0) {
			res->status = DNS_TEMPFAIL;
			return 0;
		}
		if (timeout_ms == 0 || (long long)timeout_ms > left)
			timeout_ms = (unsigned)left;
	}
	return dns_lookup_within(b->inner, name, type, timeout_ms, res);
}

static void budget_free(struct dns_resolver *r)
{
	(void)r; /* the inner resolver belongs to the config */
}

static const struct dns_backend budget_backend = { budget_lookup, budget_free };

void mx_auth_policy_default(struct mx_auth_policy *p)
{
	p->dmarc_reject = true;
	p->spf_reject = false;
}

struct mx_auth *mx_auth_new(const struct mx_auth_config *cfg)
{
	if (!cfg || !cfg->authserv_id || !cfg->dns || !cfg->psl)
		return NULL;
	struct mx_auth *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cfg = *cfg;
	a->dns.base.ops = &budget_backend;
	a->dns.inner = cfg->dns;
	a->keys = dkim_keycache_new(KEYCACHE_ENTRIES);
	struct dkim_verify_opts vo = { .dns = &a->dns.base, .keys = a->keys };
	struct arc_verify_opts ao = { .dns = &a->dns.base, .keys = a->keys };
	if (!a->keys || !(a->ver = dkim_verifier_new(&vo)) || !(a->arc = arc_verifier_new(&ao))) {
		mx_auth_free(a);
		return NULL;
	}
	return a;
}

void mx_auth_free(struct mx_auth *a)
{
	if (!a)
		return;
	dkim_verifier_free(a->ver);
	arc_verifier_free(a->arc);
	dkim_keycache_free(a->keys);
	mailhdr_free(&a->hdr);
	free(a);
}

void mx_auth_verdict_free(struct mx_auth_verdict *v)
{
	buf_free(&v->header);
	free(v->cuts);
	v->cuts = NULL;
	v->ncuts = 0;
}

/* ---- forged fields ---- */

static int add_cut(struct spool_cut **cuts, size_t *n, size_t off, size_t len)
{
	/* Grows one at a time: more than one forged field is rare. */
	struct spool_cut *nc = realloc(*cuts, (*n + 1) * sizeof(*nc));
	if (!nc)
		return -1;
	nc[*n] = (struct spool_cut){ off, len };
	*cuts = nc;
	(*n)++;
	return 0;
}

/* Length of the line at p (up to and including CRLF, or to end). */
static size_t line_len(const char *p, size_t left)
{
	for (size_t i = 0; i + 1 < left; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return i + 2;
	return left;
}

int mx_auth_find_forged(const char *msg, size_t len, const char *id, struct spool_cut **cuts, size_t *ncuts)
{
	static const char name[] = "authentication-results";
	const size_t nl = sizeof(name) - 1;
	size_t end = mailhdr_body_off(msg, len), pos = 0;

	*cuts = NULL;
	*ncuts = 0;
	while (pos < end) {
		size_t start = pos, n = line_len(msg + pos, end - pos);
		if (n == 2 && msg[pos] == '\r')
			break; /* the empty line */
		pos += n;
		while (pos < end && (msg[pos] == ' ' || msg[pos] == '\t'))
			pos += line_len(msg + pos, end - pos);
		/* "Authentication-Results", optional WSP (obsolete syntax), ':'. */
		size_t i = start + nl;
		if (pos - start <= nl || strncasecmp(msg + start, name, nl) != 0)
			continue;
		while (i < pos && (msg[i] == ' ' || msg[i] == '\t'))
			i++;
		if (i >= pos || msg[i] != ':')
			continue;
		size_t vlen = pos - i - 1;
		if (vlen >= 2 && msg[pos - 2] == '\r' && msg[pos - 1] == '\n')
			vlen -= 2;
		if (authres_claims(msg + i + 1, vlen, id) && add_cut(cuts, ncuts, start, pos - start) < 0) {
			free(*cuts);
			*cuts = NULL;
			*ncuts = 0;
			return -1;
		}
	}
	return 0;
}

/* ---- the check ---- */

/* A name for an SMTP reply: printable, no spaces, bounded. */
static void shown(char *out, size_t outlen, const char *s)
{
	size_t j = 0;
	for (; s && *s && j + 1 < outlen && j < 100; s++)
		out[j++] = (*s > 32 && *s < 127) ? *s : '?';
	out[j] = '\0';
}

static int is_aligned(const struct mx_auth *a, const char *d, const char *from, enum dmarc_align mode)
{
	return d && *d && from && *from && dmarc_aligned(a->cfg.psl, d, from, mode);
}

static void decide(const struct mx_auth *a, const struct spf_outcome *so, const char *spf_domain,
		   const struct dkim_result *dr, size_t nd, const struct dmarc_outcome *dm,
		   struct mx_auth_verdict *v)
{
	const struct mx_auth_policy *p = &a->cfg.policy;
	char dom[128];

	v->quarantine = dm->result == DMARC_RES_FAIL && dm->disposition == DMARC_POLICY_QUARANTINE;
	if (p->spf_reject && so->result == SPF_FAIL) {
		shown(dom, sizeof(dom), spf_domain);
		v->action = MX_AUTH_REJECT;
		snprintf(v->reply, sizeof(v->reply), "550 5.7.1 SPF check failed: %s does not permit this sender", dom);
		return;
	}
	if (p->spf_reject && so->result == SPF_TEMPERROR) {
		shown(dom, sizeof(dom), spf_domain);
		v->action = MX_AUTH_DEFER;
		snprintf(v->reply, sizeof(v->reply), "451 4.7.0 Temporary DNS failure checking SPF for %s, try again later", dom);
		return;
	}
	if (!p->dmarc_reject)
		return;
	shown(dom, sizeof(dom), dm->from_domain);
	if (dm->result == DMARC_RES_TEMPERROR) {
		v->action = MX_AUTH_DEFER;
		snprintf(v->reply, sizeof(v->reply),
			 "451 4.7.0 Temporary DNS failure looking up the DMARC policy of %s, try again later", dom);
		return;
	}
	if (dm->result != DMARC_RES_FAIL || dm->disposition != DMARC_POLICY_REJECT)
		return;
	/* A result we could not get might have passed aligned. */
	bool unknown = so->result == SPF_TEMPERROR && is_aligned(a, spf_domain, dm->from_domain, dm->rec.aspf);
	for (size_t i = 0; i < nd && !unknown; i++)
		unknown = dr[i].status == DKIM_TEMPERROR && is_aligned(a, dr[i].domain, dm->from_domain, dm->rec.adkim);
	if (unknown) {
		v->action = MX_AUTH_DEFER;
		snprintf(v->reply, sizeof(v->reply),
			 "451 4.7.0 Temporary DNS failure authenticating %s for DMARC, try again later", dom);
	} else {
		v->action = MX_AUTH_REJECT;
		snprintf(v->reply, sizeof(v->reply), "550 5.7.1 Message rejected by the DMARC policy of %s", dom);
	}
}

/* The SMTP session lets no control characters through, but a value the
 * field would have to drop them from is left out rather than shown as
 * something it is not. */
static void add_identity(struct authres *ar, const char *property, const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 32 || *p == 127)
			return;
	if (*value)
		(void)authres_add_prop(ar, "smtp", property, value);
}

static unsigned draw_sample(void)
{
	uint32_t r = 0;
	if (scop_random_bytes(&r, sizeof(r)) < 0)
		return 0; /* sampled in: the policy applies */
	return r % 100;
}

int mx_auth_check(struct mx_auth *a, const struct mx_auth_input *in, struct mx_auth_verdict *v)
{
	struct spf_outcome so;
	struct dmarc_outcome dm;
	struct authres *ar;
	const struct dkim_result *dr = NULL;
	const struct arc_result *arc = NULL;
	size_t nd = 0;
	char from[256];
	const char *mail_from = in->mail_from ? in->mail_from : "";
	const char *helo = in->helo ? in->helo : "";
	const char *spf_domain, *sender;

	if (!a || !in || !v || (!in->msg && in->len))
		return -1;
	memset(v, 0, sizeof(*v));
	buf_init(&v->header, 0);
	memset(&so, 0, sizeof(so));
	memset(&dm, 0, sizeof(dm));
	ar = &a->ar;
	memset(ar, 0, sizeof(*ar));
	a->dns.deadline_ms = a->cfg.budget_ms ? now_ms() + a->cfg.budget_ms : 0;

	/* SPF: MAIL FROM, or the HELO identity for the null reverse-path
	 * (RFC 7208 2.4), checked as postmaster@helo. */
	if (*mail_from) {
		const char *at = strrchr(mail_from, '@');
		spf_domain = at ? at + 1 : mail_from;
		sender = mail_from;
		v->spf_identity = "mailfrom";
	} else {
		spf_domain = helo;
		sender = NULL;
		v->spf_identity = "helo";
	}
	if (!*spf_domain || *spf_domain == '[' ||
	    spf_check_host_str(&a->dns.base, in->client_ip ? in->client_ip : "", spf_domain, sender, helo, &so) < 0) {
		/* An address literal, or a client address we cannot read
		 * (not from a socket): nothing to check. */
		memset(&so, 0, sizeof(so));
		so.result = SPF_NONE;
	}
	v->spf = so.result;

	if (dkim_verifier_message(a->ver, in->msg ? in->msg : "", in->len, &dr, &nd) < 0)
		goto oom;
	v->ndkim = nd;
	v->dkim = DKIM_NONE;
	for (size_t i = 0; i < nd; i++)
		if (i == 0 || dr[i].status == DKIM_PASS)
			v->dkim = dr[i].status;

	/* ARC is reported, not acted on: trusting a sealer's verdict over a
	 * failing DMARC would need a list of sealers we trust. */
	if (arc_verifier_message(a->arc, in->msg ? in->msg : "", in->len, &arc) < 0)
		goto oom;
	v->arc = arc->status;

	if (mailhdr_resplit(in->msg ? in->msg : "", in->len, &a->hdr) == 0 &&
	    mailhdr_from_domain(&a->hdr, from, sizeof(from)) == 0) {
		struct dmarc_input di = {
			.from_domain = from,
			.spf_domain = spf_domain,
			.spf_pass = so.result == SPF_PASS,
			.dkim = dr,
			.ndkim = nd,
			.sample = draw_sample(),
		};
		if (dmarc_check(&a->dns.base, a->cfg.psl, &di, &dm) < 0)
			goto oom;
	} else {
		dm.result = DMARC_RES_PERMERROR; /* no single From domain */
	}
	v->dmarc = dm.result;
	v->disposition = dm.disposition;
	decide(a, &so, spf_domain, dr, nd, &dm, v);

	/* The field.  A property too long for the struct is left out rather
	 * than failing the message. */
	snprintf(ar->authserv_id, sizeof(ar->authserv_id), "%s", a->cfg.authserv_id);
	if (authres_add(ar, "spf", spf_result_name(so.result), NULL) < 0)
		goto oom;
	if (*mail_from)
		add_identity(ar, "mailfrom", mail_from);
	else
		add_identity(ar, "helo", helo);
	if (nd == 0 && authres_add(ar, "dkim", "none", NULL) < 0)
		goto oom;
	for (size_t i = 0; i < nd && ar->count < AUTHRES_MAX_RESULTS - 2; i++)
		(void)authres_add_dkim(ar, &dr[i]); /* the last two slots are arc's and dmarc's */
	if (arc->status != ARC_NONE)
		(void)arc_authres_add(ar, arc, in->client_ip);
	(void)authres_add_dmarc(ar, &dm);
	if (authres_write(ar, &v->header) < 0)
		goto oom;
	if (mx_auth_find_forged(in->msg ? in->msg : "", in->len, a->cfg.authserv_id, &v->cuts, &v->ncuts) < 0)
		goto oom;
	spf_outcome_free(&so);
	return 0;
oom:
	spf_outcome_free(&so);
	mx_auth_verdict_free(v);
	return -1;
}

/* ---- the pool ---- */

struct mx_auth_pool {
	struct mx_auth_config cfg;
	pthread_mutex_t lock;
	struct mx_auth **idle;
	size_t n_idle, max;
};

struct mx_auth_pool *mx_auth_pool_new(const struct mx_auth_config *cfg, size_t max)
{
	if (!cfg || !cfg->authserv_id || !cfg->dns || !cfg->psl || max == 0)
		return NULL;
	struct mx_auth_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->max = max;
	p->idle = calloc(max, sizeof(*p->idle));
	if (!p->idle || pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p->idle);
		free(p);
		return NULL;
	}
	return p;
}

void mx_auth_pool_free(struct mx_auth_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_idle; i++)
		mx_auth_free(p->idle[i]);
	free(p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct mx_auth *mx_auth_pool_take(struct mx_auth_pool *p)
{
	struct mx_auth *a = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->n_idle > 0)
		a = p->idle[--p->n_idle];
	pthread_mutex_unlock(&p->lock);
	return a ? a : mx_auth_new(&p->cfg);
}

void mx_auth_pool_give(struct mx_auth_pool *p, struct mx_auth *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->n_idle < p->max) {
		p->idle[p->n_idle++] = a;
		a = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	mx_auth_free(a);
}

int mx_auth_spooled(struct mx_auth_pool *p, struct spool_writer *w, const struct mx_auth_input *in,
		    struct mx_auth_verdict *v)
{
	struct mx_auth_input mi = *in;
	struct mx_auth *a = mx_auth_pool_take(p);
	int rc = -1;

	if (!a) {
		errno = ENOMEM;
		return -1;
	}
	if (spool_view(w, &mi.msg, &mi.len) < 0)
		goto out;
	if (mx_auth_check(a, &mi, v) < 0) {
		errno = ENOMEM;
		goto out;
	}
	if (v->action == MX_AUTH_ACCEPT &&
	    spool_edit(w, v->header.data, v->header.len, v->cuts, v->ncuts) < 0) {
		int e = errno;
		mx_auth_verdict_free(v);
		errno = e;
		goto out;
	}
	rc = 0;
out:
	mx_auth_pool_give(p, a);
	return rc;
}

int mx_auth_smtp_check(void *pool, struct spool_writer *w, const struct spool_envelope *env, char *reply,
		       size_t replylen)
{
	struct mx_auth_input in = { .client_ip = env->client, .helo = env->helo, .mail_from = env->from };
	struct mx_auth_verdict v;

	if (mx_auth_spooled(pool, w, &in, &v) < 0) {
		log_error("mail authentication failed for a message from %s: %s", env->client, strerror(errno));
		return -1;
	}
	log_info("auth: %s client=%s spf=%s (%s) dkim=%s (%zu signatures) arc=%s dmarc=%s%s%s%s", spool_writer_id(w),
		 env->client, spf_result_name(v.spf), v.spf_identity, dkim_status_name(v.dkim), v.ndkim,
		 arc_status_name(v.arc), dmarc_result_name(v.dmarc), v.quarantine ? " quarantine" : "",
		 v.ncuts ? " forged-authentication-results-removed" : "",
		 v.action == MX_AUTH_REJECT ? " rejected" : v.action == MX_AUTH_DEFER ? " deferred" : "");
	int rc = v.action == MX_AUTH_ACCEPT ? 0 : 1;
	if (rc)
		snprintf(reply, replylen, "%s", v.reply);
	mx_auth_verdict_free(&v);
	return rc;
}
