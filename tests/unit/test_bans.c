/*
 * Unit tests for bans.c: banafter failures within BANS_FAILURE_WINDOW_S ban
 * an address for bantime; the challenge budget per address and window; the
 * bounded table under a flood from many addresses. Time is injected.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bans.h"
#include "../support/unit_main.h"

#define T0 ((time_t)1700000000)

/* Every test counts an IPv6 source per /64, as general.banprefix6 does by
 * default; an IPv4 source is one address whatever it says. */
#define P6 64

static struct netaddr na(const char *text)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse(text, &a), "%s", text);
	return a;
}

/* 10.x.y.z for i, never 0.0.0.0 */
static struct netaddr nth(unsigned i)
{
	struct netaddr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.ip.v4.s_addr = htonl(0x0a000000u + i + 1);
	return a;
}

/* An address and another one next to it (for IPv6, in the next /64). */
static const struct {
	const char *addr, *other;
} pairs[] = {
	{ "203.0.113.5", "203.0.113.6" },
	{ "2001:db8:1:2::5", "2001:db8:1:3::5" },
};

START_TEST(ban_after_failures)
{
	struct bans *b = bans_new(64);
	struct netaddr a = na(pairs[_i].addr), other = na(pairs[_i].other);

	ck_assert_ptr_nonnull(b);
	ck_assert(!bans_failure(b, &a, P6, T0, 3, 600));
	ck_assert(!bans_failure(b, &a, P6, T0 + 20, 3, 600));
	ck_assert(!bans_is_banned(b, &a, P6, T0 + 20));
	/* the third within a minute starts the ban, and says so once */
	ck_assert(bans_failure(b, &a, P6, T0 + 59, 3, 600));
	ck_assert(bans_is_banned(b, &a, P6, T0 + 59));
	ck_assert(!bans_failure(b, &a, P6, T0 + 60, 3, 600));
	ck_assert(!bans_is_banned(b, &other, P6, T0 + 60));
	ck_assert_uint_eq(bans_active(b, T0 + 60), 1);
	/* bantime counts from the failure that started it */
	ck_assert(bans_is_banned(b, &a, P6, T0 + 59 + 599));
	ck_assert(!bans_is_banned(b, &a, P6, T0 + 59 + 600));
	ck_assert_uint_eq(bans_active(b, T0 + 59 + 600), 0);
	bans_free(b);
}
END_TEST

START_TEST(failures_spread_out)
{
	struct bans *b = bans_new(64);
	struct netaddr a = na("203.0.113.5");

	/* slower than banafter per bantime (3 per 600 s: one per 200 s): the
	 * bucket drains faster than it fills, never a ban */
	for (int i = 0; i < 20; i++)
		ck_assert(!bans_failure(b, &a, P6, T0 + 201 * i, 3, 600));
	ck_assert(!bans_is_banned(b, &a, P6, T0 + 201 * 20));
	/* two, then a third more than 60 s after the first, long after the
	 * last: neither rule is met */
	ck_assert(!bans_failure(b, &a, P6, T0 + 10000, 3, 600));
	ck_assert(!bans_failure(b, &a, P6, T0 + 10001, 3, 600));
	ck_assert(!bans_failure(b, &a, P6, T0 + 10061, 3, 600));
	ck_assert(!bans_is_banned(b, &a, P6, T0 + 10061));
	ck_assert_uint_eq(bans_active(b, T0 + 10061), 0);
	bans_free(b);
}
END_TEST

/* Issue 11: a guesser who stays under banafter per minute (one failure
 * every 31 s with banafter 3) was never banned, and got 116 guesses an hour
 * instead of banafter per bantime. Whatever the pacing, an hour now holds at
 * most banafter * 3600 / bantime failures, plus the first bucketful. */
START_TEST(paced_guessing_is_bounded)
{
	const int banafter = 3, bantime = 600;
	const int paces[] = { 1, 5, 21, 31, 59, 61, 150, 199 };

	for (size_t k = 0; k < sizeof(paces) / sizeof(paces[0]); k++) {
		struct bans *b = bans_new(64);
		struct netaddr a = na("203.0.113.5");
		int counted = 0;

		for (time_t t = T0; t < T0 + 3600; t += paces[k]) {
			if (bans_is_banned(b, &a, P6, t))
				continue; /* dropped unparsed: no guess */
			counted++;
			(void)bans_failure(b, &a, P6, t, banafter, bantime);
		}
		ck_assert_msg(counted <= banafter * 3600 / bantime + banafter,
			      "one guess every %d s: %d guesses in an hour", paces[k], counted);
		bans_free(b);
	}
}
END_TEST

/* Issue 11: every address of one /24 failing banafter times is banned. The
 * table's hash once left the last octet out of the index: the /24 shared
 * eight slots, pushed its own entries out and was never banned. */
START_TEST(one_subnet_all_banned)
{
	struct bans *b = bans_new(8192);
	char text[32];

	for (int i = 1; i <= 254; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i);
		struct netaddr a = na(text);
		ck_assert(!bans_failure(b, &a, P6, T0, 3, 600));
		ck_assert(!bans_failure(b, &a, P6, T0, 3, 600));
		ck_assert_msg(bans_failure(b, &a, P6, T0, 3, 600), "%s not banned", text);
	}
	for (int i = 1; i <= 254; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i);
		struct netaddr a = na(text);
		ck_assert_msg(bans_is_banned(b, &a, P6, T0 + 1), "%s's ban was lost", text);
	}
	ck_assert_uint_eq(bans_active(b, T0 + 1), 254);
	bans_free(b);
}
END_TEST

START_TEST(banning_off)
{
	struct bans *b = bans_new(64);
	struct netaddr a = na("203.0.113.5");

	for (int i = 0; i < 100; i++) {
		ck_assert(!bans_failure(b, &a, P6, T0 + i / 10, 0, 600));
		ck_assert(!bans_failure(b, &a, P6, T0 + i / 10, 3, 0));
	}
	ck_assert(!bans_is_banned(b, &a, P6, T0 + 10));
	ck_assert_uint_eq(bans_active(b, T0 + 10), 0);
	/* banafter 1: the first failure bans */
	ck_assert(bans_failure(b, &a, P6, T0 + 20, 1, 5));
	ck_assert(bans_is_banned(b, &a, P6, T0 + 24));
	ck_assert(!bans_is_banned(b, &a, P6, T0 + 25));
	bans_free(b);
}
END_TEST

START_TEST(challenge_budget)
{
	struct bans *b = bans_new(64);
	struct netaddr a = na(pairs[_i].addr), other = na(pairs[_i].other);

	for (int i = 0; i < BANS_CHALLENGE_BUDGET; i++)
		ck_assert_msg(bans_challenge_allowed(b, &a, P6, T0 + (i * (BANS_WINDOW_S - 1)) / BANS_CHALLENGE_BUDGET),
			      "challenge %d refused", i);
	ck_assert(!bans_challenge_allowed(b, &a, P6, T0 + BANS_WINDOW_S - 1));
	ck_assert(!bans_challenge_allowed(b, &a, P6, T0 + BANS_WINDOW_S - 1));
	/* another address has its own budget */
	ck_assert(bans_challenge_allowed(b, &other, P6, T0 + BANS_WINDOW_S - 1));
	/* running out of budget is not a ban */
	ck_assert(!bans_is_banned(b, &a, P6, T0 + BANS_WINDOW_S - 1));
	/* the window passes: a fresh budget */
	for (int i = 0; i < BANS_CHALLENGE_BUDGET; i++)
		ck_assert(bans_challenge_allowed(b, &a, P6, T0 + BANS_WINDOW_S));
	ck_assert(!bans_challenge_allowed(b, &a, P6, T0 + BANS_WINDOW_S));
	bans_free(b);
}
END_TEST

START_TEST(list_and_clear)
{
	struct bans *b = bans_new(64);
	struct ban_entry out[8];
	bool seen[3] = { false, false, false };
	struct netaddr a[4];

	for (unsigned k = 0; k < 4; k++)
		a[k] = nth(k);
	ck_assert(bans_failure(b, &a[0], P6, T0, 1, 100));
	ck_assert(!bans_failure(b, &a[1], P6, T0, 2, 100));
	ck_assert(bans_failure(b, &a[1], P6, T0 + 1, 2, 100));
	ck_assert(bans_failure(b, &a[2], P6, T0 + 2, 1, 10));
	ck_assert(!bans_failure(b, &a[3], P6, T0 + 2, 5, 100)); /* not banned */
	ck_assert_uint_eq(bans_active(b, T0 + 2), 3);
	size_t n = bans_list(b, T0 + 2, out, 8);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		for (unsigned k = 0; k < 3; k++) {
			if (out[i].scope.len == 32 && netaddr_same_ip(&out[i].scope.net, &a[k])) {
				ck_assert(!seen[k]);
				seen[k] = true;
				if (k == 0)
					ck_assert_int_eq(out[i].until, T0 + 100);
				if (k == 1) {
					ck_assert_int_eq(out[i].until, T0 + 101);
					ck_assert_uint_eq(out[i].failures, 2);
				}
				if (k == 2)
					ck_assert_int_eq(out[i].until, T0 + 12);
			}
		}
	}
	ck_assert(seen[0] && seen[1] && seen[2]);
	/* max is honoured */
	ck_assert_uint_eq(bans_list(b, T0 + 2, out, 2), 2);
	ck_assert_uint_eq(bans_list(b, T0 + 2, out, 0), 0);
	/* an ended ban is not listed */
	ck_assert_uint_eq(bans_list(b, T0 + 12, out, 8), 2);

	bans_clear(b);
	ck_assert_uint_eq(bans_active(b, T0 + 2), 0);
	ck_assert_uint_eq(bans_list(b, T0 + 2, out, 8), 0);
	for (unsigned k = 0; k < 3; k++)
		ck_assert(!bans_is_banned(b, &a[k], P6, T0 + 2));
	/* failure counts are forgotten too */
	ck_assert(!bans_failure(b, &a[1], P6, T0 + 3, 2, 100));
	bans_free(b);
}
END_TEST

START_TEST(flood_keeps_live_bans)
{
	struct bans *b = bans_new(64);
	struct netaddr banned[8];

	for (unsigned i = 0; i < 8; i++) {
		banned[i] = nth(100000 + i * 7919);
		ck_assert(!bans_failure(b, &banned[i], P6, T0, 2, 3600));
		ck_assert(bans_failure(b, &banned[i], P6, T0, 2, 3600));
	}
	ck_assert_uint_eq(bans_active(b, T0), 8);
	/* thousands of other addresses fail and ask for challenges */
	for (unsigned i = 0; i < 20000; i++) {
		time_t now = T0 + 1 + i / 100;
		struct netaddr a = nth(i);
		(void)bans_failure(b, &a, P6, now, 5, 3600);
		(void)bans_challenge_allowed(b, &a, P6, now);
	}
	time_t end = T0 + 1 + 20000 / 100;
	for (unsigned i = 0; i < 8; i++)
		ck_assert_msg(bans_is_banned(b, &banned[i], P6, end), "ban %u evicted", i);
	ck_assert_uint_ge(bans_active(b, end), 8);
	/* an address never seen is not banned */
	struct netaddr unseen = na("192.0.2.1");
	ck_assert(!bans_is_banned(b, &unseen, P6, end));
	bans_free(b);
}
END_TEST

START_TEST(table_is_bounded)
{
	/* a tiny table: 16 slots; every address flooding in still gets answered
	 * (no room to count is "allowed"), and nothing crashes */
	struct bans *b = bans_new(1);

	for (unsigned i = 0; i < 5000; i++) {
		struct netaddr a = nth(i);
		ck_assert(bans_challenge_allowed(b, &a, P6, T0));
	}
	for (unsigned i = 0; i < 5000; i++) {
		struct netaddr a = nth(i);
		(void)bans_failure(b, &a, P6, T0, 1, 60);
	}
	ck_assert_uint_le(bans_active(b, T0), 16);
	ck_assert_uint_ge(bans_active(b, T0), 1);
	ck_assert_uint_eq(bans_active(b, T0 + 60), 0);
	bans_free(b);
}
END_TEST


/* ---- IPv6 scopes (issue 20) ---- */

/* banafter failures from `from`, each from another address of the list; is
 * `probe` banned then, under prefix6? */
static const struct {
	const char *what;
	unsigned prefix6;
	const char *from[3];
	const char *probe;
	bool banned;
	const char *scope; /* the listed ban, NULL when none */
} scoped[] = {
	{ "one /64, three hosts", 64, { "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3" },
	  "2001:db8:1:2:abcd::9", true, "2001:db8:1:2::/64" },
	{ "one /64, another /64 probed", 64, { "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3" },
	  "2001:db8:1:3::1", false, "2001:db8:1:2::/64" },
	{ "three /64s stay apart", 64, { "2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:1:4::1" },
	  "2001:db8:1:2::1", false, NULL },
	{ "three /64s in one /48", 48, { "2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:1:4::1" },
	  "2001:db8:1:ffff::1", true, "2001:db8:1::/48" },
	{ "per address at /128", 128, { "2001:db8:1:2::1", "2001:db8:1:2::1", "2001:db8:1:2::1" },
	  "2001:db8:1:2::2", false, "2001:db8:1:2::1/128" },
	{ "the same host at /128", 128, { "2001:db8:1:2::1", "2001:db8:1:2::1", "2001:db8:1:2::1" },
	  "[2001:db8:1:2::1]:5060", true, "2001:db8:1:2::1/128" },
	/* IPv4 is one address whatever prefix6 says */
	{ "IPv4 /32 at prefix6 32", 32, { "203.0.113.5", "203.0.113.5", "203.0.113.5" },
	  "203.0.113.6", false, "203.0.113.5/32" },
	{ "IPv4 and its v4-mapped form", 64, { "203.0.113.5", "::ffff:203.0.113.5", "203.0.113.5:4000" },
	  "[::ffff:203.0.113.5]:5060", true, "203.0.113.5/32" },
	{ "IPv4 spread over a /24", 64, { "203.0.113.5", "203.0.113.6", "203.0.113.7" },
	  "203.0.113.5", false, NULL },
};

START_TEST(scoped_bans)
{
	struct bans *b = bans_new(64);
	struct ban_entry e[4];
	char text[NETADDR_TEXT_MAX];
	size_t n;

	for (int i = 0; i < 3; i++) {
		struct netaddr a = na(scoped[_i].from[i]);
		bans_failure(b, &a, scoped[_i].prefix6, T0 + i, 3, 600);
	}
	struct netaddr probe = na(scoped[_i].probe);
	ck_assert_msg(bans_is_banned(b, &probe, scoped[_i].prefix6, T0 + 3) == scoped[_i].banned,
		      "%s", scoped[_i].what);
	n = bans_list(b, T0 + 3, e, 4);
	ck_assert_uint_eq(n, scoped[_i].scope ? 1 : 0);
	ck_assert_uint_eq(bans_active(b, T0 + 3), n);
	if (n) {
		ck_assert_str_eq(netaddr_prefix_print(&e[0].scope, text), scoped[_i].scope);
		ck_assert_uint_eq(e[0].failures, 3);
		ck_assert_int_eq(e[0].until, T0 + 2 + 600);
	}
	bans_free(b);
}
END_TEST

/* The challenge budget is the scope's: a /64 rotating its addresses gets
 * BANS_CHALLENGE_BUDGET in a window, not that many per address. */
START_TEST(challenge_budget_per_prefix)
{
	struct bans *b = bans_new(256);
	char text[64];
	struct netaddr a;
	int allowed = 0;

	for (int i = 0; i < BANS_CHALLENGE_BUDGET + 20; i++) {
		snprintf(text, sizeof(text), "2001:db8:7:8:%x::1", i + 1);
		a = na(text);
		if (bans_challenge_allowed(b, &a, 64, T0))
			allowed++;
	}
	ck_assert_int_eq(allowed, BANS_CHALLENGE_BUDGET);
	/* another /64 has its own budget; the window passes */
	a = na("2001:db8:7:9::1");
	ck_assert(bans_challenge_allowed(b, &a, 64, T0));
	a = na("2001:db8:7:8::77");
	ck_assert(!bans_challenge_allowed(b, &a, 64, T0 + BANS_WINDOW_S - 1));
	ck_assert(bans_challenge_allowed(b, &a, 64, T0 + BANS_WINDOW_S));
	/* per address at /128: each has a budget of its own */
	a = na("2001:db8:7:8::78");
	ck_assert(bans_challenge_allowed(b, &a, 128, T0));
	bans_free(b);
}
END_TEST

/* The paced-guessing bound (issue 11) holds per /64 too. */
START_TEST(paced_guessing_per_prefix)
{
	struct bans *b = bans_new(256);
	char text[64];
	bool banned = false;
	int i;

	/* banafter 10 per 600 s, one guess every 7 s from a new address each */
	for (i = 0; i < 200 && !banned; i++) {
		snprintf(text, sizeof(text), "2001:db8:5:6:%x:%x::1", i / 7 + 1, i + 1);
		struct netaddr a = na(text);
		banned = bans_failure(b, &a, 64, T0 + 7 * i, 10, 600);
	}
	ck_assert(banned);
	ck_assert_int_le(i, 12);
	bans_free(b);
}
END_TEST

START_TEST(no_family_never_counted)
{
	struct bans *b = bans_new(16);
	struct netaddr none;

	memset(&none, 0, sizeof(none));
	for (int i = 0; i < 5; i++)
		ck_assert(!bans_failure(b, &none, 64, T0, 1, 600));
	ck_assert(!bans_is_banned(b, &none, 64, T0));
	ck_assert(bans_challenge_allowed(b, &none, 64, T0));
	ck_assert_uint_eq(bans_active(b, T0), 0);
	bans_free(b);
}
END_TEST

/* Many IPv6 scopes: the table stays bounded and live bans are kept. */
START_TEST(ipv6_flood_keeps_live_bans)
{
	struct bans *b = bans_new(64);
	struct netaddr bad = na("2001:db8:bad::1");
	char text[64];

	ck_assert(bans_failure(b, &bad, 64, T0, 1, 600));
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i / 65536 + 1, i % 65536);
		struct netaddr a = na(text);
		bans_challenge_allowed(b, &a, 64, T0 + 1);
	}
	ck_assert(bans_is_banned(b, &bad, 64, T0 + 2));
	ck_assert_uint_eq(bans_active(b, T0 + 2), 1);
	bans_free(b);
}
END_TEST

static Suite *bans_suite(void)
{
	Suite *s = suite_create("bans");
	TCase *tc = tcase_create("bans");

	tcase_add_loop_test(tc, ban_after_failures, 0, sizeof(pairs) / sizeof(pairs[0]));
	tcase_add_test(tc, failures_spread_out);
	tcase_add_test(tc, paced_guessing_is_bounded);
	tcase_add_test(tc, one_subnet_all_banned);
	tcase_add_test(tc, banning_off);
	tcase_add_loop_test(tc, challenge_budget, 0, sizeof(pairs) / sizeof(pairs[0]));
	tcase_add_test(tc, list_and_clear);
	tcase_add_test(tc, flood_keeps_live_bans);
	tcase_add_test(tc, table_is_bounded);
	tcase_add_loop_test(tc, scoped_bans, 0, sizeof(scoped) / sizeof(scoped[0]));
	tcase_add_test(tc, challenge_budget_per_prefix);
	tcase_add_test(tc, paced_guessing_per_prefix);
	tcase_add_test(tc, no_family_never_counted);
	tcase_add_test(tc, ipv6_flood_keeps_live_bans);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(bans_suite)
