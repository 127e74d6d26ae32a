/*
 * sip_via: the Via rules of RFC 3261 18.2 and RFC 3581 (rport): what sipnatd
 * writes into the top Via of a request it receives, and where a response goes.
 */
#ifndef SIPNATD_SIP_VIA_H
#define SIPNATD_SIP_VIA_H

#include "netaddr.h"

#include <osipparser2/osip_parser.h>
#include <stdbool.h>

/* Stamp the top Via of a received request with received=<source IP> and, when
 * the Via asks for rport or force_rport is set, rport=<source port>
 * (RFC 3581 4: received is then always added). received= holds the address
 * bare, as RFC 3261 25.1 writes via-received (IPv4address / IPv6address, no
 * brackets; RFC 5118 4.5); the sent-by is compared with the source by value
 * (brackets, case and zero compression aside). Values a client put there
 * itself are replaced. Returns 0, or -1 when there is no Via, src has no
 * family, the Via's parameters are malformed (a quote that does not close:
 * unusable once stamped), or no memory. */
int sip_via_stamp_received(osip_message_t *req, const struct netaddr *src, bool force_rport);

/* Where a response travels according to its top Via: received (bare or, as
 * some stacks send it, bracketed; RFC 5118 4.5 asks to accept both), else
 * the sent-by host, which must then be an address literal of either family;
 * and rport (else the sent-by port, else 5060). maddr is never honoured
 * (R4). Returns false when the Via names no usable address. */
bool sip_via_response_target(const osip_message_t *resp, struct netaddr *out);

/* The value of a Via parameter, NULL when absent (or present without value,
 * in which case *present is still set when present is not NULL). */
const char *sip_via_param(const osip_via_t *via, const char *name, bool *present);

/* Set (or add) a Via parameter; value may be NULL for a bare flag. 0 or -1. */
int sip_via_param_set(osip_via_t *via, const char *name, const char *value);

/* Remove a Via parameter (no-op when absent). */
void sip_via_param_remove(osip_via_t *via, const char *name);

#endif
