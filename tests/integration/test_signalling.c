/*
 * Signalling through the real daemon on loopback (issue: signalling).
 *
 *   LAN (localnet 127.0.1.0/24): sipnatd 127.0.1.10:25060, PBX 127.0.1.20:25080
 *   Internet: phones on 127.0.2.x, a would-be relay victim on 127.0.2.77
 *   External address: 203.0.113.7 (externip; never sent to)
 *
 * Whole calls are played by sipp (scenarios/ hold what each side checks);
 * the hostile cases are single datagrams from plain sockets, so that the test
 * sees exactly what arrives where.
 */
#include "harness.h"
#include "lan1.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCEN SIPNATD_SOURCE_DIR "/tests/integration/scenarios/"

static struct daemon_proc daemon_p;

static const char conf_text[] =
	"general: {\n"
	"  bindaddr = \"" SN_IP "\"; bindport = 25060;\n"
	"  externip = \"203.0.113.7\";\n"
	"  localnet = [ \"127.0.1.0/255.255.255.0\" ];\n"
	"  pbx = \"" PBX_IP ":25080\";\n"
	"  allowguest = true;\n"
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"peers: (\n"
	"  { name = \"phone2\"; host = \"127.0.2.6:5070\"; },\n"
	"  { name = \"alice\"; secret = \"s3cret\"; }\n"
	");\n"
	"logging: { level = \"debug\"; };\n";

static void start_daemon(void)
{
	harness_start_conf(&daemon_p, "signalling.conf", conf_text, harness_tmpdir(), harness_tmpdir());
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

/* Run a sipp UAS and a sipp UAC against each other; both must pass. */
static void sipp_call(const char *uas, const char *uas_ip, const char *uas_port, const char *uac,
		      const char *uac_ip, const char *uac_port)
{
	char out[8192], err_uas[512], err_uac[512];
	struct daemon_proc server;

	snprintf(err_uas, sizeof(err_uas), "%s/uas.err", harness_tmpdir());
	snprintf(err_uac, sizeof(err_uac), "%s/uac.err", harness_tmpdir());
	/* the UAS runs as a child of its own, found through harness_start's
	 * plumbing would need the sipnatd binary, so fork it here */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execlp("sipp", "sipp", "-sf", uas, "-i", uas_ip, "-p", uas_port, "-m", "1", "-timeout",
		       "20s", "-nostdin", "-aa", "-trace_err", "-error_file", err_uas, (char *)NULL);
		_exit(127);
	}
	server.pid = pid;
	usleep(300 * 1000);
	const char *argv[] = { "sipp", "-sf", uac, "-i", uac_ip, "-p", uac_port, "-m", "1",
			       "-timeout", "20s", "-nostdin", "-aa", "-trace_err", "-error_file", err_uac,
			       SN_IP ":25060", NULL };
	int uac_rc = harness_run(argv, out, sizeof(out));
	int uas_rc = harness_stop(&server, 0, 25000);
	char cat[4096] = "";
	FILE *f = fopen(uac_rc ? err_uac : err_uas, "r");
	if (f) {
		size_t n = fread(cat, 1, sizeof(cat) - 1, f);
		cat[n] = '\0';
		fclose(f);
	}
	ck_assert_msg(uac_rc == 0, "sipp UAC %s failed (%d): %s", uac, uac_rc, cat);
	ck_assert_msg(uas_rc == 0, "sipp UAS %s failed (%d): %s", uas, uas_rc, cat);
}

START_TEST(call_phone_to_pbx)
{
	sipp_call(SCEN "pbx_uas.xml", PBX_IP, "25080", SCEN "phone_uac.xml", "127.0.2.5", "5070");
}
END_TEST

START_TEST(call_pbx_to_phone)
{
	sipp_call(SCEN "phone_uas.xml", "127.0.2.6", "5070", SCEN "pbx_uac.xml", PBX_IP, "25080");
}
END_TEST

static int request(char *buf, size_t len, const char *method, const char *ruri, const char *via_host,
		   unsigned via_port, const char *branch, const char *extra)
{
	return snprintf(buf, len,
			"%s %s SIP/2.0\r\n"
			"Via: SIP/2.0/UDP %s:%u;branch=%s\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:caller@example.org>;tag=f1\r\n"
			"To: <sip:callee@example.org>\r\n"
			"Call-ID: %s-call@example.org\r\n"
			"CSeq: 1 %s\r\n"
			"Contact: <sip:caller@192.168.7.7:5060>\r\n"
			"%s"
			"Content-Length: 0\r\n\r\n",
			method, ruri, via_host, via_port, branch, branch, method, extra ? extra : "");
}

/* Whatever the Request-URI, Route or token says, a request from the Internet
 * reaches the PBX and nobody else. */
START_TEST(no_open_relay)
{
	char msg[2048], got[8192];
	int attacker = harness_udp("127.0.2.66", 0);
	int victim = harness_udp("127.0.2.77", 5099);
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	struct {
		const char *ruri, *extra;
	} tries[] = {
		{ "sip:x@127.0.2.77:5099", NULL },
		{ "sip:x@" SN_IP ":25060", "Route: <sip:127.0.2.77:5099;lr>\r\n" },
		{ "sip:x@" SN_IP ":25060;snt=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL },
		{ "sip:phone2@" SN_IP ":25060", NULL },
		{ "sip:x@victim.invalid:5099", NULL },
	};

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		char branch[32];
		snprintf(branch, sizeof(branch), "z9hG4bKrelay%zu", i);
		int n = request(msg, sizeof(msg), "MESSAGE", tries[i].ruri, "127.0.2.66",
				harness_udp_port(attacker), branch, tries[i].extra);
		harness_udp_send(attacker, SN_IP, SN_PORT, msg, (size_t)n);
		ssize_t r = harness_sip_recv(pbx, got, sizeof(got), 1000, NULL);
		if (r < 0) {
			/* not forwarded at all: then it must have been answered */
			ck_assert_msg(harness_sip_recv(attacker, got, sizeof(got), 1000, NULL) > 0,
				      "try %zu: neither forwarded to the PBX nor answered", i);
		}
		ck_assert_msg(harness_sip_recv(victim, got, sizeof(got), 200, NULL) < 0,
			      "try %zu reached the victim: %s", i, got);
		/* drain any answer */
		while (harness_sip_recv(attacker, got, sizeof(got), 100, NULL) > 0)
			;
	}
	close(attacker);
	close(victim);
	close(pbx);
}
END_TEST

/* A valid token holding a remote party's NAT address, replayed from the
 * Internet, still only reaches the PBX. */
START_TEST(token_replay_goes_to_pbx)
{
	char msg[4096], got[8192], contact[1024];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	int phone = harness_udp("127.0.2.6", 5070);
	int attacker = harness_udp("127.0.2.66", 0);

	/* The PBX calls phone2; phone2 answers 200 with its Contact; the PBX sees
	 * it masqueraded with a token that names phone2's NAT address. */
	int n = request(msg, sizeof(msg), "INVITE", "sip:phone2@" SN_IP ":25060", PBX_IP, PBX_PORT,
			"z9hG4bKtok1", NULL);
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(phone, got, sizeof(got), 2000, NULL), 0);
	char via[2048];
	ck_assert(harness_sip_header(got, "Via", via, sizeof(via)));
	n = snprintf(msg, sizeof(msg),
		     "SIP/2.0 200 OK\r\nVia: %s\r\nFrom: <sip:caller@example.org>;tag=f1\r\n"
		     "To: <sip:callee@example.org>;tag=t9\r\nCall-ID: z9hG4bKtok1-call@example.org\r\n"
		     "CSeq: 1 INVITE\r\nContact: <sip:phone2@192.168.1.6:5060>\r\n"
		     "Content-Length: 0\r\n\r\n",
		     via);
	harness_udp_send(phone, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL), 0);
	ck_assert(harness_sip_header(got, "Contact", contact, sizeof(contact)));
	char *uri = strchr(contact, '<');
	ck_assert_ptr_nonnull(uri);
	uri++;
	*strchr(uri, '>') = '\0';
	ck_assert_msg(strstr(uri, ";snt=") != NULL, "Contact %s", uri);

	/* The attacker sends a BYE to that URI: the PBX gets it, phone2 does not. */
	n = request(msg, sizeof(msg), "BYE", uri, "127.0.2.66", harness_udp_port(attacker),
		    "z9hG4bKtok2", NULL);
	harness_udp_send(attacker, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL), 0);
	ck_assert_msg(strncmp(got, "BYE ", 4) == 0, "PBX got %s", got);
	ck_assert_int_lt(harness_sip_recv(phone, got, sizeof(got), 300, NULL), 0);

	/* The PBX itself sending to the token reaches phone2, with its own URI. */
	n = request(msg, sizeof(msg), "BYE", uri, PBX_IP, PBX_PORT, "z9hG4bKtok3", NULL);
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(phone, got, sizeof(got), 2000, NULL), 0);
	ck_assert_msg(strncmp(got, "BYE sip:phone2@192.168.1.6:5060 SIP/2.0", 39) == 0, "got %s", got);
	close(pbx);
	close(phone);
	close(attacker);
}
END_TEST

/* R6: a response whose top Via is not sipnatd's goes nowhere. */
START_TEST(foreign_response_dropped)
{
	char msg[2048], got[4096];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	int victim = harness_udp("127.0.2.77", 5099);

	int n = snprintf(msg, sizeof(msg),
			 "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/UDP 127.0.1.9:5060;branch=z9hG4bKforeign\r\n"
			 "Via: SIP/2.0/UDP 127.0.2.77:5099;branch=z9hG4bKvictim\r\n"
			 "From: <sip:a@example.org>;tag=1\r\nTo: <sip:b@example.org>;tag=2\r\n"
			 "Call-ID: foreign@example.org\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_lt(harness_sip_recv(victim, got, sizeof(got), 500, NULL), 0);
	/* a forged sipnatd-looking branch is no better */
	n = snprintf(msg, sizeof(msg),
		     "SIP/2.0 200 OK\r\n"
		     "Via: SIP/2.0/UDP 127.0.1.10:25060;rport;branch=z9hG4bKsnvaaaaaaaaaaaaaaaa\r\n"
		     "Via: SIP/2.0/UDP 127.0.2.77:5099;branch=z9hG4bKvictim\r\n"
		     "From: <sip:a@example.org>;tag=1\r\nTo: <sip:b@example.org>;tag=2\r\n"
		     "Call-ID: forged@example.org\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_lt(harness_sip_recv(victim, got, sizeof(got), 500, NULL), 0);
	close(pbx);
	close(victim);
}
END_TEST

/* R5: retransmissions and the CANCEL carry the same derived branch; R7:
 * Max-Forwards 0 is 483, a request that has been here before is 482. */
START_TEST(branch_stability_and_loops)
{
	char msg[2048], got[8192], via1[1024], via2[1024], via3[1024];
	int phone = harness_udp("127.0.2.5", 0);
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	unsigned port = harness_udp_port(phone);

	int n = request(msg, sizeof(msg), "INVITE", "sip:100@" SN_IP ":25060", "192.168.1.5", 5060,
			"z9hG4bKin1", NULL);
	harness_udp_send(phone, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL), 0);
	ck_assert(harness_sip_header(got, "Via", via1, sizeof(via1)));
	char forwarded[8192];
	strcpy(forwarded, got);
	harness_udp_send(phone, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL), 0);
	ck_assert(harness_sip_header(got, "Via", via2, sizeof(via2)));
	ck_assert_str_eq(via1, via2);
	n = request(msg, sizeof(msg), "CANCEL", "sip:100@" SN_IP ":25060", "192.168.1.5", 5060,
		    "z9hG4bKin1", NULL);
	harness_udp_send(phone, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL), 0);
	ck_assert(strncmp(got, "CANCEL ", 7) == 0);
	ck_assert(harness_sip_header(got, "Via", via3, sizeof(via3)));
	ck_assert_str_eq(via1, via3);
	ck_assert_ptr_nonnull(strstr(forwarded, "Max-Forwards: 69"));

	/* the forwarded INVITE fed back in: a loop */
	harness_udp_send(phone, SN_IP, SN_PORT, forwarded, strlen(forwarded));
	ck_assert_int_gt(harness_sip_recv(phone, got, sizeof(got), 2000, NULL), 0);
	ck_assert_msg(strncmp(got, "SIP/2.0 482 Loop Detected", 25) == 0, "got %s", got);

	n = request(msg, sizeof(msg), "INVITE", "sip:100@" SN_IP ":25060", "192.168.1.5", 5060,
		    "z9hG4bKmf0", NULL);
	char *mf = strstr(msg, "Max-Forwards: 70");
	memcpy(mf, "Max-Forwards:  0", 16);
	harness_udp_send(phone, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(phone, got, sizeof(got), 2000, NULL), 0);
	ck_assert_msg(strncmp(got, "SIP/2.0 483 Too Many Hops", 25) == 0, "got %s", got);
	/* answered to where it came from, with received and rport (R1, R3) */
	ck_assert(harness_sip_header(got, "Via", via1, sizeof(via1)));
	char expect[64];
	snprintf(expect, sizeof(expect), "rport=%u", port);
	ck_assert_msg(strstr(via1, "received=127.0.2.5") && strstr(via1, expect), "Via %s", via1);
	ck_assert_int_lt(harness_sip_recv(pbx, got, sizeof(got), 200, NULL), 0);
	close(phone);
	close(pbx);
}
END_TEST

/* R4: a sent-by name and maddr are never used: the answer goes to the source. */
START_TEST(via_names_and_maddr_ignored)
{
	char msg[2048], got[4096];
	int phone = harness_udp("127.0.2.5", 0);
	int decoy = harness_udp("127.0.2.99", 5062);

	int n = snprintf(msg, sizeof(msg),
			 "OPTIONS sip:" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP evil.invalid:5062;maddr=127.0.2.99;branch=z9hG4bKx\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:a@example.org>;tag=1\r\n"
			 "To: <sip:" SN_IP ">\r\nCall-ID: maddr@example.org\r\nCSeq: 1 OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n");
	harness_udp_send(phone, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_int_gt(harness_sip_recv(phone, got, sizeof(got), 2000, NULL), 0);
	ck_assert(strncmp(got, "SIP/2.0 200 OK", 14) == 0);
	ck_assert_int_lt(harness_sip_recv(decoy, got, sizeof(got), 200, NULL), 0);
	close(phone);
	close(decoy);
}
END_TEST

/* Requests from the PBX for peers sipnatd cannot reach are answered. */
START_TEST(pbx_requests_without_route)
{
	char msg[2048], got[4096];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	struct {
		const char *ruri;
		const char *status;
	} cases[] = {
		{ "sip:nobody@" SN_IP ":25060", "SIP/2.0 404 " },
		{ "sip:alice@" SN_IP ":25060", "SIP/2.0 480 " },
		{ "sip:x@" SN_IP ":25060;snt=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "SIP/2.0 404 " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char branch[32];
		snprintf(branch, sizeof(branch), "z9hG4bKnr%zu", i);
		int n = request(msg, sizeof(msg), "INVITE", cases[i].ruri, PBX_IP, PBX_PORT, branch, NULL);
		harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
		ck_assert_int_gt(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL), 0);
		ck_assert_msg(strncmp(got, cases[i].status, strlen(cases[i].status)) == 0,
			      "%s: got %s", cases[i].ruri, got);
	}
	close(pbx);
}
END_TEST

/* sipnatd pings the PBX; an answer is matched to the ping and logged. */
START_TEST(pbx_ping_answered)
{
	char got[4096], via[512], from[256], to[256], cid[256], cseq[64], reply[2048];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	struct sockaddr_in src;

	/* the first ping went out at start, before this socket existed; the
	 * retransmissions follow within seconds */
	ck_assert_int_gt(harness_udp_recv(pbx, got, sizeof(got), 5000, &src), 0);
	ck_assert_msg(strncmp(got, "OPTIONS sip:" PBX_IP ":25080 SIP/2.0", 34) == 0, "got %s", got);
	ck_assert(harness_sip_header(got, "Via", via, sizeof(via)));
	ck_assert(harness_sip_header(got, "From", from, sizeof(from)));
	ck_assert(harness_sip_header(got, "To", to, sizeof(to)));
	ck_assert(harness_sip_header(got, "Call-ID", cid, sizeof(cid)));
	ck_assert(harness_sip_header(got, "CSeq", cseq, sizeof(cseq)));
	int n = snprintf(reply, sizeof(reply),
			 "SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=pbx\r\nCall-ID: %s\r\n"
			 "CSeq: %s\r\nContent-Length: 0\r\n\r\n",
			 via, from, to, cid, cseq);
	harness_udp_send(pbx, SN_IP, SN_PORT, reply, (size_t)n);
	ck_assert(harness_wait_log(&daemon_p, "PBX at " PBX_IP ":25080 is reachable", 2000));
	close(pbx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("signalling");
	TCase *calls = harness_tcase(s, "calls", 60, start_daemon, stop_daemon);
	harness_add_tests(calls, (const TTest *[]){ call_phone_to_pbx, call_pbx_to_phone, NULL });

	TCase *hostile = harness_tcase(s, "hostile", 60, start_daemon, stop_daemon);
	harness_add_tests(hostile, (const TTest *[]){
		no_open_relay, token_replay_goes_to_pbx, foreign_response_dropped,
		branch_stability_and_loops, via_names_and_maddr_ignored,
		pbx_requests_without_route, pbx_ping_answered, NULL });
	return harness_run_suite(s);
}
