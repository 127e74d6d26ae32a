/*
 * portmap: sipnatd opens its own ports on the home router (general.portmap,
 * issue 14; design section 13, "The router as a source"): the SIP port and
 * every port of the relay pool, UDP, the same port outside and in, through
 * UPnP-IGD (miniupnpc) or NAT-PMP (libnatpmp; also what "pcp" speaks, see
 * portmap_natpmp.c). Leases are renewed at half their lifetime, re-created
 * when the router restarts or its address changes, and removed on a clean
 * stop and on a reload to "off". The router's external address feeds
 * externaddr (externip = "auto").
 */
#ifndef SIPNATD_PORTMAP_H
#define SIPNATD_PORTMAP_H

#include "conf.h"
#include "externaddr.h"
#include "portmap_plan.h"
#include "portmap_proto.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct portmap;

/* What sipnatctl status shows. */
struct portmap_status {
	enum conf_portmap mode;          /* as configured */
	const char *state;               /* "off", "searching", "no router", "mapping", "mapped" (static) */
	const char *protocol;            /* the protocol in use, NULL when none (static) */
	char router[160];                /* where the router was found, "" when none */
	bool have_external;              /* the router reported an address */
	struct in_addr external;
	enum portmap_addr_kind external_kind;
	int lease_s;                     /* lease asked for (0 = permanent) */
	size_t ports;                    /* ports to keep mapped */
	size_t mapped;                   /* of which mapped now */
	char last_error[PORTMAP_WHY_MAX];/* the last failure, "" when none */
};

/* Start the module for conf: with portmap on, a worker thread begins to
 * talk to the router at once. ea (not owned; outlives the module) gets the
 * router's address when conf says externip = "auto". NULL on failure. */
struct portmap *portmap_new(struct event_base *base, const struct conf *conf, struct externaddr *ea);

/* The same, asking the router through protocols (NULL-terminated, tried in
 * order) whatever conf's portmap names, as long as it is not "off". For
 * tests, which bring a protocol of their own. */
struct portmap *portmap_new_with(struct event_base *base, const struct conf *conf,
				 struct externaddr *ea,
				 const struct portmap_proto_ops *const *protocols);

/* Adopt a new configuration (reload): a new protocol, SIP port or pool
 * removes the old mappings and makes the new ones; "off" removes them all;
 * a new lease renews them all. Returns at once; the worker does the work. */
void portmap_reconfigure(struct portmap *pm, const struct conf *conf);

/* The state now. */
void portmap_status(struct portmap *pm, struct portmap_status *st);

/* Copy up to max of the ports kept mapped into out (the SIP port first,
 * then the pool in order); *now is the clock their times count on. Returns
 * how many were copied. */
size_t portmap_entries(struct portmap *pm, struct portmap_entry *out, size_t max, time_t *now);

/* Remove the mappings from the router (a few seconds at most when it does
 * not answer), stop the worker and free everything. NULL is allowed. */
void portmap_free(struct portmap *pm);

#endif
