/*
 * sip_reply: responses that sipnatd answers itself (OPTIONS to sipnatd, 400,
 * 483, 503, and later the authentication answers). Every such response has
 * the same header set in the same order, whatever the request said, so that
 * nothing about sipnatd's state shows in its form (R28, R31).
 */
#ifndef SIPNATD_SIP_REPLY_H
#define SIPNATD_SIP_REPLY_H

#include <osipparser2/osip_parser.h>

/* The product name, without a version: a version tells a scanner which
 * exploits to try (general.useragent's default). */
#define SIP_SERVER_NAME "sipnatd"

/* The methods sipnatd carries: the one Allow list of the daemon, in every
 * answer to an OPTIONS whoever gives it. */
#define SIP_ALLOW_METHODS \
	"INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, SUBSCRIBE, NOTIFY, REFER, UPDATE, PRACK"

/* The Server value of every response built here from now on (general.useragent;
 * copied; NULL or too long = SIP_SERVER_NAME). */
void sip_reply_set_server(const char *name);

/* A new response to req (caller frees with osip_message_free), or NULL when
 * out of memory. Via (all, as stamped), From, To (a To tag is added to any
 * non-100 answer that lacks one; the same request always gets the same tag),
 * Call-ID, CSeq, then Server; no body. reason NULL = the RFC 3261 phrase. */
osip_message_t *sip_reply_build(const osip_message_t *req, int status, const char *reason);

/* The RFC 3261 reason phrase of a status code ("Not Found"); "Unknown" if none. */
const char *sip_reply_reason(int status);

/* Add a header "name: value" to msg. 0 or -1. */
int sip_reply_add_header(osip_message_t *msg, const char *name, const char *value);

#endif
