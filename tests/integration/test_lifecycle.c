/*
 * The daemon's life as an admin sees it: check a file, start in the
 * foreground, answer an OPTIONS from the LAN, survive garbage, reload a good
 * and a broken file, stop on SIGTERM with status 0; and the background mode
 * with its pid file.
 */
#include "harness.h"
#include "lan1.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char base_conf[] =
	LAN1_GENERAL
	"  statefile = \"%s/registrations\";\n"
	"  control = \"%s/control\";\n"
	"};\n"
	"peers: ( { name = \"alice\"; secret = \"s3cret\"; } );\n"
	"logging: { level = \"%s\"; };\n";

static char *write_conf(const char *name, const char *level)
{
	char text[2048];
	snprintf(text, sizeof(text), base_conf, harness_tmpdir(), harness_tmpdir(), level);
	return harness_write_file(name, text);
}

static int options_roundtrip(int fd, char *reply, size_t len)
{
	char req[1024];
	unsigned port = harness_udp_port(fd);
	int n = snprintf(req, sizeof(req),
			 "OPTIONS sip:" SN_IP ":%d SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.1.50:%u;branch=z9hG4bK-opt-%ld;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:monitor@127.0.1.50>;tag=abc\r\n"
			 "To: <sip:" SN_IP ">\r\n"
			 "Call-ID: opt-%ld@127.0.1.50\r\n"
			 "CSeq: 1 OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n",
			 SN_PORT, port, (long)random(), (long)random());
	harness_udp_send(fd, SN_IP, SN_PORT, req, (size_t)n);
	return (int)harness_udp_recv(fd, reply, len, 2000, NULL);
}

START_TEST(check_mode)
{
	char out[2048];
	char *good = write_conf("good.conf", "notice");
	const char *ok_argv[] = { SIPNATD_BINARY, "-t", "-c", good, NULL };
	ck_assert_int_eq(harness_run(ok_argv, out, sizeof(out)), 0);

	char *bad = harness_write_file("bad.conf", "general: {\n  bindaddr = \"0.0.0.0\";\n"
						   "  bindport = \"five\";\n};\n");
	const char *bad_argv[] = { SIPNATD_BINARY, "-t", "-c", bad, NULL };
	ck_assert_int_eq(harness_run(bad_argv, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "bad.conf:3: general.bindport") != NULL, "got: %s", out);

	const char *shipped[] = { SIPNATD_BINARY, "-t", "-c", SIPNATD_SOURCE_DIR "/conf/sipnatd.conf",
				  NULL };
	ck_assert_msg(harness_run(shipped, out, sizeof(out)) == 0, "shipped config: %s", out);

	const char *missing[] = { SIPNATD_BINARY, "-t", "-c", "/nonexistent/sipnatd.conf", NULL };
	ck_assert_int_eq(harness_run(missing, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "/nonexistent/sipnatd.conf"));
}
END_TEST

START_TEST(version_help_usage)
{
	char out[2048];
	const char *v[] = { SIPNATD_BINARY, "-V", NULL };
	ck_assert_int_eq(harness_run(v, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "sipnatd "));
	const char *h[] = { SIPNATD_BINARY, "-h", NULL };
	ck_assert_int_eq(harness_run(h, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: sipnatd"));
	const char *bad[] = { SIPNATD_BINARY, "-x", NULL };
	ck_assert_int_eq(harness_run(bad, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "unknown option -x"));
}
END_TEST

START_TEST(foreground_life)
{
	struct daemon_proc p;
	char reply[4096], via[512], path_copy[512];
	int fd = harness_udp("127.0.1.50", 0);

	snprintf(path_copy, sizeof(path_copy), "%s", write_conf("live.conf", "info"));
	const char *args[] = { "-f", "-c", path_copy, NULL };
	harness_start(&p, args, true);

	/* OPTIONS from the LAN to sipnatd itself: 200 OK back to the source. */
	ck_assert_int_gt(options_roundtrip(fd, reply, sizeof(reply)), 0);
	ck_assert_msg(strncmp(reply, "SIP/2.0 200 OK\r\n", 16) == 0, "got: %s", reply);
	ck_assert(harness_sip_header(reply, "Via", via, sizeof(via)));
	ck_assert_msg(strstr(via, "received=127.0.1.50") && strstr(via, "rport="), "Via: %s", via);

	/* Garbage, keep-alives, an oversized and a truncated message: no answer,
	 * no crash, and the next OPTIONS still works. */
	static const char *junk[] = {
		"\r\n\r\n", "hello world", "INVITE sip:x SIP/2.0\r\nVia: garbage\r\n\r\n",
		"SIP/2.0 200 OK\r\nContent-Length: 99\r\n\r\nshort",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		harness_udp_send(fd, SN_IP, SN_PORT, junk[i], strlen(junk[i]));
	char big[9000];
	memset(big, 'A', sizeof(big));
	harness_udp_send(fd, SN_IP, SN_PORT, big, sizeof(big));
	ck_assert_int_eq(harness_udp_recv(fd, reply, sizeof(reply), 300, NULL), -1);
	ck_assert_int_gt(options_roundtrip(fd, reply, sizeof(reply)), 0);
	ck_assert(strncmp(reply, "SIP/2.0 200 OK", 14) == 0);

	/* A request missing its CSeq is answered 400. */
	const char *no_cseq = "OPTIONS sip:" SN_IP " SIP/2.0\r\n"
			      "Via: SIP/2.0/UDP 127.0.1.50:5999;branch=z9hG4bKnocseq;rport\r\n"
			      "From: <sip:a@127.0.1.50>;tag=1\r\nTo: <sip:b@127.0.1.10>\r\n"
			      "Call-ID: nocseq\r\nContent-Length: 0\r\n\r\n";
	harness_udp_send(fd, SN_IP, SN_PORT, no_cseq, strlen(no_cseq));
	ck_assert_int_gt(harness_udp_recv(fd, reply, sizeof(reply), 2000, NULL), 0);
	ck_assert_msg(strncmp(reply, "SIP/2.0 400 ", 12) == 0, "got: %s", reply);

	/* SIGHUP with a good file. */
	write_conf("live.conf", "debug");
	kill(p.pid, SIGHUP);
	ck_assert(harness_wait_log(&p, "configuration reloaded", 3000));

	/* SIGHUP with a broken file: logged, old settings kept, still serving. */
	harness_write_file("live.conf", "general: { bindport = \"five\"; };\n");
	kill(p.pid, SIGHUP);
	ck_assert(harness_wait_log(&p, "reload failed, keeping the running configuration", 3000));
	ck_assert(harness_wait_log(&p, "live.conf:1: general.bindport", 100) ||
		  harness_log_contains(&p, "live.conf:1:"));
	ck_assert(harness_alive(&p));
	ck_assert_int_gt(options_roundtrip(fd, reply, sizeof(reply)), 0);
	ck_assert(strncmp(reply, "SIP/2.0 200 OK", 14) == 0);
	/* the debug level of the last good file is still in force */
	ck_assert(harness_log_contains(&p, "debug:"));

	/* SIGTERM: exit 0 within a second. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(harness_stop(&p, SIGTERM, 5000), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(secs < 1.0, "took %.2f s to stop", secs);
	ck_assert(harness_log_contains(&p, "received SIGTERM, stopping"));

	/* The port is free again at once. */
	close(fd);
	fd = harness_udp(SN_IP, SN_PORT);
	close(fd);
}
END_TEST

START_TEST(sigint_stops_cleanly)
{
	struct daemon_proc p;
	char path_copy[512];

	snprintf(path_copy, sizeof(path_copy), "%s", write_conf("int.conf", "notice"));
	const char *args[] = { "-f", "-c", path_copy, NULL };
	harness_start(&p, args, true);
	ck_assert_int_eq(harness_stop(&p, SIGINT, 5000), 0);
}
END_TEST

START_TEST(bind_failure_exits_1)
{
	struct daemon_proc p;
	char path_copy[512];
	int blocker = harness_udp(SN_IP, SN_PORT);

	snprintf(path_copy, sizeof(path_copy), "%s", write_conf("busy.conf", "notice"));
	const char *args[] = { "-f", "-c", path_copy, NULL };
	harness_start(&p, args, false);
	ck_assert(harness_wait_log(&p, "cannot listen for SIP: bind " SN_IP ":25060", 5000));
	/* it exits by itself; SIGTERM only in case it did not */
	usleep(200 * 1000);
	ck_assert_int_eq(harness_stop(&p, SIGTERM, 5000), 1);
	close(blocker);
}
END_TEST

START_TEST(background_mode)
{
	char out[2048], pidfile[512], path_copy[512];
	int fd = harness_udp("127.0.1.51", 0);

	snprintf(path_copy, sizeof(path_copy), "%s", write_conf("bg.conf", "notice"));
	snprintf(pidfile, sizeof(pidfile), "%s/sipnatd.pid", harness_tmpdir());
	const char *argv[] = { SIPNATD_BINARY, "-c", path_copy, "-p", pidfile, NULL };
	/* the parent returns once the daemon's socket is bound */
	ck_assert_int_eq(harness_run(argv, out, sizeof(out)), 0);

	FILE *f = fopen(pidfile, "r");
	ck_assert_ptr_nonnull(f);
	long pid = 0;
	ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill((pid_t)pid, 0), 0);

	char reply[4096];
	ck_assert_int_gt(options_roundtrip(fd, reply, sizeof(reply)), 0);
	ck_assert(strncmp(reply, "SIP/2.0 200 OK", 14) == 0);

	kill((pid_t)pid, SIGTERM);
	for (int i = 0; i < 200 && kill((pid_t)pid, 0) == 0; i++)
		usleep(10 * 1000);
	ck_assert_int_ne(kill((pid_t)pid, 0), 0);
	struct stat st;
	ck_assert_int_ne(stat(pidfile, &st), 0); /* removed on exit */
	close(fd);
}
END_TEST

static void teardown(void)
{
	harness_cleanup();
}

int main(void)
{
	const TTest *tests[] = {
		check_mode, version_help_usage, foreground_life, sigint_stops_cleanly,
		bind_failure_exits_1, background_mode, NULL };
	return harness_main("lifecycle", "daemon", 60, NULL, teardown, tests);
}
