/*
 * Unit tests for portpool.c (R20): even pairs only, random order, a freed
 * pair rests PORTPOOL_QUARANTINE_S unless nothing else is free, the pool is
 * whole after any number of calls, disabled pairs are never handed out, a
 * reload's new range applies to new takes only, and a give that does not
 * match a take aborts. The clock is injected: every call takes its `now`.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "portpool.h"
#include "../support/unit_main.h"

#define T0 ((time_t)1732573200)

static struct portpool *pool_new(int start, int end)
{
	struct portpool *p = portpool_new(start, end);

	ck_assert_ptr_nonnull(p);
	return p;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* ---- basic ---- */

START_TEST(four_pairs_exactly)
{
	struct portpool *p = pool_new(10000, 10007);
	uint16_t got[4];

	ck_assert_uint_eq(portpool_capacity(p), 4);
	ck_assert_uint_eq(portpool_free_count(p), 4);
	for (int i = 0; i < 4; i++)
		got[i] = portpool_take(p, T0);
	qsort(got, 4, sizeof(got[0]), cmp_u16);
	ck_assert_uint_eq(got[0], 10000);
	ck_assert_uint_eq(got[1], 10002);
	ck_assert_uint_eq(got[2], 10004);
	ck_assert_uint_eq(got[3], 10006);
	ck_assert_uint_eq(portpool_take(p, T0), 0);
	ck_assert_uint_eq(portpool_take(p, T0 + 100), 0);
	ck_assert_uint_eq(portpool_free_count(p), 0);
	ck_assert_uint_eq(portpool_used_count(p), 4);
	ck_assert_uint_eq(portpool_capacity(p), 4);
	portpool_free(p);
}
END_TEST

/* The last pair needs its odd port inside the range too. */
START_TEST(range_edges)
{
	struct portpool *p;

	p = pool_new(10000, 10006); /* 10006 has no 10007 */
	ck_assert_uint_eq(portpool_capacity(p), 3);
	portpool_free(p);

	p = pool_new(10001, 10005); /* odd start: first pair is 10002 */
	ck_assert_uint_eq(portpool_capacity(p), 2);
	ck_assert_uint_ne(portpool_take(p, T0), 10000);
	portpool_free(p);

	p = pool_new(65534, 65535);
	ck_assert_uint_eq(portpool_take(p, T0), 65534);
	ck_assert_uint_eq(portpool_take(p, T0), 0);
	portpool_free(p);

	p = pool_new(0, 3); /* port 0 means "none": never a pair */
	ck_assert_uint_eq(portpool_capacity(p), 1);
	ck_assert_uint_eq(portpool_take(p, T0), 2);
	portpool_free(p);

	p = pool_new(10000, 11000); /* the default: 500 pairs */
	ck_assert_uint_eq(portpool_capacity(p), 500);
	portpool_free(p);
	portpool_free(NULL);
}
END_TEST

START_TEST(invalid_ranges)
{
	ck_assert_ptr_null(portpool_new(10000, 10000));
	ck_assert_ptr_null(portpool_new(10001, 10002));
	ck_assert_ptr_null(portpool_new(11000, 10000));
	ck_assert_ptr_null(portpool_new(-2, 10));
	ck_assert_ptr_null(portpool_new(65534, 65536));
	ck_assert_ptr_null(portpool_new(0, 1));
}
END_TEST

START_TEST(give_and_take_again)
{
	struct portpool *p = pool_new(10000, 10007);

	for (int i = 0; i < 4; i++)
		ck_assert_uint_ne(portpool_take(p, T0), 0);
	portpool_give(p, 10002, T0);
	ck_assert_uint_eq(portpool_free_count(p), 1);
	ck_assert_uint_eq(portpool_used_count(p), 3);
	ck_assert_uint_eq(portpool_take(p, T0 + 1), 10002);
	ck_assert_uint_eq(portpool_take(p, T0 + 1), 0);
	for (uint16_t port = 10000; port < 10008; port += 2)
		portpool_give(p, port, T0 + 2);
	ck_assert_uint_eq(portpool_free_count(p), 4);
	ck_assert_uint_eq(portpool_used_count(p), 0);
	portpool_free(p);
}
END_TEST

/* ---- quarantine ---- */

/* A freed pair is not taken again within PORTPOOL_QUARANTINE_S while any
 * other pair is free; when it is the only one, it is. */
START_TEST(quarantine_while_others_free)
{
	struct portpool *p = pool_new(10000, 11000);
	uint16_t rested = portpool_take(p, T0);
	static uint8_t seen[65536];

	memset(seen, 0, sizeof(seen));
	portpool_give(p, rested, T0);
	for (int i = 0; i < 499; i++) {
		uint16_t port = portpool_take(p, T0 + PORTPOOL_QUARANTINE_S - 1);

		ck_assert_uint_ne(port, 0);
		ck_assert_uint_ne(port, rested);
		ck_assert_uint_eq(seen[port], 0);
		seen[port] = 1;
	}
	ck_assert_uint_eq(portpool_take(p, T0 + PORTPOOL_QUARANTINE_S - 1), rested);
	ck_assert_uint_eq(portpool_take(p, T0 + PORTPOOL_QUARANTINE_S - 1), 0);
	portpool_free(p);
}
END_TEST

/* With only rested pairs free, the one given back longest ago comes first;
 * once a rest is over the pair is as good as any. */
START_TEST(quarantine_oldest_first)
{
	struct portpool *p = pool_new(10000, 10007);

	for (int i = 0; i < 4; i++)
		portpool_take(p, T0);
	portpool_give(p, 10004, T0);
	portpool_give(p, 10000, T0 + 5);
	portpool_give(p, 10006, T0 + 10);
	ck_assert_uint_eq(portpool_take(p, T0 + 12), 10004);
	ck_assert_uint_eq(portpool_take(p, T0 + 12), 10000);
	portpool_give(p, 10004, T0 + 13);
	ck_assert_uint_eq(portpool_take(p, T0 + 14), 10006);
	ck_assert_uint_eq(portpool_take(p, T0 + 14), 10004);
	ck_assert_uint_eq(portpool_take(p, T0 + 14), 0);

	/* 10002 has rested its full quarantine, 10006 has not */
	portpool_give(p, 10002, T0 + 20);
	portpool_give(p, 10006, T0 + 40);
	ck_assert_uint_eq(portpool_take(p, T0 + 20 + PORTPOOL_QUARANTINE_S), 10002);
	ck_assert_uint_eq(portpool_take(p, T0 + 20 + PORTPOOL_QUARANTINE_S), 10006);
	portpool_free(p);
}
END_TEST

/* A pair's rest ends after exactly PORTPOOL_QUARANTINE_S: from then on it
 * is drawn like any other free pair (1 in 4 here), before, never. */
START_TEST(quarantine_ends)
{
	int early = 0, on_time = 0;

	for (int trial = 0; trial < 200; trial++) {
		struct portpool *p = pool_new(10000, 10007);
		uint16_t port = portpool_take(p, T0);

		portpool_give(p, port, T0);
		early += portpool_take(p, T0 + PORTPOOL_QUARANTINE_S - 1) == port;
		portpool_free(p);

		p = pool_new(10000, 10007);
		port = portpool_take(p, T0);
		portpool_give(p, port, T0);
		on_time += portpool_take(p, T0 + PORTPOOL_QUARANTINE_S) == port;
		portpool_free(p);
	}
	ck_assert_int_eq(early, 0);
	ck_assert_int_gt(on_time, 10); /* about 50 expected */
}
END_TEST

/* ---- randomness ---- */

START_TEST(random_order)
{
	struct portpool *p = pool_new(10000, 11000);
	uint16_t got[50];
	int turns = 0;

	for (int i = 0; i < 50; i++) {
		got[i] = portpool_take(p, T0);
		ck_assert_uint_ge(got[i], 10000);
		ck_assert_uint_le(got[i], 10998);
		ck_assert_uint_eq(got[i] % 2, 0);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(got[i], got[j]);
		/* a random order turns direction at about 2 in 3 points */
		if (i > 1 && (got[i] > got[i - 1]) != (got[i - 1] > got[i - 2]))
			turns++;
	}
	ck_assert_int_gt(turns, 10);
	portpool_free(p);
}
END_TEST

/* Two pools do not hand out the same sequence (seeded at creation). */
START_TEST(random_per_pool)
{
	struct portpool *a = pool_new(10000, 11000);
	struct portpool *b = pool_new(10000, 11000);
	int same = 0;

	for (int i = 0; i < 20; i++)
		same += portpool_take(a, T0) == portpool_take(b, T0);
	ck_assert_int_lt(same, 20);
	portpool_free(a);
	portpool_free(b);
}
END_TEST

/* ---- no leak ---- */

START_TEST(cycles_leave_pool_whole)
{
	struct portpool *p = pool_new(10000, 11000);
	uint16_t held[8] = { 0 };
	time_t now = T0;

	for (int i = 0; i < 1000; i++) {
		int k = i % 8;

		if (held[k])
			portpool_give(p, held[k], now);
		held[k] = portpool_take(p, now);
		ck_assert_uint_ne(held[k], 0);
		ck_assert_uint_eq(portpool_used_count(p), (size_t)(i < 8 ? i + 1 : 8));
		if (i % 3 == 0)
			now++;
	}
	for (int k = 0; k < 8; k++)
		portpool_give(p, held[k], now);
	ck_assert_uint_eq(portpool_free_count(p), portpool_capacity(p));
	ck_assert_uint_eq(portpool_used_count(p), 0);
	ck_assert_uint_eq(portpool_capacity(p), 500);
	portpool_free(p);
}
END_TEST

/* Exhaust, give everything back, exhaust again: the same 500 pairs. */
START_TEST(exhaust_twice)
{
	struct portpool *p = pool_new(10000, 11000);
	static uint16_t got[500];

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 500; i++)
			ck_assert_uint_ne(got[i] = portpool_take(p, T0 + round), 0);
		ck_assert_uint_eq(portpool_take(p, T0 + round), 0);
		qsort(got, 500, sizeof(got[0]), cmp_u16);
		for (int i = 0; i < 500; i++)
			ck_assert_uint_eq(got[i], 10000 + 2 * i);
		for (int i = 0; i < 500; i++)
			portpool_give(p, got[i], T0 + round);
		ck_assert_uint_eq(portpool_free_count(p), 500);
	}
	portpool_free(p);
}
END_TEST

/* ---- disable ---- */

START_TEST(disable_taken_pair)
{
	struct portpool *p = pool_new(10000, 10007);
	uint16_t bad = portpool_take(p, T0);

	portpool_disable(p, bad);
	ck_assert_uint_eq(portpool_used_count(p), 0);
	ck_assert_uint_eq(portpool_free_count(p), 3);
	ck_assert_uint_eq(portpool_capacity(p), 3);
	for (int i = 0; i < 3; i++) {
		uint16_t port = portpool_take(p, T0 + 100);

		ck_assert_uint_ne(port, 0);
		ck_assert_uint_ne(port, bad);
	}
	ck_assert_uint_eq(portpool_take(p, T0 + 100), 0);
	portpool_disable(p, bad); /* twice: nothing more */
	ck_assert_uint_eq(portpool_capacity(p), 3);
	portpool_free(p);
}
END_TEST

START_TEST(disable_free_and_rested_pairs)
{
	struct portpool *p = pool_new(10000, 10007);
	uint16_t port;

	portpool_disable(p, 10002);
	port = portpool_take(p, T0);
	portpool_give(p, port, T0);
	portpool_disable(p, port); /* in quarantine */
	ck_assert_uint_eq(portpool_capacity(p), 2);
	ck_assert_uint_eq(portpool_free_count(p), 2);
	for (int i = 0; i < 2; i++) {
		uint16_t q = portpool_take(p, T0);

		ck_assert_uint_ne(q, 10002);
		ck_assert_uint_ne(q, port);
		ck_assert_uint_ne(q, 0);
	}
	ck_assert_uint_eq(portpool_take(p, T0 + 1000), 0);
	portpool_disable(p, 20000); /* outside the range: nothing */
	ck_assert_uint_eq(portpool_capacity(p), 2);
	portpool_free(p);
}
END_TEST

/* ---- resize ---- */

START_TEST(resize_shrink_with_pairs_in_use)
{
	struct portpool *p = pool_new(10000, 10007);

	for (int i = 0; i < 4; i++)
		portpool_take(p, T0);
	ck_assert_int_eq(portpool_resize(p, 10000, 10003), 0);
	ck_assert_uint_eq(portpool_capacity(p), 2);
	ck_assert_uint_eq(portpool_used_count(p), 4);
	ck_assert_uint_eq(portpool_free_count(p), 0);

	portpool_give(p, 10006, T0); /* outside: forgotten */
	portpool_give(p, 10004, T0);
	ck_assert_uint_eq(portpool_used_count(p), 2);
	ck_assert_uint_eq(portpool_free_count(p), 0);
	ck_assert_uint_eq(portpool_take(p, T0), 0);

	portpool_give(p, 10002, T0);
	portpool_give(p, 10000, T0);
	ck_assert_uint_eq(portpool_free_count(p), 2);
	for (int i = 0; i < 10; i++) {
		uint16_t a = portpool_take(p, T0 + 100 * i);
		uint16_t b = portpool_take(p, T0 + 100 * i);

		ck_assert(a == 10000 || a == 10002);
		ck_assert(b == 10000 || b == 10002);
		ck_assert_uint_ne(a, b);
		ck_assert_uint_eq(portpool_take(p, T0 + 100 * i), 0);
		portpool_give(p, a, T0 + 100 * i);
		portpool_give(p, b, T0 + 100 * i);
	}
	ck_assert_uint_eq(portpool_free_count(p), portpool_capacity(p));
	portpool_free(p);
}
END_TEST

START_TEST(resize_grow)
{
	struct portpool *p = pool_new(10000, 10003);
	uint16_t a, b;

	portpool_take(p, T0);
	portpool_take(p, T0);
	ck_assert_uint_eq(portpool_take(p, T0), 0);
	ck_assert_int_eq(portpool_resize(p, 10000, 10007), 0);
	ck_assert_uint_eq(portpool_capacity(p), 4);
	ck_assert_uint_eq(portpool_used_count(p), 2);
	ck_assert_uint_eq(portpool_free_count(p), 2);
	a = portpool_take(p, T0);
	b = portpool_take(p, T0);
	ck_assert(a == 10004 || a == 10006);
	ck_assert(b == 10004 || b == 10006);
	ck_assert_uint_eq(portpool_take(p, T0), 0);
	for (uint16_t port = 10000; port < 10008; port += 2)
		portpool_give(p, port, T0);
	ck_assert_uint_eq(portpool_free_count(p), 4);
	portpool_free(p);
}
END_TEST

/* A pair held across a shrink and the grow back is still in use; a pair
 * resting or disabled across a shift of the range keeps its state. */
START_TEST(resize_shift_and_back)
{
	struct portpool *p = pool_new(10000, 10007);

	for (int i = 0; i < 4; i++)
		portpool_take(p, T0);
	portpool_give(p, 10002, T0);
	portpool_disable(p, 10004);
	ck_assert_int_eq(portpool_resize(p, 10002, 10009), 0);
	/* 10002 resting, 10004 disabled, 10006 used, 10008 new */
	ck_assert_uint_eq(portpool_capacity(p), 3);
	ck_assert_uint_eq(portpool_used_count(p), 2); /* 10000 outside, 10006 */
	ck_assert_uint_eq(portpool_free_count(p), 2);
	ck_assert_uint_eq(portpool_take(p, T0 + 1), 10008);
	ck_assert_uint_eq(portpool_take(p, T0 + 1), 10002);
	ck_assert_uint_eq(portpool_take(p, T0 + 1), 0);

	ck_assert_int_eq(portpool_resize(p, 10000, 10009), 0);
	ck_assert_uint_eq(portpool_used_count(p), 4);
	ck_assert_uint_eq(portpool_free_count(p), 0);
	portpool_give(p, 10000, T0 + 2); /* in range again: rests */
	ck_assert_uint_eq(portpool_free_count(p), 1);
	ck_assert_uint_eq(portpool_take(p, T0 + 2), 10000);
	portpool_free(p);
}
END_TEST

START_TEST(resize_invalid_keeps_range)
{
	struct portpool *p = pool_new(10000, 10007);
	uint16_t port = portpool_take(p, T0);

	ck_assert_int_eq(portpool_resize(p, 10000, 10000), -1);
	ck_assert_int_eq(portpool_resize(p, 20000, 10000), -1);
	ck_assert_int_eq(portpool_resize(p, 0, 70000), -1);
	ck_assert_uint_eq(portpool_capacity(p), 4);
	ck_assert_uint_eq(portpool_used_count(p), 1);
	portpool_give(p, port, T0);
	ck_assert_uint_eq(portpool_free_count(p), 4);
	portpool_free(p);
}
END_TEST

/* Random takes, gives, disables and resizes against a model of every pair
 * the ranges can reach: pairs 10000..10198 (model index 0..99). */
START_TEST(matches_model)
{
	enum { FREE, USED, DISABLED, N = 100, BASE = 10000 };
	uint8_t model[N];
	struct portpool *p = pool_new(BASE, BASE + 99);
	int start = BASE, end = BASE + 99;
	uint32_t rng = 12345;
	time_t now = T0;

	memset(model, FREE, sizeof(model));
	for (int step = 0; step < 20000; step++) {
		size_t in_range_used = 0, outside_used = 0, in_range_disabled = 0, pairs = 0;
		int op, k;

		rng = rng * 1103515245u + 12345u;
		op = (int)((rng >> 16) % 100);
		k = (int)((rng >> 8) % N);
		if (op < 45) {
			uint16_t port = portpool_take(p, now);

			if (port) {
				ck_assert_uint_eq(port % 2, 0);
				ck_assert_int_ge(port, start);
				ck_assert_int_le(port + 1, end);
				ck_assert_uint_eq(model[(port - BASE) / 2], FREE);
				model[(port - BASE) / 2] = USED;
			} else {
				ck_assert_uint_eq(portpool_free_count(p), 0);
			}
		} else if (op < 90) {
			for (int n = 0; n < N; n++) {
				int i = (k + n) % N;

				if (model[i] == USED) {
					portpool_give(p, (uint16_t)(BASE + 2 * i), now);
					model[i] = FREE;
					break;
				}
			}
		} else if (op < 93) {
			int port = BASE + 2 * (k % 60);

			portpool_disable(p, (uint16_t)port);
			if (port >= start && port + 1 <= end)
				model[k % 60] = DISABLED;
			else if (model[k % 60] == USED)
				model[k % 60] = FREE; /* outside the range: forgotten */
		} else if (op < 95) {
			int ns = BASE + 2 * (k % 40);
			int ne = ns + 2 * (1 + (int)((rng >> 24) % 40)) - 1;

			ck_assert_int_eq(portpool_resize(p, ns, ne), 0);
			for (int i = 0; i < N; i++)
				if (model[i] == DISABLED && !(BASE + 2 * i >= ns && BASE + 2 * i + 1 <= ne))
					model[i] = FREE;
			start = ns;
			end = ne;
		} else {
			now += (rng >> 20) % 20;
		}
		for (int i = 0; i < N; i++) {
			bool in = BASE + 2 * i >= start && BASE + 2 * i + 1 <= end;

			pairs += in;
			in_range_used += in && model[i] == USED;
			outside_used += !in && model[i] == USED;
			in_range_disabled += in && model[i] == DISABLED;
		}
		ck_assert_uint_eq(portpool_used_count(p), in_range_used + outside_used);
		ck_assert_uint_eq(portpool_capacity(p), pairs - in_range_disabled);
		ck_assert_uint_eq(portpool_free_count(p), pairs - in_range_disabled - in_range_used);
	}
	portpool_free(p);
}
END_TEST

/* ---- broken invariants abort ---- */

START_TEST(give_never_taken_aborts)
{
	struct portpool *p = pool_new(10000, 10007);

	portpool_give(p, 10002, T0);
}
END_TEST

START_TEST(give_twice_aborts)
{
	struct portpool *p = pool_new(10000, 10007);
	uint16_t port = portpool_take(p, T0);

	portpool_give(p, port, T0);
	portpool_give(p, port, T0);
}
END_TEST

START_TEST(give_odd_port_aborts)
{
	struct portpool *p = pool_new(10000, 10007);
	uint16_t port = portpool_take(p, T0);

	portpool_give(p, (uint16_t)(port + 1), T0);
}
END_TEST

START_TEST(give_outside_never_taken_aborts)
{
	struct portpool *p = pool_new(10000, 10007);

	portpool_give(p, 20000, T0);
}
END_TEST

START_TEST(give_disabled_aborts)
{
	struct portpool *p = pool_new(10000, 10007);
	uint16_t port = portpool_take(p, T0);

	portpool_disable(p, port);
	portpool_give(p, port, T0);
}
END_TEST

START_TEST(give_forgotten_twice_aborts)
{
	struct portpool *p = pool_new(10000, 10007);

	for (int i = 0; i < 4; i++)
		portpool_take(p, T0);
	ck_assert_int_eq(portpool_resize(p, 10000, 10003), 0);
	portpool_give(p, 10006, T0);
	portpool_give(p, 10006, T0);
}
END_TEST

static Suite *portpool_suite(void)
{
	Suite *s = suite_create("portpool");
	TCase *tc = tcase_create("portpool");
	TCase *aborts = tcase_create("aborts");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, four_pairs_exactly);
	tcase_add_test(tc, range_edges);
	tcase_add_test(tc, invalid_ranges);
	tcase_add_test(tc, give_and_take_again);
	tcase_add_test(tc, quarantine_while_others_free);
	tcase_add_test(tc, quarantine_oldest_first);
	tcase_add_test(tc, quarantine_ends);
	tcase_add_test(tc, random_order);
	tcase_add_test(tc, random_per_pool);
	tcase_add_test(tc, cycles_leave_pool_whole);
	tcase_add_test(tc, exhaust_twice);
	tcase_add_test(tc, disable_taken_pair);
	tcase_add_test(tc, disable_free_and_rested_pairs);
	tcase_add_test(tc, resize_shrink_with_pairs_in_use);
	tcase_add_test(tc, resize_grow);
	tcase_add_test(tc, resize_shift_and_back);
	tcase_add_test(tc, resize_invalid_keeps_range);
	tcase_add_test(tc, matches_model);
	suite_add_tcase(s, tc);

	tcase_add_test_raise_signal(aborts, give_never_taken_aborts, SIGABRT);
	tcase_add_test_raise_signal(aborts, give_twice_aborts, SIGABRT);
	tcase_add_test_raise_signal(aborts, give_odd_port_aborts, SIGABRT);
	tcase_add_test_raise_signal(aborts, give_outside_never_taken_aborts, SIGABRT);
	tcase_add_test_raise_signal(aborts, give_disabled_aborts, SIGABRT);
	tcase_add_test_raise_signal(aborts, give_forgotten_twice_aborts, SIGABRT);
	suite_add_tcase(s, aborts);
	return s;
}

UNIT_MAIN(portpool_suite)
