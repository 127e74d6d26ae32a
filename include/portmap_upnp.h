/*
 * portmap_upnp: UPnP-IGD for portmap.c, through miniupnpc; its protocol
 * table is portmap_upnp_ops (portmap_proto.h). What else is public here
 * serves the unit tests, which play an Internet gateway device on the
 * loopback.
 */
#ifndef SIPNATD_PORTMAP_UPNP_H
#define SIPNATD_PORTMAP_UPNP_H

#include "portmap_proto.h"

#include <netinet/in.h>

/* portmap_upnp_ops.open without the SSDP search: the device whose root
 * description is at rootdesc_url. */
void *portmap_upnp_open_url(const char *rootdesc_url, struct in_addr lan, char why[PORTMAP_WHY_MAX]);

#endif
