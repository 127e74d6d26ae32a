/*
 * A fault through the real daemon: SIGHUP every 100 ms under a steady call load. Prints
 * what it measured ("faults: ..."); the loopback network and the PBX and trunk it plays:
 * tests/support/faultnet.h.
 */
#include "faultnet.h"
#include "harness.h"
#include "sipclient.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- SIGHUP every 100 ms under a steady call load ---- */

/* The last value of column in a sipp -trace_stat file, -1 if absent. */
static long sipp_stat(const char *path, const char *column)
{
	static char line[16384], head[16384];
	FILE *f = fopen(path, "r");
	long value = -1;

	if (!f)
		return -1;
	if (!fgets(head, sizeof(head), f)) {
		fclose(f);
		return -1;
	}
	char last[16384] = "";
	while (fgets(line, sizeof(line), f))
		if (line[0] && line[0] != '\n')
			snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	int col = 0;
	for (char *h = strtok(head, ";\n"); h; h = strtok(NULL, ";\n"), col++)
		if (strcmp(h, column) == 0)
			break;
	char *v = last;
	for (int i = 0; i < col && v; i++) {
		v = strchr(v, ';');
		if (v)
			v++;
	}
	if (v && *v)
		value = strtol(v, NULL, 10);
	return value;
}

static pid_t spawn(const char *const argv[], const char *log_name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", harness_tmpdir(), log_name);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait for pid up to timeout_ms (signalling sig first when not 0); its exit
 * status, or -1 after killing it on timeout. */
static int reap(pid_t pid, int sig, int timeout_ms)
{
	struct daemon_proc p = { .pid = pid };
	return harness_stop(&p, sig, timeout_ms);
}

START_TEST(sighup_every_100ms_under_load)
{
	char uas_csv[600], uac_csv[600], uas_err[600], uac_err[600];
	const int calls = 300;

	faultnet_start(&(struct faultnet_conf){ .level = "notice" });
	snprintf(uas_csv, sizeof(uas_csv), "%s/uas.csv", harness_tmpdir());
	snprintf(uac_csv, sizeof(uac_csv), "%s/uac.csv", harness_tmpdir());
	snprintf(uas_err, sizeof(uas_err), "%s/uas.err", harness_tmpdir());
	snprintf(uac_err, sizeof(uac_err), "%s/uac.err", harness_tmpdir());
	/* sipp's socket buffers are 64 KiB unless told: a sipp the machine
	 * stalls for a moment would drop what it was sent */
	const char *uas_argv[] = { "sipp", "-sn", "uas", "-i", PBX_IP, "-p", "25180", "-aa", "-nostdin",
				   "-buff_size", "4194304",
				   "-timeout", "60s", "-deadcall_wait", "2000", "-trace_stat", "-fd", "1", "-stf", uas_csv,
				   "-trace_err", "-error_file", uas_err, NULL };
	pid_t uas = spawn(uas_argv, "uas.out");
	usleep(300 * 1000);
	const char *uac_argv[] = { "sipp", "-sn", "uac", "-i", TRUNK_IP, "-p", "5070", "-r", "30", "-m", "300",
				   "-buff_size", "4194304",
				   "-aa", "-nostdin", "-timeout", "60s", "-deadcall_wait", "2000",
				   "-trace_stat", "-fd", "1", "-stf", uac_csv, "-trace_err", "-error_file",
				   uac_err, SN_IP ":25160", NULL };
	pid_t uac = spawn(uac_argv, "uac.out");

	/* Two configurations, swapped on every reload: the RTP range shrinks
	 * under live calls and grows back, the trunk's qualify period, alice's
	 * secret and the log level change. */
	struct faultnet_conf a = { .level = "notice" };
	struct faultnet_conf b = { .level = "info", .rtpend = 32049, .trunk_extra = " qualifyfreq = 7;",
			       .alice_secret = "n3w-s3cret" };
	int hups = 0, status = 0;
	long t0 = harness_now_ms();
	bool uac_done = false;
	while (harness_now_ms() - t0 < 30000) {
		usleep(100 * 1000);
		if (waitpid(uac, &status, WNOHANG) == uac) {
			uac_done = true;
			break;
		}
		faultnet_write_conf(hups % 2 ? &a : &b);
		ck_assert_int_eq(kill(faultnet_daemon.pid, SIGHUP), 0);
		hups++;
		/* every call placed and ended: sipp may linger over an
		 * auto-answered ping; that is not what this measures */
		if (harness_now_ms() - t0 > 10500 && harness_stat("calls", "ended") >= calls)
			break;
	}
	long load_ms = harness_now_ms() - t0;
	int uac_rc = uac_done ? (WIFEXITED(status) ? WEXITSTATUS(status) : 128) : reap(uac, SIGUSR1, 10000);
	/* SIGUSR1: sipp ends once its calls have; one that lingers over a
	 * ping it auto-answered is killed, and its counters decide */
	int uas_rc = reap(uas, SIGUSR1, 15000);
	ck_assert_msg(harness_alive(&faultnet_daemon), "sipnatd died under SIGHUP");
	usleep(300 * 1000);
	long ok = sipp_stat(uac_csv, "SuccessfulCall(C)"), bad = sipp_stat(uac_csv, "FailedCall(C)");
	long ok_uas = sipp_stat(uas_csv, "SuccessfulCall(C)"), retrans = sipp_stat(uac_csv, "Retransmissions(C)");
	long reloads = harness_stat("reloads", "done"), reload_failed = harness_stat("reloads", "failed");
	harness_report("faults", "SIGHUP: %d signals in %ld ms, %ld reloads done, %ld failed; sipp: %ld of %d calls "
	       "successful, %ld failed, %ld retransmissions (uas %ld successful); "
	       "sipnatd: %ld set up, %ld ended, %ld failed, %ld active, pool %ld of %ld free",
	       hups, load_ms, reloads, reload_failed, ok, calls, bad, retrans, ok_uas,
	       harness_stat("calls", "set_up"), harness_stat("calls", "ended"), harness_stat("calls", "failed"),
	       harness_stat("calls", "active"), harness_stat("pool", "free"), harness_stat("pool", "pairs"));
	ck_assert_msg(uac_rc == 0 && ok == calls && bad == 0, "sipp uac: %ld ok, %ld failed, exit %d; see %s",
		      ok, bad, uac_rc, uac_err);
	long bad_uas = sipp_stat(uas_csv, "FailedCall(C)");
	ck_assert_msg((uas_rc == 0 || uas_rc == -1) && ok_uas == calls && bad_uas == 0,
		      "sipp uas: %ld ok, %ld failed, exit %d; see %s", ok_uas, bad_uas, uas_rc, uas_err);
	ck_assert_int_ge(hups, 90);
	ck_assert_int_ge(reloads, hups / 2); /* signals that arrive together count once */
	ck_assert_int_eq(reload_failed, 0);
	ck_assert_int_eq(harness_stat("calls", "failed"), 0);
	ck_assert_int_eq(harness_stat("calls", "active"), 0);
	ck_assert_int_eq(harness_stat("pool", "in_use"), 0);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { sighup_every_100ms_under_load, NULL };
	return faultnet_run("fault_sighup", tests);
}
