/*
 * sip_splice: write a forwarded message as the bytes that came in, with only
 * what sipnatd changed written anew (issue 13: a proxy need not re-serialise
 * what it does not change).
 *
 * libosip2 stays the parser and writes every header sipnatd rewrites: the
 * Vias, Contacts, Routes, Record-Routes and credentials, the start line when
 * its URI changed, From, To, Call-ID or CSeq when one of their values changed,
 * an unknown header when a header of its name was changed, removed or added,
 * the body and Content-Length. Everything else goes out as it was received,
 * spelling, order and all.
 *
 * Whether a header changed is found by its values, not by trusting callers to
 * say so: sip_splice_index takes a copy of the values of the headers it would
 * pass on unchanged right after parsing, and sip_splice_write compares them with
 * what the message says at the time of writing. A message the index cannot
 * describe (folded or bare-LF header lines, odd names, more headers or longer
 * values than it keeps, several bodies) is not indexed, and the caller writes
 * it the old way (sipmsg_serialize's full libosip2 serialisation).
 */
#ifndef SIPNATD_SIP_SPLICE_H
#define SIPNATD_SIP_SPLICE_H

#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIP_SPLICE_LINES 64   /* header lines of one message */
#define SIP_SPLICE_ARENA 4096 /* bytes of copied values */

struct sip_splice_line {
	uint16_t off, len;  /* the line in the datagram, without its CRLF */
	uint8_t kind;       /* enum in sip_splice.c */
	uint8_t name_len;
	bool skipped;       /* not handed to libosip2: goes out as it came */
};

struct sip_splice_generic {
	uint16_t name, name_len, value, value_len; /* in the arena */
	bool null_value;
};

/* The index of one received message. It points into the datagram, which must
 * outlive it; it lives as long as the message is being handled (it is on
 * the dispatcher's stack) and is never copied. */
struct sip_splice {
	const char *buf;
	uint16_t len, body_at;       /* the datagram's length; where its body starts */
	uint16_t start_len;          /* the start line, without its CRLF */
	uint16_t nlines, nskipped;
	struct sip_splice_line line[SIP_SPLICE_LINES];
	bool never_raw_line[SIP_SPLICE_LINES];
	uint16_t ngeneric;
	struct sip_splice_generic generic[SIP_SPLICE_LINES];
	/* Vias, Routes, Record-Routes and Contacts: each line's entry snapped,
	 * when every line of the kind holds one */
	struct {
		uint16_t first, count; /* in entry[] */
		bool whole;            /* written anew at every send */
	} list[4];
	struct {
		uint16_t at, len, line;
	} entry[SIP_SPLICE_LINES];
	uint16_t nentries;
	uint16_t start_snap, start_snap_len; /* values snapped, in the arena */
	uint16_t snap[4], snap_len[4];       /* From, To, Call-ID, CSeq */
	bool never_raw[4];                   /* a line that must be written anew */
	int lists[12];                       /* sizes of the lists passed on as they came */
	const void *content_type, *mime_version;
	uint16_t used;
	char arena[SIP_SPLICE_ARENA];
};

/* Parsing only what sipnatd reads: index the header lines of the datagram
 * (false: it cannot be spliced; parse it whole with sipmsg_parse), then hand
 * libosip2 sip_splice_parsed_text (the start line, the lines of the headers
 * sipnatd reads, the body: at most len bytes into out), then snapshot the
 * parsed message (false: parse the whole datagram instead, and do not
 * attach). With skip_unread false every line is parsed (sip_splice_index). */
bool sip_splice_lines(struct sip_splice *s, const char *buf, size_t len, bool skip_unread);
size_t sip_splice_parsed_text(const struct sip_splice *s, char *out);
bool sip_splice_snapshot(struct sip_splice *s, const osip_message_t *msg);
/* Whether the SIP path reads the header called name (libosip2 parses it). */
bool sip_splice_reads(const char *name, size_t len);

/* Index msg, just parsed whole from the first len bytes of buf. Returns false
 * when the message cannot be spliced (then it is written in full). */
bool sip_splice_index(struct sip_splice *s, const char *buf, size_t len, const osip_message_t *msg);

/* The lines libosip2 did not see, added to msg as headers of its own, so that
 * a full serialisation loses none. 0, or -1 out of memory. */
int sip_splice_restore(const struct sip_splice *s, osip_message_t *msg);

/* Write msg as it is now, splicing from s. *out is a new buffer (free with
 * osip_free). Returns 0, or -1 when the message changed in a way the
 * splice does not write (then nothing is allocated and the caller writes it
 * in full). */
int sip_splice_write(const struct sip_splice *s, osip_message_t *msg, char **out, size_t *len);

/* The index of msg, if it has one: sipmsg_serialize asks. */
void sip_splice_attach(osip_message_t *msg, struct sip_splice *s);
struct sip_splice *sip_splice_of(const osip_message_t *msg);
/* Before msg outlives the datagram (a request waiting for DNS), or is to be
 * written in full: the index is dropped and the lines libosip2 did not see
 * are restored into msg. 0, or -1 out of memory (some may be lost). */
int sip_splice_detach(osip_message_t *msg);

#endif
