/*
 * sip_route: the route step of the SIP path. Inputs are the request and what
 * sipnatd knows of itself; the output is a decision for the forward step.
 */
#include "sip_route.h"

#include "netaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool sip_route_uri_is_self(const struct route_self *self, const osip_uri_t *uri)
{
	struct netaddr host;
	uint16_t port = 5060;

	if (!uri || !uri->host || !netaddr_parse_ip(uri->host, &host))
		return false;
	if (uri->port && !netaddr_parse_port(uri->port, &port))
		return false;
	if (port != self->port)
		return false;
	if (host.family == AF_INET6)
		return (self->have_ext6_addr && netaddr_same_ip(&host, &self->ext6_addr)) ||
		       (self->conf->has_localaddr6 && netaddr_same_ip(&host, &self->conf->localaddr6)) ||
		       (self->conf->has_bindaddr6 && netaddr_is_specified(&self->conf->bindaddr6) &&
			netaddr_same_ip(&host, &self->conf->bindaddr6));
	return (self->have_lan_addr && netaddr_same_ip(&host, &self->lan_addr)) ||
	       (self->have_ext_addr && netaddr_same_ip(&host, &self->ext_addr)) ||
	       (self->conf->bindaddr.s_addr != htonl(INADDR_ANY) &&
		host.ip.v4.s_addr == self->conf->bindaddr.s_addr);
}

/* RFC 3261 16.4: a top Route naming this proxy is removed; the loose-routing
 * case only (;lr), as every stack since RFC 3261 does. */
static void pop_own_routes(const struct route_self *self, osip_message_t *req)
{
	osip_route_t *route;

	while ((route = osip_list_get(&req->routes, 0)) != NULL && sip_route_uri_is_self(self, route->url)) {
		osip_list_remove(&req->routes, 0);
		osip_route_free(route);
	}
}

static void drop_routes(osip_message_t *req)
{
	osip_route_t *route;

	while ((route = osip_list_get(&req->routes, 0)) != NULL) {
		osip_list_remove(&req->routes, 0);
		osip_route_free(route);
	}
}

static void drop_uri_params(osip_list_t *params, const char *name)
{
	osip_uri_param_t *p;

	for (int i = 0; (p = osip_list_get(params, i)) != NULL;) {
		if (p->gname && strcasecmp(p->gname, name) == 0) {
			osip_list_remove(params, i);
			osip_uri_param_free(p);
		} else {
			i++;
		}
	}
}

/*
 * A request from anyone but the PBX goes to the PBX, and says so (issue 11):
 * no Route is left (sipnatd is its only hop, and a PBX that honours Route
 * would relay to wherever the sender named), and the Request-URI names the
 * PBX's address, the user part and ordinary parameters kept (the PBX routes
 * by the user; a third party's host, a maddr or URI headers mean nothing to
 * it but somewhere else to send). A dialog's Request-URI restored from a
 * token already names the PBX's Contact, and the PBX matches in-dialog
 * requests by Call-ID and tags (RFC 3261 12.2.2), so dialogs are unaffected.
 * Returns 0, or -1 when out of memory.
 */
static int aim_at_pbx(const struct route_self *self, osip_message_t *req)
{
	osip_uri_t *uri = req->req_uri;
	char ip[NETADDR_HOST_MAX], port[8];

	drop_routes(req);
	if (!uri || !uri->host)
		return 0; /* tel: and the like name no host */
	/* bare: libosip2 brackets an IPv6 host itself */
	netaddr_ip_text(&self->conf->pbxaddr, ip);
	netaddr_port_str(self->conf->pbxaddr.port, port);
	osip_free(uri->host);
	osip_free(uri->port);
	osip_free(uri->password);
	uri->password = NULL;
	uri->host = osip_strdup(ip);
	uri->port = osip_strdup(port);
	drop_uri_params(&uri->url_params, "maddr");
	/* a phone's ;transport=tcp/tls says how it reached sipnatd; the PBX is
	 * reached over the LAN's UDP (issue 15: bridged, not passed on). The
	 * PBX's own Contact, restored from a token, keeps its transport=udp. */
	osip_uri_param_t *transport = NULL;
	if (osip_uri_param_get_byname(&uri->url_params, (char *)"transport", &transport) == 0 &&
	    transport && (!transport->gvalue || strcasecmp(transport->gvalue, "udp") != 0))
		drop_uri_params(&uri->url_params, "transport");
	osip_uri_header_freelist(&uri->url_headers);
	return uri->host && uri->port ? 0 : -1;
}

static void respond(struct route_decision *out, int status, const char *why)
{
	out->action = ROUTE_RESPOND;
	out->status = status;
	out->why = why;
}

static void to_uri_host(const osip_uri_t *uri, struct route_decision *out, const char *why)
{
	struct netaddr ip;
	uint16_t port = 5060;

	if (!uri || !uri->host || !*uri->host) {
		respond(out, 416, "no host in the target URI");
		return;
	}
	if (uri->port && !netaddr_parse_port(uri->port, &port)) {
		respond(out, 400, "bad port in the target URI");
		return;
	}
	if (netaddr_parse_ip(uri->host, &ip)) {
		out->action = ROUTE_FORWARD;
		out->dest = ip;
		out->dest.port = port;
		out->why = why;
		return;
	}
	if (strlen(uri->host) >= sizeof(out->host) || uri->host[0] == '[') {
		respond(out, 416, "unsupported host in the target URI");
		return;
	}
	out->action = ROUTE_LOOKUP;
	strcpy(out->host, uri->host);
	out->port = port;
	out->why = why;
}

/* A request from the PBX for sipnatd itself: the user part names a peer. */
static void to_peer(const struct route_self *self, osip_message_t *req, struct route_decision *out)
{
	const osip_uri_t *uri = req->req_uri;
	const struct conf_peer *peer = uri->username ? conf_peer_find(self->conf, uri->username) : NULL;
	struct netaddr ip;
	const char *contact;
	struct netaddr nat;

	if (!peer) {
		respond(out, 404, "no such peer");
		return;
	}
	out->peer = peer;
	if (self->unreachable && self->unreachable(self->unreachable_arg, peer)) {
		/* fail at once rather than after Timer B (R40) */
		respond(out, 480, "peer unreachable");
		return;
	}
	if (!peer->host) {
		/* A registered peer: to the NAT address its REGISTER came from,
		 * addressed to the contact it registered (section 7). */
		if (!self->binding_of || !self->binding_of(self->binding_arg, peer, &contact, &nat)) {
			respond(out, 480, "peer not registered");
			return;
		}
		osip_uri_t *target = NULL;
		if (osip_uri_init(&target) != 0 || osip_uri_parse(target, contact) != 0) {
			osip_uri_free(target);
			respond(out, 500, "unparsable registered contact");
			return;
		}
		osip_uri_free(req->req_uri);
		req->req_uri = target;
		out->action = ROUTE_FORWARD;
		out->dest = nat;
		out->why = "registered peer";
		return;
	}
	if (netaddr_parse_ip(peer->host, &ip)) {
		out->action = ROUTE_FORWARD;
		out->dest = ip;
		out->dest.port = peer->port;
		out->why = "trunk peer";
		return;
	}
	if (self->trunk_addr && self->trunk_addr(self->trunk_arg, peer, &ip)) {
		out->action = ROUTE_FORWARD;
		out->dest = ip;
		out->dest.port = peer->port;
		out->why = "trunk peer";
		return;
	}
	out->action = ROUTE_LOOKUP;
	snprintf(out->host, sizeof(out->host), "%s", peer->host);
	out->port = peer->port;
	out->why = "trunk peer (lookup)";
}

void sip_route_request(const struct route_self *self, enum source_kind kind, osip_message_t *req,
		   struct route_decision *out)
{
	struct contact_target target;
	osip_to_t *to = req->to;
	osip_generic_param_t *to_tag = NULL;

	memset(out, 0, sizeof(*out));
	pop_own_routes(self, req);
	int restored = sip_contact_restore_request_uri(req, &target);
	if (restored < 0) {
		/* a token we did not make, or made before a restart */
		if (to)
			osip_to_get_tag(to, &to_tag);
		respond(out, to_tag ? 481 : 404, "unknown sipnatd token in the Request-URI");
		return;
	}

	if (kind != SOURCE_PBX) {
		/* Everything that is not the PBX talks only to the PBX. A token's
		 * NAT address is deliberately ignored here. */
		if (aim_at_pbx(self, req) != 0) {
			respond(out, 500, "out of memory rewriting the Request-URI");
			return;
		}
		out->action = ROUTE_FORWARD;
		out->dest = self->conf->pbxaddr;
		out->why = "to the PBX";
		return;
	}

	if (restored > 0) {
		if (!target.has_nat) {
			respond(out, 482, "the PBX addressed its own masqueraded Contact");
			return;
		}
		out->action = ROUTE_FORWARD;
		out->dest = target.nat;
		out->why = "in-dialog, to the party's NAT address";
		return;
	}
	/* Loose routing: a Route left after ours names the next hop. */
	osip_route_t *next = osip_list_get(&req->routes, 0);
	if (next && next->url) {
		to_uri_host(next->url, out, "by Route");
		return;
	}
	if (sip_route_uri_is_self(self, req->req_uri)) {
		to_peer(self, req, out);
		return;
	}
	to_uri_host(req->req_uri, out, "by Request-URI");
}
