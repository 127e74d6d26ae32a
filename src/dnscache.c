/*
 * dnscache: bounded cache of A lookups with waiters. Beside the SIP path: the
 * route step asks it when the next hop is a name.
 */
#include "dnscache.h"

#include "log.h"

#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>

#define DNSCACHE_ENTRIES 128
#define DNSCACHE_WAITERS 256
#define DNSCACHE_MIN_TTL_S 10
#define DNSCACHE_MAX_TTL_S 300
#define DNSCACHE_NEGATIVE_S 10

struct waiter {
	dnscache_fn fn;
	void *arg;
	struct waiter *next;
};

struct entry {
	char *name;
	bool have_addr;        /* addr is a good answer (maybe stale) */
	struct in_addr addr;
	time_t fresh_until;
	time_t failed_until;
	bool pending;
	struct waiter *waiters;
	struct dnscache *cache;
};

struct dnscache {
	struct evdns_base *dns;
	struct entry entries[DNSCACHE_ENTRIES];
	int waiting;
	time_t (*clock)(void);   /* NULL: time(2); a test's clock otherwise */
};

static time_t now_of(const struct dnscache *c)
{
	return c->clock ? c->clock() : time(NULL);
}

void dnscache_set_clock(struct dnscache *c, time_t (*clock)(void))
{
	c->clock = clock;
}

struct dnscache *dnscache_new(struct evdns_base *dns)
{
	struct dnscache *c = calloc(1, sizeof(*c));

	if (c)
		c->dns = dns;
	return c;
}

static struct entry *find(struct dnscache *c, const char *name)
{
	for (int i = 0; i < DNSCACHE_ENTRIES; i++)
		if (c->entries[i].name && strcasecmp(c->entries[i].name, name) == 0)
			return &c->entries[i];
	return NULL;
}

/* A free slot, or the least fresh one that nobody waits for. */
static struct entry *take_slot(struct dnscache *c, const char *name)
{
	struct entry *victim = NULL;

	for (int i = 0; i < DNSCACHE_ENTRIES; i++) {
		struct entry *e = &c->entries[i];
		if (!e->name) {
			victim = e;
			break;
		}
		if (!e->pending && (!victim || e->fresh_until < victim->fresh_until))
			victim = e;
	}
	if (!victim)
		return NULL;
	free(victim->name);
	memset(victim, 0, sizeof(*victim));
	victim->name = strdup(name);
	victim->cache = c;
	return victim->name ? victim : NULL;
}

static void done_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct entry *e = arg;
	struct dnscache *c = e->cache;
	time_t now = now_of(c);
	bool ok = result == DNS_ERR_NONE && type == DNS_IPv4_A && count > 0;

	e->pending = false;
	if (ok) {
		memcpy(&e->addr, addresses, sizeof(e->addr));
		e->have_addr = true;
		if (ttl < DNSCACHE_MIN_TTL_S)
			ttl = DNSCACHE_MIN_TTL_S;
		if (ttl > DNSCACHE_MAX_TTL_S)
			ttl = DNSCACHE_MAX_TTL_S;
		e->fresh_until = now + ttl;
	} else {
		e->failed_until = now + DNSCACHE_NEGATIVE_S;
		log_info("lookup of %s failed: %s", e->name, evdns_err_to_string(result));
	}
	/* Detach the waiters first: a callback may start another lookup. */
	struct waiter *w = e->waiters;
	e->waiters = NULL;
	struct in_addr addr = e->addr;
	while (w) {
		struct waiter *next = w->next;
		c->waiting--;
		w->fn(w->arg, ok, addr);
		free(w);
		w = next;
	}
}

enum dnscache_answer dnscache_lookup(struct dnscache *c, const char *name, struct in_addr *addr,
				     dnscache_fn fn, void *arg)
{
	time_t now = now_of(c);
	struct entry *e = find(c, name);

	if (e && e->have_addr && now < e->fresh_until) {
		*addr = e->addr;
		return DNSCACHE_HIT;
	}
	if (e && !e->pending && now < e->failed_until)
		return DNSCACHE_NEGATIVE;
	if (fn && c->waiting >= DNSCACHE_WAITERS)
		return DNSCACHE_BUSY;
	if (!e && !(e = take_slot(c, name)))
		return DNSCACHE_BUSY;
	if (!e->pending) {
		e->pending = true;
		if (!evdns_base_resolve_ipv4(c->dns, e->name, DNS_QUERY_NO_SEARCH, done_cb, e) &&
		    e->pending) {
			/* evdns could not even ask (no name server): a failure */
			e->pending = false;
			e->failed_until = now + DNSCACHE_NEGATIVE_S;
			return DNSCACHE_NEGATIVE;
		}
	}
	if (fn) {
		struct waiter *w = malloc(sizeof(*w));
		if (!w)
			return DNSCACHE_BUSY;
		w->fn = fn;
		w->arg = arg;
		w->next = e->waiters;
		e->waiters = w;
		c->waiting++;
	}
	return DNSCACHE_PENDING;
}

bool dnscache_last_good(const struct dnscache *c, const char *name, struct in_addr *addr)
{
	for (int i = 0; i < DNSCACHE_ENTRIES; i++) {
		const struct entry *e = &c->entries[i];
		if (e->name && e->have_addr && strcasecmp(e->name, name) == 0) {
			*addr = e->addr;
			return true;
		}
	}
	return false;
}

void dnscache_free(struct dnscache *c)
{
	if (!c)
		return;
	for (int i = 0; i < DNSCACHE_ENTRIES; i++) {
		struct waiter *w = c->entries[i].waiters;
		while (w) {
			struct waiter *next = w->next;
			free(w);
			w = next;
		}
		free(c->entries[i].name);
	}
	free(c);
}
