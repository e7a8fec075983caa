/* See read_params.h. */
#include "federation/read_params.h"

#define JSON_INT_MAX 9007199254740991LL

int read_parse_int(const char *s, int64_t *out)
{
	int neg = 0;
	int64_t v = 0;

	if (!s)
		return -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > JSON_INT_MAX)
			return -1;
	}
	*out = neg ? -v : v;
	return 0;
}

int read_page_token(const char *s, int64_t *offset)
{
	int64_t v;
	if (!s || s[0] != 'o' || s[1] == '-' || read_parse_int(s + 1, &v) < 0 || v > READ_PAGE_MAX)
		return -1;
	*offset = v;
	return 0;
}
