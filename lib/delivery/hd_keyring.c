/* Keys for provider secrets at rest, and sealing with them (see hd_keyring.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hd_keyring.h"
#include "hd_text.h"

#define HD_KEYRING_MAX_KEYS 16
#define HD_KEYRING_FILE_MAX (64 * 1024)
#define HD_SEAL_FORMAT 1
#define HD_SEAL_NONCE 12
#define HD_SEAL_TAG 16
#define HD_SEAL_OVERHEAD (1 + HD_SEAL_NONCE + HD_SEAL_TAG)

struct hd_key {
	char id[HD_KEY_ID_MAX + 1];
	unsigned char bytes[32];
};

struct hd_keyring {
	struct hd_key keys[HD_KEYRING_MAX_KEYS];
	size_t n;
};

void
hd_keyring_free(struct hd_keyring *k)
{
	if (k == NULL)
		return;
	explicit_bzero(k, sizeof(*k));
	free(k);
}

static int
hd_key_id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-';
}

/* One "ID HEX" line (without its newline, blanks around it already trimmed). */
static int
hd_key_parse(const char *s, size_t len, struct hd_key *key)
{
	size_t id = 0, i;

	while (id < len && hd_key_id_char(s[id]))
		id++;
	if (id == 0 || id > HD_KEY_ID_MAX || id == len || (s[id] != ' ' && s[id] != '\t'))
		return -1;
	memcpy(key->id, s, id);
	key->id[id] = '\0';
	for (i = id; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	if (len - i != 2 * sizeof(key->bytes))
		return -1;
	for (size_t b = 0; b < sizeof(key->bytes); b++) {
		int hi = hd_hex_value(s[i + 2 * b]), lo = hd_hex_value(s[i + 2 * b + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		key->bytes[b] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

enum hd_err
hd_keyring_parse(const char *text, size_t len, struct hd_keyring **out, char *err,
    size_t errlen)
{
	struct hd_keyring *k = calloc(1, sizeof(*k));
	const char *p = text, *end = text + len;
	unsigned line = 0;

	if (k == NULL)
		return HD_ERR_NOMEM;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *s = p, *e;

		eol = eol ? eol : end;
		e = eol;
		p = eol < end ? eol + 1 : end;
		line++;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (s == e || *s == '#')
			continue;
		if (k->n == HD_KEYRING_MAX_KEYS) {
			snprintf(err, errlen, "line %u: more than %d keys", line,
			    HD_KEYRING_MAX_KEYS);
			goto fail;
		}
		if (hd_key_parse(s, (size_t)(e - s), &k->keys[k->n]) != 0) {
			snprintf(err, errlen, "line %u: expected \"ID HEX\": an id of 1 to %d "
			    "letters, digits, '.', '_' or '-', then 64 hex digits", line,
			    HD_KEY_ID_MAX);
			goto fail;
		}
		for (size_t i = 0; i < k->n; i++) {
			if (strcmp(k->keys[i].id, k->keys[k->n].id) == 0) {
				snprintf(err, errlen, "line %u: key id %s appears twice", line,
				    k->keys[i].id);
				goto fail;
			}
		}
		k->n++;
	}
	if (k->n == 0) {
		snprintf(err, errlen, "no key");
		goto fail;
	}
	*out = k;
	return HD_OK;
fail:
	hd_keyring_free(k);
	return HD_ERR_CONFIG;
}

enum hd_err
hd_keyring_load(const char *path, struct hd_keyring **out, char *err, size_t errlen)
{
	char *text = NULL, reason[256];
	struct stat st;
	enum hd_err rc = HD_ERR_CONFIG;
	ssize_t got;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return HD_ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_mode & S_IRWXO) {
		snprintf(err, errlen, "%s: others may read it; allow its owner and group only "
		    "(chmod 640)", path);
		goto out;
	}
	if ((text = malloc(HD_KEYRING_FILE_MAX)) == NULL) {
		rc = HD_ERR_NOMEM;
		goto out;
	}
	while ((got = read(fd, text + len, HD_KEYRING_FILE_MAX - len)) > 0)
		len += (size_t)got;
	if (got < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len == HD_KEYRING_FILE_MAX) {
		snprintf(err, errlen, "%s: longer than %d bytes", path, HD_KEYRING_FILE_MAX);
		goto out;
	}
	if ((rc = hd_keyring_parse(text, len, out, reason, sizeof(reason))) == HD_ERR_CONFIG)
		snprintf(err, errlen, "%s: %s", path, reason);
out:
	if (text) {
		explicit_bzero(text, HD_KEYRING_FILE_MAX);
		free(text);
	}
	close(fd);
	return rc;
}

const char *
hd_keyring_current(const struct hd_keyring *k)
{
	return k->keys[0].id;
}

static const struct hd_key *
hd_keyring_find(const struct hd_keyring *k, const char *id)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i].id, id) == 0)
			return &k->keys[i];
	return NULL;
}

int
hd_keyring_has(const struct hd_keyring *k, const char *id)
{
	return hd_keyring_find(k, id) != NULL;
}

/* AES-256-GCM over in[0..n) into out (n bytes); the tag is written (sealing) or
 * checked (opening). */
static enum hd_err
hd_gcm(int seal, const struct hd_key *key, const unsigned char *nonce, const char *aad,
    const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	enum hd_err rc = HD_ERR_CRYPTO;
	int len;

	if (c == NULL)
		return HD_ERR_NOMEM;
	if (n > (size_t)INT_MAX - 16 ||
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, HD_SEAL_NONCE, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key->bytes, nonce, seal) != 1 ||
	    EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_CipherUpdate(c, out, &len, in, (int)n) != 1)
		goto out;
	if (!seal && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, HD_SEAL_TAG, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + len, &len) != 1)
		goto out;
	if (seal && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, HD_SEAL_TAG, tag) != 1)
		goto out;
	rc = HD_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

enum hd_err
hd_seal(const struct hd_keyring *k, const char *aad, const void *pt, size_t n,
    struct hd_buf *out)
{
	unsigned char *sealed;
	enum hd_err rc;

	if (n > SIZE_MAX - HD_SEAL_OVERHEAD || (sealed = malloc(n + HD_SEAL_OVERHEAD)) == NULL)
		return HD_ERR_NOMEM;
	sealed[0] = HD_SEAL_FORMAT;
	if (RAND_bytes(sealed + 1, HD_SEAL_NONCE) != 1) {
		rc = HD_ERR_CRYPTO;
		goto out;
	}
	if ((rc = hd_gcm(1, &k->keys[0], sealed + 1, aad, pt, n, sealed + 1 + HD_SEAL_NONCE,
	    sealed + 1 + HD_SEAL_NONCE + n)) != HD_OK)
		goto out;
	rc = hd_buf_append(out, sealed, n + HD_SEAL_OVERHEAD);
out:
	free(sealed);
	return rc;
}

enum hd_err
hd_unseal(const struct hd_keyring *k, const char *id, const char *aad, const void *sealed,
    size_t n, struct hd_buf *out)
{
	const unsigned char *s = sealed;
	const struct hd_key *key = hd_keyring_find(k, id);
	unsigned char *pt, tag[HD_SEAL_TAG];
	size_t ptlen;
	enum hd_err rc;

	if (key == NULL || n < HD_SEAL_OVERHEAD || s[0] != HD_SEAL_FORMAT)
		return HD_ERR_CRYPTO;
	ptlen = n - HD_SEAL_OVERHEAD;
	if ((pt = malloc(ptlen + 1)) == NULL)
		return HD_ERR_NOMEM;
	memcpy(tag, s + 1 + HD_SEAL_NONCE + ptlen, HD_SEAL_TAG);
	if ((rc = hd_gcm(0, key, s + 1, aad, s + 1 + HD_SEAL_NONCE, ptlen, pt, tag)) == HD_OK)
		rc = hd_buf_append(out, pt, ptlen);
	explicit_bzero(pt, ptlen + 1);
	free(pt);
	return rc;
}
