/*
 * Unit tests for portmap_plan.c (issue 14): which router addresses may be
 * advertised, the lease and retry schedule, NAT-PMP's restart rule (RFC 6886
 * section 3.6), and the table of ports through a router's life: mapped,
 * renewed at half the lease, refused and retried, lost on a restart. The
 * clock is passed in.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "portmap_plan.h"

#define T0 ((time_t)100000)

static enum portmap_addr_kind kind_of(const char *ip)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, ip, &a), 1);
	return portmap_plan_addr_kind(a);
}

START_TEST(address_kinds)
{
	/* what a router behind another NAT or a carrier's NAT reports */
	ck_assert_int_eq(kind_of("10.0.0.1"), PORTMAP_ADDR_PRIVATE);
	ck_assert_int_eq(kind_of("10.255.255.255"), PORTMAP_ADDR_PRIVATE);
	ck_assert_int_eq(kind_of("172.16.0.1"), PORTMAP_ADDR_PRIVATE);
	ck_assert_int_eq(kind_of("172.31.255.254"), PORTMAP_ADDR_PRIVATE);
	ck_assert_int_eq(kind_of("192.168.1.1"), PORTMAP_ADDR_PRIVATE);
	ck_assert_int_eq(kind_of("100.64.0.1"), PORTMAP_ADDR_SHARED);
	ck_assert_int_eq(kind_of("100.127.255.254"), PORTMAP_ADDR_SHARED);
	/* nothing to advertise at all */
	ck_assert_int_eq(kind_of("0.0.0.0"), PORTMAP_ADDR_UNUSABLE);
	ck_assert_int_eq(kind_of("127.0.0.1"), PORTMAP_ADDR_UNUSABLE);
	ck_assert_int_eq(kind_of("169.254.3.4"), PORTMAP_ADDR_UNUSABLE);
	ck_assert_int_eq(kind_of("224.0.0.1"), PORTMAP_ADDR_UNUSABLE);
	ck_assert_int_eq(kind_of("255.255.255.255"), PORTMAP_ADDR_UNUSABLE);
	/* the neighbours of those ranges are public */
	ck_assert_int_eq(kind_of("172.15.255.255"), PORTMAP_ADDR_PUBLIC);
	ck_assert_int_eq(kind_of("172.32.0.0"), PORTMAP_ADDR_PUBLIC);
	ck_assert_int_eq(kind_of("100.63.255.255"), PORTMAP_ADDR_PUBLIC);
	ck_assert_int_eq(kind_of("100.128.0.0"), PORTMAP_ADDR_PUBLIC);
	ck_assert_int_eq(kind_of("192.169.0.1"), PORTMAP_ADDR_PUBLIC);
	ck_assert_int_eq(kind_of("11.0.0.1"), PORTMAP_ADDR_PUBLIC);
	ck_assert_int_eq(kind_of("203.0.113.1"), PORTMAP_ADDR_PUBLIC);
	ck_assert_str_eq(portmap_plan_addr_why(PORTMAP_ADDR_PUBLIC), "");
	ck_assert_ptr_nonnull(strstr(portmap_plan_addr_why(PORTMAP_ADDR_PRIVATE), "double NAT"));
	ck_assert_ptr_nonnull(strstr(portmap_plan_addr_why(PORTMAP_ADDR_SHARED), "100.64.0.0/10"));
}
END_TEST

START_TEST(schedule)
{
	/* renew at half the lease (RFC 6886 3.3), never in the same second */
	ck_assert_int_eq(portmap_plan_renew_at(T0, 3600), T0 + 1800);
	ck_assert_int_eq(portmap_plan_renew_at(T0, 21), T0 + 10);
	ck_assert_int_eq(portmap_plan_renew_at(T0, 1), T0 + 1);
	ck_assert_int_eq(portmap_plan_renew_at(T0, 0), T0 + PORTMAP_PERMANENT_REFRESH_S);
	/* the router is asked about itself twice a lease, at least every minute */
	ck_assert_int_eq(portmap_plan_check_s(20), 10);
	ck_assert_int_eq(portmap_plan_check_s(3600), PORTMAP_CHECK_MAX_S);
	ck_assert_int_eq(portmap_plan_check_s(0), PORTMAP_CHECK_MAX_S);
	ck_assert_int_eq(portmap_plan_check_s(1), 1);
	/* renewals close to their time join a round */
	ck_assert_int_eq(portmap_plan_batch_s(10), 1);
	ck_assert_int_eq(portmap_plan_batch_s(3600), 60);
	ck_assert_int_eq(portmap_plan_batch_s(240), 30);
	ck_assert_int_eq(portmap_plan_batch_s(0), 60); /* a permanent one: refreshed every 600 s */
	/* retries back off, capped */
	ck_assert_int_eq(portmap_plan_retry_s(0), PORTMAP_RETRY_MIN_S);
	ck_assert_int_eq(portmap_plan_retry_s(1), 5);
	ck_assert_int_eq(portmap_plan_retry_s(2), 10);
	ck_assert_int_eq(portmap_plan_retry_s(3), 20);
	ck_assert_int_eq(portmap_plan_retry_s(7), 300);
	ck_assert_int_eq(portmap_plan_retry_s(1000), PORTMAP_RETRY_MAX_S);
}
END_TEST

START_TEST(epoch)
{
	/* an epoch that kept pace with the clock: same router state */
	ck_assert(!portmap_plan_epoch_lost(1000, T0, 1060, T0 + 60));
	/* a little slower (7/8 of the time, less 2 s) is still fine */
	ck_assert(!portmap_plan_epoch_lost(1000, T0, 1000 + 80 * 7 / 8 - 2, T0 + 80));
	ck_assert(portmap_plan_epoch_lost(1000, T0, 1000 + 80 * 7 / 8 - 3, T0 + 80));
	/* restarted: the epoch went back */
	ck_assert(portmap_plan_epoch_lost(1000, T0, 5, T0 + 10));
	ck_assert(portmap_plan_epoch_lost(1000, T0, 997, T0));
	ck_assert(!portmap_plan_epoch_lost(1000, T0, 998, T0));   /* 2 s of slack */
	/* at once, the same epoch is fine; the clock never runs backwards here */
	ck_assert(!portmap_plan_epoch_lost(1000, T0, 1000, T0));
	ck_assert(!portmap_plan_epoch_lost(0, T0, 0, T0 - 5));
	/* epochs near the top of the 32-bit range */
	ck_assert(!portmap_plan_epoch_lost(0xfffffff0u, T0, 0xfffffffau, T0 + 10));
}
END_TEST

START_TEST(table_layout)
{
	struct portmap_table t;

	ck_assert(portmap_plan_table_init(&t, 5060, 10000, 10009, 512, T0));
	ck_assert_uint_eq(t.count, 11);
	ck_assert_uint_eq(t.entry[0].port, 5060);
	ck_assert_uint_eq(t.entry[1].port, 10000);
	ck_assert_uint_eq(t.entry[10].port, 10009);
	for (size_t i = 0; i < t.count; i++) {
		ck_assert(!t.entry[i].mapped);
		ck_assert_int_eq(t.entry[i].due_at, T0);
	}
	portmap_plan_table_free(&t);
	ck_assert_ptr_null(t.entry);

	/* the SIP port inside the pool is mapped once */
	ck_assert(portmap_plan_table_init(&t, 10004, 10000, 10009, 512, T0));
	ck_assert_uint_eq(t.count, 10);
	portmap_plan_table_free(&t);

	/* the bound holds */
	ck_assert(portmap_plan_table_init(&t, 5060, 10000, 10510, 512, T0));
	portmap_plan_table_free(&t);
	ck_assert(!portmap_plan_table_init(&t, 5060, 10000, 10511, 512, T0));
	ck_assert_ptr_null(t.entry);
	ck_assert_uint_eq(t.count, 0);
	ck_assert(!portmap_plan_table_init(&t, 5060, 0, 10, 512, T0));
}
END_TEST

/* A router's life: everything mapped, renewed at half the lease, one port
 * refused and retried, all lost at a restart and mapped again. */
START_TEST(lifecycle)
{
	struct portmap_table t;
	struct portmap_entry *e;
	long lo, hi;
	time_t now = T0;
	int asked = 0;

	ck_assert(portmap_plan_table_init(&t, 5060, 10000, 10003, 512, now));
	ck_assert_uint_eq(portmap_plan_mapped(&t, now, &lo, &hi), 0);
	while ((e = portmap_plan_due(&t, now, 0))) {
		portmap_plan_granted(e, now, 20, e->port);
		asked++;
	}
	ck_assert_int_eq(asked, 5);
	ck_assert_uint_eq(portmap_plan_mapped(&t, now, &lo, &hi), 5);
	ck_assert_int_eq(lo, 20);
	ck_assert_int_eq(hi, 20);
	ck_assert_int_eq(portmap_plan_next_due(&t, now + 1000), now + 10);
	ck_assert_ptr_null(portmap_plan_due(&t, now + 9, 0));
	/* renewals join a round a little early; nothing else does */
	ck_assert_ptr_nonnull(portmap_plan_due(&t, now + 9, 1));
	ck_assert_ptr_null(portmap_plan_due(&t, now + 8, 1));

	/* renewal at half the lease; one port is refused */
	now += 10;
	ck_assert_uint_eq(portmap_plan_mapped(&t, now, &lo, &hi), 5);
	ck_assert_int_eq(lo, 10);
	e = portmap_plan_due(&t, now, 0);
	ck_assert_ptr_nonnull(e);
	portmap_plan_failed(e, now);
	ck_assert(e->mapped);            /* its lease still runs */
	ck_assert_uint_eq(e->fails, 1);
	ck_assert_int_eq(e->due_at, now + 5);
	struct portmap_entry *refused = e;
	/* a failed one is not retried early, however far ahead a round looks */
	for (size_t i = 0; i < t.count; i++)
		if (&t.entry[i] != refused)
			t.entry[i].due_at = now + 100;
	ck_assert_ptr_null(portmap_plan_due(&t, now, 60));
	for (size_t i = 0; i < t.count; i++)
		if (&t.entry[i] != refused)
			t.entry[i].due_at = now;
	while ((e = portmap_plan_due(&t, now, 0)))
		portmap_plan_granted(e, now, 20, e->port);
	/* refused again and again: retried before its lease runs out, then lost */
	now += 5;
	ck_assert_ptr_eq(portmap_plan_due(&t, now, 0), refused);
	portmap_plan_failed(refused, now);
	ck_assert_int_eq(refused->due_at, T0 + 19);   /* 10 s would pass its expiry at T0 + 20 */
	now = T0 + 19;
	portmap_plan_failed(refused, now);
	ck_assert(refused->mapped);
	now = T0 + 20;
	ck_assert_uint_eq(portmap_plan_mapped(&t, now, &lo, &hi), 4);
	portmap_plan_failed(refused, now);
	ck_assert(!refused->mapped);
	ck_assert_int_eq(refused->due_at, now + 40);
	portmap_plan_granted(refused, now, 20, refused->port);
	ck_assert_uint_eq(refused->fails, 0);

	/* the router restarted: all due now, none mapped */
	portmap_plan_lost_all(&t, now);
	ck_assert_uint_eq(portmap_plan_mapped(&t, now, &lo, &hi), 0);
	asked = 0;
	while ((e = portmap_plan_due(&t, now, 0))) {
		portmap_plan_granted(e, now, 0, e->port);  /* permanent this time */
		asked++;
	}
	ck_assert_int_eq(asked, 5);
	ck_assert_uint_eq(portmap_plan_mapped(&t, now + 100000, &lo, &hi), 5);
	ck_assert_int_eq(lo, -1);
	ck_assert_int_eq(hi, -1);
	ck_assert_int_eq(portmap_plan_next_due(&t, 0), now + PORTMAP_PERMANENT_REFRESH_S);
	portmap_plan_table_free(&t);
}
END_TEST

/* The router gave another public port: kept, for the status to show. */
START_TEST(other_public_port)
{
	struct portmap_table t;

	ck_assert(portmap_plan_table_init(&t, 5060, 10000, 10003, 512, T0));
	portmap_plan_granted(&t.entry[0], T0, 7200, 40000);
	ck_assert(t.entry[0].mapped);
	ck_assert_uint_eq(t.entry[0].public_port, 40000);
	ck_assert_int_eq(t.entry[0].expires_at, T0 + 7200);
	portmap_plan_table_free(&t);
}
END_TEST

static Suite *portmap_plan_suite(void)
{
	Suite *s = suite_create("portmap_plan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, address_kinds);
	tcase_add_test(tc, schedule);
	tcase_add_test(tc, epoch);
	tcase_add_test(tc, table_layout);
	tcase_add_test(tc, lifecycle);
	tcase_add_test(tc, other_public_port);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(portmap_plan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
