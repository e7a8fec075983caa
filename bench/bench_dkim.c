/* DKIM signs/s and verifies/s per algorithm (RSA-2048, Ed25519) on a
 * realistic 10 KiB message, next to the raw OpenSSL rate for the same key
 * measured in the same run: EVP sign/verify of a 32-byte digest, which is
 * what `openssl speed rsa2048 ed25519` times, and `openssl speed` itself
 * when the openssl CLI is there (BENCH_DKIM_NO_SPEED=1 skips it).
 *
 * "ours" is the whole job: header split, body canonicalization and hash,
 * header hash, the signature, and (verify) key record parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "bridge-smtp/dkim.h"
#include "bridge-smtp/dkim_int.h"
#include "common/buf.h"
#include "common/crypto.h"

#define RUN_SECONDS 1.0

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_message(struct buf *m)
{
	static const char *words[] = { "the", "mail", "bridge", "thread", "matrix", "room", "signature",
				       "canonical", "header", "body", "relaxed", "simple", "domain", "key" };
	unsigned seed = 12345;
	buf_puts(m, "Return-Path: <alice@example.com>\r\n"
		    "Received: from client.example.com (client.example.com [192.0.2.1])\r\n"
		    "\tby mx.example.net with ESMTPS id 4F2A1B; Mon, 23 Nov 2026 20:00:00 +0000\r\n"
		    "From: Alice Example <alice@example.com>\r\n"
		    "To: Bob Example <bob@example.net>, Carol <carol@example.org>\r\n"
		    "Cc: team@example.com\r\n"
		    "Subject: Re: quarterly numbers and the bridge rollout plan\r\n"
		    "Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
		    "Message-ID: <20261123200000.4F2A1B@example.com>\r\n"
		    "In-Reply-To: <20261122.1234@example.net>\r\n"
		    "References: <20261121.9876@example.org> <20261122.1234@example.net>\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n"
		    "\r\n");
	while (m->len < 10 * 1024 - 80) {
		size_t col = 0;
		while (col < 66) {
			seed = seed * 1103515245 + 12345;
			const char *w = words[(seed >> 16) % (sizeof(words) / sizeof(words[0]))];
			buf_puts(m, w);
			buf_puts(m, (seed >> 8) % 7 == 0 ? "  " : " ");
			col += strlen(w) + 1;
		}
		buf_puts(m, "\r\n");
	}
}

struct rates {
	double sign, verify;
};

/* EVP sign/verify of a 32-byte digest with a ready context: the same
 * operation `openssl speed` times.  With hash=1 the SHA-256 of the whole
 * message comes first: the least work any DKIM implementation must do. */
static struct rates raw_evp(struct dkim_privkey *key, const struct buf *msg, int hash)
{
	unsigned char digest[32], *sig = NULL;
	size_t siglen = 0;
	struct dkim_key pub;
	struct buf rec = BUF_INIT;
	struct rates r;
	long n;
	double t0, t;

	memset(digest, 0x5a, sizeof(digest));
	dkim_pubkey_record(dkim_privkey_pkey(key), &rec);
	if (dkim_key_parse(rec.data, rec.len, &pub, NULL, 0) < 0)
		abort();
	for (n = 0, t0 = now(); (t = now() - t0) < RUN_SECONDS; n++) {
		free(sig);
		if (hash)
			scop_sha256(msg->data, msg->len, digest);
		if (dkim_crypto_sign(key, digest, &sig, &siglen) < 0)
			abort();
	}
	r.sign = (double)n / t;
	for (n = 0, t0 = now(); (t = now() - t0) < RUN_SECONDS; n++) {
		if (hash)
			scop_sha256(msg->data, msg->len, digest);
		if (dkim_crypto_verify(&pub, digest, sig, siglen) < 0)
			abort();
	}
	r.verify = (double)n / t;
	free(sig);
	dkim_key_free(&pub);
	buf_free(&rec);
	return r;
}

/* The whole job; verification parses the key record every time unless a
 * key cache is given (as a long-running verifier keeps one). */
static struct rates ours(struct dkim_privkey *key, const struct buf *msg, int cache)
{
	struct dkim_sign_opts so = { .domain = "example.com", .selector = "bench", .hcanon = DKIM_CANON_RELAXED,
				     .bcanon = DKIM_CANON_RELAXED, .timestamp = 1795000000 };
	struct buf sig = BUF_INIT, rec = BUF_INIT, signed_msg = BUF_INIT;
	struct dkim_verify_opts vo = { 0 };
	struct dkim_result *res;
	struct rates r;
	size_t count;
	char err[128];
	long n;
	double t0, t;

	for (n = 0, t0 = now(); (t = now() - t0) < RUN_SECONDS; n++) {
		buf_reset(&sig);
		if (dkim_sign(&so, key, msg->data, msg->len, &sig, err, sizeof(err)) < 0)
			abort();
	}
	r.sign = (double)n / t;
	dkim_pubkey_record(dkim_privkey_pkey(key), &rec);
	vo.key_record = rec.data;
	if (cache)
		vo.keys = dkim_keycache_new(16);
	buf_append(&signed_msg, sig.data, sig.len);
	buf_append(&signed_msg, msg->data, msg->len);
	for (n = 0, t0 = now(); (t = now() - t0) < RUN_SECONDS; n++) {
		if (dkim_verify(&vo, signed_msg.data, signed_msg.len, &res, &count) < 0 || count != 1 ||
		    res[0].status != DKIM_PASS)
			abort();
		free(res);
	}
	r.verify = (double)n / t;
	dkim_keycache_free(vo.keys);
	buf_free(&sig);
	buf_free(&rec);
	buf_free(&signed_msg);
	return r;
}

/* `openssl speed` figures, parsed from its summary lines. */
static void openssl_speed(struct rates *rsa, struct rates *ed)
{
	FILE *p = popen("openssl speed -seconds 2 rsa2048 ed25519 2>/dev/null", "r");
	char line[512];

	rsa->sign = rsa->verify = ed->sign = ed->verify = 0;
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		char *s;
		double a, b, c, d;
		if ((s = strstr(line, "rsa 2048 bits")) && sscanf(s + 13, "%lfs %lfs %lf %lf", &a, &b, &c, &d) == 4) {
			rsa->sign = c;
			rsa->verify = d;
		} else if ((s = strstr(line, "(Ed25519)")) && sscanf(s + 9, "%lfs %lfs %lf %lf", &a, &b, &c, &d) == 4) {
			ed->sign = c;
			ed->verify = d;
		}
	}
	pclose(p);
}

int main(void)
{
	struct buf msg = BUF_INIT;
	struct dkim_privkey *keys[2];
	const char *names[2] = { "RSA-2048", "Ed25519" };
	struct rates speed[2] = { { 0, 0 }, { 0, 0 } };
	const char *no_speed = getenv("BENCH_DKIM_NO_SPEED");
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *c;

	make_message(&msg);
	keys[0] = dkim_privkey_from_pkey(pk = EVP_RSA_gen(2048));
	EVP_PKEY_free(pk);
	pk = NULL;
	c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &pk) != 1)
		return 1;
	EVP_PKEY_CTX_free(c);
	keys[1] = dkim_privkey_from_pkey(pk);
	EVP_PKEY_free(pk);
	if (!keys[0] || !keys[1])
		return 1;
	if (!(no_speed && *no_speed == '1'))
		openssl_speed(&speed[0], &speed[1]);
	printf("DKIM, relaxed/relaxed, on a %zu-byte message; %.0f s per figure; ops per second\n", msg.len,
	       RUN_SECONDS);
	printf("  raw = EVP op on a digest with a ready context (what openssl speed times), same run\n");
	printf("  floor = SHA-256 of the message + raw op: the least work a DKIM implementation can do\n");
	for (int i = 0; i < 2; i++) {
		struct rates raw = raw_evp(keys[i], &msg, 0);
		struct rates floor = raw_evp(keys[i], &msg, 1);
		struct rates o = ours(keys[i], &msg, 1);
		struct rates nocache = ours(keys[i], &msg, 0);
		printf("%-8s sign:   ours %8.0f | raw %8.0f (%5.1f%%) | floor %8.0f (%5.1f%%) | openssl speed %8.0f\n",
		       names[i], o.sign, raw.sign, 100.0 * o.sign / raw.sign, floor.sign, 100.0 * o.sign / floor.sign,
		       speed[i].sign);
		printf("%-8s verify: ours %8.0f | raw %8.0f (%5.1f%%) | floor %8.0f (%5.1f%%) | openssl speed %8.0f"
		       " | ours, key parsed per message %8.0f\n",
		       names[i], o.verify, raw.verify, 100.0 * o.verify / raw.verify, floor.verify,
		       100.0 * o.verify / floor.verify, speed[i].verify, nocache.verify);
		dkim_privkey_free(keys[i]);
	}
	buf_free(&msg);
	return 0;
}
