/*
 * daemon: the composition root. It owns the event loop, the current
 * configuration and every long-lived module, starts them in dependency order,
 * stops them in reverse, and carries out reload (build new, then swap).
 */
#ifndef SIPNATD_DAEMON_H
#define SIPNATD_DAEMON_H

#include "cmdline.h"
#include "conf.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>

struct sip_socket;
struct externaddr;
struct dnscache;
struct trunks;
struct qualify;
struct auth;
struct bans;
struct dialogs;
struct registrar;
struct media;
struct pending_lookup;
struct control;

struct daemon {
	struct event_base *base;
	struct evdns_base *dns;
	struct conf *conf;          /* the configuration in force; replaced on reload */
	const char *conf_path;
	int debug;                  /* -d count */

	struct sip_socket *sip;
	struct externaddr *external;
	struct portmap *portmap;    /* the router's port mappings (general.portmap) */
	struct dnscache *dnscache;
	struct trunks *trunks;
	struct qualify *qualify;
	struct auth *auth;
	struct bans *bans;
	struct dialogs *dialogs;
	struct registrar *registrar;
	struct media *media;
	struct event *housekeeping;   /* expiry of bindings and dialogs */
	struct event *state_save;     /* coalesces state file writes */
	bool state_dirty;
	bool state_retrying;          /* the last write failed; state_save is the retry */
	struct pending_lookup *lookups;  /* requests waiting for a name (sip_dispatch) */
	struct in_addr lan_addr;    /* advertised toward local destinations */
	bool have_lan_addr;

	struct event *sig_hup, *sig_term, *sig_int;
	struct event *watchdog;
	struct event *lan_addr_retry;
	bool stopping;
	unsigned long reloads, reload_failures;
	char reload_error[CONF_ERR_MAX];  /* why the last failed reload failed */
	struct control *control;    /* NULL when the socket could not be made */
};

/* Build everything from an already validated conf (ownership passes to d).
 * Returns 0, or -1 after logging why (e.g. the SIP port cannot be bound). */
int daemon_start(struct daemon *d, struct conf *conf, const struct cmdline *cmd);

/* Run the loop until SIGTERM/SIGINT. Returns the exit status (0). */
int daemon_run(struct daemon *d);

/* Re-read the configuration file: on error log and keep the old one. Returns
 * true when the new file was swapped in. Called from the SIGHUP callback. */
bool daemon_reload(struct daemon *d);

/* Free everything daemon_start built. */
void daemon_free(struct daemon *d);

/* The registrar changed: write the state file soon (at most once a second). */
void daemon_registrations_changed(struct daemon *d);

/* The address sipnatd advertises toward dest: its LAN address when dest is
 * local, the external address otherwise. False when that address is not
 * known yet (externhost never resolved). */
bool daemon_advertised_addr(const struct daemon *d, struct in_addr dest, struct in_addr *out);

#endif
