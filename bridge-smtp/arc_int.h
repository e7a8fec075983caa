/* Internal to the ARC modules: what verifying and sealing share. */
#ifndef SCOP_ARC_INT_H
#define SCOP_ARC_INT_H

#include "bridge-smtp/arc.h"
#include "bridge-smtp/dkim_int.h"

/* The ARC-Seal hash (RFC 8617 5.1.1): the relaxed canonical forms of
 * sets 1..prior of c (AAR, AMS, AS each), then of aar and ams (whole
 * fields, CRLF-terminated), then of as (the seal being made or checked,
 * b='s value removed) without its final CRLF.  md and scratch are kept
 * by the caller between uses. */
int arc_seal_hash(const struct arc_chain *c, int prior, const char *aar, size_t aar_len, const char *ams,
		  size_t ams_len, const char *as, size_t as_len, const EVP_MD *sha256, EVP_MD_CTX *md,
		  struct buf *scratch, unsigned char digest[32]);

#endif
