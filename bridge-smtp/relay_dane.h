/* DANE for SMTP (RFC 7672): what TLS an MX host must offer.
 *
 * The decision for one MX host, made before connecting:
 *  - the MX RRset (or, for an implicit MX, its denial) or the host's
 *    address records are not DNSSEC-secure: no DANE, the caller's
 *    ordinary policy (opportunistic TLS) applies (RELAY_DANE_NONE);
 *  - else _PORT._tcp.HOST TLSA is looked up:
 *    - bogus, a failure or a malformed answer: do not connect now, the
 *      mail is deferred (RELAY_DANE_DEFER), since a man in the middle
 *      could otherwise strip the records;
 *    - insecure, or securely no records: RELAY_DANE_NONE;
 *    - secure with usable records (DANE-TA(2) or DANE-EE(3), selector
 *      0/1, matching type 0/1/2): STARTTLS is mandatory and the peer's
 *      certificate must match one of them (RELAY_DANE_VERIFY);
 *    - secure with only unusable records (PKIX-TA(0)/PKIX-EE(1), unknown
 *      parameters; RFC 7672 3.1.3): STARTTLS is mandatory but not
 *      authenticated (RELAY_DANE_ENCRYPT), as Postfix does.
 *
 * Memory: relay_dane_* fill a caller-owned struct; relay_dane_free()
 * releases its records.  No logging; why says what was decided.
 */
#ifndef SCOP_RELAY_DANE_H
#define SCOP_RELAY_DANE_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge-smtp/smtp_client.h"

struct dns_resolver;
struct dns_result;

enum relay_dane_mode {
	RELAY_DANE_NONE = 0,
	RELAY_DANE_VERIFY,
	RELAY_DANE_ENCRYPT,
	RELAY_DANE_DEFER,
};

struct relay_dane {
	enum relay_dane_mode mode;
	struct smtp_tlsa *tlsa;   /* RELAY_DANE_VERIFY: the usable records (data malloc()ed) */
	size_t n_tlsa;
	char why[160];
};

/* The decision from the TLSA answer (NULL when it was not looked up
 * because mx_secure or addrs_secure is false).  0, or -1 when memory ran
 * out (d then empty). */
int relay_dane_decide(const struct dns_result *tlsa, bool mx_secure, bool addrs_secure, struct relay_dane *d);

/* Looks up _port._tcp.host TLSA when both are secure, then decides. */
int relay_dane_lookup(struct dns_resolver *dns, const char *host, int port, bool mx_secure, bool addrs_secure,
		      unsigned timeout_ms, struct relay_dane *d);

void relay_dane_free(struct relay_dane *d);

const char *relay_dane_mode_name(enum relay_dane_mode m);

#endif
