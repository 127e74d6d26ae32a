/*
 * Unit tests for relay.c, the RTP path, with real UDP sockets on loopback
 * and a real event loop: the relay on 127.0.0.1 (ports from a small range
 * below the ephemeral ports), the PBX (the local leg) on 127.0.0.2 and the
 * remote phone on 127.0.0.3, both on ephemeral ports. Covered: pairs taken
 * and given back (exhaustion, no leak, a pair another program holds),
 * latching through the relay (probation, then both ways), RTCP on the odd
 * port, rtcp-mux, the fixed and fallback remote legs, hold, and every drop
 * reason counted where it happens. Families (issue 20), each case in a
 * network namespace of its own with IPv6 documentation addresses on its
 * loopback: legs of either family on one pair (IPv4 <-> IPv6 both ways,
 * IPv6 <-> IPv6), RTCP, and RTP Bleed refused for an IPv6 source as for an
 * IPv4 one (another port, another address of the same /64); the pool when
 * an IPv6 port cannot be bound or the host has no such IPv6 address.
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "latch.h"
#include "netaddr.h"
#include "relay.h"

#include "../support/unit_main.h"
#include "../support/unit_netns.h"
#include "../support/unit_udp.h"

#define RANGE_START 24000
#define RANGE_END 24007    /* four pairs */
#define RELAY_IP "127.0.0.1"
#define PBX_IP "127.0.0.2"
#define PHONE_IP "127.0.0.3"
#define OTHER_IP "127.0.0.4"
#define WAIT_MS 2000

/* The relay's interface takes struct netaddr; these tests keep their IPv4
 * sockets' sockaddr_in and hand the relay a pointer to its netaddr. */
#define NA(sin) ((struct netaddr[]){ netaddr_from_in(sin) })

/* The relay bound on RELAY_IP, IPv4 only. */
static struct relay *relay_v4(struct event_base *b, int start, int end)
{
	struct netaddr ip;

	ck_assert(netaddr_parse_ip(RELAY_IP, &ip));
	return relay_new(b, &ip, NULL, start, end);
}

static struct event_base *base;
static struct relay *relay;
/* the PBX's and the phone's RTP and RTCP sockets */
static int pbx_rtp, pbx_rtcp, phone_rtp, phone_rtcp;
static struct sockaddr_in pbx_rtp_addr, pbx_rtcp_addr, phone_rtp_addr, phone_rtcp_addr;

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	relay = relay_v4(base, RANGE_START, RANGE_END);
	ck_assert_ptr_nonnull(relay);
	pbx_rtp = uu_bind(PBX_IP, 0, &pbx_rtp_addr);
	pbx_rtcp = uu_bind(PBX_IP, 0, &pbx_rtcp_addr);
	phone_rtp = uu_bind(PHONE_IP, 0, &phone_rtp_addr);
	phone_rtcp = uu_bind(PHONE_IP, 0, &phone_rtcp_addr);
}

static void teardown(void)
{
	close(pbx_rtp);
	close(pbx_rtcp);
	close(phone_rtp);
	close(phone_rtcp);
	relay_free(relay);
	event_base_free(base);
}

/* An RTP packet (version 2, PCMU) with seq and ssrc, 172 bytes. */
static size_t rtp_packet(uint8_t *p, uint16_t seq, uint32_t ssrc)
{
	memset(p, 0, 172);
	p[0] = 0x80;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	return 172;
}

/* An RTCP receiver report without blocks: 8 bytes, length field 1. */
static size_t rtcp_packet(uint8_t *p)
{
	memset(p, 0, 8);
	p[0] = 0x80;
	p[1] = 201;
	p[3] = 1;
	return 8;
}

static struct sockaddr_in relay_addr(const struct relay_stream *s, int plus)
{
	return uu_addr(RELAY_IP, (uint16_t)(relay_stream_port(s) + plus));
}

static void send_rtp(int fd, const struct relay_stream *s, uint16_t seq, uint32_t ssrc)
{
	uint8_t p[172];
	struct sockaddr_in to = relay_addr(s, 0);

	uu_send(fd, p, rtp_packet(p, seq, ssrc), &to);
}

static void send_rtcp(int fd, const struct relay_stream *s, int plus)
{
	uint8_t p[8];
	struct sockaddr_in to = relay_addr(s, plus);

	uu_send(fd, p, rtcp_packet(p), &to);
}

struct counts_wait {
	const struct relay_stream *s;
	unsigned long total;   /* packets + drops of both legs to reach */
};

static unsigned long handled(const struct relay_stream *s)
{
	struct relay_stream_stats st;

	relay_stream_get_stats(s, &st);
	return st.local.packets + st.local.dropped + st.remote.packets + st.remote.dropped;
}

static bool handled_reached(void *arg)
{
	struct counts_wait *w = arg;

	return handled(w->s) >= w->total;
}

/* Turn the loop until the stream has handled n more packets (forwarded or
 * dropped) than before. */
static void await_handled(const struct relay_stream *s, unsigned long before, unsigned long n)
{
	struct counts_wait w = { s, before + n };

	ck_assert_msg(uu_pump_until(base, handled_reached, &w, WAIT_MS),
		      "the relay handled %lu packets, expected %lu", handled(s) - before, n);
}

/* The packet the relay sends on to fd, with its seq; fails when none comes. */
static uint16_t expect_rtp(int fd, const struct relay_stream *s, int plus)
{
	uint8_t buf[2048];
	struct sockaddr_in from;
	ssize_t n = uu_recv(base, fd, buf, sizeof(buf), &from, WAIT_MS);

	ck_assert_msg(n > 0, "nothing arrived");
	/* it comes from the relay port of its kind, so the party can latch too */
	ck_assert_uint_eq(ntohs(from.sin_port), relay_stream_port(s) + plus);
	ck_assert_str_eq(inet_ntoa(from.sin_addr), RELAY_IP);
	return (uint16_t)(buf[2] << 8 | buf[3]);
}

static struct relay_stream *open_stream_with_pbx(bool mux)
{
	struct relay_stream *s = relay_stream_open(relay);

	ck_assert_ptr_nonnull(s);
	relay_stream_set_local(s, NA(&pbx_rtp_addr), NA(&pbx_rtcp_addr), mux);
	return s;
}

static void set_remote_phone(struct relay_stream *s, bool strict)
{
	struct netaddr phone;

	ck_assert(netaddr_parse_ip(PHONE_IP, &phone));
	/* a phone behind NAT: its SDP names a private address, so none here */
	relay_stream_set_remote(s, strict, &phone, NULL, 0, false);
}

/* The phone sends LATCH_PROBATION packets in a row: the relay latches it. */
static void latch_phone(struct relay_stream *s, uint16_t first_seq)
{
	unsigned long before = handled(s);

	for (int i = 0; i < LATCH_PROBATION; i++)
		send_rtp(phone_rtp, s, (uint16_t)(first_seq + i), 0x1234);
	await_handled(s, before, LATCH_PROBATION);
}

START_TEST(pairs_taken_and_given_back)
{
	struct relay_stream *s[4];
	uint16_t seen[4];

	ck_assert_uint_eq(relay_ports_capacity(relay), 4);
	ck_assert_uint_eq(relay_ports_free(relay), 4);
	for (int i = 0; i < 4; i++) {
		s[i] = relay_stream_open(relay);
		ck_assert_ptr_nonnull(s[i]);
		seen[i] = relay_stream_port(s[i]);
		ck_assert_int_ge(seen[i], RANGE_START);
		ck_assert_int_le(seen[i], RANGE_END - 1);
		ck_assert_int_eq(seen[i] % 2, 0);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(seen[i], seen[j]);
		ck_assert_uint_eq(relay_streams_open(relay), (size_t)i + 1);
		ck_assert_uint_eq(relay_ports_free(relay), 3 - (size_t)i);
	}
	/* the pool is empty: no fifth stream, and nothing leaked by trying */
	ck_assert_ptr_null(relay_stream_open(relay));
	ck_assert_uint_eq(relay_streams_open(relay), 4);
	ck_assert_uint_eq(relay_ports_capacity(relay), 4);

	/* both ports of a pair are really bound while the stream is open */
	struct sockaddr_in a = uu_addr(RELAY_IP, seen[0]);
	struct sockaddr_in b = uu_addr(RELAY_IP, (uint16_t)(seen[0] + 1));
	int probe = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ne(bind(probe, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_ne(bind(probe, (struct sockaddr *)&b, sizeof(b)), 0);
	close(probe);

	for (int i = 0; i < 4; i++)
		relay_stream_close(relay, s[i]);
	ck_assert_uint_eq(relay_streams_open(relay), 0);
	ck_assert_uint_eq(relay_ports_free(relay), 4);
	/* ...and still bound after: the pool keeps a pair's sockets across calls
	 * (issue 13; test_relay_pool.c checks that relay_free and a reload let
	 * them go) */
	probe = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ne(bind(probe, (struct sockaddr *)&b, sizeof(b)), 0);
	close(probe);
	/* closing NULL is allowed */
	relay_stream_close(relay, NULL);
	ck_assert_uint_eq(relay_ports_free(relay), 4);
}
END_TEST

START_TEST(open_close_cycles_keep_the_pool_whole)
{
	for (int round = 0; round < 20; round++) {
		struct relay_stream *s[4];
		for (int i = 0; i < 4; i++)
			ck_assert_ptr_nonnull(s[i] = relay_stream_open(relay));
		ck_assert_ptr_null(relay_stream_open(relay));
		/* close in another order than opened */
		relay_stream_close(relay, s[2]);
		relay_stream_close(relay, s[0]);
		relay_stream_close(relay, s[3]);
		relay_stream_close(relay, s[1]);
		ck_assert_uint_eq(relay_ports_free(relay), 4);
	}
	ck_assert_uint_eq(relay_streams_open(relay), 0);
}
END_TEST

START_TEST(pair_held_by_another_program_is_skipped)
{
	/* two pairs, one of which (24020/24021) another program holds */
	int held = uu_bind(RELAY_IP, 24021, NULL);

	struct relay *r = relay_v4(base, 24020, 24023);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(relay_ports_capacity(r), 2);
	struct relay_stream *s = relay_stream_open(r);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(relay_stream_port(s), 24022);
	/* the held pair is never offered again: counts as neither free nor usable */
	ck_assert_ptr_null(relay_stream_open(r));
	ck_assert_uint_eq(relay_ports_capacity(r), 1);
	ck_assert_uint_eq(relay_ports_free(r), 0);
	relay_stream_close(r, s);
	ck_assert_uint_eq(relay_ports_free(r), 1);
	relay_free(r);
	close(held);
}
END_TEST

START_TEST(resize_applies_to_new_streams)
{
	struct relay_stream *old = open_stream_with_pbx(false);

	ck_assert_int_eq(relay_resize(relay, 24030, 24033), 0);
	ck_assert_uint_eq(relay_ports_capacity(relay), 2);
	struct relay_stream *s = relay_stream_open(relay);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_ge(relay_stream_port(s), 24030);
	ck_assert_int_le(relay_stream_port(s), 24032);
	/* the old stream still relays */
	set_remote_phone(old, true);
	latch_phone(old, 100);
	expect_rtp(pbx_rtp, old, 0);
	relay_stream_close(relay, old);
	relay_stream_close(relay, s);
	ck_assert_uint_eq(relay_ports_free(relay), 2);
	ck_assert_int_eq(relay_resize(relay, 24031, 24030), -1);
	ck_assert_uint_eq(relay_ports_capacity(relay), 2);
}
END_TEST

START_TEST(latches_then_relays_both_ways)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct relay_stream_stats st;

	set_remote_phone(s, true);
	latch_phone(s, 1000);
	relay_stream_get_stats(s, &st);
	/* probation: the first three dropped, the fourth locks and goes on */
	ck_assert_uint_eq(st.remote.dropped, LATCH_PROBATION - 1);
	ck_assert_uint_eq(st.remote.packets, 1);
	ck_assert_uint_eq(st.remote.bytes, 172);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_BEFORE_LATCH);
	ck_assert(netaddr_same(&st.drop_from, NA(&phone_rtp_addr)));
	ck_assert_uint_eq(st.source_dropped, LATCH_PROBATION - 1);
	ck_assert_uint_ne(st.last_packet_ms, 0);
	ck_assert_uint_eq(expect_rtp(pbx_rtp, s, 0), 1000 + LATCH_PROBATION - 1);
	ck_assert(!uu_pending(pbx_rtp));

	/* the PBX answers: to the latched source */
	uint8_t p[172];
	struct sockaddr_in to = relay_addr(s, 0);
	for (uint16_t seq = 7; seq < 12; seq++)
		uu_send(pbx_rtp, p, rtp_packet(p, seq, 0x99), &to);
	for (uint16_t seq = 7; seq < 12; seq++)
		ck_assert_uint_eq(expect_rtp(phone_rtp, s, 0), seq);
	relay_stream_get_stats(s, &st);
	ck_assert_uint_eq(st.local.packets, 5);
	ck_assert_uint_eq(st.local.bytes, 5 * 172);
	ck_assert_uint_eq(st.local.dropped, 0);
	ck_assert_uint_eq(st.port, relay_stream_port(s));
	relay_stream_close(relay, s);
}
END_TEST

START_TEST(plain_comedia_latches_the_first_packet)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct relay_stream_stats st;

	set_remote_phone(s, false);
	send_rtp(phone_rtp, s, 1, 1);
	ck_assert_uint_eq(expect_rtp(pbx_rtp, s, 0), 1);
	relay_stream_get_stats(s, &st);
	ck_assert_uint_eq(st.remote.dropped, 0);
	ck_assert_uint_eq(st.remote.packets, 1);
	send_rtp(pbx_rtp, s, 2, 2);
	ck_assert_uint_eq(expect_rtp(phone_rtp, s, 0), 2);
	relay_stream_close(relay, s);
}
END_TEST

START_TEST(rtcp_on_the_odd_port)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct relay_stream_stats st;
	uint8_t buf[64];
	struct sockaddr_in from;

	set_remote_phone(s, true);
	/* RTCP before the RTP source is latched: dropped as early */
	unsigned long before = handled(s);
	send_rtcp(phone_rtcp, s, 1);
	await_handled(s, before, 1);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_RTCP_EARLY);
	ck_assert(!uu_pending(pbx_rtcp));

	latch_phone(s, 1);
	expect_rtp(pbx_rtp, s, 0);
	/* the phone's RTCP, from its own RTCP port, goes to the PBX's RTCP address */
	send_rtcp(phone_rtcp, s, 1);
	ck_assert_int_eq(uu_recv(base, pbx_rtcp, buf, sizeof(buf), &from, WAIT_MS), 8);
	ck_assert_uint_eq(ntohs(from.sin_port), relay_stream_port(s) + 1);
	ck_assert_int_eq(buf[1], 201);
	/* the PBX's RTCP goes to the source the phone's RTCP came from */
	send_rtcp(pbx_rtcp, s, 1);
	ck_assert_int_eq(uu_recv(base, phone_rtcp, buf, sizeof(buf), &from, WAIT_MS), 8);
	ck_assert_uint_eq(ntohs(from.sin_port), relay_stream_port(s) + 1);
	ck_assert(!uu_pending(phone_rtp));
	relay_stream_close(relay, s);
}
END_TEST

START_TEST(rtcp_mux_on_the_rtp_port)
{
	/* the PBX muxes: its RTCP comes to, and goes back from, the RTP port */
	struct relay_stream *s = open_stream_with_pbx(true);
	uint8_t buf[64];
	struct sockaddr_in from;

	set_remote_phone(s, true);
	latch_phone(s, 50);
	expect_rtp(pbx_rtp, s, 0);
	send_rtcp(phone_rtcp, s, 1);
	ck_assert_int_eq(uu_recv(base, pbx_rtp, buf, sizeof(buf), &from, WAIT_MS), 8);
	ck_assert_uint_eq(ntohs(from.sin_port), relay_stream_port(s));
	ck_assert(!uu_pending(pbx_rtcp));
	/* RTCP the PBX muxes on the RTP port goes to the phone's RTCP port */
	send_rtcp(pbx_rtp, s, 0);
	ck_assert_int_eq(uu_recv(base, phone_rtcp, buf, sizeof(buf), &from, WAIT_MS), 8);
	ck_assert_uint_eq(ntohs(from.sin_port), relay_stream_port(s) + 1);
	relay_stream_close(relay, s);
}
END_TEST

START_TEST(fixed_remote_uses_its_sdp)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct relay_stream_stats st;

	relay_stream_set_remote_fixed(s, NA(&phone_rtp_addr), NA(&phone_rtcp_addr), false);
	/* no learning: the PBX's first packet goes to the SDP address */
	send_rtp(pbx_rtp, s, 5, 5);
	ck_assert_uint_eq(expect_rtp(phone_rtp, s, 0), 5);
	send_rtcp(pbx_rtcp, s, 1);
	uint8_t buf[64];
	ck_assert_int_eq(uu_recv(base, phone_rtcp, buf, sizeof(buf), NULL, WAIT_MS), 8);
	/* the phone's first packet goes through too */
	send_rtp(phone_rtp, s, 6, 6);
	ck_assert_uint_eq(expect_rtp(pbx_rtp, s, 0), 6);
	/* another IP than its SDP's is refused */
	int other = uu_bind(OTHER_IP, 0, NULL);
	unsigned long before = handled(s);
	send_rtp(other, s, 7, 7);
	await_handled(s, before, 1);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_NOT_SDP);
	ck_assert_str_eq(inet_ntoa(st.drop_from.ip.v4), OTHER_IP);
	ck_assert_uint_eq(st.source_dropped, 1);
	ck_assert(!uu_pending(pbx_rtp));
	close(other);
	relay_stream_close(relay, s);
}
END_TEST

START_TEST(fallback_until_latched)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	int fb = 0;
	struct sockaddr_in fb_addr, fb_rtcp;

	fb = uu_bind(PHONE_IP, 0, &fb_addr);
	fb_rtcp = fb_addr;
	fb_rtcp.sin_port = htons((uint16_t)(ntohs(fb_addr.sin_port) + 1));
	set_remote_phone(s, true);
	relay_stream_set_remote_fallback(s, NA(&fb_addr), NA(&fb_rtcp));
	/* early media: sent where the SDP said, before the phone's first packet */
	send_rtp(pbx_rtp, s, 1, 1);
	ck_assert_uint_eq(expect_rtp(fb, s, 0), 1);
	/* once latched, to the latched source instead */
	latch_phone(s, 10);
	expect_rtp(pbx_rtp, s, 0);
	send_rtp(pbx_rtp, s, 2, 1);
	ck_assert_uint_eq(expect_rtp(phone_rtp, s, 0), 2);
	ck_assert(!uu_pending(fb));
	/* NULL takes the fallback away */
	struct relay_stream *s2 = open_stream_with_pbx(false);
	set_remote_phone(s2, true);
	relay_stream_set_remote_fallback(s2, NA(&fb_addr), NA(&fb_rtcp));
	relay_stream_set_remote_fallback(s2, NULL, NULL);
	unsigned long before = handled(s2);
	send_rtp(pbx_rtp, s2, 3, 1);
	await_handled(s2, before, 1);
	struct relay_stream_stats st;
	relay_stream_get_stats(s2, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_NO_TARGET);
	ck_assert_uint_eq(st.local.dropped, 1);
	ck_assert(!uu_pending(fb));
	close(fb);
	relay_stream_close(relay, s);
	relay_stream_close(relay, s2);
}
END_TEST

START_TEST(hold_sends_nothing_to_the_pbx)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct sockaddr_in zero = uu_addr("0.0.0.0", 0);
	struct relay_stream_stats st;

	set_remote_phone(s, false);
	relay_stream_set_local(s, NA(&zero), NA(&zero), false);
	unsigned long before = handled(s);
	send_rtp(phone_rtp, s, 1, 1);
	await_handled(s, before, 1);
	relay_stream_get_stats(s, &st);
	ck_assert_uint_eq(st.remote.dropped, 1);
	ck_assert_uint_eq(st.remote.packets, 0);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_NO_TARGET);
	ck_assert(!uu_pending(pbx_rtp));
	relay_stream_close(relay, s);
}
END_TEST

/* The drops a stream counts, each caused by one packet and seen in its stats. */
START_TEST(drop_reasons_counted)
{
	static const struct {
		const char *name;
		enum relay_drop why;
		bool source;  /* counted in source_dropped */
		bool local;   /* counted on the local leg */
	} cases[] = {
		{ "remote before any SDP", RELAY_DROP_NO_TARGET, false, false },
		{ "local before the remote is known", RELAY_DROP_NO_TARGET, false, true },
		{ "too short for RTP", RELAY_DROP_MALFORMED, false, false },
		{ "RTP version 1", RELAY_DROP_MALFORMED, false, false },
		{ "RTCP with a bad type", RELAY_DROP_MALFORMED, false, false },
		{ "RTCP longer than its datagram", RELAY_DROP_MALFORMED, false, false },
		{ "larger than the relay's buffer", RELAY_DROP_MALFORMED, false, false },
		{ "not from the signalled IP", RELAY_DROP_NOT_SIGNALLED, true, false },
		{ "another IP after the lock", RELAY_DROP_OTHER_IP, true, false },
		{ "another port after the lock", RELAY_DROP_OTHER_PORT, true, false },
		{ "RTCP from another source after the lock", RELAY_DROP_RTCP_OTHER, true, false },
	};
	int other_ip = uu_bind(OTHER_IP, 0, NULL);
	int other_port = uu_bind(PHONE_IP, 0, NULL);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct relay_stream *s = relay_stream_open(relay);
		struct relay_stream_stats st;
		static uint8_t p[4096];
		struct sockaddr_in rtp = relay_addr(s, 0), rtcp = relay_addr(s, 1);
		size_t len = rtp_packet(p, 1, 1);
		int from = phone_rtp;
		struct sockaddr_in *to = &rtp;

		ck_assert_ptr_nonnull(s);
		if (i >= 1)
			relay_stream_set_local(s, NA(&pbx_rtp_addr), NA(&pbx_rtcp_addr), false);
		if (i >= 2)
			set_remote_phone(s, true);
		switch (i) {
		case 1: from = pbx_rtp; break;
		case 2: len = 11; break;
		case 3: p[0] = 0x40; break;
		case 4: len = rtcp_packet(p); p[1] = 199; to = &rtcp; break;
		case 5: len = rtcp_packet(p); p[3] = 5; to = &rtcp; break;
		case 6: memset(p, 0, sizeof(p)); p[0] = 0x80; len = sizeof(p); break;
		case 7: from = other_ip; break;
		case 8: case 9: case 10:
			latch_phone(s, 1);
			expect_rtp(pbx_rtp, s, 0);
			if (i == 8)
				from = other_ip;
			else if (i == 9)
				from = other_port;
			else {
				send_rtcp(phone_rtcp, s, 1);  /* learns the RTCP source */
				ck_assert_int_eq(uu_recv(base, pbx_rtcp, p, sizeof(p), NULL, WAIT_MS), 8);
				len = rtcp_packet(p);
				from = other_port;
				to = &rtcp;
			}
			break;
		}
		unsigned long before = handled(s);
		relay_stream_get_stats(s, &st);
		unsigned long source_before = st.source_dropped;
		unsigned long dropped_before = cases[i].local ? st.local.dropped : st.remote.dropped;
		uu_send(from, p, len, to);
		await_handled(s, before, 1);
		relay_stream_get_stats(s, &st);
		ck_assert_msg(st.drop_why == cases[i].why, "%s: drop %s, expected %s", cases[i].name,
			      relay_drop_name(st.drop_why), relay_drop_name(cases[i].why));
		ck_assert_msg((cases[i].local ? st.local.dropped : st.remote.dropped) == dropped_before + 1,
			      "%s: not counted on its leg", cases[i].name);
		ck_assert_uint_eq(st.source_dropped, source_before + (cases[i].source ? 1 : 0));
		ck_assert_msg(!uu_pending(pbx_rtp) && !uu_pending(pbx_rtcp) && !uu_pending(phone_rtp),
			      "%s: something was forwarded", cases[i].name);
		relay_stream_close(relay, s);
	}
	close(other_ip);
	close(other_port);
	ck_assert_uint_eq(relay_ports_free(relay), 4);
}
END_TEST

START_TEST(a_source_drop_is_not_hidden_by_a_later_other_one)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct relay_stream_stats st;
	int other = uu_bind(OTHER_IP, 0, NULL);
	uint8_t p[172];
	struct sockaddr_in to = relay_addr(s, 0);

	set_remote_phone(s, true);
	unsigned long before = handled(s);
	send_rtp(other, s, 1, 1);            /* not signalled: a source drop */
	uu_send(phone_rtp, p, 5, &to);       /* malformed: another kind */
	await_handled(s, before, 2);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_NOT_SIGNALLED);
	ck_assert_str_eq(inet_ntoa(st.drop_from.ip.v4), OTHER_IP);
	ck_assert_uint_eq(st.remote.dropped, 2);
	ck_assert_uint_eq(st.source_dropped, 1);
	close(other);
	relay_stream_close(relay, s);
}
END_TEST

START_TEST(new_signalling_restarts_learning_only_on_change)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct relay_stream_stats st;
	struct netaddr phone;

	ck_assert(netaddr_parse_ip(PHONE_IP, &phone));
	set_remote_phone(s, true);
	latch_phone(s, 1);
	expect_rtp(pbx_rtp, s, 0);
	/* the same signalling again (a re-INVITE): the lock stays */
	relay_stream_set_remote(s, true, &phone, NULL, 0, false);
	send_rtp(phone_rtp, s, 5, 0x1234);
	ck_assert_uint_eq(expect_rtp(pbx_rtp, s, 0), 5);
	/* another signalling IP: learning starts again, the old source is refused */
	struct netaddr other;
	ck_assert(netaddr_parse_ip(OTHER_IP, &other));
	relay_stream_set_remote(s, true, &other, NULL, 0, false);
	unsigned long before = handled(s);
	send_rtp(phone_rtp, s, 6, 0x1234);
	await_handled(s, before, 1);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_NOT_SIGNALLED);
	ck_assert(!uu_pending(pbx_rtp));
	relay_stream_close(relay, s);
}
END_TEST

/* The kernel refuses to send to a broadcast address without SO_BROADCAST:
 * the packet was not forwarded, and the leg it came from says so. */
START_TEST(send_failure_counted_on_its_leg)
{
	struct relay_stream *s = open_stream_with_pbx(false);
	struct sockaddr_in bcast = uu_addr("255.255.255.255", 5004), bcast_rtcp = uu_addr("255.255.255.255", 5005);
	struct relay_stream_stats st;

	relay_stream_set_remote_fixed(s, NA(&bcast), NA(&bcast_rtcp), false);
	unsigned long before = handled(s);
	send_rtp(pbx_rtp, s, 1, 1);
	send_rtp(pbx_rtp, s, 2, 1);
	await_handled(s, before, 2);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_SEND_FAILED);
	ck_assert_uint_eq(st.local.dropped, 2);
	ck_assert_uint_eq(st.local.packets, 0);
	ck_assert_uint_eq(st.local.bytes, 0);
	ck_assert_uint_eq(st.remote.dropped, 0);
	ck_assert_uint_eq(st.source_dropped, 0);
	relay_stream_close(relay, s);

	/* the same when a muxed leg meets a non-muxed one (RTCP moved across
	 * sockets): the phone's RTCP toward a muxing party that cannot be sent to */
	s = relay_stream_open(relay);
	ck_assert_ptr_nonnull(s);
	relay_stream_set_local(s, NA(&bcast), NA(&bcast), true);
	set_remote_phone(s, false);
	before = handled(s);
	send_rtcp(phone_rtcp, s, 1);
	await_handled(s, before, 1);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_SEND_FAILED);
	ck_assert_uint_eq(st.remote.dropped, 1);
	ck_assert_uint_eq(st.remote.packets, 0);
	ck_assert_uint_eq(st.local.dropped, 0);
	relay_stream_close(relay, s);
}
END_TEST

START_TEST(drop_names_and_kinds)
{
	static const struct {
		enum relay_drop why;
		bool source;
	} cases[] = {
		{ RELAY_DROP_NONE, false },        { RELAY_DROP_MALFORMED, false },
		{ RELAY_DROP_NO_TARGET, false },   { RELAY_DROP_NOT_SIGNALLED, true },
		{ RELAY_DROP_BEFORE_LATCH, true }, { RELAY_DROP_OTHER_PORT, true },
		{ RELAY_DROP_OTHER_IP, true },     { RELAY_DROP_RTCP_EARLY, true },
		{ RELAY_DROP_RTCP_OTHER, true },   { RELAY_DROP_NOT_SDP, true },
		{ RELAY_DROP_SEND_FAILED, false },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		const char *name = relay_drop_name(cases[i].why);
		ck_assert_ptr_nonnull(name);
		ck_assert_str_ne(name, "unknown");
		ck_assert_msg(relay_drop_is_source(cases[i].why) == cases[i].source, "%s", name);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(name, relay_drop_name(cases[j].why));
	}
	ck_assert_str_eq(relay_drop_name(RELAY_DROP_NOT_SIGNALLED), "not from the signalled IP");
	ck_assert_str_eq(relay_drop_name((enum relay_drop)99), "unknown");
}
END_TEST

START_TEST(now_ms_is_monotonic)
{
	uint64_t a = relay_now_ms();
	uint64_t b = relay_now_ms();

	ck_assert_uint_ge(b, a);
	ck_assert_uint_gt(a, 0);
	/* the same clock the tests read */
	ck_assert_uint_le(a > uu_now_ms() ? a - uu_now_ms() : uu_now_ms() - a, 1000);
}
END_TEST

/* ---- families (issue 20) ---- */

#define FAM_START 24240
#define FAM_END 24247      /* four pairs */
#define RELAY6_IP "2001:db8:1::10"

/* The namespace's addresses: the relay's, IPv6 phones and their /64
 * neighbour, an IPv6 PBX. */
static const char *const fam_addrs[] = { RELAY6_IP, "2001:db8:1::5", "2001:db8:1::6",
					  "2001:db8:2::20", NULL };

struct fam_case {
	const char *name;
	const char *pbx, *phone;   /* the legs' addresses */
	const char *neighbour;     /* another host: the phone's /64 for IPv6 */
	bool phone_mux;            /* the phone muxes RTCP on its RTP port, the PBX does not */
};

static const struct fam_case fam_cases[] = {
	{ "IPv4 PBX, IPv6 phone", "127.0.0.2", "2001:db8:1::5", "2001:db8:1::6", false },
	{ "IPv6 PBX, IPv6 phone", "2001:db8:2::20", "2001:db8:1::5", "2001:db8:1::6", false },
	{ "IPv6 PBX, IPv4 phone", "2001:db8:2::20", "127.0.0.3", "127.0.0.4", false },
	{ "IPv4 PBX, IPv4 phone", "127.0.0.2", "127.0.0.3", "127.0.0.4", false },
	{ "IPv4 PBX, IPv6 phone with rtcp-mux", "127.0.0.2", "2001:db8:1::5", "2001:db8:1::6", true },
	{ "IPv6 PBX, IPv4 phone with rtcp-mux", "2001:db8:2::20", "127.0.0.3", "127.0.0.4", true },
};

static struct relay *fam_relay(struct event_base *b, int start, int end, const char *v6)
{
	struct netaddr ip4 = un_addr(RELAY_IP, 0), ip6;

	if (v6)
		ip6 = un_addr(v6, 0);
	return relay_new(b, &ip4, v6 ? &ip6 : NULL, start, end);
}

/* The relay's address of the family of party (where that party sends and
 * what it hears from). */
static struct netaddr fam_relay_addr(const struct netaddr *party, const struct relay_stream *s,
				     int plus)
{
	return un_addr(party->family == AF_INET6 ? RELAY6_IP : RELAY_IP,
		       (uint16_t)(relay_stream_port(s) + plus));
}

/* The next datagram on fd: from the relay port (+plus) of fd's family, its
 * RTP seq. */
static uint16_t fam_expect(struct event_base *b, int fd, const struct netaddr *party,
			   const struct relay_stream *s, int plus)
{
	uint8_t buf[2048];
	struct netaddr from, want = fam_relay_addr(party, s, plus);
	char got_text[NETADDR_TEXT_MAX], want_text[NETADDR_TEXT_MAX];
	ssize_t n = un_recv(b, fd, buf, sizeof(buf), &from, WAIT_MS);

	ck_assert_msg(n > 0, "nothing arrived from %s", netaddr_print(&want, want_text));
	ck_assert_msg(netaddr_same(&from, &want), "from %s, expected %s",
		      netaddr_print(&from, got_text), want_text);
	return (uint16_t)(buf[2] << 8 | buf[3]);
}

static void fam_send_rtp(int fd, const struct netaddr *party, const struct relay_stream *s,
			 uint16_t seq, uint32_t ssrc)
{
	uint8_t p[172];
	struct netaddr to = fam_relay_addr(party, s, 0);

	un_send(fd, p, rtp_packet(p, seq, ssrc), &to);
}

/* Legs of either family on one pair: the phone is latched (probation), then
 * media and RTCP go both ways, each leg hearing the relay's address of its
 * own family; after the lock, neither another port of the phone's address
 * nor another host (its /64 neighbour) gets a packet through. */
START_TEST(legs_of_either_family)
{
	const struct fam_case *c = &fam_cases[_i];
	struct netaddr pbx, pbx_c, phone, phone_c, other_port, neighbour;
	struct relay_stream_stats st;
	uint8_t p[172];

	un_netns_enter(fam_addrs);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	struct relay *r = fam_relay(base, FAM_START, FAM_END, RELAY6_IP);
	ck_assert_ptr_nonnull(r);
	ck_assert(relay_has_ipv6(r));
	int pbx_fd = un_bind(c->pbx, 0, &pbx), pbx_cfd = un_bind(c->pbx, 0, &pbx_c);
	int phone_fd = un_bind(c->phone, 0, &phone), phone_cfd = un_bind(c->phone, 0, &phone_c);
	int other_fd = un_bind(c->phone, 0, &other_port), near_fd = un_bind(c->neighbour, 0, &neighbour);
	struct relay_stream *s = relay_stream_open(r);
	ck_assert_ptr_nonnull(s);
	relay_stream_set_local(s, &pbx, &pbx_c, false);
	relay_stream_set_remote(s, true, &phone, NULL, 0, c->phone_mux);

	/* the phone: probation, then its fourth packet reaches the PBX */
	for (uint16_t i = 0; i < LATCH_PROBATION; i++)
		fam_send_rtp(phone_fd, &phone, s, (uint16_t)(100 + i), 0x1234);
	ck_assert_msg(fam_expect(base, pbx_fd, &pbx, s, 0) == 100 + LATCH_PROBATION - 1, "%s", c->name);
	relay_stream_get_stats(s, &st);
	ck_assert_uint_eq(st.remote.packets, 1);
	ck_assert_uint_eq(st.remote.dropped, LATCH_PROBATION - 1);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_BEFORE_LATCH);
	ck_assert(netaddr_same(&st.drop_from, &phone));

	/* the PBX answers: to the latched phone, over the phone's family */
	for (uint16_t seq = 7; seq < 10; seq++)
		fam_send_rtp(pbx_fd, &pbx, s, seq, 0x99);
	for (uint16_t seq = 7; seq < 10; seq++)
		ck_assert_uint_eq(fam_expect(base, phone_fd, &phone, s, 0), seq);

	/* RTCP both ways: the phone's first RTCP teaches where its RTCP comes
	 * from; a muxing phone sends and hears it on the RTP port, while the
	 * PBX keeps the odd port (the socket changes with family and kind) */
	int plus = c->phone_mux ? 0 : 1;
	int phone_rtcp_fd = c->phone_mux ? phone_fd : phone_cfd;
	struct netaddr to = fam_relay_addr(&phone, s, plus);
	un_send(phone_rtcp_fd, p, rtcp_packet(p), &to);
	fam_expect(base, pbx_cfd, &pbx, s, 1);
	to = fam_relay_addr(&pbx, s, 1);
	un_send(pbx_cfd, p, rtcp_packet(p), &to);
	fam_expect(base, phone_rtcp_fd, &phone, s, plus);

	/* RTP Bleed: another port of the phone's address, and another host
	 * (for IPv6 the phone's own /64), consistent RTP, after the lock */
	unsigned long before = handled(s);
	for (uint16_t i = 0; i < LATCH_PROBATION; i++)
		fam_send_rtp(other_fd, &phone, s, (uint16_t)(500 + i), 0x666);
	await_handled(s, before, LATCH_PROBATION);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_OTHER_PORT);
	ck_assert(netaddr_same(&st.drop_from, &other_port));
	before = handled(s);
	for (uint16_t i = 0; i < LATCH_PROBATION; i++)
		fam_send_rtp(near_fd, &neighbour, s, (uint16_t)(600 + i), 0x666);
	await_handled(s, before, LATCH_PROBATION);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_OTHER_IP);
	ck_assert(netaddr_same(&st.drop_from, &neighbour));
	ck_assert_uint_eq(st.remote.packets, 2); /* one RTP, one RTCP */
	ck_assert(!uu_pending(pbx_fd));
	/* and the phone itself still goes through */
	fam_send_rtp(phone_fd, &phone, s, 100 + LATCH_PROBATION, 0x1234);
	ck_assert_uint_eq(fam_expect(base, pbx_fd, &pbx, s, 0), 100 + LATCH_PROBATION);

	relay_stream_close(r, s);
	ck_assert_uint_eq(relay_ports_free(r), 4);
	relay_free(r);
	int fds[] = { pbx_fd, pbx_cfd, phone_fd, phone_cfd, other_fd, near_fd };
	for (size_t k = 0; k < sizeof(fds) / sizeof(fds[0]); k++)
		close(fds[k]);
	event_base_free(base);
}
END_TEST

/* A pair whose IPv6 port another program holds is never offered (its IPv4
 * sockets are let go too); every other pair comes and goes whole, and no
 * port is lost across calls. */
START_TEST(pool_whole_after_a_failed_ipv6_bind)
{
	un_netns_enter(fam_addrs);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	int held = un_bind(RELAY6_IP, FAM_START + 1, NULL);
	struct relay *r = fam_relay(base, FAM_START, FAM_START + 3, RELAY6_IP);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(relay_ports_capacity(r), 2);
	struct relay_stream *s = relay_stream_open(r);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(relay_stream_port(s), FAM_START + 2);
	ck_assert_ptr_null(relay_stream_open(r));
	ck_assert_uint_eq(relay_ports_capacity(r), 1);
	ck_assert_uint_eq(relay_ports_free(r), 0);
	/* the failed pair's IPv4 ports are free again */
	for (int k = 0; k < 2; k++) {
		char port_text[8];
		snprintf(port_text, sizeof(port_text), "%d", FAM_START + k);
		close(un_bind(RELAY_IP, (uint16_t)(FAM_START + k), NULL));
	}
	relay_stream_close(r, s);
	ck_assert_uint_eq(relay_ports_free(r), 1);
	for (int round = 0; round < 5; round++) {
		s = relay_stream_open(r);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(relay_ports_free(r), 0);
		relay_stream_close(r, s);
		ck_assert_uint_eq(relay_ports_free(r), 1);
	}
	ck_assert_uint_eq(relay_streams_open(r), 0);
	relay_free(r);
	close(held);
	event_base_free(base);
}
END_TEST

/* An IPv6 address the host does not have: the relay stays IPv4 only with
 * its whole pool (no pair is disabled for it), and media toward an IPv6
 * leg is counted as not sent. */
START_TEST(ipv6_address_missing_leaves_ipv4)
{
	struct netaddr pbx6 = un_addr("2001:db8:2::20", 5004), phone;
	struct relay_stream_stats st;

	un_netns_enter(fam_addrs);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	struct relay *r = fam_relay(base, FAM_START, FAM_END, "2001:db8:9::1");
	ck_assert_ptr_nonnull(r);
	ck_assert(!relay_has_ipv6(r));
	ck_assert_uint_eq(relay_ports_capacity(r), 4);
	int phone_fd = un_bind("127.0.0.3", 0, &phone);
	struct relay_stream *s = relay_stream_open(r);
	ck_assert_ptr_nonnull(s);
	relay_stream_set_local(s, &pbx6, &pbx6, true);
	relay_stream_set_remote(s, false, &phone, NULL, 0, false);
	unsigned long before = handled(s);
	fam_send_rtp(phone_fd, &phone, s, 1, 1);
	await_handled(s, before, 1);
	relay_stream_get_stats(s, &st);
	ck_assert_int_eq(st.drop_why, RELAY_DROP_SEND_FAILED);
	ck_assert_uint_eq(st.remote.packets, 0);
	relay_stream_close(r, s);
	ck_assert_uint_eq(relay_ports_free(r), 4);
	relay_free(r);
	close(phone_fd);
	event_base_free(base);
}
END_TEST

/* relay_new refuses what is no bind address. */
START_TEST(bind_addresses_checked)
{
	struct netaddr v4 = un_addr(RELAY_IP, 0), v6 = un_addr("::1", 0);
	struct event_base *b = event_base_new();

	ck_assert_ptr_null(relay_new(b, NULL, NULL, FAM_START, FAM_END));
	ck_assert_ptr_null(relay_new(b, &v6, NULL, FAM_START, FAM_END));
	ck_assert_ptr_null(relay_new(b, &v4, &v4, FAM_START, FAM_END));
	event_base_free(b);
}
END_TEST

static Suite *relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *pool = tcase_create("pool");
	TCase *path = tcase_create("path");

	tcase_add_checked_fixture(pool, setup, teardown);
	tcase_add_test(pool, pairs_taken_and_given_back);
	tcase_add_test(pool, open_close_cycles_keep_the_pool_whole);
	tcase_add_test(pool, pair_held_by_another_program_is_skipped);
	tcase_add_test(pool, resize_applies_to_new_streams);
	suite_add_tcase(s, pool);

	tcase_set_timeout(path, 60);
	tcase_add_checked_fixture(path, setup, teardown);
	tcase_add_test(path, latches_then_relays_both_ways);
	tcase_add_test(path, plain_comedia_latches_the_first_packet);
	tcase_add_test(path, rtcp_on_the_odd_port);
	tcase_add_test(path, rtcp_mux_on_the_rtp_port);
	tcase_add_test(path, fixed_remote_uses_its_sdp);
	tcase_add_test(path, fallback_until_latched);
	tcase_add_test(path, hold_sends_nothing_to_the_pbx);
	tcase_add_test(path, drop_reasons_counted);
	tcase_add_test(path, a_source_drop_is_not_hidden_by_a_later_other_one);
	tcase_add_test(path, new_signalling_restarts_learning_only_on_change);
	tcase_add_test(path, send_failure_counted_on_its_leg);
	tcase_add_test(path, drop_names_and_kinds);
	tcase_add_test(path, now_ms_is_monotonic);
	suite_add_tcase(s, path);

	TCase *families = tcase_create("families");
	tcase_set_timeout(families, 60);
	tcase_add_loop_test(families, legs_of_either_family, 0,
			    (int)(sizeof(fam_cases) / sizeof(fam_cases[0])));
	tcase_add_test(families, pool_whole_after_a_failed_ipv6_bind);
	tcase_add_test(families, ipv6_address_missing_leaves_ipv4);
	tcase_add_test(families, bind_addresses_checked);
	suite_add_tcase(s, families);
	return s;
}

UNIT_MAIN(relay_suite)
