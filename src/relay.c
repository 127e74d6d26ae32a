/*
 * relay: the RTP path, receive -> find session -> latch -> forward, for every
 * stream of every relayed call. "Find session" costs nothing: each socket's
 * event carries its stream. Buffers are the relay's own, shared by all
 * streams (one loop, one thread), so no packet allocates anything.
 */
#include "relay.h"

#include "latch.h"
#include "portpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BATCH 32
#define RELAY_PACKET_MAX 2048
#define RELAY_BIND_ATTEMPTS 8

enum { SOCK_RTP, SOCK_RTCP };

struct relay_stream {
	struct relay *r;
	uint16_t port;
	int fd[2];
	struct event *ev[2];
	/* the local leg (the PBX): what its SDP says */
	bool have_local;
	struct sockaddr_in local_rtp, local_rtcp;
	bool local_mux;
	/* the remote leg: learnt, or (fixed) taken from its SDP */
	bool have_remote;
	struct latch remote;
	bool remote_mux;
	bool remote_fixed;
	struct sockaddr_in remote_rtp, remote_rtcp;   /* fixed: where to send */
	bool have_fallback;                            /* learning: where to send meanwhile */
	struct sockaddr_in fallback_rtp, fallback_rtcp;
	struct relay_leg_stats local_stats, remote_stats;
	uint64_t last_ms;
	enum relay_drop drop_why;
	struct sockaddr_in drop_from;
	unsigned long source_dropped;
	struct relay_stream *prev, *next;
};

struct relay {
	struct event_base *base;
	struct in_addr bind_ip;
	struct portpool *pool;
	struct relay_stream *streams;
	size_t count;
	/* the batch being received and the batch being sent */
	struct mmsghdr in[RELAY_BATCH];
	struct iovec in_iov[RELAY_BATCH];
	struct sockaddr_in from[RELAY_BATCH];
	uint8_t buf[RELAY_BATCH][RELAY_PACKET_MAX];
	struct mmsghdr out[RELAY_BATCH];
	struct iovec out_iov[RELAY_BATCH];
	struct sockaddr_in to[RELAY_BATCH];
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
		      const struct sockaddr_in *src)
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

static bool addr_set(const struct sockaddr_in *a)
{
	return a->sin_addr.s_addr != 0 && a->sin_port != 0;
}

/* Decide where packet i goes; false = drop (counted, with why). *leg is
 * the leg it came from (counted as forwarded there). */
static bool route_packet(struct relay_stream *s, int which, const uint8_t *p, size_t len,
			 const struct sockaddr_in *src, uint64_t now, struct sockaddr_in *dest,
			 int *out_sock, struct relay_leg_stats **leg)
{
	bool from_local = s->have_local && src->sin_addr.s_addr == s->local_rtp.sin_addr.s_addr;
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
			if (src->sin_addr.s_addr != s->remote_rtp.sin_addr.s_addr) {
				why = RELAY_DROP_NOT_SDP;
				goto drop;
			}
		} else if (!(rtcp ? latch_rtcp(&s->remote, src) : latch_rtp(&s->remote, src, seq, ssrc, now))) {
			why = from_latch(s->remote.last_drop);
			goto drop;
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
	note_drop(s, st, why, src);
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

static void read_socket(struct relay_stream *s, int which)
{
	struct relay *r = s->r;
	int fd = s->fd[which];

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < RELAY_BATCH; i++) {
			r->in_iov[i].iov_base = r->buf[i];
			r->in_iov[i].iov_len = RELAY_PACKET_MAX;
			r->in[i].msg_hdr.msg_name = &r->from[i];
			r->in[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
			r->in[i].msg_hdr.msg_iov = &r->in_iov[i];
			r->in[i].msg_hdr.msg_iovlen = 1;
			r->in[i].msg_hdr.msg_control = NULL;
			r->in[i].msg_hdr.msg_controllen = 0;
			r->in[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(fd, r->in, RELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* EAGAIN, or an ICMP error report: the socket stays */
		uint64_t now = relay_now_ms();
		unsigned queued = 0;
		for (int i = 0; i < n; i++) {
			size_t len = r->in[i].msg_len;
			struct sockaddr_in dest;
			struct relay_leg_stats *leg;
			int out_sock = which;
			if (r->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				note_drop(s, &s->remote_stats, RELAY_DROP_MALFORMED, &r->from[i]);
				continue;
			}
			if (!route_packet(s, which, r->buf[i], len, &r->from[i], now, &dest, &out_sock, &leg))
				continue;
			s->last_ms = now;
			if (out_sock != which) {
				/* a muxed leg meets a non-muxed one: rare, send at once */
				if (sendto(s->fd[out_sock], r->buf[i], len, MSG_DONTWAIT,
					   (const struct sockaddr *)&dest, sizeof(dest)) < 0)
					unforward(s, leg, len);
				continue;
			}
			r->to[queued] = dest;
			r->out_iov[queued].iov_base = r->buf[i];
			r->out_iov[queued].iov_len = len;
			r->out_leg[queued] = leg;
			memset(&r->out[queued].msg_hdr, 0, sizeof(r->out[queued].msg_hdr));
			r->out[queued].msg_hdr.msg_name = &r->to[queued];
			r->out[queued].msg_hdr.msg_namelen = sizeof(r->to[queued]);
			r->out[queued].msg_hdr.msg_iov = &r->out_iov[queued];
			r->out[queued].msg_hdr.msg_iovlen = 1;
			queued++;
		}
		if (queued)
			flush(r, fd, queued, s);
		if (n < RELAY_BATCH)
			return;
	}
}

static void rtp_cb(evutil_socket_t fd, short what, void *arg)
{
	read_socket(arg, SOCK_RTP);
}

static void rtcp_cb(evutil_socket_t fd, short what, void *arg)
{
	read_socket(arg, SOCK_RTCP);
}

static int bind_port(struct in_addr ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = ip, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct relay *relay_new(struct event_base *base, struct in_addr bind_ip, int rtpstart, int rtpend)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base = base;
	r->bind_ip = bind_ip;
	r->pool = portpool_new(rtpstart, rtpend);
	if (!r->pool) {
		free(r);
		return NULL;
	}
	return r;
}

int relay_resize(struct relay *r, int rtpstart, int rtpend)
{
	return portpool_resize(r->pool, rtpstart, rtpend);
}

static void close_sockets(struct relay_stream *s)
{
	for (int k = 0; k < 2; k++) {
		if (s->ev[k])
			event_free(s->ev[k]);
		if (s->fd[k] >= 0)
			close(s->fd[k]);
		s->ev[k] = NULL;
		s->fd[k] = -1;
	}
}

struct relay_stream *relay_stream_open(struct relay *r)
{
	struct relay_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->r = r;
	s->fd[0] = s->fd[1] = -1;
	for (int attempt = 0; attempt < RELAY_BIND_ATTEMPTS; attempt++) {
		uint16_t port = portpool_take(r->pool, time(NULL));
		if (!port) {
			free(s);
			return NULL;
		}
		s->fd[SOCK_RTP] = bind_port(r->bind_ip, port);
		s->fd[SOCK_RTCP] = s->fd[SOCK_RTP] >= 0 ? bind_port(r->bind_ip, (uint16_t)(port + 1)) : -1;
		if (s->fd[SOCK_RTCP] < 0) {
			/* another program holds it: never offer this pair again */
			close_sockets(s);
			portpool_disable(r->pool, port);
			continue;
		}
		s->port = port;
		break;
	}
	if (!s->port) {
		free(s);
		return NULL;
	}
	s->ev[SOCK_RTP] = event_new(r->base, s->fd[SOCK_RTP], EV_READ | EV_PERSIST, rtp_cb, s);
	s->ev[SOCK_RTCP] = event_new(r->base, s->fd[SOCK_RTCP], EV_READ | EV_PERSIST, rtcp_cb, s);
	if (!s->ev[0] || !s->ev[1] || event_add(s->ev[0], NULL) || event_add(s->ev[1], NULL)) {
		close_sockets(s);
		portpool_give(r->pool, s->port, time(NULL));
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
	close_sockets(s);
	portpool_give(r->pool, s->port, time(NULL));
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
	portpool_free(r->pool);
	free(r);
}

uint16_t relay_stream_port(const struct relay_stream *s)
{
	return s->port;
}

void relay_stream_set_local(struct relay_stream *s, const struct sockaddr_in *rtp,
			    const struct sockaddr_in *rtcp, bool mux)
{
	s->local_rtp = *rtp;
	s->local_rtcp = *rtcp;
	s->local_mux = mux;
	s->have_local = true;
}

void relay_stream_set_remote(struct relay_stream *s, bool strict, struct in_addr signal_ip,
			     struct in_addr sdp_ip, uint16_t sdp_port, bool mux)
{
	if (!s->have_remote || s->remote_fixed || s->remote.strict != strict)
		latch_init(&s->remote, strict, signal_ip, sdp_ip, sdp_port);
	else
		latch_reset(&s->remote, signal_ip, sdp_ip, sdp_port);
	s->remote_fixed = false;
	s->remote_mux = mux;
	s->have_remote = true;
}

void relay_stream_set_remote_fallback(struct relay_stream *s, const struct sockaddr_in *rtp,
				      const struct sockaddr_in *rtcp)
{
	s->have_fallback = rtp && rtcp;
	if (s->have_fallback) {
		s->fallback_rtp = *rtp;
		s->fallback_rtcp = *rtcp;
	}
}

void relay_stream_set_remote_fixed(struct relay_stream *s, const struct sockaddr_in *rtp,
				   const struct sockaddr_in *rtcp, bool mux)
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
