/*
 * natdetect: the rule that says a remote party is behind NAT whatever its
 * peer's nat setting says (issue 10). The SIP path asks it for rport
 * (nat = "auto") and the media step asks it whether to latch the party's
 * media (auto-comedia): a phone copied from an Asterisk guide with
 * nat = "force_rport" still gets audio through a NAT.
 */
#include "natdetect.h"

#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define SIP_DEFAULT_PORT 5060

static bool natdetect_is_private_v4(struct in_addr addr)
{
	static const struct {
		uint32_t net, mask;
	} nets[] = {
		{ 0x00000000, 0xff000000 }, /* 0/8 "this network" */
		{ 0x0a000000, 0xff000000 }, /* 10/8 RFC 1918 */
		{ 0x64400000, 0xffc00000 }, /* 100.64/10 RFC 6598 (CGNAT) */
		{ 0x7f000000, 0xff000000 }, /* 127/8 loopback */
		{ 0xa9fe0000, 0xffff0000 }, /* 169.254/16 link-local */
		{ 0xac100000, 0xfff00000 }, /* 172.16/12 RFC 1918 */
		{ 0xc0000000, 0xffffff00 }, /* 192.0.0/24 IETF protocol (DS-Lite B4) */
		{ 0xc0a80000, 0xffff0000 }, /* 192.168/16 RFC 1918 */
		{ 0xe0000000, 0xe0000000 }, /* 224/4 multicast and 240/4 reserved */
	};
	uint32_t h = ntohl(addr.s_addr);

	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		if ((h & nets[i].mask) == nets[i].net)
			return true;
	return false;
}

static bool natdetect_is_private_v6(const struct in6_addr *a)
{
	static const struct in6_addr loopback = IN6ADDR_LOOPBACK_INIT;
	static const struct {
		uint8_t first, mask;   /* the first byte, and which of its bits count */
		uint8_t second, mask2; /* the second */
	} nets[] = {
		{ 0xfc, 0xfe, 0x00, 0x00 }, /* fc00::/7 unique local (RFC 4193) */
		{ 0xfe, 0xff, 0x80, 0xc0 }, /* fe80::/10 link-local */
		{ 0xfe, 0xff, 0xc0, 0xc0 }, /* fec0::/10 site-local (deprecated, RFC 3879) */
		{ 0xff, 0xff, 0x00, 0x00 }, /* ff00::/8 multicast */
	};

	if (IN6_IS_ADDR_UNSPECIFIED(a) || memcmp(a, &loopback, sizeof(loopback)) == 0)
		return true;
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		if ((a->s6_addr[0] & nets[i].mask) == nets[i].first &&
		    (a->s6_addr[1] & nets[i].mask2) == nets[i].second)
			return true;
	return false;
}

bool natdetect_is_private(const struct netaddr *addr)
{
	if (addr->family == AF_INET)
		return natdetect_is_private_v4(addr->ip.v4);
	if (addr->family == AF_INET6)
		return natdetect_is_private_v6(&addr->ip.v6);
	return false;
}

unsigned natdetect_claim(const struct netaddr *src, const char *host, const char *port,
			 unsigned bit)
{
	struct netaddr ip;
	uint16_t p = SIP_DEFAULT_PORT;

	if (!host || !netaddr_parse_ip(host, &ip))
		return 0; /* a name: nothing to compare without DNS */
	if (!netaddr_same_ip(&ip, src))
		return bit;
	/* a port that is no port cannot be where the request came from */
	if (port && *port && !netaddr_parse_port(port, &p))
		return bit;
	return p == src->port ? 0 : bit;
}

unsigned natdetect_signalling(const osip_message_t *msg, const struct netaddr *src)
{
	unsigned reasons = 0;

	if (MSG_IS_REQUEST(msg)) {
		const osip_via_t *via = osip_list_get(&msg->vias, 0);
		if (via)
			reasons |= natdetect_claim(src, via->host, via->port, NATDETECT_VIA);
	}
	const osip_contact_t *contact = osip_list_get(&msg->contacts, 0);
	if (contact && contact->url)
		reasons |= natdetect_claim(src, contact->url->host, contact->url->port,
					   NATDETECT_CONTACT);
	return reasons;
}

unsigned natdetect_sdp(const struct netaddr *sdp_addr, const struct netaddr *src_ip)
{
	if (!netaddr_is_specified(sdp_addr))
		return 0; /* hold (0.0.0.0, ::) says nothing about where the party is */
	/* where it sends from: no NAT between us, whatever the address (a
	 * private network that reaches sipnatd directly) */
	if (netaddr_same_ip(sdp_addr, src_ip))
		return 0;
	return natdetect_is_private(sdp_addr) ? NATDETECT_SDP_PRIVATE : NATDETECT_SDP_OTHER;
}

const char *natdetect_describe(unsigned reasons, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ NATDETECT_VIA, "Via sent-by is not the source" },
		{ NATDETECT_CONTACT, "Contact is not the source" },
		{ NATDETECT_SDP_PRIVATE, "SDP address is private" },
		{ NATDETECT_SDP_OTHER, "SDP address is not the source IP" },
	};
	size_t used = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(reasons & names[i].bit))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

bool natdetect_force_rport(unsigned nat, const struct netaddr *src, const char *via_host,
			   const char *via_port)
{
	if (nat & CONF_NAT_FORCE_RPORT)
		return true;
	/* auto_force_rport: a name as sent-by cannot be checked, and answering
	 * to the source is what reaches the party in that case too */
	if (nat & CONF_NAT_AUTO) {
		struct netaddr ip;
		if (!via_host || !netaddr_parse_ip(via_host, &ip))
			return true;
		return natdetect_claim(src, via_host, via_port, NATDETECT_VIA) != 0;
	}
	return false;
}

bool natdetect_peer_warning(const struct conf_peer *peer, char *buf, size_t len)
{
	/* a trunk (known by its host) is where it says: a provider on its own
	 * public address, often anchoring its media itself */
	if (peer->host)
		return false;
	if (peer->directmedia) {
		snprintf(buf, len, "directmedia = true sends media straight between the PBX and the "
			 "phone, which a phone behind NAT cannot reach (no audio); directmedia = false relays it");
		return true;
	}
	if (!(peer->nat & (CONF_NAT_FORCE_RPORT | CONF_NAT_AUTO))) {
		snprintf(buf, len, "nat without force_rport or auto: a phone behind NAT that does not ask for "
			 "rport gets no answers, and calls to it go to its private Contact; "
			 "use nat = \"force_rport\" or \"auto\" (its media is latched either way)");
		return true;
	}
	return false;
}
