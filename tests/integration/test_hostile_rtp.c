/*
 * Hostile RTP through the real daemon (issue: proof under load; R24-R26): four
 * calls with media flowing both ways while strangers spray every port of the
 * relay pool, RTP and RTCP, with random SSRCs and sequence numbers and with
 * the very SSRC and next sequence number of the calls' own streams. Spraying
 * starts before the first media packet, so it runs through the relay's
 * learning too. Checked: the strangers receive nothing (RTP Bleed), no
 * receiver gets one of their packets and every stream arrives whole but for
 * the few packets of the latch's probation (RTP Inject), and the relay counts
 * the drops.
 *
 *   LAN (localnet 127.0.11.0/24): sipnatd 127.0.11.10:25160, PBX 127.0.11.20:25180,
 *        PBX media 127.0.11.20:20000+
 *   Internet: a trunk peer at 127.0.12.5:5070 whose SDP names a private
 *        address, media from 127.0.12.5:4000+; strangers 127.0.13.1-3, and one
 *        on the trunk's own address (127.0.12.5:4999) once its streams are
 *        locked
 *   Relay pool 32000-32015: 8 pairs, 4 in use, 16 ports sprayed
 */
#include "faultnet.h"
#include "harness.h"
#include "rtp.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL_FIRST 32000
#define POOL_PORTS 16
#define CALLS 4
#define STRANGERS 3
#define TICKS 300          /* 10 ms each: 3 s of media */
#define TICK_MS 10
#define RTCP_EVERY 50      /* ticks */
#define SAME_IP_FROM 20    /* the same-address stranger starts then */
#define PROBATION_MARGIN 8 /* packets a stream may lose while the relay learns */

static struct daemon_proc daemon_p;

static const char conf_text[] =
	"general: {\n"
	"  bindaddr = \"" SN_IP "\"; bindport = 25160;\n"
	"  externip = \"203.0.113.7\";\n"
	"  localnet = [ \"127.0.11.0/24\" ];\n"
	"  pbx = \"" PBX_IP ":25180\";\n"
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"rtp: { rtpstart = 32000; rtpend = 32015; rtptimeout = 30; strictrtp = true; };\n"
	"peers: ( { name = \"trunk\"; host = \"" TRUNK_IP ":5070\"; } );\n"
	"logging: { level = \"info\"; };\n";

static void start_daemon(void)
{
	harness_start_conf(&daemon_p, "hostile.conf", conf_text, harness_tmpdir(), harness_tmpdir());
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

/* ---- signalling: the trunk calls the PBX, both with SDP ---- */

static unsigned sdp_port(const char *msg)
{
	const char *m = strstr(msg, "\r\nm=audio ");
	ck_assert_ptr_nonnull(m);
	return (unsigned)atoi(m + 10);
}

static int trunk_request(char *buf, size_t len, const char *method, int n, unsigned cseq, const char *to,
			 const char *body)
{
	return snprintf(buf, len,
			"%s sip:100@" SN_IP ":25160 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP " TRUNK_IP ":5070;branch=z9hG4bKhostile%d%s;rport\r\n"
			"Max-Forwards: 70\r\nFrom: <sip:trunk@" TRUNK_IP ">;tag=h%d\r\n"
			"To: %s\r\nCall-ID: hostile-%d\r\nCSeq: %u %s\r\n"
			"Contact: <sip:trunk@192.168.1.5:5070>\r\n%sContent-Length: %zu\r\n\r\n%s",
			method, n, method, n, to, n, cseq, method,
			*body ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
}

struct call {
	int n;
	unsigned relay_port;      /* the same port serves both legs */
	char to[256];             /* To with the PBX's tag */
	/* media endpoints */
	int phone_rtp, phone_rtcp, pbx_rtp, pbx_rtcp;
	uint16_t phone_seq, pbx_seq;
	uint32_t phone_ssrc, pbx_ssrc;
};

static void set_up_call(struct call *c, int trunk, int pbx)
{
	char body[512], msg[4096], got[8192], cid[64], pbx_body[512];

	snprintf(cid, sizeof(cid), "hostile-%d", c->n);
	snprintf(body, sizeof(body),
		 "v=0\r\no=trunk 1 1 IN IP4 192.168.1.5\r\ns=-\r\nc=IN IP4 192.168.1.5\r\n"
		 "t=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
		 4000 + 2 * c->n);
	int len = trunk_request(msg, sizeof(msg), "INVITE", c->n, 1, "<sip:100@" SN_IP ">", body);
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)len);
	ck_assert_msg(faultnet_wait_for(pbx, "INVITE ", cid, got, sizeof(got), 2000), "INVITE %s not forwarded", cid);
	unsigned pbx_side = sdp_port(got);
	snprintf(pbx_body, sizeof(pbx_body),
		 "v=0\r\no=asterisk 1 1 IN IP4 " PBX_IP "\r\ns=Asterisk\r\nc=IN IP4 " PBX_IP "\r\n"
		 "t=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
		 20000 + 2 * c->n);
	faultnet_reply(pbx, got, 200, "OK", "pbxh", pbx_body);
	ck_assert_msg(faultnet_wait_for(trunk, "SIP/2.0 200", cid, got, sizeof(got), 2000), "no 200 for %s", cid);
	c->relay_port = sdp_port(got);
	ck_assert_uint_eq(c->relay_port, pbx_side);
	ck_assert(c->relay_port >= POOL_FIRST && c->relay_port < POOL_FIRST + POOL_PORTS);
	ck_assert(harness_sip_header(got, "To", c->to, sizeof(c->to)));
	len = trunk_request(msg, sizeof(msg), "ACK", c->n, 1, c->to, "");
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)len);
	ck_assert(faultnet_wait_for(pbx, "ACK ", cid, got, sizeof(got), 2000));
}

static void hang_up(struct call *c, int trunk, int pbx)
{
	char msg[4096], got[8192], cid[64];

	snprintf(cid, sizeof(cid), "hostile-%d", c->n);
	int len = trunk_request(msg, sizeof(msg), "BYE", c->n, 2, c->to, "");
	harness_udp_send(trunk, SN_IP, SN_PORT, msg, (size_t)len);
	ck_assert(faultnet_wait_for(pbx, "BYE ", cid, got, sizeof(got), 2000));
	faultnet_reply(pbx, got, 200, "OK", NULL, NULL);
	ck_assert(faultnet_wait_for(trunk, "SIP/2.0 200", cid, got, sizeof(got), 2000));
}

/* ---- media ---- */

#define RTP_LEN 172
#define RTCP_LEN 28

/* RTP: version 2, PCMU, seq, SSRC; the payload says who sent it. */
static void rtp_packet(uint8_t *p, uint16_t seq, uint32_t ssrc, const char *who, int call)
{
	rtp_make(p, RTP_LEN, seq, ssrc);
	p[4] = (uint8_t)(seq >> 4); /* timestamp, roughly 160 per packet */
	memcpy(p + 12, who, 4);
	p[16] = (uint8_t)call;
}

/* RTCP sender report (RFC 3550 6.4.1) without report blocks. */
static void rtcp_packet(uint8_t *p, uint32_t ssrc, const char *who)
{
	memset(p, 0, RTCP_LEN);
	p[0] = 0x80;
	p[1] = 200;
	p[3] = RTCP_LEN / 4 - 1;
	p[4] = (uint8_t)(ssrc >> 24);
	p[5] = (uint8_t)(ssrc >> 16);
	p[6] = (uint8_t)(ssrc >> 8);
	p[7] = (uint8_t)ssrc;
	memcpy(p + 8, who, 4); /* in the NTP timestamp: harmless, and tells us the sender */
}

static void send_to(int fd, unsigned port, const uint8_t *p, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, SN_IP, &to.sin_addr);
	sendto(fd, p, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
}

/* What one receiving socket saw. */
struct rx {
	long legit;      /* packets of the stream it should get, in order */
	long foreign;    /* anything else: a stranger's packet or another stream's */
	long out_of_order;
	int last_seq;
};

/* Drain fd: RTP (rtcp false) of SSRC ssrc, or RTCP. */
static void drain(int fd, bool rtcp, uint32_t ssrc, struct rx *rx)
{
	uint8_t buf[2048];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		uint32_t got_ssrc;
		const uint8_t *who;
		if (rtcp) {
			if (n < RTCP_LEN) {
				rx->foreign++;
				continue;
			}
			got_ssrc = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
			who = buf + 8;
		} else {
			if (n < RTP_LEN) {
				rx->foreign++;
				continue;
			}
			got_ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
			who = buf + 12;
		}
		if (got_ssrc != ssrc || memcmp(who, "LEGT", 4) != 0) {
			rx->foreign++;
			continue;
		}
		if (!rtcp) {
			int seq = buf[2] << 8 | buf[3];
			if (rx->last_seq >= 0 && seq != (uint16_t)(rx->last_seq + 1) &&
			    (uint16_t)(seq - rx->last_seq) > 0x8000)
				rx->out_of_order++;
			rx->last_seq = seq;
		}
		rx->legit++;
	}
}

/* Anything a stranger receives is a leak. */
static long drain_any(int fd)
{
	char buf[2048];
	long n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

START_TEST(strangers_spray_the_pool)
{
	struct call calls[CALLS];
	struct rx at_pbx[CALLS], at_phone[CALLS], rtcp_at_pbx[CALLS], rtcp_at_phone[CALLS];
	int strangers[STRANGERS + 1];
	long bled = 0, sprayed = 0, sprayed_live = 0, rtp_sent = 0, rtcp_sent = 0;
	uint8_t pkt[RTP_LEN];
	char ip[32];
	int trunk = harness_udp(TRUNK_IP, TRUNK_PORT), pbx = harness_udp(PBX_IP, PBX_PORT);

	srand(7);
	for (int i = 0; i < CALLS; i++) {
		struct call *c = &calls[i];
		memset(c, 0, sizeof(*c));
		c->n = i;
		c->phone_rtp = harness_udp(TRUNK_IP, 4000 + 2 * i);
		c->phone_rtcp = harness_udp(TRUNK_IP, 4001 + 2 * i);
		c->pbx_rtp = harness_udp(PBX_IP, 20000 + 2 * i);
		c->pbx_rtcp = harness_udp(PBX_IP, 20001 + 2 * i);
		c->phone_seq = (uint16_t)(1000 * (i + 1));
		c->pbx_seq = (uint16_t)(50000 + 100 * i);
		c->phone_ssrc = 0x11110000u + (uint32_t)i;
		c->pbx_ssrc = 0x22220000u + (uint32_t)i;
		set_up_call(c, trunk, pbx);
		memset(&at_pbx[i], 0, sizeof(struct rx));
		memset(&at_phone[i], 0, sizeof(struct rx));
		memset(&rtcp_at_pbx[i], 0, sizeof(struct rx));
		memset(&rtcp_at_phone[i], 0, sizeof(struct rx));
		at_pbx[i].last_seq = at_phone[i].last_seq = -1;
	}
	for (int s = 0; s < STRANGERS; s++) {
		snprintf(ip, sizeof(ip), "127.0.13.%d", s + 1);
		strangers[s] = harness_udp(ip, 0);
	}
	/* behind the trunk's own address, as behind a shared NAT */
	strangers[STRANGERS] = harness_udp(TRUNK_IP, 4999);
	long drop0 = harness_stat("from_remote", "dropped") + harness_stat("from_local", "dropped");

	long t0 = harness_now_ms();
	for (int tick = 0; tick < TICKS; tick++) {
		/* the calls' own media, both ways; RTCP now and then */
		for (int i = 0; i < CALLS; i++) {
			struct call *c = &calls[i];
			rtp_packet(pkt, c->phone_seq++, c->phone_ssrc, "LEGT", i);
			send_to(c->phone_rtp, c->relay_port, pkt, RTP_LEN);
			rtp_packet(pkt, c->pbx_seq++, c->pbx_ssrc, "LEGT", i);
			send_to(c->pbx_rtp, c->relay_port, pkt, RTP_LEN);
			rtp_sent += 2;
			if (tick % RTCP_EVERY == 5) {
				rtcp_packet(pkt, c->phone_ssrc, "LEGT");
				send_to(c->phone_rtcp, c->relay_port + 1, pkt, RTCP_LEN);
				rtcp_packet(pkt, c->pbx_ssrc, "LEGT");
				send_to(c->pbx_rtcp, c->relay_port + 1, pkt, RTCP_LEN);
				rtcp_sent += 2;
			}
		}
		/* the strangers: every port of the pool, every tick; the one
		 * behind the trunk's address sends RTP only (its RTCP is the
		 * next test's) */
		for (int s = 0; s <= STRANGERS; s++) {
			if (s == STRANGERS && tick < SAME_IP_FROM)
				continue;
			for (int k = 0; k < POOL_PORTS; k++) {
				unsigned port = POOL_FIRST + (unsigned)k;
				if (s == STRANGERS && port % 2)
					continue;
				const struct call *victim = NULL;
				for (int i = 0; i < CALLS; i++)
					if (calls[i].relay_port == (port & ~1u))
						victim = &calls[i];
				/* half the time the victim's own stream, continued */
				bool mimic = victim && (tick + s) % 2 == 0;
				bool as_pbx = (tick / 2 + s) % 2 == 0;
				uint32_t ssrc = mimic ? (as_pbx ? victim->pbx_ssrc : victim->phone_ssrc) : (uint32_t)rand();
				uint16_t seq = mimic ? (as_pbx ? victim->pbx_seq : victim->phone_seq) : (uint16_t)rand();
				if (port % 2 == 0) {
					rtp_packet(pkt, seq, ssrc, "EVIL", 99);
					send_to(strangers[s], port, pkt, RTP_LEN);
				} else {
					rtcp_packet(pkt, ssrc, "EVIL");
					send_to(strangers[s], port, pkt, RTCP_LEN);
				}
				sprayed++;
				sprayed_live += victim != NULL;
			}
		}
		/* read everything that arrived */
		long due = t0 + (tick + 1) * TICK_MS;
		do {
			for (int i = 0; i < CALLS; i++) {
				drain(calls[i].pbx_rtp, false, calls[i].phone_ssrc, &at_pbx[i]);
				drain(calls[i].phone_rtp, false, calls[i].pbx_ssrc, &at_phone[i]);
				drain(calls[i].pbx_rtcp, true, calls[i].phone_ssrc, &rtcp_at_pbx[i]);
				drain(calls[i].phone_rtcp, true, calls[i].pbx_ssrc, &rtcp_at_phone[i]);
			}
			for (int s = 0; s <= STRANGERS; s++)
				bled += drain_any(strangers[s]);
			usleep(1000);
		} while (harness_now_ms() < due);
	}
	long media_ms = harness_now_ms() - t0;
	usleep(200 * 1000);
	for (int i = 0; i < CALLS; i++) {
		drain(calls[i].pbx_rtp, false, calls[i].phone_ssrc, &at_pbx[i]);
		drain(calls[i].phone_rtp, false, calls[i].pbx_ssrc, &at_phone[i]);
		drain(calls[i].pbx_rtcp, true, calls[i].phone_ssrc, &rtcp_at_pbx[i]);
		drain(calls[i].phone_rtcp, true, calls[i].pbx_ssrc, &rtcp_at_phone[i]);
	}
	for (int s = 0; s <= STRANGERS; s++)
		bled += drain_any(strangers[s]);
	long drop1 = harness_stat("from_remote", "dropped") + harness_stat("from_local", "dropped");

	long foreign = 0, worst_loss = 0, legit = 0, disorder = 0, rtcp_legit = 0;
	for (int i = 0; i < CALLS; i++) {
		foreign += at_pbx[i].foreign + at_phone[i].foreign + rtcp_at_pbx[i].foreign + rtcp_at_phone[i].foreign;
		legit += at_pbx[i].legit + at_phone[i].legit;
		rtcp_legit += rtcp_at_pbx[i].legit + rtcp_at_phone[i].legit;
		disorder += at_pbx[i].out_of_order + at_phone[i].out_of_order;
		long loss_pbx = TICKS - at_pbx[i].legit, loss_phone = TICKS - at_phone[i].legit;
		if (loss_pbx > worst_loss)
			worst_loss = loss_pbx;
		if (loss_phone > worst_loss)
			worst_loss = loss_phone;
	}
	harness_report("hostile rtp", "%d calls, %ld ms of media: %ld RTP packets sent by the calls, %ld received (worst stream lost "
	       "%ld of %d: the latch's probation), %ld out of order; RTCP %ld of %ld",
	       CALLS, media_ms, rtp_sent, legit, worst_loss, TICKS, disorder, rtcp_legit, rtcp_sent);
	harness_report("hostile rtp", "strangers: %ld packets sprayed over all %d pool ports from %d addresses (%ld at ports in use, "
	       "half continuing the calls' own SSRC and sequence); they received %ld; receivers got %ld "
	       "of theirs; the relay's drop counters grew by %ld",
	       sprayed, POOL_PORTS, STRANGERS + 1, sprayed_live, bled, foreign, drop1 - drop0);
	ck_assert_msg(bled == 0, "RTP Bleed: the strangers received %ld packets", bled);
	ck_assert_msg(foreign == 0, "RTP Inject: receivers got %ld packets not of their stream", foreign);
	ck_assert_msg(worst_loss <= PROBATION_MARGIN, "a stream lost %ld packets", worst_loss);
	ck_assert_int_eq(disorder, 0);
	ck_assert_msg(rtcp_legit >= rtcp_sent - 2 * CALLS, "RTCP: %ld of %ld arrived", rtcp_legit, rtcp_sent);
	/* every stranger's packet that reached a socket in use was dropped and counted */
	ck_assert_msg(drop1 - drop0 >= sprayed_live * 9 / 10, "drops counted: %ld, sprayed at live ports: %ld",
		      drop1 - drop0, sprayed_live);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died");

	for (int i = 0; i < CALLS; i++) {
		hang_up(&calls[i], trunk, pbx);
		close(calls[i].phone_rtp);
		close(calls[i].phone_rtcp);
		close(calls[i].pbx_rtp);
		close(calls[i].pbx_rtcp);
	}
	ck_assert(harness_wait_log(&daemon_p, "call hostile-3 ended (BYE)", 2000));
	ck_assert_int_eq(harness_stat("pool", "in_use"), 0);
	for (int s = 0; s <= STRANGERS; s++)
		close(strangers[s]);
	close(trunk);
	close(pbx);
}
END_TEST

/* R25/R26 for RTCP: once the party's RTCP has been seen, another port of the
 * party's own address (another device behind the same NAT, a neighbour
 * behind the same carrier-grade NAT) neither gets its RTCP into the call nor
 * draws the PBX's RTCP to itself while the party's own RTCP port is alive. */
START_TEST(rtcp_from_the_partys_address)
{
	struct call c;
	struct rx at_pbx = { .last_seq = -1 }, at_phone = { .last_seq = -1 }, rtcp_at_pbx = { 0 },
		  rtcp_at_phone = { 0 };
	uint8_t pkt[RTP_LEN];
	int trunk = harness_udp(TRUNK_IP, TRUNK_PORT), pbx = harness_udp(PBX_IP, PBX_PORT);
	long pbx_rtcp_sent = 0, stranger_sent = 0, bled = 0;

	memset(&c, 0, sizeof(c));
	c.n = 5;
	c.phone_rtp = harness_udp(TRUNK_IP, 4010);
	c.phone_rtcp = harness_udp(TRUNK_IP, 4011);
	c.pbx_rtp = harness_udp(PBX_IP, 20010);
	c.pbx_rtcp = harness_udp(PBX_IP, 20011);
	c.phone_ssrc = 0x33330000u;
	c.pbx_ssrc = 0x44440000u;
	c.phone_seq = 100;
	c.pbx_seq = 200;
	set_up_call(&c, trunk, pbx);
	int stranger = harness_udp(TRUNK_IP, 4999);

	long t0 = harness_now_ms();
	for (int tick = 0; tick < 150; tick++) {
		rtp_packet(pkt, c.phone_seq++, c.phone_ssrc, "LEGT", c.n);
		send_to(c.phone_rtp, c.relay_port, pkt, RTP_LEN);
		rtp_packet(pkt, c.pbx_seq++, c.pbx_ssrc, "LEGT", c.n);
		send_to(c.pbx_rtp, c.relay_port, pkt, RTP_LEN);
		/* the phone's RTCP, then the stranger's, then the PBX's */
		if (tick % 10 == 5) {
			rtcp_packet(pkt, c.phone_ssrc, "LEGT");
			send_to(c.phone_rtcp, c.relay_port + 1, pkt, RTCP_LEN);
		}
		if (tick >= 10 && tick % 10 == 6) {
			rtcp_packet(pkt, c.phone_ssrc, "EVIL");
			send_to(stranger, c.relay_port + 1, pkt, RTCP_LEN);
			stranger_sent++;
		}
		if (tick % 10 == 7) {
			rtcp_packet(pkt, c.pbx_ssrc, "LEGT");
			send_to(c.pbx_rtcp, c.relay_port + 1, pkt, RTCP_LEN);
			pbx_rtcp_sent++;
		}
		long due = t0 + (tick + 1) * TICK_MS;
		do {
			drain(c.pbx_rtp, false, c.phone_ssrc, &at_pbx);
			drain(c.phone_rtp, false, c.pbx_ssrc, &at_phone);
			drain(c.pbx_rtcp, true, c.phone_ssrc, &rtcp_at_pbx);
			drain(c.phone_rtcp, true, c.pbx_ssrc, &rtcp_at_phone);
			bled += drain_any(stranger);
			usleep(1000);
		} while (harness_now_ms() < due);
	}
	usleep(100 * 1000);
	drain(c.pbx_rtcp, true, c.phone_ssrc, &rtcp_at_pbx);
	drain(c.phone_rtcp, true, c.pbx_ssrc, &rtcp_at_phone);
	bled += drain_any(stranger);
	harness_report("hostile rtp", "RTCP from another port of the trunk's own address: %ld sent, %ld reached the PBX; it drew %ld "
	       "of the PBX's RTCP; the trunk's RTCP port got %ld of %ld",
	       stranger_sent, rtcp_at_pbx.foreign, bled, rtcp_at_phone.legit, pbx_rtcp_sent);
	ck_assert_msg(rtcp_at_pbx.foreign == 0, "RTCP Inject: %ld of the stranger's RTCP reached the PBX",
		      rtcp_at_pbx.foreign);
	ck_assert_msg(bled == 0, "RTCP Bleed: the stranger got %ld of the PBX's RTCP packets", bled);
	ck_assert_int_ge(rtcp_at_phone.legit, pbx_rtcp_sent - 1);
	hang_up(&c, trunk, pbx);
	close(c.phone_rtp);
	close(c.phone_rtcp);
	close(c.pbx_rtp);
	close(c.pbx_rtcp);
	close(stranger);
	close(trunk);
	close(pbx);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { strangers_spray_the_pool, rtcp_from_the_partys_address, NULL };
	return harness_main("hostile_rtp", "hostile_rtp", 60, start_daemon, stop_daemon, tests);
}
