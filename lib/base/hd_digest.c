/* SHA-256 through OpenSSL (see hd_digest.h). */
#include <openssl/evp.h>

#include "hd_digest.h"
#include "hd_text.h"

enum hd_err
hd_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return HD_ERR_CRYPTO;
	return HD_OK;
}

enum hd_err
hd_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	enum hd_err err;

	if ((err = hd_sha256(data, len, md)) != HD_OK)
		return err;
	hd_hex_encode(md, sizeof(md), out);
	return HD_OK;
}
