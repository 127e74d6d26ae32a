/*
 * A fault through the real daemon: the PBX's 200 retransmitted after the call ended.
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

/* ---- the PBX's 200 retransmitted after the call ended ---- */

/* The PBX did not see the ACK in time and retransmits its 200 after the
 * trunk's BYE: sipnatd passes it on (it keeps no transaction), but the call
 * is over and must not take a relay pair again. Found by the soak (a PBX
 * stalled for half a second): each such 200 held a pair until rtptimeout. */
START_TEST(late_200_takes_no_relay_pair)
{
	char inv[8192], got[8192], to[512], msg[4096];
	int trunk = harness_udp(TRUNK_IP, TRUNK_PORT), pbx = harness_udp(PBX_IP, PBX_PORT);

	faultnet_start(&(struct faultnet_conf){ 0 });
	faultnet_trunk_send_invite(trunk, "late-200");
	ck_assert(faultnet_wait_for(pbx, "INVITE ", "late-200", inv, sizeof(inv), 2000));
	faultnet_reply(pbx, inv, 200, "OK", "pbx1", faultnet_pbx_sdp);
	ck_assert_int_eq(faultnet_wait_final(trunk, "late-200", got, sizeof(got), 2000), 200);
	ck_assert(harness_sip_header(got, "To", to, sizeof(to)));
	int n = faultnet_trunk_request(msg, sizeof(msg), "ACK", "late-200", 1, "late-200-ack", to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert(faultnet_wait_for(pbx, "ACK ", "late-200", got, sizeof(got), 2000));
	n = faultnet_trunk_request(msg, sizeof(msg), "BYE", "late-200", 2, "late-200-bye", to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert(faultnet_wait_for(pbx, "BYE ", "late-200", got, sizeof(got), 2000));
	faultnet_reply(pbx, got, 200, "OK", NULL, NULL);
	ck_assert_int_eq(faultnet_wait_final(trunk, "late-200", got, sizeof(got), 2000), 200);
	ck_assert(harness_wait_log(&faultnet_daemon, "call late-200 ended (BYE)", 1000));
	ck_assert_int_eq(harness_stat("pool", "in_use"), 0);

	/* the same 200 again, byte for byte */
	faultnet_reply(pbx, inv, 200, "OK", "pbx1", faultnet_pbx_sdp);
	int again = faultnet_wait_final(trunk, "late-200", got, sizeof(got), 1000);
	usleep(200 * 1000);
	long in_use = harness_stat("pool", "in_use"), active = harness_stat("calls", "active");
	harness_report("faults", "late 200: the retransmission was %s; afterwards %ld relay pair(s) in use, %ld call(s) active, "
	       "\"set up\" logged %ld time(s)",
	       again == 200 ? "passed on to the trunk" : "not passed on", in_use, active,
	       harness_log_count(&faultnet_daemon, "call late-200 set up"));
	ck_assert_msg(in_use == 0 && active == 0,
		      "a 200 retransmitted after the BYE set up the call's relay again (%ld pair(s) held until "
		      "rtptimeout)", in_use);
	close(trunk);
	close(pbx);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { late_200_takes_no_relay_pair, NULL };
	return faultnet_run("fault_late_200", tests);
}
