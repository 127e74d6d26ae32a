/*
 * sip_socket: first and last step of the SIP path (receive ... send). One
 * non-blocking UDP socket in the libevent loop; a read event drains up to a
 * bounded number of datagrams so that a flood cannot starve timers, signals
 * or the RTP relay.
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

struct sip_socket {
	int fd;
	struct sockaddr_in local;
	struct event *read_ev;
	sip_datagram_fn fn;
	void *arg;
	unsigned long rx_overflows;
	unsigned long send_errors;
	/* recvmmsg buffers: one datagram each, one byte more than the SIP limit so
	 * that an oversized datagram is seen as such (MSG_TRUNC). */
	struct mmsghdr msgs[SIP_RECV_BATCH];
	struct iovec iov[SIP_RECV_BATCH];
	struct sockaddr_in from[SIP_RECV_BATCH];
	char cmsg[SIP_RECV_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	char buf[SIP_RECV_BATCH][SIPMSG_MAX_SIZE + 1];
};

static bool trace_on;
static struct log_limit recv_err_limit = LOG_LIMIT_INIT(10, 5);
static struct log_limit send_err_limit = LOG_LIMIT_INIT(10, 5);

void sip_socket_set_trace(bool on)
{
	trace_on = on;
}

void sip_socket_trace(const char *direction, const struct sockaddr_in *peer, const char *buf, size_t len)
{
	char addr[NETADDR_STRLEN];

	if (!trace_on)
		return;
	/* Cut at the log line limit; a trace is a debug aid, not a capture. */
	log_notice("siptrace %s %s (%zu bytes):\n%.*s", direction, netaddr_format(peer, addr), len,
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
	struct sip_socket *sock = arg;
	int handled = 0;

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
			if (sock->from[i].sin_family != AF_INET)
				continue;
			sip_socket_trace("in from", &sock->from[i], sock->buf[i],
					 len > SIPMSG_MAX_SIZE ? 0 : len);
			sock->fn(sock->arg, sock->buf[i], len, &sock->from[i]);
			/* the callback may have stopped us (shutdown) */
			if (!sock->read_ev)
				return;
		}
		handled += n;
		if (n < SIP_RECV_BATCH)
			return;
	}
}

struct sip_socket *sip_socket_open(struct event_base *base, const struct sockaddr_in *bind_addr,
				   sip_datagram_fn fn, void *arg, char *err, size_t errlen)
{
	struct sip_socket *sock = calloc(1, sizeof(*sock));
	char addr[NETADDR_STRLEN];
	int one = 1, rcvbuf = SIP_RCVBUF_BYTES;
	socklen_t slen = sizeof(sock->local);

	if (!sock) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sock->fn = fn;
	sock->arg = arg;
	sock->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(sock);
		return NULL;
	}
	/* Best effort: a larger queue absorbs bursts; overflow is counted. */
	setsockopt(sock->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(sock->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (bind(sock->fd, (const struct sockaddr *)bind_addr, sizeof(*bind_addr)) != 0) {
		snprintf(err, errlen, "bind %s: %s", netaddr_format(bind_addr, addr), strerror(errno));
		close(sock->fd);
		free(sock);
		return NULL;
	}
	getsockname(sock->fd, (struct sockaddr *)&sock->local, &slen);
	sock->read_ev = event_new(base, sock->fd, EV_READ | EV_PERSIST, read_cb, sock);
	if (!sock->read_ev || event_add(sock->read_ev, NULL) != 0) {
		snprintf(err, errlen, "cannot add the SIP socket to the event loop");
		if (sock->read_ev)
			event_free(sock->read_ev);
		close(sock->fd);
		free(sock);
		return NULL;
	}
	return sock;
}

void sip_socket_stop_reading(struct sip_socket *sock)
{
	if (sock && sock->read_ev) {
		event_free(sock->read_ev);
		sock->read_ev = NULL;
	}
}

void sip_socket_close(struct sip_socket *sock)
{
	if (!sock)
		return;
	sip_socket_stop_reading(sock);
	close(sock->fd);
	free(sock);
}

struct sockaddr_in sip_socket_local(const struct sip_socket *sock)
{
	return sock->local;
}

int sip_socket_send(struct sip_socket *sock, const char *buf, size_t len,
		    const struct sockaddr_in *to)
{
	char addr[NETADDR_STRLEN];

	sip_socket_trace("out to", to, buf, len);
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t n = sendto(sock->fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to));
		if (n == (ssize_t)len)
			return 0;
		/* A pending ICMP error from an earlier datagram is reported on this
		 * send; it is not about this one, so try once more. */
		if (n < 0 && (errno == ECONNREFUSED || errno == EHOSTUNREACH) && attempt == 0)
			continue;
		break;
	}
	sock->send_errors++;
	log_limited(&send_err_limit, LOG_WARNING, "SIP send to %s failed: %s",
		    netaddr_format(to, addr), strerror(errno));
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
