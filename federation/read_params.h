/* Parameter parsers of the read-only federation endpoints (api_read.h):
 * pure string checks, kept apart so they can be fuzzed.
 *
 * read_parse_int(): a decimal integer, optional '-', no spaces, within
 * [-2^53+1, 2^53-1] (what JSON peers can represent); 0 or -1.
 * read_page_token(): the public room list's "o<offset>" paging token,
 * offset in [0, READ_PAGE_MAX]; 0 or -1.
 */
#ifndef SCOP_FED_READ_PARAMS_H
#define SCOP_FED_READ_PARAMS_H

#include <stdint.h>

#define READ_PAGE_MAX 1000000000

int read_parse_int(const char *s, int64_t *out);
int read_page_token(const char *s, int64_t *offset);

#endif
