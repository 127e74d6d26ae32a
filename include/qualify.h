/*
 * qualify: OPTIONS pings to the parties sipnatd sends to (design section 9):
 * the PBX, and peers with a known address. Each ping is a non-INVITE client
 * transaction with RFC 3261 17.1.2 timers (retransmit from T1 = 500 ms doubling
 * to T2 = 4 s, give up at Timer F = 64*T1); any response means reachable, with
 * its round-trip time. A status change is logged once.
 */
#ifndef SIPNATD_QUALIFY_H
#define SIPNATD_QUALIFY_H

#include "netaddr.h"
#include "sip_env.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>

struct qualify;

enum qualify_status {
	QUALIFY_UNKNOWN,      /* no answer yet, no timeout yet */
	QUALIFY_OK,
	QUALIFY_UNREACHABLE,
};

/* Pings run on base's timers and leave through env->send from the address
 * env->advertise gives toward each target; env must outlive q. */
struct qualify *qualify_new(struct event_base *base, const struct sip_env *env);

/* Watch name at addr, pinging every freq_s seconds with Request-URI ruri
 * (NULL: sip:<addr>; a registered phone gets its own Contact, R35), the first
 * ping at once. Watching a name again with another address, URI or frequency
 * restarts it; with the same ones changes nothing. */
int qualify_watch(struct qualify *q, const char *name, const char *ruri,
		  const struct netaddr *addr, int freq_s);

/* Stop watching name (no-op if not watched). */
void qualify_unwatch(struct qualify *q, const char *name);

/* Stop watching every target for which keep(arg, name) is false. */
void qualify_retain(struct qualify *q, bool (*keep)(void *arg, const char *name), void *arg);

/* A response whose top Via was sipnatd's own and is now removed. Returns true
 * when it answered a ping (and is consumed). */
bool qualify_response(struct qualify *q, const osip_message_t *resp);

/* Status of name; *rtt_ms (may be NULL) gets the last round trip. */
enum qualify_status qualify_status_of(const struct qualify *q, const char *name, int *rtt_ms);

const char *qualify_status_name(enum qualify_status status);

/* Every watched target, for the control socket. */
struct qualify_info {
	const char *name;
	struct netaddr addr;
	enum qualify_status status;
	int rtt_ms;
	int freq_s;
};
void qualify_foreach(const struct qualify *q, void (*fn)(void *arg, const struct qualify_info *info),
		     void *arg);

void qualify_free(struct qualify *q);

#endif
