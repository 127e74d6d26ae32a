/*
 * Unit tests for cmdline.c: every option of design section 4, their
 * combinations, and the exact words of a usage error (main prints them).
 */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "conf.h"
#include "../support/unit_main.h"

/* getopt may permute argv and cmdline keeps pointers into it: the words live
 * in writable storage for the whole test. */
static char words[16][128];
static char *argv_store[17];

/* Parse "sipnatd" followed by the given words (NULL-terminated). */
static void parse(struct cmdline *cmd, ...)
{
	va_list ap;
	const char *w;
	int argc = 0;

	strcpy(words[argc], "sipnatd");
	argv_store[argc] = words[argc];
	argc++;
	va_start(ap, cmd);
	while ((w = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(argc, 16);
		ck_assert_uint_lt(strlen(w), sizeof(words[0]));
		strcpy(words[argc], w);
		argv_store[argc] = words[argc];
		argc++;
	}
	va_end(ap);
	argv_store[argc] = NULL;
	memset(cmd, 0x5a, sizeof(*cmd)); /* nothing may be left from before */
	cmdline_parse(argc, argv_store, cmd);
}

START_TEST(defaults)
{
	struct cmdline cmd;

	parse(&cmd, NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_RUN);
	ck_assert(!cmd.foreground);
	ck_assert_int_eq(cmd.debug, 0);
	ck_assert_str_eq(cmd.conf_path, CONF_DEFAULT_PATH);
	ck_assert_str_eq(cmd.conf_path, "/etc/sipnatd/sipnatd.conf");
	ck_assert_str_eq(cmd.pid_path, CMDLINE_DEFAULT_PIDFILE);
	ck_assert_str_eq(cmd.error, "");
}
END_TEST

/* What the systemd unit runs. */
START_TEST(foreground_with_conf)
{
	struct cmdline cmd;

	parse(&cmd, "-f", "-c", "/etc/sipnatd/test.conf", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_RUN);
	ck_assert(cmd.foreground);
	ck_assert_str_eq(cmd.conf_path, "/etc/sipnatd/test.conf");
	ck_assert_str_eq(cmd.pid_path, CMDLINE_DEFAULT_PIDFILE);
}
END_TEST

START_TEST(debug_counts)
{
	struct cmdline cmd;

	parse(&cmd, "-d", NULL);
	ck_assert_int_eq(cmd.debug, 1);
	parse(&cmd, "-dd", NULL);
	ck_assert_int_eq(cmd.debug, 2);
	parse(&cmd, "-d", "-f", "-dd", NULL);
	ck_assert_int_eq(cmd.debug, 3);
	ck_assert(cmd.foreground);
	ck_assert_int_eq(cmd.action, CMDLINE_RUN);
}
END_TEST

START_TEST(bundled_and_attached)
{
	struct cmdline cmd;

	parse(&cmd, "-fdc/tmp/s.conf", "-p/run/s.pid", NULL);
	ck_assert(cmd.foreground);
	ck_assert_int_eq(cmd.debug, 1);
	ck_assert_str_eq(cmd.conf_path, "/tmp/s.conf");
	ck_assert_str_eq(cmd.pid_path, "/run/s.pid");
	ck_assert_int_eq(cmd.action, CMDLINE_RUN);
}
END_TEST

START_TEST(pidfile)
{
	struct cmdline cmd;

	parse(&cmd, "-p", "/run/sipnatd/other.pid", NULL);
	ck_assert_str_eq(cmd.pid_path, "/run/sipnatd/other.pid");
	ck_assert_str_eq(cmd.conf_path, CONF_DEFAULT_PATH);
}
END_TEST

/* An option argument is taken as is, even when it looks like an option. */
START_TEST(argument_looking_like_option)
{
	struct cmdline cmd;

	parse(&cmd, "-c", "-f", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_RUN);
	ck_assert_str_eq(cmd.conf_path, "-f");
	ck_assert(!cmd.foreground);
}
END_TEST

/* The last -c wins. */
START_TEST(repeated_conf)
{
	struct cmdline cmd;

	parse(&cmd, "-c", "/a.conf", "-c", "/b.conf", NULL);
	ck_assert_str_eq(cmd.conf_path, "/b.conf");
}
END_TEST

START_TEST(check_config)
{
	struct cmdline cmd;

	parse(&cmd, "-t", "-c", "/etc/sipnatd/new.conf", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_CHECK);
	ck_assert_str_eq(cmd.conf_path, "/etc/sipnatd/new.conf");
}
END_TEST

/* -V and -h win over -t, in any order. */
START_TEST(version_and_help_win)
{
	struct cmdline cmd;

	parse(&cmd, "-V", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_VERSION);
	parse(&cmd, "-t", "-V", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_VERSION);
	parse(&cmd, "-V", "-t", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_VERSION);
	parse(&cmd, "-h", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_HELP);
	parse(&cmd, "-h", "-t", "-f", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_HELP);
}
END_TEST

START_TEST(missing_argument)
{
	struct cmdline cmd;

	parse(&cmd, "-f", "-c", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	ck_assert_str_eq(cmd.error, "option -c needs an argument");
	parse(&cmd, "-p", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	ck_assert_str_eq(cmd.error, "option -p needs an argument");
}
END_TEST

START_TEST(unknown_option)
{
	struct cmdline cmd;

	parse(&cmd, "-f", "-x", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	ck_assert_str_eq(cmd.error, "unknown option -x");
	/* an error is an error even after -h */
	parse(&cmd, "-h", "-q", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	ck_assert_str_eq(cmd.error, "unknown option -q");
}
END_TEST

START_TEST(unexpected_argument)
{
	struct cmdline cmd;

	parse(&cmd, "-f", "/etc/sipnatd/sipnatd.conf", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	ck_assert_str_eq(cmd.error, "unexpected argument '/etc/sipnatd/sipnatd.conf'");
	/* before the options too (GNU getopt moves it to the end) */
	parse(&cmd, "start", "-f", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	ck_assert_str_eq(cmd.error, "unexpected argument 'start'");
	/* and after "--" */
	parse(&cmd, "-f", "--", "-d", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	ck_assert_str_eq(cmd.error, "unexpected argument '-d'");
	ck_assert_int_eq(cmd.debug, 0);
}
END_TEST

/* Parsing again starts afresh (getopt state is reset): an error first, then a
 * good command line. */
START_TEST(reparse_after_error)
{
	struct cmdline cmd;

	parse(&cmd, "-x", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	parse(&cmd, "-d", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_RUN);
	ck_assert_int_eq(cmd.debug, 1);
	ck_assert_str_eq(cmd.error, "");
	parse(&cmd, "-c", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_ERROR);
	parse(&cmd, "-t", NULL);
	ck_assert_int_eq(cmd.action, CMDLINE_CHECK);
}
END_TEST

START_TEST(usage_text)
{
	static const char first[] = "usage: sipnatd [-f] [-d]... [-c FILE] [-p PIDFILE] [-t] [-V] [-h]\n";
	const char *u = cmdline_usage();

	ck_assert_int_eq(strncmp(u, first, strlen(first)), 0);
	ck_assert_ptr_nonnull(strstr(u, "(default " CONF_DEFAULT_PATH ")"));
	ck_assert_ptr_nonnull(strstr(u, "(default " CMDLINE_DEFAULT_PIDFILE ")"));
	for (const char *opt = "fdcptVh"; *opt; opt++) {
		char needle[8] = { ' ', ' ', '-', *opt, ' ', '\0' };
		ck_assert_msg(strstr(u, needle) != NULL, "no help line for -%c", *opt);
	}
	ck_assert_int_eq(u[strlen(u) - 1], '\n');
}
END_TEST

static Suite *cmdline_suite(void)
{
	Suite *s = suite_create("cmdline");
	TCase *tc = tcase_create("cmdline");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, foreground_with_conf);
	tcase_add_test(tc, debug_counts);
	tcase_add_test(tc, bundled_and_attached);
	tcase_add_test(tc, pidfile);
	tcase_add_test(tc, argument_looking_like_option);
	tcase_add_test(tc, repeated_conf);
	tcase_add_test(tc, check_config);
	tcase_add_test(tc, version_and_help_win);
	tcase_add_test(tc, missing_argument);
	tcase_add_test(tc, unknown_option);
	tcase_add_test(tc, unexpected_argument);
	tcase_add_test(tc, reparse_after_error);
	tcase_add_test(tc, usage_text);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(cmdline_suite)
