/* Fuzzes the SMTP session state machine: the input is a whole client
 * conversation, fed in pieces whose sizes come from the first byte, with
 * every event answered (messages alternately stored and refused). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bridge-smtp/smtp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const domains[] = { "example.org" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_session_config cfg;
	if (size < 1)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = (data[0] & 0x80) ? SMTP_ROLE_SUBMISSION : SMTP_ROLE_MX;
	cfg.hostname = "mx.example.org";
	cfg.local_domains = domains;
	cfg.n_local_domains = 1;
	smtp_limits_default(&cfg.limits);
	cfg.limits.max_message_size = 64 * 1024;
	cfg.limits.max_line = 512;
	cfg.tls_available = true;
	cfg.auth_available = true;
	size_t piece = (size_t)(data[0] & 0x7f) + 1;
	data++;
	size--;

	struct smtp_session *s = smtp_session_new(&cfg);
	if (!s)
		return 0;
	int n = 0;
	for (size_t off = 0; off < size && !smtp_session_closed(s); off += piece) {
		size_t len = size - off < piece ? size - off : piece;
		if (smtp_session_feed(s, data + off, len) < 0)
			break;
		enum smtp_event ev;
		while ((ev = smtp_session_step(s)) != SMTP_EV_NONE && ev != SMTP_EV_CLOSE) {
			if (ev == SMTP_EV_STARTTLS) {
				smtp_session_tls_started(s);
			} else if (ev == SMTP_EV_AUTH) {
				const char *u = smtp_session_auth_user(s);
				smtp_session_auth_done(s, u[0] == 'a' ? SMTP_AUTH_OK : SMTP_AUTH_BAD, NULL);
			} else if (ev == SMTP_EV_MESSAGE) {
				const struct smtp_envelope *e = smtp_session_envelope(s);
				if (!e || e->n_rcpts == 0)
					__builtin_trap();
				smtp_session_message_done(s, (n++ & 1) == 0, "Q");
			}
		}
		size_t olen;
		smtp_session_output(s, &olen);
		smtp_session_output_consume(s, olen);
	}
	smtp_session_timeout(s);
	smtp_session_free(s);
	return 0;
}
