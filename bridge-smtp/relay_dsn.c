/* DSN construction; see relay_dsn.h. */
#include "bridge-smtp/relay_dsn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"

static void rfc5322_date(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* Status for a failure without an enhanced code from the server. */
static const char *status_of(const struct relay_rcpt *r)
{
	if (r->enh[0] == '5' || r->enh[0] == '4')
		return r->enh;
	return r->code >= 500 ? "5.0.0" : "4.4.7";
}

/* The header block of the message (up to the empty line), at most 64 KiB,
 * so the report does not carry the whole message. */
static size_t header_len(const char *d, size_t n)
{
	size_t lim = n < 65536 ? n : 65536;
	for (size_t i = 0; i + 1 < lim; i++) {
		if (d[i] == '\n' && (d[i + 1] == '\n' || (d[i + 1] == '\r' && i + 2 < lim && d[i + 2] == '\n')))
			return i + 1;
	}
	return lim;
}

int relay_dsn_build(const char *reporting_mta, const struct spool_message *m, const struct relay_state *st,
		    int64_t now, struct buf *out)
{
	size_t nfail = 0;
	for (size_t i = 0; i < st->n && i < m->n_rcpts; i++)
		nfail += st->rcpts[i].state == RELAY_FAILED;
	if (nfail == 0)
		return -1;
	char date[64], arrival[64], bnd[40], rnd_hex[17];
	unsigned char rnd[8];
	if (scop_random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	scop_hex(rnd, sizeof(rnd), rnd_hex);
	snprintf(bnd, sizeof(bnd), "=_dsn_%s", rnd_hex);
	rfc5322_date(now, date, sizeof(date));
	rfc5322_date(m->received, arrival, sizeof(arrival));

	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", reporting_mta);
	buf_printf(out, "To: <%s>\r\n", m->from);
	buf_puts(out, "Subject: Undelivered Mail Returned to Sender\r\n");
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "Message-ID: <%s.%s.dsn@%s>\r\n", m->id, rnd_hex, reporting_mta);
	buf_puts(out, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n",
		   bnd);
	buf_puts(out, "This is a MIME-encapsulated delivery status notification.\r\n\r\n");

	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", bnd);
	buf_printf(out, "This is the mail system at %s.\r\n\r\n", reporting_mta);
	buf_printf(out, "Your message (queue id %s) could not be delivered to %s:\r\n\r\n", m->id,
		   nfail == 1 ? "this recipient" : "these recipients");
	for (size_t i = 0; i < st->n && i < m->n_rcpts; i++) {
		const struct relay_rcpt *r = &st->rcpts[i];
		if (r->state != RELAY_FAILED)
			continue;
		buf_printf(out, "<%s>: ", m->rcpts[i]);
		if (r->host[0])
			buf_printf(out, "host %s said: ", r->host);
		if (r->code)
			buf_printf(out, "%d ", r->code);
		buf_printf(out, "%s %s\r\n", status_of(r), r->text);
	}
	buf_puts(out, "\r\n");

	buf_printf(out, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", bnd);
	buf_printf(out, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", reporting_mta, arrival);
	for (size_t i = 0; i < st->n && i < m->n_rcpts; i++) {
		const struct relay_rcpt *r = &st->rcpts[i];
		if (r->state != RELAY_FAILED)
			continue;
		buf_printf(out, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n", m->rcpts[i],
			   status_of(r));
		if (r->host[0])
			buf_printf(out, "Remote-MTA: dns; %s\r\n", r->host);
		if (r->code)
			buf_printf(out, "Diagnostic-Code: smtp; %d %s%s%s\r\n", r->code, r->enh, r->enh[0] ? " " : "",
				   r->text);
		else
			buf_printf(out, "Diagnostic-Code: X-SCoP; %s\r\n", r->text[0] ? r->text : "undeliverable");
		buf_printf(out, "Last-Attempt-Date: %s\r\n", date);
	}
	buf_puts(out, "\r\n");

	buf_printf(out, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", bnd);
	size_t hl = header_len(m->data, m->size);
	buf_append(out, m->data, hl);
	if (hl && m->data[hl - 1] != '\n')
		buf_puts(out, "\r\n");
	if (buf_printf(out, "\r\n--%s--\r\n", bnd) < 0)
		return -1;
	return 0;
}
