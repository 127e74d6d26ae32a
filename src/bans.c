/*
 * bans: a bounded hash table of addresses, open addressing with a short probe
 * window; when the window is full the stalest entry in it is reused. Beside
 * the SIP path: the receive step asks bans_is_banned before parsing, the
 * authenticate step reports failures and challenges.
 */
#include "bans.h"

#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 8

struct slot {
	struct netaddr_prefix scope; /* family 0 = free */
	time_t seen;
	time_t fail_window;
	unsigned failures;
	/* failures as a leaky bucket: +1000 each, draining banafter * 1000
	 * per bantime (see bans_failure) */
	int64_t level_milli;
	time_t level_at;
	time_t banned_until;
	time_t challenge_window;
	unsigned challenges;
};

struct bans {
	struct slot *slots;
	size_t capacity;         /* a power of two */
};

struct bans *bans_new(size_t capacity)
{
	struct bans *b = calloc(1, sizeof(*b));
	size_t cap = 16;

	if (!b)
		return NULL;
	while (cap < capacity)
		cap <<= 1;
	b->slots = calloc(cap, sizeof(*b->slots));
	if (!b->slots) {
		free(b);
		return NULL;
	}
	b->capacity = cap;
	return b;
}

void bans_free(struct bans *b)
{
	if (b) {
		free(b->slots);
		free(b);
	}
}

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x45d9f3bu;
	x ^= x >> 16;
	x *= 0x45d9f3bu;
	x ^= x >> 16;
	return x;
}

/* Every bit of the address reaches the low bits the table index takes, so
 * that the addresses of one subnet spread out. (A plain multiplicative hash
 * of the network-order word left the last octet, the high byte on a
 * little-endian host, out of the index: a whole /24 shared one probe window,
 * evicted its own entries and escaped its bans; issue 11.) An IPv6 scope
 * folds its four words in turn, the length with them. */
static size_t hash(const struct netaddr_prefix *scope)
{
	if (scope->net.family == AF_INET)
		return mix(ntohl(scope->net.ip.v4.s_addr));
	uint32_t h = scope->len;
	for (size_t i = 0; i < 16; i += 4) {
		uint32_t w;
		memcpy(&w, scope->net.ip.v6.s6_addr + i, sizeof(w));
		h = mix(h ^ ntohl(w));
	}
	return h;
}

static bool same_scope(const struct netaddr_prefix *a, const struct netaddr_prefix *b)
{
	return a->net.family == b->net.family && a->len == b->len && netaddr_same_ip(&a->net, &b->net);
}

struct netaddr_prefix bans_scope(const struct netaddr *addr, unsigned prefix6)
{
	if (prefix6 < 1)
		prefix6 = 1;
	return netaddr_prefix_of(addr, addr->family == AF_INET6 ? prefix6 : 32);
}

static struct slot *find(const struct bans *b, const struct netaddr_prefix *scope)
{
	size_t h = hash(scope);

	for (size_t i = 0; i < PROBE; i++) {
		struct slot *s = &b->slots[(h + i) & (b->capacity - 1)];
		if (s->scope.net.family && same_scope(&s->scope, scope))
			return s;
	}
	return NULL;
}

static struct slot *find_or_take(struct bans *b, const struct netaddr_prefix *scope, time_t now)
{
	size_t h = hash(scope);
	struct slot *victim = NULL;

	for (size_t i = 0; i < PROBE; i++) {
		struct slot *s = &b->slots[(h + i) & (b->capacity - 1)];
		if (s->scope.net.family && same_scope(&s->scope, scope))
			return s;
		/* a free slot, or the stalest one not currently banned */
		bool used = s->scope.net.family != 0;
		bool banned = used && s->banned_until > now;
		if (!banned && (!victim || !used || (victim->scope.net.family && s->seen < victim->seen)))
			victim = s;
	}
	if (!victim)
		return NULL; /* every slot nearby holds a live ban: keep them */
	memset(victim, 0, sizeof(*victim));
	victim->scope = *scope;
	return victim;
}

bool bans_is_banned(const struct bans *b, const struct netaddr *addr, unsigned prefix6, time_t now)
{
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return false;
	struct netaddr_prefix scope = bans_scope(addr, prefix6);
	const struct slot *s = find(b, &scope);
	return s && s->banned_until > now;
}

/*
 * The bucket drains at banafter per bantime, so that whatever the pacing an
 * address gets at most banafter failures per bantime on average: a guesser
 * who stays under banafter per minute (the window rule alone) would
 * otherwise go on for ever at banafter - 1 guesses a minute (issue 11).
 * Elapsed time is clamped to bantime: by then the bucket is empty, and the
 * product stays far from overflow.
 */
static bool bucket_overflows(struct slot *s, time_t now, int banafter, int bantime_s)
{
	int64_t elapsed = now - s->level_at;

	if (elapsed < 0)
		elapsed = 0; /* the clock stepped back: drain nothing */
	if (elapsed > bantime_s)
		elapsed = bantime_s;
	s->level_milli -= elapsed * banafter * 1000 / bantime_s;
	if (s->level_milli < 0)
		s->level_milli = 0;
	s->level_at = now;
	s->level_milli += 1000;
	return s->level_milli >= (int64_t)banafter * 1000;
}

bool bans_failure(struct bans *b, const struct netaddr *addr, unsigned prefix6, time_t now,
		  int banafter, int bantime_s)
{
	if (banafter <= 0 || bantime_s <= 0)
		return false;
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return false;
	struct netaddr_prefix scope = bans_scope(addr, prefix6);
	struct slot *s = find_or_take(b, &scope, now);
	if (!s)
		return false;
	s->seen = now;
	if (now - s->fail_window >= BANS_FAILURE_WINDOW_S) {
		s->fail_window = now;
		s->failures = 0;
	}
	s->failures++;
	bool over = bucket_overflows(s, now, banafter, bantime_s);
	if ((s->failures >= (unsigned)banafter || over) && s->banned_until <= now) {
		s->banned_until = now + bantime_s;
		return true;
	}
	return false;
}

bool bans_challenge_allowed(struct bans *b, const struct netaddr *addr, unsigned prefix6,
			    time_t now)
{
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return true;
	struct netaddr_prefix scope = bans_scope(addr, prefix6);
	struct slot *s = find_or_take(b, &scope, now);

	if (!s)
		return true; /* no room to count: serve rather than refuse */
	s->seen = now;
	if (now - s->challenge_window >= BANS_WINDOW_S) {
		s->challenge_window = now;
		s->challenges = 0;
	}
	if (s->challenges >= BANS_CHALLENGE_BUDGET)
		return false;
	s->challenges++;
	return true;
}

size_t bans_active(const struct bans *b, time_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < b->capacity; i++)
		if (b->slots[i].scope.net.family && b->slots[i].banned_until > now)
			n++;
	return n;
}

size_t bans_list(const struct bans *b, time_t now, struct ban_entry *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < b->capacity && n < max; i++) {
		const struct slot *s = &b->slots[i];
		if (s->scope.net.family && s->banned_until > now) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].scope = s->scope;
			out[n].until = s->banned_until;
			out[n].failures = s->failures;
			n++;
		}
	}
	return n;
}

void bans_clear(struct bans *b)
{
	memset(b->slots, 0, b->capacity * sizeof(*b->slots));
}
