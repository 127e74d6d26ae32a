/*
 * sip_route: where a request goes (design section 5, "Routing"). A pure
 * decision over the classified, Via-stamped request: forward to an address,
 * look a name up first, or answer it here. It never sends anything itself.
 *
 * The one rule that makes sipnatd safe on the Internet is here: a request
 * from anyone but the PBX only ever goes to the PBX, whatever its
 * Request-URI, Route or token says (no open relay, no reflection); and it
 * reaches the PBX without Route and with a Request-URI that names the PBX,
 * so that a PBX which honours either cannot be made to relay.
 */
#ifndef SIPNATD_SIP_ROUTE_H
#define SIPNATD_SIP_ROUTE_H

#include "classify.h"
#include "conf.h"
#include "netaddr.h"
#include "sip_contact.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>

/* What the router may know about sipnatd itself. */
struct route_self {
	const struct conf *conf;
	struct netaddr lan_addr;   /* IPv4 */
	bool have_lan_addr;
	struct netaddr ext_addr;   /* IPv4 */
	bool have_ext_addr;
	struct netaddr ext6_addr;  /* the configured or resolved external IPv6 address */
	bool have_ext6_addr;
	uint16_t port;
	/* the resolved address of a trunk peer known by name; NULL = unknown */
	bool (*trunk_addr)(void *arg, const struct conf_peer *peer, struct netaddr *out);
	void *trunk_arg;
	/* the registered contact of a dynamic peer (NULL = not registered):
	 * its URI text and the NAT address it registered from */
	bool (*binding_of)(void *arg, const struct conf_peer *peer, const char **contact,
			   struct netaddr *nat);
	void *binding_arg;
	/* has the peer stopped answering pings (qualify)? NULL = never */
	bool (*unreachable)(void *arg, const struct conf_peer *peer);
	void *unreachable_arg;
};

enum route_action {
	ROUTE_FORWARD, /* send to dest */
	ROUTE_LOOKUP,  /* resolve host, then send to its address:port */
	ROUTE_RESPOND, /* answer with status */
};

struct route_decision {
	enum route_action action;
	int status;
	struct netaddr dest;       /* either family */
	char host[256];
	uint16_t port;
	const struct conf_peer *peer; /* the peer the request is for, when known */
	const char *why;              /* for the log */
};

/* Decide for a request from a source of kind. May rewrite the Request-URI (a
 * token restored, or a registered peer's contact put in) and drop Route
 * entries that name sipnatd (loose routing, RFC 3261 16.4). For a source
 * other than the PBX, every Route is dropped and the Request-URI's host and
 * port become the PBX's (user part and parameters but maddr kept). */
void sip_route_request(const struct route_self *self, enum source_kind kind, osip_message_t *req,
		   struct route_decision *out);

/* Does uri name sipnatd (one of its addresses of either family, and its
 * port or none)? */
bool sip_route_uri_is_self(const struct route_self *self, const osip_uri_t *uri);

#endif
