/* Received-SPF (RFC 7208 section 9.1) and Authentication-Results (RFC 8601)
 * text for an SPF outcome.  Everything from the SMTP session is untrusted:
 * it is quoted, and control characters (CR, LF: header injection) become '?'. */
#include "bridge-smtp/spf.h"

#include <arpa/inet.h>
#include <string.h>

#include "common/buf.h"

/* Appends s as a quoted-string, or as is when it is a plain dot-atom. */
static void put_value(struct buf *b, const char *s)
{
	int atom = s[0] != '\0';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '-' || *p == '_' || *p == ':'))
			atom = 0;
	if (atom) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, (*p < 0x20 || *p == 0x7F) ? '?' : (char)*p);
	}
	buf_putc(b, '"');
}

/* Text inside a comment: no parentheses, backslashes or control bytes. */
static void put_comment_text(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		buf_putc(b, (*p < 0x20 || *p == 0x7F || *p == '(' || *p == ')' || *p == '\\') ? '?' : (char)*p);
}

static const char *sender_of(const struct spf_request *req, const char *identity)
{
	if (strcmp(identity, "helo") == 0)
		return req->helo != NULL ? req->helo : "";
	return req->sender != NULL ? req->sender : "";
}

char *spf_received_spf(const struct spf_request *req, const struct spf_outcome *out,
	const char *identity, const char *receiver)
{
	struct buf b;
	char ip[INET6_ADDRSTRLEN] = "unknown";
	buf_init(&b, 4096);
	inet_ntop(req->family == 4 ? AF_INET : AF_INET6, req->ip, ip, sizeof(ip));
	if (identity == NULL)
		identity = "mailfrom";
	const char *who = sender_of(req, identity);
	const char *dom = req->domain != NULL ? req->domain : "";
	buf_puts(&b, spf_result_name(out->result));
	buf_puts(&b, " (");
	if (receiver != NULL) {
		put_comment_text(&b, receiver);
		buf_puts(&b, ": ");
	}
	switch (out->result) {
	case SPF_PASS:
		buf_puts(&b, "domain of ");
		put_comment_text(&b, who);
		buf_printf(&b, " designates %s as permitted sender", ip);
		break;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
		buf_puts(&b, "domain of ");
		put_comment_text(&b, who);
		buf_printf(&b, " does not designate %s as permitted sender", ip);
		break;
	case SPF_NEUTRAL:
		buf_printf(&b, "%s is neither permitted nor denied by domain of ", ip);
		put_comment_text(&b, who);
		break;
	case SPF_NONE:
		buf_puts(&b, "domain of ");
		put_comment_text(&b, dom);
		buf_puts(&b, " does not publish an SPF record");
		break;
	case SPF_TEMPERROR:
		buf_puts(&b, "temporary error evaluating SPF for ");
		put_comment_text(&b, dom);
		break;
	case SPF_PERMERROR:
		buf_puts(&b, "permanent error in the SPF record of ");
		put_comment_text(&b, dom);
		break;
	}
	buf_printf(&b, ") client-ip=%s; envelope-from=", ip);
	put_value(&b, req->sender != NULL ? req->sender : "");
	buf_puts(&b, "; helo=");
	put_value(&b, req->helo != NULL ? req->helo : "");
	if (receiver != NULL) {
		buf_puts(&b, "; receiver=");
		put_value(&b, receiver);
	}
	buf_printf(&b, "; identity=%s", strcmp(identity, "helo") == 0 ? "helo" : "mailfrom");
	if (out->mechanism[0] != '\0' && strcmp(out->mechanism, "default") != 0) {
		buf_puts(&b, "; mechanism=");
		put_value(&b, out->mechanism);
	}
	if ((out->result == SPF_PERMERROR || out->result == SPF_TEMPERROR) && out->problem[0] != '\0') {
		buf_puts(&b, "; problem=");
		put_value(&b, out->problem);
	}
	return buf_detach(&b, NULL);
}

char *spf_auth_result(const struct spf_request *req, const struct spf_outcome *out, const char *identity)
{
	struct buf b;
	buf_init(&b, 2048);
	int helo = identity != NULL && strcmp(identity, "helo") == 0;
	buf_printf(&b, "spf=%s smtp.%s=", spf_result_name(out->result), helo ? "helo" : "mailfrom");
	put_value(&b, sender_of(req, helo ? "helo" : "mailfrom"));
	return buf_detach(&b, NULL);
}
