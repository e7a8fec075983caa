/* Fuzzes scopd's configuration reader (YAML -> struct hs_config). */
#include <stddef.h>
#include <stdint.h>

#include "common/yamljson.h"
#include "homeserver/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_config c;
	char err[256];
	json_t *root = yaml_load_string((const char *)data, size, err, sizeof(err));
	if (!root)
		return 0;
	hs_config_init(&c);
	hs_config_parse(&c, root, "/base", err, sizeof(err));
	hs_config_free(&c);
	json_decref(root);
	return 0;
}
