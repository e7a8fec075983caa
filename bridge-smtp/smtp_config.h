/* scop-mailbridge configuration: the SMTP side of the YAML file.
 *
 *   hostname: mx.example.org          # name in the greeting and EHLO reply
 *   local_domains: [example.org]      # mail accepted on the MX port for these
 *   listeners:
 *     mx: {address: 0.0.0.0, port: 25}          # omit to disable
 *     submission: {address: 0.0.0.0, port: 587} # omit to disable
 *   tls: {cert: /path/fullchain.pem, key: /path/key.pem}  # omit: no STARTTLS
 *   spool_dir: /var/spool/scop-mailbridge
 *   homeserver_url: http://127.0.0.1:8008   # submission passwords are checked here
 *   log_level: info
 *   limits: {max_message_size: 26214400, max_recipients: 100,
 *            max_line_length: 2048, max_bad_commands: 10, max_commands: 1000,
 *            max_messages: 100, idle_timeout: 300, session_timeout: 1800,
 *            max_sessions: 1000, auth_timeout: 10}
 *   client_limits:                    # per client address (IPv4, IPv6 /64)
 *     max_connections: 10             # open at once; 0: no limit
 *     max_connection_rate: 60         # new ones per connection_rate_window
 *     connection_rate_window: 60      # seconds
 *     max_auth_failures: 5            # per auth_failure_window, then
 *     auth_failure_window: 600        #   no AUTH from there for
 *     auth_block_time: 600            #   this many seconds
 *     table_size: 4096                # addresses tracked (bounded memory)
 *     exempt: [192.0.2.0/24]          # never limited (loopback is not, by default)
 *   submission_policy:
 *     sender_check: true              # MAIL FROM must be the user's; <> refused
 *     from_header_check: true         # and so must every From: address
 *     sender_addresses:               # more than localpart@local_domains
 *       "@alice:example.org": [alice.smith@example.org, "@lists.example.org"]
 *
 * Other top-level keys belong to other parts of the bridge and are left
 * alone.  Inside the keys above, unknown names and wrong types are errors,
 * so a typo does not silently fall back to a default.
 *
 * Memory: smtp_config_load() fills a caller-owned struct whose strings it
 * allocates; smtp_config_free() releases them.  Returns 0, or -1 with a
 * one-line message in err.
 */
#ifndef SCOP_SMTP_CONFIG_H
#define SCOP_SMTP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge-smtp/smtp_limits_ip.h"
#include "bridge-smtp/smtp_sender.h"
#include "bridge-smtp/smtp_session.h"

struct smtp_listen_config {
	bool enabled;
	char *address;
	int port;
};

struct smtp_config {
	char *hostname;
	char **local_domains;
	size_t n_local_domains;
	struct smtp_listen_config mx;
	struct smtp_listen_config submission;
	char *tls_cert;
	char *tls_key;
	char *spool_dir;
	char *homeserver_url;
	char *log_level;
	struct smtp_limits limits;
	unsigned idle_timeout_s;
	unsigned session_timeout_s;
	unsigned max_sessions;
	unsigned auth_timeout_s;
	struct smtp_ip_limits_config client_limits; /* its exempt list is owned */
	struct smtp_sender_policy sender_policy;    /* local_domains point into this struct */
};

int smtp_config_load(const char *path, struct smtp_config *cfg, char *err, size_t errlen);
int smtp_config_parse(const char *yaml, size_t len, struct smtp_config *cfg, char *err, size_t errlen);
void smtp_config_free(struct smtp_config *cfg);

/* A commented example configuration (static text). */
const char *smtp_config_example(void);

#endif
