/*
 * portpool: the media relay's port pairs (design section 8, R20). A call setup
 * takes a pair here before its SDP is forwarded, binds its sockets, and gives
 * the pair back at teardown; a pair whose sockets cannot be bound is disabled.
 *
 * Each pair of the current range is in one of four states: ready (free and
 * out of quarantine), quarantined (given back less than PORTPOOL_QUARANTINE_S
 * ago), used, or disabled. Ready pairs sit in an array from which take picks
 * at random and removes by swapping with the last; quarantined pairs sit in a
 * list in the order they were given back, so the ones whose rest is over are
 * at its head, and so is the one to take when nothing else is free. Take and
 * give are O(1) (amortised: expired pairs move to the ready array once).
 *
 * A reload may shrink the range while calls hold pairs outside it; those are
 * remembered in a bitmap over all 32768 possible pairs until given back, and
 * then forgotten.
 */
#include "portpool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define PORTPOOL_NONE UINT32_MAX

enum pair_state {
	PAIR_UNSET,       /* only while a resize builds the new table */
	PAIR_READY,
	PAIR_QUARANTINED,
	PAIR_USED,
	PAIR_DISABLED,
};

struct pair {
	enum pair_state state;
	uint32_t slot;           /* READY: index in pool->ready */
	uint32_t prev, next;     /* QUARANTINED: the quarantine list */
	time_t freed_at;         /* QUARANTINED: when it was given back */
};

struct pair_table {
	uint16_t first;          /* even port of pair 0 */
	uint32_t count;          /* pairs in the range */
	struct pair *pairs;
	uint32_t *ready;
	uint32_t ready_len;
	uint32_t q_head, q_tail, q_len;
	uint32_t used;
	uint32_t disabled;
};

struct portpool {
	struct pair_table t;
	/* Pairs in use outside the current range (a reload shrank it). */
	uint8_t used_outside[PORTPOOL_PAIRS_MAX / 8];
	uint32_t used_outside_count;
	uint64_t rng;
};

/* The pairs (P, P + 1) with P even, P != 0 and start <= P, P + 1 <= end. */
static bool range_pairs(int start, int end, uint16_t *first, uint32_t *count)
{
	int p;

	if (start < 0 || end > 65535 || start > end)
		return false;
	p = start + (start & 1);
	if (p == 0)
		p = 2; /* port 0 means "none" to take's caller */
	if (p + 1 > end)
		return false;
	*first = (uint16_t)p;
	*count = (uint32_t)((end - 1 - p) / 2 + 1);
	return true;
}

/* xorshift64*: fast, and good enough to make the next port hard to guess
 * together with the random seed; not a cryptographic generator. */
static uint32_t rng_below(struct portpool *pool, uint32_t n)
{
	uint64_t x = pool->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	pool->rng = x;
	x *= UINT64_C(0x2545F4914F6CDD1D);
	return (uint32_t)(((x >> 32) * (uint64_t)n) >> 32);
}

static uint64_t rng_seed(const struct portpool *pool)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) * UINT64_C(0x9E3779B97F4A7C15) ^
		       (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)pool;
	return seed ? seed : UINT64_C(0x9E3779B97F4A7C15);
}

static bool table_has(const struct pair_table *t, uint16_t port, uint32_t *index)
{
	if (port & 1 || port < t->first || (uint32_t)(port - t->first) / 2 >= t->count)
		return false;
	*index = (uint32_t)(port - t->first) / 2;
	return true;
}

static uint16_t table_port(const struct pair_table *t, uint32_t i)
{
	return (uint16_t)(t->first + 2 * i);
}

static void ready_add(struct pair_table *t, uint32_t i)
{
	t->pairs[i].state = PAIR_READY;
	t->pairs[i].slot = t->ready_len;
	t->ready[t->ready_len++] = i;
}

static void ready_remove(struct pair_table *t, uint32_t i)
{
	uint32_t slot = t->pairs[i].slot;
	uint32_t last = t->ready[--t->ready_len];

	t->ready[slot] = last;
	t->pairs[last].slot = slot;
}

static void quarantine_append(struct pair_table *t, uint32_t i, time_t freed_at)
{
	struct pair *p = &t->pairs[i];

	p->state = PAIR_QUARANTINED;
	p->freed_at = freed_at;
	p->prev = t->q_tail;
	p->next = PORTPOOL_NONE;
	if (t->q_tail == PORTPOOL_NONE)
		t->q_head = i;
	else
		t->pairs[t->q_tail].next = i;
	t->q_tail = i;
	t->q_len++;
}

static void quarantine_remove(struct pair_table *t, uint32_t i)
{
	struct pair *p = &t->pairs[i];

	if (p->prev == PORTPOOL_NONE)
		t->q_head = p->next;
	else
		t->pairs[p->prev].next = p->next;
	if (p->next == PORTPOOL_NONE)
		t->q_tail = p->prev;
	else
		t->pairs[p->next].prev = p->prev;
	t->q_len--;
}

/* Move the pairs whose quarantine is over to the ready array. The list is in
 * give-back order; a clock step backwards only delays a release. */
static void quarantine_release(struct pair_table *t, time_t now)
{
	while (t->q_head != PORTPOOL_NONE &&
	       now - t->pairs[t->q_head].freed_at >= PORTPOOL_QUARANTINE_S) {
		uint32_t i = t->q_head;

		quarantine_remove(t, i);
		ready_add(t, i);
	}
}

static int table_alloc(struct pair_table *t, uint16_t first, uint32_t count)
{
	memset(t, 0, sizeof(*t));
	t->first = first;
	t->count = count;
	t->q_head = t->q_tail = PORTPOOL_NONE;
	t->pairs = calloc(count, sizeof(*t->pairs));
	t->ready = calloc(count, sizeof(*t->ready));
	if (!t->pairs || !t->ready) {
		free(t->pairs);
		free(t->ready);
		return -1;
	}
	return 0;
}

static bool outside_test(const struct portpool *pool, uint16_t port)
{
	unsigned n = port / 2;

	return pool->used_outside[n / 8] & (1u << (n % 8));
}

static void outside_set(struct portpool *pool, uint16_t port, bool used)
{
	unsigned n = port / 2;

	if (used) {
		pool->used_outside[n / 8] |= (uint8_t)(1u << (n % 8));
		pool->used_outside_count++;
	} else {
		pool->used_outside[n / 8] &= (uint8_t) ~(1u << (n % 8));
		pool->used_outside_count--;
	}
}

struct portpool *portpool_new(int start, int end)
{
	struct portpool *pool;
	uint16_t first;
	uint32_t count;

	if (!range_pairs(start, end, &first, &count))
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	if (table_alloc(&pool->t, first, count) < 0) {
		free(pool);
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++)
		ready_add(&pool->t, i);
	pool->rng = rng_seed(pool);
	return pool;
}

void portpool_free(struct portpool *pool)
{
	if (!pool)
		return;
	free(pool->t.pairs);
	free(pool->t.ready);
	free(pool);
}

uint16_t portpool_take(struct portpool *pool, time_t now)
{
	struct pair_table *t = &pool->t;
	uint32_t i;

	quarantine_release(t, now);
	if (t->ready_len > 0) {
		i = t->ready[rng_below(pool, t->ready_len)];
		ready_remove(t, i);
	} else if (t->q_head != PORTPOOL_NONE) {
		/* Everything free is resting: the one given back longest ago. */
		i = t->q_head;
		quarantine_remove(t, i);
	} else {
		return 0;
	}
	t->pairs[i].state = PAIR_USED;
	t->used++;
	return table_port(t, i);
}

void portpool_give(struct portpool *pool, uint16_t port, time_t now)
{
	struct pair_table *t = &pool->t;
	uint32_t i;

	if (table_has(t, port, &i)) {
		if (t->pairs[i].state != PAIR_USED)
			abort(); /* given twice, or never taken */
		t->used--;
		quarantine_append(t, i, now);
		return;
	}
	if (port & 1 || !outside_test(pool, port))
		abort();
	outside_set(pool, port, false);
}

void portpool_disable(struct portpool *pool, uint16_t port)
{
	struct pair_table *t = &pool->t;
	uint32_t i;

	if (!table_has(t, port, &i)) {
		if (!(port & 1) && outside_test(pool, port))
			outside_set(pool, port, false);
		return;
	}
	switch (t->pairs[i].state) {
	case PAIR_READY:
		ready_remove(t, i);
		break;
	case PAIR_QUARANTINED:
		quarantine_remove(t, i);
		break;
	case PAIR_USED:
		t->used--;
		break;
	case PAIR_DISABLED:
		return;
	case PAIR_UNSET:
		abort();
	}
	t->pairs[i].state = PAIR_DISABLED;
	t->disabled++;
}

/* Build the new table from the old: a pair in both keeps its state (the
 * quarantine keeps its order), a used pair that leaves the range moves to the
 * bitmap, one that comes back from the bitmap is used again, and the rest of
 * the new range is ready. A disabled pair that leaves the range is forgotten
 * and may be tried again if a later reload brings it back. */
int portpool_resize(struct portpool *pool, int start, int end)
{
	struct pair_table *old = &pool->t;
	struct pair_table t;
	uint16_t first;
	uint32_t count, i, j;

	if (!range_pairs(start, end, &first, &count) || table_alloc(&t, first, count) < 0)
		return -1;
	for (i = old->q_head; i != PORTPOOL_NONE; i = old->pairs[i].next)
		if (table_has(&t, table_port(old, i), &j))
			quarantine_append(&t, j, old->pairs[i].freed_at);
	for (i = 0; i < old->count; i++) {
		uint16_t port = table_port(old, i);
		enum pair_state state = old->pairs[i].state;

		if (!table_has(&t, port, &j)) {
			if (state == PAIR_USED)
				outside_set(pool, port, true);
			continue;
		}
		if (state == PAIR_READY) {
			ready_add(&t, j);
		} else if (state == PAIR_USED) {
			t.pairs[j].state = PAIR_USED;
			t.used++;
		} else if (state == PAIR_DISABLED) {
			t.pairs[j].state = PAIR_DISABLED;
			t.disabled++;
		}
	}
	for (j = 0; j < count; j++) {
		uint16_t port = table_port(&t, j);

		if (t.pairs[j].state != PAIR_UNSET)
			continue;
		if (outside_test(pool, port)) {
			outside_set(pool, port, false);
			t.pairs[j].state = PAIR_USED;
			t.used++;
		} else {
			ready_add(&t, j);
		}
	}
	free(old->pairs);
	free(old->ready);
	pool->t = t;
	return 0;
}

bool portpool_in_range(const struct portpool *pool, uint16_t port)
{
	uint32_t i;

	return table_has(&pool->t, port, &i);
}

size_t portpool_free_count(const struct portpool *pool)
{
	return pool->t.ready_len + pool->t.q_len;
}

size_t portpool_used_count(const struct portpool *pool)
{
	return pool->t.used + pool->used_outside_count;
}

size_t portpool_capacity(const struct portpool *pool)
{
	return pool->t.count - pool->t.disabled;
}
