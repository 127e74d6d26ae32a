/*
 * portpool: the relay's ports, rtpstart..rtpend inclusive (design section 8).
 * A pair is an even RTP port and the odd port after it (RTCP). Pairs are taken
 * at random, and a pair given back rests for PORTPOOL_QUARANTINE_S before it
 * is taken again unless nothing else is free (R20: a stray late packet of an
 * old call must not land in a new one, and a port is hard to guess).
 */
#ifndef SIPNATD_PORTPOOL_H
#define SIPNATD_PORTPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PORTPOOL_QUARANTINE_S 30
#define PORTPOOL_PAIRS_MAX 32768 /* even ports 0..65534 */

struct portpool;

/* A pool over start..end (start even; the last pair is the highest even P
 * with P + 1 <= end). NULL when out of memory or the range holds no pair. */
struct portpool *portpool_new(int start, int end);
void portpool_free(struct portpool *pool);

/* Take a free pair; returns its even port, or 0 when none is free. */
uint16_t portpool_take(struct portpool *pool, time_t now);

/* Give a pair back (its even port). A port outside the current range (a
 * reload shrank it) is simply forgotten; giving back a pair that is not taken
 * is a bug and aborts. */
void portpool_give(struct portpool *pool, uint16_t port, time_t now);

/* Never hand out this pair again (its sockets could not be bound: another
 * program holds the port). It counts as neither free nor in use. */
void portpool_disable(struct portpool *pool, uint16_t port);

/* Adopt a new range (reload). Pairs in use stay in use until given back;
 * only new allocations see the new range. Returns 0 or -1 (out of memory;
 * the old range stays). */
int portpool_resize(struct portpool *pool, int start, int end);

/* Whether the pair of even port `port` belongs to the current range (the
 * relay keeps a pair's sockets bound while it does). */
bool portpool_in_range(const struct portpool *pool, uint16_t port);

size_t portpool_free_count(const struct portpool *pool);
size_t portpool_used_count(const struct portpool *pool);
/* Pairs in the current range that are not disabled. */
size_t portpool_capacity(const struct portpool *pool);

#endif
