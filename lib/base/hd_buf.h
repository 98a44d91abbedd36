/*
 * A growable byte buffer with a hard cap. The buffer owns its memory; hd_buf_free()
 * releases it. Appends fail (and leave the contents as they were) rather than grow
 * past the cap, so no outside input can make it unbounded. The data is always
 * NUL-terminated for convenience; len does not count the NUL.
 */
#ifndef HD_BUF_H
#define HD_BUF_H

#include <stddef.h>
#include "hd_error.h"

struct hd_buf {
	char *data;
	size_t len;
	size_t cap;      /* allocated bytes */
	size_t max;      /* largest len allowed */
};

/* Starts an empty buffer that may hold up to max bytes. Allocates nothing. */
void hd_buf_init(struct hd_buf *b, size_t max);
/* Appends n bytes; HD_ERR_NOMEM when over the cap or out of memory. */
enum hd_err hd_buf_append(struct hd_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
enum hd_err hd_buf_puts(struct hd_buf *b, const char *s);
/* Appends printf-style output, bounded by the cap. */
enum hd_err hd_buf_printf(struct hd_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Empties the buffer and keeps its memory. */
void hd_buf_reset(struct hd_buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void hd_buf_free(struct hd_buf *b);
/* Hands the memory to the caller (free() it) and empties the buffer. */
char *hd_buf_steal(struct hd_buf *b, size_t *len);

#endif
