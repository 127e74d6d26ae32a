/*
 * netaddr: IPv4 address helpers shared by the SIP and RTP paths.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* n (< 100000) in decimal at out; returns the length. */
static size_t put_decimal(unsigned n, char *out)
{
	char tmp[8];
	size_t k = 0, len;

	do {
		tmp[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	len = k;
	while (k)
		*out++ = tmp[--k];
	return len;
}

size_t netaddr_ipv4_str(struct in_addr ip, char buf[16])
{
	const uint8_t *b = (const uint8_t *)&ip.s_addr; /* network order */
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		if (i)
			buf[n++] = '.';
		n += put_decimal(b[i], buf + n);
	}
	buf[n] = '\0';
	return n;
}

size_t netaddr_port_str(uint16_t port, char buf[6])
{
	size_t n = put_decimal(port, buf);

	buf[n] = '\0';
	return n;
}

const char *netaddr_format(const struct sockaddr_in *addr, char buf[NETADDR_STRLEN])
{
	/* no stdio: the SIP path formats an address for every request */
	size_t n = netaddr_ipv4_str(addr->sin_addr, buf);

	buf[n++] = ':';
	netaddr_port_str(ntohs(addr->sin_port), buf + n);
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
