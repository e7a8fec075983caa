/* SMTP command-line parser; grammar from RFC 5321 4.1.2 and 4.1.3, with
 * the UTF-8 extensions of RFC 6531 3.3.  See smtp_cmd.h for the contract. */
#include "bridge-smtp/smtp_cmd.h"

#include <string.h>
#include <strings.h>

#define E_UNKNOWN "500 5.5.1 Command unrecognized"
#define E_CHARS "500 5.5.2 Invalid characters in command"
#define E_PARAM "555 5.5.4 Unsupported parameter"
#define E_DUP "501 5.5.4 Duplicate parameter"
#define E_NOARGS "501 5.5.4 Syntax error: no arguments allowed"
#define E_SENDER "501 5.1.7 Bad sender address syntax"
#define E_RCPT "501 5.1.3 Bad recipient address syntax"
#define E_UTF8 "553 5.6.7 Non-ASCII address requires SMTPUTF8"

struct cursor {
	const unsigned char *p;
	const unsigned char *end;
};

static int at_end(const struct cursor *c) { return c->p >= c->end; }
static int peek(const struct cursor *c) { return c->p < c->end ? *c->p : -1; }

static int is_alpha(int ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'); }
static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }
static int is_letdig(int ch) { return is_alpha(ch) || is_digit(ch); }

static int is_atext(int ch)
{
	return is_letdig(ch) || (ch && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

int smtp_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Consumes a run of UTF-8 non-ASCII octets (validated as a whole line
 * earlier); returns how many. */
static size_t take_utf8(struct cursor *c)
{
	size_t n = 0;
	while (!at_end(c) && *c->p >= 0x80) {
		c->p++;
		n++;
	}
	return n;
}

/* Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * (or a U-label of UTF-8 octets); or an address literal "[...]". */
static int parse_domain(struct cursor *c, int *eightbit)
{
	if (peek(c) == '[') {
		c->p++;
		size_t n = 0;
		while (!at_end(c) && *c->p != ']') {
			int ch = *c->p;
			if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
				return -1;
			c->p++;
			n++;
		}
		if (at_end(c) || n == 0)
			return -1;
		c->p++;
		return 0;
	}
	for (;;) {
		const unsigned char *label = c->p;
		int last = -1;
		while (!at_end(c)) {
			int ch = *c->p;
			if (is_letdig(ch) || ch == '-') {
				if (c->p == label && ch == '-')
					return -1;
				last = ch;
				c->p++;
			} else if (ch >= 0x80) {
				take_utf8(c);
				*eightbit = 1;
				last = 'a';
			} else {
				break;
			}
		}
		if (c->p == label || last == '-')
			return -1;
		if (peek(c) != '.')
			return 0;
		c->p++;
	}
}

/* Local-part = Dot-string / Quoted-string. */
static int parse_local(struct cursor *c, int *eightbit)
{
	if (peek(c) == '"') {
		c->p++;
		for (;;) {
			int ch = peek(c);
			if (ch < 0)
				return -1;
			if (ch == '"') {
				c->p++;
				return 0;
			}
			if (ch == '\\') {
				c->p++;
				ch = peek(c);
				if (ch < 32 || ch > 126)
					return -1;
				c->p++;
			} else if (ch >= 0x80) {
				take_utf8(c);
				*eightbit = 1;
			} else if (ch >= 32 && ch <= 126) {
				c->p++;
			} else {
				return -1;
			}
		}
	}
	for (;;) {
		const unsigned char *atom = c->p;
		while (!at_end(c)) {
			if (is_atext(*c->p)) {
				c->p++;
			} else if (*c->p >= 0x80) {
				take_utf8(c);
				*eightbit = 1;
			} else {
				break;
			}
		}
		if (c->p == atom)
			return -1;
		if (peek(c) != '.')
			return 0;
		c->p++;
	}
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">"; Reverse-path also allows "<>".
 * RCPT additionally allows "<postmaster>" (case-insensitive). */
static int parse_path(struct cursor *c, struct smtp_cmd *cmd, int reverse)
{
	int eightbit = 0;
	if (peek(c) != '<')
		return -1;
	c->p++;
	if (reverse && peek(c) == '>') {
		c->p++;
		cmd->null_path = true;
		cmd->addr[0] = '\0';
		return 0;
	}
	if (!reverse && c->end - c->p >= 11 && strncasecmp((const char *)c->p, "postmaster>", 11) == 0) {
		memcpy(cmd->addr, c->p, 10);
		cmd->addr[10] = '\0';
		c->p += 11;
		return 0;
	}
	/* A source route is parsed and ignored (RFC 5321 4.1.1.3). */
	if (peek(c) == '@') {
		for (;;) {
			c->p++;
			if (parse_domain(c, &eightbit) < 0)
				return -1;
			if (peek(c) == ',' ) {
				c->p++;
				if (peek(c) != '@')
					return -1;
				continue;
			}
			if (peek(c) != ':')
				return -1;
			c->p++;
			break;
		}
	}
	const unsigned char *start = c->p;
	if (parse_local(c, &eightbit) < 0)
		return -1;
	size_t local_len = (size_t)(c->p - start);
	if (peek(c) != '@' || local_len > SMTP_LOCAL_MAX)
		return -1;
	c->p++;
	const unsigned char *dom = c->p;
	if (parse_domain(c, &eightbit) < 0)
		return -1;
	size_t dom_len = (size_t)(c->p - dom);
	if (peek(c) != '>' || dom_len > SMTP_DOMAIN_MAX)
		return -1;
	size_t total = (size_t)(c->p - start);
	if (total > SMTP_PATH_MAX - 2)
		return -1;
	memcpy(cmd->addr, start, total);
	cmd->addr[total] = '\0';
	cmd->addr_8bit = eightbit;
	c->p++;
	return 0;
}

static int parse_u64(const unsigned char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int kw_eq(const unsigned char *s, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp((const char *)s, kw, n) == 0;
}

/* Mail-parameters = esmtp-param *(SP esmtp-param);
 * esmtp-param = esmtp-keyword ["=" esmtp-value]. */
static int parse_params(struct cursor *c, struct smtp_cmd *cmd, int is_mail)
{
	bool seen_auth = false;
	while (!at_end(c)) {
		if (*c->p != ' ') {
			cmd->error = is_mail ? E_SENDER : E_RCPT;
			return -1;
		}
		while (peek(c) == ' ')
			c->p++;
		if (at_end(c))
			break;
		const unsigned char *kw = c->p;
		if (!is_letdig(*kw)) {
			cmd->error = "501 5.5.4 Syntax error in parameters";
			return -1;
		}
		while (!at_end(c) && (is_letdig(*c->p) || *c->p == '-'))
			c->p++;
		size_t kwlen = (size_t)(c->p - kw);
		const unsigned char *val = NULL;
		size_t vlen = 0;
		if (peek(c) == '=') {
			c->p++;
			val = c->p;
			while (!at_end(c) && *c->p >= 33 && *c->p <= 126 && *c->p != '=')
				c->p++;
			vlen = (size_t)(c->p - val);
			if (vlen == 0) {
				cmd->error = "501 5.5.4 Syntax error in parameters";
				return -1;
			}
		}
		if (!at_end(c) && *c->p != ' ') {
			cmd->error = "501 5.5.4 Syntax error in parameters";
			return -1;
		}
		if (!is_mail) {
			cmd->error = E_PARAM;
			return -1;
		}
		if (kw_eq(kw, kwlen, "SIZE")) {
			if (cmd->has_size) {
				cmd->error = E_DUP;
				return -1;
			}
			if (!val || parse_u64(val, vlen, &cmd->size) < 0) {
				cmd->error = "501 5.5.4 Bad SIZE value";
				return -1;
			}
			cmd->has_size = true;
		} else if (kw_eq(kw, kwlen, "BODY")) {
			if (cmd->body != SMTP_BODY_UNSPECIFIED) {
				cmd->error = E_DUP;
				return -1;
			}
			if (val && kw_eq(val, vlen, "7BIT")) {
				cmd->body = SMTP_BODY_7BIT;
			} else if (val && kw_eq(val, vlen, "8BITMIME")) {
				cmd->body = SMTP_BODY_8BITMIME;
			} else {
				cmd->error = "555 5.5.4 Unsupported BODY type";
				return -1;
			}
		} else if (kw_eq(kw, kwlen, "SMTPUTF8")) {
			if (val || cmd->smtputf8) {
				cmd->error = "501 5.5.4 Syntax error in SMTPUTF8 parameter";
				return -1;
			}
			cmd->smtputf8 = true;
		} else if (kw_eq(kw, kwlen, "AUTH")) {
			/* RFC 4954 5: accepted and ignored, we are not a relay. */
			if (!val || seen_auth) {
				cmd->error = "501 5.5.4 Syntax error in AUTH parameter";
				return -1;
			}
			seen_auth = true;
		} else {
			cmd->error = E_PARAM;
			return -1;
		}
	}
	return 0;
}

static int parse_mail_rcpt(struct cursor *c, struct smtp_cmd *cmd, int is_mail)
{
	const char *prefix = is_mail ? "FROM:" : "TO:";
	size_t plen = strlen(prefix);
	if ((size_t)(c->end - c->p) < plen || strncasecmp((const char *)c->p, prefix, plen) != 0) {
		cmd->error = is_mail ? "501 5.5.4 Syntax: MAIL FROM:<address>"
				     : "501 5.5.4 Syntax: RCPT TO:<address>";
		return -1;
	}
	c->p += plen;
	/* Tolerated though not in the grammar: many clients send a space. */
	while (peek(c) == ' ')
		c->p++;
	if (parse_path(c, cmd, is_mail) < 0) {
		cmd->error = is_mail ? E_SENDER : E_RCPT;
		return -1;
	}
	if (parse_params(c, cmd, is_mail) < 0)
		return -1;
	if (is_mail && cmd->addr_8bit && !cmd->smtputf8) {
		cmd->error = E_UTF8;
		return -1;
	}
	return 0;
}

static int parse_helo(struct cursor *c, struct smtp_cmd *cmd)
{
	const unsigned char *start = c->p;
	/* Liberal in the characters of a client name (underscores are common
	 * in Windows host names), strict in length and form. */
	while (!at_end(c) && *c->p > 32 && *c->p < 127)
		c->p++;
	size_t n = (size_t)(c->p - start);
	if (n == 0 || n > SMTP_DOMAIN_MAX || !at_end(c)) {
		cmd->error = cmd->verb == SMTP_VERB_EHLO ? "501 5.5.4 Syntax: EHLO domain"
							 : "501 5.5.4 Syntax: HELO domain";
		return -1;
	}
	memcpy(cmd->domain, start, n);
	cmd->domain[n] = '\0';
	return 0;
}

static int parse_bdat(struct cursor *c, struct smtp_cmd *cmd)
{
	const unsigned char *num = c->p;
	while (!at_end(c) && is_digit(*c->p))
		c->p++;
	if (parse_u64(num, (size_t)(c->p - num), &cmd->chunk_size) < 0)
		goto bad;
	if (at_end(c))
		return 0;
	if (*c->p != ' ')
		goto bad;
	c->p++;
	if (!kw_eq(c->p, (size_t)(c->end - c->p), "LAST"))
		goto bad;
	cmd->last = true;
	c->p = c->end;
	return 0;
bad:
	cmd->error = "501 5.5.4 Syntax: BDAT size [LAST]";
	return -1;
}

static int parse_auth(struct cursor *c, struct smtp_cmd *cmd)
{
	const unsigned char *m = c->p;
	while (!at_end(c) && (is_letdig(*c->p) || *c->p == '-' || *c->p == '_'))
		c->p++;
	size_t n = (size_t)(c->p - m);
	if (n == 0 || n >= sizeof(cmd->mech) || (!at_end(c) && *c->p != ' '))
		goto bad;
	for (size_t i = 0; i < n; i++)
		cmd->mech[i] = (char)((m[i] >= 'a' && m[i] <= 'z') ? m[i] - 32 : m[i]);
	cmd->mech[n] = '\0';
	if (at_end(c))
		return 0;
	c->p++;
	const unsigned char *ir = c->p;
	while (!at_end(c) && *c->p > 32 && *c->p < 127)
		c->p++;
	size_t irlen = (size_t)(c->p - ir);
	if (irlen == 0 || irlen > SMTP_AUTH_ARG_MAX || !at_end(c))
		goto bad;
	memcpy(cmd->auth_initial, ir, irlen);
	cmd->auth_initial[irlen] = '\0';
	cmd->has_initial = true;
	return 0;
bad:
	cmd->error = "501 5.5.4 Syntax: AUTH mechanism [initial-response]";
	return -1;
}

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_VERB_HELO }, { "EHLO", SMTP_VERB_EHLO }, { "MAIL", SMTP_VERB_MAIL },
	{ "RCPT", SMTP_VERB_RCPT }, { "DATA", SMTP_VERB_DATA }, { "BDAT", SMTP_VERB_BDAT },
	{ "RSET", SMTP_VERB_RSET }, { "NOOP", SMTP_VERB_NOOP }, { "QUIT", SMTP_VERB_QUIT },
	{ "VRFY", SMTP_VERB_VRFY }, { "EXPN", SMTP_VERB_EXPN }, { "HELP", SMTP_VERB_HELP },
	{ "STARTTLS", SMTP_VERB_STARTTLS }, { "AUTH", SMTP_VERB_AUTH },
};

int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	const unsigned char *s = (const unsigned char *)line;
	int has8 = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 32 || s[i] == 127) {
			cmd->error = E_CHARS;
			return -1;
		}
		if (s[i] >= 0x80)
			has8 = 1;
	}
	if (has8 && !smtp_utf8_valid(s, len)) {
		cmd->error = E_CHARS;
		return -1;
	}
	/* Trailing spaces are not in the grammar but harmless to drop. */
	while (len > 0 && s[len - 1] == ' ')
		len--;
	size_t vlen = 0;
	while (vlen < len && s[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (kw_eq(s, vlen, verbs[i].name)) {
			cmd->verb = verbs[i].verb;
			break;
		}
	}
	if (cmd->verb == SMTP_VERB_UNKNOWN) {
		cmd->error = E_UNKNOWN;
		return -1;
	}
	struct cursor c = { s + vlen, s + len };
	int has_arg = !at_end(&c);
	if (has_arg)
		c.p++; /* the single SP after the verb */
	if (has8 && cmd->verb != SMTP_VERB_MAIL && cmd->verb != SMTP_VERB_RCPT &&
	    cmd->verb != SMTP_VERB_NOOP && cmd->verb != SMTP_VERB_HELP && cmd->verb != SMTP_VERB_VRFY &&
	    cmd->verb != SMTP_VERB_EXPN) {
		cmd->error = E_CHARS;
		return -1;
	}
	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		return parse_helo(&c, cmd);
	case SMTP_VERB_MAIL:
		return parse_mail_rcpt(&c, cmd, 1);
	case SMTP_VERB_RCPT:
		return parse_mail_rcpt(&c, cmd, 0);
	case SMTP_VERB_BDAT:
		return parse_bdat(&c, cmd);
	case SMTP_VERB_AUTH:
		return parse_auth(&c, cmd);
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		if (has_arg) {
			cmd->error = E_NOARGS;
			return -1;
		}
		return 0;
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
		if (!has_arg || at_end(&c)) {
			cmd->error = "501 5.5.4 Argument required";
			return -1;
		}
		return 0;
	case SMTP_VERB_NOOP:
	case SMTP_VERB_HELP:
	case SMTP_VERB_UNKNOWN:
		return 0;
	}
	return 0;
}

const char *smtp_addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : NULL;
}
