/*
 * Unit tests for base32.c: the RFC 4648 section 10 vectors in sipnatd's
 * lowercase, unpadded form, round trips, and what the decoder refuses (a
 * token arriving from the Internet is attacker-controlled text).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base32.h"
#include "../support/unit_main.h"

static const struct {
	const char *plain;
	const char *coded;
} vectors[] = {
	{ "", "" },
	{ "f", "my" },
	{ "fo", "mzxq" },
	{ "foo", "mzxw6" },
	{ "foob", "mzxw6yq" },
	{ "fooba", "mzxw6ytb" },
	{ "foobar", "mzxw6ytboi" },
};

START_TEST(encode_vectors)
{
	const char *plain = vectors[_i].plain;
	size_t len = strlen(plain);
	char out[32];

	memset(out, 'X', sizeof(out));
	ck_assert_uint_eq(base32_encode((const uint8_t *)plain, len, out), strlen(vectors[_i].coded));
	ck_assert_str_eq(out, vectors[_i].coded);
	ck_assert_uint_eq(BASE32_LEN(len), strlen(vectors[_i].coded));
	/* nothing written past BASE32_LEN(len) + 1 */
	ck_assert_int_eq(out[BASE32_LEN(len) + 1], 'X');
}
END_TEST

START_TEST(decode_vectors)
{
	const char *coded = vectors[_i].coded;
	uint8_t out[16];

	ck_assert_int_eq(base32_decode(coded, strlen(coded), out, sizeof(out)),
			 (long)strlen(vectors[_i].plain));
	ck_assert(memcmp(out, vectors[_i].plain, strlen(vectors[_i].plain)) == 0);
}
END_TEST

START_TEST(uppercase_accepted)
{
	uint8_t out[16];

	ck_assert_int_eq(base32_decode("MZXW6YTBOI", 10, out, sizeof(out)), 6);
	ck_assert(memcmp(out, "foobar", 6) == 0);
	ck_assert_int_eq(base32_decode("MzXw6YtBoI", 10, out, sizeof(out)), 6);
	ck_assert(memcmp(out, "foobar", 6) == 0);
}
END_TEST

/* Every byte value, every length up to 64: decode(encode(x)) == x. */
START_TEST(round_trip)
{
	uint8_t in[64], back[64];
	char text[BASE32_LEN(64) + 1];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(in); len++) {
		size_t n = base32_encode(in, len, text);
		ck_assert_uint_eq(n, BASE32_LEN(len));
		ck_assert_uint_eq(strlen(text), n);
		for (size_t k = 0; k < n; k++)
			ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyz234567", text[k]) != NULL,
				      "bad character %c", text[k]);
		ck_assert_int_eq(base32_decode(text, n, back, sizeof(back)), (long)len);
		ck_assert(memcmp(in, back, len) == 0);
	}
	for (int b = 0; b < 256; b++) {
		uint8_t one = (uint8_t)b, got = 0;
		ck_assert_uint_eq(base32_encode(&one, 1, text), 2);
		ck_assert_int_eq(base32_decode(text, 2, &got, 1), 1);
		ck_assert_uint_eq(got, one);
	}
}
END_TEST

static const char *const refused[] = {
	"mzx1",       /* 0, 1, 8, 9 are not in the alphabet */
	"mzx0",
	"mzxw8",
	"mzxw6=",     /* no padding character */
	"mzxq====",
	"mzx w6",
	"mzxw6-",
	"mzxw6\xc3\xa9",
	"m",          /* lengths no encoder produces */
	"mzx",
	"mzxw6y",
	"mz",         /* non-zero padding bits: "my" is the only spelling of "f" */
	"mzxr",       /* "fo" is mzxq */
	"mzxw7",      /* "foo" is mzxw6 */
	"mzxw6yr",    /* "foob" is mzxw6yq */
	"mzxw6ytboj", /* "foobar" is mzxw6ytboi */
};

START_TEST(decode_refuses)
{
	uint8_t out[16];
	const char *t = refused[_i];

	ck_assert_msg(base32_decode(t, strlen(t), out, sizeof(out)) == -1, "\"%s\" accepted", t);
}
END_TEST

/* The decoder stops at text_len, not at a NUL. */
START_TEST(decode_length_bounded)
{
	uint8_t out[16];

	ck_assert_int_eq(base32_decode("mzxw6ytboi!!!", 10, out, sizeof(out)), 6);
	ck_assert_int_eq(base32_decode("mzxw6", 0, out, sizeof(out)), 0);
	ck_assert_int_eq(base32_decode("mzxw6ytboi", 5, out, sizeof(out)), 3);
	ck_assert(memcmp(out, "foo", 3) == 0);
}
END_TEST

/* out_cap is respected: one byte short is refused, and nothing is written
 * past the capacity. */
START_TEST(decode_capacity)
{
	uint8_t out[8];

	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(base32_decode("mzxw6ytboi", 10, out, 5), -1);
	ck_assert_uint_eq(out[5], 0xee);
	ck_assert_uint_eq(out[6], 0xee);
	ck_assert_int_eq(base32_decode("mzxw6ytboi", 10, out, 6), 6);
	ck_assert(memcmp(out, "foobar", 6) == 0);
	ck_assert_uint_eq(out[6], 0xee);
	ck_assert_int_eq(base32_decode("my", 2, out, 0), -1);
	ck_assert_int_eq(base32_decode("", 0, out, 0), 0);
}
END_TEST

static Suite *base32_suite(void)
{
	Suite *s = suite_create("base32");
	TCase *tc = tcase_create("base32");

	tcase_add_loop_test(tc, encode_vectors, 0, sizeof(vectors) / sizeof(vectors[0]));
	tcase_add_loop_test(tc, decode_vectors, 0, sizeof(vectors) / sizeof(vectors[0]));
	tcase_add_test(tc, uppercase_accepted);
	tcase_add_test(tc, round_trip);
	tcase_add_loop_test(tc, decode_refuses, 0, sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, decode_length_bounded);
	tcase_add_test(tc, decode_capacity);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(base32_suite)
