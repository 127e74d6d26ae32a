/*
 * peerlimit: whether a peer may start one more call or take more relay
 * pairs. Checked in the media step, before anything of the INVITE is
 * forwarded, so a refused call leaves no trace at the PBX.
 */
#include "peerlimit.h"

enum peerlimit_verdict peerlimit_check(int calllimit, int maxrelays, size_t calls, size_t relays,
				       bool new_call, size_t relays_wanted)
{
	if (new_call && calllimit > 0 && calls >= (size_t)calllimit)
		return PEERLIMIT_CALLS;
	if (relays_wanted > 0 && maxrelays > 0 && relays + relays_wanted > (size_t)maxrelays)
		return PEERLIMIT_RELAYS;
	return PEERLIMIT_OK;
}

/* A peer at its call limit is busy (486: callers and the PBX play a busy
 * tone and do not try elsewhere); the relay cap is a resource running out,
 * as an empty pool is (503 with Retry-After). */
int peerlimit_status(enum peerlimit_verdict v)
{
	switch (v) {
	case PEERLIMIT_CALLS:
		return 486;
	case PEERLIMIT_RELAYS:
		return 503;
	case PEERLIMIT_OK:
		break;
	}
	return 0;
}

const char *peerlimit_reason(enum peerlimit_verdict v)
{
	switch (v) {
	case PEERLIMIT_CALLS:
		return "Busy Here (call limit)";
	case PEERLIMIT_RELAYS:
		return "Service Unavailable (relay limit)";
	case PEERLIMIT_OK:
		break;
	}
	return "OK";
}
