/* Per-client-address limits; see smtp_limits_ip.h. */
#include "bridge-smtp/smtp_limits_ip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_WAYS 8

struct slot {
	struct smtp_ip_key key; /* already masked to what is counted */
	bool used;
	uint32_t conns;
	uint32_t rate_count;
	uint32_t auth_fails;
	uint64_t rate_start;
	uint64_t auth_start;
	uint64_t blocked_until;
	uint64_t last_seen;
};

struct smtp_ip_limits {
	struct smtp_ip_limits_config cfg;
	struct smtp_ip_net *exempt;
	uint64_t k0, k1; /* SipHash key */
	size_t n_sets;
	size_t used;
	struct slot *slots; /* n_sets * SET_WAYS */
};

void smtp_ip_limits_default(struct smtp_ip_limits_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_conns = 10;
	c->max_conn_rate = 60;
	c->conn_rate_window_s = 60;
	c->max_auth_failures = 5;
	c->auth_window_s = 600;
	c->auth_block_s = 600;
	c->table_size = 4096;
}

int smtp_ip_net_parse(const char *text, struct smtp_ip_net *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hl = slash ? (size_t)(slash - text) : strlen(text);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, text, hl);
	host[hl] = '\0';
	struct in_addr a4;
	unsigned base, max;
	memset(out->addr, 0, sizeof(out->addr));
	if (inet_pton(AF_INET, host, &a4) == 1) {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
		base = 96;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		base = 0;
		max = 128;
	} else {
		return -1;
	}
	unsigned bits = max;
	if (slash) {
		const char *p = slash + 1;
		if (*p < '0' || *p > '9' || strlen(p) > 3)
			return -1;
		bits = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > max)
			return -1;
	}
	out->prefix = base + bits;
	return 0;
}

int smtp_ip_key_from(const struct sockaddr *sa, struct smtp_ip_key *out)
{
	memset(out->b, 0, sizeof(out->b));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(out->b, &in6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static bool is_v4(const uint8_t b[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return memcmp(b, mapped, sizeof(mapped)) == 0;
}

static bool in_net(const uint8_t a[16], const struct smtp_ip_net *n)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;
	if (memcmp(a, n->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (n->addr[full] & mask);
}

/* What is counted: the IPv4 address, or the IPv6 /64. */
static struct smtp_ip_key counted(const struct smtp_ip_key *k)
{
	struct smtp_ip_key c = *k;
	if (!is_v4(c.b))
		memset(c.b + 8, 0, 8);
	return c;
}

/* SipHash-2-4 (Aumasson and Bernstein) of a 16-byte message: a keyed
 * hash, so nobody without the key can pick addresses that share a set. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                  \
	do {                                                                      \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);         \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                            \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                            \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);         \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash16(uint64_t k0, uint64_t k1, const uint8_t m[16])
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	for (int i = 0; i < 2; i++) {
		uint64_t w = le64(m + 8 * i);
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	uint64_t last = (uint64_t)16 << 56;
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct smtp_ip_limits *smtp_ip_limits_new(const struct smtp_ip_limits_config *cfg, const uint8_t hash_key[16])
{
	struct smtp_ip_limits *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	t->n_sets = (cfg->table_size + SET_WAYS - 1) / SET_WAYS;
	if (t->n_sets == 0)
		t->n_sets = 1;
	t->slots = calloc(t->n_sets * SET_WAYS, sizeof(*t->slots));
	if (cfg->n_exempt) {
		t->exempt = calloc(cfg->n_exempt, sizeof(*t->exempt));
		if (t->exempt)
			memcpy(t->exempt, cfg->exempt, cfg->n_exempt * sizeof(*t->exempt));
	}
	if (!t->slots || (cfg->n_exempt && !t->exempt)) {
		smtp_ip_limits_free(t);
		return NULL;
	}
	t->cfg.exempt = t->exempt;
	t->k0 = le64(hash_key);
	t->k1 = le64(hash_key + 8);
	return t;
}

void smtp_ip_limits_free(struct smtp_ip_limits *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->exempt);
	free(t);
}

size_t smtp_ip_limits_used(const struct smtp_ip_limits *t)
{
	return t->used;
}

static bool exempt(const struct smtp_ip_limits *t, const struct smtp_ip_key *k)
{
	for (size_t i = 0; i < t->cfg.n_exempt; i++)
		if (in_net(k->b, &t->exempt[i]))
			return true;
	return false;
}

/* The slot counting key; with create, a new or recycled one.  NULL when
 * there is none (not found, or exempt). */
static struct slot *lookup(struct smtp_ip_limits *t, const struct smtp_ip_key *key, uint64_t now, bool create)
{
	if (exempt(t, key))
		return NULL;
	struct smtp_ip_key c = counted(key);
	struct slot *set = t->slots + (siphash16(t->k0, t->k1, c.b) % t->n_sets) * SET_WAYS;
	struct slot *free_slot = NULL, *victim = NULL;
	for (size_t i = 0; i < SET_WAYS; i++) {
		struct slot *s = &set[i];
		if (!s->used) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (memcmp(s->key.b, c.b, 16) == 0) {
			s->last_seen = now;
			return s;
		}
		/* The victim: least recently seen, idle ones first; a
		 * blocked address loses its block only when nothing else
		 * is left to evict. */
		if (!victim) {
			victim = s;
			continue;
		}
		bool s_idle = s->conns == 0, v_idle = victim->conns == 0;
		bool s_blk = s->blocked_until > now, v_blk = victim->blocked_until > now;
		if (s_idle != v_idle ? s_idle
		    : s_blk != v_blk ? !s_blk
				     : s->last_seen < victim->last_seen)
			victim = s;
	}
	if (!create)
		return NULL;
	struct slot *s = free_slot ? free_slot : victim;
	if (free_slot)
		t->used++;
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->key = c;
	s->last_seen = now;
	s->rate_start = now;
	s->auth_start = now;
	return s;
}

enum smtp_ip_verdict smtp_ip_limits_connect(struct smtp_ip_limits *t, const struct smtp_ip_key *key,
					    uint64_t now_ms)
{
	struct slot *s = lookup(t, key, now_ms, true);
	if (!s)
		return SMTP_IP_OK;
	if (now_ms - s->rate_start >= (uint64_t)t->cfg.conn_rate_window_s * 1000) {
		s->rate_start = now_ms;
		s->rate_count = 0;
	}
	if (s->rate_count < UINT32_MAX)
		s->rate_count++;
	if (t->cfg.max_conn_rate && s->rate_count > t->cfg.max_conn_rate)
		return SMTP_IP_RATE;
	if (t->cfg.max_conns && s->conns >= t->cfg.max_conns)
		return SMTP_IP_TOO_MANY_CONNS;
	s->conns++;
	return SMTP_IP_OK;
}

void smtp_ip_limits_disconnect(struct smtp_ip_limits *t, const struct smtp_ip_key *key, uint64_t now_ms)
{
	struct slot *s = lookup(t, key, now_ms, false);
	if (s && s->conns > 0)
		s->conns--;
}

bool smtp_ip_limits_auth_blocked(struct smtp_ip_limits *t, const struct smtp_ip_key *key, uint64_t now_ms)
{
	struct slot *s = lookup(t, key, now_ms, false);
	return s && t->cfg.max_auth_failures && s->blocked_until > now_ms;
}

bool smtp_ip_limits_auth_failed(struct smtp_ip_limits *t, const struct smtp_ip_key *key, uint64_t now_ms)
{
	if (!t->cfg.max_auth_failures)
		return false;
	struct slot *s = lookup(t, key, now_ms, true);
	if (!s)
		return false;
	if (s->blocked_until > now_ms)
		return false; /* already blocked */
	if (now_ms - s->auth_start >= (uint64_t)t->cfg.auth_window_s * 1000) {
		s->auth_start = now_ms;
		s->auth_fails = 0;
	}
	if (++s->auth_fails < t->cfg.max_auth_failures)
		return false;
	s->blocked_until = now_ms + (uint64_t)t->cfg.auth_block_s * 1000;
	s->auth_fails = 0;
	s->auth_start = s->blocked_until;
	return true;
}
