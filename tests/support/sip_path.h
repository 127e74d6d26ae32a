/*
 * sip_path: the daemon's own SIP path (sip_dispatch.c) in process, over an
 * environment with stand-ins: no SIP socket (what is sent is captured), a
 * resolver that answers at once (or later, or never: sip_path_set_resolver),
 * a fixed clock, a fixed process key, a fixed configuration with alice
 * registered from behind a NAT. Real modules otherwise: registrar, dialogs,
 * auth, bans, media with its relay sockets on 127.0.0.1.
 *
 * Used by the fuzz target fuzz_sip_path, the torture test and
 * test_sip_dispatch, so that all three run the very code the daemon runs.
 * After each run the path checks what must hold on the wire for what was
 * sent (sip_invariants.h).
 */
#ifndef SIPNATD_TEST_SIP_PATH_H
#define SIPNATD_TEST_SIP_PATH_H

#include "conf.h"
#include "dnscache.h"
#include "netaddr.h"
#include "sip_transport.h"
#include "sipmsg.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The clock of the path: nonces, bindings and dialogs are judged at this time. */
#define SIP_PATH_NOW ((time_t)1700000000)
#define SIP_PATH_LAN_ADDR "192.168.1.2"
#define SIP_PATH_EXT_ADDR "203.0.113.1"
#define SIP_PATH_EXT6_ADDR "2001:db8:1::1"  /* externip's IPv6 address */
#define SIP_PATH_RESOLVED "198.51.100.53"

/* Who sent the datagram (one fixed address each; see sip_path.c). */
enum sip_path_source {
	SIP_PATH_FROM_PBX,      /* the configured PBX */
	SIP_PATH_FROM_LAN,      /* another localnet address */
	SIP_PATH_FROM_TRUNK,    /* a trunk peer known by its IPv4 address */
	SIP_PATH_FROM_INTERNET, /* a stranger: must authenticate */
	SIP_PATH_FROM_TRUNK6,   /* a trunk peer known by its IPv6 address (issue 20) */
	SIP_PATH_FROM_INTERNET6,/* a stranger over IPv6: must authenticate */
	SIP_PATH_SOURCES
};

enum sip_path_outcome {
	SIP_PATH_IGNORED,   /* a keep-alive or STUN: no answer, no log */
	SIP_PATH_DROPPED,   /* nothing is sent */
	SIP_PATH_ANSWERED,  /* sipnatd answers itself; status holds the code */
	SIP_PATH_FORWARDED, /* rewritten and sent toward dest */
};

struct sip_path_result {
	enum sipmsg_status parse;  /* what sipmsg_parse says of the input */
	enum sip_path_outcome outcome;
	int status;                /* ANSWERED: the status code sent */
	char *out;                 /* ANSWERED/FORWARDED: the bytes sent */
	size_t out_len;
	size_t sends;              /* how many messages were sent */
	struct netaddr dest;       /* ANSWERED/FORWARDED: where they went */
	const char *why;           /* static text: what the outcome rests on */
	const char *violation;     /* static text when a wire invariant broke, else NULL */
};

struct sip_path;

/* Once per process: libosip2's parser, a fixed process key, logging off. */
void sip_path_global_init(void);

/* A path with its fixed configuration. NULL when out of memory or the
 * configuration does not load (a bug: abort in the caller). */
struct sip_path *sip_path_new(void);
void sip_path_free(struct sip_path *p);

/* The configuration the path runs with (lives as long as p). */
const struct conf *sip_path_conf(const struct sip_path *p);

/* The address a source kind sends from. */
struct netaddr sip_path_source_addr(enum sip_path_source from);

/* Run buf (len bytes, need not be NUL-terminated) from source `from`
 * through sip_dispatch_message. Bans, bindings (alice again) and relay
 * sessions start afresh for each run; dialogs carry over. Release *out with
 * sip_path_result_clear. */
void sip_path_run(struct sip_path *p, const char *buf, size_t len, enum sip_path_source from,
		  struct sip_path_result *out);

/* The same, but the state of earlier runs (bans, bindings, sessions) is
 * kept: a sequence of messages, as a test writes it. */
void sip_path_run_more(struct sip_path *p, const char *buf, size_t len, struct netaddr src,
		       struct sip_path_result *out);

void sip_path_result_clear(struct sip_path_result *r);

/* What the resolver stand-in answers from now on: DNSCACHE_HIT (the
 * default: SIP_PATH_RESOLVED), DNSCACHE_NEGATIVE, DNSCACHE_BUSY, or
 * DNSCACHE_PENDING (the lookup waits for sip_path_resolve_pending). */
void sip_path_set_resolver(struct sip_path *p, enum dnscache_answer answer);

/* From now on addr has an open connection of transport t (TCP/TLS), as
 * sip_edge would say; UDP forgets it. One address at a time. */
void sip_path_set_stream(struct sip_path *p, struct netaddr addr, enum sip_transport t);

/* Answer the waiting lookup (ok: with SIP_PATH_RESOLVED); what that sends is
 * captured in *out like a run. False when none was waiting. */
bool sip_path_resolve_pending(struct sip_path *p, bool ok, struct sip_path_result *out);

/* The modules behind the path, for tests that look inside. */
struct sip_dispatch *sip_path_dispatch(struct sip_path *p);
struct media *sip_path_media(struct sip_path *p);
struct registrar *sip_path_registrar(struct sip_path *p);
struct dialogs *sip_path_dialogs(struct sip_path *p);
struct bans *sip_path_bans(struct sip_path *p);

const char *sip_path_outcome_name(enum sip_path_outcome o);
const char *sip_path_source_name(enum sip_path_source s);

#endif
