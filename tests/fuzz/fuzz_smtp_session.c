/* Fuzzes the SMTP session state machine: the input is a whole client
 * conversation, fed in pieces whose sizes come from the first byte, with
 * every event answered (messages alternately stored and refused). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bridge-smtp/smtp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const domains[] = { "example.org" };

/* A sink that checks the streaming contract: writes only between begin
 * and abort/hand-over, never two begins in a row. */
struct fsink {
	int open;
	size_t len;
};

static int f_begin(void *ctx, const struct smtp_envelope *e)
{
	struct fsink *f = ctx;
	if (f->open || e->data || e->n_rcpts == 0)
		__builtin_trap();
	f->open = 1;
	f->len = 0;
	return 0;
}

static int f_write(void *ctx, const void *data, size_t len)
{
	struct fsink *f = ctx;
	if (!f->open || (len && !data))
		__builtin_trap();
	f->len += len;
	return 0;
}

static void f_abort(void *ctx)
{
	struct fsink *f = ctx;
	if (!f->open)
		__builtin_trap();
	f->open = 0;
}

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
	/* Submission sessions check senders (MAIL FROM and the From:
	 * header) as the daemon does; a user "a..." owns a...@example.org. */
	struct smtp_sender_policy policy;
	smtp_sender_policy_default(&policy);
	policy.local_domains = domains;
	policy.n_local_domains = 1;
	cfg.sender_policy = &policy;
	size_t piece = (size_t)(data[0] & 0x3f) + 1;
	int use_sink = data[0] & 0x40;
	struct fsink fs = { 0, 0 };
	struct smtp_sink sink = { f_begin, f_write, f_abort, &fs };
	data++;
	size--;

	struct smtp_session *s = smtp_session_new(&cfg);
	if (!s)
		return 0;
	if (use_sink)
		smtp_session_set_sink(s, &sink);
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
				enum smtp_auth_result r = u[0] == 'a'   ? SMTP_AUTH_OK
							  : u[0] == 'l' ? SMTP_AUTH_LOCKOUT
									: SMTP_AUTH_BAD;
				smtp_session_auth_done(s, r, NULL);
			} else if (ev == SMTP_EV_MESSAGE) {
				const struct smtp_envelope *e = smtp_session_envelope(s);
				if (!e || e->n_rcpts == 0 || (use_sink && (!fs.open || fs.len != e->len)))
					__builtin_trap();
				fs.open = 0; /* handed over */
				smtp_session_message_done(s, (n++ & 1) == 0, "Q");
			}
		}
		size_t olen;
		smtp_session_output(s, &olen);
		smtp_session_output_consume(s, olen);
	}
	smtp_session_timeout(s);
	smtp_session_free(s);
	if (fs.open)
		__builtin_trap(); /* a started message was neither handed over nor aborted */
	return 0;
}
