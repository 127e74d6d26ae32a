/*
 * sip_stream: SIP over TCP and TLS toward the Internet (issue 15). Listens on
 * the stream ports, keeps one connection per phone, frames what it reads
 * (sip_frame) and hands each message to a callback, as sip_socket does for
 * datagrams. Sending goes back over a connection the phone opened: behind
 * its NAT that connection is the only way in (RFC 5626 3.5, RFC 5923).
 *
 * What a stranger can cost is bounded here: connections per address and in
 * all, the header section's size, the time a message (or a TLS handshake)
 * may take to arrive (slowloris), the idle time, and the bytes queued toward
 * a peer that does not read.
 */
#ifndef SIPNATD_SIP_STREAM_H
#define SIPNATD_SIP_STREAM_H

#include "netaddr.h"
#include "sip_transport.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sip_stream;

struct sip_stream_limits {
	size_t max_header;      /* bytes of a header section */
	size_t max_message;     /* bytes of a whole message */
	int max_per_addr;       /* connections from one IP address */
	int max_total;          /* connections, all listeners together */
	int idle_timeout_s;     /* no message for this long: closed */
	int msg_timeout_s;      /* a message begun, or a new connection's first
				 * one (TLS handshake included), must be whole by then */
	size_t max_output;      /* bytes queued toward one peer before it is
				 * given up as not reading */
};

/* A framed message from connection conn (never 0) of the given transport,
 * whose peer is src. buf is valid during the call only. The callback may send
 * on any connection, this one included, and may close it. */
typedef void (*sip_stream_msg_fn)(void *arg, const char *buf, size_t len,
				  const struct netaddr *src, enum sip_transport transport,
				  uint64_t conn);

struct sip_stream_counters {
	unsigned long accepted, open;
	unsigned long refused_per_addr, refused_total;  /* accepted then closed at once */
	unsigned long messages, pings, framing_errors;
	unsigned long timed_out, idle_closed, send_dropped;
};

/* A stream engine in base with these limits; no listener yet. NULL on memory
 * exhaustion. */
struct sip_stream *sip_stream_new(struct event_base *base, const struct sip_stream_limits *lim,
				  sip_stream_msg_fn fn, void *arg);

/* Listen for transport (TCP or TLS) on bind_addr (port 0: any); one
 * listener per transport and family (an IPv6 one is IPV6_V6ONLY). A TLS
 * listener needs sip_stream_set_tls first. Returns 0, or -1 with the reason
 * in err ("bind 0.0.0.0:5061: Address already in use"). */
int sip_stream_listen(struct sip_stream *s, enum sip_transport transport,
		      const struct netaddr *bind_addr, char *err, size_t errlen);

/* The TLS context for connections accepted from now on (a reference is
 * taken; connections already up keep theirs). */
void sip_stream_set_tls(struct sip_stream *s, SSL_CTX *ctx);

/* New limits; connections already up are held to them from their next event. */
void sip_stream_set_limits(struct sip_stream *s, const struct sip_stream_limits *lim);

/* The address the listener of transport and family is bound to (port filled
 * in); false when there is none. */
bool sip_stream_local(const struct sip_stream *s, enum sip_transport transport, int family,
		      struct netaddr *out);

/* Queue len bytes on connection conn. Returns 0, or -1 when the connection is
 * gone or would hold more than max_output bytes (it is then closed: a peer
 * that reads nothing is not served). */
int sip_stream_send(struct sip_stream *s, uint64_t conn, const char *buf, size_t len);

/* The newest open connection whose peer is addr (address and port), with
 * its transport in *transport; 0 when there is none. A NAT maps one address
 * and port to one TCP connection, so the pair names it (TLS runs over TCP).
 * Phones reuse the connection they registered over. */
uint64_t sip_stream_find(const struct sip_stream *s, const struct netaddr *addr,
			 enum sip_transport *transport);

/* The peer and transport of connection conn; false when it is gone. */
bool sip_stream_peer(const struct sip_stream *s, uint64_t conn, struct netaddr *addr,
		     enum sip_transport *transport);

/* Close connection conn now (deferred when inside its own callback). */
void sip_stream_close(struct sip_stream *s, uint64_t conn);

/* Stop accepting connections (shutdown); open ones stay. */
void sip_stream_stop_listening(struct sip_stream *s);

const struct sip_stream_counters *sip_stream_counters(const struct sip_stream *s);

/* Close every connection and listener and free s. NULL is allowed; not from
 * inside a callback of s. */
void sip_stream_free(struct sip_stream *s);

#endif
