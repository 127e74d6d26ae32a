/*
 * portmap_proto: one way of asking the home router for port mappings
 * (portmap_upnp.c: UPnP-IGD through miniupnpc; portmap_natpmp.c: NAT-PMP
 * through libnatpmp). Every call blocks, for a bounded time, and is made only
 * from portmap.c's worker thread; none logs (what went wrong comes back in
 * why, one line, for portmap.c to log from the loop).
 */
#ifndef SIPNATD_PORTMAP_PROTO_H
#define SIPNATD_PORTMAP_PROTO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PORTMAP_WHY_MAX 160

/* What a request came to. */
enum portmap_result {
	PORTMAP_OK = 0,
	PORTMAP_REFUSED = -1,      /* the router answered no (conflict, not authorised...) */
	PORTMAP_UNREACHABLE = -2,  /* no answer: the router is gone or restarted elsewhere */
};

struct portmap_proto_ops {
	const char *name;          /* "UPnP-IGD", "NAT-PMP", as the log says it */

	/* Find the router and check it answers. lan is sipnatd's LAN address
	 * (INADDR_ANY: whichever address reaches the router). Returns the
	 * instance (owned by the caller, freed with close), or NULL with why. */
	void *(*open)(struct in_addr lan, char why[PORTMAP_WHY_MAX]);

	/* Where the router was found, for the log and sipnatctl (lives as long
	 * as the instance). */
	const char *(*router)(void *ctx);

	/* The router's external address. *lost is set when the answer shows the
	 * router forgot its mappings since the last one (NAT-PMP's epoch). */
	enum portmap_result (*external)(void *ctx, time_t now, struct in_addr *out, bool *lost,
					char why[PORTMAP_WHY_MAX]);

	/* Is UDP port still mapped to this host? For protocols whose answers do
	 * not tell a restart (UPnP); NULL otherwise. */
	enum portmap_result (*present)(void *ctx, uint16_t port, bool *present,
				       char why[PORTMAP_WHY_MAX]);

	/* Map UDP port to the same port of this host for lease_s seconds (0:
	 * permanent where the router allows). Fills what the router granted. */
	enum portmap_result (*map)(void *ctx, uint16_t port, int lease_s, int *granted_s,
				   uint16_t *public_port, char why[PORTMAP_WHY_MAX]);

	/* Remove the mapping of UDP port. */
	enum portmap_result (*unmap)(void *ctx, uint16_t port, char why[PORTMAP_WHY_MAX]);

	/* Remove every UDP mapping of this host in one request, where the
	 * protocol has one (NULL otherwise). */
	enum portmap_result (*unmap_all)(void *ctx, char why[PORTMAP_WHY_MAX]);

	void (*close)(void *ctx);
};

extern const struct portmap_proto_ops portmap_upnp_ops;
extern const struct portmap_proto_ops portmap_natpmp_ops;

#endif
