/*
 * classify: the third step of the SIP path (receive -> parse -> classify). The
 * trust given to a message depends only on its source address, never on what
 * its headers claim.
 */
#include "classify.h"

#include "netaddr.h"

#include <arpa/inet.h>

bool classify_is_local(const struct conf *conf, struct in_addr addr)
{
	uint32_t a = ntohl(addr.s_addr);

	for (size_t i = 0; i < conf->localnet_count; i++)
		if ((a & conf->localnet[i].mask) == conf->localnet[i].net)
			return true;
	return false;
}

enum source_kind classify_source(const struct conf *conf, struct in_addr addr,
				 classify_trunk_fn trunk_match, void *arg,
				 const struct conf_peer **peer)
{
	*peer = NULL;
	/* The PBX may send from another port than the one it listens on. */
	if (addr.s_addr == conf->pbx.sin_addr.s_addr)
		return SOURCE_PBX;
	for (size_t i = 0; i < conf->peer_count; i++) {
		const struct conf_peer *p = &conf->peers[i];
		struct in_addr host;
		if (p->host && netaddr_parse_ipv4(p->host, &host) && host.s_addr == addr.s_addr) {
			*peer = p;
			return SOURCE_TRUNK;
		}
	}
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
