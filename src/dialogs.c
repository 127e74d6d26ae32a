/*
 * dialogs: a chained hash table of (Call-ID, tag) with expiry. Beside the SIP
 * path: the authenticate step asks it about in-dialog requests from the
 * Internet; the forward step tells it what it saw.
 */
#include "dialogs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

struct dialog {
	char *key;               /* "call_id\ntag" */
	char peer[64];
	enum dialog_state state;
	time_t expires;
	struct dialog *next;
};

struct dialogs {
	struct dialog *buckets[BUCKETS];
	size_t count, capacity;
	/* No entry expires before this (a lower bound; 0: unknown). A full
	 * table is asked to expire on every new dialog: this spares the scan
	 * of every bucket when nothing can have expired yet. */
	time_t next_expiry;
};

struct dialogs *dialogs_new(size_t capacity)
{
	struct dialogs *t = calloc(1, sizeof(*t));

	if (t)
		t->capacity = capacity;
	return t;
}

static void free_dialog(struct dialog *d)
{
	free(d->key);
	free(d);
}

void dialogs_free(struct dialogs *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		while (t->buckets[i]) {
			struct dialog *d = t->buckets[i];
			t->buckets[i] = d->next;
			free_dialog(d);
		}
	}
	free(t);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static char *make_key(const char *call_id, const char *tag)
{
	size_t a = strlen(call_id), b = strlen(tag);
	char *k = malloc(a + b + 2);

	if (!k)
		return NULL;
	memcpy(k, call_id, a);
	k[a] = '\n';
	memcpy(k + a + 1, tag, b + 1);
	return k;
}

static struct dialog **lookup(struct dialogs *t, const char *key)
{
	struct dialog **pp = &t->buckets[hash(key) % BUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			return pp;
	return pp; /* the NULL link at the end of the chain */
}

/* Drop one ended dialog (the one found first). False when there is none. */
static bool evict_ended(struct dialogs *t)
{
	for (size_t i = 0; i < BUCKETS; i++) {
		for (struct dialog **pp = &t->buckets[i]; *pp; pp = &(*pp)->next) {
			if ((*pp)->state == DIALOG_ENDED) {
				struct dialog *d = *pp;
				*pp = d->next;
				free_dialog(d);
				t->count--;
				return true;
			}
		}
	}
	return false;
}

static time_t lifetime(enum dialog_state state)
{
	switch (state) {
	case DIALOG_EARLY: return DIALOGS_EARLY_S;
	case DIALOG_CONFIRMED: return DIALOGS_IDLE_S;
	case DIALOG_ENDED: return DIALOGS_LINGER_S;
	}
	return DIALOGS_LINGER_S;
}

bool dialogs_note(struct dialogs *t, const char *call_id, const char *tag, const char *peer,
		  enum dialog_state state, time_t now)
{
	char *key = make_key(call_id ? call_id : "", tag ? tag : "");

	if (!key)
		return false;
	struct dialog **pp = lookup(t, key);
	struct dialog *d = *pp;
	if (d) {
		free(key);
		if (state < d->state)
			state = d->state;
	} else {
		if (t->count >= t->capacity) {
			dialogs_expire(t, now);
			/* still full: an ended dialog only lingers for stray
			 * retransmissions, a new one is worth more */
			if (t->count >= t->capacity && !evict_ended(t)) {
				free(key);
				return false;
			}
			pp = lookup(t, key);
		}
		d = calloc(1, sizeof(*d));
		if (!d) {
			free(key);
			return false;
		}
		d->key = key;
		*pp = d;
		t->count++;
	}
	if (peer && *peer)
		strncpy(d->peer, peer, sizeof(d->peer) - 1);
	d->state = state;
	d->expires = now + lifetime(state);
	if (d->expires < t->next_expiry)
		t->next_expiry = d->expires;
	return true;
}

bool dialogs_known(struct dialogs *t, const char *call_id, const char *tag, time_t now,
		   const char **peer)
{
	char *key = make_key(call_id ? call_id : "", tag ? tag : "");

	if (!key)
		return false;
	struct dialog *d = *lookup(t, key);
	free(key);
	if (!d || d->expires <= now)
		return false;
	if (d->state != DIALOG_ENDED) {
		d->expires = now + lifetime(d->state);
		if (d->expires < t->next_expiry)
			t->next_expiry = d->expires; /* the clock may have gone back */
	}
	if (peer)
		*peer = d->peer;
	return true;
}

size_t dialogs_expire(struct dialogs *t, time_t now)
{
	size_t gone = 0;
	bool first = true;
	time_t next = 0;

	if (t->next_expiry > now)
		return 0;
	for (size_t i = 0; i < BUCKETS; i++) {
		for (struct dialog **pp = &t->buckets[i]; *pp;) {
			if ((*pp)->expires <= now) {
				struct dialog *d = *pp;
				*pp = d->next;
				free_dialog(d);
				t->count--;
				gone++;
			} else {
				if (first || (*pp)->expires < next)
					next = (*pp)->expires;
				first = false;
				pp = &(*pp)->next;
			}
		}
	}
	/* the exact earliest expiry of what is left; 0 (scan next time) if empty */
	t->next_expiry = next;
	return gone;
}

size_t dialogs_count(const struct dialogs *t)
{
	return t->count;
}
