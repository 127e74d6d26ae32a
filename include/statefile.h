/*
 * statefile: the registrar's bindings on disk, so that a restart (or kill -9)
 * does not make phones unreachable until they re-register (design section 7).
 * Written whole to a temporary file, flushed and renamed over the old one:
 * a reader sees the old or the new file, never half of one. Read back line by
 * line; a bad line is skipped and counted, never fatal.
 */
#ifndef SIPNATD_STATEFILE_H
#define SIPNATD_STATEFILE_H

#include "registrar.h"

#include <event2/event.h>
#include <stddef.h>
#include <time.h>

/* Write every binding of r to path atomically. Returns 0, or -1 with the
 * reason in err ("/var/lib/sipnatd/registrations.tmp: No space left on device"). */
int statefile_save(const char *path, const struct registrar *r, char *err, size_t err_len);

/* Read path into r, skipping bindings expired at now. Returns the number of
 * bindings restored; *bad counts lines that were skipped as malformed. A
 * missing file returns 0 with err set to say so; an unreadable one -1. */
long statefile_load(const char *path, struct registrar *r, time_t now, size_t *bad, char *err,
		    size_t err_len);

/* The same from a buffer (tests, fuzzing); name stands for the file. */
long statefile_parse(const char *text, size_t len, struct registrar *r, time_t now, size_t *bad);

/*
 * The writer: registrations change in bursts (a phone's REGISTER, a reload
 * that drops peers), so writes are coalesced to at most one per
 * STATEFILE_WRITE_DELAY_MS. A failed write (full disk, read-only mount) is
 * logged once per attempt and retried every STATEFILE_RETRY_S; the bindings
 * stay in memory meanwhile and the service goes on.
 */
#define STATEFILE_WRITE_DELAY_MS 1000
#define STATEFILE_RETRY_S 10

struct statefile_writer;

/* A writer of r's bindings to path (the caller keeps both alive; path may be
 * changed with statefile_writer_set_path). NULL when out of memory. */
struct statefile_writer *statefile_writer_new(struct event_base *base, const struct registrar *r,
					      const char *path);

/* The bindings changed: write them soon. A retry waiting after a failure is
 * brought forward, since a change is a good moment to try again. */
void statefile_writer_changed(struct statefile_writer *w);

/* A reload gave another statefile path (the next write goes there). */
void statefile_writer_set_path(struct statefile_writer *w, const char *path);

/* Writes a pending change now (a clean stop loses nothing), then frees. */
void statefile_writer_free(struct statefile_writer *w);

#endif
