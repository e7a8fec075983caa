/* Matrix canonical JSON (spec appendices, "Canonical JSON") and a strict
 * parser for JSON that must be canonical-encodable.
 *
 * Encoding: object keys sorted by Unicode code point (bytewise on UTF-8),
 * no insignificant whitespace, strings as raw UTF-8 with only the escapes
 * the grammar requires (\" \\ \b \t \n \f \r and \u00XX, lower-case hex,
 * for the other control characters), integers in plain decimal.
 *
 * What the encoder refuses (returns -1, output left unchanged):
 *   - reals (floats are not permitted by the encoding), except that with
 *     CANONJSON_LAX a real with an integral value in the 53-bit range is
 *     written as that integer (the spec's example: 1e10 -> 10000000000);
 *   - integers outside [-(2^53)+1, 2^53-1], unless CANONJSON_LAX is given
 *     (events of room versions 1-5 may carry them);
 *   - strings or keys that are not valid UTF-8;
 *   - nesting deeper than CANONJSON_MAX_DEPTH.
 *
 * Parsing (canonjson_parse): accepts any JSON text (whitespace, escapes,
 * any key order) but rejects duplicate keys, trailing data, nesting deeper
 * than CANONJSON_MAX_DEPTH, and, unless CANONJSON_LAX, reals (1.0, 1e10)
 * and integers outside the range above.  "\u0000" is accepted in string
 * values but not in object keys (jansson cannot hold those).  Returns a new reference, or NULL with a one-line message in err
 * (err may be NULL).
 *
 * No global state; all functions are thread-safe.
 */
#ifndef SCOP_CANONJSON_H
#define SCOP_CANONJSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/buf.h"

#define CANONJSON_INT_MAX 9007199254740991LL /* 2^53 - 1 */
#define CANONJSON_INT_MIN (-9007199254740991LL)
#define CANONJSON_MAX_DEPTH 512

enum canonjson_flags {
	/* Allow integers outside the 53-bit range (room versions 1-5); the
	 * parser also accepts reals (they stay reals; the encoder writes the
	 * integral ones as integers and refuses the rest). */
	CANONJSON_LAX = 1,
};

/* Appends the canonical encoding of v to out.  0 on success, -1 on a value
 * the encoding cannot represent or when out runs out of memory or passes
 * its limit (out is then restored to its previous length). */
int canonjson_encode(const json_t *v, struct buf *out, int flags);

/* Allocating form: a NUL-terminated string the caller free()s, length in
 * *len (len may be NULL).  NULL on failure. */
char *canonjson_dumps(const json_t *v, size_t *len, int flags);

/* Strict parse of len bytes of data, see above. */
json_t *canonjson_parse(const char *data, size_t len, int flags, char *err, size_t errlen);

/* 1 when every integer in v is in the canonical range and v holds no reals;
 * 0 otherwise.  Lets a caller check a tree built in memory. */
int canonjson_is_strict(const json_t *v);

#endif
