/*
 * sip_dispatch: the one place that runs the SIP path in order for each
 * datagram: parse -> classify -> stamp Via -> (authenticate) -> rewrite ->
 * route -> send. Each step is a function of its own module; this file only
 * calls them and owns the per-datagram context.
 */
#ifndef SIPNATD_SIP_DISPATCH_H
#define SIPNATD_SIP_DISPATCH_H

#include <netinet/in.h>
#include <stddef.h>

struct daemon;

/* sip_socket callback; arg is the struct daemon. */
void sip_dispatch_datagram(void *arg, const char *buf, size_t len, const struct sockaddr_in *src);

/* Module life, called by daemon.c. */
int sip_dispatch_start(struct daemon *d);
void sip_dispatch_reconfigure(struct daemon *d);
void sip_dispatch_stop(struct daemon *d);

/* Counters for stats (monotonic since start). */
struct sip_counters {
	unsigned long received, malformed, keepalives, too_big, invalid;
	unsigned long requests, responses, answered_locally, forwarded, stray_responses;
	unsigned long lookups_failed, dropped, banned;
};
const struct sip_counters *sip_dispatch_counters(void);

#endif
