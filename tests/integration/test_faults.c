/*
 * Faults through the real daemon (issue: proof under load, faults and hostile
 * input): the PBX down and back, the DNS server gone and back, SIGHUP every
 * 100 ms under a call load, kill -9 with many bindings, the state file's disk
 * full or read-only, a SIP receive queue overflow, and a flood of garbage and
 * unauthenticated INVITEs while a legitimate phone registers and calls. Each
 * test prints what it measured ("faults: ...").
 *
 *   LAN (localnet 127.0.11.0/24): sipnatd 127.0.11.10:25160, PBX 127.0.11.20:25180,
 *        a DNS server the test plays at 127.0.11.53:25153
 *   Internet: a trunk peer at 127.0.12.5:5070 (known by address), phones with
 *        digest on 127.0.12.6 and up, attackers on 127.0.13.x
 *   Relay pool 32000-32099 (50 pairs)
 */
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

#define SN_IP "127.0.11.10"
#define SN_PORT 25160
#define PBX_IP "127.0.11.20"
#define PBX_PORT 25180
#define TRUNK_IP "127.0.12.5"
#define TRUNK_PORT 5070
#define ALICE_IP "127.0.12.6"
#define DNS_IP "127.0.11.53"
#define DNS_PORT 25153
#define EXT1 "198.51.100.1"
#define EXT2 "198.51.100.2"

static struct daemon_proc daemon_p;
static char conf_path[512];

/* ---- small tools ---- */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	va_list ap;

	printf("faults: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* CPU time (user + system) the process has used, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	long utime = 0, stime = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	const char *p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime), 2);
	return utime + stime;
}

/* The share of one CPU the process used between two samples. */
static double cpu_share(long ticks, long ms)
{
	return ms > 0 ? (double)ticks * 1000.0 / (double)sysconf(_SC_CLK_TCK) / (double)ms : 0.0;
}

static long log_count(const char *text)
{
	FILE *f = fopen(daemon_p.log_path, "r");
	char line[4096];
	long n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, text))
			n++;
	fclose(f);
	return n;
}

/* One counter from `sipnatctl stats --json`: the number after "key": inside
 * the object "section" (-1 when absent). */
static long stat_of(const char *section, const char *key)
{
	static char out[16384];
	char ctl[600], sock[600], pat[128];

	snprintf(ctl, sizeof(ctl), "%s", SIPNATD_BINARY);
	char *slash = strrchr(ctl, '/');
	ck_assert_ptr_nonnull(slash);
	snprintf(slash + 1, sizeof(ctl) - (size_t)(slash + 1 - ctl), "sipnatctl");
	snprintf(sock, sizeof(sock), "%s/control", harness_tmpdir());
	const char *argv[] = { ctl, "-s", sock, "stats", "--json", NULL };
	if (harness_run(argv, out, sizeof(out)) != 0)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\":{", section);
	const char *p = strstr(out, pat);
	if (!p)
		return -1;
	const char *end = strchr(p + strlen(pat), '}');
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *v = strstr(p, pat);
	if (!v || (end && v > end))
		return -1;
	return strtol(v + strlen(pat), NULL, 10);
}

/* ---- the daemon ---- */

struct conf_opts {
	const char *ext;        /* externip/externhost line(s); default externip */
	const char *statefile;  /* default <tmp>/registrations */
	int rtpend;             /* default 32099 */
	const char *trunk_extra;
	const char *alice_secret;
	int extra_peers;        /* p01.. with secret "pw<n>" */
	const char *level;
};

static const char conf_fmt[] =
	"general: {\n"
	"  bindaddr = \"" SN_IP "\"; bindport = 25160;\n"
	"  %s\n"
	"  localnet = [ \"127.0.11.0/24\" ];\n"
	"  pbx = \"" PBX_IP ":25180\";\n"
	"  statefile = \"%s\"; control = \"%s/control\";\n"
	"};\n"
	"rtp: { rtpstart = 32000; rtpend = %d; };\n"
	"peers: (\n"
	"  { name = \"trunk\"; host = \"" TRUNK_IP ":5070\";%s },\n"
	"  { name = \"alice\"; secret = \"%s\"; }%s\n"
	");\n"
	"logging: { level = \"%s\"; };\n";

static void conf_text(const struct conf_opts *o, char *text, size_t len)
{
	char state[512], peers[4096] = "";

	snprintf(state, sizeof(state), "%s/registrations", harness_tmpdir());
	for (int i = 1; i <= o->extra_peers; i++) {
		size_t used = strlen(peers);
		snprintf(peers + used, sizeof(peers) - used,
			 ",\n  { name = \"p%02d\"; secret = \"pw%d\"; }", i, i);
	}
	snprintf(text, len, conf_fmt, o->ext ? o->ext : "externip = \"203.0.113.7\";",
		 o->statefile ? o->statefile : state, harness_tmpdir(), o->rtpend ? o->rtpend : 32099,
		 o->trunk_extra ? o->trunk_extra : "", o->alice_secret ? o->alice_secret : "s3cret",
		 peers, o->level ? o->level : "info");
}

/* Write the configuration file whole (rename), so that a reload never reads
 * half of it. */
static void write_conf(const struct conf_opts *o)
{
	char text[8192], tmp[600];

	conf_text(o, text, sizeof(text));
	snprintf(conf_path, sizeof(conf_path), "%s/faults.conf", harness_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s.new", conf_path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, conf_path), 0);
}

static void start_daemon(const struct conf_opts *o)
{
	write_conf(o);
	const char *args[] = { "-f", "-c", conf_path, NULL };
	harness_start(&daemon_p, args, true);
}

static void setup(void)
{
	memset(&daemon_p, 0, sizeof(daemon_p));
}

static void teardown(void)
{
	if (daemon_p.pid > 0)
		ck_assert_int_eq(harness_stop(&daemon_p, SIGTERM, 5000), 0);
	harness_cleanup();
}

/* ---- SIP as the PBX and the trunk play it ---- */

static bool header_value(const char *msg, const char *name, char *out, size_t len)
{
	return harness_sip_header(msg, name, out, len);
}

/* Every Via line of msg, in order, each ending in CRLF. */
static void copy_vias(const char *msg, char *out, size_t len)
{
	const char *end = strstr(msg, "\r\n\r\n");

	out[0] = '\0';
	for (const char *p = strstr(msg, "\r\nVia: "); p && (!end || p < end); p = strstr(p + 2, "\r\nVia: ")) {
		size_t l = strcspn(p + 2, "\r");
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%.*s\r\n", (int)l, p + 2);
	}
}

/* Answer the request req (received on fd from sipnatd) with code. */
static void reply(int fd, const char *req, int code, const char *reason, const char *to_tag,
		  const char *sdp)
{
	char vias[4096], from[512], to[512], cid[256], cseq[64], msg[8192];

	copy_vias(req, vias, sizeof(vias));
	ck_assert(header_value(req, "From", from, sizeof(from)));
	ck_assert(header_value(req, "To", to, sizeof(to)));
	ck_assert(header_value(req, "Call-ID", cid, sizeof(cid)));
	ck_assert(header_value(req, "CSeq", cseq, sizeof(cseq)));
	bool tagged = strstr(to, "tag=") != NULL;
	int n = snprintf(msg, sizeof(msg),
			 "SIP/2.0 %d %s\r\n%sFrom: %s\r\nTo: %s%s%s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
			 "Contact: <sip:100@" PBX_IP ":25180>\r\n%sContent-Length: %zu\r\n\r\n%s",
			 code, reason, vias, from, to, tagged || !to_tag ? "" : ";tag=",
			 tagged || !to_tag ? "" : to_tag, cid, cseq,
			 sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0,
			 sdp ? sdp : "");
	harness_udp_send(fd, SN_IP, SN_PORT, msg, (size_t)n);
}

/* Wait on fd for a message whose first line starts with prefix and, when
 * call_id is given, of that call; sipnatd's OPTIONS pings are answered
 * meanwhile (the PBX and the trunk are qualified). */
static bool wait_for(int fd, const char *prefix, const char *call_id, char *buf, size_t len,
		     int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	char cid[256];

	for (;;) {
		long left = deadline - now_ms();
		if (left < 0)
			return false;
		if (harness_udp_recv(fd, buf, len, (int)left, NULL) < 0)
			return false;
		if (strncmp(buf, "OPTIONS ", 8) == 0 && strstr(buf, "branch=z9hG4bKsno")) {
			reply(fd, buf, 200, "OK", "ping", NULL);
			continue;
		}
		if (strncmp(buf, prefix, strlen(prefix)) != 0)
			continue;
		if (call_id && !(header_value(buf, "Call-ID", cid, sizeof(cid)) && strcmp(cid, call_id) == 0))
			continue;
		return true;
	}
}

/* A final response (>= 200) for call_id on fd; returns its code or 0. */
static int wait_final(int fd, const char *call_id, char *buf, size_t len, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		if (!wait_for(fd, "SIP/2.0 ", call_id, buf, len, (int)(deadline - now_ms())))
			return 0;
		int code = atoi(buf + 8);
		if (code >= 200)
			return code;
	}
	return 0;
}

static const char pbx_sdp[] =
	"v=0\r\no=asterisk 1 1 IN IP4 " PBX_IP "\r\ns=Asterisk\r\nc=IN IP4 " PBX_IP "\r\n"
	"t=0 0\r\nm=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/* A trunk request inside or outside a dialog. to_line is the To header value
 * (with the PBX's tag once there is one). */
static int trunk_request(char *buf, size_t len, const char *method, const char *call_id, unsigned cseq,
			 const char *branch, const char *to_line, bool sdp)
{
	char body[512] = "";

	if (sdp)
		snprintf(body, sizeof(body),
			 "v=0\r\no=trunk 1 1 IN IP4 192.168.1.5\r\ns=-\r\nc=IN IP4 192.168.1.5\r\n"
			 "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
	return snprintf(buf, len,
			"%s sip:100@" SN_IP ":25160 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP " TRUNK_IP ":5070;branch=z9hG4bK%s;rport\r\n"
			"Max-Forwards: 70\r\nFrom: <sip:trunk@" TRUNK_IP ">;tag=tr-%s\r\n"
			"To: %s\r\nCall-ID: %s\r\nCSeq: %u %s\r\n"
			"Contact: <sip:trunk@192.168.1.5:5070>\r\n%sContent-Length: %zu\r\n\r\n%s",
			method, branch, call_id, to_line, call_id, cseq, method,
			sdp ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
}

static void trunk_send_invite(int trunk, const char *call_id)
{
	char msg[4096];
	int n = trunk_request(msg, sizeof(msg), "INVITE", call_id, 1, call_id,
			      "<sip:100@" SN_IP ">", true);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
}

/* A whole call from the trunk to the PBX: INVITE with SDP, 200 with SDP,
 * ACK, BYE, 200. Returns the status the trunk got for its INVITE (200 when
 * the whole call went through; -1 when ACK or BYE went astray), 0 when
 * nothing came back. */
static int trunk_call(int trunk, int pbx, const char *call_id)
{
	char got[8192], to[512], msg[4096], branch[128];

	trunk_send_invite(trunk, call_id);
	if (!wait_for(pbx, "INVITE ", call_id, got, sizeof(got), 2000))
		return wait_final(trunk, call_id, got, sizeof(got), 500);
	reply(pbx, got, 200, "OK", "pbx1", pbx_sdp);
	int code = wait_final(trunk, call_id, got, sizeof(got), 2000);
	if (code != 200)
		return code;
	ck_assert(header_value(got, "To", to, sizeof(to)));
	snprintf(branch, sizeof(branch), "%s-ack", call_id);
	int n = trunk_request(msg, sizeof(msg), "ACK", call_id, 1, branch, to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	if (!wait_for(pbx, "ACK ", call_id, got, sizeof(got), 2000))
		return -1;
	snprintf(branch, sizeof(branch), "%s-bye", call_id);
	n = trunk_request(msg, sizeof(msg), "BYE", call_id, 2, branch, to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	if (!wait_for(pbx, "BYE ", call_id, got, sizeof(got), 2000))
		return -1;
	reply(pbx, got, 200, "OK", NULL, NULL);
	return wait_final(trunk, call_id, got, sizeof(got), 2000) == 200 ? 200 : -1;
}

/* The PBX calls a registered peer; true when the INVITE reaches the phone. */
static bool pbx_calls(int pbx, const char *peer, int phone_fd, const char *call_id, int timeout_ms)
{
	char msg[2048], got[8192];
	int n = snprintf(msg, sizeof(msg),
			 "INVITE sip:%s@" SN_IP ":25160 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP " PBX_IP ":25180;branch=z9hG4bK%s;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p-%s\r\n"
			 "To: <sip:%s@" SN_IP ">\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
			 "Contact: <sip:200@" PBX_IP ":25180>\r\nContent-Length: 0\r\n\r\n",
			 peer, call_id, call_id, peer, call_id);
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	return wait_for(phone_fd, "INVITE ", call_id, got, sizeof(got), timeout_ms);
}

/* Register with digest; returns the time the whole exchange took (ms), or
 * fails the test unless the answer is 200. */
static long register_peer(struct client *c, const char *user, const char *password)
{
	char out[8192];
	long t0 = now_ms();

	client_auth_request(c, "REGISTER", user, password, "600", out, sizeof(out));
	ck_assert_msg(strncmp(out, "SIP/2.0 200 ", 12) == 0, "REGISTER %s: %s", user, out);
	return now_ms() - t0;
}

/* ---- the PBX down (ICMP port unreachable), then back ---- */

START_TEST(pbx_down_then_back)
{
	char got[8192], cid[64];
	int trunk = harness_udp(TRUNK_IP, TRUNK_PORT);
	int answered[700] = { 0 }, invites = 0, sent = 0;

	start_daemon(&(struct conf_opts){ .level = "info" });
	/* Nothing listens at the PBX's address: every datagram sipnatd sends
	 * there comes back as ICMP port unreachable. The trunk sends a new call
	 * every 100 ms for 3 s and retransmits each every 500 ms (Timer A). */
	long c0 = cpu_ticks(daemon_p.pid), t0 = now_ms(), next_new = t0, next_rtx = t0 + 500;
	while (now_ms() - t0 < 3000) {
		if (now_ms() >= next_new) {
			snprintf(cid, sizeof(cid), "down-%d", invites++);
			trunk_send_invite(trunk, cid);
			sent++;
			next_new += 100;
		}
		if (now_ms() >= next_rtx) {
			for (int i = 0; i < invites; i++) {
				snprintf(cid, sizeof(cid), "down-%d", i);
				trunk_send_invite(trunk, cid);
				sent++;
			}
			next_rtx += 500;
		}
		if (wait_for(trunk, "SIP/2.0 ", NULL, got, sizeof(got), 10)) {
			int code = atoi(got + 8);
			if (code >= 100 && code < 700)
				answered[code]++;
		}
	}
	long down_ms = now_ms() - t0, down_ticks = cpu_ticks(daemon_p.pid) - c0;
	/* then silence: the daemon must idle, not spin on the socket's error */
	long c1 = cpu_ticks(daemon_p.pid), t1 = now_ms();
	while (now_ms() - t1 < 1000)
		wait_for(trunk, "SIP/2.0 ", NULL, got, sizeof(got), 100);
	long idle_ms = now_ms() - t1, idle_ticks = cpu_ticks(daemon_p.pid) - c1;
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died while the PBX was down");
	long held = stat_of("pool", "in_use");
	report("PBX down: %d INVITEs (%d datagrams with retransmissions) in %ld ms; answers to the trunk: "
	       "%d x 100, %d x 408, %d x 480, %d x 503",
	       invites, sent, down_ms, answered[100], answered[408], answered[480], answered[503]);
	report("PBX down: sipnatd CPU %.1f %% while the trunk sent, %.1f %% idle after; "
	       "%ld \"Connection refused\" log lines; %ld relay pairs held by never-answered INVITEs",
	       100 * cpu_share(down_ticks, down_ms), 100 * cpu_share(idle_ticks, idle_ms),
	       log_count("Connection refused"), held);
	ck_assert_msg(cpu_share(down_ticks, down_ms) < 0.30, "busy: %.0f %% CPU while the PBX was down",
		      100 * cpu_share(down_ticks, down_ms));
	ck_assert_msg(cpu_share(idle_ticks, idle_ms) < 0.05, "busy loop: %.0f %% CPU idle",
		      100 * cpu_share(idle_ticks, idle_ms));
	ck_assert_msg(log_count("Connection refused") <= 20, "ICMP errors flood the log");

	/* The PBX is back: calls go through at once. */
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	long t2 = now_ms();
	for (int i = 0; i < 10; i++) {
		snprintf(cid, sizeof(cid), "back-%d", i);
		int code = trunk_call(trunk, pbx, cid);
		ck_assert_msg(code == 200, "call %s after the PBX came back: %d", cid, code);
	}
	report("PBX back: 10 of 10 calls through in %ld ms", now_ms() - t2);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died");
	close(pbx);
	close(trunk);
}
END_TEST

/* ---- the PBX's 200 retransmitted after the call ended ---- */

/* The PBX did not see the ACK in time and retransmits its 200 after the
 * trunk's BYE: sipnatd passes it on (it keeps no transaction), but the call
 * is over and must not take a relay pair again. Found by the soak (a PBX
 * stalled for half a second): each such 200 held a pair until rtptimeout. */
START_TEST(late_200_takes_no_relay_pair)
{
	char inv[8192], got[8192], to[512], msg[4096];
	int trunk = harness_udp(TRUNK_IP, TRUNK_PORT), pbx = harness_udp(PBX_IP, PBX_PORT);

	start_daemon(&(struct conf_opts){ 0 });
	trunk_send_invite(trunk, "late-200");
	ck_assert(wait_for(pbx, "INVITE ", "late-200", inv, sizeof(inv), 2000));
	reply(pbx, inv, 200, "OK", "pbx1", pbx_sdp);
	ck_assert_int_eq(wait_final(trunk, "late-200", got, sizeof(got), 2000), 200);
	ck_assert(header_value(got, "To", to, sizeof(to)));
	int n = trunk_request(msg, sizeof(msg), "ACK", "late-200", 1, "late-200-ack", to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert(wait_for(pbx, "ACK ", "late-200", got, sizeof(got), 2000));
	n = trunk_request(msg, sizeof(msg), "BYE", "late-200", 2, "late-200-bye", to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert(wait_for(pbx, "BYE ", "late-200", got, sizeof(got), 2000));
	reply(pbx, got, 200, "OK", NULL, NULL);
	ck_assert_int_eq(wait_final(trunk, "late-200", got, sizeof(got), 2000), 200);
	ck_assert(harness_wait_log(&daemon_p, "call late-200 ended (BYE)", 1000));
	ck_assert_int_eq(stat_of("pool", "in_use"), 0);

	/* the same 200 again, byte for byte */
	reply(pbx, inv, 200, "OK", "pbx1", pbx_sdp);
	int again = wait_final(trunk, "late-200", got, sizeof(got), 1000);
	usleep(200 * 1000);
	long in_use = stat_of("pool", "in_use"), active = stat_of("calls", "active");
	report("late 200: the retransmission was %s; afterwards %ld relay pair(s) in use, %ld call(s) active, "
	       "\"set up\" logged %ld time(s)",
	       again == 200 ? "passed on to the trunk" : "not passed on", in_use, active,
	       log_count("call late-200 set up"));
	ck_assert_msg(in_use == 0 && active == 0,
		      "a 200 retransmitted after the BYE set up the call's relay again (%ld pair(s) held until "
		      "rtptimeout)", in_use);
	close(trunk);
	close(pbx);
}
END_TEST

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

	ck_assert(header_value(msg, "Via", via, sizeof(via)));
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
	long t0 = now_ms(), next_call = t0;

	while (now_ms() - t0 < ms) {
		if (*dns >= 0) {
			struct pollfd pfd = { .fd = *dns, .events = POLLIN };
			poll(&pfd, 1, 20);
			dns_serve(*dns, mode, answer);
		} else {
			usleep(20 * 1000);
		}
		if (now_ms() < next_call)
			continue;
		next_call += 300;
		snprintf(cid, sizeof(cid), "dns-%d", seq++);
		long c0 = now_ms();
		char msg[2048], got[8192];
		int n = snprintf(msg, sizeof(msg),
				 "INVITE sip:trunk@" SN_IP ":25160 SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP " PBX_IP ":25180;branch=z9hG4bK%s;rport\r\n"
				 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p-%s\r\n"
				 "To: <sip:trunk@" SN_IP ">\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
				 "Contact: <sip:200@" PBX_IP ":25180>\r\nContent-Length: 0\r\n\r\n",
				 cid, cid, cid);
		harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
		ck_assert_msg(wait_for(trunk, "INVITE ", cid, got, sizeof(got), 1000),
			      "INVITE %s did not reach the trunk within 1 s", cid);
		ck_assert_msg(now_ms() - c0 < 500, "INVITE %s took %ld ms", cid, now_ms() - c0);
		(*calls)++;
		advertised(got, ext, sizeof(ext));
		if (want2 && strcmp(ext, want2) == 0)
			return now_ms() - t0;
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
	struct conf_opts o = { .ext = ext, .level = "info" };
	write_conf(&o);
	const char *args[] = { "-f", "-c", conf_path, NULL };
	harness_start(&daemon_p, args, false);
	long t0 = now_ms();
	while (!harness_log_contains(&daemon_p, "resolved to " EXT1) && now_ms() - t0 < 5000) {
		struct pollfd pfd = { .fd = dns, .events = POLLIN };
		poll(&pfd, 1, 50);
		dns_serve(dns, DNS_ANSWER, EXT1);
	}
	ck_assert_msg(harness_wait_log(&daemon_p, "externhost home.test resolved to " EXT1, 100),
		      "home.test never resolved; log %s", daemon_p.log_path);
	dns_phase(&dns, DNS_ANSWER, EXT1, pbx, trunk, 1000, EXT1, NULL, &calls);

	/* broken answers: the last good address stays */
	dns_phase(&dns, DNS_SERVFAIL, NULL, pbx, trunk, 3000, EXT1, NULL, &calls);
	ck_assert_msg(harness_wait_log(&daemon_p, "keeping the last good address " EXT1, 100),
		      "no warning after SERVFAIL; log %s", daemon_p.log_path);
	dns_phase(&dns, DNS_NXDOMAIN, NULL, pbx, trunk, 3000, EXT1, NULL, &calls);
	/* gone (port unreachable) for 12 s, longer than evdns' first probe backoff */
	close(dns);
	dns = -1;
	dns_phase(&dns, DNS_ANSWER, NULL, pbx, trunk, 12000, EXT1, NULL, &calls);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died");
	/* back, with a new address: picked up soon */
	dns = harness_udp(DNS_IP, DNS_PORT);
	long back = dns_phase(&dns, DNS_ANSWER, EXT2, pbx, trunk, 20000, EXT1, EXT2, &calls);
	ck_assert_msg(back >= 0, "the new address was not used within 20 s of the DNS server's return; log %s",
		      daemon_p.log_path);
	report("DNS: %d calls through SERVFAIL, NXDOMAIN and a 12 s outage, all with the last good "
	       "address; back with a new address: first INVITE with it after %ld ms; %ld warning line(s)",
	       calls, back, log_count("cannot resolve externhost"));
	ck_assert_msg(back <= 12000, "the DNS server was back for %ld ms before its answer was used", back);
	ck_assert(harness_wait_log(&daemon_p, "external address changed: externhost home.test now " EXT2, 1000));
	close(dns);
	close(pbx);
	close(trunk);
}
END_TEST

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

	start_daemon(&(struct conf_opts){ .level = "notice" });
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
	struct conf_opts a = { .level = "notice" };
	struct conf_opts b = { .level = "info", .rtpend = 32049, .trunk_extra = " qualifyfreq = 7;",
			       .alice_secret = "n3w-s3cret" };
	int hups = 0, status = 0;
	long t0 = now_ms();
	bool uac_done = false;
	while (now_ms() - t0 < 30000) {
		usleep(100 * 1000);
		if (waitpid(uac, &status, WNOHANG) == uac) {
			uac_done = true;
			break;
		}
		write_conf(hups % 2 ? &a : &b);
		ck_assert_int_eq(kill(daemon_p.pid, SIGHUP), 0);
		hups++;
		/* every call placed and ended: sipp may linger over an
		 * auto-answered ping; that is not what this measures */
		if (now_ms() - t0 > 10500 && stat_of("calls", "ended") >= calls)
			break;
	}
	long load_ms = now_ms() - t0;
	int uac_rc = uac_done ? (WIFEXITED(status) ? WEXITSTATUS(status) : 128) : reap(uac, SIGUSR1, 10000);
	/* SIGUSR1: sipp ends once its calls have; one that lingers over a
	 * ping it auto-answered is killed, and its counters decide */
	int uas_rc = reap(uas, SIGUSR1, 15000);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died under SIGHUP");
	usleep(300 * 1000);
	long ok = sipp_stat(uac_csv, "SuccessfulCall(C)"), bad = sipp_stat(uac_csv, "FailedCall(C)");
	long ok_uas = sipp_stat(uas_csv, "SuccessfulCall(C)"), retrans = sipp_stat(uac_csv, "Retransmissions(C)");
	long reloads = stat_of("reloads", "done"), reload_failed = stat_of("reloads", "failed");
	report("SIGHUP: %d signals in %ld ms, %ld reloads done, %ld failed; sipp: %ld of %d calls "
	       "successful, %ld failed, %ld retransmissions (uas %ld successful); "
	       "sipnatd: %ld set up, %ld ended, %ld failed, %ld active, pool %ld of %ld free",
	       hups, load_ms, reloads, reload_failed, ok, calls, bad, retrans, ok_uas,
	       stat_of("calls", "set_up"), stat_of("calls", "ended"), stat_of("calls", "failed"),
	       stat_of("calls", "active"), stat_of("pool", "free"), stat_of("pool", "pairs"));
	ck_assert_msg(uac_rc == 0 && ok == calls && bad == 0, "sipp uac: %ld ok, %ld failed, exit %d; see %s",
		      ok, bad, uac_rc, uac_err);
	long bad_uas = sipp_stat(uas_csv, "FailedCall(C)");
	ck_assert_msg((uas_rc == 0 || uas_rc == -1) && ok_uas == calls && bad_uas == 0,
		      "sipp uas: %ld ok, %ld failed, exit %d; see %s", ok_uas, bad_uas, uas_rc, uas_err);
	ck_assert_int_ge(hups, 90);
	ck_assert_int_ge(reloads, hups / 2); /* signals that arrive together count once */
	ck_assert_int_eq(reload_failed, 0);
	ck_assert_int_eq(stat_of("calls", "failed"), 0);
	ck_assert_int_eq(stat_of("calls", "active"), 0);
	ck_assert_int_eq(stat_of("pool", "in_use"), 0);
}
END_TEST

/* ---- kill -9 with many bindings, and the PBX calling at once ---- */

#define MANY 20

START_TEST(kill_9_many_bindings)
{
	struct client phones[MANY + 5];
	char name[16], pw[16], cid[64], ip[32];
	int pbx = harness_udp(PBX_IP, PBX_PORT);

	start_daemon(&(struct conf_opts){ .extra_peers = MANY + 5 });
	for (int i = 0; i < MANY; i++) {
		snprintf(ip, sizeof(ip), "127.0.12.%d", 10 + i);
		snprintf(cid, sizeof(cid), "reg-many-%d", i);
		snprintf(name, sizeof(name), "p%02d", i + 1);
		snprintf(pw, sizeof(pw), "pw%d", i + 1);
		client_open(&phones[i], strdup(ip), cid, SN_IP, SN_PORT);
		register_peer(&phones[i], name, pw);
	}
	/* the state file is written a second after the last change */
	usleep(1500 * 1000);
	/* five more register just before the kill: they may be lost (the
	 * phone's next REGISTER brings them back); counted, not required */
	for (int i = MANY; i < MANY + 5; i++) {
		snprintf(ip, sizeof(ip), "127.0.12.%d", 10 + i);
		snprintf(cid, sizeof(cid), "reg-late-%d", i);
		snprintf(name, sizeof(name), "p%02d", i + 1);
		snprintf(pw, sizeof(pw), "pw%d", i + 1);
		client_open(&phones[i], strdup(ip), cid, SN_IP, SN_PORT);
		register_peer(&phones[i], name, pw);
	}
	usleep(100 * 1000);
	ck_assert_int_eq(harness_stop(&daemon_p, SIGKILL, 5000), 128 + SIGKILL);

	const char *args[] = { "-f", "-c", conf_path, NULL };
	long t0 = now_ms();
	harness_start(&daemon_p, args, true);
	long up = now_ms() - t0, first = -1;
	int reached = 0, late = 0;
	for (int i = 0; i < MANY + 5; i++) {
		snprintf(name, sizeof(name), "p%02d", i + 1);
		snprintf(cid, sizeof(cid), "after-kill-%d", i);
		bool ok = pbx_calls(pbx, name, phones[i].fd, cid, i < MANY ? 1000 : 300);
		if (i < MANY) {
			ck_assert_msg(ok, "the PBX's INVITE to %s (registered before kill -9) did not arrive", name);
			reached++;
			if (first < 0)
				first = now_ms() - t0;
		} else {
			late += ok;
		}
	}
	long restored = -1;
	FILE *f = fopen(daemon_p.log_path, "r");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "restored ");
		if (p)
			restored = strtol(p + 9, NULL, 10);
	}
	if (f)
		fclose(f);
	report("kill -9: restarted in %ld ms, %ld bindings restored; the PBX reached %d of %d peers at once "
	       "(first INVITE delivered %ld ms after the restart began); of 5 registered 100 ms before the "
	       "kill (inside the 1 s write delay), %d survived",
	       up, restored, reached, MANY, first, late);
	ck_assert_int_ge(restored, MANY);
	for (int i = 0; i < MANY + 5; i++) {
		free((char *)phones[i].ip);
		close(phones[i].fd);
	}
	close(pbx);
}
END_TEST

/* ---- the state file's disk full or read-only ---- */

enum state_fault { STATE_DISK_FULL, STATE_READ_ONLY };

/* Make dir unwritable in the way asked; says how. Mounts are made in a mount
 * namespace of this test process's own (the daemon, its child, shares it),
 * so they vanish with the processes, whatever happens to the test. */
static const char *break_state_dir(const char *dir, enum state_fault kind)
{
	bool own_ns = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;

	if (kind == STATE_DISK_FULL) {
		if (own_ns && mount("tmpfs", dir, "tmpfs", 0, "size=4k") == 0) {
			/* fill it */
			char path[700], block[4096];
			snprintf(path, sizeof(path), "%s/filler", dir);
			memset(block, 'x', sizeof(block));
			FILE *f = fopen(path, "w");
			ck_assert_ptr_nonnull(f);
			while (fwrite(block, 1, sizeof(block), f) == sizeof(block) && fflush(f) == 0)
				;
			fclose(f);
			return "a full 4 KiB tmpfs";
		}
		char tmp[700];
		snprintf(tmp, sizeof(tmp), "%s/registrations.tmp", dir);
		ck_assert_int_eq(symlink("/dev/full", tmp), 0);
		return "registrations.tmp -> /dev/full (no tmpfs: one failed save only)";
	}
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(dir, 0555), 0);
		return "a directory with mode 0555";
	}
	if (own_ns && mount(dir, dir, NULL, MS_BIND, NULL) == 0 &&
	    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0)
		return "a read-only bind mount";
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "chattr +i '%s' 2>/dev/null", dir);
	if (system(cmd) == 0)
		return "chattr +i";
	return NULL;
}

static void mend_state_dir(const char *dir, enum state_fault kind, const char *how)
{
	char cmd[700];

	if (strcmp(how, "chattr +i") == 0) {
		snprintf(cmd, sizeof(cmd), "chattr -i '%s'", dir);
		ck_assert_int_eq(system(cmd), 0);
	} else if (strcmp(how, "a directory with mode 0555") == 0) {
		chmod(dir, 0755);
	} else if (kind == STATE_DISK_FULL && strncmp(how, "a full", 6) == 0) {
		snprintf(cmd, sizeof(cmd), "%s/filler", dir);
		unlink(cmd);
	} else if (kind == STATE_READ_ONLY) {
		ck_assert_int_eq(mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL), 0);
	}
}

static void state_file_fault(enum state_fault kind)
{
	char dir[600], state[700];
	struct client alice;
	int pbx = harness_udp(PBX_IP, PBX_PORT), trunk = harness_udp(TRUNK_IP, TRUNK_PORT);
	const char *what = kind == STATE_DISK_FULL ? "disk full" : "read-only";

	snprintf(dir, sizeof(dir), "%s/state", harness_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(state, sizeof(state), "%s/registrations", dir);
	const char *how = break_state_dir(dir, kind);
	if (!how) {
		report("state file %s: SKIPPED: root, but no way to make a directory read-only here "
		       "(no mount namespace, no chattr)", what);
		close(pbx);
		close(trunk);
		return;
	}
	start_daemon(&(struct conf_opts){ .statefile = state });
	client_open(&alice, ALICE_IP, "reg-fault", SN_IP, SN_PORT);
	long reg_ms = register_peer(&alice, "alice", "s3cret");
	ck_assert_msg(harness_wait_log(&daemon_p, "cannot save registrations", 3000),
		      "the failed save was not logged; log %s", daemon_p.log_path);
	char line[512] = "";
	FILE *f = fopen(daemon_p.log_path, "r");
	while (f && fgets(line, sizeof(line), f) && !strstr(line, "cannot save registrations"))
		;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	/* the service goes on: registrations, calls both ways */
	long rereg_ms = register_peer(&alice, "alice", "s3cret");
	ck_assert_msg(pbx_calls(pbx, "alice", alice.fd, "fault-to-alice", 1000),
		      "the PBX could not reach alice with the state file %s", what);
	ck_assert_int_eq(trunk_call(trunk, pbx, "fault-from-trunk"), 200);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died");
	report("state file %s (%s): REGISTER answered 200 in %ld ms, again in %ld ms; calls both ways go "
	       "through; logged: \"%s\"",
	       what, how, reg_ms, rereg_ms, strstr(line, "cannot") ? strstr(line, "cannot") : line);

	/* mended: the next change is saved */
	mend_state_dir(dir, kind, how);
	register_peer(&alice, "alice", "s3cret");
	long t0 = now_ms();
	bool saved = false;
	while (!saved && now_ms() - t0 < 3000) {
		FILE *s = fopen(state, "r");
		char buf[4096];
		if (s) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, s);
			buf[n] = '\0';
			saved = strstr(buf, "alice\t") != NULL;
			fclose(s);
		}
		usleep(100 * 1000);
	}
	ck_assert_msg(saved, "after the fault was mended, the bindings were not saved");
	/* the mount goes with this process's namespace anyway; unmount now so
	 * that the teardown can remove the directory */
	if (strcmp(how, "a full 4 KiB tmpfs") == 0 || strcmp(how, "a read-only bind mount") == 0) {
		ck_assert_int_eq(harness_stop(&daemon_p, SIGTERM, 5000), 0);
		ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
	}
	close(alice.fd);
	close(pbx);
	close(trunk);
}

START_TEST(state_file_disk_full)
{
	state_file_fault(STATE_DISK_FULL);
}
END_TEST

START_TEST(state_file_read_only)
{
	state_file_fault(STATE_READ_ONLY);
}
END_TEST

/* ---- a receive queue overflow ---- */

START_TEST(receive_queue_overflow)
{
	char dgram[1200], ip[32];
	struct client alice;
	int attackers[4];

	start_daemon(&(struct conf_opts){ 0 });
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "127.0.13.%d", i + 1);
		attackers[i] = harness_udp(ip, 0);
	}
	for (size_t i = 0; i < sizeof(dgram); i++)
		dgram[i] = (char)('a' + i % 26);
	/* Stopped, the daemon reads nothing: 40 000 datagrams of 1 200 bytes
	 * are far more than its socket buffer holds. */
	ck_assert_int_eq(kill(daemon_p.pid, SIGSTOP), 0);
	long t0 = now_ms();
	int sent = 0;
	for (int k = 0; k < 10000; k++)
		for (int i = 0; i < 4; i++) {
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(SN_PORT) };
			inet_pton(AF_INET, SN_IP, &to.sin_addr);
			if (sendto(attackers[i], dgram, sizeof(dgram), 0, (struct sockaddr *)&to, sizeof(to)) > 0)
				sent++;
		}
	long flood_ms = now_ms() - t0;
	usleep(200 * 1000);
	ck_assert_int_eq(kill(daemon_p.pid, SIGCONT), 0);
	long t1 = now_ms();
	client_open(&alice, ALICE_IP, "reg-after-overflow", SN_IP, SN_PORT);
	long reg_ms = register_peer(&alice, "alice", "s3cret");
	long after_ms = now_ms() - t1;
	ck_assert_msg(harness_wait_log(&daemon_p, "SIP receive queue overflowed", 2000),
		      "the overflow was not logged; log %s", daemon_p.log_path);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died");
	long overflows = stat_of("sip", "rx_overflows"), malformed = stat_of("sip", "malformed");
	report("overflow: %d datagrams sent in %ld ms to the stopped daemon; after SIGCONT: %ld malformed "
	       "read, %ld counted as dropped by the kernel (sip.rx_overflows), %ld overflow log line(s); "
	       "a REGISTER (challenge and answer) started right after SIGCONT got its 200 in %ld ms",
	       sent, flood_ms, malformed, overflows, log_count("SIP receive queue overflowed"), reg_ms);
	ck_assert_int_gt(overflows, 0);
	ck_assert_int_le(log_count("SIP receive queue overflowed"), 10);
	ck_assert_int_lt(after_ms, 3000);
	for (int i = 0; i < 4; i++)
		close(attackers[i]);
	close(alice.fd);
}
END_TEST

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
	long t0 = now_ms();

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
			long wait = due - now_ms();
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

	start_daemon(&(struct conf_opts){ 0 });
	client_open(&alice, ALICE_IP, "reg-flood", SN_IP, SN_PORT);
	long c0 = cpu_ticks(daemon_p.pid);
	long t0 = now_ms();
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
		reg[regs++] = register_peer(&alice, "alice", "s3cret");
		if (!called && regs == 5) {
			struct client call = alice;
			call.cseq = 0;
			snprintf(call.call_id, sizeof(call.call_id), "alice-calls-in-flood");
			long c1 = now_ms();
			client_send(&call, "INVITE", "alice", NULL, NULL);
			ck_assert(client_recv(&call, out, sizeof(out), 2000));
			ck_assert_msg(strncmp(out, "SIP/2.0 407", 11) == 0, "got %s", out);
			client_answer_challenge(&call, out, "INVITE", "alice", "s3cret", line, sizeof(line));
			client_send(&call, "INVITE", "alice", line, NULL);
			ck_assert_msg(wait_for(pbx, "INVITE ", "alice-calls-in-flood", got, sizeof(got), 2000),
				      "alice's INVITE did not reach the PBX during the flood");
			reply(pbx, got, 200, "OK", "pbxf", NULL);
			ck_assert_int_eq(wait_final(call.fd, "alice-calls-in-flood", out, sizeof(out), 2000), 200);
			call_ms = now_ms() - c1;
			called = true;
		}
		usleep(200 * 1000);
	}
	if (!flood_over)
		flood_over = waitpid(attacker, &status, 0) == attacker;
	long flood_ms = now_ms() - t0, ticks = cpu_ticks(daemon_p.pid) - c0;
	ck_assert(flood_over);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died in the flood");
	ck_assert_msg(called, "the flood ended before alice's call (only %d registrations)", regs);
	ck_assert_int_ge(regs, 5);

	long worst = 0, sum = 0;
	for (int i = 0; i < regs; i++) {
		sum += reg[i];
		if (reg[i] > worst)
			worst = reg[i];
	}
	report("flood: %d garbage datagrams and %d unauthenticated INVITEs from %d addresses in %ld ms "
	       "(sipnatd CPU %.0f %%); counted %ld malformed, %ld answered locally (challenges within the "
	       "per-address budget), %ld dropped, %ld kernel drops",
	       FLOOD_GARBAGE, FLOOD_INVITES, FLOOD_SOURCES, flood_ms, 100 * cpu_share(ticks, flood_ms),
	       stat_of("sip", "malformed"), stat_of("sip", "answered_locally"), stat_of("sip", "dropped"),
	       stat_of("sip", "rx_overflows"));
	report("flood: alice registered %d times meanwhile (digest: challenge + answer), %ld ms on average, "
	       "%ld ms at worst; her call (407, INVITE with credentials, PBX, 200) took %ld ms",
	       regs, sum / regs, worst, call_ms);
	ck_assert_msg(worst < 1000, "a REGISTER took %ld ms during the flood", worst);
	close(alice.fd);
	close(pbx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pbx_down_then_back);
	tcase_add_test(tc, late_200_takes_no_relay_pair);
	tcase_add_test(tc, dns_gone_then_back);
	tcase_add_test(tc, sighup_every_100ms_under_load);
	tcase_add_test(tc, kill_9_many_bindings);
	tcase_add_test(tc, state_file_disk_full);
	tcase_add_test(tc, state_file_read_only);
	tcase_add_test(tc, receive_queue_overflow);
	tcase_add_test(tc, flood_while_legit_peer_registers_and_calls);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
