/*
 * sip_socket: the SIP UDP socket on bindaddr:bindport. Receiving drains the
 * socket in batches (recvmmsg) and hands each datagram to a callback; sending
 * goes out of the same socket, so every response leaves from the port its
 * request came in on (RFC 3581 4).
 */
#ifndef SIPNATD_SIP_SOCKET_H
#define SIPNATD_SIP_SOCKET_H

#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct sip_socket;

typedef void (*sip_datagram_fn)(void *arg, const char *buf, size_t len,
				const struct sockaddr_in *src);

/* Bind a non-blocking UDP socket and start reading it in base. On failure
 * returns NULL with the reason in err ("bind 0.0.0.0:5060: Address already in
 * use"). Datagrams larger than the buffer are reported with len > the SIP
 * limit so that the callback can drop them. */
struct sip_socket *sip_socket_open(struct event_base *base, const struct sockaddr_in *bind_addr,
				   sip_datagram_fn fn, void *arg, char *err, size_t errlen);

/* Stop reading new datagrams (shutdown); sending still works. */
void sip_socket_stop_reading(struct sip_socket *sock);

void sip_socket_close(struct sip_socket *sock);

/* The bound address (with the real port if 0 was asked for). */
struct sockaddr_in sip_socket_local(const struct sip_socket *sock);

/* Send one datagram. Transient errors (EAGAIN, ENOBUFS, an ICMP error reported
 * from an earlier send) are counted and rate-limit logged, never fatal.
 * Returns 0 when the kernel took it, -1 otherwise. */
int sip_socket_send(struct sip_socket *sock, const char *buf, size_t len,
		    const struct sockaddr_in *to);

/* Log every message in and out (siptrace / -dd). */
void sip_socket_set_trace(bool on);
void sip_socket_trace(const char *direction, const struct sockaddr_in *peer, const char *buf, size_t len);

/* Datagrams dropped because the receive queue overflowed (SO_RXQ_OVFL), and
 * sends that failed. */
unsigned long sip_socket_rx_overflows(const struct sip_socket *sock);
unsigned long sip_socket_send_errors(const struct sip_socket *sock);

#endif
