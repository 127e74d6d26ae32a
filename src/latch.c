/*
 * latch: the step of the RTP path between "find session" and "forward" that
 * decides whether a packet's source is the party it claims to be (design
 * section 8, R24-R26). No sockets, no clock, no logging: the relay passes the
 * time in and reads the dropped counter.
 *
 * Learning follows Asterisk's strictrtp after AST-2017-005: a source is
 * trusted only after LATCH_PROBATION packets in a row with consecutive
 * sequence numbers, and only from an address the signalling named. A locked
 * stream moves to another port of its IP only when the locked port has gone
 * quiet (NAT rebinding, rtpproxy #119), never to another IP without new
 * signalling; while the locked port still talks, any rival's probation starts
 * over (the AST-2017-008 one-way-audio lesson: no premature relearn).
 */
#include "latch.h"

#include <string.h>

#include "netaddr.h"

/* Whether signalling vouches for this address while learning. */
static bool latch_is_candidate_ip(const struct latch *l, const struct netaddr *ip)
{
	if (latch_same_ip(ip, &l->signal_ip))
		return true;
	return l->sdp_ip.family != 0 && latch_same_ip(ip, &l->sdp_ip);
}

/* One more packet from a would-be source: true once it has sent
 * LATCH_PROBATION in a row with consecutive sequence numbers (65535 -> 0
 * included) and one SSRC. Another source, a gap or another SSRC starts the
 * count over: a sprayer must look like one RTP stream to be believed. */
static bool latch_probation(struct latch *l, const struct netaddr *src, uint16_t seq, uint32_t ssrc)
{
	if (l->candidate_count > 0 && latch_same_source(src, &l->candidate) &&
	    seq == (uint16_t)(l->candidate_seq + 1) && ssrc == l->candidate_ssrc) {
		l->candidate_count++;
	} else {
		l->candidate = *src;
		l->candidate_count = 1;
		l->candidate_ssrc = ssrc;
	}
	l->candidate_seq = seq;
	return l->candidate_count >= LATCH_PROBATION;
}

/* The port the SDP names, on an IP that signalling vouches for. */
static bool latch_is_expected(const struct latch *l, const struct netaddr *src)
{
	return l->sdp_port != 0 && src->port == l->sdp_port && latch_is_candidate_ip(l, src);
}

static void latch_lock(struct latch *l, const struct netaddr *src, uint64_t now_ms)
{
	/* a new RTP source (NAT rebinding) lets RTCP be learnt again too */
	if (l->state == LATCH_LOCKED && !latch_same_source(&l->locked, src))
		l->rtcp_locked = false;
	l->state = LATCH_LOCKED;
	l->locked = *src;
	l->locked_seen_ms = now_ms;
	l->candidate_count = 0;
}

/* An address as the latch keeps it: no port, and "none" as family 0. */
static struct netaddr latch_ip_of(const struct netaddr *addr)
{
	struct netaddr ip;

	memset(&ip, 0, sizeof(ip));
	if (addr && netaddr_is_specified(addr)) {
		ip = *addr;
		ip.port = 0;
	}
	return ip;
}

void latch_init(struct latch *l, bool strict, const struct netaddr *signal_ip,
		const struct netaddr *sdp_ip, uint16_t sdp_port)
{
	memset(l, 0, sizeof(*l));
	l->strict = strict;
	l->signal_ip = latch_ip_of(signal_ip);
	l->sdp_ip = latch_ip_of(sdp_ip);
	l->sdp_port = sdp_port;
	l->state = LATCH_LEARNING;
}

void latch_reset(struct latch *l, const struct netaddr *signal_ip, const struct netaddr *sdp_ip,
		 uint16_t sdp_port)
{
	unsigned long dropped = l->dropped;
	struct netaddr sig = latch_ip_of(signal_ip), sdp = latch_ip_of(sdp_ip);

	if (netaddr_same(&sig, &l->signal_ip) && netaddr_same(&sdp, &l->sdp_ip) &&
	    sdp_port == l->sdp_port)
		return;
	latch_init(l, l->strict, signal_ip, sdp_ip, sdp_port);
	l->dropped = dropped; /* the stream's counter, not the lock's */
}

/* LATCH_DROP_NONE = accept. */
static enum latch_drop latch_rtp_strict(struct latch *l, const struct netaddr *src,
					uint16_t seq, uint32_t ssrc, uint64_t now_ms)
{
	if (l->state == LATCH_LEARNING) {
		if (!latch_is_candidate_ip(l, src))
			return LATCH_DROP_NOT_SIGNALLED;
		if (!latch_probation(l, src, seq, ssrc))
			return LATCH_DROP_PROBATION;
		latch_lock(l, src, now_ms);
		return LATCH_DROP_NONE;
	}
	if (latch_same_source(src, &l->locked)) {
		l->locked_seen_ms = now_ms;
		/* the current source resets any rival, unless the rival is the
		 * expected one and the lock is not: that rival is on its way in */
		if (!latch_is_expected(l, &l->candidate) || latch_is_expected(l, &l->locked))
			l->candidate_count = 0;
		return LATCH_DROP_NONE;
	}
	if (!latch_same_ip(src, &l->locked))
		return LATCH_DROP_OTHER_IP;
	/* the SDP's own port takes the lock from any other port of its IP */
	bool takes_over = latch_is_expected(l, src) && !latch_is_expected(l, &l->locked);
	if (!takes_over && now_ms < l->locked_seen_ms + LATCH_SILENCE_MS) {
		l->candidate_count = 0;
		return LATCH_DROP_OTHER_PORT;
	}
	if (!latch_probation(l, src, seq, ssrc))
		return LATCH_DROP_PROBATION;
	latch_lock(l, src, now_ms);
	return LATCH_DROP_NONE;
}

bool latch_rtp(struct latch *l, const struct netaddr *src, uint16_t seq, uint32_t ssrc,
	       uint64_t now_ms)
{
	if (!l->strict) {
		latch_lock(l, src, now_ms); /* plain comedia: the latest sender */
		return true;
	}
	enum latch_drop why = latch_rtp_strict(l, src, seq, ssrc, now_ms);
	if (why == LATCH_DROP_NONE)
		return true;
	l->last_drop = why;
	l->dropped++;
	return false;
}

bool latch_rtcp(struct latch *l, const struct netaddr *src)
{
	if (l->strict && (l->state != LATCH_LOCKED || !latch_same_ip(src, &l->locked))) {
		l->last_drop = l->state != LATCH_LOCKED ? LATCH_DROP_RTCP_EARLY : LATCH_DROP_RTCP_OTHER;
		l->dropped++;
		return false;
	}
	/* The first RTCP from the locked IP (any port: a NAT maps RTCP on its
	 * own) locks it; after that only that source, or another device behind
	 * the same NAT could inject and steal RTCP (R25). */
	if (l->strict && l->rtcp_locked && !latch_same_source(src, &l->rtcp_source)) {
		l->last_drop = LATCH_DROP_RTCP_OTHER;
		l->dropped++;
		return false;
	}
	l->rtcp_locked = true;
	l->rtcp_source = *src;
	return true;
}

bool latch_rtp_target(const struct latch *l, struct netaddr *out)
{
	if (l->state != LATCH_LOCKED)
		return false;
	*out = l->locked;
	return true;
}

bool latch_rtcp_target(const struct latch *l, struct netaddr *out)
{
	uint16_t port;

	if (l->state != LATCH_LOCKED)
		return false;
	if (l->rtcp_locked) {
		*out = l->rtcp_source;
		return true;
	}
	port = l->locked.port;
	if (port == 65535)
		return false; /* no port + 1; wait for the party's own RTCP */
	*out = l->locked;
	out->port = (uint16_t)(port + 1);
	return true;
}
