/*
 * sip_contact: Contact masquerading (design section 5). A Contact that would
 * be useless or revealing on the other side of the NAT is replaced by a URI of
 * sipnatd's that carries a sealed token: the original URI and, for a remote
 * party, the NAT address it really sends from. When a request comes back to
 * that URI, the token gives the original target back (R10).
 *
 * The token is a sealed value (AES-SIV with a key made at start), not a table
 * key: nothing to expire, and a token can be neither read nor forged nor
 * altered by anyone who does not hold the process key. Where a restored target may be used is decided by the router, never by
 * the token (a request from the Internet only ever goes to the PBX).
 */
#ifndef SIPNATD_SIP_CONTACT_H
#define SIPNATD_SIP_CONTACT_H

#include "netaddr.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stdint.h>

#define CONTACT_TOKEN_PARAM "snt"

struct contact_target {
	char uri[512];             /* the original URI, as text */
	bool has_nat;
	struct netaddr nat;        /* where the party really sends from (either family) */
};

/* Replace the address of every Contact in msg by host:port (host of either
 * family: an IPv6 one is written in brackets) with a token of the original
 * URI (and nat, when not NULL, of either family; a token of an IPv4 nat, or
 * of none, is what it was before issue 20, so older tokens still open).
 * "Contact: *" is left alone. Returns 0, or -1 when out of memory, a URI
 * is too long to seal, or a Contact cannot be written back as it means (a
 * raw quote in its URI, a parameter with a stray quote or comma). */
int sip_contact_masquerade(osip_message_t *msg, const struct netaddr *host, uint16_t port,
			   const struct netaddr *nat);

/* Add ;transport=param (e.g. "tcp") to every Contact of msg that has a URI,
 * replacing one already there: sipnatd's masqueraded Contact toward a phone
 * on a stream. Returns 0, or -1 when out of memory. */
int sip_contact_set_transport(osip_message_t *msg, const char *param);

/* If uri carries a valid token, fill *out and return true. */
bool sip_contact_token_decode(const osip_uri_t *uri, struct contact_target *out);

/* If msg's Request-URI carries a valid token, replace the Request-URI by the
 * original one and fill *out: returns 1. Returns 0 when there is no token, -1
 * when there is one that does not verify (forged or from an older process). */
int sip_contact_restore_request_uri(osip_message_t *msg, struct contact_target *out);

#endif
