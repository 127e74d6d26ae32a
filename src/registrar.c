/*
 * registrar: the bindings table behind the route step (design section 7).
 * The dispatcher authenticates a REGISTER and hands us a struct
 * register_request; registrar_apply runs RFC 3261 10.3 steps 6-8 on it and the
 * dispatcher answers with the outcome. No I/O and no libosip2 here.
 *
 * Bindings are grouped per peer in a small hash on the peer name, so lookups
 * for an INVITE cost the bindings of one peer, not of all. A peer holds at most
 * REGISTRAR_MAX_CONTACTS bindings in a fixed array: the live ones never exceed
 * it (registrar_apply refuses), and a binding that has expired but not yet
 * been collected by registrar_expire may be overwritten by a new one.
 */
#include "registrar.h"

#include <stdlib.h>
#include <string.h>

#define REGISTRAR_BUCKETS 64

struct peer {
	struct peer *next; /* hash chain */
	char name[sizeof(((struct binding *)0)->peer)];
	size_t count;
	struct binding slots[REGISTRAR_MAX_CONTACTS];
};

struct registrar {
	struct peer *buckets[REGISTRAR_BUCKETS];
	size_t total;
};

/* What registrar_apply decided for one Contact before touching anything. */
struct contact_plan {
	int expiry;    /* seconds, 0 = remove */
	int existing;  /* slot of the live binding with this URI, or -1 */
	bool skip;     /* a later Contact with the same URI wins */
};

static bool fits(const char *s, size_t size)
{
	return s && *s && strnlen(s, size) < size;
}

static bool is_live(const struct binding *b, time_t now)
{
	return b->expires > now;
}

/* RFC 3261 10.3 steps 6 and 7: the request replays or predates what made b. */
static bool is_out_of_order(const struct binding *b, const struct register_request *req)
{
	return strcmp(b->call_id, req->call_id) == 0 && req->cseq <= b->cseq;
}

static unsigned bucket_of(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % REGISTRAR_BUCKETS;
}

static struct peer *peer_find(const struct registrar *r, const char *name)
{
	for (struct peer *p = r->buckets[bucket_of(name)]; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* The peer's entry, created empty if needed; NULL only without memory. */
static struct peer *peer_get(struct registrar *r, const char *name)
{
	struct peer *p = peer_find(r, name);
	unsigned b;

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	strcpy(p->name, name); /* the caller checked it fits */
	b = bucket_of(name);
	p->next = r->buckets[b];
	r->buckets[b] = p;
	return p;
}

/* Unlink and free a peer (its bindings go with it). */
static void peer_drop(struct registrar *r, struct peer *p)
{
	struct peer **pp = &r->buckets[bucket_of(p->name)];

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	r->total -= p->count;
	free(p);
}

static void peer_drop_if_empty(struct registrar *r, struct peer *p)
{
	if (p->count == 0)
		peer_drop(r, p);
}

static void slot_remove(struct registrar *r, struct peer *p, size_t i)
{
	memmove(&p->slots[i], &p->slots[i + 1], (p->count - i - 1) * sizeof(p->slots[0]));
	p->count--;
	r->total--;
}

static size_t live_count(const struct peer *p, time_t now)
{
	size_t n = 0;

	for (size_t i = 0; p && i < p->count; i++)
		n += is_live(&p->slots[i], now);
	return n;
}

static int find_live(const struct peer *p, const char *uri, time_t now)
{
	for (size_t i = 0; p && i < p->count; i++)
		if (is_live(&p->slots[i], now) && strcmp(p->slots[i].contact, uri) == 0)
			return (int)i;
	return -1;
}

/*
 * A slot for a new binding of uri: an expired one with the same URI (so that
 * it does not later "expire" beside its successor), else a free one, else
 * any expired one. The caller made sure the live ones leave room.
 */
static struct binding *slot_for_new(struct registrar *r, struct peer *p, const char *uri,
				    time_t now)
{
	for (size_t i = 0; i < p->count; i++)
		if (!is_live(&p->slots[i], now) && strcmp(p->slots[i].contact, uri) == 0)
			return &p->slots[i];
	if (p->count < REGISTRAR_MAX_CONTACTS) {
		r->total++;
		return &p->slots[p->count++];
	}
	for (size_t i = 0; i < p->count; i++)
		if (!is_live(&p->slots[i], now))
			return &p->slots[i];
	abort(); /* registrar_apply counted wrong */
}

/* Expiry for one Contact: its expires param, else Expires, else the default;
 * lowered to max_s (RFC 3261 10.3 step 7). */
static int contact_expiry(const struct register_request *req, size_t i,
			  const struct register_limits *limits)
{
	int e = req->contacts[i].expires;

	if (e < 0)
		e = req->expires;
	if (e < 0)
		e = limits->default_s;
	if (e > limits->max_s)
		e = limits->max_s;
	return e;
}

/*
 * "*" (RFC 3261 10.3 step 6): valid only alone and with Expires: 0. Every live
 * binding goes, unless one has the request's Call-ID with a CSeq not lower:
 * then the whole update is aborted.
 */
static enum register_outcome apply_star(struct registrar *r, const struct register_request *req,
					time_t now, bool *changed)
{
	struct peer *p;

	if (req->contact_count != 0 || req->expires != 0)
		return REGISTER_BAD_REQUEST;
	p = peer_find(r, req->peer);
	if (!p)
		return REGISTER_OK;
	for (size_t i = 0; i < p->count; i++)
		if (is_live(&p->slots[i], now) && is_out_of_order(&p->slots[i], req))
			return REGISTER_OUT_OF_ORDER;
	for (size_t i = p->count; i-- > 0;) {
		if (is_live(&p->slots[i], now)) {
			slot_remove(r, p, i);
			*changed = true;
		}
	}
	peer_drop_if_empty(r, p);
	return REGISTER_OK;
}

/* Step 7's checks for every Contact, before anything changes. */
static enum register_outcome plan_contacts(const struct peer *p, const struct register_request *req,
					   const struct register_limits *limits, time_t now,
					   struct contact_plan *plan)
{
	size_t live = live_count(p, now);

	for (size_t i = 0; i < req->contact_count; i++) {
		const char *uri = req->contacts[i].uri;
		struct contact_plan *c = &plan[i];

		if (!fits(uri, REGISTRAR_URI_MAX))
			return REGISTER_BAD_REQUEST;
		c->expiry = contact_expiry(req, i, limits);
		if (c->expiry > 0 && c->expiry < limits->min_s)
			return REGISTER_TOO_BRIEF;
		c->existing = find_live(p, uri, now);
		c->skip = false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(req->contacts[j].uri, uri) == 0)
				plan[j].skip = true;
		if (c->existing >= 0 && is_out_of_order(&p->slots[c->existing], req))
			return REGISTER_OUT_OF_ORDER;
	}
	for (size_t i = 0; i < req->contact_count; i++) {
		if (plan[i].skip)
			continue;
		if (plan[i].existing >= 0 && plan[i].expiry == 0)
			live--;
		else if (plan[i].existing < 0 && plan[i].expiry > 0)
			live++;
	}
	return live > REGISTRAR_MAX_CONTACTS ? REGISTER_TOO_MANY : REGISTER_OK;
}

static void binding_set(struct binding *b, const struct register_request *req, const char *uri,
			int expiry, time_t now)
{
	strcpy(b->peer, req->peer);
	strcpy(b->contact, uri);
	strcpy(b->call_id, req->call_id);
	b->cseq = req->cseq;
	b->nat = req->nat; /* a refresh from a new port moves the binding (R39) */
	b->transport = req->transport;
	b->registered = now;
	b->expires = now + expiry;
}

enum register_outcome registrar_apply(struct registrar *r, const struct register_request *req,
				      const struct register_limits *limits, time_t now, bool *changed)
{
	struct contact_plan plan[REGISTRAR_MAX_CONTACTS];
	bool drop[REGISTRAR_MAX_CONTACTS] = { false };
	enum register_outcome outcome;
	bool ignored;
	struct peer *p;

	if (!changed)
		changed = &ignored;
	*changed = false;
	if (!fits(req->peer, sizeof(p->name)) || !fits(req->call_id, REGISTRAR_CALLID_MAX))
		return REGISTER_BAD_REQUEST;
	if (req->star)
		return apply_star(r, req, now, changed);
	if (req->contact_count == 0)
		return REGISTER_OK; /* a query (10.3 step 6) */
	if (req->contact_count > REGISTRAR_MAX_CONTACTS)
		return REGISTER_TOO_MANY;

	p = peer_find(r, req->peer);
	outcome = plan_contacts(p, req, limits, now, plan);
	if (outcome != REGISTER_OK)
		return outcome;

	/* Valid as a whole: now apply, removals last so slot numbers hold. */
	for (size_t i = 0; i < req->contact_count; i++) {
		if (plan[i].skip || plan[i].existing < 0)
			continue;
		if (plan[i].expiry == 0)
			drop[plan[i].existing] = true;
		else
			binding_set(&p->slots[plan[i].existing], req, req->contacts[i].uri,
				    plan[i].expiry, now);
		*changed = true;
	}
	for (size_t i = REGISTRAR_MAX_CONTACTS; i-- > 0;)
		if (drop[i])
			slot_remove(r, p, i);
	for (size_t i = 0; i < req->contact_count; i++) {
		const char *uri = req->contacts[i].uri;

		if (plan[i].skip || plan[i].existing >= 0 || plan[i].expiry == 0)
			continue;
		if (!p && !(p = peer_get(r, req->peer)))
			return REGISTER_TOO_MANY; /* no memory for the peer; nothing applied yet */
		binding_set(slot_for_new(r, p, uri, now), req, uri, plan[i].expiry, now);
		*changed = true;
	}
	if (p)
		peer_drop_if_empty(r, p);
	return REGISTER_OK;
}

struct registrar *registrar_new(void)
{
	return calloc(1, sizeof(struct registrar));
}

void registrar_free(struct registrar *r)
{
	if (!r)
		return;
	for (size_t b = 0; b < REGISTRAR_BUCKETS; b++) {
		while (r->buckets[b])
			peer_drop(r, r->buckets[b]);
	}
	free(r);
}

size_t registrar_bindings(const struct registrar *r, const char *peer, time_t now,
			  const struct binding **out, size_t max)
{
	const struct peer *p = peer ? peer_find(r, peer) : NULL;
	size_t n = 0;

	for (size_t i = 0; p && i < p->count && n < max; i++)
		if (is_live(&p->slots[i], now))
			out[n++] = &p->slots[i];
	return n;
}

const struct binding *registrar_lookup(const struct registrar *r, const char *peer, time_t now)
{
	const struct peer *p = peer ? peer_find(r, peer) : NULL;
	const struct binding *best = NULL;

	for (size_t i = 0; p && i < p->count; i++) {
		const struct binding *b = &p->slots[i];
		if (!is_live(b, now))
			continue;
		if (!best || b->registered > best->registered ||
		    (b->registered == best->registered && b->expires > best->expires))
			best = b;
	}
	return best;
}

/* fn must not change the registrar: it runs while the table is walked. */
size_t registrar_expire(struct registrar *r, time_t now, void (*fn)(void *arg, const struct binding *b),
			void *arg)
{
	size_t gone = 0;

	for (size_t b = 0; b < REGISTRAR_BUCKETS; b++) {
		struct peer *p = r->buckets[b];
		while (p) {
			struct peer *next = p->next;
			for (size_t i = p->count; i-- > 0;) {
				if (is_live(&p->slots[i], now))
					continue;
				if (fn)
					fn(arg, &p->slots[i]);
				slot_remove(r, p, i);
				gone++;
			}
			peer_drop_if_empty(r, p);
			p = next;
		}
	}
	return gone;
}

size_t registrar_retain(struct registrar *r, bool (*keep)(void *arg, const char *peer), void *arg)
{
	size_t gone = 0;

	for (size_t b = 0; b < REGISTRAR_BUCKETS; b++) {
		struct peer *p = r->buckets[b];
		while (p) {
			struct peer *next = p->next;
			if (!keep(arg, p->name)) {
				gone += p->count;
				peer_drop(r, p);
			}
			p = next;
		}
	}
	return gone;
}

void registrar_foreach(const struct registrar *r, void (*fn)(void *arg, const struct binding *b),
		       void *arg)
{
	for (size_t b = 0; b < REGISTRAR_BUCKETS; b++)
		for (const struct peer *p = r->buckets[b]; p; p = p->next)
			for (size_t i = 0; i < p->count; i++)
				fn(arg, &p->slots[i]);
}

/* A duplicate of a live binding (same peer and contact) is refused too: the
 * state file never holds one, so the first line wins. */
bool registrar_restore(struct registrar *r, const struct binding *b, time_t now)
{
	struct peer *p;

	if (!fits(b->peer, sizeof(b->peer)) || !fits(b->contact, sizeof(b->contact)) ||
	    !fits(b->call_id, sizeof(b->call_id)) || !is_live(b, now))
		return false;
	p = peer_find(r, b->peer);
	if (live_count(p, now) >= REGISTRAR_MAX_CONTACTS || find_live(p, b->contact, now) >= 0)
		return false;
	if (!p && !(p = peer_get(r, b->peer)))
		return false;
	*slot_for_new(r, p, b->contact, now) = *b;
	return true;
}

size_t registrar_count(const struct registrar *r)
{
	return r->total;
}

time_t registrar_next_expiry(const struct registrar *r)
{
	time_t first = 0;

	for (size_t b = 0; b < REGISTRAR_BUCKETS; b++)
		for (const struct peer *p = r->buckets[b]; p; p = p->next)
			for (size_t i = 0; i < p->count; i++)
				if (first == 0 || p->slots[i].expires < first)
					first = p->slots[i].expires;
	return first;
}
