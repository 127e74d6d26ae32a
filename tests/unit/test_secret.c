/*
 * Unit tests for secret.c: keyed tokens (branches, To tags, nonces) are
 * recomputable for the same key and parts, and change with anything else,
 * including where one part ends and the next begins.
 */
#include <check.h>
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
	tcase_add_test(tc, init_random_key);
	tcase_add_test(tc, seal_round_trip_and_tamper);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(secret_suite)
