/* Matrix server names (spec appendices, "Server Name"):
 *   server_name = hostname [ ":" port ]
 *   hostname    = IPv4address / "[" IPv6address "]" / dns-name
 * Parsing is strict: anything outside the grammar, a port outside
 * 1..65535, or an IP literal that does not parse as an address is refused.
 */
#ifndef SCOP_SERVER_NAME_H
#define SCOP_SERVER_NAME_H

#include <stdint.h>

enum server_host_kind {
	SERVER_HOST_DNS = 0,
	SERVER_HOST_IPV4,
	SERVER_HOST_IPV6,
};

struct server_name {
	enum server_host_kind kind;
	char host[256];  /* the hostname, or the address without brackets */
	uint16_t port;   /* 0 when the name has no explicit port */
};

/* 0 on success, -1 when name is not a valid server name. */
int server_name_parse(const char *name, struct server_name *out);

#endif
