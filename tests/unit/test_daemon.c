/*
 * Unit tests for daemon.c, the composition root, through its public API
 * (daemon_start, daemon_run, daemon_free) in process: a configuration file in
 * a temporary directory, real loopback sockets, the log captured with
 * log_set_stream. daemon_run blocks in the event loop, so it runs in a thread
 * of its own and is driven with signals sent to that thread (pthread_kill),
 * which is how systemd and an admin drive the real daemon; the test thread
 * plays the phone and the PBX and never receives a signal itself.
 *
 * Covered: start fails cleanly (NULL, nothing leaked) when the SIP port is
 * taken; a missing control directory is not fatal; a started daemon answers
 * OPTIONS; SIGHUP reloads, and a broken file keeps the running configuration;
 * SIGTERM and SIGINT make daemon_run return 0; registrations taken by one
 * daemon are saved at stop and restored by the next daemon_start.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "conf.h"
#include "daemon.h"
#include "harness.h"
#include "log.h"
#include "sipmsg.h"
#include "sipclient.h"

#define SN_IP "127.0.0.1"
#define PHONE_IP "127.0.0.2" /* outside localnet: an Internet phone */
#define WAIT_MS 3000

static char conf_path[512];
static char log_path[512];
static FILE *log_file;
static unsigned sip_port;
static int pbx_fd = -1;   /* absorbs the daemon's OPTIONS pings to the PBX */

/* A port nothing listens on now (the kernel's pick, released at once). */
static unsigned free_port(void)
{
	int fd = harness_udp(SN_IP, 0);
	unsigned port = harness_udp_port(fd);

	close(fd);
	return port;
}

static void setup(void)
{
	snprintf(log_path, sizeof(log_path), "%s/log", harness_tmpdir());
	log_file = fopen(log_path, "w");
	ck_assert_ptr_nonnull(log_file);
	setvbuf(log_file, NULL, _IONBF, 0); /* read back while the loop writes */
	log_open(true);
	log_set_stream(log_file);
	pbx_fd = harness_udp(SN_IP, 0);
	sip_port = free_port();
	harness_write_file("resolv.conf", "nameserver 127.0.0.1\n");
}

static void teardown(void)
{
	log_set_stream(NULL);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	if (pbx_fd >= 0)
		close(pbx_fd);
	pbx_fd = -1;
	harness_cleanup();
}

/* Write the configuration: the daemon on SN_IP:sip_port, the PBX on
 * pbx_fd, control socket and state file in the temporary directory (or the
 * control socket at control when it is not NULL), alice a dynamic peer. */
static void write_conf(const char *useragent, const char *control)
{
	char text[2048], ctl[512];
	const char *dir = harness_tmpdir();

	snprintf(ctl, sizeof(ctl), "%s/control", dir);
	snprintf(text, sizeof(text),
		 "general: {\n"
		 "  bindaddr = \"" SN_IP "\"; bindport = %u;\n"
		 "  externip = \"203.0.113.7\";\n"
		 "  localnet = [ \"127.0.0.1/32\" ];\n"
		 "  pbx = \"" SN_IP ":%u\";\n"
		 "  localaddr = \"" SN_IP "\";\n"
		 "  statefile = \"%s/registrations\";\n"
		 "  control = \"%s\";\n"
		 "  resolvconf = \"%s/resolv.conf\";\n"
		 "  useragent = \"%s\";\n"
		 "};\n"
		 "rtp: { rtpstart = 41000; rtpend = 41099; };\n"
		 "peers: ( { name = \"alice\"; secret = \"alice-secret\"; qualify = false; } );\n"
		 "logging: { level = \"notice\"; };\n",
		 sip_port, harness_udp_port(pbx_fd), dir, control ? control : ctl, dir, useragent);
	snprintf(conf_path, sizeof(conf_path), "%s", harness_write_file("sipnatd.conf", text));
}

/* daemon_start on the file written last, as main() calls it. */
static struct daemon *start(void)
{
	static struct cmdline cmd;   /* the daemon keeps cmd.conf_path */
	char err[CONF_ERR_MAX];
	struct conf *conf = conf_load_file(conf_path, err);

	ck_assert_msg(conf != NULL, "%s", err);
	cmd = (struct cmdline){ .action = CMDLINE_RUN, .foreground = true, .conf_path = conf_path };
	return daemon_start(conf, &cmd);
}

/* ---- the log ---- */

static bool log_has(const char *text)
{
	char buf[65536];
	FILE *f = fopen(log_path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, text) != NULL;
}

/* Until text is in the log, or timeout_ms has passed. */
static bool wait_log(const char *text, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		if (log_has(text))
			return true;
		if (harness_now_ms() >= deadline)
			return false;
		struct timespec ts = { .tv_nsec = 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* ---- the loop in a thread ---- */

struct runner {
	struct daemon *d;
	pthread_t thread;
	int rc;
};

static void *run_cb(void *arg)
{
	struct runner *r = arg;
	sigset_t stop;

	/* the signals are this thread's: the test thread blocks them */
	sigemptyset(&stop);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
	r->rc = daemon_run(r->d);
	return NULL;
}

static void run(struct runner *r, struct daemon *d)
{
	sigset_t stop;

	/* A signal meant for the loop must not land in the test thread, whose
	 * poll() would take it for a timeout. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	r->d = d;
	r->rc = -1;
	ck_assert_int_eq(pthread_create(&r->thread, NULL, run_cb, r), 0);
}

/* Send sig to the loop; wait (bounded) for daemon_run to return, free the
 * daemon, and return daemon_run's status. */
static int stop(struct runner *r, int sig)
{
	struct timespec deadline;

	ck_assert_int_eq(pthread_kill(r->thread, sig), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	ck_assert_msg(pthread_timedjoin_np(r->thread, NULL, &deadline) == 0,
		      "daemon_run did not return after signal %d", sig);
	daemon_free(r->d);
	r->d = NULL;
	return r->rc;
}

/* ---- talking to the daemon ---- */

/* An out-of-dialog OPTIONS from a phone on the Internet; the answer in buf. */
static bool options(char *buf, size_t len)
{
	struct client c;
	bool ok;

	client_open(&c, PHONE_IP, "options-daemon", SN_IP, sip_port);
	client_send(&c, "OPTIONS", "alice", NULL, NULL);
	ok = client_recv(&c, buf, len, WAIT_MS);
	close(c.fd);
	return ok;
}

static void assert_answer_from(const char *useragent)
{
	char buf[4096], server[128];

	ck_assert_msg(options(buf, sizeof(buf)), "no answer to OPTIONS");
	ck_assert_msg(strncmp(buf, "SIP/2.0 200 ", 12) == 0, "%s", buf);
	ck_assert(harness_sip_header(buf, "Server", server, sizeof(server)));
	ck_assert_str_eq(server, useragent);
	ck_assert(harness_sip_header(buf, "Call-ID", server, sizeof(server)));
	ck_assert_str_eq(server, "options-daemon");
}

/* One request on the control socket; the reply in out. */
static void control_query(const char *request, char *out, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t n = 0;

	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control", harness_tmpdir());
	ck_assert_msg(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "connect %s: %s",
		      sun.sun_path, strerror(errno));
	ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ck_assert_msg(poll(&pfd, 1, WAIT_MS) == 1, "no reply on the control socket");
		ssize_t got = read(fd, out + n, len - 1 - n);
		ck_assert_int_ge(got, 0);
		if (got == 0)
			break;
		n += (size_t)got;
		ck_assert_uint_lt(n, len - 1);
	}
	out[n] = '\0';
	close(fd);
}

/* ---- the tests ---- */

START_TEST(start_fails_when_sip_port_taken)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sip_port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	inet_pton(AF_INET, SN_IP, &sa.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	write_conf("sipnatd", NULL);
	/* NULL, everything built so far freed (LeakSanitizer checks at exit) */
	ck_assert_ptr_null(start());
	ck_assert(log_has("cannot listen for SIP"));
	ck_assert(log_has("Address already in use"));
	/* nothing half-made is left behind: the control socket was never made */
	char ctl[512];
	struct stat st;
	snprintf(ctl, sizeof(ctl), "%s/control", harness_tmpdir());
	ck_assert_int_ne(stat(ctl, &st), 0);
	close(fd);

	/* and with the port free again the same file starts */
	struct daemon *d = start();
	ck_assert_ptr_nonnull(d);
	daemon_free(d);
}
END_TEST

START_TEST(missing_control_directory_is_not_fatal)
{
	char ctl[512];
	struct runner r;
	struct daemon *d;

	snprintf(ctl, sizeof(ctl), "%s/no-such-dir/control", harness_tmpdir());
	write_conf("sipnatd", ctl);
	d = start();
	ck_assert_ptr_nonnull(d);
	ck_assert(log_has("running without it"));
	ck_assert(log_has("listening on " SN_IP));
	run(&r, d);
	assert_answer_from("sipnatd");
	ck_assert_int_eq(stop(&r, SIGTERM), 0);
}
END_TEST

START_TEST(answers_options_and_stops_on_sigterm)
{
	struct runner r;
	struct daemon *d;

	write_conf("test-ua", NULL);
	d = start();
	ck_assert_ptr_nonnull(d);
	run(&r, d);
	assert_answer_from("test-ua");
	ck_assert_int_eq(stop(&r, SIGTERM), 0);
	ck_assert(log_has("received SIGTERM, stopping"));
	/* the SIP socket went with the daemon: its port is free again */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sip_port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, SN_IP, &sa.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}
END_TEST

START_TEST(sigint_stops_too)
{
	struct runner r;
	struct daemon *d;

	write_conf("sipnatd", NULL);
	d = start();
	ck_assert_ptr_nonnull(d);
	run(&r, d);
	ck_assert_int_eq(stop(&r, SIGINT), 0);
	ck_assert(log_has("received SIGINT, stopping"));
}
END_TEST

/* SIGHUP re-reads the file: the new useragent is in the next answer. A
 * broken file is refused, said in the log, and the old one stays. */
START_TEST(sighup_reloads_and_keeps_old_on_error)
{
	struct runner r;
	struct daemon *d;

	write_conf("ua-one", NULL);
	d = start();
	ck_assert_ptr_nonnull(d);
	run(&r, d);
	assert_answer_from("ua-one");

	write_conf("ua-two", NULL);
	ck_assert_int_eq(pthread_kill(r.thread, SIGHUP), 0);
	ck_assert(wait_log("configuration reloaded from", WAIT_MS));
	ck_assert(log_has("general.useragent"));   /* the change is named */
	assert_answer_from("ua-two");

	harness_write_file("sipnatd.conf", "general: { bindport = \"five\"; };\n");
	ck_assert_int_eq(pthread_kill(r.thread, SIGHUP), 0);
	ck_assert(wait_log("reload failed, keeping the running configuration", WAIT_MS));
	ck_assert(log_has("bindport"));
	assert_answer_from("ua-two");

	/* the control socket counts both */
	char reply[8192];
	control_query("stats\n", reply, sizeof(reply));
	ck_assert_msg(strstr(reply, "\"reloads\":{\"done\":1,\"failed\":1}"), "%s", reply);
	ck_assert_int_eq(stop(&r, SIGTERM), 0);
}
END_TEST

/* A phone registers with the first daemon; the binding is written at stop
 * (the writer's pending change is not lost) and the next daemon_start reads
 * it back: the control socket lists it before the phone says anything. */
START_TEST(registrations_survive_restart)
{
	struct runner r;
	struct daemon *d;
	struct client c;
	char buf[4096], want[128], reply[8192];

	write_conf("sipnatd", NULL);
	d = start();
	ck_assert_ptr_nonnull(d);
	ck_assert(log_has("no saved registrations"));
	run(&r, d);
	client_open(&c, PHONE_IP, "register-daemon", SN_IP, sip_port);
	client_auth_request(&c, "REGISTER", "alice", "alice-secret", "600", buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "SIP/2.0 200 ", 12) == 0, "%s", buf);
	ck_assert_int_eq(stop(&r, SIGTERM), 0);
	close(c.fd);

	char state[512];
	struct stat st;
	snprintf(state, sizeof(state), "%s/registrations", harness_tmpdir());
	ck_assert_int_eq(stat(state, &st), 0);

	/* daemon_free blocked the stop signals in this thread; the next
	 * daemon's thread unblocks them for itself */
	d = start();
	ck_assert_ptr_nonnull(d);
	ck_assert(log_has("restored 1 registration from"));
	run(&r, d);
	control_query("registrations\n", reply, sizeof(reply));
	snprintf(want, sizeof(want), PHONE_IP ":%u", c.port);
	ck_assert_msg(strstr(reply, "\"alice\"") && strstr(reply, want), "%s", reply);
	ck_assert_msg(strstr(reply, "sip:alice@192.168.1.5:5060"), "%s", reply);
	ck_assert_int_eq(stop(&r, SIGTERM), 0);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		start_fails_when_sip_port_taken,
		missing_control_directory_is_not_fatal,
		answers_options_and_stops_on_sigterm,
		sigint_stops_too,
		sighup_reloads_and_keeps_old_on_error,
		registrations_survive_restart,
		NULL,
	};

	sipmsg_global_init(); /* as main() does before daemon_start */
	return harness_main("daemon", "daemon", 10, setup, teardown, tests);
}
