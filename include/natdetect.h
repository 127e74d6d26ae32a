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

#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stddef.h>

/* Why a party looks NATed: a set of these bits, 0 = no evidence. */
#define NATDETECT_VIA 0x1         /* source differs from the top Via sent-by */
#define NATDETECT_CONTACT 0x2     /* source differs from the Contact host:port */
#define NATDETECT_SDP_PRIVATE 0x4 /* the SDP names a private address */
#define NATDETECT_SDP_OTHER 0x8   /* the SDP names another IP than the source */

/* True for addresses no Internet party's media can come from. IPv4: 0/8,
 * RFC 1918, RFC 6598 shared space (CGNAT 100.64/10), loopback, link-local,
 * the IETF protocol block 192.0.0/24 (DS-Lite's B4), multicast and 240/4.
 * IPv6: unspecified ::, loopback ::1, unique local fc00::/7 (RFC 4193),
 * link-local fe80::/10, the old site-local fec0::/10 and multicast
 * ff00::/8; a v4-mapped address is its IPv4 address. The documentation nets
 * (TEST-NET-1..3, 2001:db8::/32) count as public. False for family 0. */
bool natdetect_is_private(const struct netaddr *addr);

/* Source src against a claimed host (text) and port (text, NULL = default
 * 5060): NATDETECT bit `bit` when host is an address literal and host:port is
 * not src; 0 when they match or host is a name (or NULL). An IPv6 host
 * ("[2001:db8::1]", or bare as libosip2 keeps it) is compared by value, and
 * never matches a source of the other family. */
unsigned natdetect_claim(const struct netaddr *src, const char *host, const char *port,
			 unsigned bit);

/* The signalling evidence of msg, received from src: its top Via (requests
 * only: a response's top Via is a hop of ours) and its first Contact. */
unsigned natdetect_signalling(const osip_message_t *msg, const struct netaddr *src);

/* The evidence of one SDP connection address: none when it is the source
 * IP or unspecified (hold: 0.0.0.0, ::); else private or merely another
 * address. */
unsigned natdetect_sdp(const struct netaddr *sdp_addr, const struct netaddr *src_ip);

/* "Via, Contact, private SDP address" for log lines; "none" for 0. */
const char *natdetect_describe(unsigned reasons, char *buf, size_t len);

/* Whether nat (CONF_NAT_* flags) forces rport for a request from src whose
 * top Via sent-by is host:port: force_rport always, auto when they differ
 * (or the sent-by is a name, which cannot be checked). */
bool natdetect_force_rport(unsigned nat, const struct netaddr *src, const char *via_host,
			   const char *via_port);

/* What cannot work for a phone behind NAT with this peer's settings, as one
 * sentence into buf (the first problem found); false when nothing. Only
 * peers that register (phones) are judged: a trunk is where its host says. */
bool natdetect_peer_warning(const struct conf_peer *peer, char *buf, size_t len);

#endif
