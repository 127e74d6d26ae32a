/*
 * netaddr: small helpers for socket addresses: format for logs, parse
 * literals, compare. No DNS here, ever (requirement R4: nothing taken from a
 * message may block the loop).
 *
 * Two layers: the IPv4 functions on struct sockaddr_in that the SIP and RTP
 * paths use today, and struct netaddr, one value type for IPv4 and IPv6
 * (issue 20) that the paths move to. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 peer) is
 * always held as the IPv4 address it maps, so that one party has one value.
 */
#ifndef SIPNATD_NETADDR_H
#define SIPNATD_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_STRLEN 24 /* "255.255.255.255:65535" + NUL */

/* "a.b.c.d" into buf, as inet_ntop writes it, without stdio (the SIP path
 * writes addresses into every message); returns the length. */
size_t netaddr_ipv4_str(struct in_addr ip, char buf[16]);

/* Decimal port into buf; returns the length. */
size_t netaddr_port_str(uint16_t port, char buf[6]);

/* "a.b.c.d:port" into buf; returns buf. */
const char *netaddr_format(const struct sockaddr_in *addr, char buf[NETADDR_STRLEN]);

/* Strict dotted-quad IPv4 literal. */
bool netaddr_parse_ipv4(const char *text, struct in_addr *out);

/* Strict decimal port 1..65535. */
bool netaddr_parse_port(const char *text, uint16_t *out);

/* Build a sockaddr_in from an address and a port in host order. */
struct sockaddr_in netaddr_make(struct in_addr ip, uint16_t port);

/* ---- family-neutral addresses ---- */

/* An IPv4 or IPv6 address and a port. A value: copy it, compare it with
 * netaddr_same; family 0 means "no address". */
struct netaddr {
	sa_family_t family;      /* AF_INET, AF_INET6, or 0 */
	uint16_t port;           /* host order; 0 = none */
	uint32_t scope_id;       /* IPv6 zone (link-local) from a socket, else 0 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} ip;
};

/* "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" + NUL */
#define NETADDR_TEXT_MAX 56
/* an address alone, bracketed: "[" INET6_ADDRSTRLEN "]" */
#define NETADDR_HOST_MAX 48

/* An address prefix (a localnet entry, a ban's scope): the network with its
 * host bits cleared, and its length (0..32 for IPv4, 0..128 for IPv6). */
struct netaddr_prefix {
	struct netaddr net;      /* port 0 */
	unsigned len;
};

/* The address of a socket address (sockaddr_in or sockaddr_in6, len its size
 * as recvfrom gives it); v4-mapped IPv6 becomes IPv4. False for another
 * family or a short len. */
bool netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct netaddr *out);

/* The same from the IPv4 type of the older API. */
struct netaddr netaddr_from_in(const struct sockaddr_in *sin);

/* addr as a socket address to send through a socket of family sock_family:
 * an IPv4 address on an AF_INET6 socket is written v4-mapped. Returns the
 * length to give sendto, 0 when addr cannot go there (IPv6 to an AF_INET
 * socket, family 0). */
socklen_t netaddr_to_sockaddr(const struct netaddr *addr, int sock_family,
			      struct sockaddr_storage *out);

/* addr as the older API's sockaddr_in; false when it is not IPv4. */
bool netaddr_to_in(const struct netaddr *addr, struct sockaddr_in *out);

/* An address literal without port: dotted-quad IPv4, or IPv6 with or without
 * the brackets of an IPv6reference (RFC 3261 25.1). Strict: no blanks, no
 * zone, no name. out->port is 0. */
bool netaddr_parse_ip(const char *text, struct netaddr *out);

/* An address with an optional port: "192.0.2.1", "192.0.2.1:5060",
 * "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:5060". A bare IPv6 literal
 * never has a port (the last group is part of the address). Port absent = 0. */
bool netaddr_parse(const char *text, struct netaddr *out);

/* For logs and sipnatctl: "192.0.2.1:5060", "[2001:db8::1]:5060"; without
 * the port when it is 0 ("192.0.2.1", "2001:db8::1"); "-" for family 0.
 * Returns buf. */
const char *netaddr_print(const struct netaddr *addr, char buf[NETADDR_TEXT_MAX]);

/* The address alone as inet_ntop writes it, never bracketed: what goes in a
 * Via received= (RFC 3261 25.1: via-received is IPv6address, no brackets;
 * RFC 5118 4.5), an SDP c=/o= address (RFC 4566 IP6-address), and the host
 * field of a libosip2 URI or Via, which adds the brackets itself. */
const char *netaddr_ip_text(const struct netaddr *addr, char buf[NETADDR_HOST_MAX]);

/* The address as a SIP host (RFC 3261 25.1 host = hostname / IPv4address /
 * IPv6reference): IPv6 in brackets. For SIP text written by hand: a Via
 * sent-by, a maddr parameter, a URI built as a string. */
const char *netaddr_sip_host(const struct netaddr *addr, char buf[NETADDR_HOST_MAX]);

/* Same family, address, zone and port. */
bool netaddr_same(const struct netaddr *a, const struct netaddr *b);

/* Same family and address; ports and zones aside. */
bool netaddr_same_ip(const struct netaddr *a, const struct netaddr *b);

/* IPv4 and not 0.0.0.0, or IPv6 and not ::. */
bool netaddr_is_specified(const struct netaddr *addr);

/* "a.b.c.d/n", "a.b.c.d/m.m.m.m" (a contiguous mask) or "x:x::x/n"; the host
 * bits are cleared ("192.168.0.1/24" is 192.168.0.0/24). A v4-mapped prefix
 * of at least /96 becomes the IPv4 prefix it maps. False on anything else. */
bool netaddr_prefix_parse(const char *text, struct netaddr_prefix *out);

/* The prefix of length len (clamped to the family's width) holding addr. */
struct netaddr_prefix netaddr_prefix_of(const struct netaddr *addr, unsigned len);

/* addr lies in prefix (same family, the first len bits equal). */
bool netaddr_prefix_match(const struct netaddr_prefix *prefix, const struct netaddr *addr);

/* "192.168.0.0/24", "2001:db8::/48". Returns buf. */
const char *netaddr_prefix_print(const struct netaddr_prefix *prefix, char buf[NETADDR_TEXT_MAX]);

#endif
