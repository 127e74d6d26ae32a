/*
 * classify: who sent a datagram, and whether a destination is local (design
 * section 2). One pure function decides "local" for every rewrite (R12).
 */
#ifndef SIPNATD_CLASSIFY_H
#define SIPNATD_CLASSIFY_H

#include "conf.h"
#include "netaddr.h"

#include <stdbool.h>

enum source_kind {
	SOURCE_PBX,      /* the configured pbx address: trusted */
	SOURCE_LAN,      /* another localnet address */
	SOURCE_TRUNK,    /* a peer known by host */
	SOURCE_INTERNET, /* anything else: must authenticate */
};

/* True when addr falls in one of conf's localnet networks of its family.
 * When localnet names no IPv6 prefix, the unique local (fc00::/7, RFC 4193)
 * and link-local (fe80::/10) nets are local, the LAN side of every IPv6
 * home router; listing any IPv6 prefix replaces that default (list
 * fc00::/7 too to keep it). */
bool classify_is_local(const struct conf *conf, const struct netaddr *addr);

/* Classify a source address of either family: the PBX (compared by IP,
 * not port), a peer whose host is an address literal of that value,
 * trunk_match's answer when trunk_match is not NULL (it returns the peer
 * whose resolved host is addr, or NULL), classify_is_local. *peer is set
 * for SOURCE_TRUNK, NULL otherwise. */
typedef const struct conf_peer *(*classify_trunk_fn)(void *arg, const struct netaddr *addr);
enum source_kind classify_source(const struct conf *conf, const struct netaddr *addr,
				 classify_trunk_fn trunk_match, void *arg,
				 const struct conf_peer **peer);

const char *classify_source_name(enum source_kind kind);

#endif
