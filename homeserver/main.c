/* scopd: the homeserver.
 *   scopd -c PATH --generate-config --server-name NAME [--data-dir DIR]
 *   scopd -c PATH
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <pthread.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/httpc.h"
#include "common/log.h"
#include "federation/api_federation.h"
#include "homeserver/api_push.h"
#include "homeserver/api_relsearch.h"
#include "homeserver/config.h"
#include "homeserver/hs.h"
#include "homeserver/http.h"
#include "homeserver/store/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: scopd -c CONFIG [--generate-config --server-name NAME [--data-dir DIR]]\n");
}

/* Config-listed registration tokens become unlimited store tokens. */
static int seed_regtokens(struct store *st, const struct hs_config *cfg)
{
	if (!cfg->registration_tokens)
		return 0;
	for (char **t = cfg->registration_tokens; *t; t++) {
		enum store_rc rc = store_regtoken_create(st, *t, -1, 0);
		if (rc != STORE_OK && rc != STORE_CONFLICT)
			return -1;
	}
	return 0;
}

static int load_or_make_key(const char *path)
{
	struct scop_ed25519 key;
	int rc = 0;
	if (scop_ed25519_load(path, &key) == 0) {
		log_info("signing key %s loaded", key.key_id);
	} else if (access(path, F_OK) == 0) {
		log_error("%s: malformed signing key", path);
		rc = -1;
	} else if (scop_ed25519_generate(&key, "a_scop") < 0 || scop_ed25519_save(path, &key) < 0) {
		log_error("%s: cannot create a signing key", path);
		rc = -1;
	} else {
		log_info("generated signing key %s in %s", key.key_id, path);
	}
	scop_ed25519_clear(&key);
	return rc;
}

/* Raises the soft descriptor limit to the hard one: every open client
 * connection (and every suspended long poll) holds a descriptor. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A whole (small) file as a string; NULL when unreadable. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1))) {
		if (fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else {
			data[n] = '\0';
		}
	}
	fclose(f);
	return data;
}

static int serve(const char *path)
{
	struct hs_config cfg;
	struct store *st = NULL;
	struct hs hs;
	struct fed_service *fed = NULL;
	struct http_server *srv = NULL;
	struct http_tls tls = { NULL, NULL };
	char *cert = NULL, *key = NULL;
	char err[512];
	sigset_t set;
	int sig, rc = 1;

	hs_config_init(&cfg);
	memset(&hs, 0, sizeof(hs));
	if (hs_config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "scopd: %s\n", err);
		return 1;
	}
	scop_log_init("scopd", cfg.log_level);
	httpc_global_init(); /* before any thread */
	raise_fd_limit();
	if (load_or_make_key(cfg.signing_key_path) < 0)
		goto out;
	if (store_open(cfg.db_kind == HS_DB_SQLITE ? "sqlite" : "postgres",
		       cfg.db_kind == HS_DB_SQLITE ? cfg.db_path : cfg.db_conninfo,
		       &st, err, sizeof(err)) != STORE_OK) {
		log_error("database: %s", err);
		goto out;
	}
	if (seed_regtokens(st, &cfg) < 0) {
		log_error("cannot store the configured registration tokens");
		goto out;
	}
	if (hs_init(&hs, &cfg, st) < 0) {
		log_error("out of memory");
		goto out;
	}
	if (hs_rooms_start(&hs, cfg.db_kind == HS_DB_SQLITE ? "sqlite" : "postgres",
			   cfg.db_kind == HS_DB_SQLITE ? cfg.db_path : cfg.db_conninfo,
			   err, sizeof(err)) < 0) {
		log_error("rooms: %s", err);
		goto out;
	}
	if (relsearch_open(cfg.db_kind == HS_DB_SQLITE ? "sqlite" : "postgres",
			   cfg.db_kind == HS_DB_SQLITE ? cfg.db_path : cfg.db_conninfo,
			   &hs.relsearch, err, sizeof(err)) != STORE_OK) {
		log_error("relations/search: %s", err);
		goto out;
	}
	if (api_add_routes(hs.router, api_relations_routes, api_relations_nroutes) < 0 ||
	    api_add_routes(hs.router, api_search_routes, api_search_nroutes) < 0 ||
	    api_add_routes(hs.router, api_push_routes, api_push_nroutes) < 0) {
		log_error("out of memory");
		goto out;
	}
	fed = fed_service_new(&hs, path, err, sizeof(err));
	if (!fed) {
		log_error("federation: %s", err);
		goto out;
	}
	/* Block the stop signals in every thread; this one waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (fed_service_start(fed) < 0) {
		log_error("federation: cannot start the sender");
		goto out;
	}
	if (cfg.tls_certificate_path && cfg.tls_private_key_path) {
		cert = slurp(cfg.tls_certificate_path);
		key = slurp(cfg.tls_private_key_path);
		if (!cert || !key) {
			log_error("cannot read %s or %s", cfg.tls_certificate_path,
				  cfg.tls_private_key_path);
			goto out;
		}
		tls.cert_pem = cert;
		tls.key_pem = key;
	}
	srv = http_server_start(cfg.binds, cfg.nbinds, cfg.thread_pool_size, cfg.max_request_body,
				&tls, hs_dispatch, hs_body_limit, &hs, err, sizeof(err));
	if (!srv) {
		log_error("%s", err);
		goto out;
	}
	log_info("scopd serving %s on %s", cfg.server_name, store_backend(st));
	if (sigwait(&set, &sig) == 0)
		log_info("stopping (signal %d)", sig);
	rc = 0;
out:
	/* Parked /sync requests first: the HTTP server waits for them. */
	if (hs.sync)
		hs_rooms_stop(&hs);
	http_server_stop(srv);
	fed_service_free(fed);
	hs_rooms_free(&hs);
	relsearch_close(hs.relsearch);
	hs.relsearch = NULL;
	if (hs.router)
		hs_free(&hs);
	store_close(st);
	hs_config_free(&cfg);
	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config-path", required_argument, NULL, 'c' },
		{ "generate-config", no_argument, NULL, 'g' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *server_name = NULL, *data_dir = NULL;
	int generate = 0, c;
	char err[512];

	scop_log_init("scopd", SCOP_LOG_INFO);
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'g': generate = 1; break;
		case 'n': server_name = optarg; break;
		case 'd': data_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (generate) {
		if (hs_config_generate(config, server_name, data_dir, err, sizeof(err)) < 0) {
			fprintf(stderr, "scopd: %s\n", err);
			return 1;
		}
		printf("scopd: wrote %s\n", config);
		return 0;
	}
	return serve(config);
}
