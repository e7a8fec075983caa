#include "federation/server_name.h"

#include <arpa/inet.h>
#include <string.h>

static int parse_port(const char *p, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; p[n]; n++) {
		if (p[n] < '0' || p[n] > '9' || n >= 5)
			return -1;
		v = v * 10 + (unsigned long)(p[n] - '0');
	}
	if (n == 0 || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int server_name_parse(const char *name, struct server_name *out)
{
	const char *colon, *end;
	size_t hlen;
	unsigned char addr[16];

	memset(out, 0, sizeof(*out));
	if (!name || !*name)
		return -1;
	if (name[0] == '[') {
		end = strchr(name, ']');
		if (!end)
			return -1;
		hlen = (size_t)(end - name - 1);
		if (hlen < 2 || hlen > 45)
			return -1;
		memcpy(out->host, name + 1, hlen);
		out->host[hlen] = '\0';
		if (strspn(out->host, "0123456789abcdefABCDEF:.") != hlen ||
		    inet_pton(AF_INET6, out->host, addr) != 1)
			return -1;
		out->kind = SERVER_HOST_IPV6;
		if (end[1] == '\0')
			return 0;
		return end[1] == ':' ? parse_port(end + 2, &out->port) : -1;
	}
	colon = strchr(name, ':');
	hlen = colon ? (size_t)(colon - name) : strlen(name);
	if (hlen == 0 || hlen > 255 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != hlen)
		return -1;
	memcpy(out->host, name, hlen);
	out->host[hlen] = '\0';
	if (colon && parse_port(colon + 1, &out->port) < 0)
		return -1;
	/* Four dotted runs of digits is the IPv4 form; it must be a real address. */
	if (strspn(out->host, "0123456789.") == hlen) {
		if (inet_pton(AF_INET, out->host, addr) != 1)
			return -1;
		out->kind = SERVER_HOST_IPV4;
	}
	return 0;
}
