/*
 * Unit tests for peerlimit.c (issue 10): calllimit counts calls, maxrelays
 * counts relay pairs, 0 means no limit, and each refusal has its SIP answer
 * (486 Busy Here for the call limit, 503 for the relay cap).
 */
#include <check.h>
#include <stdlib.h>

#include "peerlimit.h"

START_TEST(no_limits)
{
	ck_assert_int_eq(peerlimit_check(0, 0, 1000, 5000, true, 16), PEERLIMIT_OK);
}
END_TEST

START_TEST(call_limit)
{
	ck_assert_int_eq(peerlimit_check(2, 0, 0, 0, true, 1), PEERLIMIT_OK);
	ck_assert_int_eq(peerlimit_check(2, 0, 1, 1, true, 1), PEERLIMIT_OK);
	ck_assert_int_eq(peerlimit_check(2, 0, 2, 2, true, 1), PEERLIMIT_CALLS);
	ck_assert_int_eq(peerlimit_check(1, 0, 1, 1, true, 0), PEERLIMIT_CALLS);
	/* a call in progress (re-INVITE, video added) is not a new call */
	ck_assert_int_eq(peerlimit_check(2, 0, 2, 2, false, 1), PEERLIMIT_OK);
}
END_TEST

START_TEST(relay_limit)
{
	ck_assert_int_eq(peerlimit_check(0, 3, 1, 2, true, 1), PEERLIMIT_OK);
	ck_assert_int_eq(peerlimit_check(0, 3, 1, 2, true, 2), PEERLIMIT_RELAYS);
	ck_assert_int_eq(peerlimit_check(0, 3, 3, 3, true, 1), PEERLIMIT_RELAYS);
	/* adding video to a call in progress counts too */
	ck_assert_int_eq(peerlimit_check(0, 3, 2, 3, false, 1), PEERLIMIT_RELAYS);
	/* a directmedia call takes no pair */
	ck_assert_int_eq(peerlimit_check(0, 3, 3, 3, true, 0), PEERLIMIT_OK);
	/* both limits: the call limit speaks first */
	ck_assert_int_eq(peerlimit_check(1, 1, 1, 1, true, 1), PEERLIMIT_CALLS);
}
END_TEST

START_TEST(answers)
{
	ck_assert_int_eq(peerlimit_status(PEERLIMIT_CALLS), 486);
	ck_assert_int_eq(peerlimit_status(PEERLIMIT_RELAYS), 503);
	ck_assert_int_eq(peerlimit_status(PEERLIMIT_OK), 0);
	ck_assert_str_eq(peerlimit_reason(PEERLIMIT_CALLS), "Busy Here (call limit)");
	ck_assert_str_eq(peerlimit_reason(PEERLIMIT_RELAYS), "Service Unavailable (relay limit)");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("peerlimit");
	TCase *tc = tcase_create("peerlimit");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, no_limits);
	tcase_add_test(tc, call_limit);
	tcase_add_test(tc, relay_limit);
	tcase_add_test(tc, answers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
