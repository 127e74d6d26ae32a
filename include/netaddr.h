/*
 * netaddr: small helpers for IPv4 socket addresses: format for logs, parse
 * literals, compare. No DNS here, ever (requirement R4: nothing taken from a
 * message may block the loop).
 */
#ifndef SIPNATD_NETADDR_H
#define SIPNATD_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

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

bool netaddr_equal(const struct sockaddr_in *a, const struct sockaddr_in *b);

#endif
