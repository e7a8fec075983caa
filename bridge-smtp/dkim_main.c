/* scop-dkim: sign or verify one message from standard input.
 *
 *   scop-dkim sign --key FILE --domain D --selector S [--algo rsa|ed25519]
 *                  [--canon relaxed/relaxed] [--identity I] [--expire SECS] < msg
 *       writes the message with a DKIM-Signature field on top.
 *   scop-dkim verify [--dns 127.0.0.1@PORT] [--key-record 'v=DKIM1; ...']
 *                    [--now T] [--reject-partial-body] < msg
 *       prints one line per signature ("pass d=... s=... a=... reason");
 *       exits 0 when at least one signature passes, 1 otherwise.
 *   scop-dkim pubkey --key FILE
 *       prints the key record to publish for the key.
 *
 * Bare LF line endings in the input become CRLF, as on the wire.  Exit
 * status 2 means bad usage or input. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dns.h"
#include "common/buf.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: scop-dkim sign --key FILE --domain D --selector S [--algo rsa|ed25519]\n"
		"                      [--canon relaxed/relaxed] [--identity I] [--expire SECS] < msg\n"
		"       scop-dkim verify [--dns 127.0.0.1@PORT] [--key-record REC] [--now T]\n"
		"                        [--reject-partial-body] < msg\n"
		"       scop-dkim pubkey --key FILE\n");
	return 2;
}

/* Reads stdin, turning bare LF into CRLF. */
static int read_message(struct buf *out)
{
	char chunk[65536];
	size_t n;
	int prev_cr = 0;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (chunk[i] == '\n' && !prev_cr && buf_putc(out, '\r') < 0)
				return -1;
			if (buf_putc(out, chunk[i]) < 0)
				return -1;
			prev_cr = chunk[i] == '\r';
		}
	}
	return ferror(stdin) ? -1 : 0;
}

static int parse_canon(const char *s, struct dkim_sign_opts *o)
{
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	const char *b = slash ? slash + 1 : "simple";

	if (hl == 7 && strncmp(s, "relaxed", 7) == 0)
		o->hcanon = DKIM_CANON_RELAXED;
	else if (hl == 6 && strncmp(s, "simple", 6) == 0)
		o->hcanon = DKIM_CANON_SIMPLE;
	else
		return -1;
	if (strcmp(b, "relaxed") == 0)
		o->bcanon = DKIM_CANON_RELAXED;
	else if (strcmp(b, "simple") == 0)
		o->bcanon = DKIM_CANON_SIMPLE;
	else
		return -1;
	return 0;
}

enum { OPT_KEY = 1, OPT_DOMAIN, OPT_SELECTOR, OPT_ALGO, OPT_CANON, OPT_IDENTITY, OPT_EXPIRE,
       OPT_DNS, OPT_KEYREC, OPT_NOW, OPT_PARTIAL };

static const struct option long_opts[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "algo", required_argument, NULL, OPT_ALGO },
	{ "canon", required_argument, NULL, OPT_CANON },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "expire", required_argument, NULL, OPT_EXPIRE },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "key-record", required_argument, NULL, OPT_KEYREC },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "reject-partial-body", no_argument, NULL, OPT_PARTIAL },
	{ NULL, 0, NULL, 0 },
};

struct cli {
	const char *key, *algo, *dns;
	struct dkim_sign_opts so;
	struct dkim_verify_opts vo;
};

static int do_sign(struct cli *c)
{
	struct dkim_privkey *key = NULL;
	struct buf msg = BUF_INIT, sig = BUF_INIT;
	char err[256];
	int rc = 2;

	if (!c->key || !c->so.domain || !c->so.selector)
		return usage();
	if (dkim_privkey_load(c->key, &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-dkim: %s\n", err);
		return 2;
	}
	if (c->algo && strcmp(c->algo, EVP_PKEY_get_base_id(dkim_privkey_pkey(key)) == EVP_PKEY_ED25519 ? "ed25519" : "rsa") != 0) {
		fprintf(stderr, "scop-dkim: --algo %s does not match the key\n", c->algo);
		goto out;
	}
	if (read_message(&msg) < 0) {
		fprintf(stderr, "scop-dkim: cannot read the message\n");
		goto out;
	}
	if (dkim_sign(&c->so, key, msg.data ? msg.data : "", msg.len, &sig, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-dkim: %s\n", err);
		goto out;
	}
	fwrite(sig.data, 1, sig.len, stdout);
	if (msg.len)
		fwrite(msg.data, 1, msg.len, stdout);
	rc = fflush(stdout) == 0 ? 0 : 2;
out:
	dkim_privkey_free(key);
	buf_free(&msg);
	buf_free(&sig);
	return rc;
}

static int do_verify(struct cli *c)
{
	struct dns_resolver *dns = NULL;
	struct buf msg = BUF_INIT;
	struct dkim_result *res = NULL;
	size_t n = 0;
	char err[256];
	int rc = 1;

	if (c->dns && !c->vo.key_record) {
		struct dns_resolver_options ro = { .forwarder = c->dns, .timeout_ms = 3000 };
		if (!(dns = dns_unbound_new(&ro, err, sizeof(err)))) {
			fprintf(stderr, "scop-dkim: resolver: %s\n", err);
			return 2;
		}
		c->vo.dns = dns;
	} else if (!c->vo.key_record) {
		struct dns_resolver_options ro = { .timeout_ms = 5000 };
		if (!(dns = dns_unbound_new(&ro, err, sizeof(err)))) {
			fprintf(stderr, "scop-dkim: resolver: %s\n", err);
			return 2;
		}
		c->vo.dns = dns;
	}
	if (read_message(&msg) < 0 ||
	    dkim_verify(&c->vo, msg.data ? msg.data : "", msg.len, &res, &n) < 0) {
		fprintf(stderr, "scop-dkim: cannot read or verify the message\n");
		rc = 2;
		goto out;
	}
	if (n == 0)
		printf("none (no signatures)\n");
	for (size_t i = 0; i < n; i++) {
		printf("%s d=%s s=%s a=%s%s%s%s%s\n", dkim_status_name(res[i].status), res[i].domain,
		       res[i].selector, res[i].algo == DKIM_ALGO_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256",
		       res[i].testing ? " testing" : "", res[i].partial_body ? " partial-body" : "",
		       res[i].reason[0] ? " reason=" : "", res[i].reason);
		if (res[i].status == DKIM_PASS)
			rc = 0;
	}
out:
	free(res);
	buf_free(&msg);
	dns_resolver_free(dns);
	return rc;
}

static int do_pubkey(struct cli *c)
{
	struct dkim_privkey *key = NULL;
	struct buf rec = BUF_INIT;
	char err[256];
	int rc = 2;

	if (!c->key)
		return usage();
	if (dkim_privkey_load(c->key, &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-dkim: %s\n", err);
		return 2;
	}
	if (dkim_pubkey_record(dkim_privkey_pkey(key), &rec) == 0) {
		printf("%s\n", rec.data);
		rc = 0;
	}
	dkim_privkey_free(key);
	buf_free(&rec);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c;
	const char *cmd;
	int opt;

	memset(&c, 0, sizeof(c));
	if (argc < 2)
		return usage();
	cmd = argv[1];
	argv++;
	argc--;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_KEY: c.key = optarg; break;
		case OPT_DOMAIN: c.so.domain = optarg; break;
		case OPT_SELECTOR: c.so.selector = optarg; break;
		case OPT_ALGO:
			if (strcmp(optarg, "rsa") != 0 && strcmp(optarg, "ed25519") != 0)
				return usage();
			c.algo = optarg;
			break;
		case OPT_CANON:
			if (parse_canon(optarg, &c.so) < 0)
				return usage();
			break;
		case OPT_IDENTITY: c.so.identity = optarg; break;
		case OPT_EXPIRE: c.so.expire_after = atoll(optarg); break;
		case OPT_DNS: c.dns = optarg; break;
		case OPT_KEYREC: c.vo.key_record = optarg; break;
		case OPT_NOW: c.vo.now = atoll(optarg); break;
		case OPT_PARTIAL: c.vo.reject_partial_body = 1; break;
		default: return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (strcmp(cmd, "sign") == 0)
		return do_sign(&c);
	if (strcmp(cmd, "verify") == 0)
		return do_verify(&c);
	if (strcmp(cmd, "pubkey") == 0)
		return do_pubkey(&c);
	return usage();
}
