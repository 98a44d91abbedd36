/*
 * hd_random: public identifiers, drawn from the CSPRNG directly or from a pool per
 * thread. Both write lowercase hex of the asked length; pooled ids do not repeat,
 * within a thread or across threads; a request larger than the pool's is refused.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hd_random.h"
#include "unit.h"

#define IDS_PER_THREAD 20000
#define ID_BYTES 6

static int
is_hex_of_length(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

/* Fills ids (IDS_PER_THREAD of 2 * ID_BYTES + 1 characters); NULL on success. */
static void *
draw_ids(void *arg)
{
	char *ids = arg;

	for (size_t i = 0; i < IDS_PER_THREAD; i++)
		if (hd_random_hex_pooled(ids + i * (2 * ID_BYTES + 1), ID_BYTES) != HD_OK)
			return ids;
	return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 2 * ID_BYTES + 1);
}

static void
test_pooled_ids_are_hex_and_never_repeat_across_threads(void)
{
	size_t width = 2 * ID_BYTES + 1, n = 2 * IDS_PER_THREAD, repeats = 0, bad = 0;
	char *ids = calloc(n, width);
	pthread_t other;
	void *failed_here, *failed_there = ids;

	CHECK(ids != NULL);
	if (ids == NULL)
		return;
	/* Each pool holds a few hundred bytes, so 20,000 ids refill it many times. */
	CHECK(pthread_create(&other, NULL, draw_ids, ids + IDS_PER_THREAD * width) == 0);
	failed_here = draw_ids(ids);
	CHECK(pthread_join(other, &failed_there) == 0);
	CHECK(failed_here == NULL && failed_there == NULL);
	for (size_t i = 0; i < n; i++)
		bad += !is_hex_of_length(ids + i * width, 2 * ID_BYTES);
	qsort(ids, n, width, cmp_id);
	for (size_t i = 1; i < n; i++)
		repeats += memcmp(ids + (i - 1) * width, ids + i * width, width) == 0;
	CHECK_MSG(bad == 0, "%zu ids are not %d hex characters", bad, 2 * ID_BYTES);
	/* 40,000 draws of 48 random bits repeat one with a chance of about 3 in 10^6. */
	CHECK_MSG(repeats == 0, "%zu ids repeat", repeats);
	free(ids);
}

static void
test_lengths_and_limits(void)
{
	char out[2 * 64 + 1];

	CHECK(hd_random_hex(out, 16) == HD_OK && is_hex_of_length(out, 32));
	CHECK(hd_random_hex(out, 64) == HD_OK && is_hex_of_length(out, 128));
	CHECK(hd_random_hex(out, 65) != HD_OK);
	CHECK(hd_random_hex_pooled(out, 1) == HD_OK && is_hex_of_length(out, 2));
	CHECK(hd_random_hex_pooled(out, 32) == HD_OK && is_hex_of_length(out, 64));
	CHECK(hd_random_hex_pooled(out, 33) != HD_OK);
}

int
main(void)
{
	test_pooled_ids_are_hex_and_never_repeat_across_threads();
	test_lengths_and_limits();
	UNIT_DONE();
}
