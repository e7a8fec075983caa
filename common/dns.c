/* The resolver-independent half of dns.h: dispatch, name checks and the
 * RDATA parser every backend shares. */
#include "common/dns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static uint16_t order_key(enum dns_type type, const struct dns_record *r)
{
	return type == DNS_MX ? r->pref : r->priority;
}

/* Insertion sort: stable, so equal preferences keep the server's order,
 * and MX and SRV sets are small. */
static void sort_records(enum dns_type type, struct dns_record *r, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct dns_record t = r[i];
		size_t j = i;
		while (j > 0 && order_key(type, &r[j - 1]) > order_key(type, &t)) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = t;
	}
}

int dns_lookup_within(struct dns_resolver *r, const char *name, enum dns_type type, unsigned timeout_ms,
		      struct dns_result *res)
{
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (r == NULL || name == NULL || res == NULL)
		return -1;
	switch (type) {
	case DNS_A: case DNS_AAAA: case DNS_MX: case DNS_TXT: case DNS_PTR: case DNS_SRV: case DNS_TLSA:
		break;
	default:
		return -1;
	}
	char norm[256];
	if (dns_name_normalize(name, norm, sizeof(norm)) != 0) {
		res->status = DNS_PERMFAIL;
		return 0;
	}
	int rc = r->ops->lookup(r, norm, type, timeout_ms, res);
	if (rc == 0 && (type == DNS_MX || type == DNS_SRV) && res->count > 1)
		sort_records(type, res->records, res->count);
	return rc;
}

int dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type, struct dns_result *res)
{
	return dns_lookup_within(r, name, type, 0, res);
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (r != NULL)
		r->ops->free(r);
}

void dns_record_clear(struct dns_record *rec)
{
	free(rec->text);
	memset(rec, 0, sizeof(*rec));
}

void dns_result_free(struct dns_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->count; i++)
		dns_record_clear(&res->records[i]);
	free(res->records);
	res->records = NULL;
	res->count = 0;
}

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK: return "OK";
	case DNS_NODATA: return "NODATA";
	case DNS_NXDOMAIN: return "NXDOMAIN";
	case DNS_TEMPFAIL: return "TEMPFAIL";
	case DNS_PERMFAIL: return "PERMFAIL";
	}
	return "?";
}

const char *dns_security_name(enum dns_security s)
{
	switch (s) {
	case DNS_SEC_INSECURE: return "insecure";
	case DNS_SEC_SECURE: return "secure";
	case DNS_SEC_BOGUS: return "bogus";
	}
	return "?";
}

/* A label is any 1..63 bytes except '.', which would make the presentation
 * form ambiguous; DNS itself allows any byte, but names given to us in text
 * form are split at dots. */
int dns_name_normalize(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n + 1 > outlen)
		return -1;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (++label > 63) {
			return -1;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	if (label == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* Reads an uncompressed wire-format name at rdata[*pos] into text form. */
static int wire_name(const uint8_t *d, size_t len, size_t *pos, struct buf *out)
{
	size_t p = *pos, total = 0;
	int labels = 0;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = d[p++];
		if (l == 0)
			break;
		if (l > 63 || len - p < l) /* compression pointers are not allowed in RDATA we get */
			return -1;
		total += (size_t)l + 1;
		if (total > 255)
			return -1;
		if (labels++ > 0 && buf_putc(out, '.') != 0)
			return -1;
		for (size_t i = 0; i < l; i++) {
			unsigned char c = d[p + i];
			/* Escape only what would make the text ambiguous or
			 * unprintable, so a name read here can be looked up again
			 * with dns_lookup() (which takes text as is). */
			int plain = c > 0x20 && c < 0x7F && c != '.' && c != '\\';
			if ((plain ? buf_putc(out, (char)c) : buf_printf(out, "\\%03u", c)) != 0)
				return -1;
		}
		p += l;
	}
	if (labels == 0 && buf_putc(out, '.') != 0)
		return -1;
	*pos = p;
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int dns_rdata_parse(enum dns_type type, const uint8_t *rdata, size_t len, struct dns_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	struct buf b = BUF_INIT;
	size_t pos = 0;
	switch (type) {
	case DNS_A:
	case DNS_AAAA: {
		size_t want = type == DNS_A ? 4 : 16;
		if (len != want)
			return -1;
		memcpy(rec->addr, rdata, want);
		rec->len = want;
		return 0;
	}
	case DNS_MX:
	case DNS_SRV:
	case DNS_PTR:
		/* A fixed part, then the host name that must end the RDATA. */
		if (type == DNS_MX) {
			if (len < 3)
				return -1;
			rec->pref = be16(rdata);
			pos = 2;
		} else if (type == DNS_SRV) {
			if (len < 7)
				return -1;
			rec->priority = be16(rdata);
			rec->weight = be16(rdata + 2);
			rec->port = be16(rdata + 4);
			pos = 6;
		}
		if (wire_name(rdata, len, &pos, &b) != 0 || pos != len)
			goto bad;
		break;
	case DNS_TLSA:
		/* Usage, selector, matching type, then at least one octet of
		 * association data (RFC 6698 2.1). */
		if (len < 4)
			return -1;
		rec->tlsa_usage = rdata[0];
		rec->tlsa_selector = rdata[1];
		rec->tlsa_mtype = rdata[2];
		if (buf_append(&b, rdata + 3, len - 3) != 0)
			goto bad;
		break;
	case DNS_TXT:
		if (len == 0)
			goto bad;
		while (pos < len) {
			uint8_t l = rdata[pos++];
			if (len - pos < l || buf_append(&b, rdata + pos, l) != 0)
				goto bad;
			pos += l;
		}
		if (b.data == NULL && buf_reserve(&b, 1) != 0)
			goto bad;
		break;
	default:
		return -1;
	}
	rec->text = buf_detach(&b, &rec->len);
	return rec->text != NULL ? 0 : -1;
bad:
	buf_free(&b);
	memset(rec, 0, sizeof(*rec));
	return -1;
}
