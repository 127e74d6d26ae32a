/*
 * sip_stream: the TCP and TLS edge of the SIP path. A connection is read
 * into its bufferevent, framed by sip_frame and each whole message handed to
 * the callback (sip_dispatch's side); pings are answered here, as nothing
 * above needs to see them. Connections are few (tcpmaxconnections) and found
 * by a walk of one list.
 *
 * Timers: a connection is either idle (no partial message; closed after the
 * idle timeout) or reading a message (closed if that message is not whole
 * within the message timeout, however slowly its bytes trickle in). A new
 * connection starts in the second state: its TLS handshake and first message
 * must come quickly.
 */
#include "sip_stream.h"

#include "log.h"
#include "netaddr.h"
#include "sip_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conn {
	struct sip_stream *s;
	uint64_t id;
	enum sip_transport transport;
	struct netaddr peer;
	struct bufferevent *bev;
	struct event *timer;
	bool reading;           /* a message begun: the timer is its deadline */
	size_t need;            /* the message's whole length, once known */
	bool in_callback;       /* inside read_cb: closing is deferred */
	bool dead;
	struct conn *prev, *next;
};

struct listener {
	struct sip_stream *s;
	enum sip_transport transport;
	struct evconnlistener *ev;
	struct netaddr local;
};

struct sip_stream {
	struct event_base *base;
	struct sip_stream_limits lim;
	sip_stream_msg_fn fn;
	void *arg;
	SSL_CTX *tls;
	struct listener lis[2][2];  /* [TLS?][IPv6?] */
	struct conn *conns;     /* newest first */
	int count;
	uint64_t next_id;
	struct sip_stream_counters counters;
};

static struct log_limit refuse_limit = LOG_LIMIT_INIT(60, 5);
static struct log_limit accept_err_limit = LOG_LIMIT_INIT(10, 5);

struct sip_stream *sip_stream_new(struct event_base *base, const struct sip_stream_limits *lim,
				  sip_stream_msg_fn fn, void *arg)
{
	struct sip_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base = base;
	s->lim = *lim;
	s->fn = fn;
	s->arg = arg;
	s->next_id = 1;
	for (int t = 0; t < 2; t++) {
		for (int f = 0; f < 2; f++) {
			s->lis[t][f].s = s;
			s->lis[t][f].transport = t ? SIP_TRANSPORT_TLS : SIP_TRANSPORT_TCP;
		}
	}
	return s;
}

static struct listener *listener_of(struct sip_stream *s, enum sip_transport t, int family)
{
	if ((t != SIP_TRANSPORT_TLS && t != SIP_TRANSPORT_TCP) ||
	    (family != AF_INET && family != AF_INET6))
		return NULL;
	return &s->lis[t == SIP_TRANSPORT_TLS][family == AF_INET6];
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	struct sip_stream *s = c->s;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->count--;
	s->counters.open = (unsigned long)s->count;
	event_free(c->timer);
	/* BEV_OPT_CLOSE_ON_FREE: the socket, and for TLS the SSL, go with it */
	bufferevent_free(c->bev);
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->in_callback)
		c->dead = true;
	else
		conn_free(c);
}

static void arm(struct conn *c, bool reading)
{
	struct timeval tv = { .tv_sec = reading ? c->s->lim.msg_timeout_s
						: c->s->lim.idle_timeout_s };

	c->reading = reading;
	evtimer_add(c->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char addr[NETADDR_TEXT_MAX];

	if (c->reading)
		c->s->counters.timed_out++;
	else
		c->s->counters.idle_closed++;
	log_debug("sip_stream: %s %s closed: %s", sip_transport_via_name(c->transport),
		  netaddr_print(&c->peer, addr), c->reading ? "message too slow" : "idle");
	conn_close(c);
}

/* Frame and deliver everything whole in the input; stop at the first
 * partial message, an error, or the connection's close from the callback.
 * Runs inside read_cb only: a connection to close is marked dead, and
 * read_cb frees it once nothing here uses it any more. */
static void conn_process(struct conn *c)
{
	struct sip_stream *s = c->s;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char addr[NETADDR_TEXT_MAX];

	while (!c->dead) {
		size_t len = evbuffer_get_length(in), look;
		struct sip_frame f;
		const char *buf;

		if (c->need && len < c->need)
			return;
		look = c->need ? c->need : len < s->lim.max_header ? len : s->lim.max_header;
		buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
		if (!buf && look) {
			c->dead = true;
			return;
		}
		sip_frame_next(buf, look, s->lim.max_header, s->lim.max_message, &f);
		switch (f.kind) {
		case SIP_FRAME_MESSAGE:
			s->counters.messages++;
			c->need = 0;
			arm(c, false);
			s->fn(s->arg, buf, f.len, &c->peer, c->transport, c->id);
			evbuffer_drain(in, f.len);
			break;
		case SIP_FRAME_PING:
			/* RFC 5626 4.4.1: a CRLFCRLF ping gets a CRLF pong */
			s->counters.pings++;
			evbuffer_drain(in, f.len);
			bufferevent_write(c->bev, "\r\n", 2);
			if (!c->reading || evbuffer_get_length(in) == 0)
				arm(c, false);
			break;
		case SIP_FRAME_SKIP:
			evbuffer_drain(in, f.len);
			break;
		case SIP_FRAME_ERROR:
			s->counters.framing_errors++;
			log_debug("sip_stream: %s %s closed: %s", sip_transport_via_name(c->transport),
				  netaddr_print(&c->peer, addr), f.why);
			c->dead = true;
			return;
		case SIP_FRAME_MORE:
			c->need = f.need;
			/* the deadline runs from the message's first byte: more
			 * bytes do not push it back */
			if (f.blank && c->reading && len == 0)
				arm(c, false);
			else if (!f.blank && !c->reading)
				arm(c, true);
			return;
		}
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	c->in_callback = true;
	conn_process(c);
	c->in_callback = false;
	if (c->dead)
		conn_free(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char addr[NETADDR_TEXT_MAX];

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->transport == SIP_TRANSPORT_TLS && (what & BEV_EVENT_ERROR)) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		log_debug("sip_stream: TLS %s: %s", netaddr_print(&c->peer, addr),
			  e ? ERR_reason_error_string(e) : "closed");
		while (bufferevent_get_openssl_error(bev))
			;
	}
	conn_close(c);
}

static int count_from(const struct sip_stream *s, const struct netaddr *a)
{
	int n = 0;

	for (const struct conn *c = s->conns; c; c = c->next)
		n += netaddr_same_ip(&c->peer, a);
	return n;
}

static void accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
		      int socklen, void *arg)
{
	struct listener *l = arg;
	struct sip_stream *s = l->s;
	struct netaddr peer;
	char addr[NETADDR_TEXT_MAX];
	struct conn *c;
	SSL *ssl = NULL;

	if (socklen < 0 || !netaddr_from_sockaddr(sa, (socklen_t)socklen, &peer)) {
		close(fd);
		return;
	}
	/* closed at once rather than left in the backlog: a full backlog
	 * would shut out the phones too */
	if (s->count >= s->lim.max_total) {
		s->counters.refused_total++;
		log_limited(&refuse_limit, LOG_NOTICE, "sip_stream: %d connections open, refusing %s",
			    s->count, netaddr_print(&peer, addr));
		close(fd);
		return;
	}
	if (count_from(s, &peer) >= s->lim.max_per_addr) {
		s->counters.refused_per_addr++;
		log_limited(&refuse_limit, LOG_NOTICE, "sip_stream: %s has %d connections open, refusing more",
			    netaddr_print(&peer, addr), s->lim.max_per_addr);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (l->transport == SIP_TRANSPORT_TLS)
		ssl = s->tls ? SSL_new(s->tls) : NULL;
	if (!c || (l->transport == SIP_TRANSPORT_TLS && !ssl)) {
		free(c);
		SSL_free(ssl);
		close(fd);
		return;
	}
	c->s = s;
	c->id = s->next_id++;
	c->transport = l->transport;
	c->peer = peer;
	if (ssl)
		c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(s->base, timer_cb, c);
	if (!c->bev || !c->timer) {
		if (c->bev)
			bufferevent_free(c->bev);
		else {
			SSL_free(ssl);
			close(fd);
		}
		if (c->timer)
			event_free(c->timer);
		free(c);
		return;
	}
	if (ssl)
		/* phones drop connections without close_notify all the time */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->count++;
	s->counters.accepted++;
	s->counters.open = (unsigned long)s->count;
	arm(c, true);
}

static void accept_error_cb(struct evconnlistener *ev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: the connections already open go on */
	log_limited(&accept_err_limit, LOG_WARNING, "sip_stream: accept: %s",
		    evutil_socket_error_to_string(err));
}

int sip_stream_listen(struct sip_stream *s, enum sip_transport transport,
		      const struct netaddr *bind_addr, char *err, size_t errlen)
{
	struct listener *l = listener_of(s, transport, bind_addr->family);
	char addr[NETADDR_TEXT_MAX];
	struct sockaddr_storage ss;
	socklen_t blen = netaddr_to_sockaddr(bind_addr, bind_addr->family, &ss), len = sizeof(ss);
	evutil_socket_t fd;
	int one = 1;

	if (!l || l->ev || blen == 0 || (transport == SIP_TRANSPORT_TLS && !s->tls)) {
		snprintf(err, errlen, "listen %s: not possible", sip_transport_via_name(transport));
		return -1;
	}
	/* bound by hand: an IPv6 listener is IPV6_V6ONLY (the IPv4 one is
	 * separate, issue 20), which evconnlistener_new_bind cannot ask for */
	fd = socket(bind_addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (bind_addr->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, (const struct sockaddr *)&ss, blen) != 0 ||
	    !(l->ev = evconnlistener_new(s->base, accept_cb, l,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd))) {
		struct sockaddr_in sin;
		snprintf(err, errlen, "bind %s/%s: %s",
			 netaddr_to_in(bind_addr, &sin) ? netaddr_format(&sin, addr) : netaddr_print(bind_addr, addr),
			 sip_transport_param(transport), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->ev, accept_error_cb);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    !netaddr_from_sockaddr((const struct sockaddr *)&ss, len, &l->local))
		l->local = *bind_addr;
	return 0;
}

void sip_stream_set_tls(struct sip_stream *s, SSL_CTX *ctx)
{
	if (ctx)
		SSL_CTX_up_ref(ctx);
	SSL_CTX_free(s->tls);
	s->tls = ctx;
}

void sip_stream_set_limits(struct sip_stream *s, const struct sip_stream_limits *lim)
{
	s->lim = *lim;
}

bool sip_stream_local(const struct sip_stream *s, enum sip_transport transport, int family,
		      struct netaddr *out)
{
	const struct listener *l = listener_of((struct sip_stream *)s, transport, family);

	if (!l || !l->ev)
		return false;
	*out = l->local;
	return true;
}

static struct conn *find_id(const struct sip_stream *s, uint64_t id)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->id == id)
			return c->dead ? NULL : c;
	return NULL;
}

int sip_stream_send(struct sip_stream *s, uint64_t conn, const char *buf, size_t len)
{
	struct conn *c = find_id(s, conn);
	char addr[NETADDR_TEXT_MAX];

	if (!c)
		return -1;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) + len > s->lim.max_output) {
		s->counters.send_dropped++;
		log_debug("sip_stream: %s %s closed: reads nothing", sip_transport_via_name(c->transport),
			  netaddr_print(&c->peer, addr));
		conn_close(c);
		return -1;
	}
	return bufferevent_write(c->bev, buf, len) == 0 ? 0 : -1;
}

uint64_t sip_stream_find(const struct sip_stream *s, const struct netaddr *addr,
			 enum sip_transport *transport)
{
	for (const struct conn *c = s->conns; c; c = c->next)
		if (!c->dead && netaddr_same(&c->peer, addr)) {
			*transport = c->transport;
			return c->id;
		}
	return 0;
}

bool sip_stream_peer(const struct sip_stream *s, uint64_t conn, struct netaddr *addr,
		     enum sip_transport *transport)
{
	const struct conn *c = find_id(s, conn);

	if (!c)
		return false;
	*addr = c->peer;
	*transport = c->transport;
	return true;
}

void sip_stream_close(struct sip_stream *s, uint64_t conn)
{
	struct conn *c = find_id(s, conn);

	if (c)
		conn_close(c);
}

void sip_stream_stop_listening(struct sip_stream *s)
{
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < 2; f++)
			if (s->lis[t][f].ev)
				evconnlistener_disable(s->lis[t][f].ev);
}

const struct sip_stream_counters *sip_stream_counters(const struct sip_stream *s)
{
	return &s->counters;
}

void sip_stream_free(struct sip_stream *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < 2; f++)
			if (s->lis[t][f].ev)
				evconnlistener_free(s->lis[t][f].ev);
	SSL_CTX_free(s->tls);
	free(s);
}
