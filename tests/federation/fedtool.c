/* fedtool: drives the federation network code for tests/e2e/test_federation_net.py
 * and by hand.  Prints one JSON object per command on stdout.
 *
 *   fedtool [OPTIONS] discover NAME...
 *   fedtool [OPTIONS] discover-parallel THREADS ROUNDS NAME...
 *                     one resolver shared by THREADS threads, each resolving
 *                     every NAME ROUNDS times; counts the answers that
 *                     match a first sequential pass
 *   fedtool [OPTIONS] keys SERVER KEY_ID          keyring_get (direct, then notaries)
 *   fedtool [OPTIONS] keys-direct SERVER
 *   fedtool [OPTIONS] keys-notary SERVER          through the --notary servers only
 *   fedtool [OPTIONS] check-auth METHOD URI CONTENT|- AUTHORIZATION
 *   fedtool [OPTIONS] server-keys                 our /_matrix/key/v2/server answer
 *   fedtool [OPTIONS] notary-query BODY_JSON      our /_matrix/key/v2/query answer
 *   fedtool [OPTIONS] send PDUS EDUS DEST...      queue and wait until delivered
 * OPTIONS: --origin NAME --key FILE --ca FILE --dns ADDR@PORT
 *          --override HOST:PORT:ADDR:APORT --no-verify NAME
 *          --notary NAME KEY_ID PUB_B64 --backoff MS --timeout MS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/httpc.h"
#include "federation/keyring.h"
#include "federation/resolver.h"
#include "federation/sender.h"

#define MAXLIST 32

static int print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(j);
	return 0;
}

static int print_err(const char *err)
{
	return print_json(json_pack("{ss}", "error", err));
}

/* Persistence hooks that only count, so the tests can see them called. */
struct journal {
	size_t queued, delivered;
};

static void j_queued(void *ctx, const char *dest, const char *pdu)
{
	(void)dest, (void)pdu;
	((struct journal *)ctx)->queued++;
}

static void j_delivered(void *ctx, const char *dest, size_t n)
{
	(void)dest;
	((struct journal *)ctx)->delivered += n;
}

static int usage(void);

struct parallel {
	struct fed_resolver *r;
	char **names;
	struct fed_target *want;
	int nnames, rounds;
	pthread_mutex_t lock;
	unsigned long same, differ;
};

static void *discover_thread(void *arg)
{
	struct parallel *p = arg;
	unsigned long same = 0, differ = 0;
	for (int k = 0; k < p->rounds; k++)
		for (int i = 0; i < p->nnames; i++) {
			struct fed_target t;
			char err[256];
			if (fed_resolver_resolve(p->r, p->names[i], &t, err, sizeof(err)) == 0 &&
			    strcmp(t.host, p->want[i].host) == 0 && t.port == p->want[i].port &&
			    t.via_srv == p->want[i].via_srv)
				same++;
			else
				differ++;
		}
	pthread_mutex_lock(&p->lock);
	p->same += same;
	p->differ += differ;
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int discover_parallel(struct fed_resolver *r, int nthreads, int rounds, char **names, int nnames)
{
	struct parallel p = { r, names, NULL, nnames, rounds, PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	pthread_t th[16];
	if (nthreads < 1 || nthreads > 16 || nnames < 1 || (p.want = calloc((size_t)nnames, sizeof(*p.want))) == NULL)
		return usage();
	char err[256];
	for (int i = 0; i < nnames; i++)
		if (fed_resolver_resolve(r, names[i], &p.want[i], err, sizeof(err)) != 0) {
			free(p.want);
			return print_err(err);
		}
	int started = 0;
	for (; started < nthreads; started++)
		if (pthread_create(&th[started], NULL, discover_thread, &p) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(p.want);
	return print_json(json_pack("{si sI sI}", "threads", started, "same", (json_int_t)p.same, "differ",
				    (json_int_t)p.differ));
}

static int usage(void)
{
	fprintf(stderr, "usage: fedtool [options] discover|keys|keys-direct|keys-notary|server-keys|"
		"notary-query|send ...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *origin = "fedtool.test", *keyfile = NULL, *ca = NULL, *dns = NULL;
	const char *overrides[MAXLIST + 1] = { 0 }, *no_verify[MAXLIST + 1] = { 0 };
	struct keyring_notary notaries[8];
	size_t n_over = 0, n_nv = 0, n_not = 0;
	long backoff = 0, timeout = 60000;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *o = argv[i];
		if (i + 1 >= argc)
			return usage();
		if (strcmp(o, "--origin") == 0)
			origin = argv[++i];
		else if (strcmp(o, "--key") == 0)
			keyfile = argv[++i];
		else if (strcmp(o, "--ca") == 0)
			ca = argv[++i];
		else if (strcmp(o, "--dns") == 0)
			dns = argv[++i];
		else if (strcmp(o, "--override") == 0 && n_over < MAXLIST)
			overrides[n_over++] = argv[++i];
		else if (strcmp(o, "--no-verify") == 0 && n_nv < MAXLIST)
			no_verify[n_nv++] = argv[++i];
		else if (strcmp(o, "--backoff") == 0)
			backoff = atol(argv[++i]);
		else if (strcmp(o, "--timeout") == 0)
			timeout = atol(argv[++i]);
		else if (strcmp(o, "--notary") == 0 && i + 3 < argc && n_not < 8) {
			struct keyring_notary *n = &notaries[n_not++];
			n->server_name = argv[i + 1];
			n->key_id = argv[i + 2];
			if (base64_decode(argv[i + 3], strlen(argv[i + 3]), n->pub, sizeof(n->pub), BASE64_PAD_OPTIONAL) != 32)
				return usage();
			i += 3;
		} else
			return usage();
	}
	if (i >= argc)
		return usage();
	const char *cmd = argv[i++];

	httpc_global_init();
	struct scop_ed25519 key;
	if (keyfile != NULL ? scop_ed25519_load(keyfile, &key) != 0 : scop_ed25519_generate(&key, "fedtool") != 0) {
		fprintf(stderr, "fedtool: cannot load the signing key\n");
		return 1;
	}
	char err[512] = "";
	struct fed_resolver_options ropt = {
		.dns_forwarder = dns, .ca_file = ca, .no_verify = no_verify, .overrides = overrides,
		.dns_timeout_ms = 5000, .http_timeout_ms = 10000,
	};
	struct fed_resolver *r = fed_resolver_new(&ropt, err, sizeof(err));
	if (r == NULL) {
		fprintf(stderr, "fedtool: %s\n", err);
		return 1;
	}
	struct keyring_options kopt = {
		.server_name = origin, .key = &key, .resolver = r, .notaries = notaries, .n_notaries = n_not,
		.timeout_ms = 10000,
	};
	struct keyring *kr = keyring_new(&kopt);
	int rc = 0;
	if (kr == NULL) {
		rc = 1;
	} else if (strcmp(cmd, "discover") == 0 && i < argc) {
		/* Several names in one run share the well-known cache. */
		for (; i < argc; i++) {
			struct fed_target t;
			if (fed_resolver_resolve(r, argv[i], &t, err, sizeof(err)) != 0)
				print_err(err);
			else
				print_json(json_pack("{ss si ss ss sb sb}", "host", t.host, "port", (int)t.port,
						     "host_header", t.host_header, "tls_name", t.tls_name,
						     "via_well_known", t.via_well_known, "via_srv", t.via_srv));
		}
	} else if (strcmp(cmd, "discover-parallel") == 0 && i + 2 < argc) {
		rc = discover_parallel(r, atoi(argv[i]), atoi(argv[i + 1]), argv + i + 2, argc - i - 2);
	} else if (strcmp(cmd, "keys") == 0 && i + 1 < argc) {
		unsigned char pub[32];
		if (keyring_get(kr, argv[i], argv[i + 1], 0, pub, err, sizeof(err)) != 0) {
			print_err(err);
		} else {
			char b64[64];
			base64_encode(pub, 32, b64, 0);
			print_json(json_pack("{ss}", "key", b64));
		}
	} else if (strcmp(cmd, "keys-direct") == 0 && i < argc) {
		if (keyring_fetch_direct(kr, argv[i], err, sizeof(err)) != 0)
			print_err(err);
		else
			print_json(json_pack("{sb}", "ok", 1));
	} else if (strcmp(cmd, "keys-notary") == 0 && i < argc) {
		int ok = 0;
		for (size_t k = 0; k < n_not && !ok; k++)
			ok = keyring_fetch_notary(kr, &notaries[k], argv[i], NULL, 0, err, sizeof(err)) == 0;
		if (!ok)
			print_err(err[0] ? err : "no notary");
		else
			print_json(json_pack("{sb}", "ok", 1));
	} else if (strcmp(cmd, "check-auth") == 0 && i + 3 < argc) {
		json_t *content = strcmp(argv[i + 2], "-") == 0 ? NULL : json_loads(argv[i + 2], 0, NULL);
		char from[256];
		if (keyring_check_request(kr, argv[i + 3], argv[i], argv[i + 1], content, from, sizeof(from), err,
					  sizeof(err)) != 0)
			print_err(err);
		else
			print_json(json_pack("{ss}", "origin", from));
		json_decref(content);
	} else if (strcmp(cmd, "server-keys") == 0) {
		print_json(keyring_handle_server(kr));
	} else if (strcmp(cmd, "notary-query") == 0 && i < argc) {
		json_t *body = json_loads(argv[i], 0, NULL);
		struct keyring_query_item items[16];
		size_t n = 0;
		if (body == NULL || keyring_query_parse(body, items, 16, &n, err, sizeof(err)) != 0)
			print_err(err[0] ? err : "bad JSON");
		else
			print_json(keyring_handle_query(kr, items, n));
		json_decref(body);
	} else if (strcmp(cmd, "send") == 0 && i + 2 < argc) {
		int npdus = atoi(argv[i]), nedus = atoi(argv[i + 1]);
		struct journal jr = { 0, 0 };
		struct fed_sender_options sopt = {
			.origin = origin, .key = &key, .resolver = r, .backoff_base_ms = backoff,
			.backoff_max_ms = backoff > 0 ? backoff * 8 : 0, .request_timeout_ms = 10000,
			.persist = { .pdu_queued = j_queued, .pdus_delivered = j_delivered, .ctx = &jr },
		};
		struct fed_sender *s = fed_sender_new(&sopt);
		if (s == NULL) {
			rc = 1;
		} else {
			/* Interleave destinations so ordering is checked per destination. */
			for (int k = 0; k < (npdus > nedus ? npdus : nedus); k++) {
				for (int d = i + 2; d < argc; d++) {
					if (k < npdus) {
						json_t *pdu = json_pack("{ss si ss}", "type", "m.test", "seq", k, "dest", argv[d]);
						fed_sender_queue_pdu(s, argv[d], pdu);
						json_decref(pdu);
					}
					if (k < nedus) {
						json_t *edu = json_pack("{ss s{si}}", "edu_type", "m.test", "content", "seq", k);
						fed_sender_queue_edu(s, argv[d], edu);
						json_decref(edu);
					}
				}
			}
			int idle = fed_sender_start(s) == 0 ? fed_sender_wait_idle(s, timeout) : -1;
			struct fed_sender_stats st;
			fed_sender_get_stats(s, &st);
			fed_sender_free(s);
			print_json(json_pack("{sb sI sI sI sI sI sI sI}", "idle", idle == 0, "txns_sent",
					     (json_int_t)st.txns_sent, "txns_failed", (json_int_t)st.txns_failed,
					     "pdus_sent", (json_int_t)st.pdus_sent, "edus_sent", (json_int_t)st.edus_sent,
					     "edus_dropped", (json_int_t)st.edus_dropped, "journal_queued",
					     (json_int_t)jr.queued, "journal_delivered", (json_int_t)jr.delivered));
		}
	} else {
		rc = usage();
	}
	keyring_free(kr);
	fed_resolver_free(r);
	scop_ed25519_clear(&key);
	return rc;
}
