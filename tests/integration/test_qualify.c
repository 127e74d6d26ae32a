/*
 * Qualify and NAT keep-alive through the real daemon (issue: operations): a
 * registered phone is pinged at its NAT address, addressed to its own
 * Contact, from sipnatd's SIP port; when it stops answering it goes
 * UNREACHABLE (RFC 3261 Timer F, 32 s) and a PBX call to it fails at once
 * with 480; when it answers again it is reachable and called again.
 *
 *   LAN: sipnatd 127.0.1.10:25060, PBX 127.0.1.20:25080; phone 127.0.2.5
 */
#include "harness.h"
#include "lan1.h"
#include "sipclient.h"

#include <arpa/inet.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static struct daemon_proc daemon_p;

static const char conf_text[] =
	LAN1_GENERAL
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"peers: ( { name = \"alice\"; secret = \"s3cret\"; qualifyfreq = 2; } );\n"
	"logging: { level = \"info\"; };\n";

/* Wait for sipnatd's OPTIONS ping on the phone's socket. */
static bool wait_ping(struct client *c, char *buf, size_t len, int timeout_ms, struct sockaddr_in *from)
{
	long deadline = harness_now_ms() + timeout_ms;
	while (harness_now_ms() < deadline) {
		if (harness_udp_recv(c->fd, buf, len, (int)(deadline - harness_now_ms()), from) > 0 &&
		    strncmp(buf, "OPTIONS ", 8) == 0)
			return true;
	}
	return false;
}

static int pbx_calls_alice(int pbx, int n, char *got, size_t len)
{
	char msg[2048];
	int k = snprintf(msg, sizeof(msg),
			 "INVITE sip:alice@" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP " PBX_IP ":25080;branch=z9hG4bKq%d;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p%d\r\n"
			 "To: <sip:alice@" SN_IP ">\r\nCall-ID: qualify-call-%d\r\nCSeq: 1 INVITE\r\n"
			 "Contact: <sip:200@" PBX_IP ":25080>\r\nContent-Length: 0\r\n\r\n",
			 n, n, n);
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)k);
	return (int)harness_sip_recv(pbx, got, len, 1000, NULL);
}

START_TEST(unreachable_and_back)
{
	char text[2048], path[512], out[8192];
	struct client phone;
	struct sockaddr_in from;

	snprintf(text, sizeof(text), conf_text, harness_tmpdir(), harness_tmpdir());
	snprintf(path, sizeof(path), "%s", harness_write_file("qualify.conf", text));
	const char *args[] = { "-f", "-c", path, NULL };
	harness_start(&daemon_p, args, true);
	int pbx = harness_udp(PBX_IP, PBX_PORT);

	client_open(&phone, "127.0.2.5", "reg-qualify", SN_IP, SN_PORT);
	client_auth_request(&phone, "REGISTER", "alice", "s3cret", "600", out, sizeof(out));
	ck_assert(strncmp(out, "SIP/2.0 200 OK", 14) == 0);

	/* pinged at once, at the NAT address, to its own Contact, from 5060's stand-in */
	ck_assert(wait_ping(&phone, out, sizeof(out), 3000, &from));
	ck_assert_msg(strncmp(out, "OPTIONS sip:alice@192.168.1.5:5060 SIP/2.0", 42) == 0, "got %s", out);
	ck_assert_uint_eq(ntohs(from.sin_port), SN_PORT);
	client_reply(&phone, out, 200, "OK");
	snprintf(text, sizeof(text), "alice at 127.0.2.5:%u is reachable", phone.port);
	ck_assert(harness_wait_log(&daemon_p, text, 2000));
	/* and again every qualifyfreq (2 s): the NAT mapping stays open */
	ck_assert(wait_ping(&phone, out, sizeof(out), 4000, NULL));
	client_reply(&phone, out, 404, "Not Found"); /* any answer means reachable */

	/* The phone goes silent: UNREACHABLE after Timer F. */
	long t0 = harness_now_ms();
	char line[128];
	snprintf(line, sizeof(line), "alice at 127.0.2.5:%u is UNREACHABLE", phone.port);
	ck_assert_msg(harness_wait_log(&daemon_p, line, 45000), "never UNREACHABLE");
	long waited = harness_now_ms() - t0;
	ck_assert_msg(waited >= 25000, "UNREACHABLE after only %ld ms", waited);

	/* A call to it fails at once with 480; nothing is sent its way. */
	while (harness_udp_recv(phone.fd, out, sizeof(out), 50, NULL) > 0)
		;
	long c0 = harness_now_ms();
	ck_assert_int_gt(pbx_calls_alice(pbx, 1, out, sizeof(out)), 0);
	ck_assert_msg(strncmp(out, "SIP/2.0 480 ", 12) == 0, "got %s", out);
	ck_assert_int_lt(harness_now_ms() - c0, 500);
	ck_assert(!client_recv(&phone, out, sizeof(out), 200) || strncmp(out, "INVITE", 6) != 0);

	/* It answers again: reachable, and the PBX reaches it. */
	ck_assert(wait_ping(&phone, out, sizeof(out), 5000, NULL));
	client_reply(&phone, out, 200, "OK");
	snprintf(line, sizeof(line), "alice at 127.0.2.5:%u is reachable", phone.port);
	ck_assert(harness_wait_log(&daemon_p, line, 3000));
	pbx_calls_alice(pbx, 2, out, sizeof(out)); /* nothing comes back to the PBX at once */
	bool invited = false;
	for (int i = 0; i < 5 && !invited; i++) {
		if (!client_recv(&phone, out, sizeof(out), 1000))
			continue;
		invited = strncmp(out, "INVITE sip:alice@192.168.1.5:5060", 33) == 0;
	}
	ck_assert(invited);
	close(pbx);
	close(phone.fd);
	ck_assert_int_eq(harness_stop(&daemon_p, SIGTERM, 5000), 0);
}
END_TEST

static void teardown(void)
{
	if (daemon_p.pid > 0)
		harness_stop(&daemon_p, SIGKILL, 2000);
	harness_cleanup();
}

int main(void)
{
	const TTest *tests[] = { unreachable_and_back, NULL };
	return harness_main("qualify", "qualify", 90, NULL, teardown, tests);
}
