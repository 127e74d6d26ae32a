/*
 * bans: per-address memory of authentication failures and unauthenticated
 * traffic (design section 6, R34). banafter failures within a minute ban an
 * address for bantime seconds, and so does a sustained rate above banafter
 * per bantime (a leaky bucket), so that no pacing gets an address more than
 * about banafter failures per bantime; a banned address is ignored before its
 * datagrams are even parsed. Independently, an address that asks for more
 * than BANS_CHALLENGE_BUDGET challenges in BANS_WINDOW_S is not answered until
 * the window passes, so one flooding address cannot eat the CPU that everybody
 * else's calls need. The table is bounded: under a flood from many addresses
 * the least recently seen entries are forgotten first.
 *
 * What is counted is a scope: an IPv4 address, or the IPv6 prefix of
 * prefix6 bits that holds the address (issue 20: one host owns a /64 and
 * may send from any address in it).
 */
#ifndef SIPNATD_BANS_H
#define SIPNATD_BANS_H

#include "netaddr.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define BANS_FAILURE_WINDOW_S 60
#define BANS_WINDOW_S 10
#define BANS_CHALLENGE_BUDGET 100

struct bans;

struct ban_entry {
	struct netaddr_prefix scope; /* either family: a.b.c.d/32 or x:x::/prefix6 */
	time_t until;
	unsigned failures;
};

struct bans *bans_new(size_t capacity);
void bans_free(struct bans *b);

/* The scope addr is counted in: addr/32 for IPv4, addr/prefix6 for IPv6
 * (prefix6 clamped to 1..128). Give the same prefix6 everywhere
 * (general.banprefix6): entries made under another length are not found and
 * are forgotten as the table turns over. In the three functions below a
 * family-0 addr is never banned, never counted, always allowed. */
struct netaddr_prefix bans_scope(const struct netaddr *addr, unsigned prefix6);

/* Is addr's scope banned at now? */
bool bans_is_banned(const struct bans *b, const struct netaddr *addr, unsigned prefix6, time_t now);

/* Count an authentication failure against addr's scope. Returns true when
 * this one starts a ban (the caller logs it once). banafter or bantime_s
 * 0 = never ban. */
bool bans_failure(struct bans *b, const struct netaddr *addr, unsigned prefix6, time_t now,
		  int banafter, int bantime_s);

/* May addr's scope be sent another challenge now? Counts it when it may. */
bool bans_challenge_allowed(struct bans *b, const struct netaddr *addr, unsigned prefix6,
			    time_t now);

/* How many scopes (addresses, IPv6 prefixes) are banned at now. */
size_t bans_active(const struct bans *b, time_t now);

/* Up to max scopes (either family) banned at now, into out; returns how many. */
size_t bans_list(const struct bans *b, time_t now, struct ban_entry *out, size_t max);

/* Forget all bans (a reload that turns banning off). */
void bans_clear(struct bans *b);

#endif
