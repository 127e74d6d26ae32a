/*
 * trunks: the addresses of peers known by host (providers). Literal addresses
 * are taken as they are; names are resolved through the DNS cache at start
 * and every TRUNKS_REFRESH_S seconds, keeping the last good address.
 */
#ifndef SIPNATD_TRUNKS_H
#define SIPNATD_TRUNKS_H

#include "conf.h"
#include "dnscache.h"
#include "netaddr.h"

#include <event2/event.h>
#include <stdbool.h>

#define TRUNKS_REFRESH_S 60

struct trunks;

struct trunks *trunks_new(struct event_base *base, struct dnscache *cache, const struct conf *conf);

/* Adopt a new configuration (reload); the old conf may be freed after. */
void trunks_reconfigure(struct trunks *t, const struct conf *conf);

/* classify_trunk_fn: the peer whose resolved host is addr (compared by
 * IP, either family), or NULL. */
const struct conf_peer *trunks_match_cb(void *arg, const struct netaddr *addr);

/* The resolved address of a peer known by name (port 0); false when unknown yet. */
bool trunks_addr_cb(void *arg, const struct conf_peer *peer, struct netaddr *out);

void trunks_free(struct trunks *t);

#endif
