/* Per-client-address limits for the SMTP server, in the spirit of
 * Postfix's anvil: concurrent connections per address, new connections
 * per address in a time window, and failed AUTH attempts per address
 * (after too many, the address may not authenticate for a while).
 *
 * Addresses are counted by IPv4 address or by IPv6 /64 (one host usually
 * gets a whole /64, so counting single IPv6 addresses would limit
 * nothing).  IPv4-mapped IPv6 addresses count as IPv4.
 *
 * Memory stays bounded under a flood of source addresses: the table has
 * a fixed number of slots, grouped in small sets chosen by a keyed hash
 * (the key comes from the caller, so an attacker cannot aim addresses at
 * one set).  A new address takes a free slot in its set or evicts the
 * least recently seen entry, preferring one without open connections.
 * An evicted address starts again from zero, so under such a flood the
 * limits can undercount (fail open), never block an innocent address.
 *
 * No clock inside: callers pass the time in milliseconds from any
 * monotonic clock, which keeps the module deterministic for tests.
 *
 * Contract: the table owns its memory (smtp_ip_limits_free); it is not
 * thread-safe (the server calls it from its loop thread only).  A limit
 * of 0 means "no limit" for that kind.
 */
#ifndef SCOP_SMTP_LIMITS_IP_H
#define SCOP_SMTP_LIMITS_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address block exempt from every limit (e.g. a trusted relay). */
struct smtp_ip_net {
	uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	unsigned prefix;  /* in bits of the 16-byte form (IPv4 /8 is 104) */
};

struct smtp_ip_limits_config {
	unsigned max_conns;          /* open connections per address */
	unsigned max_conn_rate;      /* new connections per address per window */
	unsigned conn_rate_window_s;
	unsigned max_auth_failures;  /* failed AUTHs per address per window... */
	unsigned auth_window_s;
	unsigned auth_block_s;       /* ...then no AUTH for this long */
	size_t table_size;           /* slots; rounded up to a multiple of the set size */
	const struct smtp_ip_net *exempt;
	size_t n_exempt;
};

/* Defaults: 10 connections, 60 per 60 s, 5 failures per 600 s then a
 * 600 s block, 4096 slots, nothing exempt. */
void smtp_ip_limits_default(struct smtp_ip_limits_config *c);

/* Parses "192.0.2.0/24", "2001:db8::/32" or a single address (a full
 * prefix).  Returns 0 or -1 for anything else. */
int smtp_ip_net_parse(const char *text, struct smtp_ip_net *out);

/* What an address is counted as: filled by smtp_ip_key_from(). */
struct smtp_ip_key {
	uint8_t b[16];
};

/* -1 for a family other than AF_INET/AF_INET6 (then no limits apply). */
int smtp_ip_key_from(const struct sockaddr *sa, struct smtp_ip_key *out);

enum smtp_ip_verdict {
	SMTP_IP_OK = 0,
	SMTP_IP_TOO_MANY_CONNS,  /* 421 4.7.0 Too many connections from your address */
	SMTP_IP_RATE,            /* 421 4.7.0 connection rate exceeded */
};

struct smtp_ip_limits;

/* hash_key: 16 random bytes.  The config (and its exempt list) is copied.
 * NULL when memory runs out. */
struct smtp_ip_limits *smtp_ip_limits_new(const struct smtp_ip_limits_config *cfg,
					  const uint8_t hash_key[16]);
void smtp_ip_limits_free(struct smtp_ip_limits *t);

/* A new connection from key.  SMTP_IP_OK counts it as open (pair it with
 * smtp_ip_limits_disconnect); any other verdict counts nothing but the
 * attempt itself (so a client hammering past its rate stays over it). */
enum smtp_ip_verdict smtp_ip_limits_connect(struct smtp_ip_limits *t, const struct smtp_ip_key *key,
					    uint64_t now_ms);
void smtp_ip_limits_disconnect(struct smtp_ip_limits *t, const struct smtp_ip_key *key, uint64_t now_ms);

/* True while the address may not try AUTH. */
bool smtp_ip_limits_auth_blocked(struct smtp_ip_limits *t, const struct smtp_ip_key *key, uint64_t now_ms);
/* Counts a failed AUTH; returns true when this failure starts the block. */
bool smtp_ip_limits_auth_failed(struct smtp_ip_limits *t, const struct smtp_ip_key *key, uint64_t now_ms);

/* For tests and the log: how many slots are in use. */
size_t smtp_ip_limits_used(const struct smtp_ip_limits *t);

#endif
