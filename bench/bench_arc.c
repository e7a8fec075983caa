/* ARC verifies/s of a two-hop chain and seals/s, per algorithm (RSA-2048,
 * Ed25519), on a 10 KiB message, with a verifier and a key cache kept
 * from message to message and the key record given (no DNS).  A two-hop
 * verification checks three signatures (the newest AMS, both seals), and
 * one more with oldest-pass (the older AMS); "raw" is the EVP verify rate
 * of one signature on a digest in the same run, so raw/4 is the ceiling
 * with oldest-pass.  Rates are per CPU second of this thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "bridge-smtp/arc.h"
#include "bridge-smtp/dkim_int.h"
#include "common/buf.h"

#define RUN_SECONDS 1.0

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_message(struct buf *m, size_t size)
{
	static const char *words[] = { "the", "list", "forwarder", "chain", "seal", "relaxed", "header",
				       "body", "matrix", "room", "thread", "domain", "key" };
	unsigned seed = 4242;

	buf_puts(m, "From: Alice Example <alice@example.com>\r\n"
		    "To: list@lists.example.org\r\n"
		    "Subject: Re: the ARC rollout\r\n"
		    "Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
		    "Message-ID: <20261123200000.ARC1@example.com>\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "\r\n");
	while (m->len < size) {
		size_t col = 0;
		while (col < 70) {
			const char *w = words[(seed = seed * 1103515245u + 12345u) % 13];
			buf_puts(m, w);
			buf_putc(m, ' ');
			col += strlen(w) + 1;
		}
		buf_puts(m, "\r\n");
	}
}

static char *seal_once(const char *msg, struct dkim_privkey *key, struct arc_verifier *v, const char *domain)
{
	const struct arc_result *r;
	struct arc_seal_opts so = { .domain = domain, .selector = "bench", .timestamp = 1795000000 };
	struct authres ar;
	struct buf out = BUF_INIT;

	memset(&ar, 0, sizeof(ar));
	snprintf(ar.authserv_id, sizeof(ar.authserv_id), "mx.%s", domain);
	if (arc_verifier_message(v, msg, strlen(msg), &r) < 0 || arc_authres_add(&ar, r, "192.0.2.1") < 0 ||
	    arc_seal(&so, key, &ar, r->status, msg, strlen(msg), &out, NULL, 0) != 0 ||
	    buf_append(&out, msg, strlen(msg)) < 0 || buf_putc(&out, '\0') < 0) {
		fprintf(stderr, "bench_arc: sealing failed\n");
		exit(1);
	}
	return out.data;
}

static double raw_verify_rate(EVP_PKEY *pk)
{
	unsigned char digest[32] = { 1 }, sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	int ed = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519;
	long n = 0;
	double t0;

	if (ed) {
		EVP_DigestSignInit(m, NULL, NULL, NULL, pk);
		EVP_DigestSign(m, sig, &siglen, digest, 32);
		EVP_DigestVerifyInit(m, NULL, NULL, NULL, pk);
	} else {
		EVP_PKEY_sign_init(c);
		EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
		EVP_PKEY_CTX_set_signature_md(c, EVP_sha256());
		EVP_PKEY_sign(c, sig, &siglen, digest, 32);
		EVP_PKEY_verify_init(c);
		EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
		EVP_PKEY_CTX_set_signature_md(c, EVP_sha256());
	}
	t0 = now();
	while (now() - t0 < RUN_SECONDS) {
		for (int i = 0; i < 50; i++) {
			if ((ed ? EVP_DigestVerify(m, sig, siglen, digest, 32) : EVP_PKEY_verify(c, sig, siglen, digest, 32)) != 1)
				exit(1);
		}
		n += 50;
	}
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(c);
	return (double)n / (now() - t0);
}

static void run(const char *name, EVP_PKEY *pk, const char *body)
{
	struct dkim_privkey *key = dkim_privkey_from_pkey(pk);
	struct buf rec = BUF_INIT;
	struct dkim_keycache *cache = dkim_keycache_new(8);
	struct arc_verify_opts o = { 0 };
	struct arc_verifier *v, *quick;
	const struct arc_result *r;
	char *one, *two;
	double t0, full, fast, seals, raw;
	long n;

	if (!key || !cache || dkim_pubkey_record(pk, &rec) < 0)
		exit(1);
	o.key_record = rec.data;
	o.keys = cache;
	v = arc_verifier_new(&o);
	o.no_oldest_pass = 1;
	quick = arc_verifier_new(&o);
	if (!v || !quick)
		exit(1);
	one = seal_once(body, key, v, "hop1.example");
	two = seal_once(one, key, v, "hop2.example");
	if (arc_verifier_message(v, two, strlen(two), &r) < 0 || r->status != ARC_PASS || r->count != 2) {
		fprintf(stderr, "bench_arc: the chain does not verify\n");
		exit(1);
	}
	for (n = 0, t0 = now(); now() - t0 < RUN_SECONDS; n++) {
		if (arc_verifier_message(v, two, strlen(two), &r) < 0 || r->status != ARC_PASS)
			exit(1);
	}
	full = (double)n / (now() - t0);
	for (n = 0, t0 = now(); now() - t0 < RUN_SECONDS; n++) {
		if (arc_verifier_message(quick, two, strlen(two), &r) < 0 || r->status != ARC_PASS)
			exit(1);
	}
	fast = (double)n / (now() - t0);
	for (n = 0, t0 = now(); now() - t0 < RUN_SECONDS; n++) {
		struct buf out = BUF_INIT;
		struct authres ar;
		struct arc_seal_opts so = { .domain = "hop3.example", .selector = "bench", .timestamp = 1795000000 };
		memset(&ar, 0, sizeof(ar));
		memcpy(ar.authserv_id, "mx.example", 11);
		authres_add(&ar, "arc", "pass", NULL);
		if (arc_seal(&so, key, &ar, ARC_PASS, two, strlen(two), &out, NULL, 0) != 0)
			exit(1);
		buf_free(&out);
	}
	seals = (double)n / (now() - t0);
	raw = raw_verify_rate(pk);
	printf("%-8s 2-hop verify: %7.0f/s with oldest-pass (4 sigs, ceiling raw/4 %7.0f), %7.0f/s without (3 sigs, "
	       "ceiling %7.0f); seal (3rd hop): %7.0f/s\n",
	       name, full, raw / 4, fast, raw / 3, seals);
	free(one);
	free(two);
	arc_verifier_free(v);
	arc_verifier_free(quick);
	dkim_keycache_free(cache);
	dkim_privkey_free(key);
	buf_free(&rec);
}

int main(void)
{
	struct buf msg = BUF_INIT;
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *ed = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

	if (!rsa || !c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &ed) != 1)
		return 1;
	make_message(&msg, 10 * 1024);
	buf_putc(&msg, '\0');
	printf("ARC (RFC 8617), %zu-byte message, relaxed/relaxed AMS; per CPU second\n", strlen(msg.data));
	run("RSA-2048", rsa, msg.data);
	run("Ed25519", ed, msg.data);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_CTX_free(c);
	buf_free(&msg);
	return 0;
}
