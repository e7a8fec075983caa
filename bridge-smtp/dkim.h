/* DKIM signatures (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC
 * 8463): parsing DKIM-Signature fields and key records, signing, and
 * verifying every signature of a message.
 *
 * Messages are raw bytes as on the wire (CRLF line endings).  Signing and
 * verifying stream the body: hand over the header block once, then the
 * body in chunks of any size, then finish.  dkim_sign() and dkim_verify()
 * do all three for a message held in memory.
 *
 * What we refuse, on purpose: rsa-sha1 (RFC 8301), RSA keys under 1024
 * bits, and signing with l= (a verifier may then see appended content as
 * signed).  Signatures with l= are verified, and a result says when the
 * body went on past l= (partial_body); with reject_partial_body such a
 * signature gets DKIM_POLICY instead of DKIM_PASS.
 *
 * Memory: parse functions fill caller structs that the matching _free
 * releases.  Signers and verifiers are opaque and own copies of what they
 * need; kept and reset between messages (dkim_signer_message,
 * dkim_verifier_message) they allocate nothing per message once warmed
 * up, which is how a long-running bridge should use them.  A struct dkim_privkey (and a parsed struct dkim_key) keeps its
 * OpenSSL operation context ready between uses, because setting one up
 * costs more than an Ed25519 signature: so each may be used by one thread
 * at a time.  Nothing here logs key material.
 *
 * Errors: functions return 0, or -1 with a one-line reason in err (err
 * may be NULL).  Verification problems are results, not errors: -1 from
 * a verifier means bad arguments or no memory.
 */
#ifndef SCOP_DKIM_H
#define SCOP_DKIM_H

#include <stddef.h>

#include <openssl/evp.h>

#include "bridge-smtp/dkim_canon.h"
#include "common/buf.h"

struct dns_resolver;

enum dkim_algo {
	DKIM_ALGO_RSA_SHA256 = 0,
	DKIM_ALGO_ED25519_SHA256 = 1,
};

#define DKIM_MAX_SIGNED_HEADERS 128

struct dkim_sig {
	enum dkim_algo algo;
	enum dkim_canon hcanon, bcanon;
	char domain[256];   /* d=, lower case */
	char selector[256]; /* s= */
	char identity[512]; /* i=, or "@" d when absent */
	char *hbuf;         /* the h= names, lower case, NUL-separated */
	const char *headers[DKIM_MAX_SIGNED_HEADERS];
	size_t nheaders;
	unsigned char *b;   /* signature */
	size_t b_len;
	char b_prefix[16];  /* start of b= in base64, for header.b */
	size_t b_start, b_end; /* offsets in the parsed text of what the header
				* hash leaves out: b='s value and the white
				* space around it (as dkim_strip_b finds them) */
	unsigned char bh[32];
	long long l;        /* -1 when absent */
	long long t, x;     /* -1 when absent */
};

/* Fills every field of sig up to nheaders entries of headers[]. */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig, char *err, size_t errlen);
void dkim_sig_free(struct dkim_sig *sig);

struct dkim_rsa_pub;
struct dkim_key {
	enum dkim_algo algo; /* from k=: rsa or ed25519 */
	int revoked;         /* p= empty; pkey is NULL */
	int testing;         /* t=y */
	int strict;          /* t=s: i= must be exactly d= */
	int sha256_ok;       /* h= absent or lists sha256 */
	int email_ok;        /* s= absent, or lists "*" or "email" */
	int bits;            /* RSA modulus size */
	EVP_PKEY *pkey;
	struct dkim_rsa_pub *rsa; /* RSA verification, set up by dkim_key_parse */
	EVP_MD_CTX *vmd;     /* Ed25519 verify context, made on first use */
};

/* Parses a key record (the joined TXT strings).  A revoked key parses
 * (revoked = 1); a bad v=, unknown k=, missing p=, undecodable key or an
 * RSA key under 1024 bits is an error. */
int dkim_key_parse(const char *rec, size_t len, struct dkim_key *key, char *err, size_t errlen);
void dkim_key_free(struct dkim_key *key);

/* A signing key: RSA (at least 1024 bits) or Ed25519. */
struct dkim_privkey;

/* Loads a signing key: PEM (PKCS#8 or traditional RSA) or, for Ed25519,
 * a file holding the base64 of the 32-byte seed (as dkimpy's dknewkey
 * writes it).  The error never quotes the file's content. */
int dkim_privkey_load(const char *path, struct dkim_privkey **out, char *err, size_t errlen);
/* Wraps pkey (taking a reference of its own); NULL for other key types. */
struct dkim_privkey *dkim_privkey_from_pkey(EVP_PKEY *pkey);
EVP_PKEY *dkim_privkey_pkey(const struct dkim_privkey *k);
void dkim_privkey_free(struct dkim_privkey *k);
/* The key record ("v=DKIM1; k=...; p=...") for a key's public half. */
int dkim_pubkey_record(EVP_PKEY *key, struct buf *out);

/* ---- signing ---- */

struct dkim_sign_opts {
	const char *domain;   /* d= */
	const char *selector; /* s= */
	enum dkim_canon hcanon, bcanon; /* zero: simple/simple; relaxed/relaxed is the usual choice */
	const char *identity; /* i=, NULL to leave it out */
	/* Header names to sign, NULL-terminated; NULL means a default set
	 * (From, To, Cc, Subject, Date, Message-ID, threading and MIME
	 * headers), of which those present are signed. */
	const char *const *headers;
	int no_oversign;      /* default: each name is listed once more than it occurs */
	long long timestamp;  /* t=; 0 means now, <0 leaves t= out */
	long long expire_after; /* x = t + this when > 0 */
};

struct dkim_signer;

struct dkim_signer *dkim_signer_new(const struct dkim_sign_opts *o, struct dkim_privkey *key, char *err, size_t errlen);
/* The header block: fields as on the wire, with or without the empty line. */
int dkim_signer_headers(struct dkim_signer *s, const char *hdr, size_t len, char *err, size_t errlen);
int dkim_signer_body(struct dkim_signer *s, const void *data, size_t n);
/* Appends "DKIM-Signature: ...\r\n" (folded) to out. */
int dkim_signer_finish(struct dkim_signer *s, struct buf *out, char *err, size_t errlen);
/* Makes s ready to sign the next message with the same options and key,
 * keeping its memory (header copy and field array, hash contexts, the
 * buffers the field is built in), so that a signer kept for message
 * after message allocates nothing once warmed up.  -1 on an OpenSSL
 * failure (then free the signer). */
int dkim_signer_reset(struct dkim_signer *s);
/* Reset, then headers, body and finish for a whole message in memory,
 * without copying its header block (msg need only last the call). */
int dkim_signer_message(struct dkim_signer *s, const char *msg, size_t len, struct buf *out, char *err,
			size_t errlen);
void dkim_signer_free(struct dkim_signer *s);

int dkim_sign(const struct dkim_sign_opts *o, struct dkim_privkey *key, const char *msg, size_t len,
	      struct buf *out, char *err, size_t errlen);

/* ---- verifying ---- */

enum dkim_status {
	DKIM_NONE = 0,   /* no signature */
	DKIM_PASS,
	DKIM_FAIL,       /* bad signature, body hash mismatch, expired */
	DKIM_NEUTRAL,    /* failed, but the key is in testing mode (t=y); or not
			  * checked (past max_signatures, too many body variants) */
	DKIM_POLICY,     /* valid but not acceptable here (l= short of the body) */
	DKIM_TEMPERROR,  /* key lookup failed for now */
	DKIM_PERMERROR,  /* malformed signature or key, no key, revoked key */
};

const char *dkim_status_name(enum dkim_status s); /* RFC 8601 names */

struct dkim_result {
	enum dkim_status status;
	enum dkim_algo algo;
	char domain[256];
	char selector[256];
	char identity[512];
	char b_prefix[16];
	int testing;
	int partial_body;
	char reason[160];
};

/* Parsed keys kept across messages, keyed by the record's text (so a
 * changed record is parsed afresh); least recently used goes first.
 * One thread at a time. */
struct dkim_keycache;
struct dkim_keycache *dkim_keycache_new(size_t entries);
void dkim_keycache_free(struct dkim_keycache *c);

struct dkim_verify_opts {
	struct dns_resolver *dns; /* key lookups at <s>._domainkey.<d> */
	struct dkim_keycache *keys; /* optional */
	const char *key_record;   /* when set, used for every signature instead of DNS */
	long long now;            /* 0: time(NULL); for x= */
	unsigned max_signatures;  /* 0: 8; signatures past this are not checked */
	int reject_partial_body;
};

struct dkim_verifier;

struct dkim_verifier *dkim_verifier_new(const struct dkim_verify_opts *o);
int dkim_verifier_headers(struct dkim_verifier *v, const char *hdr, size_t len);
int dkim_verifier_body(struct dkim_verifier *v, const void *data, size_t n);
/* Results, one per DKIM-Signature field in order of appearance (none when
 * the message is unsigned).  The array belongs to the verifier. */
int dkim_verifier_finish(struct dkim_verifier *v, const struct dkim_result **res, size_t *count);
/* Makes v ready for the next message with the same options.  Its memory
 * is kept (a scratch arena for what one message needs, the header field
 * array, body and header hash contexts), so that a verifier kept for
 * message after message allocates nothing once warmed up.  Results from
 * before become invalid. */
void dkim_verifier_reset(struct dkim_verifier *v);
/* Reset, then headers, body and finish for a whole message in memory,
 * without copying its header block (msg need only last the call).
 * Results as from dkim_verifier_finish. */
int dkim_verifier_message(struct dkim_verifier *v, const char *msg, size_t len, const struct dkim_result **res,
			  size_t *count);
void dkim_verifier_free(struct dkim_verifier *v);

/* Whole-message form; *res is malloc()ed (free() it), *count may be 0. */
int dkim_verify(const struct dkim_verify_opts *o, const char *msg, size_t len,
		struct dkim_result **res, size_t *count);

#endif
