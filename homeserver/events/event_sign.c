/* JSON and event signing; see event_sign.h. */
#include "homeserver/events/event_sign.h"

#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/canonjson.h"
#include "homeserver/events/event.h"

/* Canonical bytes of obj without signatures and unsigned; caller frees. */
static char *signing_bytes(const json_t *obj, int flags, size_t *len)
{
	json_t *copy;
	char *enc;

	if (!json_is_object(obj) || !(copy = json_copy((json_t *)obj)))
		return NULL;
	json_object_del(copy, "signatures");
	json_object_del(copy, "unsigned");
	enc = canonjson_dumps(copy, len, flags);
	json_decref(copy);
	return enc;
}

static int sign_flags(json_t *obj, const char *entity, const struct scop_ed25519 *key, int flags)
{
	unsigned char sig[64];
	char b64[96];
	json_t *sigs, *mine;
	size_t len;
	char *enc = signing_bytes(obj, flags, &len);
	int rc;

	if (!enc)
		return -1;
	rc = scop_ed25519_sign(key, enc, len, sig);
	free(enc);
	if (rc < 0)
		return -1;
	base64_encode(sig, sizeof(sig), b64, 0);
	sigs = json_object_get(obj, "signatures");
	if (!json_is_object(sigs)) {
		if (json_object_set_new(obj, "signatures", json_object()) < 0)
			return -1;
		sigs = json_object_get(obj, "signatures");
	}
	mine = json_object_get(sigs, entity);
	if (!json_is_object(mine)) {
		if (json_object_set_new(sigs, entity, json_object()) < 0)
			return -1;
		mine = json_object_get(sigs, entity);
	}
	return json_object_set_new(mine, key->key_id, json_string(b64));
}

int json_sign(json_t *obj, const char *entity, const struct scop_ed25519 *key)
{
	return sign_flags(obj, entity, key, 0);
}

static int verify_flags(const json_t *obj, const char *entity, const char *key_id,
			const unsigned char pub[32], int flags)
{
	const char *b64 = json_string_value(
		json_object_get(json_object_get(json_object_get(obj, "signatures"), entity), key_id));
	unsigned char sig[66];
	size_t len;
	char *enc;
	int rc;

	if (!b64 || strlen(b64) != 86 || base64_decode(b64, 86, sig, 64, 0) != 64)
		return -1;
	if (!(enc = signing_bytes(obj, flags, &len)))
		return -1;
	rc = scop_ed25519_verify(pub, enc, len, sig);
	free(enc);
	return rc;
}

int json_verify(const json_t *obj, const char *entity, const char *key_id, const unsigned char pub[32])
{
	return verify_flags(obj, entity, key_id, pub, 0);
}

int event_hash_and_sign(const struct room_version *rv, json_t *ev, const char *server,
			const struct scop_ed25519 *key)
{
	int flags = rv->strict_canonical_json ? 0 : CANONJSON_LAX;
	json_t *red, *sigs;
	int rc = -1;

	if (event_set_content_hash(rv, ev) < 0 || !(red = event_redact(rv, ev)))
		return -1;
	if (sign_flags(red, server, key, flags) == 0 && (sigs = json_object_get(red, "signatures")))
		rc = json_object_set(ev, "signatures", sigs);
	json_decref(red);
	return rc;
}

int event_verify_signature(const struct room_version *rv, const json_t *ev, const char *server,
			   const char *key_id, const unsigned char pub[32])
{
	json_t *red = event_redact(rv, ev);
	int rc;

	if (!red)
		return -1;
	rc = verify_flags(red, server, key_id, pub, rv->strict_canonical_json ? 0 : CANONJSON_LAX);
	json_decref(red);
	return rc;
}

static size_t add_signer(const char *servers[EVENT_MAX_SIGNERS], size_t n, const char *server)
{
	if (!server || !*server || n >= EVENT_MAX_SIGNERS)
		return n;
	for (size_t i = 0; i < n; i++)
		if (strcmp(servers[i], server) == 0)
			return n;
	servers[n] = server;
	return n + 1;
}

size_t event_required_signers(const struct room_version *rv, const json_t *ev,
			      const char *servers[EVENT_MAX_SIGNERS])
{
	const json_t *content = json_object_get(ev, "content");
	const char *m = event_membership(ev);
	size_t n = 0;

	if (!(m && strcmp(m, "invite") == 0 && json_object_get(content, "third_party_invite")))
		n = add_signer(servers, n, matrix_id_domain(event_sender(ev)));
	if (rv->event_id == EVENT_ID_V1)
		n = add_signer(servers, n, matrix_id_domain(json_string_value(json_object_get(ev, "event_id"))));
	if (rv->restricted && m && strcmp(m, "join") == 0)
		n = add_signer(servers, n, matrix_id_domain(json_string_value(
						   json_object_get(content, "join_authorised_via_users_server"))));
	return n;
}
