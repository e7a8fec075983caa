/* scop-relay: the outbound relay daemon.  It reads the same configuration
 * file as scop-mailbridge, delivers the spool's submission mail and is
 * the only process that opens the DKIM signing keys (relay.dkim): the
 * SMTP listener, which parses mail from the internet, never holds them.
 *
 *   scop-relay -c CONFIG.yaml           run until SIGTERM/SIGINT
 *   scop-relay -c CONFIG.yaml --once    one pass over the queue, then exit
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/relay.h"
#include "bridge-smtp/relay_config.h"
#include "bridge-smtp/smtp_client.h"
#include "bridge-smtp/smtp_config.h"
#include "common/dns.h"
#include "common/log.h"

struct keys {
	struct relay_signer *signers;
	struct dkim_privkey **priv;
	size_t n;
};

static void keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++) {
		dkim_signer_free(k->signers[i].signer);
		dkim_privkey_free(k->priv[i]);
	}
	free(k->signers);
	free(k->priv);
}

static int keys_load(const struct relay_config *rc, struct keys *k)
{
	memset(k, 0, sizeof(*k));
	if (!rc->n_dkim)
		return 0;
	k->signers = calloc(rc->n_dkim, sizeof(*k->signers));
	k->priv = calloc(rc->n_dkim, sizeof(*k->priv));
	if (!k->signers || !k->priv)
		return -1;
	for (size_t i = 0; i < rc->n_dkim; i++) {
		const struct relay_dkim_config *d = &rc->dkim[i];
		char err[256];
		struct dkim_privkey *pk;
		if (dkim_privkey_load(d->key_file, &pk, err, sizeof(err)) < 0) {
			log_error("DKIM key for %s: %s", d->domain, err);
			return -1;
		}
		struct dkim_sign_opts so = {
			.domain = d->domain,
			.selector = d->selector,
			.hcanon = DKIM_CANON_RELAXED,
			.bcanon = DKIM_CANON_RELAXED,
		};
		struct dkim_signer *s = dkim_signer_new(&so, pk, err, sizeof(err));
		k->priv[k->n] = pk;
		k->signers[k->n].domain = d->domain;
		k->signers[k->n].signer = s;
		k->n++;
		if (!s) {
			log_error("DKIM signer for %s: %s", d->domain, err);
			return -1;
		}
		log_info("DKIM signing for %s with selector %s", d->domain, d->selector);
	}
	return 0;
}

/* A pending SIGTERM/SIGINT (blocked, taken by sigtimedwait later) ends
 * a pass between two messages. */
static bool stop_pending(void *ctx)
{
	sigset_t p;
	(void)ctx;
	if (sigpending(&p) < 0)
		return false;
	return sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1;
}

/* One relay per spool: a second would deliver everything twice. */
static int take_lock(const char *spool_dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/relay.lock", spool_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int run(const struct smtp_config *cfg, const struct relay_config *rc, bool once)
{
	int ret = 1, lock = -1;
	struct keys keys = { 0 };
	struct dns_resolver *dns = NULL;
	SSL_CTX *tls = NULL;
	struct relay *relay = NULL;
	struct spool sp;
	char err[256];
	bool spool_ok = false;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (spool_open(&sp, cfg->spool_dir, false, NULL) < 0) {
		log_error("cannot open spool %s: %s", cfg->spool_dir, strerror(errno));
		return 1;
	}
	spool_ok = true;
	if ((lock = take_lock(cfg->spool_dir)) < 0) {
		log_error("another scop-relay holds %s/relay.lock", cfg->spool_dir);
		goto out;
	}
	if (keys_load(rc, &keys) < 0)
		goto out;
	struct dns_resolver_options ro = {
		.forwarder = cfg->mail_auth.dns_forwarder,
		.trust_anchor_file = cfg->mail_auth.dns_trust_anchor,
		.use_root_anchor = cfg->mail_auth.dns_root_anchor,
		.timeout_ms = cfg->mail_auth.dns_timeout_ms,
	};
	if (!(dns = dns_unbound_new(&ro, err, sizeof(err)))) {
		log_error("resolver: %s", err);
		goto out;
	}
	if (rc->tls != RELAY_TLS_NONE && !(tls = smtp_client_tls_ctx_new(err, sizeof(err)))) {
		log_error("%s", err);
		goto out;
	}
	struct relay_opts o = {
		.hostname = cfg->hostname,
		.local_domains = (const char *const *)cfg->local_domains,
		.n_local_domains = cfg->n_local_domains,
		.cfg = rc,
		.dns = dns,
		.dns_timeout_ms = cfg->mail_auth.dns_timeout_ms,
		.tls = tls,
		.spool = &sp,
		.signers = keys.signers,
		.n_signers = keys.n,
		.should_stop = stop_pending,
	};
	if (!(relay = relay_new(&o, err, sizeof(err)))) {
		log_error("%s", err);
		goto out;
	}
	log_info("relaying submission mail from %s (tls %s, port %d)", cfg->spool_dir,
		 rc->tls == RELAY_TLS_REQUIRE ? "required" : rc->tls == RELAY_TLS_NONE ? "off"
		 : rc->tls == RELAY_TLS_DANE ? "dane" : "opportunistic",
		 rc->port);
	for (;;) {
		struct relay_stats st;
		relay_run_once(relay, (int64_t)time(NULL), &st);
		if (st.messages)
			log_info("pass: %zu message(s), %zu sent, %zu failed, %zu deferred, %zu DSN(s)", st.messages,
				 st.sent, st.failed, st.deferred, st.dsns);
		if (once)
			break;
		struct timespec ts = { .tv_sec = rc->poll_ms / 1000, .tv_nsec = (long)(rc->poll_ms % 1000) * 1000000 };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: stopping", sig);
			break;
		}
	}
	ret = 0;
out:
	relay_free(relay);
	SSL_CTX_free(tls);
	dns_resolver_free(dns);
	keys_free(&keys);
	if (lock >= 0)
		close(lock);
	if (spool_ok)
		spool_close(&sp);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool once = false;
	int o;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			once = true;
			break;
		case 'h':
			printf("usage: scop-relay -c CONFIG.yaml [--once]\n");
			return 0;
		default:
			fprintf(stderr, "usage: scop-relay -c CONFIG.yaml [--once]\n");
			return 2;
		}
	}
	if (!path || optind != argc) {
		fprintf(stderr, "usage: scop-relay -c CONFIG.yaml [--once]\n");
		return 2;
	}
	scop_log_init("scop-relay", SCOP_LOG_INFO);
	struct smtp_config cfg;
	struct relay_config rc;
	char err[512];
	if (smtp_config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-relay: %s\n", err);
		return 1;
	}
	if (relay_config_load(path, &rc, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-relay: %s\n", err);
		smtp_config_free(&cfg);
		return 1;
	}
	enum scop_log_level lvl;
	if (cfg.log_level && scop_log_level_parse(cfg.log_level, &lvl) == 0)
		scop_log_init("scop-relay", lvl);
	signal(SIGPIPE, SIG_IGN);
	int ret = 0;
	if (!rc.enabled)
		log_info("relay disabled in %s (relay.enabled: false)", path);
	else
		ret = run(&cfg, &rc, once);
	relay_config_free(&rc);
	smtp_config_free(&cfg);
	return ret;
}
