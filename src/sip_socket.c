/*
 * sip_socket: first and last step of the SIP path (receive ... send). One
 * non-blocking UDP socket per family in the libevent loop (the IPv6 one
 * IPV6_V6ONLY, so that IPv4 keeps its own socket, byte for byte as before);
 * a read event drains up to a bounded number of datagrams so that a flood
 * cannot starve timers, signals or the RTP relay.
 */
#include "sip_socket.h"

#include "log.h"
#include "netaddr.h"
#include "sipmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SIP_RECV_BATCH 16
#define SIP_RECV_PER_WAKE 256   /* datagrams handled before yielding to the loop */
#define SIP_RCVBUF_BYTES (4 << 20)

/* One bound socket: [0] IPv4, [1] IPv6; fd -1 when that family is off. */
struct sip_sock_fd {
	int fd;
	struct netaddr local;
	struct event *read_ev;
	struct sip_socket *owner;
};

struct sip_socket {
	struct sip_sock_fd s[2];
	bool reading;
	sip_datagram_fn fn;
	void *arg;
	unsigned long rx_overflows;
	unsigned long send_errors;
	/* recvmmsg buffers: one datagram each, one byte more than the SIP limit so
	 * that an oversized datagram is seen as such (MSG_TRUNC). */
	struct mmsghdr msgs[SIP_RECV_BATCH];
	struct iovec iov[SIP_RECV_BATCH];
	struct sockaddr_storage from[SIP_RECV_BATCH];
	char cmsg[SIP_RECV_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	char buf[SIP_RECV_BATCH][SIPMSG_MAX_SIZE + 1];
};

static bool trace_on;
static struct log_limit recv_err_limit = LOG_LIMIT_INIT(10, 5);
static struct log_limit send_err_limit = LOG_LIMIT_INIT(10, 5);

/* An address for a log line: IPv4 as it always was ("a.b.c.d:port", the
 * port even when 0), IPv6 bracketed with its port. */
static const char *addr_text(const struct netaddr *a, char buf[NETADDR_TEXT_MAX])
{
	struct sockaddr_in sin;

	if (netaddr_to_in(a, &sin))
		return netaddr_format(&sin, buf);
	return netaddr_print(a, buf);
}

void sip_socket_set_trace(bool on)
{
	trace_on = on;
}

void sip_socket_trace(const char *direction, const struct netaddr *peer, const char *buf, size_t len)
{
	char addr[NETADDR_TEXT_MAX];

	if (!trace_on)
		return;
	/* Cut at the log line limit; a trace is a debug aid, not a capture. */
	log_notice("siptrace %s %s (%zu bytes):\n%.*s", direction, addr_text(peer, addr), len,
		   (int)(len > 1900 ? 1900 : len), buf);
}

static void note_overflow(struct sip_socket *sock, struct msghdr *hdr)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(hdr); c; c = CMSG_NXTHDR(hdr, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t dropped;
			memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
			if (dropped > sock->rx_overflows) {
				log_limited(&recv_err_limit, LOG_WARNING,
					    "SIP receive queue overflowed: %lu datagrams dropped by the kernel so far",
					    (unsigned long)dropped);
				sock->rx_overflows = dropped;
			}
		}
	}
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sip_socket *sock = ((struct sip_sock_fd *)arg)->owner;
	int handled = 0;
	struct netaddr src;

	while (handled < SIP_RECV_PER_WAKE) {
		for (int i = 0; i < SIP_RECV_BATCH; i++) {
			sock->iov[i].iov_base = sock->buf[i];
			sock->iov[i].iov_len = sizeof(sock->buf[i]);
			memset(&sock->msgs[i].msg_hdr, 0, sizeof(sock->msgs[i].msg_hdr));
			sock->msgs[i].msg_hdr.msg_name = &sock->from[i];
			sock->msgs[i].msg_hdr.msg_namelen = sizeof(sock->from[i]);
			sock->msgs[i].msg_hdr.msg_iov = &sock->iov[i];
			sock->msgs[i].msg_hdr.msg_iovlen = 1;
			sock->msgs[i].msg_hdr.msg_control = sock->cmsg[i];
			sock->msgs[i].msg_hdr.msg_controllen = sizeof(sock->cmsg[i]);
		}
		int n = recvmmsg(fd, sock->msgs, SIP_RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ICMP errors from earlier sends surface here (ECONNREFUSED):
			 * the socket stays usable, so note and go on. */
			log_limited(&recv_err_limit, LOG_INFO, "SIP receive: %s", strerror(errno));
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
				continue;
			return;
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *hdr = &sock->msgs[i].msg_hdr;
			size_t len = sock->msgs[i].msg_len;
			note_overflow(sock, hdr);
			if (hdr->msg_flags & MSG_TRUNC)
				len = SIPMSG_MAX_SIZE + 1;
			if (!netaddr_from_sockaddr((const struct sockaddr *)&sock->from[i], hdr->msg_namelen,
						   &src))
				continue;
			sip_socket_trace("in from", &src, sock->buf[i], len > SIPMSG_MAX_SIZE ? 0 : len);
			sock->fn(sock->arg, sock->buf[i], len, &src);
			/* the callback may have stopped us (shutdown) */
			if (!sock->reading)
				return;
		}
		handled += n;
		if (n < SIP_RECV_BATCH)
			return;
	}
}

/* Bind one socket of bind's family into slot. 0, or -1 with err set. */
static int open_one(struct sip_socket *sock, struct event_base *base, struct sip_sock_fd *slot,
		    const struct netaddr *bind_addr, char *err, size_t errlen)
{
	char addr[NETADDR_TEXT_MAX];
	int one = 1, rcvbuf = SIP_RCVBUF_BYTES;
	struct sockaddr_storage ss;
	socklen_t blen = netaddr_to_sockaddr(bind_addr, bind_addr->family, &ss), slen = sizeof(ss);

	slot->owner = sock;
	slot->fd = socket(bind_addr->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (slot->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Best effort: a larger queue absorbs bursts; overflow is counted. */
	setsockopt(slot->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(slot->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* IPv4 has a socket of its own (issue 20, decision 1): no v4-mapped
	 * traffic here */
	if (bind_addr->family == AF_INET6 &&
	    setsockopt(slot->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "IPV6_V6ONLY: %s", strerror(errno));
		return -1;
	}
	if (blen == 0 || bind(slot->fd, (const struct sockaddr *)&ss, blen) != 0) {
		snprintf(err, errlen, "bind %s: %s", addr_text(bind_addr, addr), strerror(errno));
		return -1;
	}
	if (getsockname(slot->fd, (struct sockaddr *)&ss, &slen) != 0 ||
	    !netaddr_from_sockaddr((const struct sockaddr *)&ss, slen, &slot->local))
		slot->local = *bind_addr;
	slot->read_ev = event_new(base, slot->fd, EV_READ | EV_PERSIST, read_cb, slot);
	if (!slot->read_ev || event_add(slot->read_ev, NULL) != 0) {
		snprintf(err, errlen, "cannot add the SIP socket to the event loop");
		return -1;
	}
	return 0;
}

struct sip_socket *sip_socket_open(struct event_base *base, const struct netaddr *bind4,
				   const struct netaddr *bind6, sip_datagram_fn fn, void *arg,
				   char *err, size_t errlen)
{
	struct sip_socket *sock = calloc(1, sizeof(*sock));

	if (!sock) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sock->fn = fn;
	sock->arg = arg;
	sock->s[0].fd = sock->s[1].fd = -1;
	sock->reading = true;
	if ((!bind4 && !bind6) || (bind4 && bind4->family != AF_INET) ||
	    (bind6 && bind6->family != AF_INET6)) {
		snprintf(err, errlen, "no address to bind");
		free(sock);
		return NULL;
	}
	if ((bind4 && open_one(sock, base, &sock->s[0], bind4, err, errlen) != 0) ||
	    (bind6 && open_one(sock, base, &sock->s[1], bind6, err, errlen) != 0)) {
		sip_socket_close(sock);
		return NULL;
	}
	return sock;
}

void sip_socket_stop_reading(struct sip_socket *sock)
{
	if (!sock)
		return;
	sock->reading = false;
	for (int i = 0; i < 2; i++) {
		if (sock->s[i].read_ev) {
			event_free(sock->s[i].read_ev);
			sock->s[i].read_ev = NULL;
		}
	}
}

void sip_socket_close(struct sip_socket *sock)
{
	if (!sock)
		return;
	sip_socket_stop_reading(sock);
	for (int i = 0; i < 2; i++)
		if (sock->s[i].fd >= 0)
			close(sock->s[i].fd);
	free(sock);
}

bool sip_socket_local(const struct sip_socket *sock, int family, struct netaddr *out)
{
	const struct sip_sock_fd *slot = &sock->s[family == AF_INET6];

	if (slot->fd < 0 || (family != AF_INET && family != AF_INET6))
		return false;
	*out = slot->local;
	return true;
}

int sip_socket_send(struct sip_socket *sock, const char *buf, size_t len, const struct netaddr *to)
{
	char addr[NETADDR_TEXT_MAX];
	struct sockaddr_storage ss;
	const struct sip_sock_fd *slot = &sock->s[to->family == AF_INET6];
	socklen_t slen = slot->fd >= 0 ? netaddr_to_sockaddr(to, to->family, &ss) : 0;

	sip_socket_trace("out to", to, buf, len);
	if (slen == 0) {
		/* no socket of that family (bindaddr is IPv4): nothing to send on */
		errno = EAFNOSUPPORT;
	} else {
		for (int attempt = 0; attempt < 2; attempt++) {
			ssize_t n = sendto(slot->fd, buf, len, 0, (const struct sockaddr *)&ss, slen);
			if (n == (ssize_t)len)
				return 0;
			/* A pending ICMP error from an earlier datagram is reported on this
			 * send; it is not about this one, so try once more. */
			if (n < 0 && (errno == ECONNREFUSED || errno == EHOSTUNREACH) && attempt == 0)
				continue;
			break;
		}
	}
	sock->send_errors++;
	log_limited(&send_err_limit, LOG_WARNING, "SIP send to %s failed: %s",
		    addr_text(to, addr), strerror(errno));
	return -1;
}

unsigned long sip_socket_rx_overflows(const struct sip_socket *sock)
{
	return sock->rx_overflows;
}

unsigned long sip_socket_send_errors(const struct sip_socket *sock)
{
	return sock->send_errors;
}
