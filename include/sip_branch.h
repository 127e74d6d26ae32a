/*
 * sip_branch: sipnatd's own Via branch (RFC 3261 8.1.1.7, 16.6 step 8, 16.11).
 *
 * Stateless and self-verifying: the branch is an HMAC of the request's top Via
 * as sipnatd received and stamped it, so a retransmission, the matching CANCEL
 * and the ACK of a non-2xx get the same branch, and a response's top Via can be
 * checked to be ours without any table. When a request leaves the LAN for the
 * Internet the LAN Vias are sealed inside the branch instead of being shown
 * (design section 5), and put back on the responses.
 *
 * The HMAC covers the values of that Via, never its spelling (RFC 3261 7.3.1,
 * 20.42; issue 19: chan_pjsip writes every Via back in its own parameter
 * order): protocol version and transport, sent-by host (case-insensitive; IP
 * literals by value) and port (absent = the transport's default), the branch
 * as written, and the received and rport values that route the response. So a
 * response is accepted however an element re-ordered, re-cased, re-spaced,
 * compacted or comma-joined its Vias, and refused when any of those values was
 * changed, or when our Via was forged or moved onto another stack: nobody
 * without the key can make a response that sipnatd sends to an address of the
 * sender's choosing.
 */
#ifndef SIPNATD_SIP_BRANCH_H
#define SIPNATD_SIP_BRANCH_H

#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stddef.h>

#define BRANCH_MAX 1400

/* Compute sipnatd's branch for req (its Vias already stamped). With hide, the
 * whole Via stack is sealed into the branch and *hidden is set: the caller then
 * removes those Vias before adding its own. A stack too long to seal is left
 * visible (*hidden false). Returns 0, or -1 when req has no Via. */
int sip_branch_make(const osip_message_t *req, bool hide, char *out, size_t out_cap, bool *hidden);

/* The branch of a request sipnatd makes itself (qualify OPTIONS): an HMAC of
 * its Call-ID and CSeq number, so its responses verify without a table. */
int sip_branch_make_own(const char *call_id, const char *cseq_number, char *out, size_t out_cap);

/* For a response: if its top Via is sipnatd's, remove it (restoring sealed
 * Vias in its place) and return true; otherwise leave it and return false
 * (a response that is not ours is never forwarded: R6). */
bool sip_branch_pop_ours(osip_message_t *resp);

/* True when some Via of req is sipnatd's own: the request has been here
 * before (a loop, answered 482). */
bool sip_branch_seen_before(const osip_message_t *req);

#endif
