/*
 * base32: encoding for tokens that travel inside SIP parameters.
 */
#include "base32.h"

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t base32_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;
	unsigned buffer = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		buffer = (buffer << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(buffer >> (bits - 5)) & 0x1f];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(buffer << (5 - bits)) & 0x1f];
	out[o] = '\0';
	return o;
}

static int value_of(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

long base32_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap)
{
	unsigned buffer = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < text_len; i++) {
		int v = value_of(text[i]);
		if (v < 0)
			return -1;
		buffer = (buffer << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			if (o >= out_cap)
				return -1;
			out[o++] = (uint8_t)(buffer >> (bits - 8));
			bits -= 8;
		}
	}
	/* leftover bits must be padding zeros from the encoder */
	if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}
