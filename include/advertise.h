/*
 * advertise: which of its addresses sipnatd writes into a message (Via,
 * Contact, SDP) for a given destination: its LAN address toward localnet,
 * the external address (externaddr.c) toward everything else (design
 * section 5). The LAN address is general.localaddr, else a specific
 * bindaddr, else the source address the kernel would use toward the PBX,
 * looked up again every ADVERTISE_LAN_RETRY_S while there is no route.
 */
#ifndef SIPNATD_ADVERTISE_H
#define SIPNATD_ADVERTISE_H

#include "conf.h"
#include "netaddr.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>

#define ADVERTISE_LAN_RETRY_S 10

struct advertise;
struct externaddr;

/* Find the LAN address now (a warning and retries when there is none).
 * external may be NULL: then nothing is advertised toward the Internet.
 * NULL when out of memory. */
struct advertise *advertise_new(struct event_base *base, const struct conf *conf,
				const struct externaddr *external);

/* A reload: the LAN address is found again from the new configuration. */
void advertise_reconfigure(struct advertise *a, const struct conf *conf);

/* The address to advertise toward dest, of dest's family (issue 20,
 * decision 2: never the other family within one leg), port 0; false when
 * sipnatd has none of that family or it is not known yet (no route to the
 * PBX, externhost never resolved). IPv6: localaddr6 or a specific bindaddr6
 * toward localnet; toward the Internet the external IPv6 address (externip,
 * externhost's AAAA, a specific global bindaddr6), else the kernel's
 * source address toward dest when it is global. */
bool advertise_toward(const struct advertise *a, const struct netaddr *dest, struct netaddr *out);

/* The IPv4 LAN address; false when not known. */
bool advertise_lan(const struct advertise *a, struct netaddr *out);

/* The configured or resolved external address of family (AF_INET or
 * AF_INET6; the kernel is not asked), false when there is none. */
bool advertise_external(const struct advertise *a, int family, struct netaddr *out);

void advertise_free(struct advertise *a);

#endif
