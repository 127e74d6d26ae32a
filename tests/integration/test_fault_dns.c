/*
 * A fault through the real daemon: the DNS server gone, broken, and back (externhost).
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

/* ---- the DNS server gone, broken, and back (externhost) ---- */

/* What the DNS server the test plays does. */
enum dns_mode { DNS_ANSWER, DNS_SERVFAIL, DNS_NXDOMAIN };

/* Answer every query waiting on fd: home.test A -> answer, or the error. */
static void dns_serve(int fd, enum dns_mode mode, const char *answer)
{
	unsigned char q[600], r[700];
	struct sockaddr_in from;
	socklen_t flen;

	for (;;) {
		flen = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		if (n < 12)
			return;
		size_t off = 12;
		while (off < (size_t)n && q[off] != 0)
			off += 1u + q[off];
		if (off + 5 > (size_t)n)
			continue;
		size_t qend = off + 5; /* root label, QTYPE, QCLASS */
		bool a_query = q[off + 1] == 0 && q[off + 2] == 1;
		memcpy(r, q, qend);
		r[2] = 0x81; /* QR, RD */
		r[3] = 0x80; /* RA */
		r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
		size_t len = qend;
		if (mode == DNS_SERVFAIL) {
			r[3] |= 2;
		} else if (mode == DNS_NXDOMAIN || !a_query) {
			r[3] |= mode == DNS_NXDOMAIN ? 3 : 0;
		} else {
			unsigned char rr[16] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4 };
			ck_assert_int_eq(inet_pton(AF_INET, answer, rr + 12), 1);
			memcpy(r + len, rr, sizeof(rr));
			len += sizeof(rr);
			r[7] = 1; /* ANCOUNT */
		}
		sendto(fd, r, len, 0, (struct sockaddr *)&from, flen);
	}
}

/* The address an INVITE to the trunk advertises (its Via sent-by). */
static void advertised(const char *msg, char *out, size_t len)
{
	char via[1024];

	ck_assert(harness_sip_header(msg, "Via", via, sizeof(via)));
	const char *p = strstr(via, "SIP/2.0/UDP ");
	ck_assert_ptr_nonnull(p);
	p += 12;
	size_t n = strcspn(p, ":;");
	snprintf(out, len, "%.*s", (int)n, p);
}

/* Run for ms: serve DNS (fd < 0: the server is gone) and place a PBX call to
 * the trunk every 300 ms, each of which must advertise want (want2, when not
 * NULL, is also accepted; the first INVITE showing want2 ends the phase
 * early and returns its time). Returns -1 when no INVITE showed want2. */
static long dns_phase(int *dns, enum dns_mode mode, const char *answer, int pbx, int trunk, long ms,
		      const char *want, const char *want2, int *calls)
{
	static int seq;
	char cid[64], ext[64];
	long t0 = harness_now_ms(), next_call = t0;

	while (harness_now_ms() - t0 < ms) {
		if (*dns >= 0) {
			struct pollfd pfd = { .fd = *dns, .events = POLLIN };
			poll(&pfd, 1, 20);
			dns_serve(*dns, mode, answer);
		} else {
			usleep(20 * 1000);
		}
		if (harness_now_ms() < next_call)
			continue;
		next_call += 300;
		snprintf(cid, sizeof(cid), "dns-%d", seq++);
		long c0 = harness_now_ms();
		char msg[2048], got[8192];
		int n = snprintf(msg, sizeof(msg),
				 "INVITE sip:trunk@" SN_IP ":25160 SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP " PBX_IP ":25180;branch=z9hG4bK%s;rport\r\n"
				 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p-%s\r\n"
				 "To: <sip:trunk@" SN_IP ">\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
				 "Contact: <sip:200@" PBX_IP ":25180>\r\nContent-Length: 0\r\n\r\n",
				 cid, cid, cid);
		harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
		ck_assert_msg(faultnet_wait_for(trunk, "INVITE ", cid, got, sizeof(got), 1000),
			      "INVITE %s did not reach the trunk within 1 s", cid);
		ck_assert_msg(harness_now_ms() - c0 < 500, "INVITE %s took %ld ms", cid, harness_now_ms() - c0);
		(*calls)++;
		advertised(got, ext, sizeof(ext));
		if (want2 && strcmp(ext, want2) == 0)
			return harness_now_ms() - t0;
		ck_assert_msg(strcmp(ext, want) == 0, "INVITE %s advertised %s, want %s", cid, ext, want);
	}
	return -1;
}

/* test_externhost.c covers a killed and a silent server against dnsmasq;
 * this adds broken answers (SERVFAIL, NXDOMAIN) after a good one, and the
 * server coming back with a new address after a long outage. */
START_TEST(dns_gone_then_back)
{
	char resolv[600], ext[700];
	int pbx = harness_udp(PBX_IP, PBX_PORT), trunk = harness_udp(TRUNK_IP, TRUNK_PORT);
	int dns = harness_udp(DNS_IP, DNS_PORT), calls = 0;

	snprintf(resolv, sizeof(resolv), "%s",
		 harness_write_file("resolv.conf", "nameserver " DNS_IP ":25153\noptions timeout:1 attempts:1\n"));
	snprintf(ext, sizeof(ext), "externhost = \"home.test\"; externrefresh = 1; resolvconf = \"%s\";", resolv);
	struct faultnet_conf o = { .ext = ext, .level = "info" };
	faultnet_write_conf(&o);
	const char *args[] = { "-f", "-c", faultnet_conf_path, NULL };
	harness_start(&faultnet_daemon, args, false);
	long t0 = harness_now_ms();
	while (!harness_log_contains(&faultnet_daemon, "resolved to " EXT1) && harness_now_ms() - t0 < 5000) {
		struct pollfd pfd = { .fd = dns, .events = POLLIN };
		poll(&pfd, 1, 50);
		dns_serve(dns, DNS_ANSWER, EXT1);
	}
	ck_assert_msg(harness_wait_log(&faultnet_daemon, "externhost home.test resolved to " EXT1, 100),
		      "home.test never resolved; log %s", faultnet_daemon.log_path);
	dns_phase(&dns, DNS_ANSWER, EXT1, pbx, trunk, 1000, EXT1, NULL, &calls);

	/* broken answers: the last good address stays */
	dns_phase(&dns, DNS_SERVFAIL, NULL, pbx, trunk, 3000, EXT1, NULL, &calls);
	ck_assert_msg(harness_wait_log(&faultnet_daemon, "keeping the last good address " EXT1, 100),
		      "no warning after SERVFAIL; log %s", faultnet_daemon.log_path);
	dns_phase(&dns, DNS_NXDOMAIN, NULL, pbx, trunk, 3000, EXT1, NULL, &calls);
	/* gone (port unreachable) for 12 s, longer than evdns' first probe backoff */
	close(dns);
	dns = -1;
	dns_phase(&dns, DNS_ANSWER, NULL, pbx, trunk, 12000, EXT1, NULL, &calls);
	ck_assert_msg(harness_alive(&faultnet_daemon), "sipnatd died");
	/* back, with a new address: picked up soon */
	dns = harness_udp(DNS_IP, DNS_PORT);
	long back = dns_phase(&dns, DNS_ANSWER, EXT2, pbx, trunk, 20000, EXT1, EXT2, &calls);
	ck_assert_msg(back >= 0, "the new address was not used within 20 s of the DNS server's return; log %s",
		      faultnet_daemon.log_path);
	harness_report("faults", "DNS: %d calls through SERVFAIL, NXDOMAIN and a 12 s outage, all with the last good "
	       "address; back with a new address: first INVITE with it after %ld ms; %ld warning line(s)",
	       calls, back, harness_log_count(&faultnet_daemon, "cannot resolve externhost"));
	ck_assert_msg(back <= 12000, "the DNS server was back for %ld ms before its answer was used", back);
	ck_assert(harness_wait_log(&faultnet_daemon, "external address changed: externhost home.test now " EXT2, 1000));
	close(dns);
	close(pbx);
	close(trunk);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { dns_gone_then_back, NULL };
	return faultnet_run("fault_dns", tests);
}
