/* Fuzzes the YAML loader used for config and appservice registration files. */
#include <stddef.h>
#include <stdint.h>

#include "common/yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *j = yaml_load_string((const char *)data, size, err, sizeof(err));
	json_decref(j);
	return 0;
}
