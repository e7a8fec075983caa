/* Single-use nonces with a lifetime, for Synapse's shared-secret admin
 * registration (GET hands one out, POST consumes it).
 *
 * Contract: internally locked; bounded (oldest nonces are dropped when
 * full).  nonces_take() succeeds at most once per nonce.
 */
#ifndef SCOP_HS_NONCE_H
#define SCOP_HS_NONCE_H

#include <stdint.h>

#define NONCE_LEN 32

struct nonces;

struct nonces *nonces_new(void);
void nonces_free(struct nonces *n);
/* Writes a fresh nonce into out[NONCE_LEN + 1]; -1 on failure. */
int nonces_issue(struct nonces *n, int64_t now_ms, char out[NONCE_LEN + 1]);
/* 1 when nonce was issued, unexpired and unused (it is used now), else 0. */
int nonces_take(struct nonces *n, const char *nonce, int64_t now_ms);

#endif
