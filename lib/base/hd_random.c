#include <openssl/rand.h>

#include "hd_random.h"
#include "hd_text.h"

enum hd_err
hd_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		return HD_ERR_CRYPTO;
	hd_hex_encode(raw, nbytes, out);
	return HD_OK;
}
