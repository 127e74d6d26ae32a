/*
 * sip_socket: the SIP UDP sockets on bindaddr:bindport, one per family
 * (issue 20: an IPv6 one, IPV6_V6ONLY, beside the IPv4 one when bindaddr
 * is "::" or IPv6). Receiving drains the
 * socket in batches (recvmmsg) and hands each datagram to a callback; sending
 * goes out of the same socket, so every response leaves from the port its
 * request came in on (RFC 3581 4).
 */
#ifndef SIPNATD_SIP_SOCKET_H
#define SIPNATD_SIP_SOCKET_H

#include "netaddr.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct sip_socket;

typedef void (*sip_datagram_fn)(void *arg, const char *buf, size_t len,
				const struct netaddr *src);

/* Bind a non-blocking UDP socket on bind4 (IPv4) and one on bind6 (IPv6,
 * IPV6_V6ONLY), either NULL for none but not both, and start reading them
 * in base. On failure returns NULL with the reason in err ("bind
 * 0.0.0.0:5060: Address already in use"). Datagrams larger than the buffer
 * are reported with len > the SIP limit so that the callback can drop them. */
struct sip_socket *sip_socket_open(struct event_base *base, const struct netaddr *bind4,
				   const struct netaddr *bind6, sip_datagram_fn fn, void *arg,
				   char *err, size_t errlen);

/* Stop reading new datagrams (shutdown); sending still works. */
void sip_socket_stop_reading(struct sip_socket *sock);

void sip_socket_close(struct sip_socket *sock);

/* The bound address of the family's socket (with the real port if 0 was
 * asked for); false when there is no socket of that family. */
bool sip_socket_local(const struct sip_socket *sock, int family, struct netaddr *out);

/* Send one datagram, from the socket of to's family. Transient errors
 * (EAGAIN, ENOBUFS, an ICMP error reported from an earlier send) are counted
 * and rate-limit logged, never fatal; so is a destination of a family with no
 * socket. Returns 0 when the kernel took it, -1 otherwise. */
int sip_socket_send(struct sip_socket *sock, const char *buf, size_t len, const struct netaddr *to);

/* Log every message in and out (siptrace / -dd). */
void sip_socket_set_trace(bool on);
void sip_socket_trace(const char *direction, const struct netaddr *peer, const char *buf, size_t len);

/* Datagrams dropped because the receive queue overflowed (SO_RXQ_OVFL), and
 * sends that failed. */
unsigned long sip_socket_rx_overflows(const struct sip_socket *sock);
unsigned long sip_socket_send_errors(const struct sip_socket *sock);

#endif
