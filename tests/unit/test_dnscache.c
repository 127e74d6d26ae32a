/*
 * Unit tests for dnscache.c: A lookups through a real evdns base asking a
 * stand-in DNS server on 127.0.0.1 (tests/support/unit_dns.h), with the
 * cache's clock set by the test (dnscache_set_clock) so that freshness and
 * negative caching are checked to the second without waiting. Covered: miss
 * then hit, one query for many waiters, the TTL bounds, negative caching of
 * NXDOMAIN, SERVFAIL and a silent server, the last good answer kept when a
 * refresh fails, the bounds on waiters and entries, and freeing with
 * lookups still out.
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dnscache.h"

#include "../support/unit_dns.h"
#include "../support/unit_main.h"
#include "../support/unit_udp.h"

#define WAIT_MS 3000

static struct event_base *base;
static struct unit_dns server;
static struct evdns_base *dns;
static struct dnscache *cache;
static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ud_start(&server, base);
	dns = ud_evdns(&server, base, "1.0");
	cache = dnscache_new(dns);
	ck_assert_ptr_nonnull(cache);
	fake_now = 1700000000;
	dnscache_set_clock(cache, fake_clock);
}

static void teardown(void)
{
	/* the order the header asks for: evdns first, without failing requests */
	evdns_base_free(dns, 0);
	dnscache_free(cache);
	ud_stop(&server);
	event_base_free(base);
}

struct result {
	int calls;
	bool ok;
	struct netaddr addr;
};

static void result_cb(void *arg, bool ok, const struct netaddr *addr)
{
	struct result *r = arg;

	r->calls++;
	r->ok = ok;
	if (ok)
		r->addr = *addr;
}

static bool called(void *arg)
{
	return ((struct result *)arg)->calls > 0;
}

/* An address as the cache hands it out: either family, port 0. */
static struct netaddr ip(const char *text)
{
	struct netaddr a;

	ck_assert(netaddr_parse_ip(text, &a));
	return a;
}

#define ck_assert_same_ip(a, text)                                                          \
	do {                                                                                \
		struct netaddr want_ = ip(text);                                            \
		ck_assert_msg(netaddr_same(&(a), &want_), "not %s", text);                  \
	} while (0)

/* Look name up with a callback and wait for it: its result. */
static struct result resolve(const char *name)
{
	struct result r = { 0 };
	struct netaddr addr;

	ck_assert_int_eq(dnscache_lookup(cache, name, &addr, result_cb, &r), DNSCACHE_PENDING);
	ck_assert_msg(uu_pump_until(base, called, &r, WAIT_MS), "no answer for %s", name);
	ck_assert_int_eq(r.calls, 1);
	return r;
}

static enum dnscache_answer lookup(const char *name, struct netaddr *addr)
{
	return dnscache_lookup(cache, name, addr, NULL, NULL);
}

START_TEST(miss_then_hit)
{
	struct netaddr addr = { 0 };

	ud_answer(&server, "trunk.example", "192.0.2.10", 60);
	struct result r = resolve("trunk.example");
	ck_assert(r.ok);
	ck_assert_same_ip(r.addr, "192.0.2.10");
	ck_assert_uint_eq(ud_queries(&server, "trunk.example"), 1);
	/* now from the cache, whatever the spelling, without asking again */
	ck_assert_int_eq(lookup("trunk.example", &addr), DNSCACHE_HIT);
	ck_assert_same_ip(addr, "192.0.2.10");
	memset(&addr, 0, sizeof(addr));
	ck_assert_int_eq(lookup("TRUNK.Example", &addr), DNSCACHE_HIT);
	ck_assert_same_ip(addr, "192.0.2.10");
	ck_assert(dnscache_last_good(cache, "trunk.example", &addr));
	ck_assert_uint_eq(ud_queries(&server, "trunk.example"), 1);
	/* another name is another entry */
	ck_assert(!dnscache_last_good(cache, "other.example", &addr));
}
END_TEST

struct chain {
	struct result r;
	enum dnscache_answer again;
	struct netaddr addr;
};

/* A waiter that looks the same name up from inside its callback. */
static void chain_cb(void *arg, bool ok, const struct netaddr *addr)
{
	struct chain *c = arg;

	result_cb(&c->r, ok, addr);
	c->again = dnscache_lookup(cache, "pbx.example", &c->addr, NULL, NULL);
}

START_TEST(waiters_share_one_query)
{
	struct result r[3] = { { 0 } };
	struct chain ch = { .again = DNSCACHE_BUSY };
	struct netaddr addr;

	ud_answer(&server, "pbx.example", "198.51.100.20", 60);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(dnscache_lookup(cache, "pbx.example", &addr, result_cb, &r[i]),
				 DNSCACHE_PENDING);
	ck_assert_int_eq(dnscache_lookup(cache, "pbx.example", &addr, chain_cb, &ch), DNSCACHE_PENDING);
	ck_assert(uu_pump_until(base, called, &r[2], WAIT_MS));
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert(r[i].ok);
		ck_assert_same_ip(r[i].addr, "198.51.100.20");
	}
	/* the cache was up to date before the first waiter was called */
	ck_assert_int_eq(ch.r.calls, 1);
	ck_assert_int_eq(ch.again, DNSCACHE_HIT);
	ck_assert_same_ip(ch.addr, "198.51.100.20");
	ck_assert_uint_eq(ud_queries(&server, "pbx.example"), 1);
}
END_TEST

START_TEST(refresh_without_a_callback)
{
	struct netaddr addr;

	ud_answer(&server, "quiet.example", "192.0.2.33", 60);
	ck_assert_int_eq(lookup("quiet.example", &addr), DNSCACHE_PENDING);
	/* asking again while it is out sends no second query */
	ck_assert_int_eq(lookup("quiet.example", &addr), DNSCACHE_PENDING);
	struct result r = resolve("quiet.example");
	ck_assert(r.ok);
	ck_assert_int_eq(lookup("quiet.example", &addr), DNSCACHE_HIT);
	ck_assert_uint_eq(ud_queries(&server, "quiet.example"), 1);
}
END_TEST

/* An answer's TTL, bounded to 10..300 s, decides how long it is a hit. */
START_TEST(ttl_bounds)
{
	static const struct {
		uint32_t ttl;
		time_t fresh_for;   /* seconds it stays a hit */
	} cases[] = {
		{ 0, 10 }, { 1, 10 }, { 10, 10 }, { 45, 45 }, { 300, 300 }, { 301, 300 }, { 86400, 300 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32];
		struct netaddr addr;
		time_t start = fake_now;

		snprintf(name, sizeof(name), "ttl%zu.example", i);
		ud_answer(&server, name, "192.0.2.44", cases[i].ttl);
		ck_assert(resolve(name).ok);
		fake_now = start + cases[i].fresh_for - 1;
		ck_assert_msg(lookup(name, &addr) == DNSCACHE_HIT, "ttl %u: not a hit after %ld s",
			      cases[i].ttl, (long)(cases[i].fresh_for - 1));
		fake_now = start + cases[i].fresh_for;
		ck_assert_msg(lookup(name, &addr) == DNSCACHE_PENDING, "ttl %u: still a hit after %ld s",
			      cases[i].ttl, (long)cases[i].fresh_for);
		ck_assert(resolve(name).ok);  /* the refresh completes */
		ck_assert_uint_eq(ud_queries(&server, name), 2);
		/* while stale and refreshing, the old answer stays the last good one */
		ck_assert(dnscache_last_good(cache, name, &addr));
		ck_assert_same_ip(addr, "192.0.2.44");
	}
}
END_TEST

/* A failed lookup is remembered for 10 s: no new query meanwhile. */
START_TEST(negative_caching)
{
	static const struct {
		const char *name;
		int rcode;     /* 0 = the server stays silent (a timeout) */
	} cases[] = {
		{ "nx.example", UD_NXDOMAIN },
		{ "servfail.example", UD_SERVFAIL },
		{ "silent.example", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = cases[i].name;
		struct netaddr addr;
		time_t start = fake_now;

		if (cases[i].rcode)
			ud_fail(&server, name, cases[i].rcode);
		else
			ud_silence(&server, name);
		struct result r = resolve(name);
		ck_assert_msg(!r.ok, "%s resolved", name);
		unsigned asked = ud_queries(&server, name);
		ck_assert_uint_ge(asked, 1);
		ck_assert(!dnscache_last_good(cache, name, &addr));
		/* a second caller is told at once, and nothing is asked */
		fake_now = start + 9;
		struct result none = { 0 };
		ck_assert_int_eq(dnscache_lookup(cache, name, &addr, result_cb, &none), DNSCACHE_NEGATIVE);
		ck_assert_int_eq(none.calls, 0);
		event_base_loop(base, EVLOOP_NONBLOCK);
		ck_assert_uint_eq(ud_queries(&server, name), asked);
		/* ten seconds on it is asked again, and may now succeed */
		fake_now = start + 10;
		ud_answer(&server, name, "192.0.2.55", 60);
		r = resolve(name);
		ck_assert(r.ok);
		ck_assert_same_ip(r.addr, "192.0.2.55");
		ck_assert_uint_gt(ud_queries(&server, name), asked);
	}
}
END_TEST

START_TEST(failed_refresh_keeps_the_last_good_answer)
{
	struct netaddr addr;

	ud_answer(&server, "flaky.example", "192.0.2.66", 60);
	ck_assert(resolve("flaky.example").ok);
	fake_now += 61;
	ud_fail(&server, "flaky.example", UD_NXDOMAIN);
	struct result r = resolve("flaky.example");
	ck_assert(!r.ok);
	/* the stale address is still there for who wants it */
	ck_assert(dnscache_last_good(cache, "flaky.example", &addr));
	ck_assert_same_ip(addr, "192.0.2.66");
	ck_assert_int_eq(lookup("flaky.example", &addr), DNSCACHE_NEGATIVE);
	/* it resolves again, to a new address */
	fake_now += 10;
	ud_answer(&server, "flaky.example", "192.0.2.67", 60);
	ck_assert(resolve("flaky.example").ok);
	ck_assert_int_eq(lookup("flaky.example", &addr), DNSCACHE_HIT);
	ck_assert_same_ip(addr, "192.0.2.67");
	ck_assert(dnscache_last_good(cache, "flaky.example", &addr));
	ck_assert_same_ip(addr, "192.0.2.67");
}
END_TEST

START_TEST(waiters_are_bounded)
{
	static struct result r[257];
	struct netaddr addr;

	ud_silence(&server, "slow.example");
	for (int i = 0; i < 256; i++)
		ck_assert_int_eq(dnscache_lookup(cache, "slow.example", &addr, result_cb, &r[i]),
				 DNSCACHE_PENDING);
	/* one waiter more is refused; a refresh without a waiter is not */
	ck_assert_int_eq(dnscache_lookup(cache, "slow.example", &addr, result_cb, &r[256]),
			 DNSCACHE_BUSY);
	ck_assert_int_eq(dnscache_lookup(cache, "other.example", &addr, result_cb, &r[256]),
			 DNSCACHE_BUSY);
	ck_assert_int_eq(lookup("other.example", &addr), DNSCACHE_PENDING);
	/* teardown frees evdns and the cache with all of them waiting: no call, no leak */
	for (int i = 0; i < 257; i++)
		ck_assert_int_eq(r[i].calls, 0);
}
END_TEST

START_TEST(entries_are_bounded)
{
	char name[32];
	struct netaddr addr;

	/* 128 names out at once fill the table: a 129th cannot be asked */
	for (int i = 0; i < 128; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		ud_silence(&server, name);
		ck_assert_int_eq(lookup(name, &addr), DNSCACHE_PENDING);
	}
	ck_assert_int_eq(lookup("h128.example", &addr), DNSCACHE_BUSY);
}
END_TEST

START_TEST(least_fresh_entry_makes_room)
{
	char name[32];
	struct netaddr addr;

	for (int i = 0; i < 128; i++) {
		snprintf(name, sizeof(name), "e%d.example", i);
		/* e7 expires first */
		ud_answer(&server, name, "192.0.2.77", i == 7 ? 20 : 200);
		ck_assert(resolve(name).ok);
	}
	ud_answer(&server, "new.example", "192.0.2.78", 60);
	ck_assert(resolve("new.example").ok);
	ck_assert(!dnscache_last_good(cache, "e7.example", &addr));
	ck_assert(dnscache_last_good(cache, "e6.example", &addr));
	ck_assert(dnscache_last_good(cache, "e8.example", &addr));
	ck_assert(dnscache_last_good(cache, "new.example", &addr));
	ck_assert_same_ip(addr, "192.0.2.78");
}
END_TEST

/* evdns holds a lookup while it has no name server (the daemon's reload
 * clears them and adds the new ones): the cache waits, and the answer comes
 * once a server is there. */
START_TEST(lookup_waits_for_a_name_server)
{
	struct evdns_base *none = evdns_base_new(base, 0);
	struct dnscache *c = dnscache_new(none);
	struct netaddr addr;
	struct result r = { 0 };

	ck_assert_ptr_nonnull(c);
	dnscache_set_clock(c, fake_clock);
	ud_answer(&server, "later.example", "192.0.2.88", 60);
	ck_assert_int_eq(dnscache_lookup(c, "later.example", &addr, result_cb, &r), DNSCACHE_PENDING);
	ck_assert(!uu_pump_until(base, called, &r, 300));
	ck_assert_uint_eq(ud_queries(&server, "later.example"), 0);
	ck_assert_int_eq(evdns_base_nameserver_sockaddr_add(none, (struct sockaddr *)&server.addr,
							    sizeof(server.addr), 0), 0);
	/* what daemon.c's reload does after adding the new servers */
	ck_assert_int_eq(evdns_base_resume(none), 0);
	ck_assert(uu_pump_until(base, called, &r, WAIT_MS));
	ck_assert(r.ok);
	ck_assert_same_ip(r.addr, "192.0.2.88");
	ck_assert_int_eq(dnscache_lookup(c, "later.example", &addr, NULL, NULL), DNSCACHE_HIT);
	evdns_base_free(none, 0);
	dnscache_free(c);
	dnscache_free(NULL);
}
END_TEST

/* Either family: the A record when there is one, the AAAA record when the
 * name has only that, and nothing more after NXDOMAIN. */
START_TEST(either_family_prefers_a_then_aaaa)
{
	static const struct {
		const char *name, *a, *aaaa, *want;
		unsigned aaaa_queries;
	} cases[] = {
		{ "both.example", "192.0.2.30", "2001:db8::30", "192.0.2.30", 0 },
		{ "v6only.example", NULL, "2001:db8::31", "2001:db8::31", 1 },
		{ "v4only.example", "192.0.2.32", NULL, "192.0.2.32", 0 },
		{ "missing.example", NULL, NULL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].a)
			ud_answer(&server, cases[i].name, cases[i].a, 60);
		if (cases[i].aaaa)
			ud_answer(&server, cases[i].name, cases[i].aaaa, 60);
		struct result r = resolve(cases[i].name);
		ck_assert_msg(r.ok == (cases[i].want != NULL), "%s", cases[i].name);
		if (cases[i].want)
			ck_assert_same_ip(r.addr, cases[i].want);
		ck_assert_uint_eq(ud_queries6(&server, cases[i].name), cases[i].aaaa_queries);
		struct netaddr addr;
		ck_assert_int_eq(lookup(cases[i].name, &addr),
				 cases[i].want ? DNSCACHE_HIT : DNSCACHE_NEGATIVE);
	}
}
END_TEST

/* One family asked on purpose (externhost's A and AAAA) is an entry of its
 * own: it neither answers nor spoils the either-family one. */
START_TEST(one_family_entries_stand_apart)
{
	struct netaddr addr;
	struct result r = { 0 };

	ud_answer(&server, "site.example", "203.0.113.40", 60);
	ud_answer(&server, "site.example", "2001:db8:40::1", 60);
	ck_assert_int_eq(dnscache_lookup_family(cache, "site.example", AF_INET6, &addr, result_cb, &r),
			 DNSCACHE_PENDING);
	ck_assert(uu_pump_until(base, called, &r, WAIT_MS));
	ck_assert(r.ok);
	ck_assert_same_ip(r.addr, "2001:db8:40::1");
	ck_assert_uint_eq(ud_queries(&server, "site.example"), 0);
	ck_assert_int_eq(dnscache_lookup_family(cache, "site.example", AF_INET6, &addr, NULL, NULL),
			 DNSCACHE_HIT);
	ck_assert_same_ip(addr, "2001:db8:40::1");
	/* the either-family question is still to be asked, and says IPv4 */
	ck_assert_int_eq(lookup("site.example", &addr), DNSCACHE_PENDING);
	r = resolve("site.example");
	ck_assert_same_ip(r.addr, "203.0.113.40");
	ck_assert(dnscache_last_good(cache, "site.example", &addr));
	ck_assert_same_ip(addr, "203.0.113.40");
	/* an A-only question for a name with only AAAA fails */
	ud_answer(&server, "only6.example", "2001:db8:41::1", 60);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(dnscache_lookup_family(cache, "only6.example", AF_INET, &addr, result_cb, &r),
			 DNSCACHE_PENDING);
	ck_assert(uu_pump_until(base, called, &r, WAIT_MS));
	ck_assert(!r.ok);
	ck_assert_uint_eq(ud_queries6(&server, "only6.example"), 0);
}
END_TEST

static Suite *dnscache_suite(void)
{
	Suite *s = suite_create("dnscache");
	TCase *tc = tcase_create("dnscache");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, miss_then_hit);
	tcase_add_test(tc, waiters_share_one_query);
	tcase_add_test(tc, refresh_without_a_callback);
	tcase_add_test(tc, ttl_bounds);
	tcase_add_test(tc, negative_caching);
	tcase_add_test(tc, failed_refresh_keeps_the_last_good_answer);
	tcase_add_test(tc, waiters_are_bounded);
	tcase_add_test(tc, entries_are_bounded);
	tcase_add_test(tc, least_fresh_entry_makes_room);
	tcase_add_test(tc, lookup_waits_for_a_name_server);
	tcase_add_test(tc, either_family_prefers_a_then_aaaa);
	tcase_add_test(tc, one_family_entries_stand_apart);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(dnscache_suite)
