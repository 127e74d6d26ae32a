/*
 * sip_env: everything the SIP path reads or changes besides the message
 * itself, handed to it explicitly. The daemon fills one with its modules,
 * its SIP socket and its DNS cache; tests and the fuzzer fill one with the
 * same modules and stand-ins for the socket, the resolver and the clock, so
 * that they run the daemon's own pipeline (sip_dispatch.c), not a copy.
 *
 * The environment belongs to whoever built it; the SIP modules only borrow
 * it. Its conf is replaced by the owner on reload, so no module keeps a
 * pointer into it across events.
 */
#ifndef SIPNATD_SIP_ENV_H
#define SIPNATD_SIP_ENV_H

#include "conf.h"
#include "dnscache.h"
#include "netaddr.h"
#include "sip_transport.h"

#include <netinet/in.h>
#include <stddef.h>
#include <time.h>

struct advertise;
struct registrar;
struct dialogs;
struct auth;
struct bans;
struct media;
struct trunks;
struct qualify;

struct sip_env {
	const struct conf *conf;
	const struct advertise *advertise; /* sipnatd's own addresses (advertise.c) */
	struct registrar *registrar;
	struct dialogs *dialogs;
	struct auth *auth;
	struct bans *bans;
	struct media *media;
	struct trunks *trunks;     /* NULL: no trunk known by name */
	struct qualify *qualify;   /* NULL: nothing pinged, every peer reachable */

	/* Put one serialised message on the wire toward dest (either family:
	 * the socket of dest's family). */
	void (*send)(void *arg, const char *buf, size_t len, const struct netaddr *dest);
	void *send_arg;

	/* The transport a message toward dest will travel on: TCP or TLS when
	 * dest is a phone's open stream connection (send then uses it), else
	 * UDP. sipnatd's Via and Contact say so (RFC 3261 18.1.1, 19.1.1).
	 * NULL: UDP always. */
	enum sip_transport (*transport_to)(void *arg, const struct netaddr *dest);
	void *transport_arg;

	/* Resolve a name sipnatd must send to (dnscache_lookup's contract). */
	enum dnscache_answer (*resolve)(void *arg, const char *name, struct netaddr *addr,
					dnscache_fn done, void *done_arg);
	void *resolve_arg;

	/* The registrar's bindings changed (a REGISTER was answered): the
	 * owner saves them and re-aims its pings. NULL: nothing to do. */
	void (*registrations_changed)(void *arg);
	void *changed_arg;

	/* Wall-clock seconds; nonces, bindings and dialogs are judged by it. */
	time_t (*now)(void);
};

#endif
