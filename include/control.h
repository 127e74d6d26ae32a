/*
 * control: the control socket sipnatctl talks to (design section 10). A UNIX
 * stream socket at general.control, served in the daemon's event loop. The
 * protocol is one request line ("peers", "registrations", "calls", "stats",
 * "bans", "status" or "reload"), one JSON object in reply, then the daemon closes the
 * connection. A reply that went wrong is {"error": "why"}.
 *
 * Everything a client sends is bounded (CONTROL_REQUEST_MAX bytes, at most
 * CONTROL_CLIENTS_MAX connections, CONTROL_TIMEOUT_S to send the request and
 * to take the reply), so a stuck or hostile client can never hold the loop.
 */
#ifndef SIPNATD_CONTROL_H
#define SIPNATD_CONTROL_H

#include "control_reply.h"

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_REQUEST_MAX 512
#define CONTROL_CLIENTS_MAX 16
#define CONTROL_TIMEOUT_S 5

struct control;
struct event_base;

enum control_parse {
	CONTROL_PARSE_OK,          /* *cmd holds the command */
	CONTROL_PARSE_INCOMPLETE,  /* no end of line yet: read more */
	CONTROL_PARSE_ERROR,       /* *why says what is wrong (a static string) */
};

/* Parse the len bytes a client sent so far (buf need not be NUL-terminated).
 * The request is the text before the first "\n" (a "\r" before it and blanks
 * around the word are ignored); when ended is true the client has closed its
 * side and the whole buffer is the request. Anything after the line is
 * ignored. Pure: no I/O, no allocation; a fuzz target may call it. */
enum control_parse control_parse_request(const char *buf, size_t len, bool ended,
					 enum control_command *cmd, const char **why);

/* The request word of cmd ("peers"). */
const char *control_command_name(enum control_command cmd);

/* Listen on path (general.control): a stale socket left by an earlier run is
 * removed first; the new one is made 0660. Returns NULL after logging one
 * warning when that cannot be done (no such directory: `make run` on a
 * machine without /run/sipnatd); the daemon then runs without it. The
 * replies read view (control_reply.h), which must outlive c. */
struct control *control_open(struct event_base *base, const char *path,
			     const struct control_view *view);

/* Close every connection, stop listening and remove the socket file (if it
 * is still the one control_open made). NULL is allowed. */
void control_close(struct control *c);

#endif
