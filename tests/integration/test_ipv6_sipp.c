/*
 * Issue 20 through the real daemon on loopback: bindaddr "::" serves an IPv6
 * phone and an IPv4 PBX at once. sipp on ::1 plays the phone (digest
 * REGISTER, then a call with digest), sipp on 127.0.5.20 the PBX; what each
 * receives is checked in its scenario and, from sipp's message logs, here:
 * the phone sees sipnatd only as [::1] (Via, Contact, SDP), the PBX only as
 * 127.0.5.10. After a restart the phone's binding is back from the state
 * file, at its IPv6 address.
 *
 *   LAN (127.0.5.0/24): sipnatd 127.0.5.10 / [::1]:25460 (IPv4 socket on
 *   0.0.0.0), PBX 127.0.5.20:25480. Internet: the phone [::1]:25470.
 */
#include "harness.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCEN SIPNATD_SOURCE_DIR "/tests/integration/scenarios/"
#define PBX6_IP "127.0.5.20"
#define PBX6_PORT "25480"
#define PHONE6_PORT "25470"

static struct daemon_proc daemon_p;

static const char conf_text[] =
	"general: {\n"
	"  bindaddr = \"::\"; bindport = 25460;\n"
	"  externip = \"203.0.113.7, ::1\";\n"  /* the phone reaches [::1] */
	"  localnet = [ \"127.0.5.0/24\" ];\n"
	"  localaddr = \"127.0.5.10\";\n"
	"  pbx = \"" PBX6_IP ":" PBX6_PORT "\";\n"
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"rtp: { rtpstart = 48600; rtpend = 48619; };\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"s3cret\"; }\n"
	");\n"
	"logging: { level = \"info\"; };\n";

static void start_daemon(void)
{
	harness_start_conf(&daemon_p, "ipv6.conf", conf_text, harness_tmpdir(), harness_tmpdir());
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

/* Is a UDP socket bound to 127.0.5.20:25480 (/proc/net/udp)? */
static bool pbx_bound(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/net/udp", "r");

	if (!f)
		return false;
	/* 127.0.5.20 little-endian, port 25480 = 0x6388 */
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " 1405007F:6388 ") != NULL;
	fclose(f);
	return found;
}

/* sipnatd pings the PBX at start (and every 30 s): a sipp PBX would take
 * that OPTIONS for its one call (-m 1). Answer it here, then hand the port
 * to sipp, which has the call done long before the next ping. */
static void answer_pbx_ping(void)
{
	char msg[4096], reply[4096], vias[1024], from[256], to[256], call_id[256], cseq[64];
	struct sockaddr_in src;
	int fd = harness_udp(PBX6_IP, 25480);

	ck_assert(harness_wait_log(&daemon_p, "listening on [::]:25460/udp", 5000));
	ck_assert_msg(harness_udp_recv(fd, msg, sizeof(msg), 5000, &src) > 0, "no ping of the PBX");
	ck_assert_msg(strncmp(msg, "OPTIONS ", 8) == 0, "the PBX got %s", msg);
	harness_sip_copy_vias(msg, vias, sizeof(vias));
	ck_assert(harness_sip_header(msg, "From", from, sizeof(from)) &&
		  harness_sip_header(msg, "To", to, sizeof(to)) &&
		  harness_sip_header(msg, "Call-ID", call_id, sizeof(call_id)) &&
		  harness_sip_header(msg, "CSeq", cseq, sizeof(cseq)));
	int n = snprintf(reply, sizeof(reply),
			 "SIP/2.0 200 OK\r\n%sFrom: %s\r\nTo: %s;tag=pbx6\r\nCall-ID: %s\r\nCSeq: %s\r\n"
			 "Content-Length: 0\r\n\r\n", vias, from, to, call_id, cseq);
	harness_udp_send(fd, "127.0.5.10", ntohs(src.sin_port), reply, (size_t)n);
	ck_assert(harness_wait_log(&daemon_p, "PBX at " PBX6_IP ":" PBX6_PORT " is reachable", 5000));
	close(fd);
}

/* The messages sipp logged as received (-message_file), each checked:
 * none may hold any of bad[]; returns how many there were. */
static int received_blocks(const char *path, const char *const bad[], char *why, size_t why_len)
{
	static char text[1 << 20];
	FILE *f = fopen(path, "r");
	int n = 0;

	why[0] = '\0';
	if (!f)
		return -1;
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	for (char *p = strstr(text, "message received"); p; p = strstr(p + 1, "message received")) {
		char *end = strstr(p + 1, "-----------------------------------------------");
		size_t blen = end ? (size_t)(end - p) : strlen(p);
		n++;
		for (size_t b = 0; bad[b]; b++) {
			char *hit = memmem(p, blen, bad[b], strlen(bad[b]));
			if (hit && !why[0])
				snprintf(why, why_len, "\"%s\" in a received message:\n%.*s", bad[b], (int)blen, p);
		}
	}
	return n;
}

static void slurp(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f) {
		size_t n = fread(out, 1, len - 1, f);
		out[n] = '\0';
		fclose(f);
	}
}

START_TEST(ipv6_phone_registers_and_calls_ipv4_pbx)
{
	char out[8192], err_uas[512], err_uac[512], msg_uas[512], msg_uac[512], csv[600], why[1500];
	struct daemon_proc server;

	snprintf(err_uas, sizeof(err_uas), "%s/uas.err", harness_tmpdir());
	snprintf(err_uac, sizeof(err_uac), "%s/uac.err", harness_tmpdir());
	snprintf(msg_uas, sizeof(msg_uas), "%s/uas.msg", harness_tmpdir());
	snprintf(msg_uac, sizeof(msg_uac), "%s/uac.msg", harness_tmpdir());
	snprintf(csv, sizeof(csv), "%s", harness_write_file("alice.csv", "SEQUENTIAL\nalice;s3cret\n"));
	answer_pbx_ping();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execlp("sipp", "sipp", "-sf", SCEN "pbx6_uas.xml", "-i", PBX6_IP, "-p", PBX6_PORT, "-m", "1",
		       "-timeout", "20s", "-nostdin", "-aa", "-trace_err", "-error_file", err_uas, "-trace_msg",
		       "-message_file", msg_uas, (char *)NULL);
		_exit(127);
	}
	server.pid = pid;
	for (long start = harness_now_ms(); !pbx_bound() && harness_now_ms() - start < 5000;)
		usleep(20 * 1000);
	ck_assert_msg(pbx_bound(), "the sipp PBX did not bind " PBX6_IP ":" PBX6_PORT);

	const char *argv[] = { "sipp", "-sf", SCEN "phone6_uac.xml", "-inf", csv, "-au", "alice", "-ap",
			       "s3cret", "-i", "::1", "-p", PHONE6_PORT, "-mi", "::1", "-m", "1", "-timeout",
			       "20s", "-nostdin", "-aa", "-trace_err", "-error_file", err_uac, "-trace_msg",
			       "-message_file", msg_uac, "[::1]:25460", NULL };
	int uac_rc = harness_run(argv, out, sizeof(out));
	int uas_rc = harness_stop(&server, 0, 25000);
	char cat[1500];
	slurp(uac_rc ? err_uac : err_uas, cat, sizeof(cat));
	ck_assert_msg(uac_rc == 0, "sipp phone (IPv6) failed (%d): %s", uac_rc, cat);
	ck_assert_msg(uas_rc == 0, "sipp PBX (IPv4) failed (%d): %s", uas_rc, cat);
	ck_assert(harness_log_contains(&daemon_p, "alice registered from [::1]:" PHONE6_PORT));

	/* on the wire, from sipp's logs: the IPv6 phone got 401, 200, 407,
	 * 200 and the BYE's 200 (100/180 maybe), none naming anything IPv4 */
	static const char *const v4_things[] = { "127.0.", "203.0.113.", "IN IP4", NULL };
	int phone_got = received_blocks(msg_uac, v4_things, why, sizeof(why));
	ck_assert_msg(phone_got >= 5, "the phone received %d messages", phone_got);
	ck_assert_msg(!why[0], "phone: %s", why);
	/* the IPv4 PBX got INVITE, ACK and BYE: sipnatd's side in IPv4 only (the
	 * phone's own Via and From/To below it are the phone's business) */
	static const char *const v6_things[] = { "IN IP6", "@[::1]:25460", "Via: SIP/2.0/UDP [::1]:25460", NULL };
	int pbx_got = received_blocks(msg_uas, v6_things, why, sizeof(why));
	ck_assert_msg(pbx_got >= 3, "the PBX received %d messages", pbx_got);
	ck_assert_msg(!why[0], "PBX: %s", why);
	harness_report("ipv6", "IPv6 phone -> IPv4 PBX via bindaddr \"::\": phone received %d, PBX %d messages, no family mixed",
		       phone_got, pbx_got);

	/* the IPv6 binding outlives a restart (the state file) */
	ck_assert_int_eq(harness_stop(&daemon_p, SIGTERM, 5000), 0);
	start_daemon();
	/* start_daemon waited for "listening on", which comes after this */
	ck_assert_msg(harness_log_contains(&daemon_p, "restored 1 registration"), "no binding restored");
	char sock[600];
	snprintf(sock, sizeof(sock), "%s/control", harness_tmpdir());
	const char *ctl[] = { SIPNATCTL_BINARY, "-s", sock, "registrations", NULL };
	ck_assert_int_eq(harness_run(ctl, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "[::1]:" PHONE6_PORT), "sipnatctl registrations after the restart: %s", out);
}
END_TEST

int main(void)
{
	return harness_main("ipv6", "sipp", 90, start_daemon, stop_daemon,
			    (const TTest *[]){ ipv6_phone_registers_and_calls_ipv4_pbx, NULL });
}
