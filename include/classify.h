/*
 * classify: who sent a datagram, and whether a destination is local (design
 * section 2). One pure function decides "local" for every rewrite (R12).
 */
#ifndef SIPNATD_CLASSIFY_H
#define SIPNATD_CLASSIFY_H

#include "conf.h"
#include "netaddr.h"

#include <netinet/in.h>
#include <stdbool.h>

enum source_kind {
	SOURCE_PBX,      /* the configured pbx address: trusted */
	SOURCE_LAN,      /* another localnet address */
	SOURCE_TRUNK,    /* a peer known by host */
	SOURCE_INTERNET, /* anything else: must authenticate */
};

/* True when addr falls in one of conf's IPv4 localnet networks. */
bool classify_is_local(const struct conf *conf, struct in_addr addr);

/* The same for either family (issue 20). An IPv6 address is local when it
 * falls in one of conf's IPv6 localnet prefixes; when localnet names none,
 * the unique local (fc00::/7, RFC 4193) and link-local (fe80::/10) nets
 * are, the LAN side of every IPv6 home router. Listing any IPv6 prefix
 * replaces that default (list fc00::/7 too to keep it). */
bool classify_is_local_addr(const struct conf *conf, const struct netaddr *addr);

/* Classify a source address. Trunk peers whose host is an IPv4 literal match
 * here; names are matched through trunk_match when it is not NULL (it returns
 * the peer whose resolved address is addr, or NULL). *peer is set for
 * SOURCE_TRUNK, NULL otherwise. */
typedef const struct conf_peer *(*classify_trunk_fn)(void *arg, struct in_addr addr);
enum source_kind classify_source(const struct conf *conf, struct in_addr addr,
				 classify_trunk_fn trunk_match, void *arg,
				 const struct conf_peer **peer);

/* classify_source for either family: the PBX (compared by IP), a peer
 * whose host is an address literal of that value, trunk_match's answer,
 * classify_is_local_addr. */
typedef const struct conf_peer *(*classify_trunk_addr_fn)(void *arg, const struct netaddr *addr);
enum source_kind classify_source_addr(const struct conf *conf, const struct netaddr *addr,
				      classify_trunk_addr_fn trunk_match, void *arg,
				      const struct conf_peer **peer);

const char *classify_source_name(enum source_kind kind);

#endif
