/* One-line error messages for functions that report failure as -1 and
 * describe it in a caller's buffer (char *err, size_t errlen).
 *
 * scop_err() formats into err when err is not NULL and errlen > 0, and
 * always returns -1, so an error path reads
 *     return scop_err(err, errlen, "bad tag %s", name);
 */
#ifndef SCOP_ERR_H
#define SCOP_ERR_H

#include <stddef.h>

int scop_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
