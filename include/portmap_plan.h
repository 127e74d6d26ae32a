/*
 * portmap_plan: the pure rules behind router port mapping (issue 14), with
 * the time passed in so that tests can drive them: which addresses a router
 * may report as public, when a lease is renewed, how failures back off, when
 * a NAT-PMP router has lost its mappings, and the table of ports to keep
 * mapped with the state of each. No I/O, no clock, no logging.
 */
#ifndef SIPNATD_PORTMAP_PLAN_H
#define SIPNATD_PORTMAP_PLAN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PORTMAP_RETRY_MIN_S 5        /* first retry after a failed request */
#define PORTMAP_RETRY_MAX_S 300      /* retries back off up to this */
#define PORTMAP_CHECK_MAX_S 60       /* ask the router at least this often whether it still knows us */
#define PORTMAP_PERMANENT_REFRESH_S 600 /* a permanent mapping is asked for again this often */

/* What a router's reported external address is good for. */
enum portmap_addr_kind {
	PORTMAP_ADDR_PUBLIC,     /* can be advertised */
	PORTMAP_ADDR_PRIVATE,    /* RFC 1918: the router sits behind another NAT */
	PORTMAP_ADDR_SHARED,     /* RFC 6598 100.64/10: the carrier's NAT (CGNAT) */
	PORTMAP_ADDR_UNUSABLE,   /* unspecified, loopback, link-local, multicast, reserved */
};

/* Classify an address a router reported. */
enum portmap_addr_kind portmap_plan_addr_kind(struct in_addr addr);

/* A phrase for the log saying why an address of that kind is not advertised
 * ("" for PORTMAP_ADDR_PUBLIC). Static string. */
const char *portmap_plan_addr_why(enum portmap_addr_kind kind);

/* Seconds to wait before retry number fails (1 = after the first failure):
 * PORTMAP_RETRY_MIN_S doubling, capped at PORTMAP_RETRY_MAX_S. */
int portmap_plan_retry_s(unsigned fails);

/* When a mapping granted for granted_s seconds at mapped_at is renewed: at
 * half its lifetime (RFC 6886 section 3.3), at least a second later; a
 * permanent one (0) after PORTMAP_PERMANENT_REFRESH_S. */
time_t portmap_plan_renew_at(time_t mapped_at, int granted_s);

/* How often the router is asked for its address (which also tells whether
 * it restarted) for leases of lease_s: half a lease, at most
 * PORTMAP_CHECK_MAX_S, at least 1. */
int portmap_plan_check_s(int lease_s);

/* How far ahead of their time renewals join a round that has begun, for
 * leases of lease_s: an eighth of the lease, 1 to 60 s. Mapping a pool takes
 * a while, so its renewals would otherwise trickle in over seconds. */
int portmap_plan_batch_s(int lease_s);

/* Did a NAT-PMP router lose its state (reboot) between two answers? prev_*
 * is the last answer's epoch and when it came, epoch/now the new one's.
 * RFC 6886 section 3.6: the new epoch must have advanced by at least 7/8 of
 * the time that passed, less 2 seconds of slack. */
bool portmap_plan_epoch_lost(uint32_t prev_epoch, time_t prev_at, uint32_t epoch, time_t now);

/* One port to keep mapped (UDP, the same port outside and in). */
struct portmap_entry {
	uint16_t port;
	bool mapped;             /* the router granted it and it has not been lost */
	uint16_t public_port;    /* the port the router gave (NAT-PMP may give another) */
	int granted_s;           /* lifetime granted, 0 = permanent */
	time_t expires_at;       /* when the router drops it unless renewed (0: permanent) */
	time_t due_at;           /* when to ask next (renew or retry) */
	unsigned fails;          /* failed requests in a row */
};

/* The ports sipnatd keeps mapped: the SIP port, then the relay pool. */
struct portmap_table {
	struct portmap_entry *entry;
	size_t count;
};

/* Fill t for sip_port and the pool rtpstart..rtpend (the SIP port once even
 * when it falls in the pool), every entry due at now. Returns false (t
 * empty) when out of memory or when more than max ports would result. */
bool portmap_plan_table_init(struct portmap_table *t, uint16_t sip_port, int rtpstart, int rtpend,
			     size_t max, time_t now);
void portmap_plan_table_free(struct portmap_table *t);

/* The entry due first at or before now, or NULL. A renewal (mapped, no
 * failure since) counts as due up to ahead_s early (portmap_plan_batch_s);
 * a retry never does. */
struct portmap_entry *portmap_plan_due(struct portmap_table *t, time_t now, int ahead_s);

/* The earliest due time of any entry, or none (when the table is empty). */
time_t portmap_plan_next_due(const struct portmap_table *t, time_t none);

/* The router granted e for granted_s seconds (0 = permanent) on public_port. */
void portmap_plan_granted(struct portmap_entry *e, time_t now, int granted_s, uint16_t public_port);

/* The request for e failed: not mapped once its lease has run out, retried later. */
void portmap_plan_failed(struct portmap_entry *e, time_t now);

/* The router lost every mapping (restart, new address): all due now. */
void portmap_plan_lost_all(struct portmap_table *t, time_t now);

/* How many entries are mapped, and the least and most lease seconds left of
 * those (both 0 when none; a permanent one counts as -1 in max only when all
 * are permanent). */
size_t portmap_plan_mapped(const struct portmap_table *t, time_t now, long *min_left,
			   long *max_left);

#endif
