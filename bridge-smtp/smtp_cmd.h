/* SMTP command-line parser (RFC 5321 section 4.1, with the ESMTP
 * parameters of RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8,
 * RFC 3030 BDAT and RFC 4954 AUTH).
 *
 * Contract: smtp_cmd_parse() takes one command line WITHOUT its CRLF (the
 * session has already split and length-checked the line) and fills a
 * caller-owned struct smtp_cmd.  Everything it stores is a bounded copy in
 * the struct, so the line may be freed afterwards.  It never allocates.
 *
 * Errors: it returns 0 for a well-formed command, or -1 and sets
 * cmd->error to a complete reply line (code, enhanced status code and
 * text, without CRLF; static storage) that the session sends as it is.
 * An unknown verb is cmd->verb == SMTP_VERB_UNKNOWN and -1.
 */
#ifndef SCOP_SMTP_CMD_H
#define SCOP_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1: local-part 64, domain 255, path 256 octets. */
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_PATH_MAX 256
/* The longest AUTH initial response we keep (base64 of user and password). */
#define SMTP_AUTH_ARG_MAX 1024

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
};

enum smtp_body {
	SMTP_BODY_UNSPECIFIED = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *error; /* reply line when parse failed */

	/* HELO/EHLO: the client's domain or address literal. */
	char domain[SMTP_DOMAIN_MAX + 1];

	/* MAIL/RCPT: the address without angle brackets, source route
	 * dropped; empty with null_path for "<>" (MAIL only).  RCPT
	 * "<postmaster>" has an address without '@'. */
	char addr[SMTP_PATH_MAX + 1];
	bool null_path;
	bool addr_8bit;      /* the address has non-ASCII (UTF-8) octets */

	/* MAIL parameters. */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;

	/* BDAT. */
	uint64_t chunk_size;
	bool last;

	/* AUTH: mechanism (upper-cased) and optional initial response. */
	char mech[21];
	char auth_initial[SMTP_AUTH_ARG_MAX + 1];
	bool has_initial;
};

int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);

/* The domain part of an address parsed above (after the last '@'), or
 * NULL when it has none (RCPT TO:<postmaster>). */
const char *smtp_addr_domain(const char *addr);

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int smtp_utf8_valid(const unsigned char *s, size_t len);

#endif
