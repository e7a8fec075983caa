/* DNS lookups for mail authentication (SPF, DKIM, DMARC, MX routing).
 *
 * One interface, so SPF/DKIM/DMARC code never calls a resolver library
 * directly: they take a struct dns_resolver * and call dns_lookup().  The
 * real implementation (dns_unbound_new) uses libunbound with DNSSEC
 * validation and a cache; it can forward to a given server so tests use
 * their own DNS server on loopback.
 *
 * Memory: dns_lookup() fills a struct dns_result the caller owns and must
 * release with dns_result_free().  Strings in it are NUL-terminated copies.
 *
 * Errors: dns_lookup() returns 0 when the query was answered (including
 * NXDOMAIN and "no data", told apart by res->status) and -1 only for
 * invalid arguments or out of memory.  Timeouts and server failures are
 * DNS_TEMPFAIL, not -1, since SPF and DMARC treat them as temperror.
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
	 * MX: preference in pref and the exchange host name in text.
	 * PTR: the host name in text (no trailing dot). */
	char *text;
	size_t len;
	uint8_t addr[16];
	uint16_t pref;
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
	/* "127.0.0.1@5353" style forwarder; NULL uses /etc/resolv.conf. */
	const char *forwarder;
	/* File with a trust anchor (DS or DNSKEY records in zone-file format);
	 * NULL uses no anchor (everything is insecure) unless use_root_anchor. */
	const char *trust_anchor_file;
	int use_root_anchor; /* load Debian's /usr/share/dns/root.key */
	unsigned timeout_ms; /* per query; 0 means 5000 */
};

/* Creates a libunbound-backed resolver; NULL on failure, with a message in
 * err[errlen] when err is not NULL.  Thread-safe for concurrent lookups. */
struct dns_resolver *dns_unbound_new(const struct dns_resolver_options *opt, char *err, size_t errlen);
void dns_resolver_free(struct dns_resolver *r);

int dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type, struct dns_result *res);
void dns_result_free(struct dns_result *res);

#endif
