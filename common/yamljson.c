#include "common/yamljson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 100000

struct conv {
	yaml_document_t *doc;
	long budget;
	char *err;
	size_t errlen;
};

static void set_err(struct conv *c, const char *msg, const yaml_node_t *n)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s at line %lu", msg,
			 n ? (unsigned long)n->start_mark.line + 1 : 0UL);
}

static json_t *plain_scalar(const char *s, size_t len)
{
	static const char *trues[] = { "true", "yes", "on" };
	static const char *falses[] = { "false", "no", "off" };
	char *end;

	if (len == 0 || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0)
		return json_null();
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, trues[i]) == 0)
			return json_true();
		if (strcasecmp(s, falses[i]) == 0)
			return json_false();
	}
	if ((s[0] >= '0' && s[0] <= '9') || ((s[0] == '-' || s[0] == '+') && len > 1)) {
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (*end == '\0' && errno == 0)
			return json_integer(v);
		errno = 0;
		double d = strtod(s, &end);
		if (*end == '\0' && errno == 0 && strpbrk(s, "xXnN") == NULL)
			return json_real(d);
	}
	return json_stringn(s, len);
}

static json_t *convert(struct conv *c, yaml_node_t *n, int depth)
{
	json_t *out;

	if (!n) {
		set_err(c, "dangling node", NULL);
		return NULL;
	}
	if (depth > YAML_MAX_DEPTH || --c->budget < 0) {
		set_err(c, "document too deep or too large", n);
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)n->data.scalar.value;
		size_t len = n->data.scalar.length;
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			return plain_scalar(s, len);
		return json_stringn(s, len);
	}
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     out && it < n->data.sequence.items.top; it++) {
			json_t *v = convert(c, yaml_document_get_node(c->doc, *it), depth + 1);
			if (!v || json_array_append_new(out, v) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     out && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			json_t *v;
			if (!k || k->type != YAML_SCALAR_NODE) {
				set_err(c, "mapping key is not a scalar", k ? k : n);
				json_decref(out);
				return NULL;
			}
			v = convert(c, yaml_document_get_node(c->doc, p->value), depth + 1);
			if (!v || json_object_setn_new(out, (const char *)k->data.scalar.value,
						       k->data.scalar.length, v) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	default:
		set_err(c, "unsupported node", n);
		return NULL;
	}
}

json_t *yaml_load_string(const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct conv c = { &doc, YAML_MAX_NODES, err, errlen };
	json_t *out = NULL;
	yaml_node_t *root;

	if (err && errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser)) {
		set_err(&c, "out of memory", NULL);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		if (err && errlen)
			snprintf(err, errlen, "YAML error: %s at line %lu",
				 parser.problem ? parser.problem : "unknown",
				 (unsigned long)parser.problem_mark.line + 1);
		yaml_parser_delete(&parser);
		return NULL;
	}
	root = yaml_document_get_root_node(&doc);
	out = root ? convert(&c, root, 0) : json_object();
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}

json_t *yaml_load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0, n;
	json_t *out;

	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (len + 4096 > cap) {
			char *p;
			cap = cap ? cap * 2 : 8192;
			if (cap > (16u << 20) || !(p = realloc(data, cap))) {
				if (err && errlen)
					snprintf(err, errlen, "%s: too large", path);
				free(data);
				fclose(f);
				return NULL;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	out = yaml_load_string(data ? data : "", len, err, errlen);
	free(data);
	return out;
}

json_t *yaml_load_all_string(const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	json_t *all = json_array();

	if (err && errlen)
		err[0] = '\0';
	if (!all)
		return NULL;
	if (!yaml_parser_initialize(&parser)) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		json_decref(all);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		yaml_document_t doc;
		/* A fresh node budget per document: each is loaded on its own. */
		struct conv c = { &doc, YAML_MAX_NODES, err, errlen };
		yaml_node_t *root;
		json_t *one;

		if (!yaml_parser_load(&parser, &doc)) {
			if (err && errlen)
				snprintf(err, errlen, "YAML error: %s at line %lu",
					 parser.problem ? parser.problem : "unknown",
					 (unsigned long)parser.problem_mark.line + 1);
			json_decref(all);
			all = NULL;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) { /* end of the stream */
			yaml_document_delete(&doc);
			break;
		}
		one = convert(&c, root, 0);
		yaml_document_delete(&doc);
		if (!one || json_array_append_new(all, one) != 0) {
			json_decref(all);
			all = NULL;
			break;
		}
	}
	yaml_parser_delete(&parser);
	return all;
}
