/*
 * peerlimit: the per-peer limits (issue 10) so that one account cannot take
 * the whole relay pool: calllimit (Asterisk's call-limit, concurrent calls)
 * and maxrelays (relay port pairs held at once). Pure: the media step counts,
 * this decides.
 */
#ifndef SIPNATD_PEERLIMIT_H
#define SIPNATD_PEERLIMIT_H

#include <stdbool.h>
#include <stddef.h>

enum peerlimit_verdict {
	PEERLIMIT_OK,
	PEERLIMIT_CALLS,   /* calllimit reached: answer 486 Busy Here */
	PEERLIMIT_RELAYS,  /* maxrelays would be exceeded: answer 503 */
};

/* May a peer with these limits (a conf_peer's calllimit and maxrelays, 0 =
 * none), which has calls calls and relays relay pairs now, take
 * relays_wanted more pairs, for a new call (new_call) or one in progress? */
enum peerlimit_verdict peerlimit_check(int calllimit, int maxrelays, size_t calls, size_t relays,
				       bool new_call, size_t relays_wanted);

/* The SIP status for a refusal (486 or 503) and its reason phrase. */
int peerlimit_status(enum peerlimit_verdict v);
const char *peerlimit_reason(enum peerlimit_verdict v);

#endif
