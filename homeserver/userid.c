#include "homeserver/userid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool valid_port(const char *p)
{
	long v = 0;
	if (!*p || strlen(p) > 5)
		return false;
	for (; *p; p++) {
		if (!is_digit(*p))
			return false;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535;
}

bool hs_server_name_valid(const char *name)
{
	const char *p = name, *end;
	size_t len = strlen(name);

	if (len == 0 || len > 230)
		return false;
	if (*p == '[') {
		/* IPv6 literal: hex digits, ':' and '.', as the grammar allows. */
		end = strchr(p, ']');
		if (!end || end == p + 1 || end - p > 46)
			return false;
		for (const char *q = p + 1; q < end; q++)
			if (!(is_digit(*q) || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F') ||
			      *q == ':' || *q == '.'))
				return false;
		p = end + 1;
	} else {
		const char *q = p;
		while (*q && *q != ':') {
			if (!(is_alnum(*q) || *q == '-' || *q == '.'))
				return false;
			q++;
		}
		if (q == p)
			return false;
		p = q;
	}
	if (*p == '\0')
		return true;
	return *p == ':' && valid_port(p + 1);
}

bool hs_localpart_valid_new(const char *lp)
{
	bool all_digits = true;
	if (!lp[0] || lp[0] == '_')
		return false;
	for (const char *p = lp; *p; p++) {
		char c = *p;
		if (!(is_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' ||
		      c == '=' || c == '-' || c == '/' || c == '+'))
			return false;
		if (!is_digit(c))
			all_digits = false;
	}
	return !all_digits;
}

bool hs_localpart_valid_any(const char *lp)
{
	if (!lp[0])
		return false;
	for (const char *p = lp; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == ':')
			return false;
	return true;
}

bool hs_user_id_split(const char *id, char *local, size_t locallen, const char **server)
{
	const char *colon;
	size_t n;
	if (!id || id[0] != '@' || strlen(id) > HS_USER_ID_MAX)
		return false;
	colon = strchr(id, ':');
	if (!colon)
		return false;
	n = (size_t)(colon - id - 1);
	if (n == 0 || n >= locallen)
		return false;
	memcpy(local, id + 1, n);
	local[n] = '\0';
	if (!hs_localpart_valid_any(local) || !hs_server_name_valid(colon + 1))
		return false;
	*server = colon + 1;
	return true;
}

char *hs_user_id_make(const char *localpart, const char *server_name)
{
	char *out;
	if (strlen(localpart) + strlen(server_name) + 2 > HS_USER_ID_MAX)
		return NULL;
	if (asprintf(&out, "@%s:%s", localpart, server_name) < 0)
		return NULL;
	return out;
}
