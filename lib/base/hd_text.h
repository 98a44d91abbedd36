/*
 * Small, bounded parsers and encoders for outside input: digits-only numbers with
 * overflow checks (never libc string-to-number calls on client text), UTF-8
 * validation, hex and base64url. None of them allocate; all take explicit lengths.
 */
#ifndef HD_TEXT_H
#define HD_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses an optional '-' then 1..19 decimal digits, the whole of s[0..len). Returns 0
 * and sets *out, or -1 on any other character, empty input or int64 overflow. */
int hd_parse_i64(const char *s, size_t len, int64_t *out);
/* Same for unsigned values (no sign allowed). */
int hd_parse_u64(const char *s, size_t len, uint64_t *out);

/* True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF) and contains no NUL. */
bool hd_utf8_valid(const char *s, size_t len);

/* Cuts a NUL-terminated string before a UTF-8 sequence that truncation left
 * incomplete at its end, so text cut at a byte count stays valid UTF-8. */
void hd_utf8_trim(char *s);

/* The value of hex digit c (either case), or -1. */
int hd_hex_value(char c);

/* Writes 2*n lowercase hex digits and a NUL to out (size >= 2*n+1). */
void hd_hex_encode(const unsigned char *in, size_t n, char *out);

/* The length of the unpadded base64url text for n bytes, without the NUL. */
#define HD_BASE64URL_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* Writes the unpadded base64url (RFC 4648 §5) text of in[0..n) and a NUL to out
 * (capacity outcap, at least HD_BASE64URL_LEN(n) + 1). Returns the text's length
 * without the NUL, or -1 (out untouched) when it would not fit. */
long hd_base64url_encode(const unsigned char *in, size_t n, char *out, size_t outcap);

/* Decodes unpadded base64url (RFC 4648 §5) into out (capacity outcap). Returns the
 * decoded length, or -1 on a bad character, bad length or too small a buffer. */
long hd_base64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap);

/* ASCII case-insensitive comparison of s[0..len) with the NUL-terminated lit. */
bool hd_ascii_ieq(const char *s, size_t len, const char *lit);

#endif
