/*
 * Unit tests for nonce.c (R32): nonces verify only for the address and realm
 * they were made for, expire after NONCE_LIFETIME_S, and cannot be forged or
 * bent; the count table refuses replays, and only advances on accept. The
 * clock is injected: every call takes its `now`.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base32.h"
#include "nonce.h"
#include "secret.h"
#include "../support/unit_main.h"

#define ALPHABET "abcdefghijklmnopqrstuvwxyz234567"
#define REALM "sipnatd"
#define T0 ((time_t)1732573200)

static const uint8_t key_a[SECRET_KEY_LEN] = "sipnatd unit test key number 1.";
static const uint8_t key_b[SECRET_KEY_LEN] = "sipnatd unit test key number 2.";

/* An address literal of either family (from a ring, so that a call may
 * hold two). */
static const struct netaddr *addr(const char *text)
{
	static struct netaddr ring[4];
	static unsigned next;
	struct netaddr *a = &ring[next++ % 4];

	ck_assert(netaddr_parse_ip(text, a));
	return a;
}

static void setup(void)
{
	secret_set_key(key_a);
}

static void teardown(void)
{
	secret_free();
}

static void make(const char *client, time_t now, char out[NONCE_LEN + 1])
{
	memset(out, '#', NONCE_LEN + 1);
	nonce_make(addr(client), REALM, now, out);
}

/* ---- nonces ---- */

START_TEST(fresh_nonce_valid)
{
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0, n);
	ck_assert_uint_eq(strlen(n), NONCE_LEN);
	ck_assert_uint_eq(strspn(n, ALPHABET), NONCE_LEN);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0), NONCE_VALID);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0 + NONCE_LIFETIME_S),
			 NONCE_VALID);
}
END_TEST

START_TEST(differs_per_time_and_address)
{
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1], c[NONCE_LEN + 1], d[NONCE_LEN + 1];

	make("127.0.30.5", T0, a);
	make("127.0.30.5", T0, b);
	make("127.0.30.5", T0 + 1, c);
	make("127.0.30.6", T0, d);
	/* one nonce per challenge, even within a second: a phone restarts nc at 1
	 * for each new nonce */
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(nonce_check(a, addr("127.0.30.5"), REALM, T0), NONCE_VALID);
	ck_assert_int_eq(nonce_check(b, addr("127.0.30.5"), REALM, T0), NONCE_VALID);
	ck_assert_str_ne(a, c);
	ck_assert_str_ne(a, d);
}
END_TEST

START_TEST(other_address_or_realm_invalid)
{
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0, n);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.6"), REALM, T0), NONCE_INVALID);
	ck_assert_int_eq(nonce_check(n, addr("5.30.0.127"), REALM, T0), NONCE_INVALID);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), "asterisk", T0), NONCE_INVALID);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), "sipnat", T0), NONCE_INVALID);
	/* and expired elsewhere is still INVALID, never STALE */
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.6"), REALM, T0 + 3600), NONCE_INVALID);
}
END_TEST

START_TEST(other_key_invalid)
{
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0, n);
	secret_set_key(key_b);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0), NONCE_INVALID);
	secret_set_key(key_a);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0), NONCE_VALID);
}
END_TEST

START_TEST(expired_is_stale)
{
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0, n);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0 + NONCE_LIFETIME_S + 1),
			 NONCE_STALE);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0 + 86400), NONCE_STALE);
}
END_TEST

START_TEST(future_invalid)
{
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0 + 10, n);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0), NONCE_INVALID);
	/* a clock stepping back a second is tolerated */
	make("127.0.30.5", T0 + 1, n);
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0), NONCE_VALID);
}
END_TEST

/* _i = the position changed. */
START_TEST(tampered_invalid)
{
	char n[NONCE_LEN + 1];
	const char *pos;

	make("127.0.30.5", T0, n);
	pos = strchr(ALPHABET, n[_i]);
	ck_assert_ptr_nonnull(pos);
	n[_i] = ALPHABET[(pos - ALPHABET + 1) % 32];
	ck_assert_int_eq(nonce_check(n, addr("127.0.30.5"), REALM, T0), NONCE_INVALID);
}
END_TEST

/* An IPv6 client's nonce is bound to its whole address: not valid for a
 * neighbour in the same /64, nor for the IPv4 address whose bytes begin it,
 * and an IPv4 client's nonce is not valid for its v4-mapped twin's
 * neighbours but is for the twin itself (one party, one value). */
START_TEST(ipv6_clients)
{
	static const struct {
		const char *client, *other;
		enum nonce_state want;
	} cases[] = {
		{ "2001:db8:1::5", "2001:db8:1::5", NONCE_VALID },
		{ "2001:db8:1::5", "2001:db8:1::6", NONCE_INVALID },
		{ "2001:db8:1::5", "32.1.13.184", NONCE_INVALID },
		{ "198.51.100.9", "::ffff:198.51.100.9", NONCE_VALID },
		{ "198.51.100.9", "::ffff:198.51.100.10", NONCE_INVALID },
		{ "::ffff:198.51.100.9", "198.51.100.9", NONCE_VALID },
	};
	char n[NONCE_LEN + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make(cases[i].client, T0, n);
		ck_assert_msg(nonce_check(n, addr(cases[i].other), REALM, T0) == cases[i].want,
			      "nonce of %s checked from %s", cases[i].client, cases[i].other);
	}
}
END_TEST

START_TEST(malformed_invalid)
{
	char n[NONCE_LEN + 1], buf[NONCE_LEN + 8];
	const struct netaddr *a = addr("127.0.30.5");

	make("127.0.30.5", T0, n);
	ck_assert_int_eq(nonce_check(NULL, a, REALM, T0), NONCE_INVALID);
	ck_assert_int_eq(nonce_check("", a, REALM, T0), NONCE_INVALID);
	/* truncated */
	memcpy(buf, n, NONCE_LEN - 1);
	buf[NONCE_LEN - 1] = '\0';
	ck_assert_int_eq(nonce_check(buf, a, REALM, T0), NONCE_INVALID);
	/* too long */
	snprintf(buf, sizeof(buf), "%sa", n);
	ck_assert_int_eq(nonce_check(buf, a, REALM, T0), NONCE_INVALID);
	snprintf(buf, sizeof(buf), "%s\"", n);
	ck_assert_int_eq(nonce_check(buf, a, REALM, T0), NONCE_INVALID);
	/* not base-32 */
	static const char bad[] = "0189=+/ \"!\x7f";
	for (const char *c = bad; *c; c++) {
		memcpy(buf, n, NONCE_LEN + 1);
		buf[7] = *c;
		ck_assert_msg(nonce_check(buf, a, REALM, T0) == NONCE_INVALID, "'%c' taken", *c);
	}
	/* uppercase decodes to the same bytes, but is not what we issued */
	memcpy(buf, n, NONCE_LEN + 1);
	for (char *c = buf; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	ck_assert_str_ne(buf, n);
	ck_assert_int_eq(nonce_check(buf, a, REALM, T0), NONCE_INVALID);
}
END_TEST

/* Bytes of our layout with a made-up MAC, including timestamps at the edges. */
START_TEST(forged_invalid)
{
	static const uint64_t times[] = { 0, 1732573200, INT64_MAX, UINT64_MAX };
	uint8_t raw[28];
	char text[NONCE_LEN + 1];

	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		for (int i = 0; i < 8; i++)
			raw[i] = (uint8_t)(times[t] >> (8 * (7 - i)));
		memset(raw + 8, 0xa5, sizeof(raw) - 8);
		ck_assert_uint_eq(base32_encode(raw, sizeof(raw), text), NONCE_LEN);
		ck_assert_int_eq(nonce_check(text, addr("127.0.30.5"), REALM, T0), NONCE_INVALID);
	}
}
END_TEST

/* ---- counts ---- */

START_TEST(counts_fresh_accept_replay)
{
	struct nonce_counts *t = nonce_counts_new(16);
	char n[NONCE_LEN + 1];

	ck_assert_ptr_nonnull(t);
	make("127.0.30.5", T0, n);
	ck_assert(nonce_counts_fresh(t, n, "00000001"));
	ck_assert(nonce_counts_fresh(t, n, "00000001")); /* fresh records nothing */
	nonce_counts_accept(t, n, "00000001", T0);
	ck_assert(!nonce_counts_fresh(t, n, "00000001")); /* replay */
	ck_assert(nonce_counts_fresh(t, n, "00000002"));
	nonce_counts_accept(t, n, "00000002", T0 + 1);
	ck_assert(!nonce_counts_fresh(t, n, "00000002"));
	ck_assert(!nonce_counts_fresh(t, n, "00000001"));
	ck_assert(nonce_counts_fresh(t, n, "0000000a"));
	ck_assert(nonce_counts_fresh(t, n, "0000000A"));
	/* a count going backwards does not lower the record */
	nonce_counts_accept(t, n, "00000010", T0 + 2);
	nonce_counts_accept(t, n, "00000003", T0 + 2);
	ck_assert(!nonce_counts_fresh(t, n, "0000000f"));
	ck_assert(!nonce_counts_fresh(t, n, "00000010"));
	ck_assert(nonce_counts_fresh(t, n, "00000011"));
	/* without qop a nonce already used with qop is spent */
	ck_assert(!nonce_counts_fresh(t, n, NULL));
	nonce_counts_free(t);
}
END_TEST

START_TEST(counts_bad_nc_never_fresh)
{
	static const char *const bad[] = { "00000000", "1", "0000001", "000000001", "0000000g",
					   "0x000001", " 0000001", "", "-0000001" };
	struct nonce_counts *t = nonce_counts_new(4);
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0, n);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!nonce_counts_fresh(t, n, bad[i]), "nc \"%s\" fresh", bad[i]);
	/* and a nonce that cannot be ours is never fresh */
	ck_assert(!nonce_counts_fresh(t, "short", "00000001"));
	ck_assert(!nonce_counts_fresh(t, NULL, "00000001"));
	ck_assert(!nonce_counts_fresh(NULL, n, "00000001"));
	nonce_counts_accept(t, "short", "00000001", T0); /* ignored */
	nonce_counts_accept(t, n, "zz", T0);             /* ignored */
	ck_assert(nonce_counts_fresh(t, n, "00000001"));
	nonce_counts_free(t);
	nonce_counts_free(NULL);
}
END_TEST

START_TEST(counts_no_qop_once)
{
	struct nonce_counts *t = nonce_counts_new(16);
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0, n);
	ck_assert(nonce_counts_fresh(t, n, NULL));
	ck_assert(nonce_counts_fresh(t, n, NULL));
	nonce_counts_accept(t, n, NULL, T0);
	ck_assert(!nonce_counts_fresh(t, n, NULL));
	/* nor can it be used again with qop */
	ck_assert(!nonce_counts_fresh(t, n, "00000002"));
	ck_assert(!nonce_counts_fresh(t, n, "ffffffff"));
	nonce_counts_free(t);
}
END_TEST

/* R32: an invalid digest with nc=ffffffff must not poison the nonce, since
 * the caller only calls accept after the digest verified. */
START_TEST(counts_advance_only_on_accept)
{
	struct nonce_counts *t = nonce_counts_new(16);
	char n[NONCE_LEN + 1];

	make("127.0.30.5", T0, n);
	ck_assert(nonce_counts_fresh(t, n, "ffffffff")); /* digest then fails: no accept */
	ck_assert(nonce_counts_fresh(t, n, "00000002"));
	nonce_counts_accept(t, n, "00000002", T0);
	ck_assert(!nonce_counts_fresh(t, n, "00000002"));
	ck_assert(nonce_counts_fresh(t, n, "ffffffff"));
	nonce_counts_accept(t, n, "ffffffff", T0);
	ck_assert(!nonce_counts_fresh(t, n, "ffffffff"));
	nonce_counts_free(t);
}
END_TEST

START_TEST(counts_capacity_oldest_first)
{
	struct nonce_counts *t = nonce_counts_new(4);
	char n[6][NONCE_LEN + 1];

	for (int i = 0; i < 6; i++)
		make("127.0.30.5", T0 + i, n[i]);
	for (int i = 0; i < 4; i++)
		nonce_counts_accept(t, n[i], "00000001", T0 + i);
	for (int i = 0; i < 4; i++)
		ck_assert(!nonce_counts_fresh(t, n[i], "00000001"));
	/* raising a known one does not evict anything */
	nonce_counts_accept(t, n[0], "00000005", T0 + 4);
	for (int i = 1; i < 4; i++)
		ck_assert(!nonce_counts_fresh(t, n[i], "00000001"));
	/* a fifth forgets the first accepted, even though it was raised later */
	nonce_counts_accept(t, n[4], "00000001", T0 + 4);
	ck_assert(nonce_counts_fresh(t, n[0], "00000001"));
	for (int i = 1; i < 5; i++)
		ck_assert(!nonce_counts_fresh(t, n[i], "00000001"));
	nonce_counts_accept(t, n[5], NULL, T0 + 5);
	ck_assert(nonce_counts_fresh(t, n[1], "00000001"));
	ck_assert(!nonce_counts_fresh(t, n[5], NULL));
	nonce_counts_free(t);

	ck_assert_ptr_null(nonce_counts_new(0));
}
END_TEST

/* Records far older than any nonce's lifetime are dropped to make room,
 * before the table is full. */
START_TEST(counts_old_records_reused)
{
	struct nonce_counts *t = nonce_counts_new(8);
	char n[5][NONCE_LEN + 1];

	for (int i = 0; i < 5; i++)
		make("127.0.30.5", T0 + i, n[i]);
	for (int i = 0; i < 4; i++)
		nonce_counts_accept(t, n[i], "00000001", T0);
	nonce_counts_accept(t, n[4], "00000001", T0 + NONCE_LIFETIME_S * 2);
	for (int i = 0; i < 4; i++)
		ck_assert(!nonce_counts_fresh(t, n[i], "00000001")); /* not old enough yet */
	nonce_counts_accept(t, n[4], "00000002", T0 + NONCE_LIFETIME_S * 2 + 1);
	for (int i = 0; i < 4; i++)
		ck_assert(nonce_counts_fresh(t, n[i], "00000001"));
	ck_assert(!nonce_counts_fresh(t, n[4], "00000002"));
	nonce_counts_free(t);
}
END_TEST

/* The table against a plain model (an array in insertion order) over a long
 * pseudo-random run, so that hash collisions and deletions inside probe runs
 * all happen. */
#define MODEL_CAP 8
#define POOL 40

struct model_entry {
	int nonce;
	uint32_t count;
};

START_TEST(counts_match_model)
{
	struct nonce_counts *t = nonce_counts_new(MODEL_CAP);
	struct model_entry model[MODEL_CAP];
	char pool[POOL][NONCE_LEN + 1], nc[9];
	int used = 0;
	uint32_t rng = 12345;

	for (int i = 0; i < POOL; i++)
		make(i % 2 ? "127.0.30.5" : "127.0.30.6", T0 + i / 2, pool[i]);
	for (int step = 0; step < 20000; step++) {
		rng = rng * 1103515245u + 12345u;
		int which = (int)((rng >> 8) % POOL);
		uint32_t count = 1 + (rng >> 20) % 6;
		int at = -1;

		snprintf(nc, sizeof(nc), "%08x", count);
		for (int i = 0; i < used; i++)
			if (model[i].nonce == which)
				at = i;
		bool want = at < 0 || count > model[at].count;
		ck_assert_msg(nonce_counts_fresh(t, pool[which], nc) == want, "step %d", step);
		if (!want || (rng >> 16) % 3 == 0)
			continue; /* stale count, or the digest "failed" */
		nonce_counts_accept(t, pool[which], nc, T0);
		if (at >= 0) {
			model[at].count = count;
			continue;
		}
		if (used == MODEL_CAP) {
			memmove(model, model + 1, sizeof(model[0]) * (MODEL_CAP - 1));
			used--;
		}
		model[used].nonce = which;
		model[used].count = count;
		used++;
	}
	nonce_counts_free(t);
}
END_TEST

/* A full large table: every record findable, then all replaced. */
START_TEST(counts_large)
{
	enum { CAP = 1000 };
	struct nonce_counts *t = nonce_counts_new(CAP);
	static char n[2 * CAP][NONCE_LEN + 1];
	char ip[32];

	for (int i = 0; i < 2 * CAP; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		make(ip, T0, n[i]);
	}
	for (int i = 0; i < CAP; i++)
		nonce_counts_accept(t, n[i], "00000001", T0);
	for (int i = 0; i < CAP; i++)
		ck_assert(!nonce_counts_fresh(t, n[i], "00000001"));
	for (int i = CAP; i < 2 * CAP; i++)
		nonce_counts_accept(t, n[i], NULL, T0 + 1);
	for (int i = 0; i < CAP; i++)
		ck_assert(nonce_counts_fresh(t, n[i], "00000001"));
	for (int i = CAP; i < 2 * CAP; i++)
		ck_assert(!nonce_counts_fresh(t, n[i], NULL));
	nonce_counts_free(t);
}
END_TEST

static Suite *nonce_suite(void)
{
	Suite *s = suite_create("nonce");
	TCase *tc = tcase_create("nonce");
	TCase *counts = tcase_create("counts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fresh_nonce_valid);
	tcase_add_test(tc, differs_per_time_and_address);
	tcase_add_test(tc, other_address_or_realm_invalid);
	tcase_add_test(tc, other_key_invalid);
	tcase_add_test(tc, expired_is_stale);
	tcase_add_test(tc, future_invalid);
	tcase_add_loop_test(tc, tampered_invalid, 0, NONCE_LEN);
	tcase_add_test(tc, malformed_invalid);
	tcase_add_test(tc, ipv6_clients);
	tcase_add_test(tc, forged_invalid);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(counts, setup, teardown);
	tcase_add_test(counts, counts_fresh_accept_replay);
	tcase_add_test(counts, counts_bad_nc_never_fresh);
	tcase_add_test(counts, counts_no_qop_once);
	tcase_add_test(counts, counts_advance_only_on_accept);
	tcase_add_test(counts, counts_capacity_oldest_first);
	tcase_add_test(counts, counts_old_records_reused);
	tcase_add_test(counts, counts_match_model);
	tcase_add_test(counts, counts_large);
	suite_add_tcase(s, counts);
	return s;
}

UNIT_MAIN(nonce_suite)
