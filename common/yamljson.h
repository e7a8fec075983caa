/* YAML to JSON: loads a YAML document (config files, appservice
 * registrations) into a jansson tree, so the rest of the code reads one
 * kind of tree.
 *
 * Plain scalars become null (~, null, empty), booleans (true/false, and
 * YAML 1.1's yes/no/on/off, as PyYAML reads them for Synapse), integers,
 * reals, or strings; quoted scalars are always strings.  Mapping keys are
 * strings.  Aliases are expanded, with a depth limit and a node budget so
 * that "billion laughs" documents fail instead of exhausting memory.
 *
 * Returns a new reference (caller json_decref()s it), or NULL with a
 * one-line message in err (err may be NULL).  An empty document gives an
 * empty object.
 */
#ifndef SCOP_YAMLJSON_H
#define SCOP_YAMLJSON_H

#include <stddef.h>
#include <jansson.h>

json_t *yaml_load_string(const char *text, size_t len, char *err, size_t errlen);
json_t *yaml_load_file(const char *path, char *err, size_t errlen);

/* Loads every document of a multi-document stream ("---" separated) into
 * a JSON array, one element per document (an empty stream gives []).  Each
 * document has its own node budget.  Same ownership and errors as above. */
json_t *yaml_load_all_string(const char *text, size_t len, char *err, size_t errlen);

#endif
