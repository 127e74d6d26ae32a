/*
 * daemon: the composition root. It owns the event loop, the current
 * configuration and every long-lived module, starts them in dependency order,
 * stops them in reverse, and carries out reload (build new, then swap). Its
 * state is private: modules get narrow handles (the SIP path a sip_env, the
 * control socket a control_view), never the daemon.
 */
#ifndef SIPNATD_DAEMON_H
#define SIPNATD_DAEMON_H

#include "cmdline.h"
#include "conf.h"

struct daemon;

/* Build everything from an already validated conf (ownership passes to the
 * daemon, also on failure). Returns the running daemon, or NULL after
 * logging why (e.g. the SIP port cannot be bound) and freeing what was
 * built. */
struct daemon *daemon_start(struct conf *conf, const struct cmdline *cmd);

/* Run the loop until SIGTERM/SIGINT. Returns the exit status (0). */
int daemon_run(struct daemon *d);

/* Stop and free everything daemon_start built. NULL is allowed. */
void daemon_free(struct daemon *d);

#endif
