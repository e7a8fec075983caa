/* scop-mailbridge: the daemon entry.  This process parses mail from the
 * internet, so it holds only what SMTP needs (the TLS key for STARTTLS);
 * DKIM signing keys and the appservice token belong to other processes.
 *
 *   scop-mailbridge -c CONFIG.yaml                 serve
 *   scop-mailbridge -c CONFIG.yaml --list-queue    print the spooled messages
 *   scop-mailbridge -c CONFIG.yaml --generate-config   write an example config
 *                                                  (if the file does not exist)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bridge-smtp/smtp_auth.h"
#include "bridge-smtp/smtp_config.h"
#include "bridge-smtp/smtp_server.h"
#include "bridge-smtp/spool.h"
#include "common/log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: scop-mailbridge -c CONFIG.yaml [--list-queue | --generate-config]\n");
}

static int generate_config(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "scop-mailbridge: cannot create %s: %s\n", path, strerror(errno));
		return 1;
	}
	const char *text = smtp_config_example();
	size_t n = strlen(text);
	int rc = write(fd, text, n) == (ssize_t)n ? 0 : 1;
	if (close(fd) < 0)
		rc = 1;
	if (rc == 0)
		printf("wrote %s\n", path);
	return rc;
}

static int list_queue(struct spool *sp)
{
	char **ids;
	size_t n;
	if (spool_list(sp, &ids, &n) < 0) {
		fprintf(stderr, "scop-mailbridge: cannot list the queue: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct spool_message m;
		if (spool_load(sp, ids[i], &m) < 0) {
			printf("%s\tunreadable (%s)\n", ids[i], strerror(errno));
			continue;
		}
		printf("%s\t%s\tfrom=<%s>\tsize=%zu", m.id, m.listener, m.from, m.size);
		for (size_t r = 0; r < m.n_rcpts; r++)
			printf("\trcpt=<%s>", m.rcpts[r]);
		printf("\n");
		spool_message_free(&m);
	}
	spool_list_free(ids, n);
	return 0;
}

/* Messages left in the queue by an earlier run: checked and reported, so
 * that the next stage (mapping to Matrix) picks them up in order. */
static void recover_queue(struct spool *sp)
{
	char **ids;
	size_t n;
	if (spool_list(sp, &ids, &n) < 0) {
		log_error("cannot list the queue: %s", strerror(errno));
		return;
	}
	size_t good = 0;
	for (size_t i = 0; i < n; i++) {
		struct spool_message m;
		if (spool_load(sp, ids[i], &m) < 0) {
			log_error("queue file %s is unreadable: %s", ids[i], strerror(errno));
			continue;
		}
		log_info("recovered queued message %s (from=<%s>, %zu recipients, %zu bytes)", m.id, m.from,
			 m.n_rcpts, m.size);
		spool_message_free(&m);
		good++;
	}
	log_info("queue: %zu message(s) waiting", good);
	spool_list_free(ids, n);
}

static void on_queued(void *ctx, const char *id)
{
	(void)ctx;
	(void)id; /* the Matrix mapping stage hooks in here */
}

/* Signals are taken by a thread in sigwait(), which needs no global
 * state to reach the server. */
struct sigwaiter {
	struct smtp_server *srv;
	sigset_t set;
};

static void *signal_thread(void *arg)
{
	struct sigwaiter *w = arg;
	int sig;
	if (sigwait(&w->set, &sig) == 0) {
		if (sig != SIGUSR1)
			log_info("signal %d: shutting down", sig);
		smtp_server_stop(w->srv);
	}
	return NULL;
}

static int serve(struct smtp_config *cfg, struct spool *sp)
{
	int rc = 1;
	char err[256];
	SSL_CTX *tls = NULL;
	struct smtp_auth_hs *hs = NULL;
	struct smtp_auth_checker checker;
	struct smtp_server *srv = NULL;

	if (cfg->tls_cert && !(tls = smtp_tls_ctx_new(cfg->tls_cert, cfg->tls_key, err, sizeof(err)))) {
		log_error("%s", err);
		goto out;
	}
	if (cfg->submission.enabled && !tls)
		log_warn("submission listener without tls: AUTH will never be offered");
	if (cfg->homeserver_url) {
		if (!(hs = smtp_auth_hs_new(cfg->homeserver_url, (long)cfg->auth_timeout_s * 1000)))
			goto out;
		smtp_auth_hs_checker(hs, &checker);
	}
	struct smtp_server_config scfg = {
		.hostname = cfg->hostname,
		.local_domains = (const char *const *)cfg->local_domains,
		.n_local_domains = cfg->n_local_domains,
		.limits = cfg->limits,
		.idle_timeout_s = cfg->idle_timeout_s,
		.session_timeout_s = cfg->session_timeout_s,
		.max_sessions = cfg->max_sessions,
		.client_limits = cfg->client_limits,
		.sender_policy = &cfg->sender_policy,
		.tls = tls,
		.auth = hs ? &checker : NULL,
		.spool = sp,
		.on_queued = on_queued,
	};
	if (!(srv = smtp_server_new(&scfg))) {
		log_error("cannot create the server");
		goto out;
	}
	size_t idx = 0;
	if (cfg->mx.enabled) {
		if (smtp_server_listen(srv, cfg->mx.address, cfg->mx.port, SMTP_ROLE_MX, err, sizeof(err)) < 0) {
			log_error("%s", err);
			goto out;
		}
		log_info("MX listener on %s port %d", cfg->mx.address, smtp_server_port(srv, idx++));
	}
	if (cfg->submission.enabled) {
		if (smtp_server_listen(srv, cfg->submission.address, cfg->submission.port, SMTP_ROLE_SUBMISSION,
				       err, sizeof(err)) < 0) {
			log_error("%s", err);
			goto out;
		}
		log_info("submission listener on %s port %d", cfg->submission.address,
			 smtp_server_port(srv, idx++));
	}

	struct sigwaiter w = { .srv = srv };
	sigemptyset(&w.set);
	sigaddset(&w.set, SIGTERM);
	sigaddset(&w.set, SIGINT);
	sigaddset(&w.set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &w.set, NULL);
	pthread_t st;
	if (pthread_create(&st, NULL, signal_thread, &w) != 0) {
		log_error("cannot start the signal thread");
		goto out;
	}
	rc = smtp_server_run(srv) == 0 ? 0 : 1;
	/* Wakes the signal thread if the loop ended on its own. */
	pthread_kill(st, SIGUSR1);
	pthread_join(st, NULL);
	log_info("stopped");
out:
	smtp_server_free(srv);
	smtp_auth_hs_free(hs);
	SSL_CTX_free(tls);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "list-queue", no_argument, NULL, 'l' },
		{ "generate-config", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool do_list = false, do_generate = false;
	int o;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			do_list = true;
			break;
		case 'g':
			do_generate = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (do_generate)
		return generate_config(path);

	struct smtp_config cfg;
	char err[512];
	scop_log_init("scop-mailbridge", SCOP_LOG_INFO);
	if (smtp_config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-mailbridge: %s\n", err);
		return 1;
	}
	enum scop_log_level lvl;
	if (cfg.log_level) {
		if (scop_log_level_parse(cfg.log_level, &lvl) < 0) {
			fprintf(stderr, "scop-mailbridge: bad log_level '%s'\n", cfg.log_level);
			smtp_config_free(&cfg);
			return 1;
		}
		scop_log_init("scop-mailbridge", lvl);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Each session in DATA holds a socket and a spool file. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	struct spool sp;
	size_t removed = 0;
	if (spool_open(&sp, cfg.spool_dir, !do_list, &removed) < 0) {
		log_error("cannot open spool %s: %s", cfg.spool_dir, strerror(errno));
		smtp_config_free(&cfg);
		return 1;
	}
	int rc;
	if (do_list) {
		rc = list_queue(&sp);
	} else {
		if (removed)
			log_info("spool: removed %zu unfinished file(s) left by a crash", removed);
		recover_queue(&sp);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = serve(&cfg, &sp);
		curl_global_cleanup();
	}
	spool_close(&sp);
	smtp_config_free(&cfg);
	return rc;
}
