/* Filters and stream tokens.  See filter.h. */
#include "homeserver/filter.h"

#include <stdlib.h>
#include <string.h>

void room_filter_init(struct room_filter *f)
{
	memset(f, 0, sizeof(*f));
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void room_filter_clear(struct room_filter *f)
{
	free_list(f->types, f->ntypes);
	free_list(f->not_types, f->nnot);
	room_filter_init(f);
}

static int read_list(const json_t *arr, char ***out, size_t *n)
{
	size_t i;
	json_t *v;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > FILTER_MAX_TYPES)
		return -1;
	if (!(*out = calloc(json_array_size(arr) + 1, sizeof(char *))))
		return -1;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || !((*out)[(*n)++] = strdup(json_string_value(v))))
			return -1;
	}
	return 0;
}

/* The two lazy-loading flags of obj (booleans; absent: false). */
static int read_lazy(struct room_filter *f, const json_t *obj)
{
	const json_t *ll = json_object_get(obj, "lazy_load_members");
	const json_t *ir = json_object_get(obj, "include_redundant_members");
	if ((ll && !json_is_boolean(ll)) || (ir && !json_is_boolean(ir)))
		return -1;
	f->lazy_load_members = json_is_true(ll);
	f->include_redundant_members = json_is_true(ir);
	return 0;
}

int room_filter_from_json(struct room_filter *f, const json_t *obj)
{
	const json_t *limit, *types;
	room_filter_clear(f);
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return -1;
	limit = json_object_get(obj, "limit");
	if (limit) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 0)
			goto bad;
		f->limit = json_integer_value(limit) > FILTER_MAX_LIMIT
				   ? FILTER_MAX_LIMIT : (long)json_integer_value(limit);
	}
	types = json_object_get(obj, "types");
	f->has_types = types && !json_is_null(types);
	if (read_list(types, &f->types, &f->ntypes) < 0 ||
	    read_list(json_object_get(obj, "not_types"), &f->not_types, &f->nnot) < 0 ||
	    read_lazy(f, obj) < 0)
		goto bad;
	{
		const json_t *ut = json_object_get(obj, "unread_thread_notifications");
		if (ut && !json_is_boolean(ut))
			goto bad;
		f->unread_thread_notifications = json_is_true(ut);
	}
	return 0;
bad:
	room_filter_clear(f);
	return -1;
}

int room_filter_parse(struct room_filter *f, const char *data, size_t len, int sync)
{
	json_t *root, *obj;
	int rc;
	room_filter_clear(f);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	obj = root;
	if (sync) {
		json_t *room = json_object_get(root, "room");
		if (room && !json_is_object(room)) {
			json_decref(root);
			return -1;
		}
		obj = json_object_get(room, "timeline");
		rc = room_filter_from_json(f, obj);
		/* The timeline's own flags do not count in a sync filter. */
		f->lazy_load_members = f->include_redundant_members = 0;
		if (rc == 0) {
			json_t *state = json_object_get(room, "state");
			if (state && !json_is_object(state) && !json_is_null(state))
				rc = -1;
			else if (json_is_object(state))
				rc = read_lazy(f, state);
			if (rc < 0)
				room_filter_clear(f);
		}
		json_decref(root);
		return rc;
	}
	rc = room_filter_from_json(f, obj);
	json_decref(root);
	return rc;
}

static int type_matches(const char *pattern, const char *type)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, type, n - 1) == 0;
	return strcmp(pattern, type) == 0;
}

int room_filter_match(const struct room_filter *f, const json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (!type)
		return 0;
	for (size_t i = 0; i < f->nnot; i++)
		if (type_matches(f->not_types[i], type))
			return 0;
	if (!f->has_types)
		return 1;
	for (size_t i = 0; i < f->ntypes; i++)
		if (type_matches(f->types[i], type))
			return 1;
	return 0;
}

static const char *digits(const char *s, int64_t *v)
{
	int n = 0;
	*v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++n > 18)
			return NULL;
		*v = *v * 10 + (*s - '0');
	}
	return n ? s : NULL;
}

int sync_token_parse2(const char *s, int64_t *pos, int64_t *xpos)
{
	int64_t a, b = 0;
	if (!s)
		return -1;
	if (*s == 's')
		s++;
	if (!(s = digits(s, &a)))
		return -1;
	if (*s == '_' && !(s = digits(s + 1, &b)))
		return -1;
	if (*s)
		return -1;
	*pos = a;
	if (xpos)
		*xpos = b;
	return 0;
}

int sync_token_parse(const char *s, int64_t *pos)
{
	return sync_token_parse2(s, pos, NULL);
}
