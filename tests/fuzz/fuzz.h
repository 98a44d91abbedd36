/*
 * Shared by the fuzz drivers (tests/fuzz/fuzz_*.c): the libFuzzer entry point's
 * prototype and an assertion that crashes loudly, so that a broken contract is
 * reported like any sanitizer finding (by libFuzzer, or by standalone.c).
 */
#ifndef HD_FUZZ_H
#define HD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* memmem() without _GNU_SOURCE: whether needle occurs in data[0..len). */
static inline int
fuzz_contains(const void *data, size_t len, const char *needle)
{
	const unsigned char *d = data;
	size_t n = 0;

	while (needle[n])
		n++;
	for (size_t i = 0; n <= len && i <= len - n; i++) {
		size_t k = 0;
		while (k < n && d[i + k] == (unsigned char)needle[k])
			k++;
		if (k == n)
			return 1;
	}
	return 0;
}

#endif
