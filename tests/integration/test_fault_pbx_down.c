/*
 * A fault through the real daemon: the PBX down (ICMP port unreachable), then back.
 * Prints what it measured ("faults: ..."); the loopback network and the PBX and trunk it
 * plays: tests/support/faultnet.h.
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

/* ---- the PBX down (ICMP port unreachable), then back ---- */

START_TEST(pbx_down_then_back)
{
	char got[8192], cid[64];
	int trunk = harness_udp(TRUNK_IP, TRUNK_PORT);
	int answered[700] = { 0 }, invites = 0, sent = 0;

	faultnet_start(&(struct faultnet_conf){ .level = "info" });
	/* Nothing listens at the PBX's address: every datagram sipnatd sends
	 * there comes back as ICMP port unreachable. The trunk sends a new call
	 * every 100 ms for 3 s and retransmits each every 500 ms (Timer A). */
	long c0 = harness_cpu_ticks(faultnet_daemon.pid), t0 = harness_now_ms(), next_new = t0, next_rtx = t0 + 500;
	while (harness_now_ms() - t0 < 3000) {
		if (harness_now_ms() >= next_new) {
			snprintf(cid, sizeof(cid), "down-%d", invites++);
			faultnet_trunk_send_invite(trunk, cid);
			sent++;
			next_new += 100;
		}
		if (harness_now_ms() >= next_rtx) {
			for (int i = 0; i < invites; i++) {
				snprintf(cid, sizeof(cid), "down-%d", i);
				faultnet_trunk_send_invite(trunk, cid);
				sent++;
			}
			next_rtx += 500;
		}
		if (faultnet_wait_for(trunk, "SIP/2.0 ", NULL, got, sizeof(got), 10)) {
			int code = atoi(got + 8);
			if (code >= 100 && code < 700)
				answered[code]++;
		}
	}
	long down_ms = harness_now_ms() - t0, down_ticks = harness_cpu_ticks(faultnet_daemon.pid) - c0;
	/* then silence: the daemon must idle, not spin on the socket's error */
	long c1 = harness_cpu_ticks(faultnet_daemon.pid), t1 = harness_now_ms();
	while (harness_now_ms() - t1 < 1000)
		faultnet_wait_for(trunk, "SIP/2.0 ", NULL, got, sizeof(got), 100);
	long idle_ms = harness_now_ms() - t1, idle_ticks = harness_cpu_ticks(faultnet_daemon.pid) - c1;
	ck_assert_msg(harness_alive(&faultnet_daemon), "sipnatd died while the PBX was down");
	long held = harness_stat("pool", "in_use");
	harness_report("faults", "PBX down: %d INVITEs (%d datagrams with retransmissions) in %ld ms; answers to the trunk: "
	       "%d x 100, %d x 408, %d x 480, %d x 503",
	       invites, sent, down_ms, answered[100], answered[408], answered[480], answered[503]);
	harness_report("faults", "PBX down: sipnatd CPU %.1f %% while the trunk sent, %.1f %% idle after; "
	       "%ld \"Connection refused\" log lines; %ld relay pairs held by never-answered INVITEs",
	       100 * harness_cpu_share(down_ticks, down_ms), 100 * harness_cpu_share(idle_ticks, idle_ms),
	       harness_log_count(&faultnet_daemon, "Connection refused"), held);
	ck_assert_msg(harness_cpu_share(down_ticks, down_ms) < 0.30, "busy: %.0f %% CPU while the PBX was down",
		      100 * harness_cpu_share(down_ticks, down_ms));
	ck_assert_msg(harness_cpu_share(idle_ticks, idle_ms) < 0.05, "busy loop: %.0f %% CPU idle",
		      100 * harness_cpu_share(idle_ticks, idle_ms));
	ck_assert_msg(harness_log_count(&faultnet_daemon, "Connection refused") <= 20, "ICMP errors flood the log");

	/* The PBX is back: calls go through at once. */
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	long t2 = harness_now_ms();
	for (int i = 0; i < 10; i++) {
		snprintf(cid, sizeof(cid), "back-%d", i);
		int code = faultnet_trunk_call(trunk, pbx, cid);
		ck_assert_msg(code == 200, "call %s after the PBX came back: %d", cid, code);
	}
	harness_report("faults", "PBX back: 10 of 10 calls through in %ld ms", harness_now_ms() - t2);
	ck_assert_msg(harness_alive(&faultnet_daemon), "sipnatd died");
	close(pbx);
	close(trunk);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { pbx_down_then_back, NULL };
	return faultnet_run("fault_pbx_down", tests);
}
