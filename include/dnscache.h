/*
 * dnscache: asynchronous A and AAAA lookups through evdns with a small cache, for
 * names sipnatd must send to (trunk hosts, Request-URI hosts from the PBX).
 * Names taken from messages of remote parties are never looked up (R4).
 */
#ifndef SIPNATD_DNSCACHE_H
#define SIPNATD_DNSCACHE_H

#include "netaddr.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <time.h>

struct dnscache;

/* addr (port 0) is valid only during the call, and only when ok. */
typedef void (*dnscache_fn)(void *arg, bool ok, const struct netaddr *addr);

enum dnscache_answer {
	DNSCACHE_HIT,      /* *addr holds a fresh answer */
	DNSCACHE_NEGATIVE, /* the name failed recently: do not ask again yet */
	DNSCACHE_PENDING,  /* fn(arg, ...) will be called from the loop */
	DNSCACHE_BUSY,     /* too many lookups waiting: refuse the work */
};

struct dnscache *dnscache_new(struct evdns_base *dns);

/* Look name up, either family: its A record when it has one, else its AAAA
 * record (a home PBX and its trunks are IPv4; an IPv6-only name still works).
 * *addr gets port 0. fn may be NULL (just refresh the cache). */
enum dnscache_answer dnscache_lookup(struct dnscache *cache, const char *name, struct netaddr *addr,
				     dnscache_fn fn, void *arg);

/* The same for one family only (AF_INET: A, AF_INET6: AAAA), cached apart
 * from the either-family answer: externhost is asked once per family. */
enum dnscache_answer dnscache_lookup_family(struct dnscache *cache, const char *name, int family,
					    struct netaddr *addr, dnscache_fn fn, void *arg);

/* The cached address of name even if stale (last good answer; the
 * either-family one when there are several). */
bool dnscache_last_good(const struct dnscache *cache, const char *name, struct netaddr *addr);

/* The clock the cache reads for freshness and negative caching: time(2)
 * unless a test sets its own (NULL restores time(2)). */
void dnscache_set_clock(struct dnscache *cache, time_t (*clock)(void));

/* Free the cache. Waiting callers are dropped without a call: free the evdns
 * base (without failing requests) first, and the waiters' arguments after. */
void dnscache_free(struct dnscache *cache);

#endif
