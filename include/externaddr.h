/*
 * externaddr: the public address advertised toward the Internet (design
 * section 5, "External address"; R13). Either the fixed externip, or
 * externhost resolved through evdns at start and every externrefresh seconds.
 * A failed lookup keeps the last good address; nothing ever blocks the loop.
 * With externip = "auto" the home router's address (portmap) comes first,
 * externhost (when also set) second.
 */
#ifndef SIPNATD_EXTERNADDR_H
#define SIPNATD_EXTERNADDR_H

#include "conf.h"
#include "netaddr.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>

struct externaddr;

/* Start serving conf's external address. A name is looked up at once. The
 * returned object belongs to the caller; free it only after the evdns base
 * has been freed without failing requests (so no lookup calls back into it). */
struct externaddr *externaddr_new(struct event_base *base, struct evdns_base *dns,
				  const struct conf *conf);

/* Adopt a new configuration (reload): a changed externip applies at once; a
 * name is looked up again at once (R41), keeping the current address until
 * the answer comes. */
void externaddr_reconfigure(struct externaddr *ea, const struct conf *conf);

/* The current external address; false before any lookup has succeeded. */
bool externaddr_get(const struct externaddr *ea, struct in_addr *out);

/* The external IPv6 address (issue 20): externip's IPv6 one, else
 * externhost's AAAA record (looked up beside the A record, kept the same
 * way); false when there is none. */
bool externaddr_get6(const struct externaddr *ea, struct netaddr *out);

/* The router's external address (portmap, externip = "auto"): advertised
 * from now on while the configuration says "auto". */
void externaddr_set_router(struct externaddr *ea, struct in_addr addr);

/* The router reported an address that cannot be advertised (double NAT,
 * CGNAT): externhost serves when configured, else the last good router
 * address stays. Returns a phrase for the log saying which (static). */
const char *externaddr_router_unusable(struct externaddr *ea);

/* Where the address externaddr_get gives comes from: "externip",
 * "router", "externhost" or "none" (static). */
const char *externaddr_source(const struct externaddr *ea);

/* Lookups so far that failed / succeeded (for stats and tests). */
unsigned long externaddr_failures(const struct externaddr *ea);

void externaddr_free(struct externaddr *ea);

#endif
