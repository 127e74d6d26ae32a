/*
 * sip_path: one datagram through the whole SIP path of sipnatd, in process,
 * without sockets, an event loop or a daemon (issue 7, R45). Shared by the
 * fuzz target fuzz_sip_path and by tests/unit/test_torture.c, so that the
 * torture messages and the fuzzer exercise the very same sequence of steps.
 *
 * The steps are those of sip_dispatch.c (parse, classify, stamp Via,
 * authenticate, Max-Forwards, loop check, route, rewrite SDP/Contact/Via,
 * serialise), called through their public module functions with a fixed
 * configuration, a fixed process key and a fixed clock. After a message is
 * forwarded the path also checks what must hold for it on the next hop:
 * it parses again with a right Content-Length, a response to it finds
 * sipnatd's Via (branch pop), and a masqueraded Contact restores.
 */
#ifndef SIPNATD_FUZZ_SIP_PATH_H
#define SIPNATD_FUZZ_SIP_PATH_H

#include "conf.h"
#include "sipmsg.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The clock of the path: nonces, bindings and dialogs are judged at this time. */
#define SIP_PATH_NOW ((time_t)1700000000)

/* Who sent the datagram (one fixed address each; see sip_path.c). */
enum sip_path_source {
	SIP_PATH_FROM_PBX,      /* the configured PBX */
	SIP_PATH_FROM_LAN,      /* another localnet address */
	SIP_PATH_FROM_TRUNK,    /* a trunk peer known by its IPv4 address */
	SIP_PATH_FROM_INTERNET, /* a stranger: must authenticate */
	SIP_PATH_SOURCES
};

enum sip_path_outcome {
	SIP_PATH_IGNORED,   /* a keep-alive or STUN: no answer, no log */
	SIP_PATH_DROPPED,   /* nothing is sent */
	SIP_PATH_ANSWERED,  /* sipnatd answers itself; status holds the code */
	SIP_PATH_FORWARDED, /* rewritten and serialised toward dest */
};

struct sip_path_result {
	enum sipmsg_status parse;  /* what sipmsg_parse said */
	enum sip_path_outcome outcome;
	int status;                /* ANSWERED: the status code sent */
	char *out;                 /* ANSWERED/FORWARDED: the bytes that would be sent */
	size_t out_len;
	struct sockaddr_in dest;   /* FORWARDED: the next hop */
	const char *why;           /* static text: the step that decided */
	const char *violation;     /* static text when a path invariant broke, else NULL */
};

struct sip_path;

/* Once per process: libosip2's parser, a fixed process key, logging off. */
void sip_path_global_init(void);

/* A path with its fixed configuration, registrar (alice registered), auth
 * state and dialog table. NULL when out of memory or the configuration does
 * not load (a bug: abort in the caller). Free with sip_path_free. */
struct sip_path *sip_path_new(void);
void sip_path_free(struct sip_path *p);

/* The configuration the path runs with (lives as long as p). */
const struct conf *sip_path_conf(const struct sip_path *p);

/* The address a source kind sends from. */
struct sockaddr_in sip_path_source_addr(enum sip_path_source from);

/* Run buf (len bytes, need not be NUL-terminated) from source `from`.
 * *out is filled; release it with sip_path_result_clear. */
void sip_path_run(struct sip_path *p, const char *buf, size_t len, enum sip_path_source from,
		  struct sip_path_result *out);

void sip_path_result_clear(struct sip_path_result *r);

const char *sip_path_outcome_name(enum sip_path_outcome o);
const char *sip_path_source_name(enum sip_path_source s);

#endif
