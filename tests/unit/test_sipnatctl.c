/*
 * Unit tests for sipnatctl.c, the control client, through its command line:
 * the real binary runs against a stand-in daemon, a UNIX stream socket in a
 * temporary directory that reads the request line and answers a JSON reply
 * the test chose (the real daemon's side is test_control.c's). Covered: the
 * request each command sends, the aligned tables and their summary lines,
 * --json, a daemon's error (reload's own wording), malformed and unexpected
 * replies, no daemon, a daemon that closes without answering, and usage
 * errors with their exit codes (0 ok, 1 error, 2 usage).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/unit_main.h"

#define WAIT_MS 5000

static char dir[64];
static char sock_path[96];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sipnatctl-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/control", dir);
	signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
	unlink(sock_path);
	rmdir(dir);
}

struct run {
	int status;           /* exit code */
	char out[16384], err[4096];
	char request[256];    /* the line the stand-in daemon read */
};

/* Read the request line from conn (bounded); NUL-terminated into buf. */
static void read_request(int conn, char *buf, size_t cap)
{
	size_t n = 0;
	struct pollfd p = { .fd = conn, .events = POLLIN };

	while (n + 1 < cap && !memchr(buf, '\n', n) && poll(&p, 1, WAIT_MS) == 1) {
		ssize_t got = read(conn, buf + n, cap - n - 1);
		if (got <= 0)
			break;
		n += (size_t)got;
		buf[n] = '\0';
	}
	buf[n] = '\0';
}

/* Read out and err of the child to their ends (bounded). */
static void read_outputs(int out_fd, int err_fd, struct run *r)
{
	struct pollfd p[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN } };
	size_t len[2] = { 0, 0 };
	char *buf[2] = { r->out, r->err };
	size_t cap[2] = { sizeof(r->out), sizeof(r->err) };

	while ((p[0].fd >= 0 || p[1].fd >= 0) && poll(p, 2, WAIT_MS) > 0) {
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t got = read(p[i].fd, buf[i] + len[i], cap[i] - len[i] - 1);
			if (got <= 0) {
				p[i].fd = -1;
				continue;
			}
			len[i] += (size_t)got;
			buf[i][len[i]] = '\0';
		}
	}
}

/*
 * Run sipnatctl with args (NULL-terminated; "-s SOCKET" first when with_socket)
 * against a stand-in daemon that answers reply: NULL = nobody listens,
 * "" = the daemon closes without a word.
 */
static void run_ctl(bool with_socket, const char *const *args, const char *reply, struct run *r)
{
	const char *argv[16] = { "sipnatctl" };
	size_t argc = 1;
	int listener = -1, out[2], err[2];

	memset(r, 0, sizeof(*r));
	if (with_socket) {
		argv[argc++] = "-s";
		argv[argc++] = sock_path;
	}
	for (size_t i = 0; args[i]; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (reply) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
		listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(listener, 0);
		ck_assert_int_eq(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(listen(listener, 4), 0);
	}
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(SIPNATCTL_BINARY, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (listener >= 0) {
		struct pollfd p = { .fd = listener, .events = POLLIN };
		ck_assert_msg(poll(&p, 1, WAIT_MS) == 1, "sipnatctl never connected");
		int conn = accept(listener, NULL, NULL);
		ck_assert_int_ge(conn, 0);
		read_request(conn, r->request, sizeof(r->request));
		size_t len = strlen(reply);
		if (len)
			ck_assert_int_eq(write(conn, reply, len), (ssize_t)len);
		close(conn);
		close(listener);
		unlink(sock_path);
	}
	read_outputs(out[0], err[0], r);
	close(out[0]);
	close(err[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "sipnatctl did not exit");
	r->status = WEXITSTATUS(status);
	ck_assert_msg(r->status != 127, "cannot run %s", SIPNATCTL_BINARY);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(each_command_sends_its_line)
{
	static const char *const commands[] = { "peers", "registrations", "calls", "stats", "bans", "reload" };
	struct run r;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char want[32];
		/* an error reply: the request is what counts here */
		run_ctl(true, ARGS(commands[i]), "{\"error\": \"busy\"}", &r);
		snprintf(want, sizeof(want), "%s\n", commands[i]);
		ck_assert_str_eq(r.request, want);
		ck_assert_int_eq(r.status, 1);
	}
}
END_TEST

START_TEST(peers_table_aligned)
{
	static const char reply[] =
		"{\"peers\": ["
		"{\"name\": \"pbx\", \"kind\": \"pbx\", \"host\": \"127.0.1.20:5060\", \"status\": \"OK\","
		" \"rtt_ms\": 3, \"bindings\": null},"
		"{\"name\": \"alice\", \"kind\": \"dynamic\", \"host\": \"198.51.100.5:40000\","
		" \"status\": \"UNREACHABLE\", \"rtt_ms\": null, \"bindings\": 1},"
		"{\"name\": \"provider\", \"kind\": \"trunk\", \"host\": \"192.0.2.1:5080\","
		" \"status\": \"UNMONITORED\", \"bindings\": 0}]}";
	static const char want[] =
		"Name      Kind     Host                Status        RTT  Bindings\n"
		"pbx       pbx      127.0.1.20:5060     OK           3 ms         -\n"
		"alice     dynamic  198.51.100.5:40000  UNREACHABLE     -         1\n"
		"provider  trunk    192.0.2.1:5080      UNMONITORED     -         0\n"
		"2 peers and the PBX [monitored: 1 OK, 1 UNREACHABLE, 0 UNKNOWN; unmonitored: 1]\n";
	struct run r;

	run_ctl(true, ARGS("peers"), reply, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, want);
	ck_assert_str_eq(r.err, "");
}
END_TEST

/* The other tables: the lines each must hold. */
START_TEST(tables_and_summaries)
{
	static const struct {
		const char *command;
		const char *reply;
		const char *lines[4];
	} cases[] = {
		{ "registrations",
		  "{\"registrations\": ["
		  "{\"peer\": \"alice\", \"contact\": \"sip:alice@192.168.1.5\", \"nat\": \"198.51.100.5:40000\","
		  " \"expires_s\": 100, \"age_s\": 20},"
		  "{\"peer\": \"alice\", \"contact\": \"sip:alice@192.168.1.6\", \"nat\": \"198.51.100.5:40001\","
		  " \"expires_s\": 3600, \"age_s\": 0}]}",
		  { "Peer   Contact                NAT address         Expires   Age\n",
		    "alice  sip:alice@192.168.1.5  198.51.100.5:40000    100 s  20 s\n",
		    "2 registrations of 1 peer\n", NULL } },
		{ "registrations", "{\"registrations\": []}", { "0 registrations of 0 peers\n", NULL } },
		{ "calls",
		  "{\"calls\": [{\"call_id\": \"abc@pbx\", \"state\": \"up\", \"hold\": true, \"age_s\": 3725,"
		  " \"streams\": [{\"port\": 10000, \"from_local\": {\"packets\": 10, \"bytes\": 1720, \"dropped\": 0},"
		  " \"from_remote\": {\"packets\": 9, \"bytes\": 1548, \"dropped\": 3}, \"idle_s\": 1,"
		  " \"last_drop\": {\"from\": \"203.0.113.50:4000\", \"why\": \"before latch\"}},"
		  " {\"port\": 10002, \"from_local\": {\"packets\": 0, \"bytes\": 0, \"dropped\": 0},"
		  " \"from_remote\": {\"packets\": 0, \"bytes\": 0, \"dropped\": 0}, \"idle_s\": null}]},"
		  " {\"call_id\": \"late@pbx\", \"state\": \"early\", \"age_s\": 90061, \"streams\": []}]}",
		  /* Age is as wide as "1d 01:01:01", Idle as its head */
		  { "abc@pbx   up,hold      1:02:05  10000        10       1720         9       1548        3   1 s  203.0.113.50:4000 before latch\n",
		    "                                10002         0          0         0          0        0     -  -\n",
		    "late@pbx  early    1d 01:01:01      -         -          -         -          -        -     -  -\n",
		    "2 calls (1 up, 1 on hold), 2 relayed streams\n" } },
		{ "bans",
		  "{\"bans\": [{\"address\": \"203.0.113.9\", \"seconds_left\": 540, \"failures\": 10}]}",
		  { "Address      Seconds left  Failures\n", "203.0.113.9           540        10\n",
		    "1 banned address\n", NULL } },
		{ "stats",
		  "{\"version\": \"9.9\", \"uptime_s\": 61, \"sip\": {\"received\": 12345, \"malformed\": 2},"
		  " \"calls\": {\"active\": 1},"
		  " \"relay\": {\"from_local\": {\"packets\": 5, \"bytes\": 860, \"dropped\": 0},"
		  " \"from_remote\": {\"packets\": 4, \"bytes\": 688, \"dropped\": 7}}}",
		  /* labels as wide as "from banned addresses", values as "12345" */
		  { "sipnatd 9.9, up 0:01:01\nSIP messages\n  received               12345\n",
		    "  malformed                  2\n",
		    "  from Internet        4    688        7\n",
		    "  send errors                -\n" } },
		{ "reload", "{\"config\": \"/etc/sipnatd/sipnatd.conf\"}",
		  { "configuration reloaded from /etc/sipnatd/sipnatd.conf\n", NULL } },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_ctl(true, ARGS(cases[i].command), cases[i].reply, &r);
		ck_assert_msg(r.status == 0, "%s: exit %d: %s", cases[i].command, r.status, r.err);
		for (size_t j = 0; j < 4 && cases[i].lines[j]; j++)
			ck_assert_msg(strstr(r.out, cases[i].lines[j]) != NULL, "%s: no line\n%s\nin\n%s",
				      cases[i].command, cases[i].lines[j], r.out);
	}
}
END_TEST

START_TEST(json_as_it_came)
{
	static const char reply[] = "{\"bans\": [], \"extra\": {\"kept\": true}}";
	struct run r;

	run_ctl(true, ARGS("--json", "bans"), reply, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, reply);
	/* an error is printed as it came too, and still fails */
	run_ctl(true, ARGS("-j", "stats"), "{\"error\": \"nope\"}", &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "{\"error\": \"nope\"}");
	ck_assert_str_eq(r.err, "sipnatctl: nope\n");
}
END_TEST

/* What goes wrong between sipnatctl and the daemon: exit 1 and one line. */
START_TEST(failures_say_why)
{
	static const struct {
		const char *command;
		const char *reply;   /* NULL: no daemon */
		const char *err;     /* the start of stderr */
	} cases[] = {
		{ "reload", "{\"error\": \"line 3: unknown key\"}",
		  "sipnatctl: reload failed, sipnatd keeps the running configuration: line 3: unknown key\n" },
		{ "peers", "{\"error\": \"internal\"}", "sipnatctl: internal\n" },
		{ "peers", "this is not JSON", "sipnatctl: malformed reply from sipnatd: " },
		{ "peers", "[1, 2]", "sipnatctl: malformed reply from sipnatd: not an object\n" },
		{ "peers", "{\"registrations\": []}", "sipnatctl: unexpected reply from sipnatd: no \"peers\" list\n" },
		{ "calls", "{\"calls\": {}}", "sipnatctl: unexpected reply from sipnatd: no \"calls\" list\n" },
		{ "stats", "", "sipnatctl: sipnatd closed " },
		{ "stats", NULL, "sipnatctl: cannot connect to " },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_ctl(true, ARGS(cases[i].command), cases[i].reply, &r);
		ck_assert_msg(r.status == 1, "case %zu: exit %d", i, r.status);
		ck_assert_msg(strncmp(r.err, cases[i].err, strlen(cases[i].err)) == 0, "case %zu: %s", i, r.err);
		ck_assert_str_eq(r.out, "");
		/* one line, no usage text */
		ck_assert_ptr_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
	}
	/* the socket's path and the hint are in the message */
	run_ctl(true, ARGS("stats"), NULL, &r);
	char want[256];
	snprintf(want, sizeof(want), "sipnatctl: cannot connect to %s: No such file or directory (is sipnatd running?)\n",
		 sock_path);
	ck_assert_str_eq(r.err, want);
}
END_TEST

START_TEST(usage_errors)
{
	static const struct {
		const char *args[4];
		int status;
		const char *err;     /* the first line of stderr; NULL: stderr empty */
		const char *out;     /* the start of stdout; NULL: empty */
	} cases[] = {
		{ { NULL }, 2, "sipnatctl: no command given\n", NULL },
		{ { "peers", "calls" }, 2, "sipnatctl: one command at a time (extra \"calls\")\n", NULL },
		{ { "show" }, 2, "sipnatctl: unknown command \"show\"\n", NULL },
		{ { "--bogus", "peers" }, 2, NULL, NULL },
		{ { "-h" }, 0, NULL, "usage: sipnatctl [-s SOCKET] [--json] COMMAND\n" },
		{ { "--help", "peers" }, 0, NULL, "usage: sipnatctl" },
		{ { "-V" }, 0, NULL, "sipnatctl " },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_ctl(true, cases[i].args, NULL, &r);
		ck_assert_msg(r.status == cases[i].status, "case %zu: exit %d", i, r.status);
		if (cases[i].err)
			ck_assert_msg(strncmp(r.err, cases[i].err, strlen(cases[i].err)) == 0, "case %zu: %s", i,
				      r.err);
		if (cases[i].status == 2)  /* the usage text follows every usage error */
			ck_assert_ptr_nonnull(strstr(r.err, "usage: sipnatctl"));
		else
			ck_assert_str_eq(r.err, "");
		if (cases[i].out)
			ck_assert_msg(strncmp(r.out, cases[i].out, strlen(cases[i].out)) == 0, "case %zu: %s", i,
				      r.out);
		else
			ck_assert_str_eq(r.out, "");
	}
	/* a socket path that does not fit a sockaddr_un */
	char longpath[200];
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	run_ctl(false, ARGS("-s", longpath, "peers"), NULL, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "socket path too long"));
}
END_TEST

static Suite *sipnatctl_suite(void)
{
	Suite *s = suite_create("sipnatctl");
	TCase *tc = tcase_create("sipnatctl");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, each_command_sends_its_line);
	tcase_add_test(tc, peers_table_aligned);
	tcase_add_test(tc, tables_and_summaries);
	tcase_add_test(tc, json_as_it_came);
	tcase_add_test(tc, failures_say_why);
	tcase_add_test(tc, usage_errors);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(sipnatctl_suite)
