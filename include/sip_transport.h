/*
 * sip_transport: the transports a SIP message travels on (RFC 3261 18), as
 * one small value every module can carry beside an address.
 */
#ifndef SIPNATD_SIP_TRANSPORT_H
#define SIPNATD_SIP_TRANSPORT_H

enum sip_transport {
	SIP_TRANSPORT_UDP,
	SIP_TRANSPORT_TCP,
	SIP_TRANSPORT_TLS,
};

/* "UDP", "TCP", "TLS": the Via sent-protocol's transport (RFC 3261 20.42). */
static inline const char *sip_transport_via_name(enum sip_transport t)
{
	return t == SIP_TRANSPORT_TLS ? "TLS" : t == SIP_TRANSPORT_TCP ? "TCP" : "UDP";
}

/* "udp", "tcp", "tls": the URI's transport parameter (RFC 3261 19.1.1). */
static inline const char *sip_transport_param(enum sip_transport t)
{
	return t == SIP_TRANSPORT_TLS ? "tls" : t == SIP_TRANSPORT_TCP ? "tcp" : "udp";
}

#endif
