/*
 * A fault through the real daemon: a receive queue overflow. Prints what it measured
 * ("faults: ..."); the loopback network and the PBX and trunk it plays:
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

/* ---- a receive queue overflow ---- */

START_TEST(receive_queue_overflow)
{
	char dgram[1200], ip[32];
	struct client alice;
	int attackers[4];

	faultnet_start(&(struct faultnet_conf){ 0 });
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "127.0.13.%d", i + 1);
		attackers[i] = harness_udp(ip, 0);
	}
	for (size_t i = 0; i < sizeof(dgram); i++)
		dgram[i] = (char)('a' + i % 26);
	/* Stopped, the daemon reads nothing: 40 000 datagrams of 1 200 bytes
	 * are far more than its socket buffer holds. */
	ck_assert_int_eq(kill(faultnet_daemon.pid, SIGSTOP), 0);
	long t0 = harness_now_ms();
	int sent = 0;
	for (int k = 0; k < 10000; k++)
		for (int i = 0; i < 4; i++) {
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(SN_PORT) };
			inet_pton(AF_INET, SN_IP, &to.sin_addr);
			if (sendto(attackers[i], dgram, sizeof(dgram), 0, (struct sockaddr *)&to, sizeof(to)) > 0)
				sent++;
		}
	long flood_ms = harness_now_ms() - t0;
	usleep(200 * 1000);
	ck_assert_int_eq(kill(faultnet_daemon.pid, SIGCONT), 0);
	long t1 = harness_now_ms();
	client_open(&alice, ALICE_IP, "reg-after-overflow", SN_IP, SN_PORT);
	long reg_ms = faultnet_register_peer(&alice, "alice", "s3cret");
	long after_ms = harness_now_ms() - t1;
	ck_assert_msg(harness_wait_log(&faultnet_daemon, "SIP receive queue overflowed", 2000),
		      "the overflow was not logged; log %s", faultnet_daemon.log_path);
	ck_assert_msg(harness_alive(&faultnet_daemon), "sipnatd died");
	long overflows = harness_stat("sip", "rx_overflows"), malformed = harness_stat("sip", "malformed");
	harness_report("faults", "overflow: %d datagrams sent in %ld ms to the stopped daemon; after SIGCONT: %ld malformed "
	       "read, %ld counted as dropped by the kernel (sip.rx_overflows), %ld overflow log line(s); "
	       "a REGISTER (challenge and answer) started right after SIGCONT got its 200 in %ld ms",
	       sent, flood_ms, malformed, overflows, harness_log_count(&faultnet_daemon, "SIP receive queue overflowed"), reg_ms);
	ck_assert_int_gt(overflows, 0);
	ck_assert_int_le(harness_log_count(&faultnet_daemon, "SIP receive queue overflowed"), 10);
	ck_assert_int_lt(after_ms, 3000);
	for (int i = 0; i < 4; i++)
		close(attackers[i]);
	close(alice.fd);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { receive_queue_overflow, NULL };
	return faultnet_run("fault_overflow", tests);
}
