/*
 * sip_frame: where one SIP message ends in a byte stream (RFC 3261 18.3).
 * Over TCP and TLS nothing marks a message's end but its Content-Length,
 * which is therefore mandatory there; between messages a CRLF is noise to
 * skip (RFC 3261 7.5) and a CRLFCRLF is a keep-alive ping that wants a CRLF
 * pong (RFC 5626 4.4.1). Pure functions over a buffer: sip_stream.c feeds
 * them what it has read so far.
 */
#ifndef SIPNATD_SIP_FRAME_H
#define SIPNATD_SIP_FRAME_H

#include <stdbool.h>
#include <stddef.h>

enum sip_frame_kind {
	SIP_FRAME_MORE,     /* not enough bytes yet */
	SIP_FRAME_MESSAGE,  /* a whole message of len bytes starts the buffer */
	SIP_FRAME_PING,     /* a CRLFCRLF ping of len (4) bytes: answer CRLF */
	SIP_FRAME_SKIP,     /* len bytes of CRLF between messages: drop them */
	SIP_FRAME_ERROR,    /* the stream cannot be framed any more: close it */
};

struct sip_frame {
	enum sip_frame_kind kind;
	size_t len;         /* MESSAGE, PING, SKIP: bytes to take off the buffer */
	size_t need;        /* MORE: the whole message's length once the header
			     * section is in (0 while it is not) */
	bool blank;         /* MORE: what is buffered is only CRLF (an idle
			     * keep-alive, not a message begun) */
	const char *why;    /* ERROR: a short reason for the debug log */
};

/* Frame the start of buf[0..len). The header section (up to and including
 * its empty line) may not exceed max_header bytes, nor a message max_message
 * bytes. Errors: header section too long, no Content-Length, one that is not
 * a decimal number (negative included), two that disagree, a message over
 * max_message. Never reads past len. */
void sip_frame_next(const char *buf, size_t len, size_t max_header, size_t max_message,
		    struct sip_frame *f);

#endif
