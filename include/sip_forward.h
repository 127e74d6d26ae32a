/*
 * sip_forward: the rewrite-and-send end of the SIP path. Given a message and
 * where it goes, apply the NAT rewrites for the sides it crosses (Contact
 * masquerading; sipnatd's Via, with the LAN Vias sealed when leaving the LAN),
 * Max-Forwards, and send it.
 */
#ifndef SIPNATD_SIP_FORWARD_H
#define SIPNATD_SIP_FORWARD_H

#include "sip_env.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>

/* Where the message comes from, as the forward step needs it. */
struct forward_source {
	struct netaddr addr;  /* either family */
	bool local;   /* the PBX or another localnet address */
	/* the configured peer of the Internet party, sender or receiver, when
	 * known: its nat and directmedia settings apply */
	const struct conf_peer *peer;
};

enum forward_result {
	FORWARD_SENT,
	FORWARD_NO_ADDRESS, /* the address to advertise toward dest is unknown: 503 */
	FORWARD_FAILED,     /* out of memory or serialising failed (logged) */
	FORWARD_NO_PORTS,   /* the relay's port pool is empty: 503 */
	FORWARD_BAD_SDP,    /* an SDP body that cannot be relayed: 488 */
	FORWARD_CALL_LIMIT, /* the peer is at its calllimit: 486 */
	FORWARD_RELAY_LIMIT,/* the peer would exceed its maxrelays: 503 */
};

/* Forward a request to dest (either family: sipnatd's Via, Contact and SDP
 * then say its address of that family). The top Via must already be stamped. Decrements
 * Max-Forwards (the caller has answered 483 at zero). */
enum forward_result sip_forward_request(const struct sip_env *env, osip_message_t *req,
				    const struct forward_source *src, const struct netaddr *dest);

/* Forward a response whose own Via has been removed; it goes where its new
 * top Via says. Returns FORWARD_FAILED when that Via is unusable. */
enum forward_result sip_forward_response(const struct sip_env *env, osip_message_t *resp,
				     const struct forward_source *src);

/* Max-Forwards of req: the value, 70 when absent (and then added), -1 when
 * malformed. */
int sip_forward_max_forwards(osip_message_t *req);

/* Serialise msg and send it to dest through env->send (toward the Internet
 * with the LAN hidden, sip_hide.c). */
void sip_forward_send(const struct sip_env *env, osip_message_t *msg, const struct netaddr *dest);

#endif
