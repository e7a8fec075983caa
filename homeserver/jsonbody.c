#include "homeserver/jsonbody.h"

enum json_body_rc json_body_parse(const char *body, size_t len, size_t max, int flags,
				  json_t **out)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (len > max)
		return JSON_BODY_TOO_LARGE;
	if (!body || len == 0) {
		if (!(flags & JSON_BODY_EMPTY_OK))
			return JSON_BODY_NOT_JSON;
		*out = json_object();
		return *out ? JSON_BODY_OK : JSON_BODY_NOT_JSON;
	}
	/* jansson checks UTF-8 and nesting depth; duplicate keys are refused
	 * because two parsers could pick different values. */
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
		       ((flags & JSON_BODY_ALLOW_NUL) ? JSON_ALLOW_NUL : 0), &jerr);
	if (!j)
		return JSON_BODY_NOT_JSON;
	if (!json_is_object(j)) {
		json_decref(j);
		return JSON_BODY_NOT_OBJECT;
	}
	*out = j;
	return JSON_BODY_OK;
}

const char *json_body_errcode(enum json_body_rc rc)
{
	switch (rc) {
	case JSON_BODY_OK: return NULL;
	case JSON_BODY_NOT_JSON: return "M_NOT_JSON";
	case JSON_BODY_NOT_OBJECT: return "M_BAD_JSON";
	case JSON_BODY_TOO_LARGE: return "M_TOO_LARGE";
	}
	return "M_UNKNOWN";
}

int json_body_status(enum json_body_rc rc)
{
	switch (rc) {
	case JSON_BODY_OK: return 200;
	case JSON_BODY_TOO_LARGE: return 413;
	default: return 400;
	}
}
