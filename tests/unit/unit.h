/*
 * A tiny table-driven test helper: CHECK() reports the failing expression with its
 * line and counts failures; UNIT_DONE() prints a summary and sets the exit status
 * that automake's test driver reads (0 pass, 1 fail).
 */
#ifndef HD_UNIT_H
#define HD_UNIT_H

#include <stdio.h>

static int unit_failures;
static int unit_checks;

#define CHECK(cond) do { \
	unit_checks++; \
	if (!(cond)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_MSG(cond, ...) do { \
	unit_checks++; \
	if (!(cond)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

#define UNIT_DONE() do { \
	printf("%d checks, %d failed\n", unit_checks, unit_failures); \
	return unit_failures ? 1 : 0; \
} while (0)

#endif
