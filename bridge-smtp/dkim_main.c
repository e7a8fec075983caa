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
 *   scop-dkim check [--dns ...] [--key-record ...] [--psl FILE] [--authserv-id ID]
 *                   [--mail-from ADDR --spf RESULT] [--sample 0-99] < msg
 *       DKIM, then DMARC for the From domain (SPF's verdict is given, not
 *       computed); prints the Authentication-Results field.
 *   scop-dkim parse-ar < field
 *       parses an Authentication-Results field and prints its results.
 *   scop-dkim arc-verify [--dns ...] [--key-record ...] < msg
 *       verifies the ARC chain (RFC 8617): a line "pass|fail|none ..." and
 *       one line per set; exits 0 on pass, 1 otherwise.
 *   scop-dkim arc-seal --key FILE --domain D --selector S [--authserv-id ID]
 *                      [--dns ...] [--key-record ...] [--remote-ip IP] [--now T] < msg
 *       verifies DKIM and the ARC chain, and writes the message with our
 *       Authentication-Results and the next ARC set on top (exit 3 when
 *       the chain may not be extended: the message is written unsealed).
 *
 * Bare LF line endings in the input become CRLF, as on the wire.  Exit
 * status 2 means bad usage or input. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge-smtp/arc.h"
#include "bridge-smtp/authres.h"
#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dmarc.h"
#include "common/dns.h"
#include "bridge-smtp/mailhdr.h"
#include "bridge-smtp/pubsuffix.h"
#include "common/buf.h"
#include "common/crypto.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: scop-dkim sign --key FILE --domain D --selector S [--algo rsa|ed25519]\n"
		"                      [--canon relaxed/relaxed] [--identity I] [--expire SECS] < msg\n"
		"       scop-dkim verify [--dns 127.0.0.1@PORT] [--key-record REC] [--now T]\n"
		"                        [--reject-partial-body] < msg\n"
		"       scop-dkim pubkey --key FILE\n"
		"       scop-dkim check [--dns 127.0.0.1@PORT] [--key-record REC] [--psl FILE]\n"
		"                       [--authserv-id ID] [--mail-from ADDR --spf RESULT] [--sample N] < msg\n"
		"       scop-dkim parse-ar < field\n"
		"       scop-dkim arc-verify [--dns 127.0.0.1@PORT] [--key-record REC] < msg\n"
		"       scop-dkim arc-seal --key FILE --domain D --selector S [--authserv-id ID]\n"
		"                          [--dns ...] [--key-record REC] [--remote-ip IP] [--now T] < msg\n");
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
       OPT_DNS, OPT_KEYREC, OPT_NOW, OPT_PARTIAL, OPT_PSL, OPT_AUTHSERV, OPT_MAILFROM, OPT_SPF, OPT_SAMPLE,
       OPT_REMOTE_IP };

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
	{ "psl", required_argument, NULL, OPT_PSL },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "mail-from", required_argument, NULL, OPT_MAILFROM },
	{ "spf", required_argument, NULL, OPT_SPF },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "remote-ip", required_argument, NULL, OPT_REMOTE_IP },
	{ NULL, 0, NULL, 0 },
};

struct cli {
	const char *key, *algo, *dns, *psl, *authserv, *mail_from, *spf, *remote_ip;
	int sample;
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

/* A resolver forwarding to --dns, or the system's. */
static struct dns_resolver *resolver(const struct cli *c)
{
	struct dns_resolver_options ro = { .forwarder = c->dns, .timeout_ms = c->dns ? 3000 : 5000 };
	struct dns_resolver *dns;
	char err[256];

	if (!(dns = dns_unbound_new(&ro, err, sizeof(err))))
		fprintf(stderr, "scop-dkim: resolver: %s\n", err);
	return dns;
}

static int do_verify(struct cli *c)
{
	struct dns_resolver *dns = NULL;
	struct buf msg = BUF_INIT;
	struct dkim_result *res = NULL;
	size_t n = 0;
	int rc = 1;

	if (!c->vo.key_record) {
		if (!(dns = resolver(c)))
			return 2;
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

static int do_check(struct cli *c)
{
	struct dns_resolver *dns = resolver(c);
	struct psl *psl = NULL;
	struct buf msg = BUF_INIT, out = BUF_INIT;
	struct dkim_result *res = NULL;
	struct dmarc_outcome dm;
	struct dmarc_input in;
	struct mailhdr h;
	struct authres ar;
	char err[256], from[256], spf_domain[256];
	size_t n = 0;
	int rc = 2;

	memset(&ar, 0, sizeof(ar));
	memset(&in, 0, sizeof(in));
	memset(&dm, 0, sizeof(dm));
	if (!dns)
		return 2;
	c->vo.dns = dns;
	if (!(psl = psl_load(c->psl, err, sizeof(err)))) {
		fprintf(stderr, "scop-dkim: %s\n", err);
		goto out;
	}
	if (read_message(&msg) < 0 || dkim_verify(&c->vo, msg.data ? msg.data : "", msg.len, &res, &n) < 0) {
		fprintf(stderr, "scop-dkim: cannot read or verify the message\n");
		goto out;
	}
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "%s", c->authserv ? c->authserv : "localhost");
	for (size_t i = 0; i < n; i++)
		authres_add_dkim(&ar, &res[i]);
	if (n == 0)
		authres_add(&ar, "dkim", "none", NULL);
	if (c->spf) {
		const char *at = c->mail_from ? strrchr(c->mail_from, '@') : NULL;
		snprintf(spf_domain, sizeof(spf_domain), "%s", at ? at + 1 : c->mail_from ? c->mail_from : "");
		authres_add(&ar, "spf", c->spf, NULL);
		if (c->mail_from)
			authres_add_prop(&ar, "smtp", "mailfrom", c->mail_from);
		in.spf_pass = strcmp(c->spf, "pass") == 0;
		in.spf_domain = spf_domain;
	}
	if (mailhdr_split(msg.data ? msg.data : "", msg.len, &h) == 0 &&
	    mailhdr_from_domain(&h, from, sizeof(from)) == 0) {
		unsigned char r = 0;
		in.from_domain = from;
		in.dkim = res;
		in.ndkim = n;
		if (c->sample >= 0)
			in.sample = (unsigned)c->sample;
		else if (scop_random_bytes(&r, 1) == 0)
			in.sample = r % 100;
		dmarc_check(dns, psl, &in, &dm);
	} else {
		dm.result = DMARC_RES_PERMERROR; /* no single From domain to check */
	}
	mailhdr_free(&h);
	authres_add_dmarc(&ar, &dm);
	if (authres_write(&ar, &out) == 0) {
		fwrite(out.data, 1, out.len, stdout);
		rc = 0;
	}
out:
	free(res);
	buf_free(&msg);
	buf_free(&out);
	psl_free(psl);
	dns_resolver_free(dns);
	return rc;
}

static int do_parse_ar(void)
{
	struct buf in = BUF_INIT;
	struct authres ar;
	const char *v;
	size_t len;
	int rc = 1;

	if (read_message(&in) < 0 || !in.data) {
		buf_free(&in);
		return 2;
	}
	v = in.data;
	len = in.len;
	if (len > 23 && strncasecmp(v, "Authentication-Results:", 23) == 0) {
		v += 23;
		len -= 23;
	}
	while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
		len--;
	if (authres_parse(v, len, &ar) == 0) {
		printf("authserv-id=%s version=%d\n", ar.authserv_id, ar.version);
		for (size_t i = 0; i < ar.count; i++) {
			const struct authres_result *r = &ar.results[i];
			printf("%s%s%s=%s", r->method, r->version[0] ? "/" : "", r->version, r->result);
			if (r->reason[0])
				printf(" reason=%s", r->reason);
			for (size_t k = 0; k < r->nprops; k++)
				printf(" %s.%s=%s", r->props[k].ptype, r->props[k].property, r->props[k].value);
			printf("\n");
		}
		rc = 0;
	} else {
		fprintf(stderr, "scop-dkim: not a valid Authentication-Results field\n");
	}
	buf_free(&in);
	return rc;
}

/* The ARC verifier for the --dns / --key-record options (dns is set
 * when a resolver had to be made; the caller frees it). */
static struct arc_verifier *arc_verifier_for(struct cli *c, struct dns_resolver **dns)
{
	struct arc_verify_opts ao;

	*dns = NULL;
	memset(&ao, 0, sizeof(ao));
	ao.key_record = c->vo.key_record;
	if (!ao.key_record) {
		if (!(*dns = resolver(c)))
			return NULL;
		ao.dns = c->vo.dns = *dns;
	}
	return arc_verifier_new(&ao);
}

static int do_arc_verify(struct cli *c)
{
	struct dns_resolver *dns = NULL;
	struct arc_verifier *v = arc_verifier_for(c, &dns);
	const struct arc_result *r;
	struct buf msg = BUF_INIT;
	int rc = 2;

	if (!v)
		goto out;
	if (read_message(&msg) < 0 || arc_verifier_message(v, msg.data ? msg.data : "", msg.len, &r) < 0) {
		fprintf(stderr, "scop-dkim: cannot read or verify the message\n");
		goto out;
	}
	printf("%s i=%d", arc_status_name(r->status), r->count);
	if (r->status == ARC_PASS && r->oldest_pass >= 0)
		printf(" oldest-pass=%d", r->oldest_pass);
	if (r->temporary)
		printf(" temporary");
	if (r->reason[0])
		printf(" reason=%s", r->reason);
	printf("\n");
	for (int i = r->count; i >= 1 && !r->chain.malformed; i--) {
		const struct arc_set_result *s = &r->sets[i];
		printf("set i=%d cv=%s ams=%s d=%s as=%s d=%s%s%s\n", i, arc_cv_name(s->cv), dkim_status_name(s->ams),
		       s->ams_domain, dkim_status_name(s->as), s->as_domain, s->reason[0] ? " reason=" : "", s->reason);
	}
	rc = r->status == ARC_PASS ? 0 : 1;
out:
	arc_verifier_free(v);
	buf_free(&msg);
	dns_resolver_free(dns);
	return rc;
}

static int do_arc_seal(struct cli *c)
{
	struct dns_resolver *dns = NULL;
	struct arc_verifier *v = NULL;
	struct dkim_privkey *key = NULL;
	const struct arc_result *r;
	struct dkim_result *res = NULL;
	struct buf msg = BUF_INIT, out = BUF_INIT;
	struct arc_seal_opts so;
	struct authres ar;
	char err[256];
	size_t n = 0;
	int rc = 2, src;

	if (!c->key || !c->so.domain || !c->so.selector)
		return usage();
	if (dkim_privkey_load(c->key, &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "scop-dkim: %s\n", err);
		return 2;
	}
	if (!(v = arc_verifier_for(c, &dns)))
		goto out;
	if (read_message(&msg) < 0 || arc_verifier_message(v, msg.data ? msg.data : "", msg.len, &r) < 0 ||
	    dkim_verify(&c->vo, msg.data ? msg.data : "", msg.len, &res, &n) < 0) {
		fprintf(stderr, "scop-dkim: cannot read or verify the message\n");
		goto out;
	}
	memset(&ar, 0, sizeof(ar));
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "%s", c->authserv ? c->authserv : "localhost");
	for (size_t i = 0; i < n; i++)
		authres_add_dkim(&ar, &res[i]);
	if (n == 0)
		authres_add(&ar, "dkim", "none", NULL);
	arc_authres_add(&ar, r, c->remote_ip);
	memset(&so, 0, sizeof(so));
	so.domain = c->so.domain;
	so.selector = c->so.selector;
	so.timestamp = c->vo.now;
	src = arc_seal(&so, key, &ar, r->status, msg.data ? msg.data : "", msg.len, &out, err, sizeof(err));
	if (src < 0) {
		fprintf(stderr, "scop-dkim: %s\n", err);
		goto out;
	}
	if (authres_write(&ar, &out) < 0)
		goto out;
	fwrite(out.data, 1, out.len, stdout);
	if (msg.len)
		fwrite(msg.data, 1, msg.len, stdout);
	rc = fflush(stdout) != 0 ? 2 : src == ARC_SEAL_SKIPPED ? 3 : 0;
out:
	free(res);
	arc_verifier_free(v);
	dkim_privkey_free(key);
	buf_free(&msg);
	buf_free(&out);
	dns_resolver_free(dns);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c;
	const char *cmd;
	int opt;

	memset(&c, 0, sizeof(c));
	c.sample = -1;
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
		case OPT_PSL: c.psl = optarg; break;
		case OPT_AUTHSERV: c.authserv = optarg; break;
		case OPT_MAILFROM: c.mail_from = optarg; break;
		case OPT_SPF: c.spf = optarg; break;
		case OPT_SAMPLE: c.sample = atoi(optarg) % 100; break;
		case OPT_REMOTE_IP: c.remote_ip = optarg; break;
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
	if (strcmp(cmd, "check") == 0)
		return do_check(&c);
	if (strcmp(cmd, "parse-ar") == 0)
		return do_parse_ar();
	if (strcmp(cmd, "arc-verify") == 0)
		return do_arc_verify(&c);
	if (strcmp(cmd, "arc-seal") == 0)
		return do_arc_seal(&c);
	return usage();
}
