/* Fuzzes what the read side of federation parses from other servers: an
 * EDU's shape (fed_edu_parse) and the integer / paging-token parameters
 * (read_params.h), each from the same input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "federation/edu_parse.h"
#include "federation/read_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fed_edu e;
	char err[128], *s;
	int64_t v;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

	if (j && fed_edu_parse(j, "origin.test", &e, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < e.n; i++)
			if (!e.items[i].user_id || strchr(e.items[i].user_id, ':') == NULL)
				abort(); /* items always name a user of the origin */
		fed_edu_clear(&e);
	}
	json_decref(j);
	if (size < 64 && (s = malloc(size + 1))) {
		memcpy(s, data, size);
		s[size] = '\0';
		(void)read_parse_int(s, &v);
		if (read_page_token(s, &v) == 0 && (v < 0 || v > READ_PAGE_MAX))
			abort();
		free(s);
	}
	return 0;
}
