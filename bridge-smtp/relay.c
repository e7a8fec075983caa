/* The outbound delivery queue; see relay.h. */
#include "bridge-smtp/relay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/relay_dane.h"
#include "bridge-smtp/relay_dsn.h"
#include "bridge-smtp/relay_mx.h"
#include "bridge-smtp/relay_state.h"
#include "bridge-smtp/smtp_client.h"
#include "bridge-smtp/smtp_fromhdr.h"
#include "common/log.h"

#define MAX_ADDRS 16

/* What the previous pass learnt about a queue file, so that a waiting
 * message or another part's file is not re-read every pass. */
struct seen {
	char id[SPOOL_ID_MAX];
	int64_t next;   /* not before this */
	int not_mine;   /* MX mail: never ours */
};

struct relay {
	struct relay_opts o;
	int state_fd;
	struct seen *seen;
	size_t n_seen;
	struct buf sig;
	struct smtp_client_timeouts timeouts;
};

/* Records whose queue file is gone (a crash between removing the two)
 * and half-written ones (a crash before rename) are left-overs. */
static void clean_records(struct relay *r)
{
	int fd = dup(r->state_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	size_t removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		if (name[0] == '.')
			continue;
		size_t n = strlen(name);
		bool tmp = n > 4 && strcmp(name + n - 4, ".tmp") == 0;
		if (!tmp && faccessat(r->o.spool->queue_fd, name, F_OK, 0) == 0)
			continue;
		if (unlinkat(r->state_fd, name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed) {
		fsync(r->state_fd);
		log_info("relay: removed %zu left-over delivery record(s)", removed);
	}
}

struct relay *relay_new(const struct relay_opts *o, char *err, size_t errlen)
{
	struct relay *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->o = *o;
	buf_init(&r->sig, 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s/relay", o->spool->dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	if ((r->state_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	r->timeouts = o->cfg->timeouts;
	clean_records(r);
	return r;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	close(r->state_fd);
	free(r->seen);
	buf_free(&r->sig);
	free(r);
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

static bool is_local(const struct relay *r, const char *domain)
{
	for (size_t i = 0; i < r->o.n_local_domains; i++)
		if (strcasecmp(r->o.local_domains[i], domain) == 0)
			return true;
	return false;
}

static void set_rcpt(struct relay_rcpt *rc, enum relay_rcpt_state st, int code, const char *enh, const char *host,
		     const char *text)
{
	rc->state = st;
	rc->code = code;
	snprintf(rc->enh, sizeof(rc->enh), "%s", enh ? enh : "");
	snprintf(rc->host, sizeof(rc->host), "%s", host ? host : "");
	size_t n = text ? strnlen(text, sizeof(rc->text) - 1) : 0;
	if (n)
		memmove(rc->text, text, n);
	rc->text[n] = '\0';
}

/* Signs m with the key of its From: domain (else its sender's domain);
 * leaves r->sig empty when there is no key or signing fails. */
static void sign(struct relay *r, const struct spool_message *m)
{
	buf_reset(&r->sig);
	if (!r->o.n_signers)
		return;
	struct smtp_fromhdr h;
	char addr[512];
	size_t pos = 0;
	smtp_fromhdr_init(&h);
	smtp_fromhdr_feed(&h, m->data, m->size);
	const char *dom = domain_of(m->from);
	if (h.n_from && !h.overflow && smtp_fromhdr_next(h.value, h.len, &pos, addr, sizeof(addr)) == 1)
		dom = domain_of(addr);
	for (size_t i = 0; i < r->o.n_signers; i++) {
		if (strcasecmp(r->o.signers[i].domain, dom) != 0)
			continue;
		char err[256];
		if (dkim_signer_message(r->o.signers[i].signer, m->data, m->size, &r->sig, err, sizeof(err)) < 0) {
			log_warn("relay: %s: DKIM signing failed (%s); sending unsigned", m->id, err);
			buf_reset(&r->sig);
		}
		return;
	}
	log_debug("relay: %s: no DKIM key for %s", m->id, dom);
}

/* Says what TLS a session had, in the words Postfix uses ("Verified TLS
 * connection established to mx[192.0.2.1]:25: ..."), so operators can grep
 * for the same lines. */
static void log_tls(const char *id, const char *host, const struct sockaddr_storage *sa, int port,
		    const struct smtp_client *c, enum relay_dane_mode mode)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
	else if (sa->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
	if (c->tls_active)
		log_info("relay: %s: %s TLS connection established to %s[%s]:%d: %s", id,
			 c->tls_verified ? "Verified" : "Untrusted", host, ip, port, c->tls_info);
	else if (c->tls_failed && mode == RELAY_DANE_VERIFY)
		log_warn("relay: %s: DANE verification failed for %s[%s]:%d: %s; deferring", id, host, ip, port,
			 c->tls_info[0] ? c->tls_info : "TLS handshake failed");
	else if (mode == RELAY_DANE_VERIFY || mode == RELAY_DANE_ENCRYPT)
		log_warn("relay: %s: no TLS with %s[%s]:%d though DANE requires it; deferring", id, host, ip, port);
}

/* One domain's recipients (indices idx[0..n)) of m: route, then try the
 * hosts in order until one of them takes the transaction. */
static int deliver_domain(struct relay *r, const struct spool_message *m, struct relay_state *st, const char *domain,
			  const size_t *idx, size_t n)
{
	struct relay_route route;
	if (relay_route_resolve(r->o.dns, domain, r->o.dns_timeout_ms, &route) < 0)
		return -1;
	if (route.status != RELAY_ROUTE_OK) {
		enum relay_rcpt_state s = route.status == RELAY_ROUTE_PERM ? RELAY_FAILED : RELAY_PENDING;
		for (size_t i = 0; i < n; i++)
			set_rcpt(&st->rcpts[idx[i]], s, 0, route.enh, "", route.why);
		log_info("relay: %s: %s: %s", m->id, domain, route.why);
		relay_route_free(&route);
		return 0;
	}
	const char **rcpts = calloc(n, sizeof(*rcpts));
	struct smtp_rcpt_result *res = calloc(n, sizeof(*res));
	size_t *left = calloc(n, sizeof(*left));
	if (!rcpts || !res || !left) {
		free(rcpts);
		free(res);
		free(left);
		relay_route_free(&route);
		return -1;
	}
	size_t nleft = n;
	memcpy(left, idx, n * sizeof(*left));
	bool require = relay_config_require_tls(r->o.cfg, domain);
	bool can_tls = r->o.tls && r->o.cfg->tls != RELAY_TLS_NONE;
	int tempfail = 0;
	size_t addrs_seen = 0;
	bool done = false;
	for (size_t h = 0; h < route.n_hosts && !done; h++) {
		const char *host = route.hosts[h].name;
		struct sockaddr_storage addrs[MAX_ADDRS];
		socklen_t lens[MAX_ADDRS];
		int addrs_secure = 0;
		size_t na = relay_host_addrs(r->o.dns, host, r->o.cfg->port, r->o.dns_timeout_ms, addrs, lens, MAX_ADDRS,
					     &tempfail, &addrs_secure);
		addrs_seen += na;
		struct relay_dane dane = { .mode = RELAY_DANE_NONE };
		if (na > 0 && can_tls && r->o.cfg->tls == RELAY_TLS_DANE) {
			if (relay_dane_lookup(r->o.dns, host, r->o.cfg->port, route.secure, addrs_secure != 0,
					      r->o.dns_timeout_ms, &dane) < 0) {
				done = true;
				break;
			}
			log_debug("relay: %s: %s via %s: DANE %s (%s)", m->id, domain, host,
				  relay_dane_mode_name(dane.mode), dane.why);
			if (dane.mode == RELAY_DANE_DEFER) {
				/* RFC 7672 2.2: a host whose TLSA records cannot
				 * be had is skipped, never used in the clear. */
				log_info("relay: %s: %s via %s: %s; not connecting", m->id, domain, host, dane.why);
				for (size_t i = 0; i < nleft; i++)
					set_rcpt(&st->rcpts[left[i]], RELAY_PENDING, 0, "4.7.5", host, dane.why);
				relay_dane_free(&dane);
				continue;
			}
		}
		bool host_require = require || dane.mode == RELAY_DANE_VERIFY || dane.mode == RELAY_DANE_ENCRYPT;
		struct smtp_client_dane cd = { .tlsa = dane.tlsa, .n_tlsa = dane.n_tlsa, .mx_host = host,
					       .nexthop = domain };
		for (size_t a = 0; a < na && !done; a++) {
			bool use_tls = can_tls;
			for (int round = 0; round < 2 && !done; round++) {
				char err[256];
				int fd = smtp_client_connect((struct sockaddr *)&addrs[a], lens[a],
							     r->o.cfg->connect_timeout_ms, err, sizeof(err));
				if (fd < 0) {
					log_info("relay: %s: %s via %s: %s", m->id, domain, host, err);
					for (size_t i = 0; i < nleft; i++)
						set_rcpt(&st->rcpts[left[i]], RELAY_PENDING, 0, "4.4.1", host, err);
					break;
				}
				for (size_t i = 0; i < nleft; i++)
					rcpts[i] = m->rcpts[left[i]];
				struct smtp_client_envelope env = {
					.from = m->from,
					.rcpts = rcpts,
					.n_rcpts = nleft,
					.size = m->size + r->sig.len,
					.body_8bit = m->body && strcmp(m->body, "8BITMIME") == 0,
					.smtputf8 = m->smtputf8,
				};
				struct smtp_client_opts co = { .helo = r->o.hostname, .tls_available = use_tls,
							       .require_tls = host_require,
							       .dane = dane.mode == RELAY_DANE_VERIFY ? &cd : NULL };
				struct smtp_client c;
				smtp_client_start(&c, &co, &env, res);
				int rc = smtp_client_run(&c, fd, use_tls ? r->o.tls : NULL, host, &r->timeouts, r->sig.data,
							 r->sig.len, m->data, m->size);
				size_t keep = 0;
				for (size_t i = 0; i < nleft; i++) {
					struct relay_rcpt *rr = &st->rcpts[left[i]];
					const struct smtp_rcpt_result *x = &res[i];
					enum relay_rcpt_state s = x->status == SMTP_RCPT_OK	  ? RELAY_SENT
								  : x->status == SMTP_RCPT_PERM ? RELAY_FAILED
												: RELAY_PENDING;
					set_rcpt(rr, s, x->code, x->enh, host, x->text);
					if (s == RELAY_PENDING)
						left[keep++] = left[i];
				}
				log_tls(m->id, host, &addrs[a], r->o.cfg->port, &c, dane.mode);
				const struct smtp_rcpt_result *why = c.delivered || c.why.code || c.why.text[0] ? &c.why : &res[0];
				log_info("relay: %s: %s via %s: %s%s (%d %s %s)", m->id, domain, host,
					 c.delivered ? "delivered" : "not delivered", c.tls_active ? " over TLS" : "",
					 why->code, why->enh, why->text);
				nleft = keep;
				bool retry_plain = c.tls_failed && !host_require;
				smtp_client_free(&c);
				if (rc < 0) {
					done = true;
					break;
				}
				if (!c.host_failed || nleft == 0) {
					done = true;
				} else if (retry_plain && use_tls) {
					/* Opportunistic TLS that fails must not
					 * stop the mail: once more in the clear. */
					use_tls = false;
					continue;
				}
				break;
			}
		}
		relay_dane_free(&dane);
	}
	if (!done && addrs_seen == 0 && !tempfail) {
		for (size_t i = 0; i < nleft; i++)
			set_rcpt(&st->rcpts[left[i]], RELAY_FAILED, 0, "5.4.4", route.hosts[0].name,
				 "no address records for the mail host(s)");
	}
	free(rcpts);
	free(res);
	free(left);
	relay_route_free(&route);
	return 0;
}

static int save(struct relay *r, const char *id, const struct relay_state *st)
{
	if (relay_state_save(r->state_fd, id, st) < 0) {
		log_error("relay: %s: cannot record delivery state: %s", id, strerror(errno));
		return -1;
	}
	return 0;
}

/* Reports newly failed recipients to the sender. */
static int bounce(struct relay *r, const struct spool_message *m, struct relay_state *st, int64_t now,
		  struct relay_stats *stats)
{
	bool any = false;
	for (size_t i = 0; i < st->n; i++)
		any = any || st->rcpts[i].state == RELAY_FAILED;
	if (!any)
		return 0;
	if (m->from[0]) {
		struct buf dsn = BUF_INIT;
		if (relay_dsn_build(r->o.hostname, m, st, now, &dsn) < 0) {
			buf_free(&dsn);
			return -1;
		}
		const char *rcpt[1] = { m->from };
		bool local = is_local(r, domain_of(m->from));
		struct spool_envelope env = {
			.listener = local ? "mx" : "submission",
			.client = "127.0.0.1",
			.helo = r->o.hostname,
			.tls = "none",
			.body = m->body && strcmp(m->body, "8BITMIME") == 0 ? "8BITMIME" : "7BIT",
			.smtputf8 = m->smtputf8,
			.from = "",
			.rcpts = rcpt,
			.n_rcpts = 1,
			.received = now,
		};
		char id[SPOOL_ID_MAX];
		int rc = spool_store(r->o.spool, &env, dsn.data, dsn.len, id);
		buf_free(&dsn);
		if (rc < 0) {
			log_error("relay: %s: cannot store the DSN: %s", m->id, strerror(errno));
			return -1;
		}
		log_info("relay: %s: DSN to <%s> queued as %s", m->id, m->from, id);
		if (stats)
			stats->dsns++;
	} else {
		log_info("relay: %s: failed recipients of a bounce (<> sender): no DSN", m->id);
	}
	for (size_t i = 0; i < st->n; i++)
		if (st->rcpts[i].state == RELAY_FAILED)
			st->rcpts[i].state = RELAY_BOUNCED;
	return save(r, m->id, st);
}

/* One attempt at a due message.  Returns when to look again: -1 never
 * (not ours), 0 now gone, else the next attempt's time. */
static int64_t process(struct relay *r, const char *id, int64_t now, struct relay_stats *stats)
{
	struct spool_message m;
	if (spool_load(r->o.spool, id, &m) < 0) {
		if (errno != ENOENT)
			log_error("relay: queue file %s is unreadable: %s", id, strerror(errno));
		return now + 60;
	}
	if (strcmp(m.listener, "submission") != 0) {
		spool_message_free(&m);
		return -1;
	}
	struct relay_state st;
	int64_t next = now + 60;
	if (relay_state_load(r->state_fd, id, m.n_rcpts, &st) < 0) {
		log_error("relay: %s: delivery record unreadable (%s); starting afresh", id, strerror(errno));
		if (relay_state_init(&st, m.n_rcpts) < 0)
			goto out_msg;
	}
	if (st.next > now) {
		next = st.next;
		goto out;
	}
	if (stats)
		stats->messages++;
	int64_t deadline = m.received + r->o.cfg->max_age_s;
	if (now >= deadline) {
		for (size_t i = 0; i < st.n; i++) {
			struct relay_rcpt *rc = &st.rcpts[i];
			if (rc->state != RELAY_PENDING)
				continue;
			char why[256];
			snprintf(why, sizeof(why), "delivery time expired; last error: %.200s",
				 rc->text[0] ? rc->text : "none");
			set_rcpt(rc, RELAY_FAILED, 0, "4.4.7", rc->host, why);
		}
	} else {
		sign(r, &m);
		size_t *idx = calloc(m.n_rcpts, sizeof(*idx));
		bool *taken = calloc(m.n_rcpts, sizeof(*taken));
		if (!idx || !taken) {
			free(idx);
			free(taken);
			goto out;
		}
		for (size_t i = 0; i < m.n_rcpts; i++) {
			if (taken[i] || st.rcpts[i].state != RELAY_PENDING)
				continue;
			const char *dom = domain_of(m.rcpts[i]);
			size_t n = 0;
			for (size_t j = i; j < m.n_rcpts; j++) {
				if (!taken[j] && st.rcpts[j].state == RELAY_PENDING &&
				    strcasecmp(domain_of(m.rcpts[j]), dom) == 0) {
					idx[n++] = j;
					taken[j] = true;
				}
			}
			if (deliver_domain(r, &m, &st, dom, idx, n) < 0 || save(r, id, &st) < 0) {
				free(idx);
				free(taken);
				goto out;
			}
		}
		free(idx);
		free(taken);
	}
	if (stats) {
		for (size_t i = 0; i < st.n; i++) {
			stats->sent += st.rcpts[i].state == RELAY_SENT;
			stats->failed += st.rcpts[i].state == RELAY_FAILED;
			stats->deferred += st.rcpts[i].state == RELAY_PENDING;
		}
	}
	if (bounce(r, &m, &st, now, stats) < 0)
		goto out;
	if (relay_state_done(&st)) {
		/* The queue file first: a crash between the two leaves a
		 * record without a message, which is harmless. */
		if (spool_remove(r->o.spool, id) < 0 && errno != ENOENT) {
			log_error("relay: %s: cannot remove the queue file: %s", id, strerror(errno));
			goto out;
		}
		relay_state_remove(r->state_fd, id);
		log_info("relay: %s: done", id);
		next = 0;
		goto out;
	}
	st.attempts++;
	size_t step = st.attempts - 1 < r->o.cfg->n_retry ? st.attempts - 1 : r->o.cfg->n_retry - 1;
	st.next = now + r->o.cfg->retry[step];
	if (st.next > deadline)
		st.next = deadline;
	next = st.next;
	save(r, id, &st);
out:
	relay_state_free(&st);
out_msg:
	spool_message_free(&m);
	return next;
}

static int cmp_seen(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->id, ((const struct seen *)b)->id);
}

int relay_run_once(struct relay *r, int64_t now, struct relay_stats *stats)
{
	char **ids;
	size_t n;
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (spool_list(r->o.spool, &ids, &n) < 0) {
		log_error("relay: cannot list the queue: %s", strerror(errno));
		return -1;
	}
	struct seen *next = n ? calloc(n, sizeof(*next)) : NULL;
	if (n && !next) {
		spool_list_free(ids, n);
		return -1;
	}
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		struct seen key;
		snprintf(key.id, sizeof(key.id), "%s", ids[i]);
		const struct seen *old =
			r->n_seen ? bsearch(&key, r->seen, r->n_seen, sizeof(*r->seen), cmp_seen) : NULL;
		if (old && (old->not_mine || old->next > now)) {
			next[nn++] = *old;
			continue;
		}
		if (r->o.should_stop && r->o.should_stop(r->o.stop_ctx)) {
			/* Unvisited files are simply looked at next time. */
			next[nn] = key;
			next[nn].next = 0;
			next[nn].not_mine = 0;
			nn++;
			continue;
		}
		int64_t when = process(r, ids[i], now, stats);
		if (when == 0)
			continue;
		next[nn] = key;
		next[nn].not_mine = when < 0;
		next[nn].next = when < 0 ? 0 : when;
		nn++;
	}
	spool_list_free(ids, n);
	/* ids come sorted from spool_list, so next is sorted too. */
	free(r->seen);
	r->seen = next;
	r->n_seen = nn;
	return 0;
}
