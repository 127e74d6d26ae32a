/*
 * classify: the third step of the SIP path (receive -> parse -> classify). The
 * trust given to a message depends only on its source address, never on what
 * its headers claim.
 */
#include "classify.h"

#include "netaddr.h"

/* The IPv6 nets that are LAN when localnet names no IPv6 prefix. */
static const struct {
	uint8_t first, mask; /* the first byte, and which of its bits count */
	uint8_t second, mask2;
} default_lan6[] = {
	{ 0xfc, 0xfe, 0x00, 0x00 }, /* fc00::/7 unique local (RFC 4193) */
	{ 0xfe, 0xff, 0x80, 0xc0 }, /* fe80::/10 link-local (RFC 4291 2.5.6) */
};

static bool classify_default_lan6(const struct in6_addr *a)
{
	for (size_t i = 0; i < sizeof(default_lan6) / sizeof(default_lan6[0]); i++)
		if ((a->s6_addr[0] & default_lan6[i].mask) == default_lan6[i].first &&
		    (a->s6_addr[1] & default_lan6[i].mask2) == default_lan6[i].second)
			return true;
	return false;
}

bool classify_is_local(const struct conf *conf, const struct netaddr *addr)
{
	bool any_ipv6 = false;

	for (size_t i = 0; i < conf->localnet_count; i++) {
		const struct netaddr_prefix *p = &conf->localnet[i].prefix;
		if (p->net.family == AF_INET6)
			any_ipv6 = true;
		if (netaddr_prefix_match(p, addr))
			return true;
	}
	return addr->family == AF_INET6 && !any_ipv6 && classify_default_lan6(&addr->ip.v6);
}

/* A peer whose host is an address literal equal to addr. */
static const struct conf_peer *classify_peer_by_literal(const struct conf *conf,
							const struct netaddr *addr)
{
	for (size_t i = 0; i < conf->peer_count; i++) {
		const struct conf_peer *p = &conf->peers[i];
		struct netaddr host;
		if (p->host && netaddr_parse_ip(p->host, &host) && netaddr_same_ip(&host, addr))
			return p;
	}
	return NULL;
}

enum source_kind classify_source(const struct conf *conf, const struct netaddr *addr,
				 classify_trunk_fn trunk_match, void *arg,
				 const struct conf_peer **peer)
{
	*peer = NULL;
	/* The PBX may send from another port than the one it listens on. */
	if (netaddr_same_ip(addr, &conf->pbxaddr))
		return SOURCE_PBX;
	*peer = classify_peer_by_literal(conf, addr);
	if (*peer)
		return SOURCE_TRUNK;
	if (trunk_match) {
		*peer = trunk_match(arg, addr);
		if (*peer)
			return SOURCE_TRUNK;
	}
	if (classify_is_local(conf, addr))
		return SOURCE_LAN;
	return SOURCE_INTERNET;
}

const char *classify_source_name(enum source_kind kind)
{
	switch (kind) {
	case SOURCE_PBX: return "pbx";
	case SOURCE_LAN: return "lan";
	case SOURCE_TRUNK: return "trunk";
	case SOURCE_INTERNET: return "internet";
	}
	return "?";
}
