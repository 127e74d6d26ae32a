/*
 * Unit tests for latch.c (R24-R26): learning only from the signalled
 * addresses after LATCH_PROBATION consecutive sequence numbers, a lock no
 * stranger can move or bleed (RTP and RTCP), NAT rebinding only on the same IP
 * after LATCH_SILENCE_MS of silence, a new IP only through latch_reset, and
 * plain comedia without strict mode. The clock is injected (milliseconds).
 * The same rules for both families (issue 20): a table of cases, each for
 * an IPv4 and an IPv6 phone, where another address of the IPv6 phone's /64
 * is another IP like any other.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>

#include "latch.h"
#include "../support/unit_main.h"

#define PHONE_IP "203.0.113.5"      /* where its SIP came from */
#define PHONE_LAN_IP "192.168.1.5"  /* what its SDP says */
#define ATTACKER_IP "198.51.100.66"
#define PTIME_MS 20

/* An address literal of either family, for a call's argument (a few live
 * at once). */
static const struct netaddr *ip(const char *text)
{
	static struct netaddr ring[8];
	static unsigned next;
	struct netaddr *a = &ring[next++ % 8];

	ck_assert(netaddr_parse_ip(text, a));
	return a;
}

static struct netaddr sa(const char *text, uint16_t port)
{
	struct netaddr a = *ip(text);

	a.port = port;
	return a;
}

#define PHONE_SSRC 0x5eedcafeu

static bool rtp_ssrc(struct latch *l, const char *from, uint16_t port, uint16_t seq, uint32_t ssrc,
		     uint64_t now)
{
	struct netaddr src = sa(from, port);

	return latch_rtp(l, &src, seq, ssrc, now);
}

static bool rtp(struct latch *l, const char *from, uint16_t port, uint16_t seq, uint64_t now)
{
	return rtp_ssrc(l, from, port, seq, PHONE_SSRC, now);
}

static bool rtcp(struct latch *l, const char *from, uint16_t port)
{
	struct netaddr src = sa(from, port);

	return latch_rtcp(l, &src);
}

static void assert_target(const struct latch *l, const char *want_ip, uint16_t want_port)
{
	struct netaddr got;

	ck_assert(latch_rtp_target(l, &got));
	ck_assert(netaddr_same_ip(&got, ip(want_ip)));
	ck_assert_uint_eq(got.port, want_port);
}

static void assert_rtcp_target(const struct latch *l, const char *want_ip, uint16_t want_port)
{
	struct netaddr got;

	ck_assert(latch_rtcp_target(l, &got));
	ck_assert(netaddr_same_ip(&got, ip(want_ip)));
	ck_assert_uint_eq(got.port, want_port);
}

static void assert_no_target(const struct latch *l)
{
	struct netaddr got;

	ck_assert(!latch_rtp_target(l, &got));
	ck_assert(!latch_rtcp_target(l, &got));
}

/* A phone behind NAT: signals from PHONE_IP, SDP names its LAN address. */
static void init_phone(struct latch *l)
{
	latch_init(l, true, ip(PHONE_IP), ip(PHONE_LAN_IP), 0);
	ck_assert_int_eq(l->state, LATCH_LEARNING);
	assert_no_target(l);
}

/* LATCH_PROBATION packets from PHONE_IP:port, seq first.., every PTIME_MS
 * from *now; only the last one is accepted. */
static void learn(struct latch *l, uint16_t port, uint16_t first, uint64_t *now)
{
	for (int i = 0; i < LATCH_PROBATION; i++) {
		bool ok = rtp(l, PHONE_IP, port, (uint16_t)(first + i), *now);

		ck_assert_int_eq(ok, i == LATCH_PROBATION - 1);
		*now += PTIME_MS;
	}
	ck_assert_int_eq(l->state, LATCH_LOCKED);
	assert_target(l, PHONE_IP, port);
}

/* ---- learning (R24) ---- */

START_TEST(learning_needs_probation)
{
	struct latch l;
	uint64_t now = 1000;

	init_phone(&l);
	for (uint16_t seq = 100; seq < 100 + LATCH_PROBATION - 1; seq++) {
		ck_assert(!rtp(&l, PHONE_IP, 4000, seq, now));
		assert_no_target(&l);
		now += PTIME_MS;
	}
	ck_assert(rtp(&l, PHONE_IP, 4000, 100 + LATCH_PROBATION - 1, now));
	assert_target(&l, PHONE_IP, 4000);
	ck_assert_uint_eq(l.locked_seen_ms, now);
	ck_assert_uint_eq(l.dropped, LATCH_PROBATION - 1);
	for (int i = 0; i < 50; i++)
		ck_assert(rtp(&l, PHONE_IP, 4000, (uint16_t)(104 + i), now += PTIME_MS));
	ck_assert_uint_eq(l.dropped, LATCH_PROBATION - 1);
}
END_TEST

/* A gap, a repeat or another port starts probation over from that packet. */
START_TEST(learning_restarts_on_gap)
{
	struct latch l;
	uint64_t now = 0;

	init_phone(&l);
	ck_assert(!rtp(&l, PHONE_IP, 4000, 100, now += PTIME_MS));
	ck_assert(!rtp(&l, PHONE_IP, 4000, 101, now += PTIME_MS));
	ck_assert(!rtp(&l, PHONE_IP, 4000, 103, now += PTIME_MS)); /* gap: count 1 */
	ck_assert(!rtp(&l, PHONE_IP, 4000, 104, now += PTIME_MS));
	ck_assert(!rtp(&l, PHONE_IP, 4000, 104, now += PTIME_MS)); /* repeat: count 1 */
	ck_assert(!rtp(&l, PHONE_IP, 4000, 105, now += PTIME_MS));
	ck_assert(!rtp(&l, PHONE_IP, 4000, 106, now += PTIME_MS));
	ck_assert(!rtp(&l, PHONE_IP, 4002, 107, now += PTIME_MS)); /* other port: count 1 */
	ck_assert(!rtp(&l, PHONE_IP, 4000, 108, now += PTIME_MS)); /* back: count 1 */
	ck_assert(!rtp(&l, PHONE_IP, 4000, 109, now += PTIME_MS));
	ck_assert(!rtp(&l, PHONE_IP, 4000, 110, now += PTIME_MS));
	assert_no_target(&l);
	ck_assert(rtp(&l, PHONE_IP, 4000, 111, now += PTIME_MS));
	assert_target(&l, PHONE_IP, 4000);
	ck_assert_uint_eq(l.dropped, 11);
}
END_TEST

/* Two ports of the signalled IP alternating never lock either. */
START_TEST(learning_alternating_ports_never_lock)
{
	struct latch l;
	uint64_t now = 0;

	init_phone(&l);
	for (int i = 0; i < 100; i++)
		ck_assert(!rtp(&l, PHONE_IP, i % 2 ? 4002 : 4000, (uint16_t)i, now += 10));
	assert_no_target(&l);
	ck_assert_uint_eq(l.dropped, 100);
}
END_TEST

START_TEST(learning_seq_wraps)
{
	struct latch l;
	uint64_t now = 0;

	init_phone(&l);
	learn(&l, 4000, 65534, &now); /* 65534 65535 0 1 */
	ck_assert(rtp(&l, PHONE_IP, 4000, 2, now));

	init_phone(&l);
	learn(&l, 4000, 65533, &now); /* 65533 65534 65535 0 */
}
END_TEST

/* A public SDP address that differs from the signalling source is a
 * candidate as well (media from another host of the party). */
START_TEST(learning_from_public_sdp_ip)
{
	struct latch l;
	uint64_t now = 0;

	latch_init(&l, true, ip(PHONE_IP), ip("198.51.100.7"), 0);
	for (uint16_t seq = 1; seq < LATCH_PROBATION; seq++)
		ck_assert(!rtp(&l, "198.51.100.7", 5000, seq, now += PTIME_MS));
	ck_assert(rtp(&l, "198.51.100.7", 5000, LATCH_PROBATION, now += PTIME_MS));
	assert_target(&l, "198.51.100.7", 5000);
	/* locked: the signalling IP is now just another address */
	for (uint16_t seq = 1; seq <= 10; seq++)
		ck_assert(!rtp(&l, PHONE_IP, 4000, seq, now += PTIME_MS));
	assert_target(&l, "198.51.100.7", 5000);

	/* the signalling IP still works while learning */
	latch_init(&l, true, ip(PHONE_IP), ip("198.51.100.7"), 0);
	learn(&l, 4000, 1, &now);
}
END_TEST

/* On hold or without SDP (0.0.0.0) only the signalling IP is a candidate. */
START_TEST(learning_sdp_any_is_none)
{
	struct latch l;
	uint64_t now = 0;

	latch_init(&l, true, ip(PHONE_IP), ip("0.0.0.0"), 0);
	for (uint16_t seq = 1; seq <= 10; seq++)
		ck_assert(!rtp(&l, "0.0.0.0", 4000, seq, now += PTIME_MS));
	assert_no_target(&l);
	learn(&l, 4000, 100, &now);
}
END_TEST

/* ---- strangers (R24, R25; ES2025-01 spray) ---- */

START_TEST(stranger_never_accepted)
{
	struct latch l;
	uint64_t now = 0;
	unsigned long dropped;

	init_phone(&l);
	/* the spray before the call's media starts */
	for (int i = 0; i < 100; i++)
		ck_assert(!rtp(&l, ATTACKER_IP, (uint16_t)(20000 + i % 3), (uint16_t)i, now += 1));
	assert_no_target(&l);
	/* ... and interleaved with the phone's first packets: its probation is
	 * not disturbed, the stranger is not learnt */
	for (int i = 0; i < LATCH_PROBATION; i++) {
		ck_assert(!rtp(&l, ATTACKER_IP, 20000, (uint16_t)(100 + i), now += 1));
		ck_assert_int_eq(rtp(&l, PHONE_IP, 4000, (uint16_t)(7 + i), now += 1),
				 i == LATCH_PROBATION - 1);
	}
	assert_target(&l, PHONE_IP, 4000);
	/* and after the lock */
	for (int i = 0; i < 100; i++)
		ck_assert(!rtp(&l, ATTACKER_IP, 20000, (uint16_t)(200 + i), now += 1));
	assert_target(&l, PHONE_IP, 4000);
	dropped = 100 + LATCH_PROBATION + (LATCH_PROBATION - 1) + 100;
	ck_assert_uint_eq(l.dropped, dropped);
	/* the stranger's RTCP neither */
	for (int i = 0; i < 10; i++)
		ck_assert(!rtcp(&l, ATTACKER_IP, 20001));
	ck_assert(!l.rtcp_locked);
	assert_rtcp_target(&l, PHONE_IP, 4001);
	ck_assert_uint_eq(l.dropped, dropped + 10);
}
END_TEST

/* An attacker continuing the phone's sequence from another IP gets nothing,
 * even after the phone went quiet for long (R25). */
START_TEST(continuing_seq_attacker_refused)
{
	struct latch l;
	uint64_t now = 0;
	uint16_t seq = 500;

	init_phone(&l);
	learn(&l, 4000, seq, &now);
	seq += LATCH_PROBATION;
	for (int i = 0; i < 20; i++)
		ck_assert(rtp(&l, PHONE_IP, 4000, seq++, now += PTIME_MS));
	for (int i = 0; i < 100; i++)
		ck_assert(!rtp(&l, ATTACKER_IP, 4000, seq++, now += PTIME_MS));
	now += 10 * LATCH_SILENCE_MS;
	for (int i = 0; i < 100; i++)
		ck_assert(!rtp(&l, ATTACKER_IP, 4000, seq++, now += PTIME_MS));
	assert_target(&l, PHONE_IP, 4000);
	ck_assert_uint_eq(l.dropped, LATCH_PROBATION - 1 + 200);
}
END_TEST

/* ---- NAT rebinding (R26) ---- */

/* The phone moves from :4000 to :4100 and stops sending from :4000: the new
 * port takes over after LATCH_SILENCE_MS and LATCH_PROBATION packets. */
START_TEST(rebinding_after_silence)
{
	struct latch l;
	uint64_t now = 0, last_old, accepted_at = 0;
	uint16_t seq = 1;

	init_phone(&l);
	learn(&l, 4000, seq, &now);
	seq += LATCH_PROBATION;
	for (int i = 0; i < 50; i++)
		ck_assert(rtp(&l, PHONE_IP, 4000, seq++, now += PTIME_MS));
	last_old = now;
	for (int i = 0; i < 500 && !accepted_at; i++) {
		now += PTIME_MS;
		if (rtp(&l, PHONE_IP, 4100, seq++, now))
			accepted_at = now;
	}
	/* the first packet after the silence counts 1; the 4th is accepted */
	ck_assert_uint_eq(accepted_at,
			  last_old + LATCH_SILENCE_MS + (LATCH_PROBATION - 1) * PTIME_MS);
	assert_target(&l, PHONE_IP, 4100);
	ck_assert_uint_eq(l.locked_seen_ms, accepted_at);
	ck_assert(rtp(&l, PHONE_IP, 4100, seq++, now += PTIME_MS));
	/* the old port is now the stranger */
	ck_assert(!rtp(&l, PHONE_IP, 4000, seq, now += PTIME_MS));
	assert_target(&l, PHONE_IP, 4100);
}
END_TEST

/* While :4000 keeps sending every 20 ms, :4100 is refused (Asterisk rule:
 * traffic from the current address resets the candidate). */
START_TEST(rebinding_refused_while_active)
{
	struct latch l;
	uint64_t now = 0;
	uint16_t seq = 1, rival = 9000;

	init_phone(&l);
	learn(&l, 4000, seq, &now);
	seq += LATCH_PROBATION;
	for (int i = 0; i < 1000; i++) {
		ck_assert(rtp(&l, PHONE_IP, 4000, seq++, now += PTIME_MS / 2));
		ck_assert(!rtp(&l, PHONE_IP, 4100, rival++, now += PTIME_MS / 2));
	}
	assert_target(&l, PHONE_IP, 4000);
	ck_assert_uint_eq(l.dropped, LATCH_PROBATION - 1 + 1000);
}
END_TEST

/* The locked port speaking up during the rival's probation resets it; the
 * rival must wait for a new silence and start again. */
START_TEST(rebinding_probation_reset_by_locked)
{
	struct latch l;
	uint64_t now = 0;
	uint16_t seq = 1, rival = 9000;

	init_phone(&l);
	learn(&l, 4000, seq, &now);
	seq += LATCH_PROBATION;
	now += LATCH_SILENCE_MS;
	for (int i = 0; i < LATCH_PROBATION - 1; i++)
		ck_assert(!rtp(&l, PHONE_IP, 4100, rival++, now += PTIME_MS));
	ck_assert(rtp(&l, PHONE_IP, 4000, seq++, now += PTIME_MS));
	for (int i = 0; i < 10; i++)
		ck_assert(!rtp(&l, PHONE_IP, 4100, rival++, now += PTIME_MS));
	assert_target(&l, PHONE_IP, 4000);
	now += LATCH_SILENCE_MS;
	for (int i = 0; i < LATCH_PROBATION - 1; i++)
		ck_assert(!rtp(&l, PHONE_IP, 4100, rival++, now += PTIME_MS));
	ck_assert(rtp(&l, PHONE_IP, 4100, rival++, now += PTIME_MS));
	assert_target(&l, PHONE_IP, 4100);

	/* even when the rival is quiet while the locked port speaks: its count
	 * starts over after the next silence */
	now += LATCH_SILENCE_MS;
	for (int i = 0; i < LATCH_PROBATION - 1; i++)
		ck_assert(!rtp(&l, PHONE_IP, 4000, seq++, now += PTIME_MS));
	ck_assert(rtp(&l, PHONE_IP, 4100, rival++, now += PTIME_MS));
	now += LATCH_SILENCE_MS;
	for (int i = 0; i < LATCH_PROBATION - 1; i++)
		ck_assert(!rtp(&l, PHONE_IP, 4000, seq++, now += PTIME_MS));
	ck_assert(rtp(&l, PHONE_IP, 4000, seq++, now += PTIME_MS));
	assert_target(&l, PHONE_IP, 4000);
}
END_TEST

/* A new IP is never taken without new signalling; latch_reset opens
 * learning for it (a re-INVITE after the phone's NAT changed address). */
START_TEST(new_ip_needs_reset)
{
	struct latch l;
	uint64_t now = 0;
	uint16_t seq = 1;

	init_phone(&l);
	learn(&l, 4000, seq, &now);
	seq += LATCH_PROBATION;
	now += 10 * LATCH_SILENCE_MS;
	for (int i = 0; i < 100; i++)
		ck_assert(!rtp(&l, "203.0.113.99", 4000, seq++, now += PTIME_MS));
	assert_target(&l, PHONE_IP, 4000);

	latch_reset(&l, ip("203.0.113.99"), ip(PHONE_LAN_IP), 0);
	ck_assert_int_eq(l.state, LATCH_LEARNING);
	assert_no_target(&l);
	for (int i = 0; i < LATCH_PROBATION - 1; i++)
		ck_assert(!rtp(&l, "203.0.113.99", 4000, seq++, now += PTIME_MS));
	ck_assert(rtp(&l, "203.0.113.99", 4000, seq++, now += PTIME_MS));
	assert_target(&l, "203.0.113.99", 4000);
	/* the old address is no longer vouched for */
	for (int i = 0; i < 10; i++)
		ck_assert(!rtp(&l, PHONE_IP, 4000, seq++, now += 10 * LATCH_SILENCE_MS));
	assert_target(&l, "203.0.113.99", 4000);
}
END_TEST

/* ---- latch_reset ---- */

START_TEST(reset_same_addresses_keeps_lock)
{
	struct latch l;
	uint64_t now = 0;

	init_phone(&l);
	learn(&l, 4000, 1, &now);
	ck_assert(rtcp(&l, PHONE_IP, 4001));
	latch_reset(&l, ip(PHONE_IP), ip(PHONE_LAN_IP), 0);
	ck_assert_int_eq(l.state, LATCH_LOCKED);
	assert_target(&l, PHONE_IP, 4000);
	assert_rtcp_target(&l, PHONE_IP, 4001);
	ck_assert(rtp(&l, PHONE_IP, 4000, LATCH_PROBATION + 1, now += PTIME_MS));
}
END_TEST

START_TEST(reset_new_address_restarts_learning)
{
	struct latch l;
	uint64_t now = 0;
	unsigned long dropped;

	init_phone(&l);
	learn(&l, 4000, 1, &now);
	ck_assert(rtcp(&l, PHONE_IP, 4001));
	dropped = l.dropped;
	/* a re-INVITE with a new SDP address, same signalling source */
	latch_reset(&l, ip(PHONE_IP), ip("192.168.1.77"), 0);
	ck_assert_int_eq(l.state, LATCH_LEARNING);
	ck_assert(!l.rtcp_locked);
	assert_no_target(&l);
	ck_assert_uint_eq(l.dropped, dropped); /* the stream's counter survives */
	ck_assert(l.strict);
	/* the old source goes through probation again */
	learn(&l, 4000, 50, &now);
	ck_assert_uint_eq(l.dropped, dropped + LATCH_PROBATION - 1);

	/* the SDP going to 0.0.0.0 (hold) is a change too */
	latch_reset(&l, ip(PHONE_IP), ip("0.0.0.0"), 0);
	ck_assert_int_eq(l.state, LATCH_LEARNING);
	learn(&l, 4000, 60, &now);
}
END_TEST

/* ---- RTCP ---- */

START_TEST(rtcp_only_from_locked_ip)
{
	struct latch l;
	uint64_t now = 0;

	init_phone(&l);
	/* before the RTP lock: dropped, even from the phone */
	ck_assert(!rtcp(&l, PHONE_IP, 4001));
	ck_assert_uint_eq(l.dropped, 1);
	ck_assert(!l.rtcp_locked);
	learn(&l, 4000, 1, &now);
	/* no RTCP seen yet: the RTP port + 1 */
	assert_rtcp_target(&l, PHONE_IP, 4001);
	ck_assert(!rtcp(&l, ATTACKER_IP, 4001));
	ck_assert(!rtcp(&l, PHONE_LAN_IP, 4001)); /* the SDP address is not the lock */
	ck_assert(!l.rtcp_locked);
	/* a NAT that mapped RTCP to another port: that port is the target */
	ck_assert(rtcp(&l, PHONE_IP, 31337));
	ck_assert(l.rtcp_locked);
	assert_rtcp_target(&l, PHONE_IP, 31337);
	ck_assert(!rtcp(&l, ATTACKER_IP, 31337));
	assert_rtcp_target(&l, PHONE_IP, 31337);
	/* locked on the first: another port of the same IP (another device
	 * behind the same NAT) neither injects nor steals it */
	ck_assert(!rtcp(&l, PHONE_IP, 4001));
	assert_rtcp_target(&l, PHONE_IP, 31337);
	ck_assert_uint_eq(l.dropped, 1 + (LATCH_PROBATION - 1) + 4);
	/* RTP is not moved by RTCP */
	assert_target(&l, PHONE_IP, 4000);
}
END_TEST

START_TEST(rtcp_target_without_port_above)
{
	struct latch l;
	uint64_t now = 0;
	struct netaddr out;

	init_phone(&l);
	learn(&l, 65535, 1, &now);
	ck_assert(!latch_rtcp_target(&l, &out));
	ck_assert(rtcp(&l, PHONE_IP, 65534));
	assert_rtcp_target(&l, PHONE_IP, 65534);
}
END_TEST

/* ---- without strictrtp ---- */

/* Every refusal says why, for the admin's log line (issue 10). */
START_TEST(drop_reasons_named)
{
	struct latch l;
	uint64_t now = 1000;

	init_phone(&l);
	ck_assert(!rtp(&l, ATTACKER_IP, 4000, 1, now));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_NOT_SIGNALLED);
	ck_assert(!rtp(&l, PHONE_IP, 4000, 1, now));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_PROBATION);
	ck_assert(!rtcp(&l, PHONE_IP, 4001));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_RTCP_EARLY);
	learn(&l, 4000, 100, &now); /* a gap: probation starts over */
	ck_assert(!rtp(&l, PHONE_IP, 4002, 50, now));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_OTHER_PORT);
	ck_assert(!rtp(&l, ATTACKER_IP, 4000, 7, now));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_OTHER_IP);
	ck_assert(rtcp(&l, PHONE_IP, 4001));
	ck_assert(!rtcp(&l, PHONE_IP, 4003));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_RTCP_OTHER);
	ck_assert(!rtcp(&l, ATTACKER_IP, 4001));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_RTCP_OTHER);
	ck_assert_uint_eq(l.dropped, 10); /* 3 more during learn() */
}
END_TEST

START_TEST(non_strict_follows_latest)
{
	struct latch l;

	latch_init(&l, false, ip(PHONE_IP), ip(PHONE_LAN_IP), 0);
	assert_no_target(&l);
	ck_assert(rtp(&l, PHONE_IP, 4000, 1, 0));
	assert_target(&l, PHONE_IP, 4000);
	assert_rtcp_target(&l, PHONE_IP, 4001);
	ck_assert(rtp(&l, PHONE_IP, 4000, 2, 20));
	ck_assert(rtp(&l, "198.51.100.9", 6000, 777, 40)); /* any IP, any seq */
	assert_target(&l, "198.51.100.9", 6000);
	ck_assert(rtp(&l, PHONE_IP, 4100, 3, 60)); /* no silence needed */
	assert_target(&l, PHONE_IP, 4100);
	ck_assert(rtcp(&l, ATTACKER_IP, 9));
	assert_rtcp_target(&l, ATTACKER_IP, 9);
	ck_assert_uint_eq(l.dropped, 0);
}
END_TEST

/* ---- issue 11, gap 3: another device on the phone's own public IP ---- */

/* Probation wants one RTP stream: a sprayer that changes SSRC on every
 * packet, however well it guesses the sequence, never locks. */
START_TEST(probation_needs_one_ssrc)
{
	struct latch l;
	uint64_t now = 1000;

	init_phone(&l);
	for (int i = 0; i < 40; i++, now += PTIME_MS)
		ck_assert(!rtp_ssrc(&l, PHONE_IP, 40000, (uint16_t)(100 + i), 0x1000u + (uint32_t)i, now));
	ck_assert_int_eq(l.state, LATCH_LEARNING);
	assert_no_target(&l);
	/* the same stream with one SSRC locks as usual */
	learn(&l, 40002, 7, &now);
}
END_TEST

/* A device behind the phone's public IP (shared or CGNAT) sends consistent
 * RTP to the relay port first and gets the lock; the phone, from the port
 * its SDP names, takes it over after its own probation although the thief
 * keeps talking, and the thief cannot take it back. */
START_TEST(expected_port_takes_over_from_thief)
{
	struct latch l;
	uint64_t now = 1000;

	latch_init(&l, true, ip(PHONE_IP), ip(PHONE_IP), 4000);
	for (int i = 0; i < LATCH_PROBATION; i++, now += PTIME_MS)
		rtp_ssrc(&l, PHONE_IP, 61000, (uint16_t)(900 + i), 0xbad, now);
	assert_target(&l, PHONE_IP, 61000); /* the thief, for now */
	uint16_t thief_seq = 900 + LATCH_PROBATION;
	for (int i = 0; i < LATCH_PROBATION; i++, now += PTIME_MS) {
		/* interleaved: the thief goes on all the time */
		ck_assert(rtp_ssrc(&l, PHONE_IP, 61000, thief_seq++, 0xbad, now));
		bool ok = rtp(&l, PHONE_IP, 4000, (uint16_t)(50 + i), now);
		ck_assert_int_eq(ok, i == LATCH_PROBATION - 1);
	}
	assert_target(&l, PHONE_IP, 4000);
	for (int i = 0; i < 3 * LATCH_PROBATION; i++, now += PTIME_MS) {
		ck_assert(!rtp_ssrc(&l, PHONE_IP, 61000, thief_seq++, 0xbad, now));
		ck_assert(rtp(&l, PHONE_IP, 4000, (uint16_t)(50 + LATCH_PROBATION + i), now));
	}
	assert_target(&l, PHONE_IP, 4000);
	ck_assert_int_eq(l.last_drop, LATCH_DROP_OTHER_PORT);
}
END_TEST

/* Once the expected source holds the lock, nobody on its IP displaces it
 * while it talks, whatever port they use. */
START_TEST(expected_lock_holds)
{
	struct latch l;
	uint64_t now = 1000;

	latch_init(&l, true, ip(PHONE_IP), ip("0.0.0.0"), 4000);
	learn(&l, 4000, 1, &now);
	for (uint16_t i = 0; i < 20; i++, now += PTIME_MS) {
		ck_assert(rtp(&l, PHONE_IP, 4000, (uint16_t)(1 + LATCH_PROBATION + i), now));
		ck_assert(!rtp_ssrc(&l, PHONE_IP, (uint16_t)(5000 + i % 2), (uint16_t)(300 + i), 0xbad, now));
	}
	assert_target(&l, PHONE_IP, 4000);
}
END_TEST

/* A new SDP port is new signalling: learning starts over. */
START_TEST(reset_new_sdp_port_restarts)
{
	struct latch l;
	uint64_t now = 1000;

	latch_init(&l, true, ip(PHONE_IP), ip("0.0.0.0"), 4000);
	learn(&l, 4000, 1, &now);
	latch_reset(&l, ip(PHONE_IP), ip("0.0.0.0"), 4000);
	assert_target(&l, PHONE_IP, 4000);
	latch_reset(&l, ip(PHONE_IP), ip("0.0.0.0"), 4002);
	ck_assert_int_eq(l.state, LATCH_LEARNING);
	assert_no_target(&l);
}
END_TEST

/* ---- both families (issue 20) ---- */

struct family_case {
	const char *name;
	const char *phone;      /* where its SIP came from */
	const char *sdp;        /* a public SDP address of another host */
	const char *neighbour;  /* the next address: the same /64 for IPv6 */
	const char *other_family; /* the phone's other-family address (dual stack) */
};

static const struct family_case family_cases[] = {
	{ "IPv4", "203.0.113.5", "198.51.100.7", "203.0.113.6", "2001:db8:1::5" },
	{ "IPv6", "2001:db8:1::5", "2001:db8:7::7", "2001:db8:1::6", "203.0.113.5" },
};

/* LATCH_PROBATION consistent packets from ip:port, seq first..: whether the
 * last was accepted (and none before it). */
static bool probation_from(struct latch *l, const char *from, uint16_t port, uint16_t first,
			   uint32_t ssrc, uint64_t *now)
{
	bool ok = false;

	for (int i = 0; i < LATCH_PROBATION; i++, *now += PTIME_MS) {
		ok = rtp_ssrc(l, from, port, (uint16_t)(first + i), ssrc, *now);
		if (i < LATCH_PROBATION - 1)
			ck_assert(!ok);
	}
	return ok;
}

/* Learning only from the signalled IP, after probation; once locked,
 * another port (while the lock talks), a neighbour of the same /64, and the
 * same phone over its other family are refused, each counted; RTCP from the
 * lock's IP only, then from its own source only. */
START_TEST(families_lock_and_bleed)
{
	const struct family_case *c = &family_cases[_i];
	struct latch l;
	uint64_t now = 1000;

	latch_init(&l, true, ip(c->phone), NULL, 0);
	/* learning: a neighbour (same /64) is not the signalled address */
	ck_assert(!rtp(&l, c->neighbour, 4000, 1, now));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_NOT_SIGNALLED);
	ck_assert(!rtp(&l, c->other_family, 4000, 1, now));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_NOT_SIGNALLED);
	ck_assert_msg(probation_from(&l, c->phone, 4000, 10, PHONE_SSRC, &now), "%s", c->name);
	assert_target(&l, c->phone, 4000);
	assert_rtcp_target(&l, c->phone, 4001);
	unsigned long dropped = l.dropped;

	for (int i = 0; i < 3 * LATCH_PROBATION; i++, now += PTIME_MS) {
		ck_assert(rtp(&l, c->phone, 4000, (uint16_t)(10 + LATCH_PROBATION + i), now));
		ck_assert(!rtp_ssrc(&l, c->phone, 4002, (uint16_t)(300 + i), 0xbad, now));
		ck_assert_int_eq(l.last_drop, LATCH_DROP_OTHER_PORT);
		ck_assert(!rtp_ssrc(&l, c->neighbour, 4000, (uint16_t)(400 + i), 0xbad, now));
		ck_assert_int_eq(l.last_drop, LATCH_DROP_OTHER_IP);
		ck_assert(!rtp_ssrc(&l, c->other_family, 4000, (uint16_t)(500 + i), 0xbad, now));
		ck_assert_int_eq(l.last_drop, LATCH_DROP_OTHER_IP);
	}
	ck_assert_uint_eq(l.dropped, dropped + 9 * LATCH_PROBATION);
	/* even after the lock went quiet, a neighbour never takes it over */
	now += LATCH_SILENCE_MS + 1;
	ck_assert(!probation_from(&l, c->neighbour, 4000, 700, 0xbad, &now));
	assert_target(&l, c->phone, 4000);

	/* RTCP: not from the neighbour; the phone's first locks its source */
	ck_assert(!rtcp(&l, c->neighbour, 4001));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_RTCP_OTHER);
	ck_assert(rtcp(&l, c->phone, 4009));
	assert_rtcp_target(&l, c->phone, 4009);
	ck_assert(!rtcp(&l, c->phone, 4001));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_RTCP_OTHER);
}
END_TEST

/* The expected source (the SDP's port on a vouched address) and a public
 * SDP address of another host work the same for both families, and new
 * signalling with the same addresses keeps the lock. */
START_TEST(families_sdp_address_and_reset)
{
	const struct family_case *c = &family_cases[_i];
	struct latch l;
	uint64_t now = 1000;

	latch_init(&l, true, ip(c->phone), ip(c->sdp), 6000);
	ck_assert(probation_from(&l, c->sdp, 6000, 1, PHONE_SSRC, &now));
	assert_target(&l, c->sdp, 6000);
	/* the same signalling again (ports of the addresses do not count) */
	struct netaddr sig = sa(c->phone, 5060), sdp = sa(c->sdp, 6000);
	latch_reset(&l, &sig, &sdp, 6000);
	assert_target(&l, c->sdp, 6000);
	/* a neighbour of the SDP's address is nobody signalling vouched for */
	latch_reset(&l, ip(c->phone), ip(c->neighbour), 6000);
	ck_assert_int_eq(l.state, LATCH_LEARNING);
	ck_assert(!rtp(&l, c->sdp, 6000, 100, now));
	ck_assert_int_eq(l.last_drop, LATCH_DROP_NOT_SIGNALLED);
	ck_assert(probation_from(&l, c->neighbour, 6000, 200, PHONE_SSRC, &now));
	assert_target(&l, c->neighbour, 6000);
	/* an unspecified SDP address (hold: 0.0.0.0, ::) is none */
	latch_init(&l, true, ip(c->phone), ip(c->phone[0] == '2' ? "::" : "0.0.0.0"), 0);
	ck_assert_int_eq(l.sdp_ip.family, 0);
}
END_TEST

static Suite *latch_suite(void)
{
	Suite *s = suite_create("latch");
	TCase *learning = tcase_create("learning");
	TCase *locked = tcase_create("locked");
	TCase *other = tcase_create("reset_rtcp_comedia");

	tcase_add_test(learning, learning_needs_probation);
	tcase_add_test(learning, learning_restarts_on_gap);
	tcase_add_test(learning, learning_alternating_ports_never_lock);
	tcase_add_test(learning, learning_seq_wraps);
	tcase_add_test(learning, learning_from_public_sdp_ip);
	tcase_add_test(learning, learning_sdp_any_is_none);
	suite_add_tcase(s, learning);

	tcase_add_test(locked, stranger_never_accepted);
	tcase_add_test(locked, continuing_seq_attacker_refused);
	tcase_add_test(locked, rebinding_after_silence);
	tcase_add_test(locked, rebinding_refused_while_active);
	tcase_add_test(locked, rebinding_probation_reset_by_locked);
	tcase_add_test(locked, new_ip_needs_reset);
	suite_add_tcase(s, locked);

	tcase_add_test(other, reset_same_addresses_keeps_lock);
	tcase_add_test(other, reset_new_address_restarts_learning);
	tcase_add_test(other, rtcp_only_from_locked_ip);
	tcase_add_test(other, rtcp_target_without_port_above);
	tcase_add_test(other, non_strict_follows_latest);
	tcase_add_test(other, drop_reasons_named);
	tcase_add_test(other, probation_needs_one_ssrc);
	tcase_add_test(other, expected_port_takes_over_from_thief);
	tcase_add_test(other, expected_lock_holds);
	tcase_add_test(other, reset_new_sdp_port_restarts);
	suite_add_tcase(s, other);

	TCase *families = tcase_create("families");
	int n = (int)(sizeof(family_cases) / sizeof(family_cases[0]));
	tcase_add_loop_test(families, families_lock_and_bleed, 0, n);
	tcase_add_loop_test(families, families_sdp_address_and_reset, 0, n);
	suite_add_tcase(s, families);
	return s;
}

UNIT_MAIN(latch_suite)
