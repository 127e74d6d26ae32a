/*
 * base32: RFC 4648 base-32 in lowercase without padding, the alphabet of
 * sipnatd's branch and Contact tokens (token characters of RFC 3261 25.1,
 * case-insensitive safe).
 */
#ifndef SIPNATD_BASE32_H
#define SIPNATD_BASE32_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes (without NUL). */
#define BASE32_LEN(n) (((n) * 8 + 4) / 5)

/* Encode len bytes; out must hold BASE32_LEN(len) + 1. Returns chars written. */
size_t base32_encode(const uint8_t *in, size_t len, char *out);

/* Decode text (case-insensitive) into out (capacity out_cap). Returns the
 * number of bytes, or -1 on a bad character, bad length or overflow. */
long base32_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap);

#endif
