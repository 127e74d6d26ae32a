/*
 * Unit tests for media.c: relay sessions as signalling sees them. Messages
 * are parsed from text (libosip2, as on the SIP path), the relay binds real
 * sockets on 127.0.0.1 (ports 24100-24115: eight pairs), the PBX sends from
 * 127.0.0.2 and the Internet phone from 127.0.0.3. Covered: one session per
 * Call-ID, a stream per m= line (kept across re-offers), the rewritten SDP,
 * media through the relay after the answer, the pool running dry without a
 * leak, every way a session ends giving its pairs back, per-peer limits,
 * directmedia, nat without comedia, hold, the media timeout and the totals.
 * Families (issue 20), as a table over an IPv4 and an IPv6 phone, each in a
 * network namespace of its own (tests/support/unit_netns.h): the phone's
 * offer from the Internet toward the IPv4 PBX and the answer back (c=, o=,
 * a=rtcp in the receiver's family, ports from the pool), media both ways,
 * hold both ways (0.0.0.0 <-> ::), a re-offer keeping its ports, and every
 * pair back at the end; IPv6 media refused by an IPv4-only relay.
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "latch.h"
#include "media.h"
#include "sipmsg.h"

#include "../support/unit_main.h"
#include "../support/unit_netns.h"
#include "../support/unit_udp.h"

#define RANGE_START 24100
#define RANGE_END 24115   /* eight pairs */
#define PAIRS 8
#define ADVERTISED_OUT "203.0.113.7"  /* toward the Internet */
#define ADVERTISED_IN "127.0.0.1"     /* toward the LAN */
#define PBX_IP "127.0.0.2"
#define PHONE_IP "127.0.0.3"
#define WAIT_MS 2000

static const char conf_text[] =
	"general: { bindaddr = \"127.0.0.1\"; bindport = 25999; externip = \"203.0.113.7\";\n"
	"  localnet = [ \"127.0.0.2/32\" ]; pbx = \"127.0.0.2:5060\"; };\n"
	"rtp: { rtpstart = 24100; rtpend = 24115; rtptimeout = 1; rtpholdtimeout = 1; };\n"
	"peers: (\n"
	"  { name = \"limited\"; secret = \"s3cret-s3cret\"; calllimit = 1; },\n"
	"  { name = \"fewpairs\"; secret = \"s3cret-s3cret\"; maxrelays = 2; },\n"
	"  { name = \"direct\"; secret = \"s3cret-s3cret\"; directmedia = true; },\n"
	"  { name = \"nonat\"; secret = \"s3cret-s3cret\"; nat = \"no\"; }\n"
	");\n";

static struct event_base *base;
static struct conf *conf;
static struct media *media;
static struct netaddr pbx_sig, phone_sig;
static struct netaddr adv_out, adv_in;

static void setup(void)
{
	char err[CONF_ERR_MAX];

	sipmsg_global_init();
	conf = conf_load_string(conf_text, "media.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	media = media_new(base, conf);
	ck_assert_ptr_nonnull(media);
	ck_assert(netaddr_parse(PBX_IP ":5060", &pbx_sig));
	ck_assert(netaddr_parse(PHONE_IP ":5060", &phone_sig));
	ck_assert(netaddr_parse_ip(ADVERTISED_OUT, &adv_out));
	ck_assert(netaddr_parse_ip(ADVERTISED_IN, &adv_in));
}

static void teardown(void)
{
	media_free(media);
	event_base_free(base);
	conf_free(conf);
}

/* ---- messages ---- */

/* An SDP naming ip with one m= line per port (a port 0 is a refused line). */
static void sdp_text(char *buf, size_t len, const char *ip, const unsigned *ports, size_t n)
{
	int o = snprintf(buf, len, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", ip, ip);

	for (size_t i = 0; i < n; i++)
		o += snprintf(buf + o, len - (size_t)o, "m=%s %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
			      i == 1 ? "video" : "audio", ports[i]);
}

static osip_message_t *parse(const char *text)
{
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st = sipmsg_parse(text, strlen(text), &msg, &why);

	ck_assert_msg(st == SIPMSG_OK, "%s (%s):\n%s", sipmsg_status_name(st), why, text);
	return msg;
}

/* A request from ip (the PBX or the phone) with sdp (NULL: no body). */
static osip_message_t *request(const char *method, const char *call_id, unsigned cseq, const char *ip,
			       const char *sdp)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "%s sip:bob@example.net SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%s-%u\r\n"
		 "From: <sip:alice@example.net>;tag=a1\r\n"
		 "To: <sip:bob@example.net>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Contact: <sip:x@%s:5060>\r\n"
		 "Max-Forwards: 70\r\n"
		 "%s"
		 "Content-Length: %zu\r\n\r\n%s",
		 method, ip, call_id, cseq, call_id, cseq, method, ip,
		 sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0, sdp ? sdp : "");
	return parse(text);
}

static osip_message_t *response(int code, const char *method, const char *call_id, unsigned cseq,
				const char *ip, const char *sdp)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "SIP/2.0 %d Whatever\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-%s-%u\r\n"
		 "From: <sip:alice@example.net>;tag=a1\r\n"
		 "To: <sip:bob@example.net>;tag=b1\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Contact: <sip:x@%s:5060>\r\n"
		 "%s"
		 "Content-Length: %zu\r\n\r\n%s",
		 code, call_id, cseq, call_id, cseq, method, ip,
		 sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0, sdp ? sdp : "");
	return parse(text);
}

static const char *body_of(const osip_message_t *msg)
{
	osip_body_t *b = osip_list_get(&msg->bodies, 0);

	ck_assert_ptr_nonnull(b);
	return b->body;
}

/* The ports of the m= lines of msg's SDP; how many. */
static size_t m_ports(const osip_message_t *msg, unsigned *ports, size_t max)
{
	const char *p = body_of(msg);
	size_t n = 0;

	while ((p = strstr(p, "m=")) != NULL && n < max) {
		const char *sp = strchr(p, ' ');
		ck_assert_ptr_nonnull(sp);
		ports[n++] = (unsigned)strtoul(sp + 1, NULL, 10);
		p = sp;
	}
	return n;
}

static bool has_line(const osip_message_t *msg, const char *line)
{
	return strstr(body_of(msg), line) != NULL;
}

/* The PBX offers (from the LAN, toward the Internet) one m= line per port. */
static osip_message_t *pbx_offer(const char *call_id, unsigned cseq, const unsigned *ports, size_t n,
				 const struct conf_peer *peer, enum media_result expect)
{
	char sdp[2048];

	sdp_text(sdp, sizeof(sdp), PBX_IP, ports, n);
	osip_message_t *msg = request("INVITE", call_id, cseq, PBX_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, msg, true, &pbx_sig, &adv_out, peer), expect);
	return msg;
}

/* ...and the phone answers 200 with its own ports. */
static osip_message_t *phone_answer(const char *call_id, unsigned cseq, const unsigned *ports, size_t n,
				    const struct conf_peer *peer)
{
	char sdp[2048];

	sdp_text(sdp, sizeof(sdp), PHONE_IP, ports, n);
	osip_message_t *msg = response(200, "INVITE", call_id, cseq, PHONE_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, msg, false, &phone_sig, &adv_in, peer), MEDIA_DONE);
	media_note(media, msg);
	return msg;
}

static void note(osip_message_t *msg)
{
	media_note(media, msg);
	osip_message_free(msg);
}

static struct media_totals totals(void)
{
	struct media_totals t;

	media_totals(media, &t);
	return t;
}

/* ---- RTP ---- */

static void send_rtp(int fd, unsigned relay_port, uint16_t seq)
{
	uint8_t p[172] = { 0x80 };
	struct sockaddr_in to = uu_addr(ADVERTISED_IN, (uint16_t)relay_port);

	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[11] = 7;
	uu_send(fd, p, sizeof(p), &to);
}

static int expect_seq(int fd)
{
	uint8_t buf[2048];
	ssize_t n = uu_recv(base, fd, buf, sizeof(buf), NULL, WAIT_MS);

	return n >= 12 ? (buf[2] << 8 | buf[3]) : -1;
}

/* ---- tests ---- */

struct info_seen {
	size_t calls, streams;
	bool confirmed;
};

static void count_cb(void *arg, const struct media_call_info *info)
{
	struct info_seen *seen = arg;

	seen->calls++;
	seen->streams += info->streams;
	seen->confirmed = info->confirmed;
	for (size_t i = 0; i < info->streams; i++)
		ck_assert_int_ge(info->stats[i].port, RANGE_START);
}

static void copy_id_cb(void *arg, const struct media_call_info *info)
{
	snprintf(arg, 512, "%s", info->call_id);
}

START_TEST(offer_and_answer_show_the_relay)
{
	unsigned pbx_port = 4000, phone_port = 5000, out[4], in[4];
	osip_message_t *offer = pbx_offer("call-1", 1, &pbx_port, 1, NULL, MEDIA_DONE);

	ck_assert_uint_eq(m_ports(offer, out, 4), 1);
	ck_assert_int_ge(out[0], RANGE_START);
	ck_assert_int_le(out[0], RANGE_END - 1);
	ck_assert_int_eq(out[0] % 2, 0);
	ck_assert(has_line(offer, "c=IN IP4 " ADVERTISED_OUT));
	ck_assert(!has_line(offer, PBX_IP));
	ck_assert_uint_eq(media_sessions(media), 1);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 1);
	ck_assert_uint_eq(media_ports_capacity(media), PAIRS);

	/* the answer toward the PBX names the same pair: one pair, both legs */
	osip_message_t *answer = phone_answer("call-1", 1, &phone_port, 1, NULL);
	ck_assert_uint_eq(m_ports(answer, in, 4), 1);
	ck_assert_uint_eq(in[0], out[0]);
	ck_assert(has_line(answer, "c=IN IP4 " ADVERTISED_IN));
	ck_assert(!has_line(answer, PHONE_IP));
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 1);
	ck_assert_uint_eq(totals().calls_set_up, 1);
	osip_message_free(offer);
	osip_message_free(answer);
}
END_TEST

START_TEST(media_flows_through_the_session)
{
	struct sockaddr_in pbx_addr, phone_addr;
	int pbx = uu_bind(PBX_IP, 0, &pbx_addr);
	int phone = uu_bind(PHONE_IP, 0, &phone_addr);
	unsigned pbx_port = ntohs(pbx_addr.sin_port), phone_port = ntohs(phone_addr.sin_port), relay[1];
	osip_message_t *offer = pbx_offer("call-rtp", 1, &pbx_port, 1, NULL, MEDIA_DONE);

	m_ports(offer, relay, 1);
	osip_message_free(phone_answer("call-rtp", 1, &phone_port, 1, NULL));
	/* the phone (behind NAT as far as anyone knows) is latched first */
	for (uint16_t seq = 1; seq <= LATCH_PROBATION; seq++)
		send_rtp(phone, relay[0], seq);
	ck_assert_int_eq(expect_seq(pbx), LATCH_PROBATION);
	for (uint16_t seq = 100; seq < 103; seq++)
		send_rtp(pbx, relay[0], seq);
	for (int seq = 100; seq < 103; seq++)
		ck_assert_int_eq(expect_seq(phone), seq);

	/* what the control socket shows */
	struct media_totals t = totals();
	ck_assert_uint_eq(t.remote_packets, 1);
	ck_assert_uint_eq(t.remote_dropped, LATCH_PROBATION - 1);
	ck_assert_uint_eq(t.local_packets, 3);
	ck_assert_uint_eq(t.local_bytes, 3 * 172);

	/* BYE ends it; the totals keep what it carried and the pair goes back */
	note(request("BYE", "call-rtp", 2, PHONE_IP, NULL));
	ck_assert_uint_eq(media_sessions(media), 0);
	ck_assert_uint_eq(media_ports_free(media), PAIRS);
	t = totals();
	ck_assert_uint_eq(t.local_packets, 3);
	ck_assert_uint_eq(t.remote_packets, 1);
	ck_assert_uint_eq(t.calls_ended, 1);
	ck_assert_uint_eq(t.calls_failed, 0);
	/* and the relay port is closed: nothing comes back */
	send_rtp(pbx, relay[0], 200);
	ck_assert_int_eq(expect_seq(phone), -1);
	osip_message_free(offer);
	close(pbx);
	close(phone);
}
END_TEST

START_TEST(one_session_per_call_id)
{
	unsigned port = 4000, a[1], b[1], again[1];
	osip_message_t *m1 = pbx_offer("call-a", 1, &port, 1, NULL, MEDIA_DONE);
	osip_message_t *m2 = pbx_offer("call-b", 1, &port, 1, NULL, MEDIA_DONE);

	m_ports(m1, a, 1);
	m_ports(m2, b, 1);
	ck_assert_uint_ne(a[0], b[0]);
	ck_assert_uint_eq(media_sessions(media), 2);
	/* a re-offer of call-a (a re-INVITE, another PBX port) keeps its pair (R18) */
	unsigned moved = 4100;
	osip_message_t *m3 = pbx_offer("call-a", 2, &moved, 1, NULL, MEDIA_DONE);
	m_ports(m3, again, 1);
	ck_assert_uint_eq(again[0], a[0]);
	ck_assert_uint_eq(media_sessions(media), 2);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 2);
	osip_message_free(m1);
	osip_message_free(m2);
	osip_message_free(m3);
}
END_TEST

/* Call-IDs have no length limit (RFC 3261 25.1): two calls whose Call-IDs
 * share a long beginning are two sessions, and one's BYE leaves the other. */
START_TEST(long_call_ids_stay_apart)
{
	char id1[400], id2[400];
	unsigned port = 4000, a[1], b[1];

	memset(id1, 'k', 300);
	id1[300] = '\0';
	strcpy(id2, id1);
	id1[290] = '1';
	id2[290] = '2';
	osip_message_t *m1 = pbx_offer(id1, 1, &port, 1, NULL, MEDIA_DONE);
	osip_message_t *m2 = pbx_offer(id2, 1, &port, 1, NULL, MEDIA_DONE);
	m_ports(m1, a, 1);
	m_ports(m2, b, 1);
	ck_assert_uint_eq(media_sessions(media), 2);
	ck_assert_uint_ne(a[0], b[0]);
	note(request("BYE", id2, 2, PBX_IP, NULL));
	ck_assert_uint_eq(media_sessions(media), 1);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 1);
	/* ...and the one left is id1's, with its whole Call-ID */
	struct { char id[512]; } seen = { "" };
	media_foreach(media, copy_id_cb, &seen);
	ck_assert_str_eq(seen.id, id1);
	note(request("BYE", id1, 2, PBX_IP, NULL));
	ck_assert_uint_eq(media_sessions(media), 0);
	osip_message_free(m1);
	osip_message_free(m2);
}
END_TEST

START_TEST(a_stream_per_m_line)
{
	/* audio, video, and a refused line (port 0) */
	unsigned ports[3] = { 4000, 4002, 0 }, out[4];
	osip_message_t *m = pbx_offer("call-m", 1, ports, 3, NULL, MEDIA_DONE);

	ck_assert_uint_eq(m_ports(m, out, 4), 3);
	ck_assert_uint_ne(out[0], 0);
	ck_assert_uint_ne(out[1], 0);
	ck_assert_uint_ne(out[0], out[1]);
	ck_assert_uint_eq(out[2], 0);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 2);

	struct info_seen seen = { 0 };
	media_foreach(media, count_cb, &seen);
	ck_assert_uint_eq(seen.calls, 1);
	ck_assert_uint_eq(seen.streams, 2);
	ck_assert(!seen.confirmed);
	osip_message_free(m);
}
END_TEST

START_TEST(pool_exhaustion_leaks_nothing)
{
	unsigned three[3] = { 4000, 4002, 4004 };
	osip_message_t *m1 = pbx_offer("call-x1", 1, three, 3, NULL, MEDIA_DONE);
	osip_message_t *m2 = pbx_offer("call-x2", 1, three, 3, NULL, MEDIA_DONE);

	ck_assert_uint_eq(media_ports_free(media), PAIRS - 6);
	/* three more do not fit in the two left: refused, and the two it took come back */
	osip_message_t *m3 = pbx_offer("call-x3", 1, three, 3, NULL, MEDIA_NO_PORTS);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 6);
	ck_assert_uint_eq(media_sessions(media), 2);
	ck_assert_uint_eq(totals().calls_failed, 1);
	/* the body was not rewritten into something half-relayed */
	ck_assert(has_line(m3, "c=IN IP4 " PBX_IP));
	/* a re-offer of call-x1 adding a line gets nothing either, and keeps its three */
	unsigned four[4] = { 4000, 4002, 4004, 4006 };
	char sdp[2048];
	sdp_text(sdp, sizeof(sdp), PBX_IP, four, 4);
	osip_message_t *m4 = request("INVITE", "call-x1", 2, PBX_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, m4, true, &pbx_sig, &adv_out, NULL), MEDIA_DONE);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 7);
	osip_message_t *m5 = pbx_offer("call-x2", 2, four, 4, NULL, MEDIA_DONE);
	ck_assert_uint_eq(media_ports_free(media), 0);
	osip_message_t *m6 = pbx_offer("call-x3", 1, three, 1, NULL, MEDIA_NO_PORTS);
	/* the end of both calls gives every pair back */
	note(request("BYE", "call-x1", 3, PBX_IP, NULL));
	note(request("BYE", "call-x2", 3, PBX_IP, NULL));
	ck_assert_uint_eq(media_sessions(media), 0);
	ck_assert_uint_eq(media_ports_free(media), PAIRS);
	ck_assert_uint_eq(totals().calls_failed, 2 + 2);  /* x3 twice, x1 and x2 never confirmed */
	osip_message_free(m1);
	osip_message_free(m2);
	osip_message_free(m3);
	osip_message_free(m4);
	osip_message_free(m5);
	osip_message_free(m6);
}
END_TEST

/* What ends a session (and gives its pairs back), and what does not. */
START_TEST(session_end_frees_pairs)
{
	static const struct {
		const char *name;
		bool answered;       /* a 200 passed first */
		bool request;
		const char *method;
		int code;            /* of a response */
		unsigned cseq;
		bool ends;
		bool counts_failed;
	} cases[] = {
		{ "BYE after the answer", true, true, "BYE", 0, 2, true, false },
		{ "BYE before the answer", false, true, "BYE", 0, 2, true, true },
		{ "CANCEL before the answer", false, true, "CANCEL", 0, 1, true, true },
		{ "CANCEL after the answer", true, true, "CANCEL", 0, 1, false, false },
		{ "486 to the INVITE", false, false, "INVITE", 486, 1, true, true },
		{ "603 to the INVITE", false, false, "INVITE", 603, 1, true, true },
		{ "404 to another INVITE (R21)", false, false, "INVITE", 404, 7, false, false },
		{ "487 after the answer", true, false, "INVITE", 487, 1, false, false },
		{ "183 to the INVITE", false, false, "INVITE", 183, 1, false, false },
		{ "481 to a BYE", true, false, "BYE", 481, 2, false, false },
		{ "an OPTIONS", true, true, "OPTIONS", 0, 3, false, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char call_id[32];
		unsigned ports[2] = { 4000, 4002 }, phone[2] = { 6000, 6002 };
		struct media_totals before = totals();

		snprintf(call_id, sizeof(call_id), "end-%zu", i);
		osip_message_free(pbx_offer(call_id, 1, ports, 2, NULL, MEDIA_DONE));
		if (cases[i].answered)
			osip_message_free(phone_answer(call_id, 1, phone, 2, NULL));
		ck_assert_uint_eq(media_ports_free(media), PAIRS - 2);
		if (cases[i].request)
			note(request(cases[i].method, call_id, cases[i].cseq, PHONE_IP, NULL));
		else
			note(response(cases[i].code, cases[i].method, call_id, cases[i].cseq, PHONE_IP, NULL));
		ck_assert_msg(media_sessions(media) == (cases[i].ends ? 0u : 1u), "%s", cases[i].name);
		ck_assert_msg(media_ports_free(media) == (cases[i].ends ? PAIRS : PAIRS - 2), "%s",
			      cases[i].name);
		struct media_totals after = totals();
		ck_assert_msg(after.calls_failed == before.calls_failed + (cases[i].counts_failed ? 1 : 0),
			      "%s: calls failed", cases[i].name);
		/* whatever stayed, a BYE ends it */
		note(request("BYE", call_id, 9, PBX_IP, NULL));
		ck_assert_uint_eq(media_sessions(media), 0);
		ck_assert_uint_eq(media_ports_free(media), PAIRS);
	}
}
END_TEST

START_TEST(late_offer_takes_pairs_with_the_answer)
{
	unsigned phone = 6000, out[1];
	osip_message_t *inv = request("INVITE", "late", 1, PBX_IP, NULL);

	/* no SDP: the session exists, no pair yet */
	ck_assert_int_eq(media_rewrite(media, inv, true, &pbx_sig, &adv_out, NULL), MEDIA_DONE);
	ck_assert_uint_eq(media_sessions(media), 1);
	ck_assert_uint_eq(media_ports_free(media), PAIRS);
	/* the offer comes in the 200 */
	char sdp[512];
	sdp_text(sdp, sizeof(sdp), PHONE_IP, &phone, 1);
	osip_message_t *ok = response(200, "INVITE", "late", 1, PHONE_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, ok, false, &phone_sig, &adv_in, NULL), MEDIA_DONE);
	ck_assert_uint_eq(m_ports(ok, out, 1), 1);
	ck_assert_int_ge(out[0], RANGE_START);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 1);
	osip_message_free(inv);
	osip_message_free(ok);
}
END_TEST

START_TEST(sdp_that_cannot_be_relayed)
{
	unsigned port = 6000;
	char sdp[512];

	sdp_text(sdp, sizeof(sdp), PHONE_IP, &port, 1);
	/* SDP in a response of a call sipnatd does not carry */
	osip_message_t *stray = response(200, "INVITE", "unknown", 1, PHONE_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, stray, false, &phone_sig, &adv_in, NULL), MEDIA_BAD_SDP);
	/* an SDP that does not parse */
	osip_message_t *bad = request("INVITE", "bad", 1, PBX_IP, "this is not SDP\r\n");
	ck_assert_int_eq(media_rewrite(media, bad, true, &pbx_sig, &adv_out, NULL), MEDIA_BAD_SDP);
	/* an SDP inside a multipart body (R47) */
	char text[2048];
	char body[1024];
	snprintf(body, sizeof(body), "--bb\r\nContent-Type: application/sdp\r\n\r\n%s\r\n--bb--\r\n", sdp);
	snprintf(text, sizeof(text),
		 "INVITE sip:bob@example.net SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-mp\r\n"
		 "From: <sip:alice@example.net>;tag=a1\r\nTo: <sip:bob@example.net>\r\n"
		 "Call-ID: multi\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
		 "Content-Type: multipart/mixed;boundary=bb\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	osip_message_t *multi = parse(text);
	ck_assert_int_eq(media_rewrite(media, multi, true, &pbx_sig, &adv_out, NULL), MEDIA_BAD_SDP);
	/* none of them made a session or took a pair; the two INVITEs are failed calls */
	ck_assert_uint_eq(media_sessions(media), 0);
	ck_assert_uint_eq(media_ports_free(media), PAIRS);
	ck_assert_uint_eq(totals().calls_failed, 2);
	media_count_refused(media);
	ck_assert_uint_eq(totals().calls_failed, 3);
	osip_message_free(stray);
	osip_message_free(bad);
	osip_message_free(multi);
}
END_TEST

START_TEST(peer_limits)
{
	const struct conf_peer *limited = conf_peer_find(conf, "limited");
	const struct conf_peer *few = conf_peer_find(conf, "fewpairs");
	unsigned one = 4000, three[3] = { 4000, 4002, 4004 }, two[2] = { 4000, 4002 };

	ck_assert_ptr_nonnull(limited);
	ck_assert_ptr_nonnull(few);
	/* calllimit 1: the second call is refused (486) and takes nothing */
	osip_message_t *a = pbx_offer("lim-1", 1, &one, 1, limited, MEDIA_DONE);
	osip_message_t *b = pbx_offer("lim-2", 1, &one, 1, limited, MEDIA_CALL_LIMIT);
	ck_assert_uint_eq(media_sessions(media), 1);
	/* ...an INVITE without SDP as well */
	osip_message_t *c = request("INVITE", "lim-3", 1, PBX_IP, NULL);
	ck_assert_int_eq(media_rewrite(media, c, true, &pbx_sig, &adv_out, limited), MEDIA_CALL_LIMIT);
	/* maxrelays 2: three lines are too many, two fit, one more does not */
	osip_message_t *d = pbx_offer("few-1", 1, three, 3, few, MEDIA_RELAY_LIMIT);
	osip_message_t *e = pbx_offer("few-2", 1, two, 2, few, MEDIA_DONE);
	osip_message_t *f = pbx_offer("few-3", 1, &one, 1, few, MEDIA_RELAY_LIMIT);
	ck_assert_uint_eq(media_sessions(media), 2);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 3);
	ck_assert_uint_eq(totals().calls_failed, 4);
	/* once the limited call ends, the peer may call again */
	note(request("BYE", "lim-1", 2, PBX_IP, NULL));
	osip_message_t *g = pbx_offer("lim-4", 1, &one, 1, limited, MEDIA_DONE);
	osip_message_free(a);
	osip_message_free(b);
	osip_message_free(c);
	osip_message_free(d);
	osip_message_free(e);
	osip_message_free(f);
	osip_message_free(g);
}
END_TEST

START_TEST(directmedia_is_left_alone)
{
	const struct conf_peer *direct = conf_peer_find(conf, "direct");
	unsigned port = 4000, out[1];
	osip_message_t *m = pbx_offer("direct-1", 1, &port, 1, direct, MEDIA_DONE);

	ck_assert(has_line(m, "c=IN IP4 " PBX_IP));
	m_ports(m, out, 1);
	ck_assert_uint_eq(out[0], 4000);
	ck_assert_uint_eq(media_ports_free(media), PAIRS);
	/* signalling only, but still a session the BYE ends */
	ck_assert_uint_eq(media_sessions(media), 1);
	note(request("BYE", "direct-1", 2, PBX_IP, NULL));
	ck_assert_uint_eq(media_sessions(media), 0);
	osip_message_free(m);
}
END_TEST

START_TEST(nat_no_sends_where_the_sdp_says)
{
	const struct conf_peer *nonat = conf_peer_find(conf, "nonat");
	struct sockaddr_in pbx_addr, phone_addr;
	int pbx = uu_bind(PBX_IP, 0, &pbx_addr);
	int phone = uu_bind(PHONE_IP, 0, &phone_addr);
	unsigned pbx_port = ntohs(pbx_addr.sin_port), phone_port = ntohs(phone_addr.sin_port), relay[1];
	osip_message_t *offer = pbx_offer("nonat-1", 1, &pbx_port, 1, nonat, MEDIA_DONE);

	m_ports(offer, relay, 1);
	osip_message_free(phone_answer("nonat-1", 1, &phone_port, 1, nonat));
	/* no learning: the PBX's first packet reaches the phone at once */
	send_rtp(pbx, relay[0], 1);
	ck_assert_int_eq(expect_seq(phone), 1);
	send_rtp(phone, relay[0], 2);
	ck_assert_int_eq(expect_seq(pbx), 2);
	ck_assert_uint_eq(totals().remote_dropped, 0);
	osip_message_free(offer);
	close(pbx);
	close(phone);
}
END_TEST

static void hold_cb(void *arg, const struct media_call_info *info)
{
	*(int *)arg = info->hold ? 1 : 0;
}

START_TEST(hold_is_seen)
{
	unsigned port = 4000, phone = 6000;
	int hold = -1;

	osip_message_free(pbx_offer("hold-1", 1, &port, 1, NULL, MEDIA_DONE));
	osip_message_free(phone_answer("hold-1", 1, &phone, 1, NULL));
	media_foreach(media, hold_cb, &hold);
	ck_assert_int_eq(hold, 0);
	/* the phone puts the call on hold (c=0.0.0.0) */
	char sdp[512];
	sdp_text(sdp, sizeof(sdp), "0.0.0.0", &phone, 1);
	osip_message_t *reinv = request("INVITE", "hold-1", 5, PHONE_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, reinv, false, &phone_sig, &adv_in, NULL), MEDIA_DONE);
	media_foreach(media, hold_cb, &hold);
	ck_assert_int_eq(hold, 1);
	ck_assert_uint_eq(media_ports_free(media), PAIRS - 1);
	osip_message_free(reinv);
}
END_TEST

static bool no_sessions(void *arg)
{
	return media_sessions(arg) == 0;
}

START_TEST(media_timeout_ends_a_silent_call)
{
	unsigned port = 4000, phone = 6000;

	/* rtptimeout = 1 s; the sweep runs every 2 s */
	osip_message_free(pbx_offer("quiet", 1, &port, 1, NULL, MEDIA_DONE));
	osip_message_free(phone_answer("quiet", 1, &phone, 1, NULL));
	ck_assert_uint_eq(media_sessions(media), 1);
	ck_assert(uu_pump_until(base, no_sessions, media, 6000));
	ck_assert_uint_eq(media_ports_free(media), PAIRS);
	struct media_totals t = totals();
	ck_assert_uint_eq(t.calls_set_up, 1);
	ck_assert_uint_eq(t.calls_ended, 1);
}
END_TEST

static void append_id_cb(void *arg, const struct media_call_info *info)
{
	strcat(arg, info->call_id);
	strcat(arg, " ");
}

/* rtptimeout and rtpholdtimeout apart: the sweep that ends the silent call
 * leaves the silent call on hold; a call with media flowing stays too. */
START_TEST(hold_has_its_own_timeout_and_media_keeps_a_call)
{
	char err[CONF_ERR_MAX];
	struct conf *c = conf_load_string(
		"general: { bindaddr = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
		"  localnet = [ \"127.0.0.2/32\" ]; pbx = \"127.0.0.2:5060\"; };\n"
		"rtp: { rtpstart = 24130; rtpend = 24137; rtptimeout = 1; rtpholdtimeout = 60; strictrtp = false; };\n",
		"timeouts.conf", err);
	ck_assert_msg(c != NULL, "%s", err);
	struct media *fixture = media;
	media = media_new(base, c);
	ck_assert_ptr_nonnull(media);

	struct sockaddr_in pbx_addr;
	int pbx = uu_bind(PBX_IP, 0, &pbx_addr);
	unsigned pbx_port = ntohs(pbx_addr.sin_port), phone = 6000, relay[1];
	osip_message_free(pbx_offer("silent", 1, &pbx_port, 1, NULL, MEDIA_DONE));
	osip_message_free(phone_answer("silent", 1, &phone, 1, NULL));
	osip_message_free(pbx_offer("held", 1, &pbx_port, 1, NULL, MEDIA_DONE));
	osip_message_free(phone_answer("held", 1, &phone, 1, NULL));
	char sdp[512];
	sdp_text(sdp, sizeof(sdp), "0.0.0.0", &phone, 1);
	osip_message_t *hold = request("INVITE", "held", 2, PHONE_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, hold, false, &phone_sig, &adv_in, NULL), MEDIA_DONE);
	osip_message_free(hold);
	osip_message_t *talk = pbx_offer("talking", 1, &pbx_port, 1, NULL, MEDIA_DONE);
	m_ports(talk, relay, 1);
	osip_message_free(talk);
	osip_message_free(phone_answer("talking", 1, &phone, 1, NULL));
	ck_assert_uint_eq(media_sessions(media), 3);

	/* the phone talks (plain comedia: latched at once) until "silent" ends */
	int phone_fd = uu_bind(PHONE_IP, 0, NULL);
	uint64_t end = uu_now_ms() + 6000;
	uint16_t seq = 1;
	while (media_sessions(media) == 3 && uu_now_ms() < end) {
		send_rtp(phone_fd, relay[0], seq++);
		uint8_t buf[2048];
		uu_recv(base, pbx, buf, sizeof(buf), NULL, 100);
	}
	ck_assert_uint_eq(media_sessions(media), 2);
	ck_assert_uint_eq(media_ports_free(media), 4 - 2);
	/* the two left are the held call and the talking one */
	char ids[128] = "";
	media_foreach(media, append_id_cb, ids);
	ck_assert_str_eq(ids, "talking held ");
	struct media_totals t;
	media_totals(media, &t);
	ck_assert_uint_eq(t.calls_ended, 1);
	ck_assert_uint_gt(t.remote_packets, 0);
	close(phone_fd);
	close(pbx);
	media_free(media);
	media = fixture;
	conf_free(c);
}
END_TEST

START_TEST(answer_after_the_end_takes_nothing)
{
	unsigned port = 4000, phone = 6000;

	osip_message_free(pbx_offer("gone", 1, &port, 1, NULL, MEDIA_DONE));
	note(request("BYE", "gone", 2, PBX_IP, NULL));
	ck_assert_uint_eq(media_sessions(media), 0);
	/* a 200 with SDP retransmitted after the BYE: not relayed, and no new session */
	char sdp[512];
	sdp_text(sdp, sizeof(sdp), PHONE_IP, &phone, 1);
	osip_message_t *late = response(200, "INVITE", "gone", 1, PHONE_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, late, false, &phone_sig, &adv_in, NULL), MEDIA_BAD_SDP);
	media_note(media, late);
	ck_assert_uint_eq(media_sessions(media), 0);
	ck_assert_uint_eq(media_ports_free(media), PAIRS);
	ck_assert(has_line(late, "c=IN IP4 " PHONE_IP));
	osip_message_free(late);
}
END_TEST

START_TEST(reconfigure_moves_the_range_for_new_calls)
{
	char err[CONF_ERR_MAX];
	struct conf *other = conf_load_string(
		"general: { bindaddr = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
		"  localnet = [ \"127.0.0.2/32\" ]; pbx = \"127.0.0.2:5060\"; };\n"
		"rtp: { rtpstart = 24120; rtpend = 24123; };\n",
		"other.conf", err);
	unsigned port = 4000, a[1], b[1];

	ck_assert_msg(other != NULL, "%s", err);
	osip_message_t *m1 = pbx_offer("old", 1, &port, 1, NULL, MEDIA_DONE);
	media_reconfigure(media, other);
	ck_assert_uint_eq(media_ports_capacity(media), 2);
	osip_message_t *m2 = pbx_offer("new", 1, &port, 1, NULL, MEDIA_DONE);
	m_ports(m1, a, 1);
	m_ports(m2, b, 1);
	ck_assert_int_le(a[0], RANGE_END);
	ck_assert_int_ge(b[0], 24120);
	ck_assert_int_le(b[0], 24122);
	/* the old call keeps its pair until it ends (R41) */
	note(request("BYE", "old", 2, PBX_IP, NULL));
	ck_assert_uint_eq(media_ports_free(media), 1);
	osip_message_free(m1);
	osip_message_free(m2);
	media_reconfigure(media, conf);
	conf_free(other);
}
END_TEST

/* ---- families (issue 20) ---- */

#define FAM_RELAY6 "2001:db8:1::10"
#define FAM_START 24260
#define FAM_END 24267   /* four pairs */

static const char *const fam_addrs[] = { FAM_RELAY6, "2001:db8:1::5", NULL };

struct fam_case {
	const char *name;
	const char *phone;       /* the Internet phone: signalling, SDP and media */
	const char *type;        /* its SDP's addrtype */
	const char *relay;       /* the relay's address of its family */
	const char *advertised;  /* sipnatd's address toward it */
	const char *hold;        /* a hold address of its family */
};

static const struct fam_case fam_cases[] = {
	{ "IPv4", "127.0.0.3", "IP4", "127.0.0.1", "203.0.113.7", "0.0.0.0" },
	{ "IPv6", "2001:db8:1::5", "IP6", FAM_RELAY6, "2001:db8::10", "::" },
};

/* An SDP of addrtype type at ip, one audio line on port with its a=rtcp. */
static void fam_sdp(char *buf, size_t len, const char *type, const char *ip, unsigned port)
{
	snprintf(buf, len,
		 "v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:%u IN %s %s\r\n",
		 type, ip, type, ip, port, port + 1, type, ip);
}

/* The body says addrtype type at addr in c=, o= and a=rtcp (relay port
 * port), and no address of the other family. */
static void assert_family(const osip_message_t *msg, const char *type, const char *addr,
			  unsigned port, const char *name)
{
	char line[160];
	const char *body = body_of(msg);

	snprintf(line, sizeof(line), "c=IN %s %s\r\n", type, addr);
	ck_assert_msg(strstr(body, line), "%s: no %s in\n%s", name, line, body);
	snprintf(line, sizeof(line), " IN %s %s\r\n", type, addr);
	ck_assert_msg(strstr(body, "o=- 1 1") && strstr(strstr(body, "o=- 1 1"), line), "%s: o= in\n%s",
		      name, body);
	snprintf(line, sizeof(line), "a=rtcp:%u IN %s %s\r\n", port + 1, type, addr);
	ck_assert_msg(strstr(body, line), "%s: no %s in\n%s", name, line, body);
	ck_assert_msg(!strstr(body, strcmp(type, "IP6") == 0 ? "IP4" : "IP6"), "%s: a mix in\n%s",
		      name, body);
}

/* An RTP packet with seq from fd to to. */
static void fam_send(int fd, const struct netaddr *to, uint16_t seq)
{
	uint8_t p[172] = { 0x80 };

	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[11] = 7;
	un_send(fd, p, sizeof(p), to);
}

/* The next packet on fd comes from `from` and has seq. */
static void fam_expect(int fd, const struct netaddr *from, uint16_t seq, const char *name)
{
	uint8_t buf[2048];
	struct netaddr got;
	char a[NETADDR_TEXT_MAX], b[NETADDR_TEXT_MAX];
	ssize_t n = un_recv(base, fd, buf, sizeof(buf), &got, WAIT_MS);

	ck_assert_msg(n >= 12, "%s: nothing arrived", name);
	ck_assert_msg(netaddr_same(&got, from), "%s: from %s, expected %s", name,
		      netaddr_print(&got, a), netaddr_print(from, b));
	ck_assert_uint_eq(buf[2] << 8 | buf[3], seq);
}

static void fam_hold_seen(void *arg, const struct media_call_info *info)
{
	*(int *)arg = info->hold;
}

START_TEST(phone_of_either_family_calls_the_ipv4_pbx)
{
	const struct fam_case *c = &fam_cases[_i];
	char err[CONF_ERR_MAX], sdp[1024];
	char text[1024];

	un_netns_enter(fam_addrs);
	snprintf(text, sizeof(text),
		 "general: { bindaddr = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
		 "  localnet = [ \"127.0.0.2/32\" ]; pbx = \"127.0.0.2:5060\"; };\n"
		 "rtp: { rtpstart = %d; rtpend = %d; };\n", FAM_START, FAM_END);
	struct conf *fc = conf_load_string(text, "families.conf", err);
	ck_assert_msg(fc != NULL, "%s", err);
	struct netaddr bind6 = un_addr(FAM_RELAY6, 0);
	struct netaddr phone_sig6 = un_addr(c->phone, 5060), pbx_sig4 = un_addr(PBX_IP, 5060);
	struct netaddr toward_lan = un_addr(ADVERTISED_IN, 0), toward_phone = un_addr(c->advertised, 0);
	struct media *fixture = media;
	media = media_new_at(base, fc, &bind6); /* and 0.0.0.0 */
	ck_assert_ptr_nonnull(media);
	size_t capacity = media_ports_capacity(media);
	ck_assert_uint_eq(capacity, 4);

	struct netaddr phone_media, pbx_media;
	int phone_fd = un_bind(c->phone, 0, &phone_media);
	int pbx_fd = un_bind(PBX_IP, 0, &pbx_media);

	/* the phone's offer from the Internet, toward the IPv4 PBX */
	fam_sdp(sdp, sizeof(sdp), c->type, c->phone, phone_media.port);
	osip_message_t *inv = request("INVITE", "fam", 1, "phone.example.net", sdp);
	ck_assert_int_eq(media_rewrite(media, inv, false, &phone_sig6, &toward_lan, NULL), MEDIA_DONE);
	unsigned port;
	ck_assert_uint_eq(m_ports(inv, &port, 1), 1);
	ck_assert_msg(port >= FAM_START && port < FAM_END && port % 2 == 0, "%s: port %u", c->name, port);
	assert_family(inv, "IP4", ADVERTISED_IN, port, c->name);
	osip_message_free(inv);

	/* the PBX's IPv4 answer, back toward the phone in its family */
	fam_sdp(sdp, sizeof(sdp), "IP4", PBX_IP, pbx_media.port);
	osip_message_t *ok = response(200, "INVITE", "fam", 1, PBX_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, ok, true, &pbx_sig4, &toward_phone, NULL), MEDIA_DONE);
	unsigned answer_port;
	m_ports(ok, &answer_port, 1);
	ck_assert_uint_eq(answer_port, port);
	assert_family(ok, c->type, c->advertised, port, c->name);
	note(ok);
	ck_assert_uint_eq(media_ports_free(media), capacity - 1);

	/* media both ways: the phone to the relay's address of its family
	 * (latched: probation), the PBX to the IPv4 one */
	struct netaddr relay_phone = un_addr(c->relay, (uint16_t)port);
	struct netaddr relay_pbx = un_addr("127.0.0.1", (uint16_t)port);
	for (uint16_t seq = 1; seq <= LATCH_PROBATION; seq++)
		fam_send(phone_fd, &relay_phone, seq);
	fam_expect(pbx_fd, &relay_pbx, LATCH_PROBATION, c->name);
	fam_send(pbx_fd, &relay_pbx, 77);
	fam_expect(phone_fd, &relay_phone, 77, c->name);

	/* the phone holds (c= its family's hold address): the PBX sees
	 * 0.0.0.0, the ports stay */
	fam_sdp(sdp, sizeof(sdp), c->type, c->hold, phone_media.port);
	osip_message_t *hold = request("INVITE", "fam", 2, "phone.example.net", sdp);
	ck_assert_int_eq(media_rewrite(media, hold, false, &phone_sig6, &toward_lan, NULL), MEDIA_DONE);
	ck_assert_msg(has_line(hold, "c=IN IP4 0.0.0.0\r\n"), "%s:\n%s", c->name, body_of(hold));
	m_ports(hold, &answer_port, 1);
	ck_assert_uint_eq(answer_port, port);
	int held = 0;
	media_foreach(media, fam_hold_seen, &held);
	ck_assert(held);
	osip_message_free(hold);

	/* the PBX holds (c=0.0.0.0): the phone sees its family's hold address */
	sdp_text(sdp, sizeof(sdp), "0.0.0.0", (unsigned[]){ pbx_media.port }, 1);
	hold = request("INVITE", "fam", 3, PBX_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, hold, true, &pbx_sig4, &toward_phone, NULL), MEDIA_DONE);
	snprintf(text, sizeof(text), "c=IN %s %s\r\n", c->type, c->hold);
	ck_assert_msg(has_line(hold, text), "%s: no %s in\n%s", c->name, text, body_of(hold));
	m_ports(hold, &answer_port, 1);
	ck_assert_uint_eq(answer_port, port);
	osip_message_free(hold);

	/* a re-offer off hold keeps the ports, and media flows again */
	fam_sdp(sdp, sizeof(sdp), "IP4", PBX_IP, pbx_media.port);
	osip_message_t *again = request("INVITE", "fam", 4, PBX_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, again, true, &pbx_sig4, &toward_phone, NULL), MEDIA_DONE);
	m_ports(again, &answer_port, 1);
	ck_assert_uint_eq(answer_port, port);
	assert_family(again, c->type, c->advertised, port, c->name);
	osip_message_free(again);
	fam_send(pbx_fd, &relay_pbx, 78);
	fam_expect(phone_fd, &relay_phone, 78, c->name);
	ck_assert_uint_eq(media_ports_free(media), capacity - 1);

	/* the end gives every pair back */
	note(request("BYE", "fam", 5, PBX_IP, NULL));
	ck_assert_uint_eq(media_sessions(media), 0);
	ck_assert_uint_eq(media_ports_free(media), capacity);

	close(phone_fd);
	close(pbx_fd);
	media_free(media);
	media = fixture;
	conf_free(fc);
}
END_TEST

/* general.bindaddr decides the relay's families (decision 1): an IPv4
 * literal keeps it IPv4 (an IN IP6 offer is refused as before), "::" and an
 * IPv6 literal add IPv6 (the offer is relayed) with IPv4 on 0.0.0.0 beside
 * (an IPv4 offer on the same media works too), and an IPv6 address the
 * host lacks leaves IPv4 only. */
START_TEST(bindaddr_decides_the_families)
{
	static const struct {
		const char *bindaddr;
		enum media_result ipv6_offer;
	} cases[] = {
		{ "127.0.0.1", MEDIA_BAD_SDP },
		{ "::", MEDIA_DONE },
		{ FAM_RELAY6, MEDIA_DONE },
		{ "2001:db8:9::1", MEDIA_BAD_SDP }, /* not the host's */
	};
	char err[CONF_ERR_MAX], text[512], sdp[1024];
	struct netaddr phone6 = un_addr("2001:db8:1::5", 5060), phone4 = un_addr(PHONE_IP, 5060);

	un_netns_enter(fam_addrs);
	snprintf(text, sizeof(text),
		 "general: { bindaddr = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
		 "  localnet = [ \"127.0.0.2/32\" ]; pbx = \"127.0.0.2:5060\"; };\n"
		 "rtp: { rtpstart = %d; rtpend = %d; };\n", FAM_START, FAM_END);
	struct conf *fc = conf_load_string(text, "bindaddr.conf", err);
	ck_assert_msg(fc != NULL, "%s", err);
	struct media *fixture = media;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netaddr at = un_addr(cases[i].bindaddr, 0);
		media = media_new_at(base, fc, &at);
		ck_assert_ptr_nonnull(media);
		ck_assert_uint_eq(media_ports_capacity(media), 4);
		fam_sdp(sdp, sizeof(sdp), "IP6", "2001:db8:1::5", 4000);
		osip_message_t *inv = request("INVITE", "v6", 1, "phone.example.net", sdp);
		ck_assert_msg(media_rewrite(media, inv, false, &phone6, &adv_in, NULL) == cases[i].ipv6_offer,
			      "bindaddr %s", cases[i].bindaddr);
		osip_message_free(inv);
		fam_sdp(sdp, sizeof(sdp), "IP4", PHONE_IP, 4000);
		inv = request("INVITE", "v4", 1, "phone.example.net", sdp);
		ck_assert_int_eq(media_rewrite(media, inv, false, &phone4, &adv_in, NULL), MEDIA_DONE);
		osip_message_free(inv);
		media_free(media);
	}
	media = fixture;
	conf_free(fc);
}
END_TEST

/* An IPv4-only relay (media_new): an IN IP6 offer is refused as before
 * (488), and so is an IPv6 address toward the receiver (503); nothing is
 * kept. */
START_TEST(ipv4_only_relay_refuses_ipv6_media)
{
	char sdp[1024];
	struct netaddr phone6 = un_addr("2001:db8:1::5", 5060), adv6 = un_addr("2001:db8::10", 0);
	size_t free_before = media_ports_free(media);

	fam_sdp(sdp, sizeof(sdp), "IP6", "2001:db8:1::5", 4000);
	osip_message_t *inv = request("INVITE", "v6-on-v4", 1, "phone.example.net", sdp);
	ck_assert_int_eq(media_rewrite(media, inv, false, &phone6, &adv_in, NULL), MEDIA_BAD_SDP);
	osip_message_free(inv);
	sdp_text(sdp, sizeof(sdp), PBX_IP, (unsigned[]){ 4000 }, 1);
	inv = request("INVITE", "v4-toward-v6", 1, PBX_IP, sdp);
	ck_assert_int_eq(media_rewrite(media, inv, true, &pbx_sig, &adv6, NULL), MEDIA_NO_PORTS);
	osip_message_free(inv);
	ck_assert_uint_eq(media_sessions(media), 0);
	ck_assert_uint_eq(media_ports_free(media), free_before);
	ck_assert_uint_eq(totals().calls_failed, 2);
}
END_TEST

static Suite *media_suite(void)
{
	Suite *s = suite_create("media");
	TCase *tc = tcase_create("media");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, offer_and_answer_show_the_relay);
	tcase_add_test(tc, media_flows_through_the_session);
	tcase_add_test(tc, one_session_per_call_id);
	tcase_add_test(tc, long_call_ids_stay_apart);
	tcase_add_test(tc, a_stream_per_m_line);
	tcase_add_test(tc, pool_exhaustion_leaks_nothing);
	tcase_add_test(tc, session_end_frees_pairs);
	tcase_add_test(tc, late_offer_takes_pairs_with_the_answer);
	tcase_add_test(tc, sdp_that_cannot_be_relayed);
	tcase_add_test(tc, peer_limits);
	tcase_add_test(tc, directmedia_is_left_alone);
	tcase_add_test(tc, nat_no_sends_where_the_sdp_says);
	tcase_add_test(tc, hold_is_seen);
	tcase_add_test(tc, media_timeout_ends_a_silent_call);
	tcase_add_test(tc, hold_has_its_own_timeout_and_media_keeps_a_call);
	tcase_add_test(tc, answer_after_the_end_takes_nothing);
	tcase_add_test(tc, reconfigure_moves_the_range_for_new_calls);
	suite_add_tcase(s, tc);

	TCase *families = tcase_create("families");
	tcase_set_timeout(families, 60);
	tcase_add_checked_fixture(families, setup, teardown);
	tcase_add_loop_test(families, phone_of_either_family_calls_the_ipv4_pbx, 0,
			    (int)(sizeof(fam_cases) / sizeof(fam_cases[0])));
	tcase_add_test(families, ipv4_only_relay_refuses_ipv6_media);
	tcase_add_test(families, bindaddr_decides_the_families);
	suite_add_tcase(s, families);
	return s;
}

UNIT_MAIN(media_suite)
