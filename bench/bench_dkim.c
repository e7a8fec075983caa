/* DKIM signs/s and verifies/s per algorithm (RSA-2048, Ed25519) on a
 * realistic 10 KiB message and on a small 1 KiB one, next to the raw
 * OpenSSL rate for the same key measured in the same run: EVP
 * sign/verify of a 32-byte digest, which is what `openssl speed rsa2048
 * ed25519` times, and `openssl speed` itself when the openssl CLI is
 * there (BENCH_DKIM_NO_SPEED=1 skips it).  Rates are per CPU second of
 * this thread, as openssl speed's are.  Both sizes matter: hashing 10 KiB
 * costs a large share of an RSA verification or an Ed25519 signature, so
 * there even a perfect implementation stays well under the raw rate.
 *
 * "ours" is the whole job: header split, body canonicalization and hash,
 * header hash, the signature, and (verify) key record parsing, with a
 * signer or verifier kept from message to message (through its key
 * cache, the verifier parses the key record once); "new ... per message"
 * is the same through dkim_sign()/dkim_verify(). */
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

/* CPU time of this thread, as `openssl speed` divides by CPU time (unless
 * -elapsed): on a shared machine wall-clock rates say more about the
 * neighbours than about the code. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_message(struct buf *m, size_t size)
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
	while (m->len < size - 80) {
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

/* The machine is shared, so the variants compared with each other run
 * interleaved in short slices: a burst of load hits them alike. */
struct variant {
	const char *name;
	int (*op)(void *ctx);
	void *ctx;
	long n;
	double t;
};

static void race(struct variant *v, int nv, double total)
{
	for (int i = 0; i < nv; i++)
		v[i].n = 0, v[i].t = 0;
	for (double spent = 0; spent < total;) {
		for (int i = 0; i < nv; i++) {
			double t0 = now(), t;
			long n = 0;
			do {
				if (v[i].op(v[i].ctx) < 0)
					abort();
				n++;
			} while ((t = now() - t0) < 0.02);
			v[i].n += n;
			v[i].t += t;
			spent += t;
		}
	}
}

static double rate(const struct variant *v)
{
	return (double)v->n / v->t;
}

struct job {
	struct dkim_privkey *key;
	struct dkim_key pub;
	const struct buf *msg;
	struct buf signed_msg;
	unsigned char digest[32], *sig;
	size_t siglen;
	struct dkim_sign_opts so;
	struct dkim_verify_opts vo, vo_nocache;
	struct dkim_verifier *verifier; /* kept across messages, as a long-running bridge keeps one */
	struct dkim_signer *signer;     /* the same for signing */
	EVP_PKEY_CTX *raw_vctx;         /* RSA: EVP verification with a ready context */
	EVP_MD_CTX *raw_vmd;            /* Ed25519: the same */
};

static int sign_ours(void *p)
{
	struct job *j = p;
	struct buf out = BUF_INIT;
	int rc = dkim_signer_message(j->signer, j->msg->data, j->msg->len, &out, NULL, 0);
	buf_free(&out);
	return rc;
}

static int sign_fresh(void *p)
{
	struct job *j = p;
	struct buf out = BUF_INIT;
	int rc = dkim_sign(&j->so, j->key, j->msg->data, j->msg->len, &out, NULL, 0);
	buf_free(&out);
	return rc;
}

static int sign_raw(void *p)
{
	struct job *j = p;
	unsigned char sig[1024];
	size_t len = sizeof(sig);
	return dkim_crypto_sign_buf(j->key, j->digest, sig, &len);
}

static int sign_floor(void *p)
{
	struct job *j = p;
	scop_sha256(j->msg->data, j->msg->len, j->digest);
	return sign_raw(p);
}

static int verify_with(const struct dkim_verify_opts *vo, const struct buf *m)
{
	struct dkim_result *res;
	size_t count;
	int ok = dkim_verify(vo, m->data, m->len, &res, &count) == 0 && count == 1 && res[0].status == DKIM_PASS;
	free(res);
	return ok ? 0 : -1;
}

static int verify_ours(void *p)
{
	struct job *j = p;
	const struct dkim_result *res;
	size_t count;
	int ok = dkim_verifier_message(j->verifier, j->signed_msg.data, j->signed_msg.len, &res, &count) == 0 &&
		 count == 1 && res[0].status == DKIM_PASS;
	return ok ? 0 : -1;
}

static int verify_fresh(void *p)
{
	struct job *j = p;
	return verify_with(&j->vo, &j->signed_msg);
}

static int verify_nocache(void *p)
{
	struct job *j = p;
	return verify_with(&j->vo_nocache, &j->signed_msg);
}

/* What `openssl speed` times: EVP, a ready context, a 32-byte digest. */
static int verify_raw(void *p)
{
	struct job *j = p;
	if (j->raw_vmd)
		return EVP_DigestVerify(j->raw_vmd, j->sig, j->siglen, j->digest, 32) == 1 ? 0 : -1;
	return EVP_PKEY_verify(j->raw_vctx, j->sig, j->siglen, j->digest, 32) == 1 ? 0 : -1;
}

static int verify_floor(void *p)
{
	struct job *j = p;
	unsigned char d[32];
	scop_sha256(j->msg->data, j->msg->len, d);
	return verify_raw(p);
}

/* Our own verification primitive alone (for RSA the Montgomery path of
 * dkim_rsa.c). */
static int verify_crypto(void *p)
{
	struct job *j = p;
	return dkim_crypto_verify(&j->pub, j->digest, j->sig, j->siglen);
}

static int raw_verify_setup(struct job *j)
{
	EVP_PKEY *pk = j->pub.pkey;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519)
		return (j->raw_vmd = EVP_MD_CTX_new()) && EVP_DigestVerifyInit(j->raw_vmd, NULL, NULL, NULL, pk) == 1
			       ? 0
			       : -1;
	return (j->raw_vctx = EVP_PKEY_CTX_new(pk, NULL)) && EVP_PKEY_verify_init(j->raw_vctx) == 1 &&
			       EVP_PKEY_CTX_set_rsa_padding(j->raw_vctx, RSA_PKCS1_PADDING) == 1 &&
			       EVP_PKEY_CTX_set_signature_md(j->raw_vctx, EVP_sha256()) == 1
		       ? 0
		       : -1;
}

struct rates {
	double sign, verify;
};

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

static void run_algo(const char *name, struct dkim_privkey *key, const struct buf *msg, double speed_sign,
		     double speed_verify)
{
	struct job j;
	struct buf rec = BUF_INIT, sig = BUF_INIT;
	memset(&j, 0, sizeof(j));
	j.key = key;
	j.msg = msg;
	j.so = (struct dkim_sign_opts){ .domain = "example.com", .selector = "bench", .hcanon = DKIM_CANON_RELAXED,
					.bcanon = DKIM_CANON_RELAXED, .timestamp = 1795000000 };
	scop_sha256(msg->data, msg->len, j.digest);
	dkim_pubkey_record(dkim_privkey_pkey(key), &rec);
	if (dkim_key_parse(rec.data, rec.len, &j.pub, NULL, 0) < 0 ||
	    dkim_crypto_sign(key, j.digest, &j.sig, &j.siglen) < 0 ||
	    dkim_sign(&j.so, key, msg->data, msg->len, &sig, NULL, 0) < 0)
		abort();
	buf_append(&j.signed_msg, sig.data, sig.len);
	buf_append(&j.signed_msg, msg->data, msg->len);
	j.vo.key_record = j.vo_nocache.key_record = rec.data;
	j.vo.keys = dkim_keycache_new(16);
	j.verifier = dkim_verifier_new(&j.vo);
	j.signer = dkim_signer_new(&j.so, key, NULL, 0);
	if (!j.verifier || !j.signer || raw_verify_setup(&j) < 0)
		abort();

	struct variant sv[4] = { { "ours", sign_ours, &j, 0, 0 }, { "raw", sign_raw, &j, 0, 0 },
				 { "floor", sign_floor, &j, 0, 0 }, { "fresh", sign_fresh, &j, 0, 0 } };
	struct variant vv[6] = { { "ours", verify_ours, &j, 0, 0 },	    { "raw", verify_raw, &j, 0, 0 },
				 { "floor", verify_floor, &j, 0, 0 },	    { "nocache", verify_nocache, &j, 0, 0 },
				 { "fresh", verify_fresh, &j, 0, 0 },	    { "crypto", verify_crypto, &j, 0, 0 } };
	race(sv, 4, RUN_SECONDS * 4);
	race(vv, 6, RUN_SECONDS * 6);
	printf("%-8s sign:   ours %8.0f | raw %8.0f (%5.1f%%) | floor %8.0f (%5.1f%%) | openssl speed %8.0f"
	       " | new signer per message %8.0f (%5.1f%%)\n",
	       name, rate(&sv[0]), rate(&sv[1]), 100 * rate(&sv[0]) / rate(&sv[1]), rate(&sv[2]),
	       100 * rate(&sv[0]) / rate(&sv[2]), speed_sign, rate(&sv[3]), 100 * rate(&sv[3]) / rate(&sv[1]));
	printf("%-8s verify: ours %8.0f | raw %8.0f (%5.1f%%) | floor %8.0f (%5.1f%%) | openssl speed %8.0f"
	       " | new verifier per message %8.0f (%5.1f%%) | key parsed per message %8.0f"
	       " | our crypto alone %8.0f (%5.1f%%)\n",
	       name, rate(&vv[0]), rate(&vv[1]), 100 * rate(&vv[0]) / rate(&vv[1]), rate(&vv[2]),
	       100 * rate(&vv[0]) / rate(&vv[2]), speed_verify, rate(&vv[4]), 100 * rate(&vv[4]) / rate(&vv[1]),
	       rate(&vv[3]), rate(&vv[5]), 100 * rate(&vv[5]) / rate(&vv[1]));
	EVP_PKEY_CTX_free(j.raw_vctx);
	EVP_MD_CTX_free(j.raw_vmd);
	dkim_verifier_free(j.verifier);
	dkim_signer_free(j.signer);
	dkim_keycache_free(j.vo.keys);
	dkim_key_free(&j.pub);
	free(j.sig);
	buf_free(&j.signed_msg);
	buf_free(&rec);
	buf_free(&sig);
}

int main(void)
{
	static const size_t sizes[] = { 10 * 1024, 1024 };
	struct dkim_privkey *keys[2];
	struct rates speed[2] = { { 0, 0 }, { 0, 0 } };
	const char *no_speed = getenv("BENCH_DKIM_NO_SPEED");
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *c;

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
	printf("DKIM, relaxed/relaxed; ops per CPU second, variants interleaved\n");
	printf("  raw = EVP op on a digest with a ready context (what openssl speed times), same run\n");
	printf("  floor = SHA-256 of the message + raw op: the least work a DKIM implementation can do\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct buf msg = BUF_INIT;
		make_message(&msg, sizes[i]);
		printf("%zu-byte message:\n", msg.len);
		run_algo("RSA-2048", keys[0], &msg, speed[0].sign, speed[0].verify);
		run_algo("Ed25519", keys[1], &msg, speed[1].sign, speed[1].verify);
		buf_free(&msg);
	}
	dkim_privkey_free(keys[0]);
	dkim_privkey_free(keys[1]);
	return 0;
}
