/* Parsers for query-string values of the client API.
 *
 * One rule for every integer page size (?limit=), the one Synapse's
 * parse_integer applies: the value must be a decimal integer (no empty
 * value, no spaces, no '+', no junk after the digits) and must not be
 * negative.  What an absent value or 0 means, and the cap, are the
 * endpoint's; api_query_limit() in api.h answers the 400 for a handler.
 */
#ifndef SCOP_HS_QUERY_H
#define SCOP_HS_QUERY_H

enum query_int_rc {
	QUERY_INT_OK = 0,
	QUERY_INT_BAD = -1,      /* not a decimal integer (or empty) */
	QUERY_INT_NEGATIVE = -2, /* an integer below 0 */
};

/* Reads s (NUL-terminated, already percent-decoded) as a non-negative
 * integer.  Values above max, however many digits they have, read as max
 * (max >= 0), so a huge limit is capped rather than refused.  *out is
 * written only on QUERY_INT_OK. */
enum query_int_rc query_uint(const char *s, long max, long *out);

#endif
