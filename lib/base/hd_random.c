#include <openssl/rand.h>

#include "hd_random.h"
#include "hd_text.h"

#define HD_RANDOM_POOL 384
#define HD_RANDOM_POOLED_MAX 32

static _Thread_local unsigned char hd_random_pool[HD_RANDOM_POOL];
static _Thread_local size_t hd_random_pool_left;

enum hd_err
hd_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		return HD_ERR_CRYPTO;
	hd_hex_encode(raw, nbytes, out);
	return HD_OK;
}

enum hd_err
hd_random_hex_pooled(char *out, size_t nbytes)
{
	if (nbytes > HD_RANDOM_POOLED_MAX)
		return HD_ERR_CRYPTO;
	if (hd_random_pool_left < nbytes) {
		if (RAND_bytes(hd_random_pool, (int)sizeof(hd_random_pool)) != 1) {
			hd_random_pool_left = 0;
			return HD_ERR_CRYPTO;
		}
		hd_random_pool_left = sizeof(hd_random_pool);
	}
	hd_random_pool_left -= nbytes;
	hd_hex_encode(hd_random_pool + hd_random_pool_left, nbytes, out);
	return HD_OK;
}
