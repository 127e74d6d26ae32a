/*
 * sip_register: sipnatd as the registrar of its peers (design section 7). Turns
 * an authenticated REGISTER into a registrar request and the outcome into the
 * answer: 200 with the bindings in force, 423 with Min-Expires, 400, 403, 500.
 */
#ifndef SIPNATD_SIP_REGISTER_H
#define SIPNATD_SIP_REGISTER_H

#include "conf.h"
#include "registrar.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <time.h>

/* Apply req (authenticated as peer, received from src over transport) to r
 * and return the answer (caller frees; NULL when out of memory). *changed
 * tells whether the bindings changed. */
osip_message_t *sip_register_handle(struct registrar *r, const struct conf *conf,
				const osip_message_t *req, const struct conf_peer *peer,
				const struct netaddr *src, enum sip_transport transport,
				time_t now, bool *changed);

#endif
