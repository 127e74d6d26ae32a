/*
 * natdetect: is a remote party evidently behind NAT? (issue 10; Asterisk's
 * auto_force_rport / auto_comedia.) Pure: every answer comes from the
 * addresses handed in, nothing is looked up.
 *
 * The evidence is what a phone that tells the truth never shows: its request
 * came from another address than its top Via's sent-by, or than its Contact;
 * or its SDP names a private (not globally routable) address, or another IP
 * than the one its signalling came from. Names (a sent-by or Contact host
 * that is not an address literal) are no evidence either way: they cannot be
 * checked without DNS.
 */
#ifndef SIPNATD_NATDETECT_H
#define SIPNATD_NATDETECT_H

#include "conf.h"
#include "netaddr.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stddef.h>

/* Why a party looks NATed: a set of these bits, 0 = no evidence. */
#define NATDETECT_VIA 0x1         /* source differs from the top Via sent-by */
#define NATDETECT_CONTACT 0x2     /* source differs from the Contact host:port */
#define NATDETECT_SDP_PRIVATE 0x4 /* the SDP names a private address */
#define NATDETECT_SDP_OTHER 0x8   /* the SDP names another IP than the source */

/* True for addresses no Internet party's media can come from: 0/8, RFC 1918,
 * RFC 6598 shared space (CGNAT 100.64/10), loopback, link-local, the IETF
 * protocol block 192.0.0/24 (DS-Lite's B4), multicast and 240/4. The
 * documentation nets (TEST-NET-1..3) count as public. */
bool natdetect_is_private(struct in_addr addr);

/* Source src against a claimed host (text) and port (text, NULL = default
 * 5060): NATDETECT bit `bit` when host is an address literal and host:port is
 * not src (an IPv6 literal never is an IPv4 source); 0 when they match or
 * host is a name (or NULL). */
unsigned natdetect_claim(const struct sockaddr_in *src, const char *host, const char *port,
			 unsigned bit);

/* The signalling evidence of msg, received from src: its top Via (requests
 * only: a response's top Via is a hop of ours) and its first Contact. */
unsigned natdetect_signalling(const osip_message_t *msg, const struct sockaddr_in *src);

/* The evidence of one SDP connection address: none when it is the source
 * IP or 0.0.0.0 (hold); else private or merely another address. */
unsigned natdetect_sdp(struct in_addr sdp_addr, struct in_addr src_ip);

/* ---- either family (issue 20) ---- */

/* natdetect_is_private for either family. IPv6: unspecified ::, loopback
 * ::1, unique local fc00::/7 (RFC 4193), link-local fe80::/10, the old
 * site-local fec0::/10 and multicast ff00::/8. A v4-mapped address is its
 * IPv4 address. The documentation prefix 2001:db8::/32 counts as public,
 * as the IPv4 TEST-NETs do. */
bool natdetect_is_private_addr(const struct netaddr *addr);

/* natdetect_claim, natdetect_signalling, natdetect_sdp and
 * natdetect_force_rport for a source of either family: an IPv6 host in a
 * Via or Contact ("[2001:db8::1]", or bare as libosip2 keeps it) is
 * compared by value. */
unsigned natdetect_claim_addr(const struct netaddr *src, const char *host, const char *port,
			      unsigned bit);
unsigned natdetect_signalling_addr(const osip_message_t *msg, const struct netaddr *src);
unsigned natdetect_sdp_addr(const struct netaddr *sdp_addr, const struct netaddr *src_ip);
bool natdetect_force_rport_addr(unsigned nat, const struct netaddr *src, const char *via_host,
				const char *via_port);

/* "Via, Contact, private SDP address" for log lines; "none" for 0. */
const char *natdetect_describe(unsigned reasons, char *buf, size_t len);

/* Whether nat (CONF_NAT_* flags) forces rport for a request from src whose
 * top Via sent-by is host:port: force_rport always, auto when they differ. */
bool natdetect_force_rport(unsigned nat, const struct sockaddr_in *src, const char *via_host,
			   const char *via_port);

/* What cannot work for a phone behind NAT with this peer's settings, as one
 * sentence into buf (the first problem found); false when nothing. Only
 * peers that register (phones) are judged: a trunk is where its host says. */
bool natdetect_peer_warning(const struct conf_peer *peer, char *buf, size_t len);

#endif
