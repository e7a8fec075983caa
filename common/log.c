#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/sha.h>

struct scop_log_ctx scop_log_ctx = { SCOP_LOG_INFO, "scop" };

void scop_log_init(const char *ident, enum scop_log_level level)
{
	scop_log_ctx.ident = ident ? ident : "scop";
	scop_log_ctx.level = level;
}

int scop_log_level_parse(const char *name, enum scop_log_level *out)
{
	static const struct { const char *name; enum scop_log_level level; } map[] = {
		{ "debug", SCOP_LOG_DEBUG }, { "info", SCOP_LOG_INFO },
		{ "warn", SCOP_LOG_WARN }, { "warning", SCOP_LOG_WARN },
		{ "error", SCOP_LOG_ERROR }, { "critical", SCOP_LOG_ERROR },
		{ "off", SCOP_LOG_OFF },
	};
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcasecmp(name, map[i].name) == 0) {
			*out = map[i].level;
			return 0;
		}
	}
	return -1;
}

void scop_log(enum scop_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	char line[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level < scop_log_ctx.level || level >= SCOP_LOG_OFF)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Keep one record per line even if a caller's data has newlines. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000L,
		names[level], scop_log_ctx.ident, line);
}

void scop_log_redact(const char *secret, char out[9])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)secret, strlen(secret), md);
	snprintf(out, 9, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}
