/*
 * netaddr: address helpers shared by the SIP and RTP paths; the IPv4 API on
 * sockaddr_in, and struct netaddr for both families (issue 20). Only this
 * file and the socket layer know how the two families are laid out.
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

/* The dotted decimal inet_pton(AF_INET) accepts, read without it (a third
 * of the cost, and the SIP path reads several addresses per message):
 * exactly four parts of one to three digits, each at most 255, no leading
 * zero, nothing before or after. Whatever this refuses is left to inet_pton,
 * so it only ever takes a shortcut, never a different answer. */
static bool quad_parse(const char *text, struct in_addr *out)
{
	uint8_t b[4];

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;
		if (part && *text++ != '.')
			return false;
		for (; *text >= '0' && *text <= '9'; text++, digits++) {
			if (digits == 3 || (digits && v == 0))
				return false;
			v = v * 10 + (unsigned)(*text - '0');
		}
		if (!digits || v > 255)
			return false;
		b[part] = (uint8_t)v;
	}
	if (*text)
		return false;
	memcpy(&out->s_addr, b, 4); /* network order */
	return true;
}

bool netaddr_parse_ipv4(const char *text, struct in_addr *out)
{
	/* inet_pton accepts exactly four decimal parts, no leading junk. */
	return text && (quad_parse(text, out) || inet_pton(AF_INET, text, out) == 1);
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

/* ---- family-neutral addresses ---- */

static const uint8_t v4mapped_head[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* An IPv6 address into out, v4-mapped ones as IPv4. */
static void netaddr_set_v6(struct netaddr *out, const struct in6_addr *v6, uint32_t scope_id)
{
	if (memcmp(v6->s6_addr, v4mapped_head, sizeof(v4mapped_head)) == 0) {
		out->family = AF_INET;
		memcpy(&out->ip.v4, v6->s6_addr + 12, 4);
		return;
	}
	out->family = AF_INET6;
	out->ip.v6 = *v6;
	out->scope_id = scope_id;
}

bool netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct netaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		*out = netaddr_from_in(&sin);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		netaddr_set_v6(out, &sin6.sin6_addr, sin6.sin6_scope_id);
		out->port = ntohs(sin6.sin6_port);
		return true;
	}
	return false;
}

struct netaddr netaddr_from_in(const struct sockaddr_in *sin)
{
	struct netaddr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.ip.v4 = sin->sin_addr;
	a.port = ntohs(sin->sin_port);
	return a;
}

socklen_t netaddr_to_sockaddr(const struct netaddr *addr, int sock_family,
			      struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (addr->family == AF_INET && sock_family == AF_INET) {
		struct sockaddr_in sin = netaddr_make(addr->ip.v4, addr->port);
		memcpy(out, &sin, sizeof(sin));
		return sizeof(sin);
	}
	if ((addr->family == AF_INET || addr->family == AF_INET6) && sock_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(addr->port);
		if (addr->family == AF_INET) {
			memcpy(sin6.sin6_addr.s6_addr, v4mapped_head, sizeof(v4mapped_head));
			memcpy(sin6.sin6_addr.s6_addr + 12, &addr->ip.v4, 4);
		} else {
			sin6.sin6_addr = addr->ip.v6;
			sin6.sin6_scope_id = addr->scope_id;
		}
		memcpy(out, &sin6, sizeof(sin6));
		return sizeof(sin6);
	}
	return 0;
}

bool netaddr_to_in(const struct netaddr *addr, struct sockaddr_in *out)
{
	if (addr->family != AF_INET)
		return false;
	*out = netaddr_make(addr->ip.v4, addr->port);
	return true;
}

bool netaddr_parse_ip(const char *text, struct netaddr *out)
{
	char bare[INET6_ADDRSTRLEN];
	struct in6_addr v6;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!text)
		return false;
	len = strlen(text);
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		/* an IPv6reference holds IPv6 only: "[192.0.2.1]" is no host */
		if (len - 2 >= sizeof(bare))
			return false;
		memcpy(bare, text + 1, len - 2);
		bare[len - 2] = '\0';
		if (inet_pton(AF_INET6, bare, &v6) != 1)
			return false;
		netaddr_set_v6(out, &v6, 0);
		return true;
	}
	if (quad_parse(text, &out->ip.v4) || inet_pton(AF_INET, text, &out->ip.v4) == 1) {
		out->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, &v6) == 1) {
		netaddr_set_v6(out, &v6, 0);
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

bool netaddr_parse(const char *text, struct netaddr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port = NULL;
	size_t hlen;
	uint16_t p = 0;

	memset(out, 0, sizeof(*out));
	if (!text)
		return false;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end)
			return false;
		hlen = (size_t)(end - text) + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return false;
	} else {
		colon = strchr(text, ':');
		/* one colon: IPv4 with a port; more: a bare IPv6 literal */
		if (colon && !strchr(colon + 1, ':')) {
			hlen = (size_t)(colon - text);
			port = colon + 1;
		} else {
			hlen = strlen(text);
		}
	}
	if (hlen >= sizeof(host))
		return false;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (port && !netaddr_parse_port(port, &p))
		return false;
	if (!netaddr_parse_ip(host, out))
		return false;
	out->port = p;
	return true;
}

const char *netaddr_ip_text(const struct netaddr *addr, char buf[NETADDR_HOST_MAX])
{
	/* IPv4 without inet_ntop (about ten times the cost, and the SIP path
	 * prints the source of every message); the same dotted decimal */
	if (addr->family == AF_INET)
		netaddr_ipv4_str(addr->ip.v4, buf);
	else if (addr->family != AF_INET6 || !inet_ntop(AF_INET6, &addr->ip.v6, buf, NETADDR_HOST_MAX))
		strcpy(buf, "-");
	return buf;
}

const char *netaddr_sip_host(const struct netaddr *addr, char buf[NETADDR_HOST_MAX])
{
	size_t len;

	if (addr->family != AF_INET6)
		return netaddr_ip_text(addr, buf);
	/* "[" + at most INET6_ADDRSTRLEN - 1 characters + "]" + NUL */
	buf[0] = '[';
	if (!inet_ntop(AF_INET6, &addr->ip.v6, buf + 1, INET6_ADDRSTRLEN)) {
		snprintf(buf, NETADDR_HOST_MAX, "-");
		return buf;
	}
	len = strlen(buf);
	buf[len] = ']';
	buf[len + 1] = '\0';
	return buf;
}

const char *netaddr_print(const struct netaddr *addr, char buf[NETADDR_TEXT_MAX])
{
	char host[NETADDR_HOST_MAX];

	if (addr->family != AF_INET && addr->family != AF_INET6)
		snprintf(buf, NETADDR_TEXT_MAX, "-");
	else if (addr->port == 0)
		snprintf(buf, NETADDR_TEXT_MAX, "%s", netaddr_ip_text(addr, host));
	else
		snprintf(buf, NETADDR_TEXT_MAX, "%s:%u", netaddr_sip_host(addr, host),
			 (unsigned)addr->port);
	return buf;
}

bool netaddr_same_ip(const struct netaddr *a, const struct netaddr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->ip.v4.s_addr == b->ip.v4.s_addr;
	if (a->family == AF_INET6)
		return memcmp(&a->ip.v6, &b->ip.v6, sizeof(a->ip.v6)) == 0;
	return true; /* two "no address" values */
}

bool netaddr_same(const struct netaddr *a, const struct netaddr *b)
{
	return netaddr_same_ip(a, b) && a->port == b->port &&
	       (a->family != AF_INET6 || a->scope_id == b->scope_id);
}

bool netaddr_is_specified(const struct netaddr *addr)
{
	static const struct in6_addr any6; /* :: */

	if (addr->family == AF_INET)
		return addr->ip.v4.s_addr != htonl(INADDR_ANY);
	if (addr->family == AF_INET6)
		return memcmp(&addr->ip.v6, &any6, sizeof(any6)) != 0;
	return false;
}

/* The bytes of addr's address and how many bits they hold. */
static const uint8_t *netaddr_bytes(const struct netaddr *addr, unsigned *bits)
{
	if (addr->family == AF_INET) {
		*bits = 32;
		return (const uint8_t *)&addr->ip.v4;
	}
	if (addr->family == AF_INET6) {
		*bits = 128;
		return addr->ip.v6.s6_addr;
	}
	*bits = 0;
	return NULL;
}

/* Clear every bit of addr's address after the first len. */
static void netaddr_clear_host_bits(struct netaddr *addr, unsigned len)
{
	unsigned bits;
	uint8_t *b = (uint8_t *)netaddr_bytes(addr, &bits);

	for (unsigned i = 0; b && i < bits / 8; i++) {
		if (len >= 8 * (i + 1))
			continue;
		unsigned keep = len > 8 * i ? len - 8 * i : 0;
		b[i] &= (uint8_t)(0xff00u >> keep);
	}
}

struct netaddr_prefix netaddr_prefix_of(const struct netaddr *addr, unsigned len)
{
	struct netaddr_prefix p;
	unsigned bits;

	memset(&p, 0, sizeof(p));
	if (!netaddr_bytes(addr, &bits))
		return p;
	p.net.family = addr->family;
	p.net.ip = addr->ip;
	p.len = len > bits ? bits : len;
	netaddr_clear_host_bits(&p.net, p.len);
	return p;
}

bool netaddr_prefix_match(const struct netaddr_prefix *prefix, const struct netaddr *addr)
{
	if (addr->family == 0 || addr->family != prefix->net.family)
		return false;
	struct netaddr_prefix of = netaddr_prefix_of(addr, prefix->len);
	return netaddr_same_ip(&of.net, &prefix->net);
}

/* A dotted-quad netmask as a prefix length; false unless contiguous. */
static bool netaddr_mask_length(const char *text, unsigned *len)
{
	struct in_addr m;
	uint32_t mask, inverse;

	if (!netaddr_parse_ipv4(text, &m))
		return false;
	mask = ntohl(m.s_addr);
	/* ones then zeros: the inverse is 0..01..1, one below a power of two */
	inverse = ~mask;
	if (inverse & (inverse + 1))
		return false;
	*len = 0;
	while (mask) {
		(*len)++;
		mask <<= 1;
	}
	return true;
}

bool netaddr_prefix_parse(const char *text, struct netaddr_prefix *out)
{
	char addr_text[INET6_ADDRSTRLEN];
	const char *slash = text ? strchr(text, '/') : NULL;
	struct netaddr addr;
	struct in6_addr v6;
	unsigned len = 0, width;
	bool mapped;

	memset(out, 0, sizeof(*out));
	if (!slash || (size_t)(slash - text) >= sizeof(addr_text))
		return false;
	memcpy(addr_text, text, (size_t)(slash - text));
	addr_text[slash - text] = '\0';
	/* a bare literal only: brackets belong to SIP, not to a network */
	if (addr_text[0] == '[' || !netaddr_parse_ip(addr_text, &addr))
		return false;
	mapped = addr.family == AF_INET && inet_pton(AF_INET6, addr_text, &v6) == 1;
	width = addr.family == AF_INET && !mapped ? 32 : 128;
	if (addr.family == AF_INET && !mapped && strchr(slash + 1, '.')) {
		if (!netaddr_mask_length(slash + 1, &len))
			return false;
	} else {
		const char *p = slash + 1;
		/* as many digits as the widest length has: /32 or /128 */
		if (!*p || strlen(p) > (width == 32 ? 2u : 3u))
			return false;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			len = len * 10 + (unsigned)(*p - '0');
		}
		if (len > width)
			return false;
	}
	if (mapped) {
		/* ::ffff:a.b.c.d/n covers IPv4 only from /96 on */
		if (len < 96)
			return false;
		len -= 96;
	}
	*out = netaddr_prefix_of(&addr, len);
	return true;
}

const char *netaddr_prefix_print(const struct netaddr_prefix *prefix, char buf[NETADDR_TEXT_MAX])
{
	char ip[NETADDR_HOST_MAX];

	snprintf(buf, NETADDR_TEXT_MAX, "%s/%u", netaddr_ip_text(&prefix->net, ip), prefix->len);
	return buf;
}
