/*
 * sip_edge: the transports of the SIP path's two ends. In: datagrams come
 * from sip_socket straight into sip_dispatch; stream messages come from
 * sip_stream through here. Out: sip_dispatch hands every message to env->send,
 * which is sip_edge_send: a destination that is a phone's TCP or TLS
 * connection (its NAT address and port, as registered or as its request came
 * from) gets the message on that connection, anything else a datagram.
 *
 * The PBX side never changes: it is on the LAN, and the LAN is UDP.
 */
#include "sip_edge.h"

#include "log.h"
#include "sip_dispatch.h"
#include "sip_socket.h"
#include "sipmsg.h"
#include "tls_context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a peer with this much SIP unread is not reading at all */
#define STREAM_MAX_OUTPUT (256 * 1024)

struct sip_edge {
	struct event_base *base;
	struct sip_socket *udp;
	struct sip_dispatch *sd;
	struct sip_stream *stream;   /* NULL until a stream transport is enabled */
	unsigned listening;          /* CONF_TRANSPORT_TCP/TLS bits */
};

static void limits_of(const struct conf *conf, struct sip_stream_limits *lim)
{
	*lim = (struct sip_stream_limits){
		.max_header = (size_t)conf->tcpmaxheadersize,
		.max_message = SIPMSG_MAX_SIZE,
		.max_per_addr = conf->tcpmaxperaddr,
		.max_total = conf->tcpmaxconnections,
		.idle_timeout_s = conf->tcpidletimeout_s,
		.msg_timeout_s = conf->tcpmsgtimeout_s,
		.max_output = STREAM_MAX_OUTPUT,
	};
}

static void stream_msg_cb(void *arg, const char *buf, size_t len, const struct netaddr *src,
			  enum sip_transport transport, uint64_t conn)
{
	struct sip_edge *e = arg;

	sip_socket_trace(transport == SIP_TRANSPORT_TLS ? "in (tls) from" : "in (tcp) from", src,
			 buf, len);
	sip_dispatch_message(e->sd, buf, len, src);
}

static int load_tls(struct sip_edge *e, const struct conf *conf, char *err, size_t errlen)
{
	enum tls_context_file bad;
	char why[256];
	SSL_CTX *ctx = tls_context_new(conf->tlscertfile, conf->tlsprivatekey, conf->tlscafile, &bad,
				       why, sizeof(why));

	if (!ctx) {
		snprintf(err, errlen, "TLS: %s", why);
		return -1;
	}
	sip_stream_set_tls(e->stream, ctx);
	SSL_CTX_free(ctx);  /* the stream holds its reference */
	return 0;
}

/* Open what conf enables and is not open yet. */
static int open_listeners(struct sip_edge *e, const struct conf *conf, char *err, size_t errlen)
{
	unsigned want = conf->transports & (CONF_TRANSPORT_TCP | CONF_TRANSPORT_TLS);
	struct sip_stream_limits lim;

	limits_of(conf, &lim);
	if (!want && !e->stream)
		return 0;
	if (!e->stream) {
		e->stream = sip_stream_new(e->base, &lim, stream_msg_cb, e);
		if (!e->stream) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	sip_stream_set_limits(e->stream, &lim);
	if ((want & CONF_TRANSPORT_TLS) && load_tls(e, conf, err, errlen) != 0)
		return -1;
	if ((want & CONF_TRANSPORT_TCP) && !(e->listening & CONF_TRANSPORT_TCP)) {
		struct netaddr b4 = netaddr_from_in(&conf->tcpbind);
		if (sip_stream_listen(e->stream, SIP_TRANSPORT_TCP, &b4, err, errlen) != 0 ||
		    (conf->tcpbind6.family &&
		     sip_stream_listen(e->stream, SIP_TRANSPORT_TCP, &conf->tcpbind6, err, errlen) != 0))
			return -1;
		e->listening |= CONF_TRANSPORT_TCP;
	}
	if ((want & CONF_TRANSPORT_TLS) && !(e->listening & CONF_TRANSPORT_TLS)) {
		struct netaddr b4 = netaddr_from_in(&conf->tlsbind);
		if (sip_stream_listen(e->stream, SIP_TRANSPORT_TLS, &b4, err, errlen) != 0 ||
		    (conf->tlsbind6.family &&
		     sip_stream_listen(e->stream, SIP_TRANSPORT_TLS, &conf->tlsbind6, err, errlen) != 0))
			return -1;
		e->listening |= CONF_TRANSPORT_TLS;
	}
	return 0;
}

struct sip_edge *sip_edge_new(struct event_base *base, struct sip_socket *udp,
			      struct sip_dispatch *sd, const struct conf *conf, char *err,
			      size_t errlen)
{
	struct sip_edge *e = calloc(1, sizeof(*e));

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->base = base;
	e->udp = udp;
	e->sd = sd;
	if (open_listeners(e, conf, err, errlen) != 0) {
		sip_edge_free(e);
		return NULL;
	}
	return e;
}

int sip_edge_reconfigure(struct sip_edge *e, const struct conf *conf, char *err, size_t errlen)
{
	return open_listeners(e, conf, err, errlen);
}

void sip_edge_send(void *arg, const char *buf, size_t len, const struct netaddr *dest)
{
	struct sip_edge *e = arg;
	enum sip_transport t;
	uint64_t conn = e->stream ? sip_stream_find(e->stream, dest, &t) : 0;

	if (conn) {
		sip_socket_trace(t == SIP_TRANSPORT_TLS ? "out (tls) to" : "out (tcp) to", dest, buf, len);
		/* a connection that takes nothing more was closed by sip_stream,
		 * which counted it; the phone reconnects and re-registers */
		(void)sip_stream_send(e->stream, conn, buf, len);
		return;
	}
	/* a failed send is counted and logged by sip_socket; UDP loses it */
	(void)sip_socket_send(e->udp, buf, len, dest);
}

enum sip_transport sip_edge_transport_to(void *arg, const struct netaddr *dest)
{
	const struct sip_edge *e = arg;
	enum sip_transport t;

	if (e->stream && sip_stream_find(e->stream, dest, &t))
		return t;
	return SIP_TRANSPORT_UDP;
}

void sip_edge_stop_listening(struct sip_edge *e)
{
	if (e && e->stream)
		sip_stream_stop_listening(e->stream);
}

const struct sip_stream_counters *sip_edge_stream_counters(const struct sip_edge *e)
{
	return e && e->stream ? sip_stream_counters(e->stream) : NULL;
}

struct sip_stream *sip_edge_stream(struct sip_edge *e)
{
	return e ? e->stream : NULL;
}

void sip_edge_free(struct sip_edge *e)
{
	if (!e)
		return;
	sip_stream_free(e->stream);
	free(e);
}
