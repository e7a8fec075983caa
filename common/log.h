/* Logging to stderr with a level threshold.
 *
 * Contract: messages are single lines; callers must never pass secrets
 * (passwords, access tokens, private keys) as arguments.  scop_log_redact()
 * gives a short, non-reversible tag for a token when one must be correlated.
 * The only mutable state is the process-wide log context below, set once at
 * start-up before threads exist.
 */
#ifndef SCOP_LOG_H
#define SCOP_LOG_H

#include <stddef.h>

enum scop_log_level {
	SCOP_LOG_DEBUG = 0,
	SCOP_LOG_INFO = 1,
	SCOP_LOG_WARN = 2,
	SCOP_LOG_ERROR = 3,
	SCOP_LOG_OFF = 4,
};

/* Process-wide logging context: the one piece of global state in common/. */
struct scop_log_ctx {
	enum scop_log_level level;
	const char *ident; /* program name prefixed to each line; static storage */
};
extern struct scop_log_ctx scop_log_ctx;

void scop_log_init(const char *ident, enum scop_log_level level);
/* Parses "debug", "info", "warn"/"warning", "error", "off" (case-insensitive,
 * Synapse's "WARNING"/"CRITICAL" too).  Returns -1 for anything else. */
int scop_log_level_parse(const char *name, enum scop_log_level *out);

void scop_log(enum scop_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) scop_log(SCOP_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) scop_log(SCOP_LOG_INFO, __VA_ARGS__)
#define log_warn(...) scop_log(SCOP_LOG_WARN, __VA_ARGS__)
#define log_error(...) scop_log(SCOP_LOG_ERROR, __VA_ARGS__)

/* Writes an 8-hex-digit tag derived (SHA-256) from secret into out[9]. */
void scop_log_redact(const char *secret, char out[9]);

#endif
