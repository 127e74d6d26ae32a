/*
 * sip_invariants: what must hold for a message sipnatd puts on the wire,
 * whatever came in (R45, R46; design section 13). Checked by the SIP path
 * harness (sip_path.c) after every run, so the fuzzer and the torture test
 * both find a broken one.
 *
 *  - a sent message parses again, when what came in survives libosip2's own
 *    write-and-read (garbage in is garbage out, not a fault of a rewrite);
 *  - its Content-Length is its body's length;
 *  - a response to a forwarded request finds sipnatd's Via (branch pop) and
 *    gets back the Vias the request came with;
 *  - a Contact sipnatd masqueraded restores to where it pointed.
 */
#ifndef SIPNATD_TEST_SIP_INVARIANTS_H
#define SIPNATD_TEST_SIP_INVARIANTS_H

#include <stdbool.h>
#include <stddef.h>

/* Check the sent bytes of a forwarded request or response. in/in_len is the
 * datagram that came in; vias_in the number of Vias it had; masqueraded says
 * the message crossed between the LAN and the Internet (its Contact was
 * sealed); request says what was sent is a request. Returns NULL, or a
 * static text naming the broken invariant. */
const char *sip_invariants_check_forwarded(const char *in, size_t in_len, const char *out,
					   size_t out_len, size_t vias_in, bool masqueraded,
					   bool request);

/* The same for an answer sipnatd gave itself: it parses and its
 * Content-Length is right. */
const char *sip_invariants_check_answer(const char *in, size_t in_len, const char *out,
					size_t out_len);

#endif
