/*
 * media: relay sessions of calls, as signalling sees them (design section 8).
 * A session belongs to one Call-ID and holds one relay stream per m= line. It
 * is created by an offer, completed by the answer, kept (same ports) across
 * re-offers and hold, and ended by BYE, CANCEL, a failed initial INVITE, an
 * INVITE never answered, or rtptimeout (rtpholdtimeout on hold) without
 * media. The forward step calls media_rewrite for every message with an SDP
 * body that crosses between the LAN and the Internet.
 */
#ifndef SIPNATD_MEDIA_H
#define SIPNATD_MEDIA_H

#include "conf.h"
#include "netaddr.h"
#include "relay.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stddef.h>

#define MEDIA_ANSWER_TIMEOUT_S 200  /* Timer C (3 min) and a margin */
#define MEDIA_NO_RESPONSE_S 32      /* Timer B (64*T1): not even a 100 Trying */
#define SDP_MAX_MEDIA_INFO 16       /* = SDP_MAX_MEDIA */

struct media;

enum media_result {
	MEDIA_DONE,      /* nothing to do, or the body was rewritten */
	MEDIA_NO_PORTS,  /* the pool is empty: answer 503, forward nothing */
	MEDIA_BAD_SDP,   /* unusable SDP: answer 488 (requests) or drop */
	MEDIA_FAILED,    /* out of memory */
	MEDIA_CALL_LIMIT,  /* the peer is at its calllimit: answer 486 */
	MEDIA_RELAY_LIMIT, /* the peer would exceed its maxrelays: answer 503 */
};

/* The relay binds IPv4 on conf's bindaddr (struct in_addr), IPv4 only. */
struct media *media_new(struct event_base *base, const struct conf *conf);

/* The relay binds IPv4 sockets on bind4 (AF_INET) and, when bind6 is not
 * NULL, IPv6 sockets on bind6 beside them, on the same ports. An IPv6
 * address the host cannot bind is logged and leaves the relay IPv4 only. */
struct media *media_new_bind(struct event_base *base, const struct conf *conf,
			     const struct netaddr *bind4, const struct netaddr *bind6);

/* The relay binds where general.bindaddr says (issue 20, decision 1): an
 * IPv4 literal, IPv4 alone on it (as media_new); "::" or an IPv6 literal,
 * IPv6 sockets on it and IPv4 ones on 0.0.0.0 beside them. An IPv6 address
 * the host cannot bind is logged and leaves the relay IPv4 only. */
struct media *media_new_at(struct event_base *base, const struct conf *conf,
			   const struct netaddr *bindaddr);
void media_free(struct media *m);

/* A reload: new range for new calls, new timeouts and strictness. */
void media_reconfigure(struct media *m, const struct conf *conf);

/* Rewrite the SDP body of msg, which travels from the LAN (from_local) or
 * from the Internet, sent by signal_src, toward a party that must see
 * advertised as sipnatd's address (ports of both ignored). The rewritten SDP
 * says advertised's family (c=, o=, a=rtcp, a hold address), the family of
 * the receiver's leg; the sender's leg is of its own SDP's family, so the
 * relay bridges IPv6 and IPv4 (issue 20, decision 5). IN IP6 media is read
 * only when the relay has IPv6; an IPv6 advertised address without it is
 * refused (MEDIA_NO_PORTS). Creates or updates the session of the
 * message's Call-ID. peer, when known, is the Internet party's configured
 * peer: directmedia = true leaves its calls unrelayed, a nat without
 * comedia sends its media where its SDP says instead of latching unless the
 * party is evidently behind NAT (natdetect: then it is latched), and its
 * calllimit and maxrelays refuse a call before anything is allocated. A new
 * INVITE refused here counts as a failed call. */
enum media_result media_rewrite(struct media *m, osip_message_t *msg, bool from_local,
				const struct netaddr *signal_src, const struct netaddr *advertised,
				const struct conf_peer *peer);

/* Signalling news for the session of msg's Call-ID (after it was forwarded):
 * BYE and CANCEL end it; a final response to its INVITE confirms it (2xx) or
 * ends it (>= 300, while not yet confirmed). */
void media_note(struct media *m, const osip_message_t *msg);

/* One call as the control socket shows it. */
struct media_call_info {
	const char *call_id;
	bool confirmed, hold;
	uint64_t age_ms;
	size_t streams;
	struct relay_stream_stats stats[SDP_MAX_MEDIA_INFO];
};
void media_foreach(const struct media *m, void (*fn)(void *arg, const struct media_call_info *info),
		   void *arg);

/* Relay totals since start: packets and bytes each way, drops. */
struct media_totals {
	unsigned long local_packets, local_bytes, remote_packets, remote_bytes;
	unsigned long local_dropped, remote_dropped;
	unsigned long calls_set_up, calls_failed, calls_ended;
};
void media_totals(const struct media *m, struct media_totals *out);

/* A new call refused before the media step saw it (no external address, a
 * next hop that does not resolve): counted under calls failed. */
void media_count_refused(struct media *m);

/* Sessions and what they carry, for stats and the control socket. */
size_t media_sessions(const struct media *m);
size_t media_ports_free(const struct media *m);
size_t media_ports_capacity(const struct media *m);

#endif
