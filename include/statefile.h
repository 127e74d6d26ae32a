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

#endif
