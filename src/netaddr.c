/*
 * netaddr: IPv4 address helpers shared by the SIP and RTP paths.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char *netaddr_format(const struct sockaddr_in *addr, char buf[NETADDR_STRLEN])
{
	char ip[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip)))
		strcpy(ip, "?");
	snprintf(buf, NETADDR_STRLEN, "%s:%u", ip, ntohs(addr->sin_port));
	return buf;
}

bool netaddr_parse_ipv4(const char *text, struct in_addr *out)
{
	/* inet_pton accepts exactly four decimal parts, no leading junk. */
	return text && inet_pton(AF_INET, text, out) == 1;
}

bool netaddr_parse_port(const char *text, uint16_t *out)
{
	unsigned long v = 0;

	if (!text || !*text)
		return false;
	for (const char *p = text; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return false;
	}
	if (v == 0)
		return false;
	*out = (uint16_t)v;
	return true;
}

struct sockaddr_in netaddr_make(struct in_addr ip, uint16_t port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr = ip;
	sa.sin_port = htons(port);
	return sa;
}

bool netaddr_equal(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}
