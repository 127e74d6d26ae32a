/*
 * faultnet: the loopback network the fault tests (tests/integration/test_fault_*.c)
 * share: sipnatd's configuration and start, and SIP as the PBX and the trunk play it.
 */
#include "faultnet.h"
#include "harness.h"
#include "sipclient.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

struct daemon_proc faultnet_daemon;
char faultnet_conf_path[512];

/* ---- the daemon ---- */

static const char faultnet_conf_fmt[] =
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

void faultnet_conf_text(const struct faultnet_conf *o, char *text, size_t len)
{
	char state[512], peers[4096] = "";

	snprintf(state, sizeof(state), "%s/registrations", harness_tmpdir());
	for (int i = 1; i <= o->extra_peers; i++) {
		size_t used = strlen(peers);
		snprintf(peers + used, sizeof(peers) - used,
			 ",\n  { name = \"p%02d\"; secret = \"pw%d\"; }", i, i);
	}
	snprintf(text, len, faultnet_conf_fmt, o->ext ? o->ext : "externip = \"203.0.113.7\";",
		 o->statefile ? o->statefile : state, harness_tmpdir(), o->rtpend ? o->rtpend : 32099,
		 o->trunk_extra ? o->trunk_extra : "", o->alice_secret ? o->alice_secret : "s3cret",
		 peers, o->level ? o->level : "info");
}

/* Write the configuration file whole (rename), so that a reload never reads
 * half of it. */
void faultnet_write_conf(const struct faultnet_conf *o)
{
	char text[8192], tmp[600];

	faultnet_conf_text(o, text, sizeof(text));
	snprintf(faultnet_conf_path, sizeof(faultnet_conf_path), "%s/faults.conf", harness_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s.new", faultnet_conf_path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, faultnet_conf_path), 0);
}

void faultnet_start(const struct faultnet_conf *o)
{
	faultnet_write_conf(o);
	const char *args[] = { "-f", "-c", faultnet_conf_path, NULL };
	harness_start(&faultnet_daemon, args, true);
}

void faultnet_setup(void)
{
	memset(&faultnet_daemon, 0, sizeof(faultnet_daemon));
}

void faultnet_teardown(void)
{
	harness_stop_daemon(&faultnet_daemon);
}

/* ---- SIP as the PBX and the trunk play it ---- */

/* Answer the request req (received on fd from sipnatd) with code. */
void faultnet_reply(int fd, const char *req, int code, const char *reason, const char *to_tag,
		  const char *sdp)
{
	char vias[4096], from[512], to[512], cid[256], cseq[64], msg[8192];

	harness_sip_copy_vias(req, vias, sizeof(vias));
	ck_assert(harness_sip_header(req, "From", from, sizeof(from)));
	ck_assert(harness_sip_header(req, "To", to, sizeof(to)));
	ck_assert(harness_sip_header(req, "Call-ID", cid, sizeof(cid)));
	ck_assert(harness_sip_header(req, "CSeq", cseq, sizeof(cseq)));
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
bool faultnet_wait_for(int fd, const char *prefix, const char *call_id, char *buf, size_t len,
		     int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	char cid[256];

	for (;;) {
		long left = deadline - harness_now_ms();
		if (left < 0)
			return false;
		if (harness_udp_recv(fd, buf, len, (int)left, NULL) < 0)
			return false;
		if (strncmp(buf, "OPTIONS ", 8) == 0 && strstr(buf, "branch=z9hG4bKsno")) {
			faultnet_reply(fd, buf, 200, "OK", "ping", NULL);
			continue;
		}
		if (strncmp(buf, prefix, strlen(prefix)) != 0)
			continue;
		if (call_id && !(harness_sip_header(buf, "Call-ID", cid, sizeof(cid)) && strcmp(cid, call_id) == 0))
			continue;
		return true;
	}
}

/* A final response (>= 200) for call_id on fd; returns its code or 0. */
int faultnet_wait_final(int fd, const char *call_id, char *buf, size_t len, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;

	while (harness_now_ms() < deadline) {
		if (!faultnet_wait_for(fd, "SIP/2.0 ", call_id, buf, len, (int)(deadline - harness_now_ms())))
			return 0;
		int code = atoi(buf + 8);
		if (code >= 200)
			return code;
	}
	return 0;
}

const char faultnet_pbx_sdp[] =
	"v=0\r\no=asterisk 1 1 IN IP4 " PBX_IP "\r\ns=Asterisk\r\nc=IN IP4 " PBX_IP "\r\n"
	"t=0 0\r\nm=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/* A trunk request inside or outside a dialog. to_line is the To header value
 * (with the PBX's tag once there is one). */
int faultnet_trunk_request(char *buf, size_t len, const char *method, const char *call_id, unsigned cseq,
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

void faultnet_trunk_send_invite(int trunk, const char *call_id)
{
	char msg[4096];
	int n = faultnet_trunk_request(msg, sizeof(msg), "INVITE", call_id, 1, call_id,
			      "<sip:100@" SN_IP ">", true);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
}

/* A whole call from the trunk to the PBX: INVITE with SDP, 200 with SDP,
 * ACK, BYE, 200. Returns the status the trunk got for its INVITE (200 when
 * the whole call went through; -1 when ACK or BYE went astray), 0 when
 * nothing came back. */
int faultnet_trunk_call(int trunk, int pbx, const char *call_id)
{
	char got[8192], to[512], msg[4096], branch[128];

	faultnet_trunk_send_invite(trunk, call_id);
	if (!faultnet_wait_for(pbx, "INVITE ", call_id, got, sizeof(got), 2000))
		return faultnet_wait_final(trunk, call_id, got, sizeof(got), 500);
	faultnet_reply(pbx, got, 200, "OK", "pbx1", faultnet_pbx_sdp);
	int code = faultnet_wait_final(trunk, call_id, got, sizeof(got), 2000);
	if (code != 200)
		return code;
	ck_assert(harness_sip_header(got, "To", to, sizeof(to)));
	snprintf(branch, sizeof(branch), "%s-ack", call_id);
	int n = faultnet_trunk_request(msg, sizeof(msg), "ACK", call_id, 1, branch, to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	if (!faultnet_wait_for(pbx, "ACK ", call_id, got, sizeof(got), 2000))
		return -1;
	snprintf(branch, sizeof(branch), "%s-bye", call_id);
	n = faultnet_trunk_request(msg, sizeof(msg), "BYE", call_id, 2, branch, to, false);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)n);
	if (!faultnet_wait_for(pbx, "BYE ", call_id, got, sizeof(got), 2000))
		return -1;
	faultnet_reply(pbx, got, 200, "OK", NULL, NULL);
	return faultnet_wait_final(trunk, call_id, got, sizeof(got), 2000) == 200 ? 200 : -1;
}

/* The PBX calls a registered peer; true when the INVITE reaches the phone. */
bool faultnet_pbx_calls(int pbx, const char *peer, int phone_fd, const char *call_id, int timeout_ms)
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
	return faultnet_wait_for(phone_fd, "INVITE ", call_id, got, sizeof(got), timeout_ms);
}

/* Register with digest; returns the time the whole exchange took (ms), or
 * fails the test unless the answer is 200. */
long faultnet_register_peer(struct client *c, const char *user, const char *password)
{
	char out[8192];
	long t0 = harness_now_ms();

	client_auth_request(c, "REGISTER", user, password, "600", out, sizeof(out));
	ck_assert_msg(strncmp(out, "SIP/2.0 200 ", 12) == 0, "REGISTER %s: %s", user, out);
	return harness_now_ms() - t0;
}
int faultnet_run(const char *name, const TTest *const tests[])
{
	Suite *s = suite_create(name);
	harness_add_tests(harness_tcase(s, name, 120, faultnet_setup, faultnet_teardown), tests);
	return harness_run_suite(s);
}
