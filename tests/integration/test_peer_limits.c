/*
 * Per-peer limits and NAT detection through the real daemon (issue 10):
 * calllimit refuses a peer's extra call with 486 and maxrelays its extra
 * relay pairs with 503, both before the PBX hears of the call, in both
 * directions, and counted under calls failed; a peer written with
 * nat = "force_rport" whose SDP is not where it sends from is latched anyway
 * (auto-comedia), and the call-end line says from where and why packets were
 * dropped, as `sipnatctl calls` does while the call runs.
 *
 *   LAN: sipnatd 127.0.1.10:25060, PBX 127.0.1.20:25080 (RTP 127.0.1.20:21000+)
 *   Internet: trunk peers "limited" 127.0.2.9, "capped" 127.0.2.10, "natted"
 *        127.0.2.11 (signalling from :5070, RTP from :4000+); a registered
 *        peer "carol" at 127.0.2.12 for calls from the PBX
 */
#include "harness.h"
#include "lan1.h"
#include "rtp.h"

#include "sipclient.h"

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMITED_IP "127.0.2.9"
#define CAPPED_IP "127.0.2.10"
#define NATTED_IP "127.0.2.11"
#define CAROL_IP "127.0.2.12"
#define PHONE_PORT 5070

static struct daemon_proc daemon_p;
static char sock_path[512];

static const char conf_text[] =
	LAN1_GENERAL
	"  statefile = \"%s/registrations\"; control = \"%s\";\n"
	"};\n"
	"rtp: { rtpstart = 32000; rtpend = 32031; rtptimeout = 30; };\n"
	"peers: (\n"
	"  { name = \"limited\"; host = \"" LIMITED_IP ":5070\"; calllimit = 1; qualify = false; },\n"
	"  { name = \"capped\"; host = \"" CAPPED_IP ":5070\"; maxrelays = 1; qualify = false; },\n"
	"  { name = \"natted\"; host = \"" NATTED_IP ":5070\"; nat = \"force_rport\"; qualify = false; },\n"
	"  { name = \"carol\"; secret = \"c4rol\"; calllimit = 1; qualify = false; }\n"
	");\n"
	"logging: { level = \"info\"; };\n";

static void start_daemon(void)
{
	snprintf(sock_path, sizeof(sock_path), "%s/control", harness_tmpdir());
	harness_start_conf(&daemon_p, "limits.conf", conf_text, harness_tmpdir(), sock_path);
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

/* `sipnatctl --json cmd`, parsed. */
static json_t *ctl_json(const char *cmd)
{
	static char out[65536];
	json_error_t jerr;
	const char *argv[] = { SIPNATCTL_BINARY, "-s", sock_path, "--json", cmd, NULL };

	int rc = harness_run(argv, out, sizeof(out));
	ck_assert_msg(rc == 0, "sipnatctl --json %s: exit %d: %s", cmd, rc, out);
	json_t *r = json_loads(out, 0, &jerr);
	ck_assert_msg(r != NULL, "sipnatctl --json %s: %s in %s", cmd, jerr.text, out);
	return r;
}

static long long calls_failed(void)
{
	json_t *r = ctl_json("stats");
	json_t *v = json_object_get(json_object_get(r, "calls"), "failed");
	ck_assert_msg(json_is_integer(v), "no calls.failed in stats");
	long long n = (long long)json_integer_value(v);
	json_decref(r);
	return n;
}

/* An SDP body naming addr with `streams` audio lines from port. */
static int sdp(char *out, size_t len, const char *addr, unsigned port, int streams)
{
	int n = snprintf(out, len, "v=0\r\no=p 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", addr,
			 addr);
	for (int i = 0; i < streams; i++)
		n += snprintf(out + n, len - (size_t)n, "m=audio %u RTP/AVP 0\r\n", port + 2u * (unsigned)i);
	return n;
}

/* The Via lines of a request, in order, as a block for its answer. */
static void vias_of(const char *msg, char *out, size_t len)
{
	const char *p = msg;

	out[0] = '\0';
	for (const char *h; (h = strstr(p, "\r\nVia: ")) != NULL; p = h) {
		h += 2;
		size_t hl = strcspn(h, "\r");
		if (strlen(out) + hl + 3 >= len)
			break;
		strncat(out, h, hl);
		strcat(out, "\r\n");
		h += hl;
	}
}

struct leg {
	int sip;             /* the Internet party's signalling socket */
	int pbx;             /* the PBX's */
	char call_id[64];
	unsigned relay_port; /* what the Internet party was told */
};

/* An INVITE from the trunk peer at ip (SDP naming sdp_ip:port, streams m=
 * lines; Via and Contact naming `claimed`, NULL = ip) toward the PBX.
 * Returns the final status the caller got: the PBX answers 200 when the
 * INVITE reaches it. */
static int call_as(struct leg *l, const char *ip, const char *claimed, const char *sdp_ip,
		   unsigned port, int streams, const char *call_id)
{
	char body[1024], msg[4096], got[8192], vias[2048];

	snprintf(l->call_id, sizeof(l->call_id), "%s", call_id);
	int blen = sdp(body, sizeof(body), sdp_ip, port, streams);
	int k = snprintf(msg, sizeof(msg),
			 "INVITE sip:100@" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:5070;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"
			 "From: <sip:p@%s>;tag=f-%s\r\nTo: <sip:100@" SN_IP ">\r\nCall-ID: %s\r\n"
			 "CSeq: 1 INVITE\r\nContact: <sip:p@%s:5070>\r\n"
			 "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			 claimed ? claimed : ip, call_id, ip, call_id, call_id, claimed ? claimed : ip, blen,
			 body);
	harness_udp_send(l->sip, SN_IP, SN_PORT, msg, (size_t)k);
	if (harness_sip_recv(l->pbx, got, sizeof(got), 1000, NULL) <= 0) {
		/* refused before forwarding: the caller has its answer */
		ck_assert(harness_sip_recv(l->sip, got, sizeof(got), 2000, NULL) > 0);
		return atoi(got + 8);
	}
	ck_assert_msg(strncmp(got, "INVITE ", 7) == 0, "PBX got %s", got);
	vias_of(got, vias, sizeof(vias));
	blen = sdp(body, sizeof(body), PBX_IP, 21000, streams);
	k = snprintf(msg, sizeof(msg),
		     "SIP/2.0 200 OK\r\n%sFrom: <sip:p@%s>;tag=f-%s\r\nTo: <sip:100@" SN_IP ">;tag=t-%s\r\n"
		     "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:100@" PBX_IP ":25080>\r\n"
		     "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		     vias, ip, call_id, call_id, call_id, blen, body);
	harness_udp_send(l->pbx, SN_IP, SN_PORT, msg, (size_t)k);
	ck_assert(harness_sip_recv(l->sip, got, sizeof(got), 2000, NULL) > 0);
	const char *m = strstr(got, "\r\nm=audio ");
	l->relay_port = m ? (unsigned)atoi(m + 10) : 0;
	return atoi(got + 8);
}

static int call_in(struct leg *l, const char *ip, const char *sdp_ip, unsigned port, int streams,
		   const char *call_id)
{
	return call_as(l, ip, NULL, sdp_ip, port, streams, call_id);
}

static void hang_up_in(struct leg *l, const char *ip)
{
	char msg[2048], got[4096];
	int k = snprintf(msg, sizeof(msg),
			 "BYE sip:100@" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:5070;branch=z9hG4bKbye-%s;rport\r\nMax-Forwards: 70\r\n"
			 "From: <sip:p@%s>;tag=f-%s\r\nTo: <sip:100@" SN_IP ">;tag=t-%s\r\n"
			 "Call-ID: %s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
			 ip, l->call_id, ip, l->call_id, l->call_id, l->call_id);
	harness_udp_send(l->sip, SN_IP, SN_PORT, msg, (size_t)k);
	ck_assert(harness_sip_recv(l->pbx, got, sizeof(got), 2000, NULL) > 0);
	ck_assert_msg(strncmp(got, "BYE ", 4) == 0, "PBX got %s", got);
}

/* calllimit = 1: the second call of the peer gets 486 Busy Here
 * and never reaches the PBX; after the first ends, a new one passes. */
START_TEST(calllimit_refuses_with_486)
{
	struct leg a = { .sip = harness_udp(LIMITED_IP, PHONE_PORT), .pbx = harness_udp(PBX_IP, PBX_PORT) };
	struct leg b = a, c = a;
	long long failed_before = calls_failed();

	ck_assert_int_eq(call_in(&a, LIMITED_IP, LIMITED_IP, 4000, 1, "lim-a"), 200);
	ck_assert_int_eq(call_in(&b, LIMITED_IP, LIMITED_IP, 4002, 1, "lim-b"), 486);
	ck_assert(harness_wait_log(&daemon_p, "peer limited has 1 call(s), its calllimit: refusing call lim-b (486)", 1000));
	ck_assert_int_eq(calls_failed(), failed_before + 1);
	hang_up_in(&a, LIMITED_IP);
	ck_assert_int_eq(call_in(&c, LIMITED_IP, LIMITED_IP, 4004, 1, "lim-c"), 200);
	hang_up_in(&c, LIMITED_IP);
	close(a.sip);
	close(a.pbx);
}
END_TEST

/* maxrelays = 1: an offer that wants two pairs, or a second call, gets 503
 * before the PBX hears of it; one audio stream passes. */
START_TEST(maxrelays_refuses_with_503)
{
	struct leg a = { .sip = harness_udp(CAPPED_IP, PHONE_PORT), .pbx = harness_udp(PBX_IP, PBX_PORT) };
	struct leg b = a, c = a;
	long long failed_before = calls_failed();

	ck_assert_int_eq(call_in(&a, CAPPED_IP, CAPPED_IP, 4000, 2, "cap-a"), 503);
	ck_assert_int_eq(call_in(&b, CAPPED_IP, CAPPED_IP, 4010, 1, "cap-b"), 200);
	ck_assert_int_eq(call_in(&c, CAPPED_IP, CAPPED_IP, 4020, 1, "cap-c"), 503);
	ck_assert(harness_wait_log(&daemon_p, "peer capped holds 1 relay pair(s) and wants 1 more, over its maxrelays 1", 1000));
	ck_assert_int_eq(calls_failed(), failed_before + 2);
	hang_up_in(&b, CAPPED_IP);
	close(a.sip);
	close(a.pbx);
}
END_TEST

/* The PBX calls a registered peer at its calllimit: the PBX gets 486 and
 * the peer hears nothing of the second call. */
START_TEST(calllimit_toward_the_peer)
{
	char out[8192], msg[2048];
	struct client carol;
	int pbx = harness_udp(PBX_IP, PBX_PORT);

	client_open(&carol, CAROL_IP, "reg-carol", SN_IP, SN_PORT);
	client_auth_request(&carol, "REGISTER", "carol", "c4rol", "300", out, sizeof(out));
	ck_assert_msg(strncmp(out, "SIP/2.0 200 OK", 14) == 0, "got %s", out);
	for (int n = 1; n <= 2; n++) {
		int k = snprintf(msg, sizeof(msg),
				 "INVITE sip:carol@" SN_IP ":25060 SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP " PBX_IP ":25080;branch=z9hG4bKtocarol%d;rport\r\n"
				 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p%d\r\n"
				 "To: <sip:carol@" SN_IP ">\r\nCall-ID: pbx-carol-%d\r\nCSeq: 1 INVITE\r\n"
				 "Contact: <sip:200@" PBX_IP ":25080>\r\nContent-Length: 0\r\n\r\n",
				 n, n, n);
		harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)k);
		if (n == 1) {
			ck_assert(client_recv(&carol, out, sizeof(out), 2000));
			ck_assert_msg(strncmp(out, "INVITE sip:carol@", 17) == 0, "carol got %s", out);
			continue;
		}
		ck_assert(harness_sip_recv(pbx, out, sizeof(out), 2000, NULL) > 0);
		ck_assert_msg(strncmp(out, "SIP/2.0 486 ", 12) == 0, "PBX got %s", out);
		ck_assert(!client_recv(&carol, out, sizeof(out), 300));
	}
	close(pbx);
	close(carol.fd);
}
END_TEST

/* nat = "force_rport" alone used to send the media where the SDP said; a
 * peer whose SDP names a private address (not where it sends from) is evidently
 * behind NAT and is latched: its packets pass, and the PBX's reach it at
 * the address they came from. Packets from elsewhere are dropped, and the
 * log and `sipnatctl calls` say from where and why. */
START_TEST(nat_detected_media_latched)
{
	struct leg a = { .sip = harness_udp(NATTED_IP, PHONE_PORT), .pbx = harness_udp(PBX_IP, PBX_PORT) };
	int phone_rtp = harness_udp(NATTED_IP, 4300);
	int pbx_rtp = harness_udp(PBX_IP, 21000);
	int stranger = harness_udp("127.0.2.66", 0);
	uint8_t p[RTP_PCMU_LEN];

	/* the SDP says 192.168.1.77 (the phone's LAN), the RTP comes from
	 * 127.0.2.11:4300 (its NAT) */
	ck_assert_int_eq(call_in(&a, NATTED_IP, "192.168.1.77", 4300, 1, "nat-a"), 200);
	ck_assert_uint_ge(a.relay_port, 32000);
	ck_assert(harness_wait_log(&daemon_p, "call nat-a: natted is behind NAT (SDP address is private)", 1000));
	/* nothing goes to the private address meanwhile */
	rtp_make(p, RTP_PCMU_LEN, 899, 0x42);
	harness_udp_send(pbx_rtp, SN_IP, a.relay_port, (const char *)p, sizeof(p));
	for (int i = 0; i < 10; i++) {
		rtp_make(p, RTP_PCMU_LEN, (uint16_t)(300 + i), 0x42);
		harness_udp_send(phone_rtp, SN_IP, a.relay_port, (const char *)p, sizeof(p));
	}
	int at_pbx = rtp_count(pbx_rtp, 300);
	ck_assert_msg(at_pbx >= 6, "PBX got %d of the phone's 10", at_pbx);
	for (int i = 0; i < 10; i++) {
		rtp_make(p, RTP_PCMU_LEN, (uint16_t)(900 + i), 0x42);
		harness_udp_send(pbx_rtp, SN_IP, a.relay_port, (const char *)p, sizeof(p));
	}
	ck_assert_int_eq(rtp_count(phone_rtp, 300), 10);
	/* a stranger's packets: dropped, and named (enough of them for a line
	 * while the call runs: learning alone drops a few) */
	for (int i = 0; i < 20; i++) {
		rtp_make(p, RTP_PCMU_LEN, (uint16_t)(310 + i), 0x42);
		harness_udp_send(stranger, SN_IP, a.relay_port, (const char *)p, sizeof(p));
	}
	ck_assert_int_eq(rtp_count(pbx_rtp, 200), 0);
	json_t *calls = ctl_json("calls");
	json_t *call = json_array_get(json_object_get(calls, "calls"), 0);
	json_t *drop = json_object_get(json_array_get(json_object_get(call, "streams"), 0), "last_drop");
	ck_assert_msg(json_is_object(drop), "no last_drop in %s", json_dumps(calls, 0));
	ck_assert_str_eq(json_string_value(json_object_get(drop, "why")), "other IP after lock");
	ck_assert_msg(strncmp(json_string_value(json_object_get(drop, "from")), "127.0.2.66:", 11) == 0,
		      "from %s", json_string_value(json_object_get(drop, "from")));
	json_decref(calls);
	char out[8192];
	const char *argv[] = { SIPNATCTL_BINARY, "-s", sock_path, "calls", NULL };
	ck_assert_int_eq(harness_run(argv, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "Last drop") && strstr(out, "127.0.2.66:") &&
		      strstr(out, "other IP after lock"), "sipnatctl calls: %s", out);
	ck_assert(harness_wait_log(&daemon_p, "call nat-a: relay port", 4000));
	ck_assert(harness_log_contains(&daemon_p, "drops packets (last from 127.0.2.66:"));
	hang_up_in(&a, NATTED_IP);
	ck_assert(harness_wait_log(&daemon_p, "call nat-a ended (BYE)", 2000));
	ck_assert(harness_log_contains(&daemon_p, "dropped (last from 127.0.2.66:"));
	ck_assert(harness_log_contains(&daemon_p, ": other IP after lock)"));
	close(a.sip);
	close(a.pbx);
	close(phone_rtp);
	close(pbx_rtp);
	close(stranger);
}
END_TEST

/* Evidently behind NAT (its Via and Contact name 10.0.0.5) but its SDP names
 * the address it sends from (learnt by STUN, a port-preserving NAT): its nat
 * lacks comedia, so until its first packet the PBX's media goes where its SDP
 * says (early media), then it is latched as any NATed phone. */
START_TEST(nat_detected_sdp_used_until_latched)
{
	struct leg a = { .sip = harness_udp(NATTED_IP, PHONE_PORT), .pbx = harness_udp(PBX_IP, PBX_PORT) };
	int phone_rtp = harness_udp(NATTED_IP, 4400);
	int pbx_rtp = harness_udp(PBX_IP, 21000);
	uint8_t p[RTP_PCMU_LEN];

	ck_assert_int_eq(call_as(&a, NATTED_IP, "10.0.0.5", NATTED_IP, 4400, 1, "nat-b"), 200);
	ck_assert(harness_wait_log(&daemon_p, "call nat-b: natted is behind NAT (Via sent-by is not the source, Contact is not the source)", 1000));
	for (int i = 0; i < 5; i++) {
		rtp_make(p, RTP_PCMU_LEN, (uint16_t)(800 + i), 0x42);
		harness_udp_send(pbx_rtp, SN_IP, a.relay_port, (const char *)p, sizeof(p));
	}
	ck_assert_int_eq(rtp_count(phone_rtp, 300), 5);
	for (int i = 0; i < 10; i++) {
		rtp_make(p, RTP_PCMU_LEN, (uint16_t)(400 + i), 0x42);
		harness_udp_send(phone_rtp, SN_IP, a.relay_port, (const char *)p, sizeof(p));
	}
	ck_assert_int_ge(rtp_count(pbx_rtp, 300), 6);
	hang_up_in(&a, NATTED_IP);
	close(a.sip);
	close(a.pbx);
	close(phone_rtp);
	close(pbx_rtp);
}
END_TEST

/* sipnatd -t accepts settings that cannot serve a phone behind NAT, and
 * says which and why, with file and line; the recipe's gets no warning. */
START_TEST(check_warns_about_nat_settings)
{
	char out[4096];
	const char *path = harness_write_file("warn.conf",
		"general: { externip = \"203.0.113.7\"; localnet = [ \"127.0.1.0/24\" ];\n"
		"  pbx = \"" PBX_IP ":25080\"; };\n"
		"peers: (\n"
		"  { name = \"recipe\"; secret = \"r\"; nat = \"force_rport\"; qualify = true; directmedia = false; },\n"
		"  { name = \"plain\"; secret = \"p\"; nat = \"no\"; },\n"
		"  { name = \"direct\"; secret = \"d\"; directmedia = true; },\n"
		"  { name = \"modern\"; secret = \"m\"; nat = \"auto\"; }\n"
		");\n");
	const char *argv[] = { SIPNATD_BINARY, "-t", "-c", path, NULL };

	ck_assert_int_eq(harness_run(argv, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "warn.conf:5: peers.plain: warning: nat without force_rport or auto"),
		      "got %s", out);
	ck_assert_msg(strstr(out, "warn.conf:6: peers.direct: warning: directmedia = true"), "got %s", out);
	ck_assert_msg(!strstr(out, "peers.recipe") && !strstr(out, "peers.modern"), "got %s", out);
	ck_assert_msg(strstr(out, "configuration OK"), "got %s", out);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		calllimit_refuses_with_486, maxrelays_refuses_with_503,
		calllimit_toward_the_peer, nat_detected_media_latched,
		nat_detected_sdp_used_until_latched, check_warns_about_nat_settings, NULL };
	return harness_main("peer_limits", "peer_limits", 60, start_daemon, stop_daemon, tests);
}
