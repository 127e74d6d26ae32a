/*
 * sip_authenticate: the authenticate step for requests from the Internet
 * (design sections 6 and 7). It decides whether a request may go on to the
 * PBX: in-dialog requests only for dialogs sipnatd has seen set up;
 * out-of-dialog ones only with valid credentials (unless allowguest); REGISTER
 * is answered here, by the registrar; OPTIONS is answered here with one fixed
 * answer. Failures count toward bans.
 */
#ifndef SIPNATD_SIP_AUTHENTICATE_H
#define SIPNATD_SIP_AUTHENTICATE_H

#include "sip_env.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>

enum admission {
	ADMIT,        /* go on; *peer is the authenticated peer (NULL for in-dialog/guest) */
	ANSWERED,     /* *answer holds the response to send (caller frees) */
	DROPPED,      /* say nothing (an ACK to absorb, a flood over budget) */
};

/* Counters of the caller's (the dispatcher's): failed logins (every wrong
 * digest, whatever the answer, and digest uris that are not the
 * Request-URI) and bans they started. */
struct sip_auth_counters {
	unsigned long failures, bans;
};

/* Admit req, which arrived from src (either family; an IPv6 source is
 * banned and budgeted per conf->banprefix6 prefix) as the len bytes at datagram (the
 * authenticate step tells a retransmission from a replay by those bytes).
 * Failures and bans are added to *counters. */
enum admission sip_authenticate(const struct sip_env *env, struct sip_auth_counters *counters,
				osip_message_t *req, const struct netaddr *src,
				const void *datagram, size_t len, const struct conf_peer **peer,
				osip_message_t **answer);

/* Tell the dialog table about a message on its way between the PBX and an
 * Internet party (after routing): to_internet says which way it goes. */
void sip_authenticate_note_dialog(const struct sip_env *env, const osip_message_t *msg,
				  bool to_internet, const struct conf_peer *peer);

#endif
