#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd_buf.h"

void
hd_buf_init(struct hd_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static enum hd_err
hd_buf_reserve(struct hd_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > b->max - b->len)
		return HD_ERR_NOMEM;
	need = b->len + n + 1;
	if (need <= b->cap)
		return HD_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return HD_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return HD_OK;
}

enum hd_err
hd_buf_append(struct hd_buf *b, const void *p, size_t n)
{
	enum hd_err err;

	if ((err = hd_buf_reserve(b, n)) != HD_OK)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HD_OK;
}

enum hd_err
hd_buf_puts(struct hd_buf *b, const char *s)
{
	return hd_buf_append(b, s, strlen(s));
}

enum hd_err
hd_buf_printf(struct hd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	enum hd_err err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return HD_ERR_INTERNAL;
	if ((err = hd_buf_reserve(b, (size_t)n)) != HD_OK)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return HD_OK;
}

void
hd_buf_reset(struct hd_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
hd_buf_free(struct hd_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
hd_buf_steal(struct hd_buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
