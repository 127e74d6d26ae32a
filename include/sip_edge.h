/*
 * sip_edge: where the SIP path meets its sockets, for every transport. The
 * daemon's UDP socket stays sip_socket's; this adds the TCP and TLS
 * listeners toward the Internet (sip_stream) and decides, for each message
 * the SIP path sends, which way it leaves: over the phone's own connection
 * when the destination is one (the only way through its NAT), else UDP.
 * Messages from the streams go into the same dispatcher as datagrams.
 */
#ifndef SIPNATD_SIP_EDGE_H
#define SIPNATD_SIP_EDGE_H

#include "conf.h"
#include "sip_stream.h"
#include "sip_transport.h"

#include <event2/event.h>
#include <netinet/in.h>

struct sip_edge;
struct sip_socket;
struct sip_dispatch;

/* An edge over the UDP socket udp, with the stream listeners conf asks for
 * (general.transport), delivering to sd. Returns NULL with the reason in err
 * ("bind 0.0.0.0:5061/tls: Address already in use", a certificate that no
 * longer loads). udp and sd must outlive it. */
struct sip_edge *sip_edge_new(struct event_base *base, struct sip_socket *udp,
			      struct sip_dispatch *sd, const struct conf *conf, char *err,
			      size_t errlen);

/* After a reload: new limits, a new TLS context from the files (for new
 * connections), and the listeners newly enabled. Returns 0, or -1 with the
 * reason in err (the old context and listeners then stay). Listeners that
 * were disabled or moved stay as they are until a restart. */
int sip_edge_reconfigure(struct sip_edge *e, const struct conf *conf, char *err, size_t errlen);

/* sip_env's send: over dest's stream connection when there is one, else
 * out of the UDP socket. arg is the edge. */
void sip_edge_send(void *arg, const char *buf, size_t len, const struct netaddr *dest);

/* sip_env's transport_to: what sip_edge_send would use toward dest. */
enum sip_transport sip_edge_transport_to(void *arg, const struct netaddr *dest);

/* Stop accepting connections (shutdown). */
void sip_edge_stop_listening(struct sip_edge *e);

/* The stream counters; NULL when no stream listener was ever enabled. */
const struct sip_stream_counters *sip_edge_stream_counters(const struct sip_edge *e);

/* The stream engine (tests); NULL when no stream listener was ever enabled. */
struct sip_stream *sip_edge_stream(struct sip_edge *e);

/* Close the connections and listeners; NULL is allowed. */
void sip_edge_free(struct sip_edge *e);

#endif
