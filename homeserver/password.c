#include "homeserver/password.h"

#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "common/crypto.h"

#define SALT_LEN 16
#define HASH_LEN 32

char *password_hash(const char *password, const struct password_params *p)
{
	unsigned char salt[SALT_LEN];
	size_t pwlen = strlen(password), enclen;
	char *out;

	if (pwlen > PASSWORD_MAX_LEN || scop_random_bytes(salt, sizeof(salt)) < 0)
		return NULL;
	enclen = argon2_encodedlen(p->time_cost, p->memory_kib, p->parallelism,
				   SALT_LEN, HASH_LEN, Argon2_id);
	out = malloc(enclen);
	if (!out)
		return NULL;
	if (argon2id_hash_encoded(p->time_cost, p->memory_kib, p->parallelism,
				  password, pwlen, salt, SALT_LEN, HASH_LEN,
				  out, enclen) != ARGON2_OK) {
		free(out);
		return NULL;
	}
	return out;
}

int password_verify(const char *password, const char *phc)
{
	size_t pwlen = strlen(password);
	if (!phc || pwlen > PASSWORD_MAX_LEN || strncmp(phc, "$argon2id$", 10) != 0)
		return 0;
	return argon2id_verify(phc, password, pwlen) == ARGON2_OK;
}
