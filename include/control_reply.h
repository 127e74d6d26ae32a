/*
 * control_reply: what the control socket answers, as JSON (jansson), built
 * from the daemon's modules through their read-only accessors. Kept apart
 * from control.c, which only moves bytes, so that every reply can be tested
 * on a daemon that has its tables but no sockets.
 */
#ifndef SIPNATD_CONTROL_REPLY_H
#define SIPNATD_CONTROL_REPLY_H

#include "control.h"

#include <jansson.h>
#include <time.h>

struct daemon;

/* The reply to cmd (CONTROL_RELOAD runs daemon_reload). started is when the
 * daemon came up (CLOCK_MONOTONIC seconds), for the uptime. Returns a new
 * reference (caller json_decref's it), NULL only when out of memory. */
json_t *control_reply(struct daemon *d, enum control_command cmd, time_t started);

/* {"error": why}; NULL when out of memory. */
json_t *control_reply_error(const char *why);

#endif
