#include "federation/xmatrix.h"

#include <string.h>
#include <strings.h>

#include "homeserver/events/event_sign.h"

/* The object both sides sign: the receiver rebuilds it from the request. */
static json_t *request_object(const char *method, const char *uri, const char *origin,
			      const char *destination, const json_t *content)
{
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s}", "method", method, "uri", uri,
				"origin", origin, "destination", destination);
	if (obj && content && json_object_set(obj, "content", (json_t *)content) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

int xmatrix_sign(const struct scop_ed25519 *key, const char *origin, const char *destination,
		 const char *method, const char *uri, const json_t *content, struct buf *out)
{
	json_t *obj = request_object(method, uri, origin, destination, content);
	const char *sig;
	int rc = -1;

	if (!obj)
		return -1;
	if (json_sign(obj, origin, key) == 0) {
		sig = json_string_value(json_object_get(
			json_object_get(json_object_get(obj, "signatures"), origin), key->key_id));
		/* Server names and key ids hold no '"' or '\\' (their grammars
		 * forbid them), so plain quoting is exact. */
		if (sig && buf_printf(out, "X-Matrix origin=\"%s\",destination=\"%s\",key=\"%s\",sig=\"%s\"",
				      origin, destination, key->key_id, sig) == 0)
			rc = 0;
	}
	json_decref(obj);
	return rc;
}

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~:[]", c) != NULL);
}

/* Reads a token or quoted-string value into out[cap]; advances *pp.
 * Returns -1 on bad syntax or when the value does not fit. */
static int read_value(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '"') {
		p++;
		while (*p != '"') {
			if (*p == '\0')
				return -1;
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return -1;
			}
			if ((unsigned char)*p < 0x20 || *p == 0x7f || n + 1 >= cap)
				return -1;
			out[n++] = *p++;
		}
		p++;
	} else {
		while (is_tchar(*p)) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *p++;
		}
	}
	if (n == 0)
		return -1;
	out[n] = '\0';
	*pp = p;
	return 0;
}

enum xmatrix_status xmatrix_parse(const char *header, struct xmatrix_auth *auth)
{
	const char *p = header;
	unsigned seen = 0;

	memset(auth, 0, sizeof(*auth));
	if (!header)
		return XMATRIX_MALFORMED;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "X-Matrix", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
		return XMATRIX_MALFORMED;
	p += 8;
	for (;;) {
		char name[32];
		size_t n = 0;
		char *dst = NULL;
		size_t cap = 0;
		unsigned bit = 0;
		char ignored[512];

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		while (is_tchar(*p) && *p != '=') {
			if (n + 1 >= sizeof(name))
				return XMATRIX_MALFORMED;
			name[n++] = *p++;
		}
		name[n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (n == 0 || *p++ != '=')
			return XMATRIX_MALFORMED;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strcasecmp(name, "origin") == 0) {
			dst = auth->origin, cap = sizeof(auth->origin), bit = 1;
		} else if (strcasecmp(name, "destination") == 0) {
			dst = auth->destination, cap = sizeof(auth->destination), bit = 2;
		} else if (strcasecmp(name, "key") == 0) {
			dst = auth->key_id, cap = sizeof(auth->key_id), bit = 4;
		} else if (strcasecmp(name, "sig") == 0) {
			dst = auth->sig, cap = sizeof(auth->sig), bit = 8;
		} else {
			/* Unknown parameters are ignored, as the spec asks. */
			dst = ignored, cap = sizeof(ignored);
		}
		/* A repeated parameter could make sender and receiver read
		 * different values: refuse it. */
		if (seen & bit)
			return XMATRIX_MALFORMED;
		seen |= bit;
		if (read_value(&p, dst, cap) < 0)
			return XMATRIX_MALFORMED;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return XMATRIX_MALFORMED;
	}
	if ((seen & (1 | 4 | 8)) != (1 | 4 | 8))
		return XMATRIX_MALFORMED;
	if (strncmp(auth->key_id, "ed25519:", 8) != 0)
		return XMATRIX_MALFORMED;
	return XMATRIX_OK;
}

enum xmatrix_status xmatrix_verify(const struct xmatrix_auth *auth, const char *my_server_name,
				   const char *method, const char *uri, const json_t *content,
				   const unsigned char pub[32])
{
	json_t *obj, *sigs;
	enum xmatrix_status st = XMATRIX_BAD_SIGNATURE;

	if (auth->destination[0] && strcmp(auth->destination, my_server_name) != 0)
		return XMATRIX_WRONG_DESTINATION;
	obj = request_object(method, uri, auth->origin, my_server_name, content);
	if (!obj)
		return XMATRIX_BAD_SIGNATURE;
	sigs = json_pack("{s:{s:s}}", auth->origin, auth->key_id, auth->sig);
	if (sigs && json_object_set_new(obj, "signatures", sigs) == 0) {
		if (json_verify(obj, auth->origin, auth->key_id, pub) == 0)
			st = XMATRIX_OK;
	} else {
		json_decref(sigs);
	}
	json_decref(obj);
	return st;
}

const char *xmatrix_status_str(enum xmatrix_status st)
{
	switch (st) {
	case XMATRIX_OK:
		return "ok";
	case XMATRIX_MALFORMED:
		return "malformed X-Matrix authorization header";
	case XMATRIX_WRONG_DESTINATION:
		return "request is for another server";
	case XMATRIX_BAD_SIGNATURE:
		return "signature does not verify";
	}
	return "unknown";
}
