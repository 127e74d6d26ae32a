/*
 * control_reply: what the control socket answers, as JSON (jansson), built
 * from the daemon's modules through their read-only accessors. Kept apart
 * from control.c, which only moves bytes, so that every reply can be tested
 * on a daemon that has its tables but no sockets.
 */
#ifndef SIPNATD_CONTROL_REPLY_H
#define SIPNATD_CONTROL_REPLY_H

#include "sip_env.h"

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

/* The requests of the control protocol (control.c reads them). */
enum control_command {
	CONTROL_PEERS,
	CONTROL_REGISTRATIONS,
	CONTROL_CALLS,
	CONTROL_STATS,
	CONTROL_BANS,
	CONTROL_RELOAD,
	CONTROL_STATUS,
};

struct sip_dispatch;
struct sip_socket;
struct externaddr;
struct portmap;

/* Reloads so far, as "stats" and "reload" report them. */
struct control_reloads {
	unsigned long done, failed;
	const char *last_error;  /* why the last failed reload failed ("" if none) */
};

/* What the replies read, filled by the daemon (or a test): the SIP path's
 * environment (conf, registrar, media, bans, auth, qualify), its dispatcher
 * and socket for counters (either may be NULL), and the reload. */
struct control_view {
	const struct sip_env *env;
	const struct sip_dispatch *dispatch;
	const struct sip_socket *sip;
	const char *conf_path;
	/* "status": the external address and the router's mappings (either
	 * may be NULL: none, portmap off) */
	const struct externaddr *external;
	struct portmap *portmap;
	/* Re-read the configuration; true when it was swapped in. NULL: a
	 * reload is answered as failed. */
	bool (*reload)(void *arg);
	void (*reloads)(void *arg, struct control_reloads *out);
	void *arg;
};

/* The reply to cmd (CONTROL_RELOAD runs view->reload). started is when the
 * daemon came up (CLOCK_MONOTONIC seconds), for the uptime. Returns a new
 * reference (caller json_decref's it), NULL only when out of memory. */
json_t *control_reply(const struct control_view *view, enum control_command cmd, time_t started);

/* {"error": why}; NULL when out of memory. */
json_t *control_reply_error(const char *why);

#endif
