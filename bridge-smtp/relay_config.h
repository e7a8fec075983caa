/* The outbound relay's part of the scop-mailbridge YAML file (read by
 * scop-relay only: the SMTP listener never looks at it, so it never learns
 * where the DKIM keys are):
 *
 *   relay:
 *     enabled: true
 *     dkim:                             # signing keys, per sending domain
 *       - {domain: example.org, selector: s2026, key_file: /etc/scop/dkim.pem}
 *     retry_schedule: [60, 300, 900, 3600, 10800, 21600]  # seconds; the last repeats
 *     max_age: 432000                   # then the message bounces (5 days)
 *     tls: dane                         # or "opportunistic", "require" (encryption,
 *                                       # unverified), "none"; dane: opportunistic
 *                                       # unless DNSSEC-signed TLSA records say more
 *     require_tls_domains: [bank.example]
 *     poll_interval_ms: 1000            # how often the queue is scanned
 *     connect_timeout: 30               # seconds
 *     smtp_timeout: 0                   # seconds for every stage; 0: RFC 5321 4.5.3.2 values
 *     smtp_timeouts: {greeting: 300, ehlo: 300, tls: 120, mail: 300, rcpt: 300,
 *                     data_init: 120, data_block: 180, data_term: 600, quit: 60}
 *                                       # seconds per stage (over smtp_timeout)
 *     port: 25                          # tests only: deliver to this port
 *
 * The resolver is the one the `dns` key describes (forwarder etc.).  The
 * signing domain of a message is its From: address's domain, else the
 * envelope sender's; a message from a domain without a key goes unsigned.
 *
 * Memory: relay_config_parse/_load fill a caller-owned struct that
 * relay_config_free releases.  Returns 0, or -1 with a one-line reason in
 * err; unknown keys and wrong types are errors.
 */
#ifndef SCOP_RELAY_CONFIG_H
#define SCOP_RELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge-smtp/smtp_client.h"

enum relay_tls_policy {
	RELAY_TLS_OPPORTUNISTIC = 0,
	RELAY_TLS_REQUIRE,
	RELAY_TLS_NONE,
	RELAY_TLS_DANE,  /* opportunistic, but DANE (relay_dane.h) where published */
};

struct relay_dkim_config {
	char *domain, *selector, *key_file;
};

#define RELAY_MAX_RETRY_STEPS 32

struct relay_config {
	bool enabled;
	struct relay_dkim_config *dkim;
	size_t n_dkim;
	unsigned retry[RELAY_MAX_RETRY_STEPS]; /* seconds */
	size_t n_retry;
	long long max_age_s;
	enum relay_tls_policy tls;
	char **require_tls_domains;
	size_t n_require_tls;
	unsigned poll_ms;
	unsigned connect_timeout_ms;
	struct smtp_client_timeouts timeouts; /* ms; the RFC's unless configured */
	int port;
};

int relay_config_parse(const char *yaml, size_t len, struct relay_config *c, char *err, size_t errlen);
int relay_config_load(const char *path, struct relay_config *c, char *err, size_t errlen);
void relay_config_free(struct relay_config *c);

/* Whether mail to domain must go over TLS under c. */
bool relay_config_require_tls(const struct relay_config *c, const char *domain);

#endif
