/*
 * sipmsg: the edge between datagrams and libosip2 messages. Only this module
 * turns bytes into an osip_message_t and back; everything after it works on the
 * parsed object and never edits SIP as text (design section 5, "Input").
 */
#ifndef SIPNATD_SIPMSG_H
#define SIPNATD_SIPMSG_H

#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stddef.h>

/* The largest datagram sipnatd accepts (design section 5: over 64 KiB is dropped). */
#define SIPMSG_MAX_SIZE 65535

enum sipmsg_status {
	SIPMSG_OK,          /* *out holds a message with every mandatory header */
	SIPMSG_KEEPALIVE,   /* CRLF, CRLFCRLF, four zero bytes (RFC 5626 4.4): ignore */
	SIPMSG_STUN,        /* a STUN message (RFC 5389 magic cookie) */
	SIPMSG_TOO_BIG,     /* over SIPMSG_MAX_SIZE */
	SIPMSG_MALFORMED,   /* not SIP at all, or libosip2 refused it: drop */
	SIPMSG_INCOMPLETE,  /* body shorter than Content-Length (RFC 3261 18.3): drop */
	SIPMSG_INVALID,     /* parsed, but a request that must be answered 400; *out is set */
};

/* Once per process, before any parse (libosip2's parser_init). */
void sipmsg_global_init(void);

/* Parse one datagram. On SIPMSG_OK and SIPMSG_INVALID *out is a new message the
 * caller frees with osip_message_free; otherwise *out is NULL. *why says what
 * was wrong (static string) for anything but SIPMSG_OK. */
enum sipmsg_status sipmsg_parse(const char *buf, size_t len, osip_message_t **out,
				const char **why);

/* Serialise msg into a new buffer (free with osip_free). Content-Length is set
 * from the body first. A message with a splice index (sip_splice_attach) is
 * written as it was received with only its changes written anew; any other
 * in full by libosip2. Returns 0 or -1. */
int sipmsg_serialize(osip_message_t *msg, char **buf, size_t *len);

/* Tests: every spliced message is also serialised in full and both are
 * compared as libosip2 reads them. A difference aborts (ABORT: the daemon
 * under the integration tests) or is counted (RECORD: the SIP path of the
 * unit suites and the fuzzer, which report it as a broken invariant). */
enum sipmsg_splice_check { SIPMSG_SPLICE_UNCHECKED, SIPMSG_SPLICE_ABORT, SIPMSG_SPLICE_RECORD };
void sipmsg_check_splices(enum sipmsg_splice_check mode);
/* RECORD: the differences counted since the last call (then 0 again). */
unsigned sipmsg_splice_mismatches(void);

/* Human-readable name of a status, for logs. */
const char *sipmsg_status_name(enum sipmsg_status status);

/* Convenience accessors that never return NULL pointers to callers that only
 * want to print: "" when absent. */
const char *sipmsg_method(const osip_message_t *msg);
const char *sipmsg_call_id(const osip_message_t *msg);

/* The whole Call-ID ("number@host"; libosip2 keeps the parts apart) into buf,
 * for use as a key (dialogs, bindings, tokens). A Call-ID that does not fit
 * keeps its head and ends in "~" and a keyed digest of the whole, so two
 * Call-IDs are one key only when they are one Call-ID. Returns buf ("" when
 * absent). */
#define SIPMSG_CALLID_MAX 256
#define SIPMSG_CALLID_DIGEST 16 /* hex digits ending a Call-ID too long to keep */
const char *sipmsg_call_id_full(const osip_message_t *msg, char buf[SIPMSG_CALLID_MAX]);

/* Whether a parameter value is one whole quoted-string, its quotes balanced
 * (RFC 3261 25.1, quoted-pairs allowed). libosip2 keeps an unbalanced one
 * as it came, and the rest of the line with it: written back after what
 * sipnatd changes, it reads as other parameters or headers. */
bool sipmsg_quoted_string_ok(const char *v);

#endif
