/*
 * dnscache: bounded cache of A/AAAA lookups with waiters. Beside the SIP
 * path: the route step asks it when the next hop is a name. An entry is one
 * name asked in one way: either family (A, then AAAA when there is no A), or
 * one family only.
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
	int family;            /* AF_UNSPEC (A, else AAAA), AF_INET or AF_INET6 */
	bool asking_aaaa;      /* the lookup under way is the AAAA one */
	bool have_addr;        /* addr is a good answer (maybe stale) */
	struct netaddr addr;   /* port 0 */
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

static struct entry *find(struct dnscache *c, const char *name, int family)
{
	for (int i = 0; i < DNSCACHE_ENTRIES; i++)
		if (c->entries[i].name && c->entries[i].family == family &&
		    strcasecmp(c->entries[i].name, name) == 0)
			return &c->entries[i];
	return NULL;
}

/* A free slot, or the least fresh one that nobody waits for. */
static struct entry *take_slot(struct dnscache *c, const char *name, int family)
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
	victim->family = family;
	victim->cache = c;
	return victim->name ? victim : NULL;
}

static void done_cb(int result, char type, int count, int ttl, void *addresses, void *arg);

/* Ask evdns for the entry's next record; false when it could not even ask
 * (no name server). */
static bool ask(struct entry *e)
{
	struct dnscache *c = e->cache;

	e->pending = true;
	e->asking_aaaa = e->family == AF_INET6;
	struct evdns_request *req =
		e->asking_aaaa ? evdns_base_resolve_ipv6(c->dns, e->name, DNS_QUERY_NO_SEARCH, done_cb, e)
			       : evdns_base_resolve_ipv4(c->dns, e->name, DNS_QUERY_NO_SEARCH, done_cb, e);
	/* evdns may have answered already (and cleared pending) */
	if (!req && e->pending) {
		e->pending = false;
		return false;
	}
	return true;
}

static bool take_answer(struct entry *e, int result, char type, int count, const void *addresses)
{
	if (result != DNS_ERR_NONE || count <= 0)
		return false;
	memset(&e->addr, 0, sizeof(e->addr));
	if (type == DNS_IPv4_A && !e->asking_aaaa) {
		e->addr.family = AF_INET;
		memcpy(&e->addr.ip.v4, addresses, sizeof(e->addr.ip.v4));
		return true;
	}
	if (type == DNS_IPv6_AAAA && e->asking_aaaa) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
		memcpy(&sin6.sin6_addr, addresses, sizeof(sin6.sin6_addr));
		/* through the socket form, so that a v4-mapped answer is IPv4 */
		return netaddr_from_sockaddr((const struct sockaddr *)&sin6, sizeof(sin6), &e->addr);
	}
	return false;
}

static void done_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct entry *e = arg;
	struct dnscache *c = e->cache;
	time_t now = now_of(c);
	bool ok = take_answer(e, result, type, count, addresses);

	e->pending = false;
	/* Either family: a name that exists without an A record may have AAAA.
	 * Not after NXDOMAIN (no record of any type) nor a timeout or a server
	 * failure (the waiters would wait twice for a server that is down). */
	if (!ok && e->family == AF_UNSPEC && !e->asking_aaaa &&
	    (result == DNS_ERR_NONE || result == DNS_ERR_NODATA)) {
		e->pending = true;
		e->asking_aaaa = true;
		if (evdns_base_resolve_ipv6(c->dns, e->name, DNS_QUERY_NO_SEARCH, done_cb, e) ||
		    !e->pending)
			return;
		e->pending = false;
	}
	if (ok) {
		e->have_addr = true;
		if (ttl < DNSCACHE_MIN_TTL_S)
			ttl = DNSCACHE_MIN_TTL_S;
		if (ttl > DNSCACHE_MAX_TTL_S)
			ttl = DNSCACHE_MAX_TTL_S;
		e->fresh_until = now + ttl;
	} else {
		e->failed_until = now + DNSCACHE_NEGATIVE_S;
		log_info("lookup of %s%s failed: %s", e->name,
			 e->family == AF_INET ? " (A)" : e->family == AF_INET6 ? " (AAAA)" : "",
			 evdns_err_to_string(result));
	}
	/* Detach the waiters first: a callback may start another lookup. */
	struct waiter *w = e->waiters;
	e->waiters = NULL;
	struct netaddr addr = e->addr;
	while (w) {
		struct waiter *next = w->next;
		c->waiting--;
		w->fn(w->arg, ok, &addr);
		free(w);
		w = next;
	}
}

enum dnscache_answer dnscache_lookup_family(struct dnscache *c, const char *name, int family,
					    struct netaddr *addr, dnscache_fn fn, void *arg)
{
	time_t now = now_of(c);
	struct entry *e = find(c, name, family);

	if (e && e->have_addr && now < e->fresh_until) {
		*addr = e->addr;
		return DNSCACHE_HIT;
	}
	if (e && !e->pending && now < e->failed_until)
		return DNSCACHE_NEGATIVE;
	if (fn && c->waiting >= DNSCACHE_WAITERS)
		return DNSCACHE_BUSY;
	if (!e && !(e = take_slot(c, name, family)))
		return DNSCACHE_BUSY;
	if (!e->pending && !ask(e)) {
		e->failed_until = now + DNSCACHE_NEGATIVE_S;
		return DNSCACHE_NEGATIVE;
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

enum dnscache_answer dnscache_lookup(struct dnscache *c, const char *name, struct netaddr *addr,
				     dnscache_fn fn, void *arg)
{
	return dnscache_lookup_family(c, name, AF_UNSPEC, addr, fn, arg);
}

bool dnscache_last_good(const struct dnscache *c, const char *name, struct netaddr *addr)
{
	const struct entry *best = NULL;

	/* The either-family answer first: it is what the route step sends to. */
	for (int i = 0; i < DNSCACHE_ENTRIES; i++) {
		const struct entry *e = &c->entries[i];
		if (e->name && e->have_addr && strcasecmp(e->name, name) == 0 &&
		    (!best || e->family == AF_UNSPEC))
			best = e;
	}
	if (best)
		*addr = best->addr;
	return best != NULL;
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
