/*
 * Unit tests for notify.c: what reaches the service manager. The test plays
 * systemd: a UNIX datagram socket in a temporary directory named by
 * NOTIFY_SOCKET, and WATCHDOG_USEC/WATCHDOG_PID as systemd sets them.
 * Covered: each message's exact text, silence without NOTIFY_SOCKET, and the
 * watchdog interval only for this process. Built without libsystemd, every
 * call is a no-op, and that is what is checked instead.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

#include "../support/unit_main.h"

static char dir[64];
static char path[96];
static int manager = -1;

static void setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(dir, sizeof(dir), "/tmp/sipnatd-notify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	manager = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(manager, 0);
	ck_assert_int_eq(bind(manager, (struct sockaddr *)&sa, sizeof(sa)), 0);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
	close(manager);
	unlink(path);
	rmdir(dir);
}

/* The next message the manager got, "" when none is waiting. */
static const char *received(void)
{
	static char buf[512];
	ssize_t n = recv(manager, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

#ifdef HAVE_LIBSYSTEMD
static void send_ready_serving(void) { notify_ready("serving 3 peers"); }
static void send_ready_default(void) { notify_ready(NULL); }

START_TEST(each_message_as_systemd_reads_it)
{
	static const struct {
		void (*send)(void);
		const char *text;
	} cases[] = {
		{ send_ready_serving, "READY=1\nSTATUS=serving 3 peers" },
		{ send_ready_default, "READY=1\nSTATUS=running" },
		{ notify_stopping, "STOPPING=1" },
		{ notify_watchdog, "WATCHDOG=1" },
	};

	setenv("NOTIFY_SOCKET", path, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cases[i].send();
		ck_assert_str_eq(received(), cases[i].text);
		ck_assert_str_eq(received(), "");  /* one message each */
	}
	/* the environment stays for the next message */
	ck_assert_str_eq(getenv("NOTIFY_SOCKET"), path);
}
END_TEST

START_TEST(reloading_carries_the_monotonic_clock)
{
	struct timespec ts;
	unsigned long long usec, before, after;

	setenv("NOTIFY_SOCKET", path, 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	before = (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
	notify_reloading();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	after = (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
	const char *text = received();
	ck_assert_int_eq(sscanf(text, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
	ck_assert_uint_ge(usec, before);
	ck_assert_uint_le(usec, after);
}
END_TEST

START_TEST(silent_without_notify_socket)
{
	notify_ready("x");
	notify_reloading();
	notify_stopping();
	notify_watchdog();
	ck_assert_str_eq(received(), "");
}
END_TEST

START_TEST(watchdog_interval_for_this_process_only)
{
	char pid[32];

	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "5000000", 1);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 5000000);
	/* without WATCHDOG_PID it is ours too */
	unsetenv("WATCHDOG_PID");
	ck_assert_uint_eq(notify_watchdog_usec(), 5000000);
	/* meant for another process */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	/* nonsense */
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "soon", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "0", 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
}
END_TEST

#else
START_TEST(no_op_without_libsystemd)
{
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "5000000", 1);
	notify_ready("x");
	notify_reloading();
	notify_stopping();
	notify_watchdog();
	ck_assert_str_eq(received(), "");
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
}
END_TEST
#endif

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_add_checked_fixture(tc, setup, teardown);
#ifdef HAVE_LIBSYSTEMD
	tcase_add_test(tc, each_message_as_systemd_reads_it);
	tcase_add_test(tc, reloading_carries_the_monotonic_clock);
	tcase_add_test(tc, silent_without_notify_socket);
	tcase_add_test(tc, watchdog_interval_for_this_process_only);
#else
	tcase_add_test(tc, no_op_without_libsystemd);
#endif
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(notify_suite)
