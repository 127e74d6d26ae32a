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
 */
#ifndef SIPNATD_BANS_H
#define SIPNATD_BANS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define BANS_FAILURE_WINDOW_S 60
#define BANS_WINDOW_S 10
#define BANS_CHALLENGE_BUDGET 100

struct bans;

struct ban_entry {
	struct in_addr addr;
	time_t until;
	unsigned failures;
};

struct bans *bans_new(size_t capacity);
void bans_free(struct bans *b);

/* Is addr banned at now? */
bool bans_is_banned(const struct bans *b, struct in_addr addr, time_t now);

/* Count an authentication failure. Returns true when this one starts a ban
 * (the caller logs it once). banafter or bantime_s 0 = never ban. */
bool bans_failure(struct bans *b, struct in_addr addr, time_t now, int banafter, int bantime_s);

/* May addr be sent another challenge now? Counts it when it may. */
bool bans_challenge_allowed(struct bans *b, struct in_addr addr, time_t now);

/* How many addresses are banned at now. */
size_t bans_active(const struct bans *b, time_t now);

/* Up to max addresses banned at now, into out; returns how many. */
size_t bans_list(const struct bans *b, time_t now, struct ban_entry *out, size_t max);

/* Forget all bans (a reload that turns banning off). */
void bans_clear(struct bans *b);

#endif
