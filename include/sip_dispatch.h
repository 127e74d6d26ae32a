/*
 * sip_dispatch: the SIP path, the one place that runs its steps in order for
 * each message: parse -> classify -> restore -> stamp Via -> (authenticate)
 * -> route -> rewrite -> send. Each step is a function of its own module;
 * this file calls them, owns the per-message context and the requests that
 * wait for DNS, and counts what happened.
 *
 * It knows no socket: everything it reads or changes besides the message is
 * in the sip_env it is given (the daemon's modules and sockets, or a test's
 * stand-ins), so the daemon, the unit tests and the fuzzer run this very
 * code.
 */
#ifndef SIPNATD_SIP_DISPATCH_H
#define SIPNATD_SIP_DISPATCH_H

#include "sip_authenticate.h"
#include "sip_env.h"

#include <netinet/in.h>
#include <stddef.h>

struct sip_dispatch;

/* A dispatcher over env, which must outlive it. NULL when out of memory. */
struct sip_dispatch *sip_dispatch_new(const struct sip_env *env);

/* Requests still waiting for DNS are dropped (their senders retransmit to
 * whoever runs next). NULL is allowed. */
void sip_dispatch_free(struct sip_dispatch *sd);

/* Run one message (len bytes from src, of either family; need not be
 * NUL-terminated) through
 * the SIP path. Whatever it sends goes through env->send before it returns,
 * unless it waits for a name (then from the resolver's callback). */
void sip_dispatch_message(struct sip_dispatch *sd, const char *buf, size_t len,
			  const struct netaddr *src);

/* The same as a sip_socket callback: arg is the struct sip_dispatch. */
void sip_dispatch_datagram(void *arg, const char *buf, size_t len, const struct netaddr *src);

/* Counters for stats (monotonic since sip_dispatch_new). */
struct sip_counters {
	unsigned long received, malformed, keepalives, too_big, invalid;
	unsigned long requests, responses, answered_locally, forwarded, stray_responses;
	unsigned long lookups_failed, dropped, banned;
};
const struct sip_counters *sip_dispatch_counters(const struct sip_dispatch *sd);
const struct sip_auth_counters *sip_dispatch_auth_counters(const struct sip_dispatch *sd);

/* Requests waiting for a name now. */
size_t sip_dispatch_pending(const struct sip_dispatch *sd);

#endif
