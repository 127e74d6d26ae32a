/*
 * portmap_natpmp: NAT-PMP (RFC 6886) for portmap.c, through libnatpmp; its
 * protocol table is portmap_natpmp_ops (portmap_proto.h). What else is
 * public here serves the unit tests, which talk to a NAT-PMP server of their
 * own on the loopback.
 */
#ifndef SIPNATD_PORTMAP_NATPMP_H
#define SIPNATD_PORTMAP_NATPMP_H

#include "portmap_proto.h"

#include <netinet/in.h>
#include <stdbool.h>

/* The default gateway in a file of /proc/net/route's format (route_path);
 * false when there is none or the file cannot be read. */
bool portmap_natpmp_gateway(const char *route_path, struct in_addr *gw);

/* portmap_natpmp_ops.open, with the gateway given instead of looked up. */
void *portmap_natpmp_open_at(struct in_addr gw, char why[PORTMAP_WHY_MAX]);

#endif
