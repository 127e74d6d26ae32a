/*
 * sdp_rewrite: what the media relay needs from an SDP body, and the body as
 * the other side must see it (design section 8; R14-R19). libosip2's SDP parser
 * reads and writes; the lines the relay changes are written in libosip2's
 * form from what it parsed (sdp_rewrite.c says how).
 *
 * Rewriting puts sipnatd's address for the receiving side in every c= (session
 * and media level) and in o=, the relay port of each stream in its m= line and
 * a=rtcp, and removes ICE attributes (the relay is the path). A stream rejected
 * with port 0 stays rejected; c=0.0.0.0 (RFC 2543 hold) stays 0.0.0.0; every
 * other line passes through. The same input and parameters always give the
 * same output, byte for byte (R18).
 *
 * Families (issue 20): a body is read for the connection address families
 * the caller can relay (IN IP4 alone, as the IPv4 path always has, or
 * IN IP6 too); the advertised address may be of either family whatever the
 * body had, and every c=, o= and a=rtcp then names that family (never a mix
 * within one body): c=IN IP4 x becomes c=IN IP6 2001:db8::10 and back, and
 * a hold address becomes the other family's (0.0.0.0 <-> ::).
 */
#ifndef SIPNATD_SDP_REWRITE_H
#define SIPNATD_SDP_REWRITE_H

#include "netaddr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_MEDIA 16
#define SDP_MAX_SIZE 65536

enum sdp_direction {
	SDP_SENDRECV,
	SDP_SENDONLY,
	SDP_RECVONLY,
	SDP_INACTIVE,
};

struct sdp_stream {
	char media[16];          /* "audio", "video", ... */
	uint16_t port;           /* 0: rejected */
	uint16_t rtcp_port;      /* a=rtcp's port, else port + 1 */
	struct netaddr conn;     /* media-level c=, else the session's, either family;
				  * port = port; 0.0.0.0 or :: = hold; family 0 when
				  * rejected */
	struct netaddr rtcp_conn;/* where RTCP goes: a=rtcp's address and port, else
				  * conn's address and rtcp_port */
	bool rtcp_mux;           /* a=rtcp-mux */
	enum sdp_direction direction; /* media-level, else session-level, else sendrecv */
};

struct sdp_info {
	size_t count;
	struct sdp_stream streams[SDP_MAX_MEDIA];
};

/* Which connection address families a body is read for (IN IP4, IN IP6). */
#define SDP_FAMILY_IP4 0x1
#define SDP_FAMILY_IP6 0x2

/* Read an SDP body, its connection addresses (c=, a=rtcp) in the families
 * of `families` (an IN IP6 address is a unicast literal as RFC 4566 section
 * 5.7 writes it, no brackets). Returns 0, or -1 when it cannot be parsed,
 * has more than SDP_MAX_MEDIA m= lines, is over SDP_MAX_SIZE, a stream with
 * a port has no usable c= (session or media level) of those families, or
 * an address is not a literal of them: such an offer is answered 488 and
 * never forwarded (R47). */
int sdp_rewrite_inspect(const char *body, size_t len, unsigned families, struct sdp_info *info);

struct sdp_rewrite_params {
	struct netaddr advertise;         /* sipnatd's address toward the receiver,
					   * either family (port ignored) */
	uint16_t ports[SDP_MAX_MEDIA];    /* relay RTP port per m= line (ignored for port 0 lines) */
	bool rtcp_mux[SDP_MAX_MEDIA];     /* the relay muxes RTCP on the RTP port for this stream */
};

/* Rewrite body, read for `families`, for the receiving side. *out is a new
 * NUL-terminated buffer (caller frees with free()), *out_len its length.
 * Returns 0 or -1 (as sdp_rewrite_inspect, an advertise of no family, or
 * out of memory). */
int sdp_rewrite(const char *body, size_t len, unsigned families,
		const struct sdp_rewrite_params *params, char **out, size_t *out_len);

/* sdp_rewrite_inspect and sdp_rewrite with one parse, for a caller that decides the
 * parameters from what it read (the relay allocates ports per stream).
 * sdp_rewrite_body_load fills *info as sdp_rewrite_inspect does and returns the parsed body,
 * or NULL where sdp_rewrite_inspect returns -1 (or out of memory); the caller frees
 * it with sdp_rewrite_body_free. sdp_rewrite_body_rewrite then works as sdp_rewrite, once per
 * load (a second call returns -1). */
struct sdp_body;
struct sdp_body *sdp_rewrite_body_load(const char *body, size_t len, unsigned families,
				       struct sdp_info *info);
int sdp_rewrite_body_rewrite(struct sdp_body *b, const struct sdp_rewrite_params *params, char **out,
		     size_t *out_len);
void sdp_rewrite_body_free(struct sdp_body *b);

/* True when every stream is on hold (sendonly, recvonly, inactive, or
 * c=0.0.0.0 or c=::): the call is held, rtpholdtimeout applies. */
bool sdp_rewrite_is_hold(const struct sdp_info *info);

#endif
