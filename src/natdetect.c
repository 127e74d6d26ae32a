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

bool natdetect_is_private(struct in_addr addr)
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

unsigned natdetect_claim(const struct sockaddr_in *src, const char *host, const char *port,
			 unsigned bit)
{
	struct in_addr ip;
	uint16_t p = SIP_DEFAULT_PORT;

	if (!host || !netaddr_parse_ipv4(host, &ip))
		return 0; /* a name: nothing to compare without DNS */
	if (ip.s_addr != src->sin_addr.s_addr)
		return bit;
	/* a port that is no port cannot be where the request came from */
	if (port && *port && !netaddr_parse_port(port, &p))
		return bit;
	return p == ntohs(src->sin_port) ? 0 : bit;
}

unsigned natdetect_signalling(const osip_message_t *msg, const struct sockaddr_in *src)
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

unsigned natdetect_sdp(struct in_addr sdp_addr, struct in_addr src_ip)
{
	if (sdp_addr.s_addr == htonl(INADDR_ANY))
		return 0; /* hold says nothing about where the party is */
	/* where it sends from: no NAT between us, whatever the address (a
	 * private network that reaches sipnatd directly) */
	if (sdp_addr.s_addr == src_ip.s_addr)
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

bool natdetect_force_rport(unsigned nat, const struct sockaddr_in *src, const char *via_host,
			   const char *via_port)
{
	if (nat & CONF_NAT_FORCE_RPORT)
		return true;
	/* auto_force_rport: a name as sent-by cannot be checked, and answering
	 * to the source is what reaches the party in that case too */
	if (nat & CONF_NAT_AUTO) {
		struct in_addr ip;
		if (!via_host || !netaddr_parse_ipv4(via_host, &ip))
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
