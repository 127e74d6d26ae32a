/*
 * qualify: OPTIONS pings to the parties sipnatd sends to (design section 9):
 * the PBX, and peers with a known address. Each ping is a non-INVITE client
 * transaction with RFC 3261 17.1.2 timers (retransmit from T1 = 500 ms doubling
 * to T2 = 4 s, give up at Timer F = 64*T1); any response means reachable, with
 * its round-trip time. A status change is logged once.
 */
#ifndef SIPNATD_QUALIFY_H
#define SIPNATD_QUALIFY_H

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>

struct daemon;
struct qualify;

enum qualify_status {
	QUALIFY_UNKNOWN,      /* no answer yet, no timeout yet */
	QUALIFY_OK,
	QUALIFY_UNREACHABLE,
};

struct qualify *qualify_new(struct daemon *d);

/* Watch name at addr (ruri_user may be NULL), pinging every freq_s seconds,
 * the first ping at once. Watching a name again with another address or
 * frequency restarts it; with the same ones changes nothing. */
int qualify_watch(struct qualify *q, const char *name, const char *ruri_user,
		  const struct sockaddr_in *addr, int freq_s);

/* Stop watching name (no-op if not watched). */
void qualify_unwatch(struct qualify *q, const char *name);

/* A response whose top Via was sipnatd's own and is now removed. Returns true
 * when it answered a ping (and is consumed). */
bool qualify_response(struct qualify *q, const osip_message_t *resp);

/* Status of name; *rtt_ms (may be NULL) gets the last round trip. */
enum qualify_status qualify_status_of(const struct qualify *q, const char *name, int *rtt_ms);

const char *qualify_status_name(enum qualify_status status);

void qualify_free(struct qualify *q);

#endif
