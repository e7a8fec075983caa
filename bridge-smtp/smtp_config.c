/* scop-mailbridge SMTP configuration from YAML; see smtp_config.h. */
#include "bridge-smtp/smtp_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/yamljson.h"

static int get_string(json_t *obj, const char *key, char **out, bool required, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required) {
			snprintf(err, errlen, "config: '%s' is required", key);
			return -1;
		}
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, errlen, "config: '%s' must be a non-empty string", key);
		return -1;
	}
	free(*out);
	*out = strdup(json_string_value(v));
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int get_uint(json_t *obj, const char *key, long long min, long long max, long long *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "config: '%s' must be an integer from %lld to %lld", key, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int check_keys(json_t *obj, const char *where, const char *const *known, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				ok = true;
		if (!ok) {
			snprintf(err, errlen, "config: unknown key '%s' in %s", key, where);
			return -1;
		}
	}
	return 0;
}

static int get_listener(json_t *listeners, const char *name, struct smtp_listen_config *l, char *err,
			size_t errlen)
{
	static const char *const known[] = { "address", "port", NULL };
	json_t *o = json_object_get(listeners, name);
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "config: listeners.%s must be a mapping", name);
		return -1;
	}
	if (check_keys(o, name, known, err, errlen) < 0)
		return -1;
	long long port = -1;
	if (get_string(o, "address", &l->address, false, err, errlen) < 0 ||
	    get_uint(o, "port", 0, 65535, &port, err, errlen) < 0)
		return -1;
	if (port < 0) {
		snprintf(err, errlen, "config: listeners.%s.port is required", name);
		return -1;
	}
	if (!l->address && !(l->address = strdup("127.0.0.1"))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->port = (int)port;
	l->enabled = true;
	return 0;
}

static int get_limits(json_t *root, struct smtp_config *cfg, char *err, size_t errlen)
{
	static const char *const known[] = { "max_message_size", "max_recipients", "max_line_length",
					     "max_bad_commands", "max_commands", "max_messages",
					     "idle_timeout", "session_timeout", "max_sessions",
					     "auth_timeout", NULL };
	json_t *o = json_object_get(root, "limits");
	struct smtp_limits *l = &cfg->limits;
	long long v[10] = { (long long)l->max_message_size, (long long)l->max_recipients,
			    (long long)l->max_line, l->max_bad_commands, l->max_commands, l->max_messages,
			    cfg->idle_timeout_s, cfg->session_timeout_s, cfg->max_sessions, cfg->auth_timeout_s };
	static const long long lo[10] = { 1024, 1, 512, 1, 1, 1, 1, 1, 1, 1 };
	static const long long hi[10] = { 1LL << 34, 100000, 65536, 1000, 1000000, 100000, 86400, 86400, 1000000, 600 };
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "config: 'limits' must be a mapping");
		return -1;
	}
	if (check_keys(o, "limits", known, err, errlen) < 0)
		return -1;
	for (int i = 0; i < 10; i++)
		if (get_uint(o, known[i], lo[i], hi[i], &v[i], err, errlen) < 0)
			return -1;
	l->max_message_size = (size_t)v[0];
	l->max_recipients = (size_t)v[1];
	l->max_line = (size_t)v[2];
	l->max_bad_commands = (unsigned)v[3];
	l->max_commands = (unsigned)v[4];
	l->max_messages = (unsigned)v[5];
	cfg->idle_timeout_s = (unsigned)v[6];
	cfg->session_timeout_s = (unsigned)v[7];
	cfg->max_sessions = (unsigned)v[8];
	cfg->auth_timeout_s = (unsigned)v[9];
	return 0;
}

static int get_client_limits(json_t *root, struct smtp_config *cfg, char *err, size_t errlen)
{
	static const char *const known[] = { "max_connections", "max_connection_rate", "connection_rate_window",
					     "max_auth_failures", "auth_failure_window", "auth_block_time",
					     "table_size", "exempt", NULL };
	static const long long lo[7] = { 0, 0, 1, 0, 1, 1, 8 };
	static const long long hi[7] = { 1000000, 1000000, 86400, 1000000, 604800, 604800, 1 << 24 };
	struct smtp_ip_limits_config *c = &cfg->client_limits;
	long long v[7] = { c->max_conns, c->max_conn_rate, c->conn_rate_window_s, c->max_auth_failures,
			   c->auth_window_s, c->auth_block_s, (long long)c->table_size };
	json_t *o = json_object_get(root, "client_limits");
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "config: 'client_limits' must be a mapping");
		return -1;
	}
	if (check_keys(o, "client_limits", known, err, errlen) < 0)
		return -1;
	for (int i = 0; i < 7; i++)
		if (get_uint(o, known[i], lo[i], hi[i], &v[i], err, errlen) < 0)
			return -1;
	c->max_conns = (unsigned)v[0];
	c->max_conn_rate = (unsigned)v[1];
	c->conn_rate_window_s = (unsigned)v[2];
	c->max_auth_failures = (unsigned)v[3];
	c->auth_window_s = (unsigned)v[4];
	c->auth_block_s = (unsigned)v[5];
	c->table_size = (size_t)v[6];
	json_t *ex = json_object_get(o, "exempt");
	if (!ex || json_is_null(ex))
		return 0;
	if (!json_is_array(ex)) {
		snprintf(err, errlen, "config: client_limits.exempt must be a list of addresses or networks");
		return -1;
	}
	struct smtp_ip_net *nets = calloc(json_array_size(ex) + 1, sizeof(*nets));
	if (!nets) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->exempt = nets;
	size_t i;
	json_t *e;
	json_array_foreach(ex, i, e) {
		if (!json_is_string(e) || smtp_ip_net_parse(json_string_value(e), &nets[i]) < 0) {
			snprintf(err, errlen, "config: client_limits.exempt entry %zu is not an address or network", i);
			return -1;
		}
		c->n_exempt++;
	}
	return 0;
}

static int get_bool(json_t *obj, const char *key, bool *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "config: '%s' must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

static int get_grant(const char *identity, json_t *list, struct smtp_sender_grant *g, char *err, size_t errlen)
{
	if (!*identity || !json_is_array(list)) {
		snprintf(err, errlen, "config: sender_addresses maps a user ID to a list of addresses");
		return -1;
	}
	if (!(g->identity = strdup(identity)) || !(g->addrs = calloc(json_array_size(list) + 1, sizeof(char *)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a) {
		const char *t = json_string_value(a);
		const char *at = t ? strrchr(t, '@') : NULL;
		if (!at || !at[1] || strlen(t) > 256) {
			snprintf(err, errlen, "config: sender_addresses of %s: '%s' is not an address or @domain",
				 identity, t ? t : "?");
			return -1;
		}
		if (!(g->addrs[i] = strdup(t))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		g->n_addrs++;
	}
	return 0;
}

static int get_submission_policy(json_t *root, struct smtp_config *cfg, char *err, size_t errlen)
{
	static const char *const known[] = { "sender_check", "from_header_check", "sender_addresses", NULL };
	struct smtp_sender_policy *p = &cfg->sender_policy;
	json_t *o = json_object_get(root, "submission_policy");
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "config: 'submission_policy' must be a mapping");
		return -1;
	}
	if (check_keys(o, "submission_policy", known, err, errlen) < 0 ||
	    get_bool(o, "sender_check", &p->check_envelope, err, errlen) < 0 ||
	    get_bool(o, "from_header_check", &p->check_header, err, errlen) < 0)
		return -1;
	json_t *map = json_object_get(o, "sender_addresses");
	if (!map || json_is_null(map))
		return 0;
	if (!json_is_object(map)) {
		snprintf(err, errlen, "config: sender_addresses maps a user ID to a list of addresses");
		return -1;
	}
	if (!(p->grants = calloc(json_object_size(map) + 1, sizeof(*p->grants)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *key;
	json_t *list;
	json_object_foreach(map, key, list) {
		/* Counted first: a half-filled grant is still freed. */
		if (get_grant(key, list, &p->grants[p->n_grants++], err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int parse_tree(json_t *root, struct smtp_config *cfg, char *err, size_t errlen)
{
	if (!json_is_object(root)) {
		snprintf(err, errlen, "config: the document must be a mapping");
		return -1;
	}
	if (get_string(root, "hostname", &cfg->hostname, true, err, errlen) < 0 ||
	    get_string(root, "spool_dir", &cfg->spool_dir, true, err, errlen) < 0 ||
	    get_string(root, "homeserver_url", &cfg->homeserver_url, false, err, errlen) < 0 ||
	    get_string(root, "log_level", &cfg->log_level, false, err, errlen) < 0)
		return -1;
	for (const char *p = cfg->hostname; *p; p++) {
		if (*p <= 32 || *p >= 127) {
			snprintf(err, errlen, "config: 'hostname' must be a plain host name");
			return -1;
		}
	}
	json_t *doms = json_object_get(root, "local_domains");
	if (!json_is_array(doms) || json_array_size(doms) == 0) {
		snprintf(err, errlen, "config: 'local_domains' must be a non-empty list");
		return -1;
	}
	cfg->local_domains = calloc(json_array_size(doms), sizeof(char *));
	if (!cfg->local_domains) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t i;
	json_t *d;
	json_array_foreach(doms, i, d) {
		if (!json_is_string(d) || json_string_length(d) == 0) {
			snprintf(err, errlen, "config: local_domains entries must be strings");
			return -1;
		}
		if (!(cfg->local_domains[i] = strdup(json_string_value(d)))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		cfg->n_local_domains++;
	}
	cfg->sender_policy.local_domains = (const char *const *)cfg->local_domains;
	cfg->sender_policy.n_local_domains = cfg->n_local_domains;
	static const char *const lknown[] = { "mx", "submission", NULL };
	json_t *ls = json_object_get(root, "listeners");
	if (!json_is_object(ls)) {
		snprintf(err, errlen, "config: 'listeners' must be a mapping with mx and/or submission");
		return -1;
	}
	if (check_keys(ls, "listeners", lknown, err, errlen) < 0 ||
	    get_listener(ls, "mx", &cfg->mx, err, errlen) < 0 ||
	    get_listener(ls, "submission", &cfg->submission, err, errlen) < 0)
		return -1;
	if (!cfg->mx.enabled && !cfg->submission.enabled) {
		snprintf(err, errlen, "config: no listener configured");
		return -1;
	}
	json_t *tls = json_object_get(root, "tls");
	if (tls && !json_is_null(tls)) {
		static const char *const tknown[] = { "cert", "key", NULL };
		if (!json_is_object(tls)) {
			snprintf(err, errlen, "config: 'tls' must be a mapping with cert and key");
			return -1;
		}
		if (check_keys(tls, "tls", tknown, err, errlen) < 0 ||
		    get_string(tls, "cert", &cfg->tls_cert, true, err, errlen) < 0 ||
		    get_string(tls, "key", &cfg->tls_key, true, err, errlen) < 0)
			return -1;
	}
	if (get_client_limits(root, cfg, err, errlen) < 0 || get_submission_policy(root, cfg, err, errlen) < 0)
		return -1;
	return get_limits(root, cfg, err, errlen);
}

static void set_defaults(struct smtp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	smtp_limits_default(&cfg->limits);
	cfg->idle_timeout_s = 300;
	cfg->session_timeout_s = 1800;
	cfg->max_sessions = 1000;
	cfg->auth_timeout_s = 10;
	smtp_ip_limits_default(&cfg->client_limits);
	smtp_sender_policy_default(&cfg->sender_policy);
}

int smtp_config_parse(const char *yaml, size_t len, struct smtp_config *cfg, char *err, size_t errlen)
{
	set_defaults(cfg);
	json_t *root = yaml_load_string(yaml, len, err, errlen);
	if (!root)
		return -1;
	int rc = parse_tree(root, cfg, err, errlen);
	json_decref(root);
	if (rc < 0)
		smtp_config_free(cfg);
	return rc;
}

int smtp_config_load(const char *path, struct smtp_config *cfg, char *err, size_t errlen)
{
	set_defaults(cfg);
	json_t *root = yaml_load_file(path, err, errlen);
	if (!root)
		return -1;
	int rc = parse_tree(root, cfg, err, errlen);
	json_decref(root);
	if (rc < 0)
		smtp_config_free(cfg);
	return rc;
}

void smtp_config_free(struct smtp_config *cfg)
{
	free(cfg->hostname);
	for (size_t i = 0; i < cfg->n_local_domains; i++)
		free(cfg->local_domains[i]);
	free(cfg->local_domains);
	free(cfg->mx.address);
	free(cfg->submission.address);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->spool_dir);
	free(cfg->homeserver_url);
	free(cfg->log_level);
	free((void *)cfg->client_limits.exempt);
	smtp_sender_policy_free(&cfg->sender_policy);
	set_defaults(cfg);
}

const char *smtp_config_example(void)
{
	return "# scop-mailbridge configuration (SMTP side).\n"
	       "hostname: mx.example.org\n"
	       "local_domains:\n"
	       "  - example.org\n"
	       "listeners:\n"
	       "  mx:\n"
	       "    address: 0.0.0.0\n"
	       "    port: 25\n"
	       "  submission:\n"
	       "    address: 0.0.0.0\n"
	       "    port: 587\n"
	       "# STARTTLS; submission needs it for AUTH.\n"
	       "tls:\n"
	       "  cert: /etc/scop/mail-fullchain.pem\n"
	       "  key: /etc/scop/mail-key.pem\n"
	       "spool_dir: /var/spool/scop-mailbridge\n"
	       "# Submission passwords are checked by logging in here.\n"
	       "homeserver_url: http://127.0.0.1:8008\n"
	       "log_level: info\n"
	       "limits:\n"
	       "  max_message_size: 26214400\n"
	       "  max_recipients: 100\n"
	       "  max_line_length: 2048\n"
	       "  max_bad_commands: 10\n"
	       "  max_commands: 1000\n"
	       "  max_messages: 100\n"
	       "  idle_timeout: 300\n"
	       "  session_timeout: 1800\n"
	       "  max_sessions: 1000\n"
	       "  auth_timeout: 10\n"
	       "# Per client address (IPv4, or IPv6 /64); 0 turns a limit off.\n"
	       "client_limits:\n"
	       "  max_connections: 10\n"
	       "  max_connection_rate: 60\n"
	       "  connection_rate_window: 60\n"
	       "  max_auth_failures: 5\n"
	       "  auth_failure_window: 600\n"
	       "  auth_block_time: 600\n"
	       "  table_size: 4096\n"
	       "  exempt: []\n"
	       "# Submission: users send only as localpart@<local domain> (their\n"
	       "# Matrix localpart) and the addresses listed here.\n"
	       "submission_policy:\n"
	       "  sender_check: true\n"
	       "  from_header_check: true\n"
	       "  sender_addresses:\n"
	       "    \"@alice:example.org\": [alice.smith@example.org]\n";
}
