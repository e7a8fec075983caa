/* DNS lookups for every part that resolves names: the mail bridge (SPF,
 * DKIM, DMARC, MX routing) and federation (SRV discovery).
 *
 * One interface, so protocol code never calls a resolver library
 * directly: it takes a struct dns_resolver * and calls dns_lookup().  The
 * real implementation (dns_unbound_new) uses libunbound with DNSSEC
 * validation and a cache; it can forward to a given server so tests use
 * their own DNS server on loopback.
 *
 * Ownership: whoever creates a resolver frees it with dns_resolver_free(),
 * after every user is done.  Each resolver has its own cache; parts share
 * a cache only by sharing one resolver (federation's fed_resolver takes
 * one in its options, borrowed, or else creates its own).  The mail bridge
 * and scopd are separate processes, so they never share one.
 *
 * Threads: a libunbound resolver may be used by any number of threads at
 * once (lookups run in parallel and share the cache); the table resolver
 * once it is filled.
 *
 * Memory: dns_lookup() fills a struct dns_result the caller owns and must
 * release with dns_result_free().  Strings in it are NUL-terminated copies.
 *
 * Errors: dns_lookup() returns 0 when the query was answered (including
 * NXDOMAIN and "no data", told apart by res->status) and -1 only for
 * invalid arguments (NULL pointers, unknown type) or out of memory.
 * Timeouts and server failures are DNS_TEMPFAIL, not -1, since SPF and DMARC
 * treat them as temperror.  A name that is not a valid domain name (empty
 * or over-long label, more than 253 octets) gives 0 with DNS_PERMFAIL and
 * is never sent to a server.  Names may end with one dot; case is ignored.
 *
 * Two implementations: dns_unbound_new() (the real one) and dns_static_new()
 * (a table filled by the caller, for unit tests and fuzzing: no network).
 */
#ifndef SCOP_DNS_H
#define SCOP_DNS_H

#include <stddef.h>
#include <stdint.h>

enum dns_type {
	DNS_A = 1,
	DNS_MX = 15,
	DNS_TXT = 16,
	DNS_AAAA = 28,
	DNS_PTR = 12,
	DNS_SRV = 33,
	DNS_TLSA = 52,
};

enum dns_status {
	DNS_OK = 0,      /* answered with at least one record of the type */
	DNS_NODATA,      /* the name exists but has no record of the type */
	DNS_NXDOMAIN,    /* the name does not exist */
	DNS_TEMPFAIL,    /* timeout, SERVFAIL, network trouble: try later */
	DNS_PERMFAIL,    /* the answer could not be parsed, or REFUSED */
};

enum dns_security {
	DNS_SEC_INSECURE = 0, /* not signed (or no trust anchor covers it) */
	DNS_SEC_SECURE,       /* validated with DNSSEC */
	DNS_SEC_BOGUS,        /* signed but failed validation: treat as TEMPFAIL */
};

struct dns_record {
	/* TXT: the character-strings joined, as SPF/DKIM/DMARC want them;
	 * len is the byte length (TXT data may contain NUL).
	 * A/AAAA: the address in binary (4 or 16 bytes) in addr.
	 * MX: preference in pref and the exchange host name in text; records
	 * are sorted by preference (lowest first).
	 * PTR: the host name in text.
	 * SRV (RFC 2782): priority, weight, port, and the target host name in
	 * text ("." when the service is not offered); records are sorted by
	 * priority (lowest first; equal priorities keep the server's order,
	 * and weighting among them is the caller's choice).
	 * Host names have no trailing dot, except the root, which is "." (a
	 * null MX, RFC 7505); a '.' or '\\' inside a label, space, and
	 * bytes outside printable ASCII are written as \DDD as in zone files;
	 * other bytes are as they are, so such a name can be passed back to
	 * dns_lookup(), which takes names as plain text split at dots.
	 * TLSA (RFC 6698): usage, selector and matching type in tlsa_*, the
	 * certificate association data in binary in text (len bytes).
	 * text is NUL-terminated for every type (NULL for A/AAAA). */
	char *text;
	size_t len;
	uint8_t addr[16];
	uint16_t pref;     /* MX */
	uint16_t priority; /* SRV */
	uint16_t weight;   /* SRV */
	uint16_t port;     /* SRV */
	uint8_t tlsa_usage, tlsa_selector, tlsa_mtype; /* TLSA */
};

struct dns_result {
	enum dns_status status;
	enum dns_security security;
	uint32_t ttl;
	size_t count;
	struct dns_record *records;
	char why_bogus[128]; /* set when security is DNS_SEC_BOGUS */
};

struct dns_resolver;

struct dns_resolver_options {
	/* "127.0.0.1@5353" style forwarder; NULL uses /etc/resolv.conf.  An
	 * explicit forwarder also answers the zones unbound would answer
	 * itself: the RFC 1918/6303 reverse zones and RFC 6761's "test.". */
	const char *forwarder;
	/* File with a trust anchor (DS or DNSKEY records in zone-file format);
	 * NULL uses no anchor (everything is insecure) unless use_root_anchor. */
	const char *trust_anchor_file;
	int use_root_anchor; /* load Debian's /usr/share/dns/root.key */
	unsigned timeout_ms; /* per query; 0 means 5000 */
	/* Answers kept in front of libunbound (common/dns_cache.h: for their
	 * TTL, never failures or bogus ones); 0 means 10000. */
	size_t cache_entries;
};

/* Creates a libunbound-backed resolver; NULL on failure, with a message in
 * err[errlen] when err is not NULL.  Thread-safe for concurrent lookups. */
struct dns_resolver *dns_unbound_new(const struct dns_resolver_options *opt, char *err, size_t errlen);
void dns_resolver_free(struct dns_resolver *r);

int dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type, struct dns_result *res);
/* The same, giving up after timeout_ms instead of the resolver's timeout
 * (0 means the resolver's): for callers with an overall budget. */
int dns_lookup_within(struct dns_resolver *r, const char *name, enum dns_type type, unsigned timeout_ms,
		      struct dns_result *res);
void dns_result_free(struct dns_result *res);

/* "OK", "NODATA", "NXDOMAIN", "TEMPFAIL", "PERMFAIL"; "secure" etc. */
const char *dns_status_name(enum dns_status s);
const char *dns_security_name(enum dns_security s);

/* Table-backed resolver: answers only from records added with
 * dns_static_add(); any other name is NXDOMAIN, a known name without the
 * type is NODATA.  Every answer is DNS_SEC_INSECURE with TTL 300 unless
 * dns_static_set_security() says otherwise.  Not thread-safe while being
 * filled; once filled, any number of threads may look up at once.
 *
 * dns_static_add() takes the record in presentation form:
 *   A "192.0.2.1", AAAA "2001:db8::1", MX "10 mx.example.com",
 *   PTR "host.example.com", SRV "10 5 8448 host.example.com" (priority,
 *   weight, port, target), TXT: the joined text as is (len bytes, so it
 *   may contain NUL; len may be (size_t)-1 for strlen).
 * Returns 0, or -1 on bad input or out of memory. */
struct dns_resolver *dns_static_new(void);
int dns_static_add(struct dns_resolver *r, const char *name, enum dns_type type, const char *data, size_t len);
/* Marks a name as existing with no records (NODATA for every type). */
int dns_static_add_name(struct dns_resolver *r, const char *name);
/* Lookups of name for a type it has no records of give status instead of
 * NODATA/NXDOMAIN, e.g. DNS_TEMPFAIL to act as a server that times out. */
int dns_static_set_status(struct dns_resolver *r, const char *name, enum dns_status status);
int dns_static_set_security(struct dns_resolver *r, const char *name, enum dns_security sec);
/* Number of dns_lookup() calls answered so far (to test lookup limits). */
unsigned long dns_static_queries(const struct dns_resolver *r);

/* ---- For implementations of the interface (dns_*.c) and their tests. ---- */

struct dns_backend {
	/* name is normalized; timeout_ms 0 means the backend's own. */
	int (*lookup)(struct dns_resolver *r, const char *name, enum dns_type type, unsigned timeout_ms,
		      struct dns_result *res);
	void (*free)(struct dns_resolver *r);
};

/* Every implementation's context starts with this. */
struct dns_resolver {
	const struct dns_backend *ops;
};

/* Checks name (optionally ending in '.') and writes it lower-cased without
 * the trailing dot into out[outlen].  Returns 0, or -1 if it is not a valid
 * domain name or does not fit. */
int dns_name_normalize(const char *name, char *out, size_t outlen);

/* Parses one record's wire-format RDATA (names uncompressed, as libunbound
 * gives them) into rec (rec->text is malloc()ed; free with
 * dns_record_clear()).  Returns 0, or -1 if the data is malformed, with rec
 * left empty. */
int dns_rdata_parse(enum dns_type type, const uint8_t *rdata, size_t len, struct dns_record *rec);
void dns_record_clear(struct dns_record *rec);

#endif
