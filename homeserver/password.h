/* Password hashing with argon2id (libargon2), stored as PHC strings
 * ("$argon2id$v=19$m=...,t=...,p=...$salt$hash").
 *
 * Contract: the plain password is only read, never copied or logged.
 * password_hash() returns a malloc'd PHC string (caller frees) or NULL on
 * failure (bad parameters, no memory, no randomness).  password_verify()
 * returns 1 for a match, 0 for a mismatch or an unparseable hash; it takes
 * the cost from the stored string, so raising the cost later keeps old
 * hashes working.
 */
#ifndef SCOP_HS_PASSWORD_H
#define SCOP_HS_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MAX_LEN 512

struct password_params {
	unsigned time_cost;
	unsigned memory_kib;
	unsigned parallelism;
};

char *password_hash(const char *password, const struct password_params *p);
int password_verify(const char *password, const char *phc);

#endif
