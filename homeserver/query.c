/* Query-string value parsers (query.h). */
#include <limits.h>

#include "homeserver/query.h"

enum query_int_rc query_uint(const char *s, long max, long *out)
{
	long v = 0;
	int neg = 0, nonzero = 0, saturated = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (!*s)
		return QUERY_INT_BAD;
	for (; *s; s++) {
		int d = *s - '0';
		if (d < 0 || d > 9)
			return QUERY_INT_BAD;
		nonzero |= d;
		/* Keep reading digits (junk may follow) but stop growing. */
		if (!saturated && v > (LONG_MAX - d) / 10)
			saturated = 1;
		else if (!saturated)
			v = v * 10 + d;
	}
	/* "-0" is 0, as Python's int() reads it. */
	if (neg && nonzero)
		return QUERY_INT_NEGATIVE;
	*out = saturated || v > max ? max : v;
	return QUERY_INT_OK;
}
