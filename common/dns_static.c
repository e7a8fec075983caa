/* dns.h over a table filled by the caller: for unit tests, the RFC 7208
 * suite and fuzzing, where answers must be exact and no network is used.
 * A linear table: test data is small and lookups need no speed. */
#include "common/dns.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

struct static_entry {
	char *name;
	enum dns_type type; /* 0: the name exists (added by add_name) */
	struct dns_record rec;
};

struct static_override {
	char *name;
	int has_status, has_security;
	enum dns_status status;
	enum dns_security security;
};

struct static_resolver {
	struct dns_resolver base;
	struct static_entry *e;
	size_t n, cap;
	struct static_override *o;
	size_t no, ocap;
	unsigned long queries; /* atomic: lookups may come from several threads */
};

static struct static_override *find_override(struct static_resolver *r, const char *name, int create)
{
	for (size_t i = 0; i < r->no; i++)
		if (strcmp(r->o[i].name, name) == 0)
			return &r->o[i];
	if (!create)
		return NULL;
	if (r->no == r->ocap) {
		size_t cap = r->ocap ? r->ocap * 2 : 8;
		struct static_override *o = realloc(r->o, cap * sizeof(*o));
		if (o == NULL)
			return NULL;
		r->o = o;
		r->ocap = cap;
	}
	struct static_override *o = &r->o[r->no];
	memset(o, 0, sizeof(*o));
	if ((o->name = strdup(name)) == NULL)
		return NULL;
	r->no++;
	return o;
}

static int static_lookup(struct dns_resolver *base, const char *name, enum dns_type type, unsigned timeout_ms,
			 struct dns_result *res)
{
	struct static_resolver *r = (struct static_resolver *)base;
	(void)timeout_ms; /* answers are immediate */
	__atomic_fetch_add(&r->queries, 1, __ATOMIC_RELAXED);
	res->ttl = 300;
	struct static_override *o = find_override(r, name, 0);
	if (o != NULL && o->has_security)
		res->security = o->security;
	int exists = 0;
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->e[i].name, name) != 0)
			continue;
		exists = 1;
		if (r->e[i].type == type)
			n++;
	}
	if (n == 0) {
		res->status = exists ? DNS_NODATA : DNS_NXDOMAIN;
		if (o != NULL && o->has_status)
			res->status = o->status;
		return 0;
	}
	res->records = calloc(n, sizeof(*res->records));
	if (res->records == NULL)
		return -1;
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->e[i].name, name) != 0 || r->e[i].type != type)
			continue;
		struct dns_record *d = &res->records[res->count];
		*d = r->e[i].rec;
		d->text = NULL;
		if (r->e[i].rec.text != NULL) {
			if ((d->text = malloc(d->len + 1)) == NULL) {
				dns_result_free(res);
				return -1;
			}
			memcpy(d->text, r->e[i].rec.text, d->len + 1);
		}
		res->count++;
	}
	res->status = DNS_OK;
	return 0;
}

static void static_free(struct dns_resolver *base)
{
	struct static_resolver *r = (struct static_resolver *)base;
	for (size_t i = 0; i < r->n; i++) {
		free(r->e[i].name);
		dns_record_clear(&r->e[i].rec);
	}
	for (size_t i = 0; i < r->no; i++)
		free(r->o[i].name);
	free(r->e);
	free(r->o);
	free(r);
}

static const struct dns_backend static_backend = { static_lookup, static_free };

struct dns_resolver *dns_static_new(void)
{
	struct static_resolver *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->base.ops = &static_backend;
	return &r->base;
}

static int add_entry(struct static_resolver *r, const char *name, enum dns_type type, struct dns_record *rec)
{
	char norm[256];
	if (dns_name_normalize(name, norm, sizeof(norm)) != 0)
		return -1;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct static_entry *e = realloc(r->e, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		r->e = e;
		r->cap = cap;
	}
	struct static_entry *e = &r->e[r->n];
	if ((e->name = strdup(norm)) == NULL)
		return -1;
	e->type = type;
	e->rec = *rec;
	r->n++;
	return 0;
}

static char *dup_host(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return strdup("."); /* the root, as in a null MX */
	if (n > 1 && s[n - 1] == '.')
		n--;
	char *t = malloc(n + 1);
	if (t != NULL) {
		memcpy(t, s, n);
		t[n] = '\0';
	}
	return t;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "USAGE SELECTOR MTYPE HEX" into rec (text gets the binary data). */
static int parse_tlsa(const char *p, struct dns_record *rec)
{
	unsigned long v[3];
	for (int i = 0; i < 3; i++) {
		char *end;
		if (*p < '0' || *p > '9')
			return -1;
		v[i] = strtoul(p, &end, 10);
		if (*end != ' ' || v[i] > 255)
			return -1;
		p = end;
		while (*p == ' ')
			p++;
	}
	size_t n = strlen(p);
	if (n == 0 || n % 2 != 0 || !(rec->text = malloc(n / 2 + 1)))
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			dns_record_clear(rec);
			return -1;
		}
		rec->text[i] = (char)(hi << 4 | lo);
	}
	rec->text[n / 2] = '\0';
	rec->len = n / 2;
	rec->tlsa_usage = (uint8_t)v[0];
	rec->tlsa_selector = (uint8_t)v[1];
	rec->tlsa_mtype = (uint8_t)v[2];
	return 0;
}

int dns_static_add(struct dns_resolver *base, const char *name, enum dns_type type, const char *data, size_t len)
{
	struct static_resolver *r = (struct static_resolver *)base;
	if (r == NULL || name == NULL || data == NULL)
		return -1;
	struct dns_record rec;
	memset(&rec, 0, sizeof(rec));
	switch (type) {
	case DNS_A:
		if (inet_pton(AF_INET, data, rec.addr) != 1)
			return -1;
		rec.len = 4;
		break;
	case DNS_AAAA:
		if (inet_pton(AF_INET6, data, rec.addr) != 1)
			return -1;
		rec.len = 16;
		break;
	case DNS_MX: {
		char *end;
		unsigned long pref = strtoul(data, &end, 10);
		if (end == data || *end != ' ' || pref > 65535)
			return -1;
		rec.pref = (uint16_t)pref;
		while (*end == ' ')
			end++;
		if ((rec.text = dup_host(end)) == NULL)
			return -1;
		rec.len = strlen(rec.text);
		break;
	}
	case DNS_SRV: {
		/* "PRIORITY WEIGHT PORT TARGET" */
		unsigned long v[3];
		const char *p = data;
		for (int i = 0; i < 3; i++) {
			char *end;
			v[i] = strtoul(p, &end, 10);
			if (end == p || *end != ' ' || v[i] > 65535 || *p < '0' || *p > '9')
				return -1;
			p = end;
			while (*p == ' ')
				p++;
		}
		rec.priority = (uint16_t)v[0];
		rec.weight = (uint16_t)v[1];
		rec.port = (uint16_t)v[2];
		if ((rec.text = dup_host(p)) == NULL)
			return -1;
		rec.len = strlen(rec.text);
		break;
	}
	case DNS_PTR:
		if ((rec.text = dup_host(data)) == NULL)
			return -1;
		rec.len = strlen(rec.text);
		break;
	case DNS_TLSA:
		if (parse_tlsa(data, &rec) != 0)
			return -1;
		break;
	case DNS_TXT:
		if (len == (size_t)-1)
			len = strlen(data);
		if ((rec.text = malloc(len + 1)) == NULL)
			return -1;
		memcpy(rec.text, data, len);
		rec.text[len] = '\0';
		rec.len = len;
		break;
	default:
		return -1;
	}
	if (add_entry(r, name, type, &rec) != 0) {
		dns_record_clear(&rec);
		return -1;
	}
	return 0;
}

int dns_static_add_name(struct dns_resolver *base, const char *name)
{
	struct dns_record rec;
	memset(&rec, 0, sizeof(rec));
	return base != NULL && name != NULL ? add_entry((struct static_resolver *)base, name, 0, &rec) : -1;
}

static struct static_override *override_for(struct dns_resolver *base, const char *name)
{
	char norm[256];
	if (base == NULL || name == NULL || dns_name_normalize(name, norm, sizeof(norm)) != 0)
		return NULL;
	return find_override((struct static_resolver *)base, norm, 1);
}

int dns_static_set_status(struct dns_resolver *r, const char *name, enum dns_status status)
{
	struct static_override *o = override_for(r, name);
	if (o == NULL)
		return -1;
	o->has_status = 1;
	o->status = status;
	return 0;
}

int dns_static_set_security(struct dns_resolver *r, const char *name, enum dns_security sec)
{
	struct static_override *o = override_for(r, name);
	if (o == NULL)
		return -1;
	o->has_security = 1;
	o->security = sec;
	return 0;
}

unsigned long dns_static_queries(const struct dns_resolver *base)
{
	if (base == NULL || base->ops != &static_backend)
		return 0;
	return __atomic_load_n(&((const struct static_resolver *)base)->queries, __ATOMIC_RELAXED);
}
