/*
 * relay: the RTP path, receive -> find session -> latch -> forward, for every
 * stream of every relayed call. "Find session" costs nothing: each socket's
 * epoll entry carries its pair, and the pair its stream. Buffers are the
 * relay's own, shared by all streams (one loop, one thread), so no packet
 * allocates anything.
 *
 * A pair's two sockets are bound the first time the pool hands it out and
 * then stay bound, in the epoll set, across calls: a call costs no socket(),
 * bind(), close() or epoll_ctl(). (Binding the whole range at start was
 * measured too, but it takes every port of the range at once, so two
 * processes on one address with overlapping ranges, such as tests run in
 * parallel, starve each other.) Should the process run out of descriptors,
 * a free pair's sockets are closed to make room. While no stream holds the pair, whatever
 * arrives on it is read and thrown away, and a stream that takes the pair
 * first empties both sockets, so only datagrams that arrive after it opened
 * reach it (R20; the pool's quarantine and random order are portpool.c's,
 * unchanged). A reload that moves the range closes the sockets of the pairs
 * that leave it, at once when free, else when their call ends.
 *
 * The relay's sockets sit in an epoll set of their own, which the loop
 * watches as one descriptor. Under load the relay stops waking for each
 * datagram: a timer reads every ready socket each RELAY_POLL_US (interrupt
 * mitigation, as NAPI does for a NIC). A datagram then waits at most
 * RELAY_POLL_US (jitter buffers hold 20-60 ms), and the relay saves a
 * wakeup per datagram, most of what forwarding one costs beside the
 * kernel's own work. A few calls are cheaper woken per datagram, and
 * switching costs the kernel a walk over every socket (an epoll set joining
 * another is checked for loops), so the relay switches only on a clear
 * change of rate, measured over RELAY_RATE_WINDOW_MS.
 *
 * Families (issue 20): with an IPv6 bind address a pair has four sockets,
 * IPv4 RTP and RTCP and IPv6 RTP and RTCP on the same two ports, all bound
 * together once and kept the same way. A datagram's source, of the family of
 * the socket it came in on, becomes a struct netaddr for the latch; it goes
 * out on the pair's socket of its destination's family (and RTP or RTCP as
 * before). The send batch is cut where that socket changes, which on an
 * IPv4-only relay it never does: one sendmmsg per batch, as before.
 */
#include "relay.h"

#include "latch.h"
#include "portpool.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BATCH 32
#define RELAY_PACKET_MAX 2048
#define RELAY_BIND_ATTEMPTS 8
#define RELAY_POLL_US 1000       /* the tick under load */
#define RELAY_RATE_WINDOW_MS 100
#define RELAY_POLL_ENTER 200     /* wakeups in a window (2000/s): tick from now on */
#define RELAY_POLL_LEAVE 100     /* ready sockets in a window of ticks (1000/s): wake again */
#define RELAY_READY_MAX 256      /* sockets taken from epoll at a time */

enum { SOCK_RTP, SOCK_RTCP };
/* A pair's sockets: fd[family * 2 + SOCK_RTP/SOCK_RTCP], family 0 = IPv4,
 * 1 = IPv6 (only when the relay has IPv6). */
#define RELAY_SOCKS 4

/* A pair of the pool whose sockets are bound (or were: bound is false). */
struct relay_pair {
	int fd[RELAY_SOCKS];
	bool bound;
	struct relay_stream *s;    /* the stream on it, NULL while free */
};
#define PAIRS_BYTES (PORTPOOL_PAIRS_MAX * sizeof(struct relay_pair))


/* A datagram's source or destination, of either family. */
union relay_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* What every packet reads comes first, so that a packet touches three cache
 * lines of its stream (the latch's hot fields lead it too). */
struct relay_stream {
	struct relay_pair *pair;
	uint16_t port;
	bool have_local;           /* the local leg (the PBX): what its SDP says */
	bool local_mux;
	bool have_remote;          /* the remote leg: learnt, or (fixed) from its SDP */
	bool remote_mux;
	bool remote_fixed;
	bool have_fallback;        /* learning: where to send meanwhile */
	struct netaddr local_rtp;
	uint64_t last_ms;
	struct relay_leg_stats local_stats, remote_stats;
	struct latch remote;
	struct netaddr local_rtcp;
	struct netaddr remote_rtp, remote_rtcp;       /* fixed: where to send */
	struct netaddr fallback_rtp, fallback_rtcp;
	enum relay_drop drop_why;
	struct netaddr drop_from;
	unsigned long source_dropped;
	struct relay *r;
	struct relay_stream *prev, *next;
};

struct relay {
	struct event_base *base;
	int epfd;                  /* every bound socket; data: pair | socket index */
	int tick_fd;               /* timerfd: RELAY_POLL_US while polling */
	struct event *ready_ev, *tick_ev;
	bool polling;
	uint64_t window_ms;        /* start of the current rate window */
	unsigned window_count;     /* wakeups (waking) or ready sockets (polling) in it */
	struct relay_pair *pairs;  /* PORTPOOL_PAIRS_MAX, by even port / 2 (zero pages until used) */
	size_t bound;              /* pairs with bound sockets */
	uint32_t unbind_cursor;    /* where the search for an idle pair to close goes on */
	unsigned long stray;       /* datagrams read on pairs no stream holds */
	struct netaddr bind4, bind6;
	int socks;                 /* sockets per pair: 2 (IPv4), 4 (IPv6 too) */
	struct portpool *pool;
	struct relay_stream *streams;
	size_t count;
	/* the batch being received and the batch being sent */
	struct mmsghdr in[RELAY_BATCH];
	unsigned in_used;          /* headers the last receive filled */
	struct iovec in_iov[RELAY_BATCH];
	union relay_sockaddr from[RELAY_BATCH];
	uint8_t buf[RELAY_BATCH][RELAY_PACKET_MAX];
	struct mmsghdr out[RELAY_BATCH];
	struct iovec out_iov[RELAY_BATCH];
	union relay_sockaddr to[RELAY_BATCH];
	struct relay_leg_stats *out_leg[RELAY_BATCH];  /* the leg each came from */
};

uint64_t relay_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* RFC 3550 5.1 and A.1: version 2 and a whole fixed header. */
static bool rtp_valid(const uint8_t *p, size_t len)
{
	return len >= 12 && (p[0] >> 6) == 2;
}

/* RFC 3550 A.2, the checks a relay can make on one packet: version 2, a
 * known packet type first, and a length that fits. */
static bool rtcp_valid(const uint8_t *p, size_t len)
{
	if (len < 8 || (p[0] >> 6) != 2 || p[1] < 200 || p[1] > 206)
		return false;
	size_t words = ((size_t)p[2] << 8 | p[3]) + 1;
	return words * 4 <= len;
}

/* RFC 5761 4: on a muxed port, RTCP has 192..223 where RTP has M+PT. */
static bool looks_like_rtcp(const uint8_t *p, size_t len)
{
	return len >= 2 && p[1] >= 192 && p[1] <= 223;
}

const char *relay_drop_name(enum relay_drop why)
{
	switch (why) {
	case RELAY_DROP_NONE: return "none";
	case RELAY_DROP_MALFORMED: return "not RTP/RTCP";
	case RELAY_DROP_NO_TARGET: return "no destination yet";
	case RELAY_DROP_NOT_SIGNALLED: return "not from the signalled IP";
	case RELAY_DROP_BEFORE_LATCH: return "before latch";
	case RELAY_DROP_OTHER_PORT: return "other port after lock";
	case RELAY_DROP_OTHER_IP: return "other IP after lock";
	case RELAY_DROP_RTCP_EARLY: return "RTCP before latch";
	case RELAY_DROP_RTCP_OTHER: return "RTCP from another source after lock";
	case RELAY_DROP_NOT_SDP: return "not from the SDP address (media not latched)";
	case RELAY_DROP_SEND_FAILED: return "send failed";
	}
	return "unknown";
}

bool relay_drop_is_source(enum relay_drop why)
{
	return why >= RELAY_DROP_NOT_SIGNALLED && why <= RELAY_DROP_NOT_SDP;
}

static enum relay_drop from_latch(enum latch_drop why)
{
	switch (why) {
	case LATCH_DROP_NOT_SIGNALLED: return RELAY_DROP_NOT_SIGNALLED;
	case LATCH_DROP_PROBATION: return RELAY_DROP_BEFORE_LATCH;
	case LATCH_DROP_OTHER_PORT: return RELAY_DROP_OTHER_PORT;
	case LATCH_DROP_OTHER_IP: return RELAY_DROP_OTHER_IP;
	case LATCH_DROP_RTCP_EARLY: return RELAY_DROP_RTCP_EARLY;
	case LATCH_DROP_RTCP_OTHER: return RELAY_DROP_RTCP_OTHER;
	case LATCH_DROP_NONE: break;
	}
	return RELAY_DROP_NONE;
}

/* The drop path (never the forwarding one): count, and keep why and from
 * where for the call-end line; no log here (design section 8). A drop
 * because of the source is what the admin needs to see, so another kind
 * never hides it. */
static void note_drop(struct relay_stream *s, struct relay_leg_stats *st, enum relay_drop why,
		      const struct netaddr *src)
{
	bool source = relay_drop_is_source(why);

	st->dropped++;
	if (source)
		s->source_dropped++;
	if (!source && relay_drop_is_source(s->drop_why))
		return;
	s->drop_why = why;
	if (src)
		s->drop_from = *src;
	else
		memset(&s->drop_from, 0, sizeof(s->drop_from));
}

/* An address to send to: a port, and an address that is not 0.0.0.0 or ::
 * (hold) nor missing. */
static bool addr_set(const struct netaddr *a)
{
	if (a->port == 0)
		return false;
	if (a->family == AF_INET)
		return a->ip.v4.s_addr != 0;
	return a->family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&a->ip.v6);
}

/* A received datagram's source as the latch compares it. A dual-stack
 * socket is never used (IPV6_V6ONLY), so no v4-mapped address comes in.
 * Made only where a netaddr is needed (the latch, a drop): the local leg's
 * packets are told apart on the socket address itself (from_ip). */
static inline void source_of(const union relay_sockaddr *from, struct netaddr *out)
{
	if (from->sa.sa_family == AF_INET)
		*out = (struct netaddr){ .family = AF_INET, .port = ntohs(from->in.sin_port),
					 .ip.v4 = from->in.sin_addr };
	else
		*out = (struct netaddr){ .family = AF_INET6, .port = ntohs(from->in6.sin6_port),
					 .scope_id = from->in6.sin6_scope_id,
					 .ip.v6 = from->in6.sin6_addr };
}

/* Whether a datagram came from a's address (ports aside). */
static inline bool from_ip(const union relay_sockaddr *from, const struct netaddr *a)
{
	if (from->sa.sa_family == AF_INET)
		return a->family == AF_INET && from->in.sin_addr.s_addr == a->ip.v4.s_addr;
	return a->family == AF_INET6 && IN6_ARE_ADDR_EQUAL(&from->in6.sin6_addr, &a->ip.v6);
}

/* dest as the socket address for sendmmsg; its length. */
static inline socklen_t sockaddr_of(const struct netaddr *a, union relay_sockaddr *out)
{
	if (a->family == AF_INET) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(a->port);
		out->in.sin_addr = a->ip.v4;
		memset(out->in.sin_zero, 0, sizeof(out->in.sin_zero));
		return sizeof(out->in);
	}
	out->in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons(a->port),
					  .sin6_addr = a->ip.v6, .sin6_scope_id = a->scope_id };
	return sizeof(out->in6);
}

/* Decide where packet i goes; false = drop (counted, with why). *leg is
 * the leg it came from (counted as forwarded there). */
static bool route_packet(struct relay_stream *s, int which, const uint8_t *p, size_t len,
			 const union relay_sockaddr *from, uint64_t now, struct netaddr *dest,
			 int *out_sock, struct relay_leg_stats **leg)
{
	bool from_local = s->have_local && from_ip(from, &s->local_rtp);
	struct netaddr src;
	bool rtcp = which == SOCK_RTCP || looks_like_rtcp(p, len);
	struct relay_leg_stats *st = from_local ? &s->local_stats : &s->remote_stats;
	enum relay_drop why = RELAY_DROP_NO_TARGET;

	if (rtcp ? !rtcp_valid(p, len) : !rtp_valid(p, len)) {
		why = RELAY_DROP_MALFORMED;
		goto drop;
	}
	if (from_local) {
		if (!s->have_remote)
			goto drop;
		bool ok;
		if (s->remote_fixed) {
			*dest = rtcp && !s->remote_mux ? s->remote_rtcp : s->remote_rtp;
			ok = addr_set(dest);
		} else {
			ok = rtcp && !s->remote_mux ? latch_rtcp_target(&s->remote, dest)
						    : latch_rtp_target(&s->remote, dest);
			if (!ok && s->have_fallback) {
				*dest = rtcp && !s->remote_mux ? s->fallback_rtcp : s->fallback_rtp;
				ok = addr_set(dest);
			}
		}
		if (!ok)
			goto drop;
		*out_sock = rtcp && !s->remote_mux ? SOCK_RTCP : SOCK_RTP;
	} else {
		if (!s->have_remote)
			goto drop;
		/* RTP only: rtp_valid made sure of its 12-byte header */
		uint16_t seq = rtcp ? 0 : (uint16_t)(p[2] << 8 | p[3]);
		uint32_t ssrc = rtcp ? 0 : (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
		if (s->remote_fixed) {
			if (!from_ip(from, &s->remote_rtp)) {
				why = RELAY_DROP_NOT_SDP;
				goto drop;
			}
		} else {
			source_of(from, &src);
			if (!(rtcp ? latch_rtcp(&s->remote, &src) : latch_rtp(&s->remote, &src, seq, ssrc, now))) {
				why = from_latch(s->remote.last_drop);
				goto drop;
			}
		}
		if (!s->have_local)
			goto drop;
		*dest = rtcp && !s->local_mux ? s->local_rtcp : s->local_rtp;
		if (!addr_set(dest))
			goto drop; /* on hold with c=0.0.0.0: never send there (R19) */
		*out_sock = rtcp && !s->local_mux ? SOCK_RTCP : SOCK_RTP;
	}
	st->packets++;
	st->bytes += len;
	*leg = st;
	return true;
drop:
	source_of(from, &src);
	note_drop(s, st, why, &src);
	return false;
}

/* A packet counted as forwarded that the kernel would not send: a drop of
 * the leg it came from after all. */
static void unforward(struct relay_stream *s, struct relay_leg_stats *leg, size_t len)
{
	leg->packets--;
	leg->bytes -= len;
	note_drop(s, leg, RELAY_DROP_SEND_FAILED, NULL);
}

/* Send what is queued on fd; transient errors (a full queue, an ICMP error
 * from the far end) cost the packets, never the stream (R27). */
static void flush(struct relay *r, int fd, unsigned n, struct relay_stream *s)
{
	unsigned sent = 0;

	while (sent < n) {
		int k = sendmmsg(fd, r->out + sent, n - sent, MSG_DONTWAIT);
		if (k > 0) {
			sent += (unsigned)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		/* skip the one that failed and go on with the rest */
		unforward(s, r->out_leg[sent], r->out_iov[sent].iov_len);
		sent++;
	}
}

/* Receive a batch into r->in. The headers are set up once (relay_new); the
 * kernel writes back only the address lengths of those it filled. */
static int receive(struct relay *r, int fd)
{
	for (unsigned i = 0; i < r->in_used; i++)
		r->in[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
	int n = recvmmsg(fd, r->in, RELAY_BATCH, MSG_DONTWAIT, NULL);
	r->in_used = n > 0 ? (unsigned)n : 0;
	return n;
}

/* After receive returned n: is the socket's queue empty now? A short batch
 * or EAGAIN says so; an error (the socket stays) does not. */
static bool drained(int n)
{
	return n >= 0 ? n < RELAY_BATCH : errno == EAGAIN || errno == EWOULDBLOCK;
}

/* Read and throw away what waits on a socket no stream holds (or that a
 * stream is about to take). Whether it is empty now. */
static bool discard(struct relay *r, int fd)
{
	for (int round = 0; round < 64; round++) {
		int n = receive(r, fd);
		if (n > 0)
			r->stray += (unsigned long)n;
		if (drained(n))
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
	return false;
}

/* The sockets are edge-triggered (a socket read empty is not polled again
 * for nothing): one left with data (a flood, or an error) is queued again
 * here, and its turn comes on the next pass. */
static void rearm(struct relay *r, struct relay_pair *pair, int k)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
				  .data.u64 = (uintptr_t)pair | (uintptr_t)k };

	epoll_ctl(r->epfd, EPOLL_CTL_MOD, pair->fd[k], &ev);
}

/* Read what waits on socket k of a pair (family * 2 + RTP/RTCP), up to 4
 * batches; whether it is empty now. What a batch forwards goes out in one
 * sendmmsg on the socket the first of it needs (the pair's socket of its
 * destination's family, RTP or RTCP); one that needs another socket (a muxed
 * leg meets a non-muxed one, or a batch with both legs' families) is sent at
 * once on its own. */
static bool read_socket(struct relay *r, struct relay_pair *pair, int k)
{
	struct relay_stream *s = pair->s;
	int fd = pair->fd[k];
	int which = k & 1;

	if (!s)
		return discard(r, fd);
	for (int round = 0; round < 4; round++) {
		int n = receive(r, fd);
		if (n <= 0)
			return drained(n); /* EAGAIN, or an error: the socket stays */
		uint64_t now = relay_now_ms();
		unsigned queued = 0;
		int queue_fd = -1;
		for (int i = 0; i < n; i++) {
			size_t len = r->in[i].msg_len;
			struct netaddr dest;
			struct relay_leg_stats *leg;
			int out_sock = which;
			if (r->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				source_of(&r->from[i], &dest);
				note_drop(s, &s->remote_stats, RELAY_DROP_MALFORMED, &dest);
				continue;
			}
			if (!route_packet(s, which, r->buf[i], len, &r->from[i], now, &dest, &out_sock, &leg))
				continue;
			s->last_ms = now;
			if (dest.family == AF_INET6) {
				if (r->socks < RELAY_SOCKS) {
					unforward(s, leg, len); /* IPv6 media, IPv4-only relay */
					continue;
				}
				out_sock += 2;
			}
			int out_fd = pair->fd[out_sock];
			if (!queued) {
				queue_fd = out_fd;
			} else if (out_fd != queue_fd) {
				union relay_sockaddr to;
				socklen_t tolen = sockaddr_of(&dest, &to);
				if (sendto(out_fd, r->buf[i], len, MSG_DONTWAIT, &to.sa, tolen) < 0)
					unforward(s, leg, len);
				continue;
			}
			/* the out headers point at to[] and out_iov[] (relay_new) */
			r->out[queued].msg_hdr.msg_namelen = sockaddr_of(&dest, &r->to[queued]);
			r->out_iov[queued].iov_base = r->buf[i];
			r->out_iov[queued].iov_len = len;
			r->out_leg[queued] = leg;
			queued++;
		}
		if (queued)
			flush(r, queue_fd, queued, s);
		if (n < RELAY_BATCH)
			return true;
	}
	return false;
}

_Static_assert(_Alignof(struct relay_pair) >= RELAY_SOCKS, "the low 2 bits of a pair pointer are free");

/* Read every socket that is ready now; how many were. */
static int read_ready(struct relay *r)
{
	struct epoll_event ready[RELAY_READY_MAX];
	int total = 0;

	for (int round = 0; round < 4; round++) {
		int n = epoll_wait(r->epfd, ready, RELAY_READY_MAX, 0);
		for (int i = 0; i < n; i++) {
			uintptr_t tag = (uintptr_t)ready[i].data.u64;
			struct relay_pair *pair = (struct relay_pair *)(tag & ~(uintptr_t)3);
			if (!read_socket(r, pair, (int)(tag & 3)))
				rearm(r, pair, (int)(tag & 3));
		}
		if (n <= 0)
			break;
		total += n;
		if (n < RELAY_READY_MAX)
			break;
	}
	return total;
}

/* Switch between waking per datagram and polling on the tick. The new way
 * is armed before the old one goes: whatever fails, the relay still wakes. */
static void set_polling(struct relay *r, bool on)
{
	long ns = on ? RELAY_POLL_US * 1000L : 0;
	struct itimerspec its = { .it_interval = { 0, ns }, .it_value = { 0, ns } };

	if (timerfd_settime(r->tick_fd, 0, &its, NULL) != 0 ||
	    event_add(on ? r->tick_ev : r->ready_ev, NULL) != 0)
		return;
	event_del(on ? r->ready_ev : r->tick_ev);
	r->polling = on;
	r->window_ms = relay_now_ms();
	r->window_count = 0;
}

/* A datagram woke the relay: read; when that happens often, poll instead. */
static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	uint64_t now;

	if (read_ready(r) <= 0)
		return;
	now = relay_now_ms();
	if (now - r->window_ms >= RELAY_RATE_WINDOW_MS) {
		r->window_ms = now;
		r->window_count = 0;
	}
	if (++r->window_count >= RELAY_POLL_ENTER)
		set_polling(r, true);
}

/* The tick: read what came meanwhile; when little does, wake per datagram. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	uint64_t expirations, now;
	int n;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	n = read_ready(r);
	r->window_count += n > 0 ? (unsigned)n : 0;
	now = relay_now_ms();
	if (now - r->window_ms < RELAY_RATE_WINDOW_MS)
		return;
	if (r->window_count < RELAY_POLL_LEAVE)
		set_polling(r, false);
	r->window_ms = now;
	r->window_count = 0;
}

/* A socket bound on ip (either family), port port. An IPv6 one is IPv6 only
 * (decision 1 of issue 20: the IPv4 sockets stay what they were). */
static int bind_port(const struct netaddr *ip, uint16_t port)
{
	struct netaddr at = *ip;
	union relay_sockaddr sa;
	socklen_t len;
	int one = 1;
	int fd = socket(ip->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	at.port = port;
	len = sockaddr_of(&at, &sa);
	if ((ip->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, &sa.sa, len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static struct relay_pair *pair_of(struct relay *r, uint16_t port)
{
	return &r->pairs[port / 2];
}

static void unbind_pair(struct relay *r, struct relay_pair *pair)
{
	if (!pair->bound)
		return;
	for (int k = 0; k < r->socks; k++) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, pair->fd[k], NULL);
		close(pair->fd[k]);
		pair->fd[k] = -1;
	}
	pair->bound = false;
	r->bound--;
}

/* Close the sockets of one pair no stream holds, to make room for
 * descriptors; false when there is none. Rare (the process ran out of
 * descriptors), so a scan. */
static bool unbind_an_idle_pair(struct relay *r)
{
	for (uint32_t k = 0; k < PORTPOOL_PAIRS_MAX; k++) {
		struct relay_pair *pair = &r->pairs[r->unbind_cursor];
		r->unbind_cursor = (r->unbind_cursor + 1) % PORTPOOL_PAIRS_MAX;
		if (pair->bound && !pair->s) {
			unbind_pair(r, pair);
			return true;
		}
	}
	return false;
}

enum bind_result { BIND_OK, BIND_PORT_TAKEN, BIND_NO_RESOURCES };

/* Close the first n sockets of a pair that is not bound yet. */
static void close_socks(struct relay_pair *pair, int n)
{
	for (int k = 0; k < n; k++)
		close(pair->fd[k]);
	for (int k = 0; k < RELAY_SOCKS; k++)
		pair->fd[k] = -1;
}

/* Bind the pair of even port `port` (each family the relay has) and add its
 * sockets to the epoll set. Either all are bound or none (a port that one
 * family cannot have is not a pair for every call). */
static enum bind_result bind_pair(struct relay *r, struct relay_pair *pair, uint16_t port)
{
	for (int k = 0; k < r->socks; k++) {
		const struct netaddr *ip = k < 2 ? &r->bind4 : &r->bind6;
		int fd = bind_port(ip, (uint16_t)(port + (k & 1)));
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && unbind_an_idle_pair(r))
			fd = bind_port(ip, (uint16_t)(port + (k & 1)));
		if (fd < 0) {
			bool taken = errno == EADDRINUSE || errno == EACCES || errno == EADDRNOTAVAIL;
			close_socks(pair, k);
			return taken ? BIND_PORT_TAKEN : BIND_NO_RESOURCES;
		}
		pair->fd[k] = fd;
	}
	for (int k = 0; k < r->socks; k++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
					  .data.u64 = (uintptr_t)pair | (uintptr_t)k };
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, pair->fd[k], &ev) != 0) {
			for (int j = 0; j < k; j++)
				epoll_ctl(r->epfd, EPOLL_CTL_DEL, pair->fd[j], NULL);
			close_socks(pair, r->socks);
			return BIND_NO_RESOURCES;
		}
	}
	pair->bound = true;
	r->bound++;
	return BIND_OK;
}

struct relay *relay_new(struct event_base *base, const struct netaddr *bind4,
			const struct netaddr *bind6, int rtpstart, int rtpend)
{
	struct relay *r;

	if (!bind4 || bind4->family != AF_INET || (bind6 && bind6->family != AF_INET6))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->base = base;
	r->bind4 = *bind4;
	r->socks = 2;
	if (bind6) {
		/* IPv6 only if the host lets the relay bind there at all: else
		 * every pair would fail its IPv6 bind and leave the pool */
		int probe = bind_port(bind6, 0);
		if (probe >= 0) {
			close(probe);
			r->bind6 = *bind6;
			r->socks = RELAY_SOCKS;
		}
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	/* indexed by port, but only the configured range's entries are ever
	 * touched: fresh anonymous pages cost no memory until written (calloc
	 * gave that with glibc's malloc only; the daemon runs on mimalloc) */
	void *pairs = mmap(NULL, PAIRS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r->pairs = pairs == MAP_FAILED ? NULL : pairs;
	r->pool = portpool_new(rtpstart, rtpend);
	if (r->epfd >= 0 && r->tick_fd >= 0) {
		r->ready_ev = event_new(base, r->epfd, EV_READ | EV_PERSIST, ready_cb, r);
		r->tick_ev = event_new(base, r->tick_fd, EV_READ | EV_PERSIST, tick_cb, r);
	}
	for (int i = 0; i < RELAY_BATCH; i++) {
		r->in_iov[i].iov_base = r->buf[i];
		r->in_iov[i].iov_len = RELAY_PACKET_MAX;
		r->in[i].msg_hdr.msg_name = &r->from[i];
		r->in[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
		r->in[i].msg_hdr.msg_iov = &r->in_iov[i];
		r->in[i].msg_hdr.msg_iovlen = 1;
		r->out_iov[i].iov_base = r->buf[i];
		r->out[i].msg_hdr.msg_name = &r->to[i];
		r->out[i].msg_hdr.msg_namelen = sizeof(r->to[i]);
		r->out[i].msg_hdr.msg_iov = &r->out_iov[i];
		r->out[i].msg_hdr.msg_iovlen = 1;
	}
	if (!r->pairs || !r->pool || !r->ready_ev || !r->tick_ev ||
	    event_add(r->ready_ev, NULL) != 0) {
		relay_free(r);
		return NULL;
	}
	return r;
}

int relay_resize(struct relay *r, int rtpstart, int rtpend)
{
	if (portpool_resize(r->pool, rtpstart, rtpend) != 0)
		return -1;
	/* the free pairs that left the range let go of their ports now, the
	 * used ones when their call ends */
	for (uint32_t i = 0; i < PORTPOOL_PAIRS_MAX && r->bound; i++) {
		struct relay_pair *pair = &r->pairs[i];
		if (pair->bound && !pair->s && !portpool_in_range(r->pool, (uint16_t)(2 * i)))
			unbind_pair(r, pair);
	}
	return 0;
}

struct relay_stream *relay_stream_open(struct relay *r)
{
	struct relay_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->r = r;
	for (int attempt = 0; attempt < RELAY_BIND_ATTEMPTS; attempt++) {
		uint16_t port = portpool_take(r->pool, time(NULL));
		if (!port) {
			free(s);
			return NULL;
		}
		struct relay_pair *pair = pair_of(r, port);
		if (!pair->bound) {
			enum bind_result br = bind_pair(r, pair, port);
			if (br == BIND_PORT_TAKEN) {
				/* another program holds it: never offer this pair again */
				portpool_disable(r->pool, port);
				continue;
			}
			if (br == BIND_NO_RESOURCES) {
				/* out of descriptors or memory: the port is not to blame */
				portpool_give(r->pool, port, time(NULL));
				free(s);
				return NULL;
			}
		} else {
			/* what came while the pair was free is not this stream's */
			for (int k = 0; k < r->socks; k++)
				if (!discard(r, pair->fd[k]))
					rearm(r, pair, k);
		}
		pair->s = s;
		s->pair = pair;
		s->port = port;
		break;
	}
	if (!s->port) {
		free(s);
		return NULL;
	}
	s->next = r->streams;
	if (s->next)
		s->next->prev = s;
	r->streams = s;
	r->count++;
	return s;
}

void relay_stream_close(struct relay *r, struct relay_stream *s)
{
	if (!s)
		return;
	s->pair->s = NULL;
	portpool_give(r->pool, s->port, time(NULL));
	if (!portpool_in_range(r->pool, s->port))
		unbind_pair(r, s->pair); /* a reload moved the range away from it */
	if (s->prev)
		s->prev->next = s->next;
	else
		r->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	r->count--;
	free(s);
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	while (r->streams)
		relay_stream_close(r, r->streams);
	for (uint32_t i = 0; r->pairs && i < PORTPOOL_PAIRS_MAX && r->bound; i++)
		unbind_pair(r, &r->pairs[i]);
	if (r->pairs)
		munmap(r->pairs, PAIRS_BYTES);
	portpool_free(r->pool);
	if (r->ready_ev)
		event_free(r->ready_ev);
	if (r->tick_ev)
		event_free(r->tick_ev);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->tick_fd >= 0)
		close(r->tick_fd);
	free(r);
}

uint16_t relay_stream_port(const struct relay_stream *s)
{
	return s->port;
}

bool relay_has_ipv6(const struct relay *r)
{
	return r->socks == RELAY_SOCKS;
}

void relay_stream_set_local(struct relay_stream *s, const struct netaddr *rtp,
			    const struct netaddr *rtcp, bool mux)
{
	s->local_rtp = *rtp;
	s->local_rtcp = *rtcp;
	s->local_mux = mux;
	s->have_local = true;
}

void relay_stream_set_remote(struct relay_stream *s, bool strict, const struct netaddr *signal_ip,
			     const struct netaddr *sdp_ip, uint16_t sdp_port, bool mux)
{
	if (!s->have_remote || s->remote_fixed || s->remote.strict != strict)
		latch_init(&s->remote, strict, signal_ip, sdp_ip, sdp_port);
	else
		latch_reset(&s->remote, signal_ip, sdp_ip, sdp_port);
	s->remote_fixed = false;
	s->remote_mux = mux;
	s->have_remote = true;
}

void relay_stream_set_remote_fallback(struct relay_stream *s, const struct netaddr *rtp,
				      const struct netaddr *rtcp)
{
	s->have_fallback = rtp && rtcp;
	if (s->have_fallback) {
		s->fallback_rtp = *rtp;
		s->fallback_rtcp = *rtcp;
	}
}

void relay_stream_set_remote_fixed(struct relay_stream *s, const struct netaddr *rtp,
				   const struct netaddr *rtcp, bool mux)
{
	s->have_fallback = false;
	s->remote_fixed = true;
	s->remote_rtp = *rtp;
	s->remote_rtcp = *rtcp;
	s->remote_mux = mux;
	s->have_remote = true;
}

void relay_stream_get_stats(const struct relay_stream *s, struct relay_stream_stats *out)
{
	out->port = s->port;
	out->local = s->local_stats;
	out->remote = s->remote_stats;
	out->last_packet_ms = s->last_ms;
	out->drop_why = s->drop_why;
	out->drop_from = s->drop_from;
	out->source_dropped = s->source_dropped;
}

size_t relay_streams_open(const struct relay *r)
{
	return r->count;
}

size_t relay_ports_free(const struct relay *r)
{
	return portpool_free_count(r->pool);
}

size_t relay_ports_capacity(const struct relay *r)
{
	return portpool_capacity(r->pool);
}
