/*
 * latch: where the remote side of a stream really sends from (symmetric RTP,
 * comedia), learnt safely (design section 8; R23-R26). Pure: no sockets, the
 * clock is passed in.
 *
 * Strict mode (strictrtp): a source is a candidate only when its IP is the one
 * the party signalled from or the one its SDP names. A candidate is locked after
 * LATCH_PROBATION packets in a row with consecutive RTP sequence numbers and
 * one SSRC from the same IP:port; until then nothing is forwarded from it or
 * sent to it.
 *
 * The expected source (issue 11, gap 3): the port the SDP names, on a
 * candidate IP. Another device behind the same public IP (a shared or
 * carrier-grade NAT) that sends consistent RTP to the relay port before the
 * phone would otherwise keep the lock; the expected source, once it passes
 * its own probation, takes the lock over from any other port even while that
 * one still talks. That closes the theft for public phones and for phones
 * behind port-preserving NATs. A phone behind a port-randomising NAT on a
 * shared IP has no expected port: there the first consistent RTP stream from
 * its IP to the (random, unannounced to others) relay port wins, and the
 * phone's own packets show as drops "other port after lock" on the call.
 * Once locked, only the locked source is accepted; another port of the same IP
 * may take over after the locked one has been silent LATCH_SILENCE_MS and it
 * passes probation itself (a NAT rebinding). A new IP needs new signalling
 * (latch_reset). Everything else is dropped and counted: no RTP Bleed.
 * Without strict mode the latest source that sends is used (plain comedia).
 *
 * RTCP has its own latch: the first RTCP packet from the locked RTP source's
 * IP (any port) locks it, and from then on only that source is accepted (RTCP
 * carries no sequence number and comes every few seconds). A new RTP lock (NAT
 * rebinding) lets RTCP be learnt again.
 *
 * Both families alike (issue 20): an address is a struct netaddr, and an IPv6
 * source is compared by its whole address and port, as an IPv4 one is. Another
 * address in the same /64 is another IP (a /64 is one host's for bans, but
 * the relay trusts only the address signalling named). A source of the other
 * family than the lock's is another IP.
 */
#ifndef SIPNATD_LATCH_H
#define SIPNATD_LATCH_H

#include "netaddr.h"

#include <stdbool.h>
#include <stdint.h>

#define LATCH_PROBATION 4
#define LATCH_SILENCE_MS 2000

/* Why the latest packet was refused, for the admin (issue 10). */
enum latch_drop {
	LATCH_DROP_NONE,
	LATCH_DROP_NOT_SIGNALLED,  /* learning: not from the signalled or SDP IP */
	LATCH_DROP_PROBATION,      /* learning: a candidate still on probation */
	LATCH_DROP_OTHER_PORT,     /* locked: the locked IP, another port, lock still talking */
	LATCH_DROP_OTHER_IP,       /* locked: another IP */
	LATCH_DROP_RTCP_EARLY,     /* RTCP before the RTP source is locked */
	LATCH_DROP_RTCP_OTHER,     /* RTCP from another source than the learnt one */
};

enum latch_state {
	LATCH_LEARNING,
	LATCH_LOCKED,
};

/* What a locked stream's packets read comes first (one cache line). */
struct latch {
	bool strict;
	bool rtcp_locked;
	uint16_t sdp_port;             /* host order; 0 = none */
	enum latch_state state;
	uint64_t locked_seen_ms;       /* last packet from the locked source */
	struct netaddr locked;         /* valid when LOCKED */
	int candidate_count;
	uint16_t candidate_seq;
	uint32_t candidate_ssrc;
	struct netaddr candidate;      /* a source on probation */
	struct netaddr signal_ip;      /* where the party's SIP came from (port 0) */
	struct netaddr sdp_ip;         /* what its SDP said (port 0); family 0 = none */
	/* RTCP */
	struct netaddr rtcp_source;
	unsigned long dropped;         /* packets refused */
	enum latch_drop last_drop;     /* why the latest refused packet was */
};

/* The comparisons of the RTP path, inline (every packet makes one or two):
 * netaddr_same_ip and netaddr_same without the call. An IPv6 zone is part
 * of a source, as in netaddr_same. */
static inline bool latch_same_ip(const struct netaddr *a, const struct netaddr *b)
{
	if (a->family == AF_INET)
		return b->family == AF_INET && a->ip.v4.s_addr == b->ip.v4.s_addr;
	return a->family == b->family &&
	       (a->family != AF_INET6 || IN6_ARE_ADDR_EQUAL(&a->ip.v6, &b->ip.v6));
}

static inline bool latch_same_source(const struct netaddr *a, const struct netaddr *b)
{
	return a->port == b->port && latch_same_ip(a, b) &&
	       (a->family != AF_INET6 || a->scope_id == b->scope_id);
}

/* Start learning for a party that signalled from signal_ip (its port is
 * ignored) with SDP address sdp_ip (NULL, family 0 or unspecified when
 * unknown, private or on hold; its port is ignored) and RTP port sdp_port
 * (host order, 0 when unknown). */
void latch_init(struct latch *l, bool strict, const struct netaddr *signal_ip,
		const struct netaddr *sdp_ip, uint16_t sdp_port);

/* New signalling for the stream (re-INVITE/UPDATE): if an address or the
 * port changed, learning starts again; otherwise the lock stays. */
void latch_reset(struct latch *l, const struct netaddr *signal_ip, const struct netaddr *sdp_ip,
		 uint16_t sdp_port);

/* An RTP packet from src with sequence number seq and SSRC ssrc at now_ms:
 * true = accept (forward it), false = drop (counted in dropped). */
bool latch_rtp(struct latch *l, const struct netaddr *src, uint16_t seq, uint32_t ssrc,
	       uint64_t now_ms);

/* An RTCP packet from src: true = accept. */
bool latch_rtcp(struct latch *l, const struct netaddr *src);

/* Where to send this party's RTP: the locked source. False while learning. */
bool latch_rtp_target(const struct latch *l, struct netaddr *out);

/* Where to send its RTCP: the RTCP source once seen, else the locked RTP
 * source with its port + 1 (RFC 3550's convention; a NAT may differ, and then
 * the party's first RTCP packet corrects it). False while learning. */
bool latch_rtcp_target(const struct latch *l, struct netaddr *out);

#endif
