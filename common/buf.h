/* Growable byte buffer.
 *
 * Contract: a struct buf owns its data; buf_free() releases it.  The data is
 * always NUL-terminated (the NUL is not counted in len), so text can be used
 * as a C string.  Appending functions return 0, or -1 when memory runs out or
 * the buffer would pass its limit (max; 0 means no limit), leaving the
 * buffer as it was.
 */
#ifndef SCOP_BUF_H
#define SCOP_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the data to the caller (free() it) and leaves b empty.  Never NULL
 * unless memory runs out. */
char *buf_detach(struct buf *b, size_t *len);

#endif
