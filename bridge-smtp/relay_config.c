/* The relay's configuration from YAML; see relay_config.h. */
#include "bridge-smtp/relay_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/yamljson.h"

static void defaults(struct relay_config *c)
{
	static const unsigned sched[] = { 60, 300, 900, 3600, 10800, 21600 };
	memset(c, 0, sizeof(*c));
	memcpy(c->retry, sched, sizeof(sched));
	c->n_retry = sizeof(sched) / sizeof(sched[0]);
	c->max_age_s = 5 * 86400;
	c->poll_ms = 1000;
	/* As Postfix recommends with a validating resolver; without a trust
	 * anchor every answer is insecure and this is opportunistic TLS. */
	c->tls = RELAY_TLS_DANE;
	c->connect_timeout_ms = 30000;
	c->port = 25;
	smtp_client_timeouts_default(&c->timeouts);
}

static int bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "config: relay.%s", what);
	return -1;
}

static int get_int(json_t *o, const char *key, long long lo, long long hi, long long *out, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, errlen, "config: relay.%s must be an integer from %lld to %lld", key, lo, hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static char *dup_str(json_t *v)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return NULL;
	return strdup(json_string_value(v));
}

static int get_dkim(json_t *list, struct relay_config *c, char *err, size_t errlen)
{
	if (!json_is_array(list))
		return bad(err, errlen, "dkim must be a list of {domain, selector, key_file}");
	if (!(c->dkim = calloc(json_array_size(list) + 1, sizeof(*c->dkim))))
		return bad(err, errlen, "dkim: out of memory");
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		struct relay_dkim_config *k = &c->dkim[c->n_dkim++];
		const char *key;
		json_t *v;
		if (!json_is_object(e))
			return bad(err, errlen, "dkim entries must be mappings");
		json_object_foreach(e, key, v) {
			if (strcmp(key, "domain") && strcmp(key, "selector") && strcmp(key, "key_file")) {
				snprintf(err, errlen, "config: unknown key '%s' in relay.dkim", key);
				return -1;
			}
		}
		k->domain = dup_str(json_object_get(e, "domain"));
		k->selector = dup_str(json_object_get(e, "selector"));
		k->key_file = dup_str(json_object_get(e, "key_file"));
		if (!k->domain || !k->selector || !k->key_file)
			return bad(err, errlen, "dkim entries need domain, selector and key_file strings");
	}
	return 0;
}

static int get_timeouts(json_t *o, struct smtp_client_timeouts *t, char *err, size_t errlen)
{
	static const char *const names[] = { "greeting", "ehlo", "tls", "mail", "rcpt",
					     "data_init", "data_block", "data_term", "quit", NULL };
	unsigned *fields[] = { &t->greeting, &t->ehlo, &t->tls, &t->mail, &t->rcpt,
			       &t->data_init, &t->data_block, &t->data_term, &t->quit };
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return bad(err, errlen, "smtp_timeouts must be a mapping of stage: seconds");
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		size_t i;
		for (i = 0; names[i] && strcmp(names[i], key) != 0; i++)
			;
		if (!names[i]) {
			snprintf(err, errlen, "config: unknown key '%s' in relay.smtp_timeouts", key);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3600)
			return bad(err, errlen, "smtp_timeouts values must be 1 to 3600 seconds");
		*fields[i] = (unsigned)json_integer_value(v) * 1000;
	}
	return 0;
}

static int parse_tree(json_t *root, struct relay_config *c, char *err, size_t errlen)
{
	static const char *const known[] = { "enabled", "dkim", "retry_schedule", "max_age", "tls",
					     "require_tls_domains", "poll_interval_ms", "connect_timeout",
					     "smtp_timeout", "smtp_timeouts", "port", NULL };
	if (!json_is_object(root)) {
		snprintf(err, errlen, "config: the document must be a mapping");
		return -1;
	}
	json_t *o = json_object_get(root, "relay");
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "config: 'relay' must be a mapping");
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok) {
			snprintf(err, errlen, "config: unknown key '%s' in relay", key);
			return -1;
		}
	}
	c->enabled = true;
	if ((v = json_object_get(o, "enabled"))) {
		if (!json_is_boolean(v))
			return bad(err, errlen, "enabled must be true or false");
		c->enabled = json_is_true(v);
	}
	if ((v = json_object_get(o, "dkim")) && !json_is_null(v) && get_dkim(v, c, err, errlen) < 0)
		return -1;
	if ((v = json_object_get(o, "retry_schedule"))) {
		size_t i;
		json_t *e;
		if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > RELAY_MAX_RETRY_STEPS)
			return bad(err, errlen, "retry_schedule must be a list of 1 to 32 delays in seconds");
		json_array_foreach(v, i, e) {
			if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 7 * 86400)
				return bad(err, errlen, "retry_schedule delays must be 1 to 604800 seconds");
			c->retry[i] = (unsigned)json_integer_value(e);
		}
		c->n_retry = json_array_size(v);
	}
	if ((v = json_object_get(o, "tls"))) {
		const char *t = json_string_value(v);
		if (t && strcmp(t, "opportunistic") == 0)
			c->tls = RELAY_TLS_OPPORTUNISTIC;
		else if (t && strcmp(t, "require") == 0)
			c->tls = RELAY_TLS_REQUIRE;
		else if (t && strcmp(t, "none") == 0)
			c->tls = RELAY_TLS_NONE;
		else if (t && strcmp(t, "dane") == 0)
			c->tls = RELAY_TLS_DANE;
		else
			return bad(err, errlen, "tls must be dane, opportunistic, require or none");
	}
	if ((v = json_object_get(o, "require_tls_domains")) && !json_is_null(v)) {
		size_t i;
		json_t *e;
		if (!json_is_array(v) || !(c->require_tls_domains = calloc(json_array_size(v) + 1, sizeof(char *))))
			return bad(err, errlen, "require_tls_domains must be a list of domains");
		json_array_foreach(v, i, e) {
			if (!(c->require_tls_domains[c->n_require_tls] = dup_str(e)))
				return bad(err, errlen, "require_tls_domains must be a list of domains");
			c->n_require_tls++;
		}
	}
	long long max_age = c->max_age_s, poll = c->poll_ms, conn = c->connect_timeout_ms / 1000, smtp = 0,
		  port = c->port;
	if (get_int(o, "max_age", 1, 60LL * 86400, &max_age, err, errlen) < 0 ||
	    get_int(o, "poll_interval_ms", 10, 3600000, &poll, err, errlen) < 0 ||
	    get_int(o, "connect_timeout", 1, 600, &conn, err, errlen) < 0 ||
	    get_int(o, "smtp_timeout", 0, 3600, &smtp, err, errlen) < 0 ||
	    get_int(o, "port", 1, 65535, &port, err, errlen) < 0)
		return -1;
	c->max_age_s = max_age;
	c->poll_ms = (unsigned)poll;
	c->connect_timeout_ms = (unsigned)conn * 1000;
	c->port = (int)port;
	if (smtp)
		smtp_client_timeouts_all(&c->timeouts, (unsigned)smtp * 1000);
	return get_timeouts(json_object_get(o, "smtp_timeouts"), &c->timeouts, err, errlen);
}

static int finish(json_t *root, struct relay_config *c, char *err, size_t errlen)
{
	if (!root)
		return -1;
	int rc = parse_tree(root, c, err, errlen);
	json_decref(root);
	if (rc < 0)
		relay_config_free(c);
	return rc;
}

int relay_config_parse(const char *yaml, size_t len, struct relay_config *c, char *err, size_t errlen)
{
	defaults(c);
	return finish(yaml_load_string(yaml, len, err, errlen), c, err, errlen);
}

int relay_config_load(const char *path, struct relay_config *c, char *err, size_t errlen)
{
	defaults(c);
	return finish(yaml_load_file(path, err, errlen), c, err, errlen);
}

void relay_config_free(struct relay_config *c)
{
	for (size_t i = 0; i < c->n_dkim; i++) {
		free(c->dkim[i].domain);
		free(c->dkim[i].selector);
		free(c->dkim[i].key_file);
	}
	free(c->dkim);
	for (size_t i = 0; i < c->n_require_tls; i++)
		free(c->require_tls_domains[i]);
	free(c->require_tls_domains);
	defaults(c);
}

bool relay_config_require_tls(const struct relay_config *c, const char *domain)
{
	if (c->tls == RELAY_TLS_REQUIRE)
		return true;
	for (size_t i = 0; i < c->n_require_tls; i++)
		if (strcasecmp(c->require_tls_domains[i], domain) == 0)
			return true;
	return false;
}
