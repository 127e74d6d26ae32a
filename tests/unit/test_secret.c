/*
 * Unit tests for secret.c: keyed tokens (branches, To tags, nonces) are
 * recomputable for the same key and parts, and change with anything else,
 * including where one part ends and the next begins.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "../support/unit_main.h"

#define ALPHABET "abcdefghijklmnopqrstuvwxyz234567"

static const uint8_t key_a[SECRET_KEY_LEN] = "sipnatd unit test key number 1.";
static const uint8_t key_b[SECRET_KEY_LEN] = "sipnatd unit test key number 2.";

static void setup(void)
{
	secret_set_key(key_a);
}

static void teardown(void)
{
	secret_free();
}

static void token(const char *const parts[], size_t count, char out[52], size_t chars)
{
	memset(out, '#', 52);
	secret_token(parts, count, out, chars);
}

START_TEST(same_key_same_parts)
{
	const char *parts[] = { "branch", "z9hG4bK-524287-1---7f2a9c1d4e5b6a70", "10.0.0.23" };
	char t1[52], t2[52];

	token(parts, 3, t1, 24);
	token(parts, 3, t2, 24);
	ck_assert_str_eq(t1, t2);
	/* and after setting the same key again */
	secret_set_key(key_a);
	token(parts, 3, t2, 24);
	ck_assert_str_eq(t1, t2);
}
END_TEST

START_TEST(differs_with_key)
{
	const char *parts[] = { "to-tag", "3cEy9KxK2o", "hY3x~QnLm", "20" };
	char t1[52], t2[52];

	token(parts, 4, t1, 16);
	secret_set_key(key_b);
	token(parts, 4, t2, 16);
	ck_assert_str_ne(t1, t2);
	secret_set_key(key_a);
	token(parts, 4, t2, 16);
	ck_assert_str_eq(t1, t2);
}
END_TEST

START_TEST(differs_with_parts)
{
	const char *p1[] = { "to-tag", "3cEy9KxK2o", "hY3x~QnLm", "20" };
	const char *p2[] = { "to-tag", "3cEy9KxK2p", "hY3x~QnLm", "20" };
	const char *p3[] = { "to-tag", "3cEy9KxK2o", "hY3x~QnLm", "21" };
	const char *p4[] = { "to-tag", "3cEy9KxK2o", "hY3x~QnLm" };
	char t1[52], t2[52], t3[52], t4[52];

	token(p1, 4, t1, 16);
	token(p2, 4, t2, 16);
	token(p3, 4, t3, 16);
	token(p4, 3, t4, 16);
	ck_assert_str_ne(t1, t2);
	ck_assert_str_ne(t1, t3);
	ck_assert_str_ne(t1, t4);
	ck_assert_str_ne(t2, t3);
}
END_TEST

/* ("ab","c") and ("a","bc") must not collide, nor ("ab") and ("ab","") */
START_TEST(differs_with_part_boundaries)
{
	const char *p1[] = { "ab", "c" };
	const char *p2[] = { "a", "bc" };
	const char *p3[] = { "abc" };
	const char *p4[] = { "ab" };
	const char *p5[] = { "ab", "" };
	char t1[52], t2[52], t3[52], t4[52], t5[52];

	token(p1, 2, t1, 26);
	token(p2, 2, t2, 26);
	token(p3, 1, t3, 26);
	token(p4, 1, t4, 26);
	token(p5, 2, t5, 26);
	ck_assert_str_ne(t1, t2);
	ck_assert_str_ne(t1, t3);
	ck_assert_str_ne(t2, t3);
	ck_assert_str_ne(t4, t5);
}
END_TEST

/* A NULL part counts as "". */
START_TEST(null_part_is_empty)
{
	const char *p1[] = { "to-tag", NULL, "x" };
	const char *p2[] = { "to-tag", "", "x" };
	char t1[52], t2[52];

	token(p1, 3, t1, 16);
	token(p2, 3, t2, 16);
	ck_assert_str_eq(t1, t2);
}
END_TEST

/* _i = number of characters asked for. */
START_TEST(length_and_alphabet)
{
	const char *parts[] = { "nonce", "1732573200", "127.0.30.5" };
	char t[52];

	token(parts, 3, t, (size_t)_i);
	ck_assert_uint_eq(strlen(t), (size_t)_i);
	ck_assert_uint_eq(strspn(t, ALPHABET), (size_t)_i);
}
END_TEST

/* A shorter token is a prefix of a longer one (same bit stream), and more than
 * 51 characters are never written. */
START_TEST(prefix_and_cap)
{
	const char *parts[] = { "branch", "z9hG4bKa1" };
	char short_t[52], long_t[52], capped[60];

	token(parts, 2, short_t, 10);
	token(parts, 2, long_t, 51);
	ck_assert_int_eq(strncmp(short_t, long_t, 10), 0);
	memset(capped, '#', sizeof(capped));
	secret_token(parts, 2, capped, 200);
	ck_assert_uint_eq(strlen(capped), 51);
	ck_assert_str_eq(capped, long_t);
	ck_assert_int_eq(capped[52], '#');
}
END_TEST

/* Over many inputs every character of the alphabet shows up: the encoding
 * uses all 5 bits. */
START_TEST(alphabet_fully_used)
{
	char seen[sizeof(ALPHABET)] = { 0 };
	char t[52], n[16];
	const char *parts[] = { "spread", n };

	for (int i = 0; i < 64; i++) {
		snprintf(n, sizeof(n), "%d", i);
		token(parts, 2, t, 51);
		for (const char *c = t; *c; c++)
			seen[strchr(ALPHABET, *c) - ALPHABET] = 1;
	}
	for (size_t i = 0; i < sizeof(ALPHABET) - 1; i++)
		ck_assert_msg(seen[i], "'%c' never produced", ALPHABET[i]);
}
END_TEST

START_TEST(hmac_raw)
{
	uint8_t m1[32], m2[32], m3[32];

	secret_hmac("abc", 3, m1);
	secret_hmac("abc", 3, m2);
	secret_hmac("abd", 3, m3);
	ck_assert_mem_eq(m1, m2, 32);
	ck_assert_int_ne(memcmp(m1, m3, 32), 0);
	secret_set_key(key_b);
	secret_hmac("abc", 3, m2);
	ck_assert_int_ne(memcmp(m1, m2, 32), 0);
}
END_TEST

/* HMAC-SHA256 as RFC 4231 defines it (test case 2 uses a short key; here
 * the 32-byte key is "Jefe" zero-padded, which HMAC treats identically). */
START_TEST(hmac_known_answer)
{
	static const uint8_t want[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
		0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
		0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	uint8_t key[SECRET_KEY_LEN] = "Jefe";
	uint8_t mac[32];
	const char *data = "what do ya want for nothing?";

	secret_set_key(key);
	secret_hmac(data, strlen(data), mac);
	ck_assert_mem_eq(mac, want, 32);
}
END_TEST

/* RFC 4231 test cases 1, 3 and 4 (keys of 20, 20 and 25 bytes, zero-padded
 * to SECRET_KEY_LEN, which HMAC treats identically; data of 8 and 50 bytes). */
START_TEST(hmac_rfc4231_vectors)
{
	static const uint8_t want1[32] = {
		0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf,
		0xce, 0xaf, 0x0b, 0xf1, 0x2b, 0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83,
		0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7,
	};
	static const uint8_t want3[32] = {
		0x77, 0x3e, 0xa9, 0x1e, 0x36, 0x80, 0x0e, 0x46, 0x85, 0x4d, 0xb8,
		0xeb, 0xd0, 0x91, 0x81, 0xa7, 0x29, 0x59, 0x09, 0x8b, 0x3e, 0xf8,
		0xc1, 0x22, 0xd9, 0x63, 0x55, 0x14, 0xce, 0xd5, 0x65, 0xfe,
	};
	static const uint8_t want4[32] = {
		0x82, 0x55, 0x8a, 0x38, 0x9a, 0x44, 0x3c, 0x0e, 0xa4, 0xcc, 0x81,
		0x98, 0x99, 0xf2, 0x08, 0x3a, 0x85, 0xf0, 0xfa, 0xa3, 0xe5, 0x78,
		0xf8, 0x07, 0x7a, 0x2e, 0x3f, 0xf4, 0x67, 0x29, 0x66, 0x5b,
	};
	uint8_t key[SECRET_KEY_LEN] = { 0 }, data[50], mac[32];

	memset(key, 0x0b, 20);
	secret_set_key(key);
	secret_hmac("Hi There", 8, mac);
	ck_assert_mem_eq(mac, want1, 32);

	memset(key, 0, sizeof(key));
	memset(key, 0xaa, 20);
	memset(data, 0xdd, sizeof(data));
	secret_set_key(key);
	secret_hmac(data, sizeof(data), mac);
	ck_assert_mem_eq(mac, want3, 32);

	memset(key, 0, sizeof(key));
	for (int i = 0; i < 25; i++)
		key[i] = (uint8_t)(i + 1);
	memset(data, 0xcd, sizeof(data));
	secret_set_key(key);
	secret_hmac(data, sizeof(data), mac);
	ck_assert_mem_eq(mac, want4, 32);
}
END_TEST

/* secret_hmac and secret_token agree with libcrypto's own HMAC-SHA256 for
 * every length across several SHA-256 block boundaries, under two keys. */
START_TEST(hmac_matches_libcrypto)
{
	static const uint8_t *const keys[] = { key_a, key_b };
	uint8_t data[300], mac[32], want[32];
	unsigned int want_len = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t k = 0; k < 2; k++) {
		secret_set_key(keys[k]);
		for (size_t len = 0; len <= sizeof(data); len++) {
			secret_hmac(data, len, mac);
			ck_assert_ptr_nonnull(HMAC(EVP_sha256(), keys[k], SECRET_KEY_LEN, data, len,
						   want, &want_len));
			ck_assert_uint_eq(want_len, 32);
			ck_assert_mem_eq(mac, want, 32);
		}
		/* a token is the MAC of each part followed by 0x1f, base-32 */
		const char *parts[] = { "INVITE", NULL, "a84b4c76e66710@pc33.atlanta.com" };
		const char joined[] = "INVITE\x1f\x1f" "a84b4c76e66710@pc33.atlanta.com\x1f";
		char tok[52], want_tok[52];
		secret_token(parts, 3, tok, 51);
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), keys[k], SECRET_KEY_LEN, (const uint8_t *)joined,
					   sizeof(joined) - 1, want, &want_len));
		for (size_t i = 0; i < 51; i++) {
			size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
			unsigned v = (unsigned)want[byte] << 8 | (byte + 1 < 32 ? want[byte + 1] : 0);
			want_tok[i] = ALPHABET[(v >> (11 - shift)) & 0x1f];
		}
		want_tok[51] = '\0';
		ck_assert_str_eq(tok, want_tok);
	}
}
END_TEST

/* The sealing key is HMAC(process key, "sipnatd seal key") used as the
 * AES-128-SIV key: sealed bytes are what libcrypto makes with that key. */
START_TEST(seal_key_derivation)
{
	static const char label[] = "sipnatd seal key";
	const char *plain = "SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKabc";
	size_t len = strlen(plain);
	uint8_t seal_key[32], got[128], want[128];
	unsigned int kl = 0;
	int outl = 0;

	secret_set_key(key_b);
	ck_assert_int_eq(secret_seal((const uint8_t *)plain, len, got), 0);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key_b, SECRET_KEY_LEN, (const uint8_t *)label, sizeof(label) - 1,
				   seal_key, &kl));
	EVP_CIPHER *siv = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	ck_assert_ptr_nonnull(siv);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_EncryptInit_ex2(ctx, siv, seal_key, NULL, NULL), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, want + SECRET_SEAL_OVERHEAD, &outl,
					   (const uint8_t *)plain, (int)len), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, want + SECRET_SEAL_OVERHEAD + outl, &outl), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SECRET_SEAL_OVERHEAD, want), 1);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(siv);
	ck_assert_mem_eq(got, want, len + SECRET_SEAL_OVERHEAD);
}
END_TEST

START_TEST(init_random_key)
{
	const char *parts[] = { "x" };
	char t1[52], t2[52];

	ck_assert_int_eq(secret_init(), 0);
	token(parts, 1, t1, 26);
	ck_assert_int_eq(secret_init(), 0);
	token(parts, 1, t2, 26);
	ck_assert_str_ne(t1, t2);
}
END_TEST

/* Sealing: deterministic, round-trips, and refuses anything altered or
 * sealed under another key. */
START_TEST(seal_round_trip_and_tamper)
{
	static const uint8_t k1[SECRET_KEY_LEN] = { 1 }, k2[SECRET_KEY_LEN] = { 2 };
	const char *plain = "SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKabc";
	size_t len = strlen(plain);
	uint8_t a[128], b[128], out[128];

	secret_set_key(k1);
	ck_assert_int_eq(secret_seal((const uint8_t *)plain, len, a), 0);
	ck_assert_int_eq(secret_seal((const uint8_t *)plain, len, b), 0);
	ck_assert_mem_eq(a, b, len + SECRET_SEAL_OVERHEAD);
	/* the plaintext does not show in the sealed bytes */
	ck_assert_ptr_null(memmem(a, len + SECRET_SEAL_OVERHEAD, "192.0.2.20", 10));
	ck_assert_int_eq(secret_open(a, len + SECRET_SEAL_OVERHEAD, out), (long)len);
	ck_assert_mem_eq(out, plain, len);
	for (size_t i = 0; i < len + SECRET_SEAL_OVERHEAD; i++) {
		memcpy(b, a, len + SECRET_SEAL_OVERHEAD);
		b[i] ^= 0x01;
		ck_assert_int_eq(secret_open(b, len + SECRET_SEAL_OVERHEAD, out), -1);
	}
	ck_assert_int_eq(secret_open(a, SECRET_SEAL_OVERHEAD - 1, out), -1);
	secret_set_key(k2);
	ck_assert_int_eq(secret_open(a, len + SECRET_SEAL_OVERHEAD, out), -1);
}
END_TEST

static Suite *secret_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("token");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, same_key_same_parts);
	tcase_add_test(tc, differs_with_key);
	tcase_add_test(tc, differs_with_parts);
	tcase_add_test(tc, differs_with_part_boundaries);
	tcase_add_test(tc, null_part_is_empty);
	tcase_add_loop_test(tc, length_and_alphabet, 0, 52);
	tcase_add_test(tc, prefix_and_cap);
	tcase_add_test(tc, alphabet_fully_used);
	tcase_add_test(tc, hmac_raw);
	tcase_add_test(tc, hmac_known_answer);
	tcase_add_test(tc, hmac_rfc4231_vectors);
	tcase_add_test(tc, hmac_matches_libcrypto);
	tcase_add_test(tc, seal_key_derivation);
	tcase_add_test(tc, init_random_key);
	tcase_add_test(tc, seal_round_trip_and_tamper);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(secret_suite)
