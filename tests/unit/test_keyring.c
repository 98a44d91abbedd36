/*
 * hd_keyring and hd_creds_open: key files parsed strictly (and refused when others may
 * read them); a sealed value is AES-256-GCM in the documented layout (checked with
 * OpenSSL directly), opens only with its key and its associated data, and not after
 * any byte changed; rotation opens old values and seals with the new key; a row's
 * sealed secrets open only in that row.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hd_creds_seal.h"
#include "hd_keyring.h"
#include "unit.h"

#define KEY_A "a1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "b2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static struct hd_keyring *
keyring(const char *text)
{
	struct hd_keyring *k = NULL;
	char err[256];

	if (hd_keyring_parse(text, strlen(text), &k, err, sizeof(err)) != HD_OK)
		fprintf(stderr, "unexpected: %s\n", err);
	return k;
}

static void
test_key_files_parse_strictly(void)
{
	static const struct { const char *text; int ok; const char *current; } cases[] = {
		{ KEY_A "\n", 1, "a1" },
		{ "# rotated 2026-12\n\n  " KEY_B "  \n" KEY_A "\r\n", 1, "b2" },
		{ "", 0, NULL },
		{ "# only a comment\n", 0, NULL },
		{ "a1 0001\n", 0, NULL },                       /* short key */
		{ "a1 " "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0, NULL },
		{ "a/1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0, NULL },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0, NULL },
		{ KEY_A "\n" KEY_A "\n", 0, NULL },             /* one id twice */
		{ KEY_A " extra\n", 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hd_keyring *k = NULL;
		char err[256] = "";
		enum hd_err rc = hd_keyring_parse(cases[i].text, strlen(cases[i].text), &k, err,
		    sizeof(err));

		CHECK_MSG((rc == HD_OK) == cases[i].ok, "case %zu: %s", i, err);
		if (rc == HD_OK) {
			CHECK(strcmp(hd_keyring_current(k), cases[i].current) == 0);
			hd_keyring_free(k);
		} else {
			CHECK_MSG(err[0] != '\0', "case %zu gives no reason", i);
		}
	}
	{
		char many[17 * 80] = "";
		struct hd_keyring *k = NULL;
		char err[256];

		for (int i = 0; i < 17; i++)
			snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%d %s\n", i,
			    KEY_A + 3);
		CHECK(hd_keyring_parse(many, strlen(many), &k, err, sizeof(err)) == HD_ERR_CONFIG);
	}
}

static void
test_a_key_file_others_may_read_is_refused(void)
{
	char path[] = "/tmp/herald-keyring-XXXXXX", err[512];
	struct hd_keyring *k = NULL;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, KEY_A "\n", strlen(KEY_A) + 1) == (ssize_t)strlen(KEY_A) + 1);
	close(fd);
	CHECK(chmod(path, 0644) == 0);
	CHECK(hd_keyring_load(path, &k, err, sizeof(err)) == HD_ERR_CONFIG);
	CHECK(strstr(err, "others may read it") != NULL);
	CHECK(chmod(path, 0640) == 0);
	CHECK(hd_keyring_load(path, &k, err, sizeof(err)) == HD_OK);
	CHECK(k && strcmp(hd_keyring_current(k), "a1") == 0);
	hd_keyring_free(k);
	unlink(path);
	CHECK(hd_keyring_load(path, &k, err, sizeof(err)) == HD_ERR_CONFIG);
}

/* Opens a sealed value with OpenSSL alone: byte 1, 12-byte nonce, ciphertext, tag. */
static int
open_independently(const unsigned char *key, const char *aad, const struct hd_buf *sealed,
    unsigned char *out)
{
	const unsigned char *s = (const unsigned char *)sealed->data;
	unsigned char tag[16];
	int n = (int)sealed->len - 29, len, ok;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	memcpy(tag, s + 13 + n, sizeof(tag));
	ok = s[0] == 1 &&
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, s + 1) == 1 &&
	    EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	    EVP_DecryptUpdate(c, out, &len, s + 13, n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
	    EVP_DecryptFinal_ex(c, out + len, &len) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? n : -1;
}

static void
test_sealed_values_open_only_untouched_with_their_key_and_aad(void)
{
	static const unsigned char key_a[32] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
		14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
	static const char secret[] = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n";
	struct hd_keyring *a = keyring(KEY_A "\n"), *ba = keyring(KEY_B "\n" KEY_A "\n");
	struct hd_buf s1, s2, out;
	unsigned char plain[sizeof(secret)];

	hd_buf_init(&s1, 4096);
	hd_buf_init(&s2, 4096);
	hd_buf_init(&out, 4096);
	CHECK(a && ba);
	if (!a || !ba)
		goto out;
	CHECK(hd_seal(a, "row 1", secret, strlen(secret), &s1) == HD_OK);
	CHECK(hd_seal(a, "row 1", secret, strlen(secret), &s2) == HD_OK);
	CHECK(s1.len == strlen(secret) + 29);
	for (size_t i = 0; i + 7 <= s1.len; i++)
		CHECK(memcmp(s1.data + i, "PRIVATE", 7) != 0);
	CHECK_MSG(memcmp(s1.data, s2.data, s1.len) != 0, "a fresh nonce per seal");
	CHECK(open_independently(key_a, "row 1", &s1, plain) == (int)strlen(secret) &&
	    memcmp(plain, secret, strlen(secret)) == 0);

	CHECK(hd_unseal(a, "a1", "row 1", s1.data, s1.len, &out) == HD_OK);
	CHECK(out.len == strlen(secret) && memcmp(out.data, secret, out.len) == 0);
	hd_buf_reset(&out);
	CHECK(hd_unseal(a, "a1", "row 2", s1.data, s1.len, &out) == HD_ERR_CRYPTO);
	CHECK(hd_unseal(a, "b2", "row 1", s1.data, s1.len, &out) == HD_ERR_CRYPTO);
	CHECK(hd_unseal(a, "a1", "row 1", s1.data, 28, &out) == HD_ERR_CRYPTO);
	for (size_t i = 0; i < s1.len; i++) {
		s1.data[i] ^= 0x01;
		CHECK_MSG(hd_unseal(a, "a1", "row 1", s1.data, s1.len, &out) == HD_ERR_CRYPTO,
		    "byte %zu changed", i);
		s1.data[i] ^= 0x01;
	}
	CHECK(out.len == 0);

	/* Rotation: the new keyring opens what the old key sealed and seals with b2. */
	CHECK(hd_unseal(ba, "a1", "row 1", s1.data, s1.len, &out) == HD_OK);
	CHECK(strcmp(hd_keyring_current(ba), "b2") == 0 && hd_keyring_has(ba, "a1"));
	hd_buf_reset(&s2);
	CHECK(hd_seal(ba, "row 1", secret, strlen(secret), &s2) == HD_OK);
	hd_buf_reset(&out);
	CHECK(hd_unseal(a, "a1", "row 1", s2.data, s2.len, &out) == HD_ERR_CRYPTO);
	CHECK(hd_unseal(ba, "b2", "row 1", s2.data, s2.len, &out) == HD_OK);
out:
	hd_buf_free(&s1);
	hd_buf_free(&s2);
	hd_buf_free(&out);
	hd_keyring_free(a);
	hd_keyring_free(ba);
}

static void
test_a_rows_secrets_open_only_in_that_row(void)
{
	/* A PEM and no client secret, in the sealed layout. */
	static const unsigned char plain[] = { 1, 0, 0, 0, 3, 'p', 'e', 'm', 0, 0, 0, 0, 0 };
	static const unsigned char bad[] = { 1, 0, 0, 0, 9, 'p', 'e', 'm', 0, 0, 0, 0, 0 };
	struct hd_keyring *a = keyring(KEY_A "\n");
	struct hd_creds_secrets s;
	struct hd_buf sealed, out;

	hd_buf_init(&sealed, 4096);
	hd_buf_init(&out, 4096);
	if (a == NULL)
		goto out;
	CHECK(hd_seal(a, "herald app_credentials 7 apns", plain, sizeof(plain), &sealed) == HD_OK);
	CHECK(hd_creds_open(a, 7, "apns", "a1", sealed.data, sealed.len, &out, &s) == HD_OK);
	CHECK(s.private_key_len == 3 && memcmp(s.private_key_pem, "pem", 3) == 0);
	CHECK(s.client_secret == NULL);
	hd_buf_reset(&out);
	CHECK(hd_creds_open(a, 8, "apns", "a1", sealed.data, sealed.len, &out, &s) ==
	    HD_ERR_CRYPTO);
	hd_buf_reset(&out);
	CHECK(hd_creds_open(a, 7, "fcm", "a1", sealed.data, sealed.len, &out, &s) ==
	    HD_ERR_CRYPTO);
	hd_buf_reset(&sealed);
	hd_buf_reset(&out);
	CHECK(hd_seal(a, "herald app_credentials 7 apns", bad, sizeof(bad), &sealed) == HD_OK);
	CHECK(hd_creds_open(a, 7, "apns", "a1", sealed.data, sealed.len, &out, &s) ==
	    HD_ERR_CRYPTO);
out:
	hd_buf_free(&sealed);
	hd_buf_free(&out);
	hd_keyring_free(a);
}

int
main(void)
{
	test_key_files_parse_strictly();
	test_a_key_file_others_may_read_is_refused();
	test_sealed_values_open_only_untouched_with_their_key_and_aad();
	test_a_rows_secrets_open_only_in_that_row();
	UNIT_DONE();
}
