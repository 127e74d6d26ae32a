/*
 * sip_uri: SIP URIs compared by value (RFC 3261 19.1.4), for the checks that
 * must not depend on how a stack spelled a URI: the digest uri= against the
 * Request-URI (RFC 7616 3.4.6, RFC 2617 3.2.2.5) in the authenticate step.
 */
#ifndef SIPNATD_SIP_URI_H
#define SIPNATD_SIP_URI_H

#include <osipparser2/osip_parser.h>
#include <stdbool.h>

/*
 * Do a and b name the same resource? RFC 3261 19.1.4, with one relaxation:
 * a component at its default value equals the component left out (port 5060
 * for sip, 5061 for sips; transport=udp for sip, tcp for sips), because
 * phones differ in that and it names the same thing. So: the schemes
 * (case-insensitive; sip and sips differ), user and password (case-sensitive,
 * %-escapes decoded), host (case-insensitive), port; the user, ttl, method,
 * maddr and transport parameters must agree when either has them; any other
 * parameter must agree when both have it; headers must be the same set. URIs
 * of other schemes compare as text after the scheme. NULL never matches.
 */
bool sip_uri_same(const osip_uri_t *a, const osip_uri_t *b);

/* The same with a given as text (a digest uri= value); false when it does
 * not parse. */
bool sip_uri_text_same(const char *a, const osip_uri_t *b);

#endif
