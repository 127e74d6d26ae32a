/*
 * relay: the RTP path (design section 8). One port pair per stream serves both
 * legs: the local leg (the PBX, trusted, sending from the address its SDP
 * names) and the remote leg (learnt by latch.c). A datagram's source tells the
 * legs apart. Each socket is drained with recvmmsg and what it read is sent on
 * with one sendmmsg; the packet path allocates nothing, logs nothing and looks
 * nothing up by scanning: the socket's epoll entry carries its pair, and the
 * pair its stream. A pair's sockets stay bound across calls (relay.c).
 *
 * Families (issue 20): the relay always binds IPv4 sockets; given an IPv6
 * bind address too, each pair also has IPv6 RTP and RTCP sockets on the same
 * port numbers (IPV6_V6ONLY), bound once like the IPv4 ones. Each leg is of
 * its own family: a packet goes out on the pair's socket of its destination's
 * family, so an IPv6 phone and an IPv4 PBX share one relay port.
 */
#ifndef SIPNATD_RELAY_H
#define SIPNATD_RELAY_H

#include "netaddr.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct relay;
struct relay_stream;

/* Why a stream dropped a packet (the latest one is kept with its source). */
enum relay_drop {
	RELAY_DROP_NONE,
	RELAY_DROP_MALFORMED,       /* not RTP/RTCP, or truncated */
	RELAY_DROP_NO_TARGET,       /* nowhere to send it yet (other side unknown or on hold) */
	RELAY_DROP_NOT_SIGNALLED,   /* not from the IP the party signalled from (or its SDP) */
	RELAY_DROP_BEFORE_LATCH,    /* during learning, before the source was latched */
	RELAY_DROP_OTHER_PORT,      /* the latched IP, another port, after the lock */
	RELAY_DROP_OTHER_IP,        /* another IP after the lock */
	RELAY_DROP_RTCP_EARLY,      /* RTCP before the RTP source was latched */
	RELAY_DROP_RTCP_OTHER,      /* RTCP from another source than the learnt one */
	RELAY_DROP_NOT_SDP,         /* not from its SDP address (media not latched) */
	RELAY_DROP_SEND_FAILED,     /* the kernel refused to send it on */
};

struct relay_leg_stats {
	unsigned long packets, bytes;   /* received from this leg and forwarded */
	unsigned long dropped;          /* refused (latching, malformed, no target yet) */
};

struct relay_stream_stats {
	uint16_t port;
	struct relay_leg_stats local, remote;
	uint64_t last_packet_ms;        /* monotonic ms of the last forwarded packet, 0 = none */
	enum relay_drop drop_why;       /* the latest drop, RELAY_DROP_NONE if none */
	struct netaddr drop_from;       /* ...and where that packet came from (family 0: none) */
	unsigned long source_dropped;   /* drops because of their source (latching) */
};

/* "not from the signalled IP", "before latch", ... for log lines. */
const char *relay_drop_name(enum relay_drop why);

/* Whether why is about the packet's source (as opposed to its content). */
bool relay_drop_is_source(enum relay_drop why);

/* The relay binds its IPv4 sockets on bind4 (AF_INET, port ignored) and,
 * when bind6 is not NULL (AF_INET6: :: or an address of the host), IPv6
 * sockets beside them on the same ports; ports come from rtpstart..rtpend.
 * A pair is bound at its first call and stays bound until relay_free or a
 * reload that moves the range away from it. An IPv6 address that cannot be
 * bound at all (no IPv6 on the host, an address it does not have) leaves the
 * relay IPv4 only: relay_has_ipv6 says so. NULL on a bad bind4 or out of
 * memory. */
struct relay *relay_new(struct event_base *base, const struct netaddr *bind4,
			const struct netaddr *bind6, int rtpstart, int rtpend);

/* Whether the pairs have IPv6 sockets (relay_new was given a usable bind6). */
bool relay_has_ipv6(const struct relay *r);
void relay_free(struct relay *r);

/* A reload changed the range: new streams only (R41). The free pairs that
 * leave it close their sockets now, the used ones when their call ends. */
int relay_resize(struct relay *r, int rtpstart, int rtpend);

/* Open a stream on a free pair (bound and listening; nothing that reached the
 * pair before counts). NULL when the pool is empty (the caller answers 503). */
struct relay_stream *relay_stream_open(struct relay *r);

/* Close a stream and give its pair back. */
void relay_stream_close(struct relay *r, struct relay_stream *s);

uint16_t relay_stream_port(const struct relay_stream *s);

/* The local leg's media addresses, from its SDP (RTCP at rtcp; mux: RTCP on
 * the RTP port), of either family. An unspecified address (hold: 0.0.0.0 or
 * ::), port 0 or family 0 sends nothing to it. */
void relay_stream_set_local(struct relay_stream *s, const struct netaddr *rtp,
			    const struct netaddr *rtcp, bool mux);

/* The remote leg: it signalled from signal_ip and its SDP says sdp_ip (NULL
 * or unspecified when private) and RTP port sdp_port (host order); strict =
 * strictrtp. Ports of the addresses are ignored. Called again on new
 * signalling (re-INVITE): learning restarts only if one of them changed. */
void relay_stream_set_remote(struct relay_stream *s, bool strict, const struct netaddr *signal_ip,
			     const struct netaddr *sdp_ip, uint16_t sdp_port, bool mux);

/* Until the remote leg is latched, send to these addresses (what its SDP
 * says, when signalling vouches for it); NULL = nothing before the latch.
 * For a party whose nat lacks comedia but which is evidently behind NAT: its
 * SDP may be right (a public address it learnt), and early media need not
 * wait for its first packet. */
void relay_stream_set_remote_fallback(struct relay_stream *s, const struct netaddr *rtp,
				      const struct netaddr *rtcp);

/* The remote leg without learning (a peer whose nat lacks comedia): its SDP
 * addresses are used as given, and only its SDP IP is accepted. */
void relay_stream_set_remote_fixed(struct relay_stream *s, const struct netaddr *rtp,
				   const struct netaddr *rtcp, bool mux);

void relay_stream_get_stats(const struct relay_stream *s, struct relay_stream_stats *out);

/* Monotonic milliseconds as the relay sees them (for timeouts). */
uint64_t relay_now_ms(void);

size_t relay_streams_open(const struct relay *r);
size_t relay_ports_free(const struct relay *r);
size_t relay_ports_capacity(const struct relay *r);

#endif
