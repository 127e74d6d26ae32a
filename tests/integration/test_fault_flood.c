/*
 * A fault through the real daemon: floods of garbage and of unauthenticated INVITEs.
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

/* ---- floods of garbage and of unauthenticated INVITEs ---- */

#define FLOOD_GARBAGE 10000
#define FLOOD_INVITES 10000
#define FLOOD_SOURCES 4
#define FLOOD_MS 4000

/* The attackers, in a child: 10 000 garbage datagrams and 10 000 INVITEs
 * without credentials, interleaved, from four addresses, spread over
 * FLOOD_MS. */
static void flood(void)
{
	int fds[FLOOD_SOURCES];
	char ip[32], msg[2048];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(SN_PORT) };
	long t0 = harness_now_ms();

	inet_pton(AF_INET, SN_IP, &to.sin_addr);
	for (int i = 0; i < FLOOD_SOURCES; i++) {
		snprintf(ip, sizeof(ip), "127.0.13.%d", i + 1);
		fds[i] = harness_udp(ip, 0);
	}
	const int total = FLOOD_GARBAGE + FLOOD_INVITES, per_tick = total / (FLOOD_MS / 10);
	for (int k = 0; k < total; k++) {
		int fd = fds[k % FLOOD_SOURCES];
		size_t n;
		if (k % 2) {
			n = (size_t)snprintf(msg, sizeof(msg),
					     "INVITE sip:100@" SN_IP ":25160 SIP/2.0\r\n"
					     "Via: SIP/2.0/UDP 127.0.13.%d:5060;branch=z9hG4bKfl%d;rport\r\n"
					     "Max-Forwards: 70\r\nFrom: <sip:%d@" SN_IP ">;tag=f%d\r\n"
					     "To: <sip:100@" SN_IP ">\r\nCall-ID: flood-%d\r\nCSeq: 1 INVITE\r\n"
					     "Contact: <sip:x@127.0.13.%d:5060>\r\nContent-Type: application/sdp\r\n"
					     "Content-Length: 108\r\n\r\n"
					     "v=0\r\no=x 1 1 IN IP4 127.0.13.1\r\ns=-\r\nc=IN IP4 127.0.13.1\r\n"
					     "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
					     k % FLOOD_SOURCES + 1, k, 100 + k % 900, k, k, k % FLOOD_SOURCES + 1);
		} else {
			n = 40 + (size_t)(k % 400);
			for (size_t j = 0; j < n; j++)
				msg[j] = (char)(k * 31 + (int)j * 7);
		}
		sendto(fd, msg, n, 0, (struct sockaddr *)&to, sizeof(to));
		if (k % per_tick == per_tick - 1) {
			long due = t0 + (k / per_tick + 1) * 10;
			long wait = due - harness_now_ms();
			if (wait > 0)
				usleep((useconds_t)wait * 1000);
		}
	}
	_exit(0);
}

START_TEST(flood_while_legit_peer_registers_and_calls)
{
	char out[8192], line[1024], got[8192];
	struct client alice;
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	long reg[64];
	int regs = 0;

	faultnet_start(&(struct faultnet_conf){ 0 });
	client_open(&alice, ALICE_IP, "reg-flood", SN_IP, SN_PORT);
	long c0 = harness_cpu_ticks(faultnet_daemon.pid);
	long t0 = harness_now_ms();
	pid_t attacker = fork();
	ck_assert_int_ge(attacker, 0);
	if (attacker == 0)
		flood();
	usleep(300 * 1000);

	/* Meanwhile alice registers every 200 ms and places one call. */
	bool called = false;
	long call_ms = -1;
	int status;
	bool flood_over = false;
	while (!(flood_over = waitpid(attacker, &status, WNOHANG) == attacker) && regs < 64) {
		reg[regs++] = faultnet_register_peer(&alice, "alice", "s3cret");
		if (!called && regs == 5) {
			struct client call = alice;
			call.cseq = 0;
			snprintf(call.call_id, sizeof(call.call_id), "alice-calls-in-flood");
			long c1 = harness_now_ms();
			client_send(&call, "INVITE", "alice", NULL, NULL);
			ck_assert(client_recv(&call, out, sizeof(out), 2000));
			ck_assert_msg(strncmp(out, "SIP/2.0 407", 11) == 0, "got %s", out);
			client_answer_challenge(&call, out, "INVITE", "alice", "s3cret", line, sizeof(line));
			client_send(&call, "INVITE", "alice", line, NULL);
			ck_assert_msg(faultnet_wait_for(pbx, "INVITE ", "alice-calls-in-flood", got, sizeof(got), 2000),
				      "alice's INVITE did not reach the PBX during the flood");
			faultnet_reply(pbx, got, 200, "OK", "pbxf", NULL);
			ck_assert_int_eq(faultnet_wait_final(call.fd, "alice-calls-in-flood", out, sizeof(out), 2000), 200);
			call_ms = harness_now_ms() - c1;
			called = true;
		}
		usleep(200 * 1000);
	}
	if (!flood_over)
		flood_over = waitpid(attacker, &status, 0) == attacker;
	long flood_ms = harness_now_ms() - t0, ticks = harness_cpu_ticks(faultnet_daemon.pid) - c0;
	ck_assert(flood_over);
	ck_assert_msg(harness_alive(&faultnet_daemon), "sipnatd died in the flood");
	ck_assert_msg(called, "the flood ended before alice's call (only %d registrations)", regs);
	ck_assert_int_ge(regs, 5);

	long worst = 0, sum = 0;
	for (int i = 0; i < regs; i++) {
		sum += reg[i];
		if (reg[i] > worst)
			worst = reg[i];
	}
	harness_report("faults", "flood: %d garbage datagrams and %d unauthenticated INVITEs from %d addresses in %ld ms "
	       "(sipnatd CPU %.0f %%); counted %ld malformed, %ld answered locally (challenges within the "
	       "per-address budget), %ld dropped, %ld kernel drops",
	       FLOOD_GARBAGE, FLOOD_INVITES, FLOOD_SOURCES, flood_ms, 100 * harness_cpu_share(ticks, flood_ms),
	       harness_stat("sip", "malformed"), harness_stat("sip", "answered_locally"), harness_stat("sip", "dropped"),
	       harness_stat("sip", "rx_overflows"));
	harness_report("faults", "flood: alice registered %d times meanwhile (digest: challenge + answer), %ld ms on average, "
	       "%ld ms at worst; her call (407, INVITE with credentials, PBX, 200) took %ld ms",
	       regs, sum / regs, worst, call_ms);
	ck_assert_msg(worst < 1000, "a REGISTER took %ld ms during the flood", worst);
	close(alice.fd);
	close(pbx);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { flood_while_legit_peer_registers_and_calls, NULL };
	return faultnet_run("fault_flood", tests);
}
