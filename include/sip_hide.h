/*
 * sip_hide: what of the LAN a message would still show the Internet after the
 * Via, Contact and SDP rewrites, taken out at the edge (issue 19: "no LAN
 * address reaches the phone").
 *
 * The PBX writes its own LAN addresses into From and To (Dial to
 * sip:alice@<sipnatd's LAN address>) and chan_sip into Call-ID
 * (`...@192.168.0.20:5060`). A proxy may not change what identifies a dialog,
 * but since RFC 3261 that is the Call-ID and the tags, not the URIs of From
 * and To (12.2.1.1): a LAN host there is replaced by the external address on
 * the wire. A Call-ID naming a LAN address is sealed (AES-SIV, deterministic,
 * so a retransmission and every request of the dialog get the same one) and
 * opened again when the Internet sends it back, so that the PBX and every
 * table of sipnatd only ever see the PBX's own Call-ID.
 *
 * The rewrite is done on the message just before it is written out and then
 * undone, so that whatever runs after sending sees the message as it was.
 */
#ifndef SIPNATD_SIP_HIDE_H
#define SIPNATD_SIP_HIDE_H

#include "conf.h"
#include "netaddr.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stdint.h>

#define HIDE_CALL_ID_PREFIX "snc"

/* What sip_hide_for_internet replaced, to be put back by sip_hide_undo. */
struct sip_hide_undo {
	char *call_id_number, *call_id_host; /* the PBX's, while the sealed one is in place */
	struct hide_uri {
		osip_uri_t *uri;             /* NULL: nothing replaced */
		char *host, *port;           /* the LAN's values */
	} from, to;
};

/* Replace LAN hosts (local per conf, either family) in the From and To URIs
 * by external (of the family of the leg the message goes on; and a port
 * there by `port`), and seal a Call-ID whose host is a LAN address. Returns
 * 0 (also when there was nothing to hide) or -1 when out of memory or
 * external is no address, in which case nothing is left replaced. */
int sip_hide_for_internet(osip_message_t *msg, const struct conf *conf,
			  const struct netaddr *external, uint16_t port, struct sip_hide_undo *undo);

/* Put back what sip_hide_for_internet replaced and free the replacements. */
void sip_hide_undo(osip_message_t *msg, struct sip_hide_undo *undo);

/* A Call-ID sealed by this process is replaced by the PBX's own. Returns
 * true when it was one. */
bool sip_hide_restore_call_id(osip_message_t *msg);

#endif
