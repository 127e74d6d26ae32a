/*
 * Unit tests for dialogs.c: the (Call-ID, tag) table the authenticate step
 * asks about in-dialog requests from the Internet. Time is injected: every
 * test starts at T0 and moves the clock by hand.
 */
#include <check.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "dialogs.h"
#include "../support/unit_main.h"

#define T0 ((time_t)1700000000)

START_TEST(note_and_known)
{
	struct dialogs *t = dialogs_new(16);
	const char *peer = NULL;

	ck_assert_ptr_nonnull(t);
	ck_assert(!dialogs_known(t, "c1@h", "tagA", T0, NULL));
	ck_assert(dialogs_note(t, "c1@h", "tagA", "alice", DIALOG_EARLY, T0));
	ck_assert_uint_eq(dialogs_count(t), 1);
	ck_assert(dialogs_known(t, "c1@h", "tagA", T0 + 1, &peer));
	ck_assert_str_eq(peer, "alice");
	/* the key is the pair: another tag, another Call-ID are unknown */
	ck_assert(!dialogs_known(t, "c1@h", "tagB", T0 + 1, NULL));
	ck_assert(!dialogs_known(t, "c2@h", "tagA", T0 + 1, NULL));
	/* "a\nb" + "c" must not collide with "a" + "b\nc"-like splits */
	ck_assert(!dialogs_known(t, "c1@htagA", "", T0 + 1, NULL));
	/* noting it again does not add a second entry */
	ck_assert(dialogs_note(t, "c1@h", "tagA", NULL, DIALOG_EARLY, T0 + 2));
	ck_assert_uint_eq(dialogs_count(t), 1);
	dialogs_free(t);
}
END_TEST

START_TEST(peer_kept)
{
	struct dialogs *t = dialogs_new(16);
	const char *peer = NULL;

	ck_assert(dialogs_note(t, "c1", "t1", "alice", DIALOG_EARLY, T0));
	/* a later note without a peer keeps the name */
	ck_assert(dialogs_note(t, "c1", "t1", NULL, DIALOG_CONFIRMED, T0 + 1));
	ck_assert(dialogs_known(t, "c1", "t1", T0 + 2, &peer));
	ck_assert_str_eq(peer, "alice");
	ck_assert(dialogs_note(t, "c1", "t1", "", DIALOG_ENDED, T0 + 3));
	ck_assert(dialogs_known(t, "c1", "t1", T0 + 4, &peer));
	ck_assert_str_eq(peer, "alice");
	/* none given: "" */
	ck_assert(dialogs_note(t, "c2", "t2", NULL, DIALOG_EARLY, T0));
	peer = NULL;
	ck_assert(dialogs_known(t, "c2", "t2", T0 + 1, &peer));
	ck_assert_str_eq(peer, "");
	dialogs_free(t);
}
END_TEST

START_TEST(never_moves_back)
{
	struct dialogs *t = dialogs_new(16);

	ck_assert(dialogs_note(t, "c1", "t1", NULL, DIALOG_EARLY, T0));
	ck_assert(dialogs_note(t, "c1", "t1", NULL, DIALOG_CONFIRMED, T0 + 10));
	/* a late provisional response does not make it early again */
	ck_assert(dialogs_note(t, "c1", "t1", NULL, DIALOG_EARLY, T0 + 20));
	/* still confirmed: alive well past the early lifetime */
	ck_assert(dialogs_known(t, "c1", "t1", T0 + 20 + DIALOGS_EARLY_S + 100, NULL));

	ck_assert(dialogs_note(t, "c1", "t1", NULL, DIALOG_ENDED, T0 + 1000));
	/* ENDED stays ENDED: neither a re-INVITE's 200 nor a 180 revives it */
	ck_assert(dialogs_note(t, "c1", "t1", NULL, DIALOG_CONFIRMED, T0 + 1001));
	ck_assert(dialogs_note(t, "c1", "t1", NULL, DIALOG_EARLY, T0 + 1002));
	ck_assert(dialogs_known(t, "c1", "t1", T0 + 1002 + DIALOGS_LINGER_S - 1, NULL));
	ck_assert(!dialogs_known(t, "c1", "t1", T0 + 1002 + DIALOGS_LINGER_S, NULL));
	dialogs_free(t);
}
END_TEST

START_TEST(lifetimes)
{
	struct dialogs *t = dialogs_new(16);

	/* early: DIALOGS_EARLY_S (200 s) after the last note or known() */
	ck_assert_int_eq(DIALOGS_EARLY_S, 200);
	ck_assert(dialogs_note(t, "e", "t", NULL, DIALOG_EARLY, T0));
	ck_assert(dialogs_known(t, "e", "t", T0 + 199, NULL));
	ck_assert(!dialogs_known(t, "e", "t", T0 + 199 + 200, NULL));
	ck_assert(dialogs_note(t, "e2", "t", NULL, DIALOG_EARLY, T0));
	ck_assert(!dialogs_known(t, "e2", "t", T0 + 200, NULL));

	/* confirmed: 12 h idle, refreshed by known() */
	ck_assert_int_eq(DIALOGS_IDLE_S, 12 * 3600);
	ck_assert(dialogs_note(t, "c", "t", NULL, DIALOG_CONFIRMED, T0));
	ck_assert(dialogs_known(t, "c", "t", T0 + DIALOGS_IDLE_S - 1, NULL));
	/* refreshed at T0 + IDLE - 1: alive until T0 + 2 * IDLE - 1 */
	ck_assert(dialogs_known(t, "c", "t", T0 + 2 * DIALOGS_IDLE_S - 2, NULL));
	ck_assert(!dialogs_known(t, "c", "t", T0 + 3 * DIALOGS_IDLE_S, NULL));

	/* a confirmed dialog nobody asks about expires after 12 h */
	ck_assert(dialogs_note(t, "c2", "t", NULL, DIALOG_CONFIRMED, T0));
	ck_assert(!dialogs_known(t, "c2", "t", T0 + DIALOGS_IDLE_S, NULL));

	/* ended: 32 s after its BYE, not refreshed by known() */
	ck_assert_int_eq(DIALOGS_LINGER_S, 32);
	ck_assert(dialogs_note(t, "x", "t", NULL, DIALOG_CONFIRMED, T0));
	ck_assert(dialogs_note(t, "x", "t", NULL, DIALOG_ENDED, T0 + 100));
	ck_assert(dialogs_known(t, "x", "t", T0 + 120, NULL));
	ck_assert(dialogs_known(t, "x", "t", T0 + 131, NULL));
	ck_assert(!dialogs_known(t, "x", "t", T0 + 132, NULL));
	dialogs_free(t);
}
END_TEST

START_TEST(expire_exactly)
{
	struct dialogs *t = dialogs_new(16);

	ck_assert(dialogs_note(t, "early", "t", NULL, DIALOG_EARLY, T0));
	ck_assert(dialogs_note(t, "conf", "t", NULL, DIALOG_CONFIRMED, T0));
	ck_assert(dialogs_note(t, "ended", "t", NULL, DIALOG_ENDED, T0));
	ck_assert_uint_eq(dialogs_count(t), 3);

	ck_assert_uint_eq(dialogs_expire(t, T0 + DIALOGS_LINGER_S - 1), 0);
	ck_assert_uint_eq(dialogs_count(t), 3);
	ck_assert_uint_eq(dialogs_expire(t, T0 + DIALOGS_LINGER_S), 1);
	ck_assert_uint_eq(dialogs_count(t), 2);
	/* (known() refreshes what it finds, so only the gone one is asked) */
	ck_assert(!dialogs_known(t, "ended", "t", T0 + DIALOGS_LINGER_S, NULL));

	/* a dialog noted after the last expire, with an earlier end, still goes */
	ck_assert(dialogs_note(t, "ended2", "t", NULL, DIALOG_ENDED, T0 + 40));
	ck_assert_uint_eq(dialogs_expire(t, T0 + 40 + DIALOGS_LINGER_S), 1);
	ck_assert_uint_eq(dialogs_count(t), 2);

	ck_assert_uint_eq(dialogs_expire(t, T0 + DIALOGS_EARLY_S - 1), 0);
	ck_assert_uint_eq(dialogs_expire(t, T0 + DIALOGS_EARLY_S), 1);
	ck_assert_uint_eq(dialogs_count(t), 1);
	ck_assert(dialogs_known(t, "conf", "t", T0 + DIALOGS_EARLY_S, NULL));
	ck_assert_uint_eq(dialogs_expire(t, T0 + DIALOGS_EARLY_S + DIALOGS_IDLE_S - 1), 0);
	ck_assert_uint_eq(dialogs_expire(t, T0 + DIALOGS_EARLY_S + DIALOGS_IDLE_S), 1);
	ck_assert_uint_eq(dialogs_count(t), 0);
	ck_assert_uint_eq(dialogs_expire(t, T0 + 10 * DIALOGS_IDLE_S), 0);
	dialogs_free(t);
}
END_TEST

START_TEST(full_table)
{
	struct dialogs *t = dialogs_new(4);
	char cid[32];

	for (int i = 0; i < 4; i++) {
		snprintf(cid, sizeof(cid), "call%d", i);
		ck_assert(dialogs_note(t, cid, "t", NULL, DIALOG_EARLY, T0));
	}
	ck_assert_uint_eq(dialogs_count(t), 4);
	/* all live and none ended: refused */
	ck_assert(!dialogs_note(t, "new", "t", NULL, DIALOG_EARLY, T0 + 1));
	ck_assert(!dialogs_known(t, "new", "t", T0 + 1, NULL));
	ck_assert_uint_eq(dialogs_count(t), 4);
	/* an existing one still moves forward in a full table */
	ck_assert(dialogs_note(t, "call0", "t", NULL, DIALOG_CONFIRMED, T0 + 1));

	/* one ended: it makes room */
	ck_assert(dialogs_note(t, "call1", "t", NULL, DIALOG_ENDED, T0 + 2));
	ck_assert(dialogs_note(t, "new", "t", NULL, DIALOG_EARLY, T0 + 3));
	ck_assert_uint_eq(dialogs_count(t), 4);
	ck_assert(!dialogs_known(t, "call1", "t", T0 + 3, NULL));
	ck_assert(dialogs_known(t, "new", "t", T0 + 3, NULL));
	ck_assert(dialogs_known(t, "call0", "t", T0 + 3, NULL));
	ck_assert(dialogs_known(t, "call2", "t", T0 + 3, NULL));
	ck_assert(dialogs_known(t, "call3", "t", T0 + 3, NULL));
	ck_assert(!dialogs_note(t, "new2", "t", NULL, DIALOG_EARLY, T0 + 4));

	/* expired ones go first: known() at T0 + 3 refreshed the early ones
	 * (new, call2, call3) until T0 + 203; call0 is confirmed. At T0 + 203
	 * the three early ones have expired, so new ones fit and call0 stays. */
	ck_assert(dialogs_note(t, "new2", "t", NULL, DIALOG_EARLY, T0 + 3 + DIALOGS_EARLY_S));
	ck_assert_uint_eq(dialogs_count(t), 2);
	ck_assert(dialogs_note(t, "new3", "t", NULL, DIALOG_EARLY, T0 + 3 + DIALOGS_EARLY_S));
	ck_assert(dialogs_note(t, "new4", "t", NULL, DIALOG_EARLY, T0 + 3 + DIALOGS_EARLY_S));
	ck_assert_uint_eq(dialogs_count(t), 4);
	ck_assert(dialogs_known(t, "call0", "t", T0 + 3 + DIALOGS_EARLY_S, NULL));
	ck_assert(!dialogs_note(t, "new5", "t", NULL, DIALOG_EARLY, T0 + 3 + DIALOGS_EARLY_S));
	dialogs_free(t);
}
END_TEST

START_TEST(many_dialogs)
{
	struct dialogs *t = dialogs_new(10000);
	char cid[32];

	for (int i = 0; i < 10000; i++) {
		snprintf(cid, sizeof(cid), "call-%d@example", i);
		ck_assert(dialogs_note(t, cid, "tag", NULL, i % 2 ? DIALOG_CONFIRMED : DIALOG_EARLY, T0));
	}
	ck_assert_uint_eq(dialogs_count(t), 10000);
	ck_assert(dialogs_known(t, "call-9999@example", "tag", T0 + 1, NULL));
	ck_assert_uint_eq(dialogs_expire(t, T0 + DIALOGS_EARLY_S), 5000);
	ck_assert_uint_eq(dialogs_count(t), 5000);
	ck_assert(dialogs_known(t, "call-9999@example", "tag", T0 + DIALOGS_EARLY_S, NULL));
	ck_assert(!dialogs_known(t, "call-9998@example", "tag", T0 + DIALOGS_EARLY_S, NULL));
	dialogs_free(t);
}
END_TEST

static Suite *dialogs_suite(void)
{
	Suite *s = suite_create("dialogs");
	TCase *tc = tcase_create("dialogs");

	tcase_add_test(tc, note_and_known);
	tcase_add_test(tc, peer_kept);
	tcase_add_test(tc, never_moves_back);
	tcase_add_test(tc, lifetimes);
	tcase_add_test(tc, expire_exactly);
	tcase_add_test(tc, full_table);
	tcase_add_test(tc, many_dialogs);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(dialogs_suite)
