/*
 * Unit tests for sipnatctl.c, the admin's client: the sipnatctl binary is run
 * against a control socket this test serves itself, which answers each
 * connection with one canned JSON reply (the daemon's shape, see
 * control_reply.c) and records the request line. Checked: the request each
 * command sends, every table (peers, registrations, calls, stats, bans,
 * reload) to the character, --json printing the reply as it came, a daemon's
 * {"error": ...} as exit 1 with the message, no socket or no answer as exit 1
 * with a clear message, and usage errors as exit 2 without connecting.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SIPNATCTL_BINARY
#error "tests/CMakeLists.txt gives SIPNATCTL_BINARY"
#endif

#define RUN_TIMEOUT_MS 5000

static char dir[64];
static char sock_path[100];
static int listen_fd = -1;

static void setup(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/sipnatctl-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/control", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listen_fd, 0);
	ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(listen_fd, 4), 0);
}

static void teardown(void)
{
	char cmd[128];

	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct ctl_run {
	int status;          /* exit status, 128+signal when killed */
	char out[16384];     /* stdout */
	char err[4096];      /* stderr */
	char request[256];   /* what the fake daemon received (last connection) */
	int connections;
};

static void append(char *buf, size_t cap, size_t *len, const char *data, size_t n)
{
	if (*len + n >= cap)
		n = cap - 1 - *len;
	memcpy(buf + *len, data, n);
	*len += n;
	buf[*len] = '\0';
}

/* The fake daemon: read the request line (bounded), answer reply (NULL:
 * close without a word), close. */
static void serve(int fd, const char *reply, struct ctl_run *r)
{
	size_t n = 0;

	r->connections++;
	r->request[0] = '\0';
	while (!strchr(r->request, '\n') && n + 1 < sizeof(r->request)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, RUN_TIMEOUT_MS) != 1)
			break;
		ssize_t got = read(fd, r->request + n, sizeof(r->request) - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		r->request[n] = '\0';
	}
	if (reply)
		ck_assert_int_eq(send(fd, reply, strlen(reply), MSG_NOSIGNAL), (ssize_t)strlen(reply));
	close(fd);
}

/* Run sipnatctl with args (NULL-terminated, no program name), answering
 * every connection with reply; bounded by RUN_TIMEOUT_MS. */
static void run_ctl(struct ctl_run *r, const char *reply, const char *const args[])
{
	const char *argv[16] = { SIPNATCTL_BINARY };
	int out[2], err[2];
	size_t out_len = 0, err_len = 0, k = 1;
	bool out_open = true, err_open = true;
	long deadline_ms;
	struct timespec ts;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; args[i]; i++) {
		ck_assert_uint_lt(k + 1, sizeof(argv) / sizeof(argv[0]));
		argv[k++] = args[i];
	}
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline_ms = ts.tv_sec * 1000L + ts.tv_nsec / 1000000L + RUN_TIMEOUT_MS;
	while (out_open || err_open) {
		struct pollfd pfd[3] = {
			{ .fd = listen_fd, .events = POLLIN },
			{ .fd = out_open ? out[0] : -1, .events = POLLIN },
			{ .fd = err_open ? err[0] : -1, .events = POLLIN },
		};
		clock_gettime(CLOCK_MONOTONIC, &ts);
		long left = deadline_ms - (ts.tv_sec * 1000L + ts.tv_nsec / 1000000L);
		if (left <= 0 || poll(pfd, 3, (int)left) <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			ck_abort_msg("sipnatctl did not finish within %d ms", RUN_TIMEOUT_MS);
		}
		if (pfd[0].revents & POLLIN) {
			int fd = accept(listen_fd, NULL, NULL);
			ck_assert_int_ge(fd, 0);
			serve(fd, reply, r);
		}
		for (int i = 1; i <= 2; i++) {
			char tmp[4096];
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t got = read(pfd[i].fd, tmp, sizeof(tmp));
			if (got <= 0) {
				close(pfd[i].fd);
				*(i == 1 ? &out_open : &err_open) = false;
			} else if (i == 1) {
				append(r->out, sizeof(r->out), &out_len, tmp, (size_t)got);
			} else {
				append(r->err, sizeof(r->err), &err_len, tmp, (size_t)got);
			}
		}
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* sipnatctl -s SOCKET [--json] command with the canned reply. */
static void command(struct ctl_run *r, const char *cmd, bool json, const char *reply)
{
	const char *plain[] = { "-s", sock_path, cmd, NULL };
	const char *raw[] = { "-s", sock_path, "--json", cmd, NULL };

	run_ctl(r, reply, json ? raw : plain);
	ck_assert_int_eq(r->connections, 1);
	char want[64];
	snprintf(want, sizeof(want), "%s\n", cmd);
	ck_assert_str_eq(r->request, want);
}

/* got == want, or a failure naming the first line that differs (Check
 * cannot carry a whole table in one message). */
static void assert_lines(const char *got, const char *want)
{
	const char *got_line = got, *want_line = want;
	size_t line = 1;

	while (*got && *got == *want) {
		if (*got == '\n') {
			line++;
			got_line = got + 1;
			want_line = want + 1;
		}
		got++;
		want++;
	}
	if (*got == *want)
		return;
	ck_abort_msg("line %zu differs: got \"%.*s\", want \"%.*s\"", line,
		     (int)strcspn(got_line, "\n"), got_line, (int)strcspn(want_line, "\n"), want_line);
}

/* ---- the tables: reply in, table out, character for character ---- */

struct table_case {
	const char *command;
	const char *reply;
	const char *output;
};

static const struct table_case tables[] = {
	{ "peers",
	  "{\"peers\":["
	  "{\"name\":\"PBX\",\"kind\":\"pbx\",\"host\":\"192.168.0.20:5060\",\"qualify\":true,"
	  "\"bindings\":null,\"status\":\"OK\",\"rtt_ms\":12},"
	  "{\"name\":\"alice\",\"kind\":\"dynamic\",\"host\":\"203.0.113.7:40000\",\"qualify\":true,"
	  "\"bindings\":2,\"status\":\"UNREACHABLE\",\"rtt_ms\":null},"
	  "{\"name\":\"bob\",\"kind\":\"dynamic\",\"host\":null,\"qualify\":true,"
	  "\"bindings\":0,\"status\":\"UNKNOWN\",\"rtt_ms\":null},"
	  "{\"name\":\"provider\",\"kind\":\"trunk\",\"host\":\"198.51.100.1:5060\",\"qualify\":false,"
	  "\"bindings\":0,\"status\":\"UNMONITORED\",\"rtt_ms\":null}]}",
	  "Name      Kind     Host               Status         RTT  Bindings\n"
	  "PBX       pbx      192.168.0.20:5060  OK           12 ms         -\n"
	  "alice     dynamic  203.0.113.7:40000  UNREACHABLE      -         2\n"
	  "bob       dynamic  -                  UNKNOWN          -         0\n"
	  "provider  trunk    198.51.100.1:5060  UNMONITORED      -         0\n"
	  "3 peers and the PBX [monitored: 1 OK, 1 UNREACHABLE, 1 UNKNOWN; unmonitored: 1]\n" },
	{ "registrations",
	  "{\"registrations\":["
	  "{\"peer\":\"alice\",\"contact\":\"sip:100@192.168.1.5:5060\",\"nat\":\"203.0.113.7:40000\","
	  "\"expires_s\":540,\"age_s\":60},"
	  "{\"peer\":\"alice\",\"contact\":\"sip:100@192.168.1.6:5062;ob\",\"nat\":\"203.0.113.7:40001\","
	  "\"expires_s\":3000,\"age_s\":7},"
	  "{\"peer\":\"bob\",\"contact\":\"sip:b@10.0.0.2\",\"nat\":\"198.51.100.2:1024\","
	  "\"expires_s\":0,\"age_s\":120}]}",
	  "Peer   Contact                      NAT address        Expires    Age\n"
	  "alice  sip:100@192.168.1.5:5060     203.0.113.7:40000    540 s   60 s\n"
	  "alice  sip:100@192.168.1.6:5062;ob  203.0.113.7:40001   3000 s    7 s\n"
	  "bob    sip:b@10.0.0.2               198.51.100.2:1024      0 s  120 s\n"
	  "3 registrations of 2 peers\n" },
	{ "calls",
	  "{\"calls\":["
	  "{\"call_id\":\"a84b4c76e66710\",\"state\":\"up\",\"hold\":false,\"age_s\":3725,\"streams\":["
	  "{\"port\":10000,\"from_local\":{\"packets\":1500,\"bytes\":258000,\"dropped\":0},"
	  "\"from_remote\":{\"packets\":1490,\"bytes\":256280,\"dropped\":3},\"idle_s\":0,"
	  "\"last_drop\":{\"from\":\"192.0.2.66:4000\",\"why\":\"stranger\",\"source_dropped\":3}},"
	  "{\"port\":10002,\"from_local\":{\"packets\":10,\"bytes\":800,\"dropped\":1},"
	  "\"from_remote\":{\"packets\":9,\"bytes\":720,\"dropped\":0},\"idle_s\":4,\"last_drop\":null}]},"
	  "{\"call_id\":\"held@pbx\",\"state\":\"setup\",\"hold\":true,\"age_s\":90000,\"streams\":[]}]}",
	  "Call-ID         State               Age   Port  LAN pkts  LAN bytes  Net pkts  Net bytes  Dropped  Idle  Last drop\n"
	  "a84b4c76e66710  up              1:02:05  10000      1500     258000      1490     256280        3   0 s  192.0.2.66:4000 stranger\n"
	  "                                         10002        10        800         9        720        1   4 s  -\n"
	  "held@pbx        setup,hold  1d 01:00:00      -         -          -         -          -        -     -  -\n"
	  "2 calls (1 up, 1 on hold), 2 relayed streams\n" },
	{ "bans",
	  "{\"bans\":[{\"address\":\"192.0.2.66\",\"seconds_left\":599,\"failures\":10},"
	  "{\"address\":\"198.51.100.200\",\"seconds_left\":1,\"failures\":12345}]}",
	  "Address         Seconds left  Failures\n"
	  "192.0.2.66               599        10\n"
	  "198.51.100.200             1     12345\n"
	  "2 banned addresses\n" },
	{ "bans", "{\"bans\":[]}",
	  "Address  Seconds left  Failures\n"
	  "0 banned addresses\n" },
	{ "reload", "{\"reload\":true,\"config\":\"/etc/sipnatd/sipnatd.conf\"}",
	  "configuration reloaded from /etc/sipnatd/sipnatd.conf\n" },
};

START_TEST(table)
{
	const struct table_case *t = &tables[_i];
	struct ctl_run r;

	command(&r, t->command, false, t->reply);
	ck_assert_msg(r.status == 0, "%s: exit %d: %s", t->command, r.status, r.err);
	ck_assert_str_eq(r.err, "");
	assert_lines(r.out, t->output);
}
END_TEST

/* stats: a title line, sections of aligned "label  value", the relay table. */
START_TEST(stats)
{
	static const char reply[] =
		"{\"version\":\"9.8.7\",\"uptime_s\":3661,"
		"\"sip\":{\"received\":123456,\"requests\":100000,\"responses\":23456,\"forwarded\":99000,"
		"\"answered_locally\":400,\"keepalives\":56,\"malformed\":2,\"too_big\":1,\"invalid\":3,"
		"\"stray_responses\":4,\"lookups_failed\":5,\"dropped\":6,\"banned\":7,\"rx_overflows\":0,"
		"\"send_errors\":8},"
		"\"auth\":{\"failures\":11,\"bans\":2,\"bans_active\":1,\"digest_computations\":77},"
		"\"registrations\":{\"bindings\":3,\"peers\":4},"
		"\"calls\":{\"active\":1,\"set_up\":20,\"failed\":2,\"ended\":17},"
		"\"relay\":{\"from_local\":{\"packets\":1000,\"bytes\":172000,\"dropped\":0},"
		"\"from_remote\":{\"packets\":990,\"bytes\":170280,\"dropped\":12}},"
		"\"pool\":{\"pairs\":500,\"free\":499,\"in_use\":1},"
		"\"reloads\":{\"done\":3,\"failed\":1}}";
	struct ctl_run r;

	command(&r, "stats", false, reply);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	assert_lines(r.out,
			 "sipnatd 9.8.7, up 1:01:01\n"
			 "SIP messages\n"
			 "  received               123456\n"
			 "  requests               100000\n"
			 "  responses               23456\n"
			 "  forwarded               99000\n"
			 "  answered locally          400\n"
			 "  keep-alives                56\n"
			 "  malformed                   2\n"
			 "  too big                     1\n"
			 "  invalid (400)               3\n"
			 "  stray responses             4\n"
			 "  failed DNS lookups          5\n"
			 "  dropped                     6\n"
			 "  from banned addresses       7\n"
			 "  receive overflows           0\n"
			 "  send errors                 8\n"
			 "Authentication\n"
			 "  failures                   11\n"
			 "  bans                        2\n"
			 "  banned now                  1\n"
			 "  digest computations        77\n"
			 "Registrations\n"
			 "  bindings                    3\n"
			 "  peers configured            4\n"
			 "Calls\n"
			 "  active                      1\n"
			 "  set up                     20\n"
			 "  failed                      2\n"
			 "  ended                      17\n"
			 "Port pool (RTP/RTCP pairs)\n"
			 "  pairs                     500\n"
			 "  in use                      1\n"
			 "  free                      499\n"
			 "Reloads\n"
			 "  done                        3\n"
			 "  failed                      1\n"
			 "Relay            Packets   Bytes  Dropped\n"
			 "  from LAN          1000  172000        0\n"
			 "  from Internet      990  170280       12\n");
}
END_TEST

/* A counter a newer or older daemon does not send is "-", not 0. */
START_TEST(stats_missing_counter)
{
	struct ctl_run r;

	command(&r, "stats", false, "{\"version\":\"1\",\"uptime_s\":5,\"sip\":{\"received\":12}}");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "sipnatd 1, up 0:00:05\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "  received               12\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "  requests                -\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "  from LAN             -      -        -\n"));
}
END_TEST

/* --json: the reply byte for byte, whatever the command. */
static const char *const json_commands[] = { "peers", "registrations", "calls", "stats", "bans",
					     "reload" };

START_TEST(json_as_is)
{
	const char *cmd = json_commands[_i];
	char reply[256];
	struct ctl_run r;

	/* spacing and key order a table would not keep */
	snprintf(reply, sizeof(reply), "{ \"%s\" : [ ],\n  \"z\": 1, \"a\": \"\\u00e9\" }\n", cmd);
	command(&r, cmd, true, reply);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, reply);
	ck_assert_str_eq(r.err, "");
}
END_TEST

/* ---- failures ---- */

START_TEST(daemon_error_reply)
{
	struct ctl_run r;

	command(&r, "calls", false, "{\"error\":\"out of memory building the reply\"}");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "sipnatctl: out of memory building the reply\n");

	/* a failed reload says that the old configuration stays */
	command(&r, "reload", false,
		"{\"reload\":false,\"error\":\"/etc/sipnatd/sipnatd.conf:3: general.bindport: not a number\"}");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "sipnatctl: reload failed, sipnatd keeps the running configuration: "
				"/etc/sipnatd/sipnatd.conf:3: general.bindport: not a number\n");

	/* --json still prints the reply, and still fails */
	command(&r, "peers", true, "{\"error\":\"busy\"}");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "{\"error\":\"busy\"}");
	ck_assert_str_eq(r.err, "sipnatctl: busy\n");
}
END_TEST

/* What is not the daemon's answer is exit 1 with the reason. */
static const struct table_case bad_replies[] = {
	{ "peers", "not json at all", "sipnatctl: malformed reply from sipnatd: " },
	{ "peers", "[1, 2]", "sipnatctl: malformed reply from sipnatd: not an object\n" },
	{ "peers", "{\"calls\":[]}", "sipnatctl: unexpected reply from sipnatd: no \"peers\" list\n" },
	{ "bans", "{\"bans\":{}}", "sipnatctl: unexpected reply from sipnatd: no \"bans\" list\n" },
	{ "stats", NULL, "sipnatctl: sipnatd closed " },
};

START_TEST(bad_reply)
{
	const struct table_case *t = &bad_replies[_i];
	struct ctl_run r;

	command(&r, t->command, false, t->reply);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(strncmp(r.err, t->output, strlen(t->output)) == 0, "%s", r.err);
	ck_assert_ptr_nonnull(strchr(r.err, '\n'));
}
END_TEST

START_TEST(no_socket)
{
	char path[160], want[320];
	const char *args[] = { "-s", path, "peers", NULL };
	struct ctl_run r;

	snprintf(path, sizeof(path), "%s/not-there", dir);
	run_ctl(&r, "{}", args);
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(r.connections, 0);
	ck_assert_str_eq(r.out, "");
	snprintf(want, sizeof(want),
		 "sipnatctl: cannot connect to %s: No such file or directory (is sipnatd running?)\n", path);
	ck_assert_str_eq(r.err, want);

	/* a socket file nobody listens on any more */
	close(listen_fd);
	listen_fd = -1;
	args[1] = sock_path;
	run_ctl(&r, "{}", args);
	ck_assert_int_eq(r.status, 1);
	snprintf(want, sizeof(want),
		 "sipnatctl: cannot connect to %s: Connection refused (is sipnatd running?)\n", sock_path);
	ck_assert_str_eq(r.err, want);
}
END_TEST

/* Usage errors: exit 2, a line saying what is wrong, the usage text, and no
 * connection to the daemon. */
struct usage_case {
	const char *args[5];
	const char *first_line;
};

static const struct usage_case usage_errors[] = {
	{ { NULL }, "sipnatctl: no command given\n" },
	{ { "frobnicate", NULL }, "sipnatctl: unknown command \"frobnicate\"\n" },
	{ { "peers", "calls", NULL }, "sipnatctl: one command at a time (extra \"calls\")\n" },
	{ { "--bogus", "peers", NULL }, "" },  /* getopt says it; then the usage */
	{ { "-s", NULL }, "" },
	{ { "PEERS", NULL }, "sipnatctl: unknown command \"PEERS\"\n" },
};

START_TEST(usage_error)
{
	const struct usage_case *u = &usage_errors[_i];
	const char *args[8] = { NULL };
	size_t k = 0;
	struct ctl_run r;

	/* -s first so that a wrongly accepted command would reach the fake */
	if (!(u->args[0] && strcmp(u->args[0], "-s") == 0)) {
		args[k++] = "-s";
		args[k++] = sock_path;
	}
	for (size_t i = 0; u->args[i]; i++)
		args[k++] = u->args[i];
	run_ctl(&r, "{}", args);
	ck_assert_msg(r.status == 2, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(r.connections, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(strncmp(r.err, u->first_line, strlen(u->first_line)) == 0, "%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "usage: sipnatctl [-s SOCKET] [--json] COMMAND\n"));
}
END_TEST

START_TEST(help_and_version)
{
	const char *help[] = { "--help", NULL };
	const char *version[] = { "-V", NULL };
	struct ctl_run r;

	run_ctl(&r, "{}", help);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(strncmp(r.out, "usage: sipnatctl [-s SOCKET] [--json] COMMAND\n", 46), 0);
	for (size_t i = 0; i < sizeof(json_commands) / sizeof(json_commands[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "\n  %s ", json_commands[i]);
		ck_assert_msg(strstr(r.out, line), "usage lacks %s", json_commands[i]);
	}
	ck_assert_str_eq(r.err, "");
	run_ctl(&r, "{}", version);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(strncmp(r.out, "sipnatctl ", 10), 0);
	ck_assert_int_eq(r.connections, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sipnatctl");
	TCase *tc = tcase_create("sipnatctl");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, table, 0, sizeof(tables) / sizeof(tables[0]));
	tcase_add_test(tc, stats);
	tcase_add_test(tc, stats_missing_counter);
	tcase_add_loop_test(tc, json_as_is, 0, sizeof(json_commands) / sizeof(json_commands[0]));
	tcase_add_test(tc, daemon_error_reply);
	tcase_add_loop_test(tc, bad_reply, 0, sizeof(bad_replies) / sizeof(bad_replies[0]));
	tcase_add_test(tc, no_socket);
	tcase_add_loop_test(tc, usage_error, 0, sizeof(usage_errors) / sizeof(usage_errors[0]));
	tcase_add_test(tc, help_and_version);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
