#include "homeserver/config.h"
#include "common/err.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/yamljson.h"
#include "homeserver/userid.h"

void hs_config_init(struct hs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->db_kind = HS_DB_SQLITE;
	c->log_level = SCOP_LOG_INFO;
	c->max_upload_size = 50u * 1024 * 1024;
	c->max_request_body = 1024u * 1024;
	c->thread_pool_size = 16; /* sends wait for their commit: more in flight share a group commit */
	/* Looser than Synapse's defaults so a busy client is not locked out,
	 * tight enough to stop password guessing. */
	c->rc_login_address = (struct hs_rate){ 1.0, 20 };
	c->rc_login_account = (struct hs_rate){ 1.0, 20 };
	c->rc_login_failed = (struct hs_rate){ 0.1, 5 };
	c->rc_registration = (struct hs_rate){ 0.2, 10 };
	/* OWASP's argon2id baseline (19 MiB, 2 passes). */
	c->argon2_time_cost = 2;
	c->argon2_memory_kib = 19456;
	c->argon2_parallelism = 1;
	c->access_token_lifetime_ms = 5 * 60 * 1000;
	c->presence_enabled = true;
	presence_timeouts_default(&c->presence_timeouts);
}

void hs_config_free(struct hs_config *c)
{
	free(c->server_name);
	free(c->public_baseurl);
	for (size_t i = 0; i < c->nbinds; i++)
		free(c->binds[i].addr);
	free(c->db_path);
	free(c->db_conninfo);
	if (c->registration_shared_secret) {
		/* A secret: wipe before release. */
		explicit_bzero(c->registration_shared_secret, strlen(c->registration_shared_secret));
		free(c->registration_shared_secret);
	}
	if (c->registration_tokens) {
		for (char **t = c->registration_tokens; *t; t++)
			free(*t);
		free(c->registration_tokens);
	}
	free(c->signing_key_path);
	free(c->tls_certificate_path);
	free(c->tls_private_key_path);
	hs_config_init(c);
}

static char *resolve_path(const char *p, const char *base_dir)
{
	char *out;
	if (p[0] == '/' || !base_dir)
		return strdup(p);
	if (asprintf(&out, "%s/%s", base_dir, p) < 0)
		return NULL;
	return out;
}

static int get_string(json_t *obj, const char *key, char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		scop_err(err, errlen, "%s: expected a string", key);
		return -1;
	}
	free(*out);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -1;
}

static int get_bool(json_t *obj, const char *key, bool *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		scop_err(err, errlen, "%s: expected true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Sizes as Synapse writes them: an integer of bytes or "50M", "10K", "1G". */
static int get_size(json_t *obj, const char *key, size_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (size_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		unsigned long long n = strtoull(s, &end, 10);
		unsigned long long mult = 1;
		if (end != s && !errno) {
			switch (*end) {
			case 'K': case 'k': mult = 1024ULL; end++; break;
			case 'M': case 'm': mult = 1024ULL * 1024; end++; break;
			case 'G': case 'g': mult = 1024ULL * 1024 * 1024; end++; break;
			default: break;
			}
			if (*end == '\0' && n > 0 && n <= SIZE_MAX / mult) {
				*out = (size_t)(n * mult);
				return 0;
			}
		}
	}
	scop_err(err, errlen, "%s: expected a size such as 1048576 or \"50M\"", key);
	return -1;
}

static int get_number(json_t *obj, const char *key, double min, double max, double *out,
		      char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
		scop_err(err, errlen, "%s: expected a number from %g to %g", key, min, max);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

static int get_uint(json_t *obj, const char *key, unsigned min, unsigned max, unsigned *out,
		    char *err, size_t errlen)
{
	double d = *out;
	if (get_number(obj, key, min, max, &d, err, errlen) < 0)
		return -1;
	if (d != (double)(unsigned)d) {
		scop_err(err, errlen, "%s: expected an integer", key);
		return -1;
	}
	*out = (unsigned)d;
	return 0;
}

static int get_rate(json_t *obj, const char *key, struct hs_rate *r, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		scop_err(err, errlen, "%s: expected a mapping", key);
		return -1;
	}
	if (get_number(v, "per_second", 0, 1e9, &r->per_second, err, errlen) < 0 ||
	    get_number(v, "burst_count", 1, 1e9, &r->burst_count, err, errlen) < 0)
		return -1;
	return 0;
}

static int add_bind(struct hs_config *c, const char *addr, int port, char *err, size_t errlen)
{
	if (strlen(addr) > 63) {
		scop_err(err, errlen, "listeners: bind address too long");
		return -1;
	}
	if (c->nbinds >= HS_MAX_BINDS) {
		scop_err(err, errlen, "listeners: at most %d bind addresses", HS_MAX_BINDS);
		return -1;
	}
	c->binds[c->nbinds].addr = strdup(addr);
	if (!c->binds[c->nbinds].addr)
		return -1;
	c->binds[c->nbinds].port = port;
	c->binds[c->nbinds].x_forwarded = false;
	c->binds[c->nbinds].tls = false;
	c->nbinds++;
	return 0;
}

static int parse_listeners(struct hs_config *c, json_t *ls, char *err, size_t errlen)
{
	size_t i;
	json_t *l;

	if (!json_is_array(ls)) {
		scop_err(err, errlen, "listeners: expected a list");
		return -1;
	}
	json_array_foreach(ls, i, l) {
		json_t *port = json_object_get(l, "port");
		json_t *type = json_object_get(l, "type");
		json_t *addrs = json_object_get(l, "bind_addresses");
		json_t *one = json_object_get(l, "bind_address");
		json_t *a;
		size_t j;

		if (!json_is_object(l) || !json_is_integer(port) ||
		    json_integer_value(port) < 0 || json_integer_value(port) > 65535) {
			scop_err(err, errlen, "listeners[%zu]: needs a port from 0 to 65535", i);
			return -1;
		}
		/* Only HTTP listeners; metrics, manhole and replication are Synapse's. */
		if (type && (!json_is_string(type) || strcmp(json_string_value(type), "http") != 0))
			continue;
		size_t first = c->nbinds;
		if (json_is_string(one)) {
			if (add_bind(c, json_string_value(one), (int)json_integer_value(port), err, errlen) < 0)
				return -1;
		} else if (json_is_array(addrs) && json_array_size(addrs) > 0) {
			json_array_foreach(addrs, j, a) {
				if (!json_is_string(a)) {
					scop_err(err, errlen, "listeners[%zu].bind_addresses: expected strings", i);
					return -1;
				}
				if (add_bind(c, json_string_value(a), (int)json_integer_value(port), err, errlen) < 0)
					return -1;
			}
		} else {
			if (add_bind(c, "::1", (int)json_integer_value(port), err, errlen) < 0 ||
			    add_bind(c, "127.0.0.1", (int)json_integer_value(port), err, errlen) < 0)
				return -1;
		}
		for (size_t k = first; k < c->nbinds; k++) {
			c->binds[k].x_forwarded = json_is_true(json_object_get(l, "x_forwarded"));
			c->binds[k].tls = json_is_true(json_object_get(l, "tls"));
		}
	}
	return 0;
}

/* Appends key='value' to a libpq conninfo, quoting as libpq requires. */
static int conninfo_add(struct buf *b, const char *key, const char *val)
{
	if (b->len && buf_putc(b, ' ') < 0)
		return -1;
	if (buf_printf(b, "%s='", key) < 0)
		return -1;
	for (const char *p = val; *p; p++) {
		if ((*p == '\'' || *p == '\\') && buf_putc(b, '\\') < 0)
			return -1;
		if (buf_putc(b, *p) < 0)
			return -1;
	}
	return buf_putc(b, '\'');
}

static int parse_database(struct hs_config *c, json_t *db, const char *base_dir,
			  char *err, size_t errlen)
{
	json_t *name = json_object_get(db, "name");
	json_t *args = json_object_get(db, "args");
	const char *n;

	if (!json_is_object(db) || !json_is_string(name)) {
		scop_err(err, errlen, "database: needs a name (sqlite3 or psycopg2)");
		return -1;
	}
	if (args && !json_is_object(args)) {
		scop_err(err, errlen, "database.args: expected a mapping");
		return -1;
	}
	n = json_string_value(name);
	if (strcmp(n, "sqlite3") == 0 || strcmp(n, "sqlite") == 0) {
		json_t *file = json_object_get(args, "database");
		c->db_kind = HS_DB_SQLITE;
		if (!json_is_string(file)) {
			scop_err(err, errlen, "database.args.database: the SQLite file is required");
			return -1;
		}
		free(c->db_path);
		c->db_path = resolve_path(json_string_value(file), base_dir);
		return c->db_path ? 0 : -1;
	}
	if (strcmp(n, "psycopg2") == 0 || strcmp(n, "postgres") == 0 ||
	    strcmp(n, "postgresql") == 0) {
		/* Synapse's psycopg2 args are libpq keywords (plus "database" for
		 * dbname and the pool sizes); "dsn" takes a whole conninfo, which
		 * the other keys then override. */
		static const char *keys[] = { "user", "password", "dbname", "host", "port",
					      "sslmode", "sslrootcert", "application_name",
					      "connect_timeout" };
		struct buf b = BUF_INIT;
		json_t *v;
		char num[32];
		c->db_kind = HS_DB_POSTGRES;
		if ((v = json_object_get(args, "dsn")) && json_is_string(v))
			buf_puts(&b, json_string_value(v));
		if ((v = json_object_get(args, "database")) && json_is_string(v))
			conninfo_add(&b, "dbname", json_string_value(v));
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			v = json_object_get(args, keys[i]);
			if (json_is_string(v)) {
				conninfo_add(&b, keys[i], json_string_value(v));
			} else if (json_is_integer(v)) {
				snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
				conninfo_add(&b, keys[i], num);
			}
		}
		free(c->db_conninfo);
		c->db_conninfo = buf_detach(&b, NULL);
		buf_free(&b);
		return c->db_conninfo ? 0 : -1;
	}
	scop_err(err, errlen, "database.name: unknown database \"%s\" (sqlite3 or psycopg2)", n);
	return -1;
}

static int parse_tokens(struct hs_config *c, json_t *v, char *err, size_t errlen)
{
	size_t i, n;
	json_t *t;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		scop_err(err, errlen, "registration_tokens: expected a list of strings");
		return -1;
	}
	n = json_array_size(v);
	c->registration_tokens = calloc(n + 1, sizeof(char *));
	if (!c->registration_tokens)
		return -1;
	json_array_foreach(v, i, t) {
		if (!json_is_string(t) || json_string_length(t) == 0) {
			scop_err(err, errlen, "registration_tokens: expected non-empty strings");
			return -1;
		}
		if (!(c->registration_tokens[i] = strdup(json_string_value(t))))
			return -1;
	}
	return 0;
}

/* Synapse's top-level certificate and key; required by tls listeners. */
static int parse_tls(struct hs_config *c, json_t *root, const char *base_dir,
		     char *err, size_t errlen)
{
	char *cert = NULL, *key = NULL;
	int need = 0, rc = -1;

	for (size_t i = 0; i < c->nbinds; i++)
		need |= c->binds[i].tls;
	if (get_string(root, "tls_certificate_path", &cert, err, errlen) < 0 ||
	    get_string(root, "tls_private_key_path", &key, err, errlen) < 0)
		goto out;
	if (need && (!cert || !key)) {
		scop_err(err, errlen, "a tls listener needs tls_certificate_path and tls_private_key_path");
		goto out;
	}
	if (cert && !(c->tls_certificate_path = resolve_path(cert, base_dir)))
		goto out;
	if (key && !(c->tls_private_key_path = resolve_path(key, base_dir)))
		goto out;
	rc = 0;
out:
	free(cert);
	free(key);
	return rc;
}

static int parse_root(struct hs_config *c, json_t *root, const char *base_dir,
		      char *err, size_t errlen)
{
	json_t *v;
	char *level = NULL;
	char *key_path = NULL;

	if (!json_is_object(root)) {
		scop_err(err, errlen, "the configuration must be a mapping");
		return -1;
	}
	if (get_string(root, "server_name", &c->server_name, err, errlen) < 0)
		return -1;
	if (!c->server_name || !hs_server_name_valid(c->server_name)) {
		scop_err(err, errlen, "server_name: required, a host name with an optional port");
		return -1;
	}
	if (get_string(root, "public_baseurl", &c->public_baseurl, err, errlen) < 0)
		return -1;
	if (c->public_baseurl && c->public_baseurl[0] &&
	    c->public_baseurl[strlen(c->public_baseurl) - 1] != '/') {
		char *s;
		if (asprintf(&s, "%s/", c->public_baseurl) < 0)
			return -1;
		free(c->public_baseurl);
		c->public_baseurl = s;
	}
	if ((v = json_object_get(root, "listeners")) && parse_listeners(c, v, err, errlen) < 0)
		return -1;
	if (c->nbinds == 0 &&
	    (add_bind(c, "127.0.0.1", 8008, err, errlen) < 0 || add_bind(c, "::1", 8008, err, errlen) < 0))
		return -1;
	if ((v = json_object_get(root, "database"))) {
		if (parse_database(c, v, base_dir, err, errlen) < 0)
			return -1;
	} else {
		c->db_path = resolve_path("homeserver.db", base_dir);
		if (!c->db_path)
			return -1;
	}
	if (get_string(root, "registration_shared_secret", &c->registration_shared_secret, err, errlen) < 0 ||
	    get_bool(root, "enable_registration", &c->enable_registration, err, errlen) < 0 ||
	    get_bool(root, "registration_requires_token", &c->registration_requires_token, err, errlen) < 0 ||
	    parse_tokens(c, json_object_get(root, "registration_tokens"), err, errlen) < 0 ||
	    get_size(root, "max_upload_size", &c->max_upload_size, err, errlen) < 0 ||
	    get_size(root, "max_request_body_size", &c->max_request_body, err, errlen) < 0 ||
	    get_uint(root, "thread_pool_size", 1, 256, &c->thread_pool_size, err, errlen) < 0)
		return -1;
	if (c->registration_shared_secret && !c->registration_shared_secret[0]) {
		free(c->registration_shared_secret);
		c->registration_shared_secret = NULL;
	}
	if (get_string(root, "signing_key_path", &key_path, err, errlen) < 0)
		return -1;
	if (key_path) {
		c->signing_key_path = resolve_path(key_path, base_dir);
		free(key_path);
	} else if (c->server_name) {
		char name[300];
		snprintf(name, sizeof(name), "%s.signing.key", c->server_name);
		c->signing_key_path = resolve_path(name, base_dir);
	}
	if (!c->signing_key_path)
		return -1;
	if (parse_tls(c, root, base_dir, err, errlen) < 0)
		return -1;
	if (get_string(root, "log_level", &level, err, errlen) < 0)
		return -1;
	if (level && scop_log_level_parse(level, &c->log_level) < 0) {
		scop_err(err, errlen, "log_level: unknown level \"%s\"", level);
		free(level);
		return -1;
	}
	free(level);

	if ((v = json_object_get(root, "rc_login"))) {
		if (!json_is_object(v)) {
			scop_err(err, errlen, "rc_login: expected a mapping");
			return -1;
		}
		if (get_rate(v, "address", &c->rc_login_address, err, errlen) < 0 ||
		    get_rate(v, "account", &c->rc_login_account, err, errlen) < 0 ||
		    get_rate(v, "failed_attempts", &c->rc_login_failed, err, errlen) < 0)
			return -1;
	}
	if (get_rate(root, "rc_registration", &c->rc_registration, err, errlen) < 0)
		return -1;
	if ((v = json_object_get(root, "password_hashing"))) {
		if (!json_is_object(v)) {
			scop_err(err, errlen, "password_hashing: expected a mapping");
			return -1;
		}
		if (get_uint(v, "time_cost", 1, 100, &c->argon2_time_cost, err, errlen) < 0 ||
		    get_uint(v, "memory_kib", 8, 4u * 1024 * 1024, &c->argon2_memory_kib, err, errlen) < 0 ||
		    get_uint(v, "parallelism", 1, 64, &c->argon2_parallelism, err, errlen) < 0)
			return -1;
	}
	if ((v = json_object_get(root, "access_token_lifetime_ms"))) {
		double d = 0;
		if (get_number(root, "access_token_lifetime_ms", 1000, 1e12, &d, err, errlen) < 0)
			return -1;
		c->access_token_lifetime_ms = (long)d;
	}
	if ((v = json_object_get(root, "presence"))) {
		json_t *en = json_object_get(v, "enabled");
		if (!json_is_object(v) || (en && !json_is_boolean(en))) {
			snprintf(err, errlen, "presence must be a mapping with a boolean enabled");
			return -1;
		}
		if (en)
			c->presence_enabled = json_is_true(en);
	}
	if ((v = json_object_get(root, "presence_timeouts_ms")) &&
	    presence_timeouts_parse(&c->presence_timeouts, v, err, errlen) < 0)
		return -1;
	return 0;
}

int hs_config_parse(struct hs_config *c, json_t *root, const char *base_dir,
		    char *err, size_t errlen)
{
	hs_config_free(c);
	scop_err(err, errlen, "out of memory");
	if (parse_root(c, root, base_dir, err, errlen) < 0) {
		hs_config_free(c);
		return -1;
	}
	return 0;
}

int hs_config_load(struct hs_config *c, const char *path, char *err, size_t errlen)
{
	char yerr[256];
	char *copy, *dir;
	json_t *root;
	int rc;

	root = yaml_load_file(path, yerr, sizeof(yerr));
	if (!root) {
		scop_err(err, errlen, "%s: %s", path, yerr);
		return -1;
	}
	copy = strdup(path);
	if (!copy) {
		json_decref(root);
		return -1;
	}
	dir = dirname(copy);
	rc = hs_config_parse(c, root, dir, err, errlen);
	free(copy);
	json_decref(root);
	return rc;
}
