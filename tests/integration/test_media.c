/*
 * The media relay through the real daemon (issue: media relay): SDP rewritten
 * both ways, RTP flowing both ways through one relay port, a 4-pair pool that
 * refuses the fifth call with 503 and is whole again after hangup, a stranger
 * who gets nothing and steals nothing, and the media timeout.
 *
 *   LAN: sipnatd 127.0.1.10:25060, PBX signalling 127.0.1.20:25080, PBX RTP
 *        127.0.1.20:20000+
 *   Internet: the phone is a trunk peer at 127.0.2.5 (no digest needed),
 *        signalling 127.0.2.5:5070, RTP from 127.0.2.5:4000+, announcing a
 *        private SDP address 192.168.1.5; stranger 127.0.2.66
 */
#include "harness.h"
#include "lan1.h"
#include "rtp.h"

#include <arpa/inet.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PHONE_IP "127.0.2.5"
#define PHONE_PORT 5070

static struct daemon_proc daemon_p;

static const char conf_text[] =
	LAN1_GENERAL
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"rtp: { rtpstart = 31000; rtpend = 31007; rtptimeout = 3; rtpholdtimeout = 300; };\n"
	"peers: ( { name = \"phone\"; host = \"" PHONE_IP ":5070\"; },\n"
	"  { name = \"direct\"; host = \"127.0.2.7:5070\"; directmedia = true; },\n"
	"  { name = \"fixed\"; host = \"127.0.2.8:5070\"; nat = \"force_rport\"; } );\n"
	"logging: { level = \"info\"; };\n";

static void start_daemon(void)
{
	harness_start_conf(&daemon_p, "media.conf", conf_text, harness_tmpdir(), harness_tmpdir());
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

struct call {
	int phone_sip, pbx_sip;
	int n;                 /* call number: Call-ID and ports */
	char phone_sdp_c[64];  /* what the phone saw */
	unsigned phone_relay_port, pbx_relay_port;
	char to_tag_line[256];
	char invite_via[1024];
};

static const char *sdp_value(const char *msg, const char *key, char *out, size_t len)
{
	const char *p = strstr(msg, key);
	if (!p)
		return NULL;
	p += strlen(key);
	size_t n = strcspn(p, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

/* Phone -> PBX: INVITE with SDP; returns the status the phone got (200, or
 * the error). The PBX side answers 200 with its own SDP. */
static int place_call(struct call *c, int n)
{
	char msg[4096], got[8192], body[512], v[128];

	c->n = n;
	int blen = snprintf(body, sizeof(body),
			    "v=0\r\no=phone 1 1 IN IP4 192.168.1.5\r\ns=-\r\nc=IN IP4 192.168.1.5\r\n"
			    "t=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
			    4000 + 2 * n);
	int len = snprintf(msg, sizeof(msg),
			   "INVITE sip:100@" SN_IP ":25060 SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bKmedia%d;rport\r\n"
			   "Max-Forwards: 70\r\nFrom: <sip:phone@" SN_IP ">;tag=ph%d\r\n"
			   "To: <sip:100@" SN_IP ">\r\nCall-ID: media-call-%d\r\nCSeq: 1 INVITE\r\n"
			   "Contact: <sip:phone@192.168.1.5:5060>\r\nContent-Type: application/sdp\r\n"
			   "Content-Length: %d\r\n\r\n%s",
			   n, n, n, blen, body);
	harness_udp_send(c->phone_sip, SN_IP, SN_PORT, msg, (size_t)len);

	ssize_t r = harness_sip_recv(c->pbx_sip, got, sizeof(got), 2000, NULL);
	if (r <= 0) {
		/* not forwarded: the phone must have been answered */
		ck_assert(harness_sip_recv(c->phone_sip, got, sizeof(got), 2000, NULL) > 0);
		return atoi(got + 8);
	}
	/* the PBX sees sipnatd's LAN address and a pool port */
	ck_assert_msg(sdp_value(got, "c=IN IP4 ", v, sizeof(v)) && strcmp(v, SN_IP) == 0, "PBX got %s", got);
	ck_assert(sdp_value(got, "m=audio ", v, sizeof(v)));
	c->pbx_relay_port = (unsigned)atoi(v);
	ck_assert_msg(c->pbx_relay_port >= 31000 && c->pbx_relay_port <= 31006 && c->pbx_relay_port % 2 == 0,
		      "port %u", c->pbx_relay_port);
	ck_assert_ptr_null(strstr(got, "192.168.1.5\r\n"));
	ck_assert(harness_sip_header(got, "Via", c->invite_via, sizeof(c->invite_via)));
	char vias[2048] = "", *p = got;
	/* both Vias, in order, for the answer */
	for (int k = 0; k < 2; k++) {
		char *h = strstr(p, "\r\nVia: ");
		ck_assert_ptr_nonnull(h);
		h += 2;
		size_t hl = strcspn(h, "\r");
		strncat(vias, h, hl);
		strcat(vias, "\r\n");
		p = h + hl;
	}
	blen = snprintf(body, sizeof(body),
			"v=0\r\no=asterisk 1 1 IN IP4 " PBX_IP "\r\ns=Asterisk\r\nc=IN IP4 " PBX_IP "\r\n"
			"t=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
			20000 + 2 * n);
	len = snprintf(msg, sizeof(msg),
		       "SIP/2.0 200 OK\r\n%sFrom: <sip:phone@" SN_IP ">;tag=ph%d\r\n"
		       "To: <sip:100@" SN_IP ">;tag=pbx%d\r\nCall-ID: media-call-%d\r\nCSeq: 1 INVITE\r\n"
		       "Contact: <sip:100@" PBX_IP ":25080>\r\nContent-Type: application/sdp\r\n"
		       "Content-Length: %d\r\n\r\n%s",
		       vias, n, n, n, blen, body);
	harness_udp_send(c->pbx_sip, SN_IP, SN_PORT, msg, (size_t)len);
	ck_assert(harness_sip_recv(c->phone_sip, got, sizeof(got), 2000, NULL) > 0);
	int status = atoi(got + 8);
	if (status == 200) {
		ck_assert_msg(sdp_value(got, "c=IN IP4 ", c->phone_sdp_c, sizeof(c->phone_sdp_c)) &&
			      strcmp(c->phone_sdp_c, "203.0.113.7") == 0, "phone got %s", got);
		ck_assert(sdp_value(got, "m=audio ", v, sizeof(v)));
		c->phone_relay_port = (unsigned)atoi(v);
		/* one port pair serves both legs */
		ck_assert_uint_eq(c->phone_relay_port, c->pbx_relay_port);
		ck_assert_ptr_null(strstr(got, PBX_IP "\r\n"));
	}
	return status;
}

static void hang_up(struct call *c)
{
	char msg[2048], got[4096];
	int len = snprintf(msg, sizeof(msg),
			   "BYE sip:100@" SN_IP ":25060 SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bKbye%d;rport\r\n"
			   "Max-Forwards: 70\r\nFrom: <sip:phone@" SN_IP ">;tag=ph%d\r\n"
			   "To: <sip:100@" SN_IP ">;tag=pbx%d\r\nCall-ID: media-call-%d\r\nCSeq: 2 BYE\r\n"
			   "Content-Length: 0\r\n\r\n",
			   c->n, c->n, c->n, c->n);
	harness_udp_send(c->phone_sip, SN_IP, SN_PORT, msg, (size_t)len);
	ck_assert(harness_sip_recv(c->pbx_sip, got, sizeof(got), 2000, NULL) > 0);
	ck_assert_msg(strncmp(got, "BYE ", 4) == 0, "PBX got %s", got);
}

START_TEST(audio_flows_both_ways)
{
	struct call c;
	c.phone_sip = harness_udp(PHONE_IP, PHONE_PORT);
	c.pbx_sip = harness_udp(PBX_IP, PBX_PORT);
	int phone_rtp = harness_udp(PHONE_IP, 4000);
	int pbx_rtp = harness_udp(PBX_IP, 20000);
	int stranger = harness_udp("127.0.2.66", 0);

	ck_assert_int_eq(place_call(&c, 0), 200);
	unsigned port = c.phone_relay_port;

	/* A stranger sprays the relay port first: nothing reaches anyone. */
	for (int i = 0; i < 20; i++)
		rtp_send(stranger, SN_IP, port, (uint16_t)(100 + i), 0x666);
	ck_assert_int_eq(rtp_count(pbx_rtp, 200), 0);

	/* The phone speaks (the relay learns it after 4 in sequence), the PBX answers. */
	for (int i = 0; i < 10; i++)
		rtp_send(phone_rtp, SN_IP, port, (uint16_t)(1000 + i), 0x1111);
	int at_pbx = rtp_count(pbx_rtp, 300);
	ck_assert_msg(at_pbx >= 6 && at_pbx <= 10, "PBX got %d of 10", at_pbx);
	for (int i = 0; i < 10; i++)
		rtp_send(pbx_rtp, SN_IP, port, (uint16_t)(5000 + i), 0x2222);
	struct sockaddr_in from;
	char buf[2048];
	ck_assert_int_gt(harness_udp_recv(phone_rtp, buf, sizeof(buf), 1000, &from), 0);
	/* symmetric: the phone hears the relay from the port it sends to (R23) */
	ck_assert_uint_eq(ntohs(from.sin_port), port);
	ck_assert_int_ge(rtp_count(phone_rtp, 300), 8);

	/* The stranger again, now continuing the phone's stream: dropped, and
	 * he hears nothing of the PBX's audio. */
	for (int i = 0; i < 50; i++)
		rtp_send(stranger, SN_IP, port, (uint16_t)(1010 + i), 0x1111);
	ck_assert_int_eq(rtp_count(pbx_rtp, 200), 0);
	for (int i = 0; i < 10; i++)
		rtp_send(pbx_rtp, SN_IP, port, (uint16_t)(5010 + i), 0x2222);
	ck_assert_int_eq(rtp_count(stranger, 200), 0);
	ck_assert_int_ge(rtp_count(phone_rtp, 200), 8);

	hang_up(&c);
	ck_assert(harness_wait_log(&daemon_p, "call media-call-0 ended (BYE)", 2000));
	close(c.phone_sip);
	close(c.pbx_sip);
	close(phone_rtp);
	close(pbx_rtp);
	close(stranger);
}
END_TEST

/* rtpstart 31000 .. rtpend 31007 is 4 pairs: 4 calls, the 5th gets 503 before
 * the PBX hears of it; after hangup, 4 again. */
START_TEST(pool_of_four)
{
	struct call calls[5];
	int phone_sip = harness_udp(PHONE_IP, PHONE_PORT);
	int pbx_sip = harness_udp(PBX_IP, PBX_PORT);

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 4; i++) {
			calls[i].phone_sip = phone_sip;
			calls[i].pbx_sip = pbx_sip;
			ck_assert_int_eq(place_call(&calls[i], round * 10 + i), 200);
		}
		calls[4].phone_sip = phone_sip;
		calls[4].pbx_sip = pbx_sip;
		ck_assert_int_eq(place_call(&calls[4], round * 10 + 4), 503);
		ck_assert(harness_wait_log(&daemon_p, "RTP port pool exhausted (4 pairs)", 1000) ||
			  round == 1);
		for (int i = 0; i < 4; i++)
			hang_up(&calls[i]);
	}
	close(phone_sip);
	close(pbx_sip);
}
END_TEST

/* No media for rtptimeout (3 s here): the relay lets the call go. */
START_TEST(media_timeout)
{
	struct call c;
	c.phone_sip = harness_udp(PHONE_IP, PHONE_PORT);
	c.pbx_sip = harness_udp(PBX_IP, PBX_PORT);

	ck_assert_int_eq(place_call(&c, 7), 200);
	ck_assert(harness_wait_log(&daemon_p, "call media-call-7 ended (no media (rtptimeout))", 8000));
	close(c.phone_sip);
	close(c.pbx_sip);
}
END_TEST

/* An offer from a trunk peer at phone_ip whose SDP names sdp_ip:4100, the
 * PBX's answer naming 127.0.1.20:20100: what each side saw. */
static void offer_answer(const char *phone_ip, const char *sdp_ip, int n, char *pbx_got,
			 char *phone_got, size_t len)
{
	char msg[4096], body[512];
	int phone = harness_udp(phone_ip, PHONE_PORT);
	int pbx = harness_udp(PBX_IP, PBX_PORT);

	int blen = snprintf(body, sizeof(body),
			    "v=0\r\no=p 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
			    "m=audio 4100 RTP/AVP 0\r\n", sdp_ip, sdp_ip);
	int k = snprintf(msg, sizeof(msg),
			 "INVITE sip:100@" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:5070;branch=z9hG4bKoa%d;rport\r\nMax-Forwards: 70\r\n"
			 "From: <sip:p@x>;tag=oa%d\r\nTo: <sip:100@x>\r\nCall-ID: oa-%d\r\n"
			 "CSeq: 1 INVITE\r\nContact: <sip:p@%s:5070>\r\n"
			 "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			 phone_ip, n, n, n, phone_ip, blen, body);
	harness_udp_send(phone, SN_IP, SN_PORT, msg, (size_t)k);
	ck_assert(harness_sip_recv(pbx, pbx_got, len, 2000, NULL) > 0);
	char vias[2048] = "", *p = pbx_got;
	for (int i = 0; i < 2; i++) {
		char *h = strstr(p, "\r\nVia: ");
		ck_assert_ptr_nonnull(h);
		h += 2;
		size_t hl = strcspn(h, "\r");
		strncat(vias, h, hl);
		strcat(vias, "\r\n");
		p = h + hl;
	}
	blen = snprintf(body, sizeof(body),
			"v=0\r\no=a 1 1 IN IP4 " PBX_IP "\r\ns=-\r\nc=IN IP4 " PBX_IP "\r\nt=0 0\r\n"
			"m=audio 20100 RTP/AVP 0\r\n");
	k = snprintf(msg, sizeof(msg),
		     "SIP/2.0 200 OK\r\n%sFrom: <sip:p@x>;tag=oa%d\r\nTo: <sip:100@x>;tag=t%d\r\n"
		     "Call-ID: oa-%d\r\nCSeq: 1 INVITE\r\nContact: <sip:100@" PBX_IP ":25080>\r\n"
		     "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		     vias, n, n, n, blen, body);
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)k);
	ck_assert(harness_sip_recv(phone, phone_got, len, 2000, NULL) > 0);
	close(phone);
	close(pbx);
}

/* directmedia = true: the peer's calls are not relayed, both SDPs pass. */
START_TEST(directmedia_peer_not_relayed)
{
	char pbx_got[8192], phone_got[8192];

	offer_answer("127.0.2.7", "127.0.2.7", 1, pbx_got, phone_got, sizeof(pbx_got));
	ck_assert_msg(strstr(pbx_got, "c=IN IP4 127.0.2.7\r\n") && strstr(pbx_got, "m=audio 4100 "),
		      "PBX got %s", pbx_got);
	ck_assert_msg(strstr(phone_got, "c=IN IP4 " PBX_IP "\r\n") && strstr(phone_got, "m=audio 20100 "),
		      "phone got %s", phone_got);
}
END_TEST

/* nat without comedia: the relay sends to the SDP address at once, without
 * waiting to learn where the peer's media comes from. */
START_TEST(nat_without_comedia_uses_sdp)
{
	char pbx_got[8192], phone_got[8192], v[64];
	int phone_rtp = harness_udp("127.0.2.8", 4100);
	int pbx_rtp = harness_udp(PBX_IP, 20100);

	offer_answer("127.0.2.8", "127.0.2.8", 2, pbx_got, phone_got, sizeof(pbx_got));
	ck_assert(sdp_value(phone_got, "m=audio ", v, sizeof(v)));
	unsigned port = (unsigned)atoi(v);
	ck_assert_uint_ge(port, 31000);
	for (int i = 0; i < 5; i++)
		rtp_send(pbx_rtp, SN_IP, port, (uint16_t)(700 + i), 0x3333);
	ck_assert_int_eq(rtp_count(phone_rtp, 300), 5);
	close(phone_rtp);
	close(pbx_rtp);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		audio_flows_both_ways, pool_of_four, media_timeout,
		directmedia_peer_not_relayed, nat_without_comedia_uses_sdp, NULL };
	return harness_main("media", "media", 60, start_daemon, stop_daemon, tests);
}
