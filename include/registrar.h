/*
 * registrar: the bindings of registered peers (design section 7, RFC 3261
 * 10.3). A table with no I/O: the dispatcher turns an authenticated REGISTER
 * into a struct register_request, this module applies RFC 3261's rules, and
 * the dispatcher answers from the result. Bindings are keyed by peer and
 * contact URI, never by the (private) contact host, and each remembers the NAT
 * address it was registered from (received:rport), which is where requests
 * for the peer go.
 */
#ifndef SIPNATD_REGISTRAR_H
#define SIPNATD_REGISTRAR_H

#include "netaddr.h"
#include "sip_transport.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define REGISTRAR_MAX_CONTACTS 8   /* per peer; more is refused */
#define REGISTRAR_URI_MAX 512
#define REGISTRAR_CALLID_MAX 256

struct binding {
	char peer[64];
	char contact[REGISTRAR_URI_MAX]; /* the URI the phone registered, as text */
	struct netaddr nat;              /* where its REGISTER came from (either family) */
	enum sip_transport transport;    /* over what: TCP/TLS bind it to that connection */
	time_t expires;                  /* absolute, seconds since the epoch */
	time_t registered;               /* last refresh */
	char call_id[REGISTRAR_CALLID_MAX];
	uint32_t cseq;
};

struct register_contact {
	const char *uri;
	int expires;   /* the contact's expires parameter, -1 when absent */
};

struct register_request {
	const char *peer;        /* authenticated peer, the AOR's user */
	const char *call_id;
	uint32_t cseq;
	struct netaddr nat;      /* source address of the REGISTER */
	enum sip_transport transport; /* and the transport it came over */
	int expires;             /* the Expires header, -1 when absent */
	bool star;               /* Contact: * (only valid with expires 0) */
	size_t contact_count;    /* 0 = a query */
	struct register_contact contacts[REGISTRAR_MAX_CONTACTS];
};

struct register_limits {
	int min_s, max_s, default_s;
};

enum register_outcome {
	REGISTER_OK,            /* 200: the bindings now in force are the answer */
	REGISTER_TOO_BRIEF,     /* 423 Interval Too Brief, Min-Expires: min_s */
	REGISTER_OUT_OF_ORDER,  /* 500: same Call-ID with a CSeq not higher (10.3 step 7) */
	REGISTER_BAD_REQUEST,   /* 400: "*" with other contacts or a non-zero expiry */
	REGISTER_TOO_MANY,      /* 403: more than REGISTRAR_MAX_CONTACTS bindings */
};

struct registrar;

struct registrar *registrar_new(void);
void registrar_free(struct registrar *r);

/* Apply a REGISTER at time now. Nothing changes unless the outcome is
 * REGISTER_OK; *changed says whether the table did (for the state file). An
 * expiry above max_s is lowered to it, a missing one is default_s, one below
 * min_s (but not 0) is REGISTER_TOO_BRIEF. */
enum register_outcome registrar_apply(struct registrar *r, const struct register_request *req,
				      const struct register_limits *limits, time_t now, bool *changed);

/* Up to max live bindings of peer into out (pointers valid until the next
 * change); returns how many. */
size_t registrar_bindings(const struct registrar *r, const char *peer, time_t now,
			  const struct binding **out, size_t max);

/* The binding to send a request for peer to: the most recently refreshed live
 * one, or NULL. */
const struct binding *registrar_lookup(const struct registrar *r, const char *peer, time_t now);

/* Drop bindings expired at now; returns how many went (each worth a log line:
 * fn, when not NULL, is called for each before it is dropped). */
size_t registrar_expire(struct registrar *r, time_t now, void (*fn)(void *arg, const struct binding *b),
			void *arg);

/* Drop the bindings of peers for which keep(arg, peer) is false (a reload
 * removed the peer). Returns how many went. */
size_t registrar_retain(struct registrar *r, bool (*keep)(void *arg, const char *peer), void *arg);

/* Call fn for every binding, in no particular order. */
void registrar_foreach(const struct registrar *r, void (*fn)(void *arg, const struct binding *b),
		       void *arg);

/* Put back a binding read from the state file; false (and nothing changes) when
 * it has expired by now, the peer already has REGISTRAR_MAX_CONTACTS, or a
 * field is empty. */
bool registrar_restore(struct registrar *r, const struct binding *b, time_t now);

size_t registrar_count(const struct registrar *r);

/* The earliest expiry among all bindings, 0 when there are none (to arm a timer). */
time_t registrar_next_expiry(const struct registrar *r);

#endif
