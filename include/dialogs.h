/*
 * dialogs: the dialogs sipnatd has seen set up with an Internet party, so that
 * an in-dialog request from the Internet is forwarded only for a dialog that
 * was authenticated (or that the PBX started), never on the strength of a
 * To tag a scanner made up. Keyed by Call-ID and the Internet party's own tag.
 * Bounded; entries expire: an early dialog after DIALOGS_EARLY_S, a confirmed
 * one after DIALOGS_IDLE_S without traffic, an ended one DIALOGS_LINGER_S
 * after its BYE (its final response and retransmissions still pass).
 */
#ifndef SIPNATD_DIALOGS_H
#define SIPNATD_DIALOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define DIALOGS_EARLY_S 200        /* Timer C (3 min) and a margin */
#define DIALOGS_IDLE_S (12 * 3600)
#define DIALOGS_LINGER_S 32        /* 64*T1 */

enum dialog_state {
	DIALOG_EARLY,
	DIALOG_CONFIRMED,
	DIALOG_ENDED,
};

struct dialogs;

struct dialogs *dialogs_new(size_t capacity);
void dialogs_free(struct dialogs *t);

/* Create or move forward the dialog (call_id, tag); a dialog never moves back
 * (ENDED stays ENDED). peer may be NULL. Returns false when the table is full
 * of live dialogs. */
bool dialogs_note(struct dialogs *t, const char *call_id, const char *tag, const char *peer,
		  enum dialog_state state, time_t now);

/* Is (call_id, tag) a live dialog at now? Refreshes its idle time. *peer (when
 * not NULL) gets the peer name it was authenticated as ("" if none). */
bool dialogs_known(struct dialogs *t, const char *call_id, const char *tag, time_t now,
		   const char **peer);

/* Remove what has expired by now; returns how many. */
size_t dialogs_expire(struct dialogs *t, time_t now);

size_t dialogs_count(const struct dialogs *t);

#endif
