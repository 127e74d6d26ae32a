/*
 * Unit tests for log.c: the level filter, the foreground line format, and the
 * rate limit that keeps a flood of bad datagrams down to a handful of lines.
 * Lines are captured with log_set_stream on a tmpfile().
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "../support/unit_main.h"

#define MAX_LINES 32

static FILE *out;
static char lines[MAX_LINES][4096];
static int n_lines;

static void setup(void)
{
	out = tmpfile();
	ck_assert_ptr_nonnull(out);
	log_open(true);
	log_set_stream(out);
	log_set_level(LOG_NOTICE);
}

static void teardown(void)
{
	log_set_stream(NULL);
	fclose(out);
}

/* Read everything logged so far into lines[], without the trailing newline. */
static void collect(void)
{
	n_lines = 0;
	fflush(out);
	rewind(out);
	while (n_lines < MAX_LINES && fgets(lines[n_lines], sizeof(lines[0]), out)) {
		size_t len = strlen(lines[n_lines]);
		ck_assert_msg(len > 0 && lines[n_lines][len - 1] == '\n', "unterminated line");
		lines[n_lines][len - 1] = '\0';
		n_lines++;
	}
}

/* The text after the timestamp: "notice: hello". */
static const char *body(int i)
{
	ck_assert_int_lt(i, n_lines);
	ck_assert_uint_gt(strlen(lines[i]), 24);
	return lines[i] + 24;
}

START_TEST(line_format)
{
	int y, mo, d, h, mi, s, ms;
	char rest[64];

	log_notice("listening on %s:%d", "127.0.10.1", 5060);
	collect();
	ck_assert_int_eq(n_lines, 1);
	/* "2026-11-25 22:40:13.979 notice: listening on 127.0.10.1:5060" */
	ck_assert_int_eq(sscanf(lines[0], "%4d-%2d-%2d %2d:%2d:%2d.%3d %63[^\n]", &y, &mo, &d, &h, &mi,
				&s, &ms, rest),
			 8);
	ck_assert_int_eq(lines[0][23], ' ');
	ck_assert_str_eq(body(0), "notice: listening on 127.0.10.1:5060");
	ck_assert(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && ms >= 0 && ms <= 999);
}
END_TEST

START_TEST(level_filter)
{
	log_set_level(LOG_WARNING);
	ck_assert_int_eq(log_get_level(), LOG_WARNING);
	ck_assert(log_enabled(LOG_ERR));
	ck_assert(log_enabled(LOG_WARNING));
	ck_assert(!log_enabled(LOG_NOTICE));
	ck_assert(!log_enabled(LOG_DEBUG));

	log_err("e%d", 1);
	log_warn("w%d", 2);
	log_notice("n%d", 3);
	log_info("i%d", 4);
	log_debug("d%d", 5);
	log_set_level(LOG_DEBUG);
	log_debug("d%d", 6);
	log_info("i%d", 7);
	collect();
	ck_assert_int_eq(n_lines, 4);
	ck_assert_str_eq(body(0), "error: e1");
	ck_assert_str_eq(body(1), "warning: w2");
	ck_assert_str_eq(body(2), "debug: d6");
	ck_assert_str_eq(body(3), "info: i7");
}
END_TEST

/* The default is notice; out-of-range levels are clamped. */
START_TEST(level_default_and_clamp)
{
	ck_assert_int_eq(log_get_level(), LOG_NOTICE);
	log_set_level(42);
	ck_assert_int_eq(log_get_level(), LOG_DEBUG);
	log_set_level(-3);
	ck_assert_int_eq(log_get_level(), LOG_EMERG);
	ck_assert(!log_enabled(LOG_ERR));
	log_err("hidden");
	collect();
	ck_assert_int_eq(n_lines, 0);
}
END_TEST

/* A message longer than a line buffer comes out as one cut line. */
START_TEST(long_message_one_line)
{
	char *big = malloc(5000);

	ck_assert_ptr_nonnull(big);
	memset(big, 'v', 4999);
	big[4999] = '\0';
	log_notice("via %s", big);
	log_notice("next");
	collect();
	ck_assert_int_eq(n_lines, 2);
	ck_assert_uint_lt(strlen(lines[0]), 2048);
	ck_assert_uint_gt(strlen(lines[0]), 1000);
	ck_assert_str_eq(body(1), "notice: next");
	free(big);
}
END_TEST

/* A flood: the burst passes, the rest is counted. */
START_TEST(limited_burst)
{
	struct log_limit limit = LOG_LIMIT_INIT(60, 3);

	for (int i = 0; i < 10; i++)
		log_limited(&limit, LOG_NOTICE, "malformed datagram %d from 127.0.30.5:40000", i);
	collect();
	ck_assert_int_eq(n_lines, 3);
	ck_assert_str_eq(body(0), "notice: malformed datagram 0 from 127.0.30.5:40000");
	ck_assert_str_eq(body(2), "notice: malformed datagram 2 from 127.0.30.5:40000");
	ck_assert_uint_eq(limit.suppressed, 7);
}
END_TEST

/* After the interval, the first line says how many were suppressed. The clock
 * is moved by rewinding the window (the struct is public for LOG_LIMIT_INIT). */
START_TEST(limited_reports_suppressed)
{
	struct log_limit limit = LOG_LIMIT_INIT(60, 2);

	for (int i = 0; i < 7; i++)
		log_limited(&limit, LOG_NOTICE, "bad request %d", i);
	/* still inside the interval: nothing more */
	log_limited(&limit, LOG_NOTICE, "bad request 7");
	collect();
	ck_assert_int_eq(n_lines, 2);

	limit.window_start -= 60;
	log_limited(&limit, LOG_NOTICE, "bad request 8");
	collect();
	ck_assert_int_eq(n_lines, 4);
	ck_assert_str_eq(body(2), "notice: (6 similar messages suppressed in the last 60 s)");
	ck_assert_str_eq(body(3), "notice: bad request 8");
	ck_assert_uint_eq(limit.suppressed, 0);

	/* a new window: a full burst again, then silence */
	log_limited(&limit, LOG_NOTICE, "bad request 9");
	log_limited(&limit, LOG_NOTICE, "bad request 10");
	collect();
	ck_assert_int_eq(n_lines, 5);
	ck_assert_str_eq(body(4), "notice: bad request 9");
	ck_assert_uint_eq(limit.suppressed, 1);
}
END_TEST

/* A quiet spell with nothing suppressed adds no report line. */
START_TEST(limited_no_report_when_nothing_suppressed)
{
	struct log_limit limit = LOG_LIMIT_INIT(10, 2);

	log_limited(&limit, LOG_WARNING, "one");
	limit.window_start -= 10;
	log_limited(&limit, LOG_WARNING, "two");
	collect();
	ck_assert_int_eq(n_lines, 2);
	ck_assert_str_eq(body(0), "warning: one");
	ck_assert_str_eq(body(1), "warning: two");
}
END_TEST

/* The same with the real clock: wait (polling, at most about a second) until
 * the one-second window has passed. */
START_TEST(limited_real_interval)
{
	struct log_limit limit = LOG_LIMIT_INIT(1, 2);
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	int waited_ms = 0;

	for (int i = 0; i < 5; i++)
		log_limited(&limit, LOG_NOTICE, "stranger's RTP %d", i);
	collect();
	ck_assert_int_eq(n_lines, 2);
	while (time(NULL) < limit.window_start + limit.interval_s) {
		ck_assert_int_lt(waited_ms, 1100);
		nanosleep(&tick, NULL);
		waited_ms += 10;
	}
	log_limited(&limit, LOG_NOTICE, "stranger's RTP %d", 5);
	collect();
	ck_assert_int_eq(n_lines, 4);
	ck_assert_str_eq(body(2), "notice: (3 similar messages suppressed in the last 1 s)");
	ck_assert_str_eq(body(3), "notice: stranger's RTP 5");
}
END_TEST

/* Lines below the level are neither printed nor counted against the burst. */
START_TEST(limited_respects_level)
{
	struct log_limit limit = LOG_LIMIT_INIT(60, 2);

	for (int i = 0; i < 5; i++)
		log_limited(&limit, LOG_DEBUG, "keep-alive %d", i);
	ck_assert_int_eq(limit.in_window, 0);
	ck_assert_uint_eq(limit.suppressed, 0);
	log_limited(&limit, LOG_NOTICE, "shown 1");
	log_limited(&limit, LOG_NOTICE, "shown 2");
	collect();
	ck_assert_int_eq(n_lines, 2);
	ck_assert_str_eq(body(0), "notice: shown 1");
}
END_TEST

/* Each call site has its own budget. */
START_TEST(limited_independent)
{
	struct log_limit a = LOG_LIMIT_INIT(60, 1), b = LOG_LIMIT_INIT(60, 1);

	log_limited(&a, LOG_NOTICE, "a1");
	log_limited(&a, LOG_NOTICE, "a2");
	log_limited(&b, LOG_NOTICE, "b1");
	collect();
	ck_assert_int_eq(n_lines, 2);
	ck_assert_str_eq(body(0), "notice: a1");
	ck_assert_str_eq(body(1), "notice: b1");
	ck_assert_uint_eq(a.suppressed, 1);
	ck_assert_uint_eq(b.suppressed, 0);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("level");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, line_format);
	tcase_add_test(tc, level_filter);
	tcase_add_test(tc, level_default_and_clamp);
	tcase_add_test(tc, long_message_one_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("limited");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, limited_burst);
	tcase_add_test(tc, limited_reports_suppressed);
	tcase_add_test(tc, limited_no_report_when_nothing_suppressed);
	tcase_add_test(tc, limited_real_interval);
	tcase_add_test(tc, limited_respects_level);
	tcase_add_test(tc, limited_independent);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(log_suite)
