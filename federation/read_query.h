/* Query-string readers for the federation handlers (api_read.h), on top
 * of the HTTP layer's percent decoding.
 *
 * read_query_int(): absent leaves dflt in *out and returns 0; present and
 * not an integer (read_params.h) sets *out to 0 and returns -1.
 * read_query_all(): every value of a repeated parameter (?v=a&v=b),
 * decoded, as a new JSON array of strings; NULL when one decodes badly,
 * there are more than max, or memory runs out.
 */
#ifndef SCOP_FED_READ_QUERY_H
#define SCOP_FED_READ_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "federation/read_params.h"
#include "homeserver/http.h"

int read_query_int(struct http_request *rq, const char *name, int64_t dflt, int64_t *out);
json_t *read_query_all(struct http_request *rq, const char *name, size_t max);

#endif
