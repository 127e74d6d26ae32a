/*
 * conf: turns the configuration file (design section 3) into one immutable
 * struct conf. It runs at start and on every reload, before anything else
 * looks at the file; a reload swaps the result in only if this returned one.
 *
 * libconfig does the syntax. Everything else is ours: each group is a table of
 * keys (type, default, range, validator), walked once; then the few rules that
 * tie keys together. Every message is "FILE:LINE: group.key: why", the line
 * being the key's own, or its group's when the key is missing. Peer keys are
 * named "peers.NAME.key" once the peer has a valid, unique name, and
 * "peers[INDEX].key" (0-based, as libconfig counts) before that.
 */
#include "conf.h"

#include "tls_context.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SIP_DEFAULT_PORT 5060
#define SIPS_DEFAULT_PORT 5061  /* RFC 3261 26.2.2: sips: and TLS */

/* One load in progress: where messages go and how keys are named in them. */
struct load {
	const char *name;               /* FILE in messages, as the caller gave it */
	char *err;
	const config_setting_t *root;
	char prefix[128];               /* "general", "peers.alice", "peers[2]" */
};

enum key_kind {
	K_INT,          /* int field, within [min, max] */
	K_PORT,         /* uint16_t field, within [min, max] */
	K_BOOL,         /* bool field */
	K_STRING,       /* char * field, a copy of the text once check() accepts it */
	K_PARSED,       /* a string that parse() turns into fields of obj */
	K_CUSTOM,       /* any setting, handled by parse_setting() */
};

struct key {
	const char *name;
	enum key_kind kind;
	size_t offset;                  /* K_INT, K_PORT, K_BOOL, K_STRING */
	bool required;
	long long def;                  /* default of K_INT, K_PORT, K_BOOL */
	const char *def_text;           /* default of K_STRING, K_PARSED; NULL: none */
	long long min, max;
	/* These return NULL when the text is good, else why it is not. */
	const char *(*check)(const char *text);
	const char *(*parse)(const char *text, void *obj);
	bool (*parse_setting)(struct load *ld, const config_setting_t *s, void *obj);
};

#define C(field) offsetof(struct conf, field)
#define P(field) offsetof(struct conf_peer, field)
#define INT_KEY(n, off, d, lo, hi) \
	{ .name = n, .kind = K_INT, .offset = off, .def = d, .min = lo, .max = hi }
#define PORT_KEY(n, off, d) \
	{ .name = n, .kind = K_PORT, .offset = off, .def = d, .min = 1, .max = 65535 }
#define BOOL_KEY(n, off, d) \
	{ .name = n, .kind = K_BOOL, .offset = off, .def = d }
#define STRING_KEY(n, off, d, fn) \
	{ .name = n, .kind = K_STRING, .offset = off, .def_text = d, .check = fn }
#define PARSED_KEY(n, d, fn) \
	{ .name = n, .kind = K_PARSED, .def_text = d, .parse = fn }

static bool fail(struct load *ld, const config_setting_t *at, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool fail(struct load *ld, const config_setting_t *at, const char *key,
		 const char *fmt, ...)
{
	const char *file = at ? config_setting_source_file(at) : NULL;
	unsigned line = at ? config_setting_source_line(at) : 0;
	va_list ap;
	int n;

	/* Settings of the main file have no source file when it was read from a
	 * stream or a string; only @include'd ones do. */
	if (!file)
		file = ld->name;
	/* The root setting has line 0: "the start of the file". */
	if (line == 0)
		line = 1;
	n = snprintf(ld->err, CONF_ERR_MAX, "%s:%u: %s%s%s: ", file, line, ld->prefix,
		     ld->prefix[0] && key ? "." : "", key ? key : "");
	if (n < 0 || n >= CONF_ERR_MAX)
		return false;
	va_start(ap, fmt);
	vsnprintf(ld->err + n, CONF_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

/* The setting of key in group, or what to point at when it is absent. */
static const config_setting_t *member(const struct load *ld, const config_setting_t *group,
				      const char *key)
{
	const config_setting_t *s = group ? config_setting_get_member(group, key) : NULL;

	if (s)
		return s;
	return group ? group : ld->root;
}

static bool given(const config_setting_t *group, const char *key)
{
	return group && config_setting_get_member(group, key);
}

/* ---- text validators and parsers ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1..max_digits decimal digits and nothing else, within [min, max]. */
static bool parse_decimal(const char *text, int max_digits, unsigned min, unsigned max,
			  unsigned *out)
{
	unsigned v = 0;
	int n;

	for (n = 0; is_digit(text[n]); n++) {
		if (n == max_digits)
			return false;
		v = v * 10 + (unsigned)(text[n] - '0');
	}
	if (n == 0 || text[n] != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* "host" or "host:port" into a host buffer and a port (5060 when absent). */
static bool split_host_port(const char *text, char *host, size_t size, uint16_t *port)
{
	const char *colon = strchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : strlen(text);
	unsigned v = SIP_DEFAULT_PORT;

	if (len == 0 || len >= size)
		return false;
	if (colon && !parse_decimal(colon + 1, 5, 1, 65535, &v))
		return false;
	memcpy(host, text, len);
	host[len] = '\0';
	*port = (uint16_t)v;
	return true;
}

static bool parse_ipv4(const char *text, struct in_addr *addr)
{
	return inet_pton(AF_INET, text, addr) == 1;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens. A name whose last label is all digits would read as an address
 * (RFC 1123 2.1), so it is refused: "999.1.1.1" is a typo, not a name. */
static const char *check_hostname(const char *text)
{
	const char *bad = "not a host name";
	size_t len = strlen(text), label = 0;
	bool numeric = true;
	const char *p;

	if (len == 0 || len > 253)
		return bad;
	for (p = text;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return bad;
			if (*p == '\0')
				break;
			label = 0;
			numeric = true;
			continue;
		}
		if (!is_alnum(*p) && (*p != '-' || label == 0))
			return bad;
		if (!is_digit(*p))
			numeric = false;
		label++;
	}
	return numeric ? bad : NULL;
}

/* The realm goes inside a quoted-string of WWW-Authenticate (RFC 3261 25.1);
 * refusing what would need escaping keeps every client's parser happy. */
static const char *check_realm(const char *text)
{
	const unsigned char *p;

	if (!*text)
		return "must not be empty";
	for (p = (const unsigned char *)text; *p; p++)
		if (*p == '"' || *p == '\\' || *p < 0x20 || *p == 0x7f)
			return "must not hold \", \\ or control characters";
	return NULL;
}

/* The daemon may chdir; a relative path would then point elsewhere. */
static const char *check_abs_path(const char *text)
{
	return text[0] == '/' ? NULL : "must be an absolute path";
}

/* A peer's name is the user part of SIP URIs and the digest username:
 * RFC 3261 unreserved characters and '+', nothing that needs escaping. */
static const char *check_peer_name(const char *text)
{
	const char *p;

	if (!*text)
		return "must not be empty";
	for (p = text; *p; p++)
		if (!is_alnum(*p) && !strchr("-_.!~*'+", *p))
			return "must hold only letters, digits and -_.!~*'+";
	return NULL;
}

/* Server and User-Agent values (RFC 3261 20.35, 20.41): one line of
 * printable text; a version in it is the admin's choice, not ours. */
static const char *check_useragent(const char *text)
{
	const unsigned char *p;

	if (!*text)
		return "must not be empty";
	if (strlen(text) > 100)
		return "must be at most 100 characters";
	for (p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return "must hold only printable ASCII characters";
	if (text[0] == ' ' || text[strlen(text) - 1] == ' ')
		return "must not start or end with a space";
	return NULL;
}

static const char *check_secret(const char *text)
{
	return *text ? NULL : "must not be empty";
}

/* An IPv6 literal as a configuration value: bare or in brackets. */
static bool parse_ipv6(const char *text, struct netaddr *out)
{
	return netaddr_parse_ip(text, out) && out->family == AF_INET6;
}

static const char *parse_bindaddr(const char *text, void *obj)
{
	struct conf *conf = obj;

	if (parse_ipv4(text, &conf->bindaddr))
		return NULL;
	/* "::" or an IPv6 address: that for IPv6, and IPv4 on 0.0.0.0 (the
	 * LAN and the PBX are IPv4); decision 1 of issue 20 */
	if (!parse_ipv6(text, &conf->bindaddr6))
		return "not an IPv4 or IPv6 address";
	conf->bindaddr.s_addr = htonl(INADDR_ANY);
	conf->has_bindaddr6 = true;
	return NULL;
}

/* "a.b.c.d", "x:x::x" or both, comma-separated ("203.0.113.1, 2001:db8::10"):
 * at most one address of each family, none unspecified. auto_ok lets "auto"
 * stand for the IPv4 one. */
static const char *parse_per_family(const char *text, bool auto_ok, bool *auto_out,
				    bool *has4, struct in_addr *v4, bool *has6, struct netaddr *v6)
{
	const char *bad = auto_ok ? "not an address: want an IPv4 address, \"auto\", an IPv6 address or one of each, comma-separated"
				  : "not an address: want an IPv4 address, an IPv6 address or one of each, comma-separated";
	const char *p = text;
	char item[INET6_ADDRSTRLEN + 3];

	for (;;) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, ", ");
		if (len == 0 || len >= sizeof(item))
			return bad;
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		struct netaddr a;
		if (auto_ok && strcmp(item, "auto") == 0) {
			if (*auto_out || *has4)
				return "at most one address of each family";
			*auto_out = true;
		} else if (netaddr_parse_ip(item, &a) && netaddr_is_specified(&a)) {
			if (a.family == AF_INET) {
				if (*has4 || (auto_out && *auto_out))
					return "at most one address of each family";
				*v4 = a.ip.v4;
				*has4 = true;
			} else {
				if (*has6)
					return "at most one address of each family";
				*v6 = a;
				*has6 = true;
			}
		} else {
			return bad;
		}
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return NULL;
		if (*p++ != ',')
			return bad;
	}
}

static const char *parse_externip(const char *text, void *obj)
{
	struct conf *conf = obj;

	if (strcmp(text, "auto") == 0) {
		conf->externip_auto = true; /* checked against portmap in check_general */
		return NULL;
	}
	if (parse_ipv4(text, &conf->externip)) {
		conf->has_externip = true;
		return NULL;
	}
	/* externip_auto is checked against portmap in check_general */
	return parse_per_family(text, true, &conf->externip_auto, &conf->has_externip, &conf->externip,
				&conf->has_externip6, &conf->externip6);
}

static const char *parse_portmap(const char *text, void *obj)
{
	struct conf *conf = obj;

	return conf_portmap_parse(text, &conf->portmap) ? NULL
		: "must be off, upnp, natpmp, pcp or auto";
}

static const char *parse_localaddr(const char *text, void *obj)
{
	struct conf *conf = obj;

	if (parse_ipv4(text, &conf->localaddr)) {
		conf->has_localaddr = true;
		return NULL;
	}
	return parse_per_family(text, false, NULL, &conf->has_localaddr, &conf->localaddr,
				&conf->has_localaddr6, &conf->localaddr6);
}

/* An IPv6 literal with an optional port: "x:x::x" (no port: the last
 * group belongs to the address), "[x:x::x]", "[x:x::x]:port". Port 0 when
 * absent. False for anything that is not IPv6. */
static bool parse_ipv6_port(const char *text, struct netaddr *out)
{
	return strchr(text, ':') && netaddr_parse(text, out) && out->family == AF_INET6;
}

static const char *parse_pbx(const char *text, void *obj)
{
	struct conf *conf = obj;
	char host[INET_ADDRSTRLEN];
	uint16_t port;

	if (parse_ipv6_port(text, &conf->pbxaddr)) {
		if (conf->pbxaddr.port == 0)
			conf->pbxaddr.port = SIP_DEFAULT_PORT;
		if (!netaddr_is_specified(&conf->pbxaddr))
			return "not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port";
		return NULL;
	}
	memset(&conf->pbxaddr, 0, sizeof(conf->pbxaddr));
	if (!split_host_port(text, host, sizeof(host), &port) ||
	    !parse_ipv4(host, &conf->pbxaddr.ip.v4))
		return "not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port";
	conf->pbxaddr.family = AF_INET;
	conf->pbxaddr.port = port;
	return NULL;
}

static const char *parse_peer_host(const char *text, void *obj)
{
	struct conf_peer *peer = obj;
	struct in_addr addr;
	struct netaddr a6;
	char host[254];
	uint16_t port;

	peer->port = SIP_DEFAULT_PORT;
	/* host stays NULL: the peer registers, its address comes from there */
	if (strcmp(text, "dynamic") == 0)
		return NULL;
	if (parse_ipv6_port(text, &a6)) {
		/* kept bare, as inet_ntop writes it: compared by value anyway */
		char ip[NETADDR_HOST_MAX];
		if (!netaddr_is_specified(&a6))
			return "must be \"dynamic\", a host name or an IP address, with an optional :port";
		peer->host = strdup(netaddr_ip_text(&a6, ip));
		if (!peer->host)
			return "out of memory";
		if (a6.port)
			peer->port = a6.port;
		return NULL;
	}
	if (!split_host_port(text, host, sizeof(host), &port) ||
	    (!parse_ipv4(host, &addr) && check_hostname(host)))
		return "must be \"dynamic\", a host name or an IP address, with an optional :port";
	peer->host = strdup(host);
	if (!peer->host)
		return "out of memory";
	peer->port = port;
	return NULL;
}

static const struct {
	const char *text;
	unsigned flags;
} nat_values[] = {
	{ "force_rport,comedia", CONF_NAT_FORCE_RPORT | CONF_NAT_COMEDIA },
	{ "comedia,force_rport", CONF_NAT_FORCE_RPORT | CONF_NAT_COMEDIA },
	{ "force_rport", CONF_NAT_FORCE_RPORT },
	{ "comedia", CONF_NAT_COMEDIA },
	{ "auto", CONF_NAT_AUTO },
	/* Asterisk 13+ spellings, so that a sip.conf line carries over as it is;
	 * auto_comedia is what every value does here (natdetect) */
	{ "auto_force_rport", CONF_NAT_AUTO },
	{ "auto_force_rport,auto_comedia", CONF_NAT_AUTO },
	{ "auto_comedia,auto_force_rport", CONF_NAT_AUTO },
	{ "auto_comedia", 0 },
	{ "no", 0 },
};

static const char *parse_peer_nat(const char *text, void *obj)
{
	struct conf_peer *peer = obj;
	size_t i;

	for (i = 0; i < sizeof(nat_values) / sizeof(nat_values[0]); i++) {
		if (strcmp(text, nat_values[i].text) == 0) {
			peer->nat = nat_values[i].flags;
			return NULL;
		}
	}
	return "must be \"force_rport,comedia\", \"force_rport\", \"comedia\", \"auto\" or \"no\"";
}

static const struct {
	const char *text;
	struct conf_digestalgs algs;
} digestalgs_values[] = {
	{ "md5", { { CONF_DIGEST_MD5 }, 1 } },
	{ "sha256", { { CONF_DIGEST_SHA256 }, 1 } },
	{ "sha256,md5", { { CONF_DIGEST_SHA256, CONF_DIGEST_MD5 }, 2 } },
	{ "md5,sha256", { { CONF_DIGEST_MD5, CONF_DIGEST_SHA256 }, 2 } },
};

bool conf_digestalgs_parse(const char *text, struct conf_digestalgs *algs)
{
	for (size_t i = 0; i < sizeof(digestalgs_values) / sizeof(digestalgs_values[0]); i++) {
		if (strcmp(text, digestalgs_values[i].text) == 0) {
			*algs = digestalgs_values[i].algs;
			return true;
		}
	}
	return false;
}

bool conf_digestalgs_has(const struct conf_digestalgs *algs, enum conf_digest_alg alg)
{
	for (size_t i = 0; i < algs->count; i++)
		if (algs->alg[i] == alg)
			return true;
	return false;
}

const struct conf_digestalgs *conf_peer_digestalgs(const struct conf *conf,
						   const struct conf_peer *peer)
{
	return peer && peer->digestalgs.count ? &peer->digestalgs : &conf->digestalgs;
}

#define DIGESTALGS_WANT "must be \"md5\", \"sha256\", \"sha256,md5\" or \"md5,sha256\""

static const char *parse_digestalgs(const char *text, void *obj)
{
	struct conf *conf = obj;

	return conf_digestalgs_parse(text, &conf->digestalgs) ? NULL : DIGESTALGS_WANT;
}

static const char *parse_peer_digestalgs(const char *text, void *obj)
{
	struct conf_peer *peer = obj;

	return conf_digestalgs_parse(text, &peer->digestalgs) ? NULL : DIGESTALGS_WANT;
}

static const char *parse_log_level(const char *text, void *obj)
{
	struct conf *conf = obj;

	if (!conf_log_level_parse(text, &conf->log_level))
		return "must be error, warning, notice, info or debug";
	return NULL;
}

/* general.transport: "udp", "udp,tcp", "udp,tcp,tls", ... (Asterisk's
 * transport= spelling, spaces allowed after commas). UDP is always there:
 * the PBX and trunks speak it, and it is the SIP transport every phone has. */
static const char *parse_transport(const char *text, void *obj)
{
	static const char *const want = "must be a comma-separated list of udp, tcp and tls "
					"that holds udp (e.g. \"udp,tcp,tls\")";
	struct conf *conf = obj;
	unsigned seen = 0;
	const char *p = text;

	for (;;) {
		size_t n;
		unsigned bit;

		while (*p == ' ')
			p++;
		n = strcspn(p, ", ");
		if (n == 3 && strncasecmp(p, "udp", 3) == 0)
			bit = CONF_TRANSPORT_UDP;
		else if (n == 3 && strncasecmp(p, "tcp", 3) == 0)
			bit = CONF_TRANSPORT_TCP;
		else if (n == 3 && strncasecmp(p, "tls", 3) == 0)
			bit = CONF_TRANSPORT_TLS;
		else
			return want;
		if (seen & bit)
			return "names a transport twice";
		seen |= bit;
		p += n;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return want;
	}
	if (!(seen & CONF_TRANSPORT_UDP))
		return want;
	conf->transports = seen;
	return NULL;
}

/* "a.b.c.d" or "a.b.c.d:port" for a stream listener; an absent port is
 * 0 here and is filled in by check_streams once bindport is known. An IPv6
 * address ("::", "2001:db8::1", "[2001:db8::1]:5070") goes into sin6, and
 * the IPv4 listener then stays on 0.0.0.0 with the same port. */
static const char *parse_stream_bind(const char *text, struct sockaddr_in *sin, struct netaddr *sin6)
{
	const char *bad = "not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port";
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : strlen(text);
	unsigned port = 0;

	if (parse_ipv6_port(text, sin6)) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons(sin6->port);
		return NULL;
	}
	memset(sin6, 0, sizeof(*sin6));
	if (len == 0 || len >= sizeof(host))
		return bad;
	memcpy(host, text, len);
	host[len] = '\0';
	if (!parse_ipv4(host, &sin->sin_addr) ||
	    (colon && !parse_decimal(colon + 1, 5, 1, 65535, &port)))
		return bad;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return NULL;
}

static const char *parse_tcpbindaddr(const char *text, void *obj)
{
	struct conf *conf = obj;

	return parse_stream_bind(text, &conf->tcpbind, &conf->tcpbind6);
}

static const char *parse_tlsbindaddr(const char *text, void *obj)
{
	struct conf *conf = obj;

	return parse_stream_bind(text, &conf->tlsbind, &conf->tlsbind6);
}

/* tcpenable / tlsenable (Asterisk's names): true adds the transport to
 * general.transport; false beside a transport that names it is a
 * contradiction, not a silent winner. */
static bool parse_enable(struct load *ld, const config_setting_t *s, const char *key,
			 unsigned bit, const char *name, struct conf *conf)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(ld, s, key, "must be true or false");
	if (config_setting_get_bool(s)) {
		conf->transports |= bit;
		return true;
	}
	if (conf->transports & bit)
		return fail(ld, s, key, "is false but transport names %s", name);
	return true;
}

static bool parse_tcpenable(struct load *ld, const config_setting_t *s, void *obj)
{
	return parse_enable(ld, s, "tcpenable", CONF_TRANSPORT_TCP, "tcp", obj);
}

static bool parse_tlsenable(struct load *ld, const config_setting_t *s, void *obj)
{
	return parse_enable(ld, s, "tlsenable", CONF_TRANSPORT_TLS, "tls", obj);
}

static bool parse_localnet(struct load *ld, const config_setting_t *s, void *obj)
{
	struct conf *conf = obj;
	int i, n = config_setting_length(s);
	char key[32];

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return fail(ld, s, "localnet", "must be a list of networks, e.g. [ \"192.168.0.0/24\" ]");
	if (n == 0)
		return fail(ld, s, "localnet", "must hold at least one network");
	conf->localnet = calloc((size_t)n, sizeof(*conf->localnet));
	if (!conf->localnet)
		return fail(ld, s, "localnet", "out of memory");
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct conf_net *net = &conf->localnet[i];
		const char *text;

		snprintf(key, sizeof(key), "localnet[%d]", i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail(ld, e, key, "must be a string");
		text = config_setting_get_string(e);
		/* the text is not echoed: it may hold a newline, messages are one line */
		if (!conf_net_parse(text, net))
			return fail(ld, e, key,
				    "not a network (want a.b.c.d/n, a.b.c.d/m.m.m.m or x:x::/n)");
		/* Local sources skip authentication: a /0 would open the PBX
		 * to the whole Internet. */
		if (net->prefix.len == 0)
			return fail(ld, e, key, "a /0 network would make every address local");
		conf->localnet_count++;
	}
	return true;
}

/* ---- the key tables ---- */

static const struct key general_keys[] = {
	PARSED_KEY("bindaddr", "0.0.0.0", parse_bindaddr),
	PORT_KEY("bindport", C(bindport), 5060),
	STRING_KEY("externhost", C(externhost), NULL, check_hostname),
	PARSED_KEY("externip", NULL, parse_externip),
	INT_KEY("externrefresh", C(externrefresh_s), 10, 1, 86400),
	PARSED_KEY("portmap", "off", parse_portmap),
	INT_KEY("portmaplease", C(portmaplease_s), 3600, 0, 604800),
	{ .name = "localnet", .kind = K_CUSTOM, .required = true, .parse_setting = parse_localnet },
	{ .name = "pbx", .kind = K_PARSED, .required = true, .parse = parse_pbx },
	PARSED_KEY("localaddr", NULL, parse_localaddr),
	STRING_KEY("realm", C(realm), "sipnatd", check_realm),
	BOOL_KEY("allowguest", C(allowguest), false),
	BOOL_KEY("alwaysauthreject", C(alwaysauthreject), true),
	/* MD5 alone by default: libre 1.1 (baresip 1.0, Debian 12) gives up
	 * on a 401 that holds any SHA-256 challenge, whatever its place
	 * (tests/nat/softphones.sh). */
	PARSED_KEY("digestalgs", "md5", parse_digestalgs),
	INT_KEY("banafter", C(banafter), 10, 0, 1000000),
	INT_KEY("bantime", C(bantime_s), 600, 0, 31536000),
	/* shorter than /32 would ban a whole provider's customers at once */
	INT_KEY("banprefix6", C(banprefix6), CONF_BANPREFIX6_DEFAULT, 32, 128),
	INT_KEY("maxexpiry", C(maxexpiry_s), 3600, 1, 86400),
	INT_KEY("minexpiry", C(minexpiry_s), 60, 1, 86400),
	INT_KEY("defaultexpiry", C(defaultexpiry_s), 120, 1, 86400),
	STRING_KEY("statefile", C(statefile), "/var/lib/sipnatd/registrations", check_abs_path),
	STRING_KEY("control", C(control), "/run/sipnatd/control", check_abs_path),
	STRING_KEY("resolvconf", C(resolvconf), "/etc/resolv.conf", check_abs_path),
	STRING_KEY("useragent", C(useragent), "sipnatd", check_useragent),
	/* streams (issue 15); transport before the enables that add to it */
	PARSED_KEY("transport", "udp", parse_transport),
	{ .name = "tcpenable", .kind = K_CUSTOM, .parse_setting = parse_tcpenable },
	{ .name = "tlsenable", .kind = K_CUSTOM, .parse_setting = parse_tlsenable },
	PARSED_KEY("tcpbindaddr", NULL, parse_tcpbindaddr),
	PARSED_KEY("tlsbindaddr", NULL, parse_tlsbindaddr),
	STRING_KEY("tlscertfile", C(tlscertfile), NULL, check_abs_path),
	STRING_KEY("tlsprivatekey", C(tlsprivatekey), NULL, check_abs_path),
	STRING_KEY("tlscafile", C(tlscafile), NULL, check_abs_path),
	/* 3 000-byte INVITEs are why phones use TCP; 16 KiB of header is
	 * plenty and still bounds what one stranger makes us buffer. */
	INT_KEY("tcpmaxheadersize", C(tcpmaxheadersize), 16384, 1024, 65535),
	INT_KEY("tcpmaxperaddr", C(tcpmaxperaddr), 8, 1, 100000),
	INT_KEY("tcpmaxconnections", C(tcpmaxconnections), 1000, 1, 100000),
	/* a phone keeps its connection with CRLF pings (RFC 5626: every
	 * 95-120 s) or re-REGISTERs; an hour covers both */
	INT_KEY("tcpidletimeout", C(tcpidletimeout_s), 3600, 10, 86400),
	/* Asterisk's tcpauthtimeout plays the same part: slowloris */
	INT_KEY("tcpmsgtimeout", C(tcpmsgtimeout_s), 10, 1, 600),
	{ .name = NULL },
};

static const struct key rtp_keys[] = {
	INT_KEY("rtpstart", C(rtpstart), 10000, 1024, 65534),
	INT_KEY("rtpend", C(rtpend), 11000, 1024, 65535),
	INT_KEY("rtptimeout", C(rtptimeout_s), 60, 1, 86400),
	INT_KEY("rtpholdtimeout", C(rtpholdtimeout_s), 300, 1, 86400),
	BOOL_KEY("strictrtp", C(strictrtp), true),
	{ .name = NULL },
};

/* name comes first: it is parsed alone before the rest, to name the peer. */
static const struct key peer_keys[] = {
	{ .name = "name", .kind = K_STRING, .offset = P(name), .required = true,
	  .check = check_peer_name },
	STRING_KEY("secret", P(secret), NULL, check_secret),
	PARSED_KEY("host", "dynamic", parse_peer_host),
	PARSED_KEY("nat", "force_rport,comedia", parse_peer_nat),
	BOOL_KEY("qualify", P(qualify), true),
	INT_KEY("qualifyfreq", P(qualifyfreq_s), 25, 1, 3600),
	BOOL_KEY("directmedia", P(directmedia), false),
	INT_KEY("calllimit", P(calllimit), 0, 0, 100000),
	INT_KEY("maxrelays", P(maxrelays), 0, 0, 100000),
	PARSED_KEY("digestalgs", NULL, parse_peer_digestalgs),
	{ .name = NULL },
};

static const struct key logging_keys[] = {
	PARSED_KEY("level", "notice", parse_log_level),
	BOOL_KEY("siptrace", C(siptrace), false),
	{ .name = NULL },
};

/* ---- walking the tables ---- */

/* The text of a string key (its default when absent), false if not a string. */
static bool key_text(struct load *ld, const struct key *k, const config_setting_t *s,
		     const char **text)
{
	*text = k->def_text;
	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, k->name, "must be a string");
	*text = config_setting_get_string(s);
	return true;
}

static bool parse_key(struct load *ld, const config_setting_t *group, const struct key *k,
		      void *obj)
{
	const config_setting_t *s = group ? config_setting_get_member(group, k->name) : NULL;
	const config_setting_t *at = s ? s : member(ld, group, k->name);
	char *field = (char *)obj + k->offset;
	const char *text, *why;
	long long v;

	if (!s && k->required)
		return fail(ld, at, k->name, "is required");
	switch (k->kind) {
	case K_INT:
	case K_PORT:
		v = k->def;
		if (s) {
			/* An L suffix makes an int64. libconfig 1.5 wraps a plain
			 * literal beyond 32 bits silently; nothing to catch here. */
			if (config_setting_type(s) == CONFIG_TYPE_INT)
				v = config_setting_get_int(s);
			else if (config_setting_type(s) == CONFIG_TYPE_INT64)
				v = config_setting_get_int64(s);
			else
				return fail(ld, s, k->name, "must be an integer");
			if (v < k->min || v > k->max)
				return fail(ld, s, k->name, "must be between %lld and %lld",
					    k->min, k->max);
		}
		if (k->kind == K_PORT)
			*(uint16_t *)field = (uint16_t)v;
		else
			*(int *)field = (int)v;
		return true;
	case K_BOOL:
		if (s && config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(ld, s, k->name, "must be true or false");
		*(bool *)field = s ? config_setting_get_bool(s) : k->def != 0;
		return true;
	case K_STRING:
		if (!key_text(ld, k, s, &text))
			return false;
		if (!text)
			return true;
		if (s && k->check && (why = k->check(text)))
			return fail(ld, s, k->name, "%s", why);
		*(char **)field = strdup(text);
		if (!*(char **)field)
			return fail(ld, at, k->name, "out of memory");
		return true;
	case K_PARSED:
		if (!key_text(ld, k, s, &text))
			return false;
		if (text && (why = k->parse(text, obj)))
			return fail(ld, at, k->name, "%s", why);
		return true;
	case K_CUSTOM:
		return !s || k->parse_setting(ld, s, obj);
	}
	return true;
}

static bool parse_keys(struct load *ld, const config_setting_t *group, const struct key *keys,
		       void *obj)
{
	for (; keys->name; keys++)
		if (!parse_key(ld, group, keys, obj))
			return false;
	return true;
}

/* A misspelt key would otherwise silently leave its default in force. */
static bool check_unknown(struct load *ld, const config_setting_t *group, const struct key *keys)
{
	int i, n = group ? config_setting_length(group) : 0;

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct key *k;

		for (k = keys; k->name && strcmp(k->name, name); k++)
			;
		if (!k->name)
			return fail(ld, s, name, "unknown key");
	}
	return true;
}

/* Find a top-level group (NULL when absent: its keys take their defaults),
 * check it is one and holds no unknown key; messages now name it. */
static bool open_group(struct load *ld, const char *name, const struct key *keys,
		       const config_setting_t **group)
{
	*group = config_setting_get_member(ld->root, name);
	ld->prefix[0] = '\0';
	if (*group && !config_setting_is_group(*group))
		return fail(ld, *group, name, "must be a group: %s: { ... };", name);
	snprintf(ld->prefix, sizeof(ld->prefix), "%s", name);
	return check_unknown(ld, *group, keys);
}

/* ---- the sections and the rules between their keys ---- */

static bool check_general(struct load *ld, const config_setting_t *g, const struct conf *conf)
{
	/* With IPv6 bound, sipnatd can go without: behind a CGNAT there is no
	 * public IPv4 address to give, and IPv6 needs none (no NAT: the host's
	 * own address is advertised, as the kernel picks it toward each party,
	 * even after the ISP changed the prefix). */
	if (!conf->externhost && !conf->has_externip && !conf->has_externip6 && !conf->externip_auto &&
	    !conf->has_bindaddr6)
		return fail(ld, member(ld, g, "externhost"), "externhost",
			    "one of externhost and externip is required (or bindaddr \"::\" for IPv6 alone)");
	if (conf->externip_auto && conf->portmap == CONF_PORTMAP_OFF)
		return fail(ld, member(ld, g, "externip"), "externip",
			    "\"auto\" takes the router's address: it needs general.portmap");
	/* shorter leases would keep the router busy renewing (RFC 6886 3.3
	 * renews at half the lifetime) */
	if (conf->portmaplease_s > 0 && conf->portmaplease_s < 10)
		return fail(ld, member(ld, g, "portmaplease"), "portmaplease",
			    "must be 0 (permanent) or at least 10 seconds");
	if (conf->externhost && (conf->has_externip || conf->has_externip6))
		return fail(ld, member(ld, g, "externip"), "externip",
			    "give externhost or externip, not both");
	/* Blame the key the user wrote, not the one left at its default. */
	if (conf->defaultexpiry_s < conf->minexpiry_s) {
		if (given(g, "defaultexpiry"))
			return fail(ld, member(ld, g, "defaultexpiry"), "defaultexpiry",
				    "must be >= minexpiry (%d)", conf->minexpiry_s);
		return fail(ld, member(ld, g, "minexpiry"), "minexpiry",
			    "must be <= defaultexpiry (%d)", conf->defaultexpiry_s);
	}
	if (conf->defaultexpiry_s > conf->maxexpiry_s) {
		if (given(g, "defaultexpiry"))
			return fail(ld, member(ld, g, "defaultexpiry"), "defaultexpiry",
				    "must be <= maxexpiry (%d)", conf->maxexpiry_s);
		return fail(ld, member(ld, g, "maxexpiry"), "maxexpiry",
			    "must be >= defaultexpiry (%d)", conf->defaultexpiry_s);
	}
	return true;
}

/* The stream listeners' addresses default to bindaddr (port bindport for
 * TCP, 5061 for TLS); a TLS listener needs a certificate that loads, checked
 * here so that -t and a reload name the line of the file at fault. */
static bool check_streams(struct load *ld, const config_setting_t *g, struct conf *conf)
{
	static const char *const keys[] = {
		[TLS_CONTEXT_CERT] = "tlscertfile",
		[TLS_CONTEXT_KEY] = "tlsprivatekey",
		[TLS_CONTEXT_CA] = "tlscafile",
	};
	enum tls_context_file bad;
	char why[CONF_ERR_MAX / 2];
	SSL_CTX *ctx;

	/* not given: beside bindaddr, and on bindaddr6 too when IPv6 is on */
	if (conf->tcpbind.sin_family == 0) {
		conf->tcpbind.sin_family = AF_INET;
		conf->tcpbind.sin_addr = conf->bindaddr;
		if (conf->has_bindaddr6)
			conf->tcpbind6 = conf->bindaddr6;
	}
	if (conf->tcpbind.sin_port == 0)
		conf->tcpbind.sin_port = htons(conf->bindport);
	if (conf->tlsbind.sin_family == 0) {
		conf->tlsbind.sin_family = AF_INET;
		conf->tlsbind.sin_addr = conf->bindaddr;
		if (conf->has_bindaddr6)
			conf->tlsbind6 = conf->bindaddr6;
	}
	if (conf->tlsbind.sin_port == 0)
		conf->tlsbind.sin_port = htons(SIPS_DEFAULT_PORT);
	if (conf->tcpbind6.family)
		conf->tcpbind6.port = ntohs(conf->tcpbind.sin_port);
	if (conf->tlsbind6.family)
		conf->tlsbind6.port = ntohs(conf->tlsbind.sin_port);
	if ((conf->transports & CONF_TRANSPORT_TCP) && (conf->transports & CONF_TRANSPORT_TLS) &&
	    conf->tcpbind.sin_port == conf->tlsbind.sin_port &&
	    (conf->tcpbind.sin_addr.s_addr == conf->tlsbind.sin_addr.s_addr ||
	     conf->tcpbind.sin_addr.s_addr == INADDR_ANY ||
	     conf->tlsbind.sin_addr.s_addr == INADDR_ANY))
		return fail(ld, member(ld, g, "tlsbindaddr"), "tlsbindaddr",
			    "must not be the TCP listener's address and port");
	if (conf->tcpmaxperaddr > conf->tcpmaxconnections)
		return fail(ld, member(ld, g, "tcpmaxperaddr"), "tcpmaxperaddr",
			    "must be <= tcpmaxconnections (%d)", conf->tcpmaxconnections);
	if (!(conf->transports & CONF_TRANSPORT_TLS))
		return true;
	/* point at the line that enabled TLS */
	if (!conf->tlscertfile)
		return fail(ld, member(ld, g, given(g, "tlsenable") ? "tlsenable" : "transport"),
			    "tlscertfile", "is required when TLS is enabled");
	ctx = tls_context_new(conf->tlscertfile, conf->tlsprivatekey, conf->tlscafile, &bad,
			      why, sizeof(why));
	if (!ctx)
		return fail(ld, member(ld, g, keys[bad]), keys[bad], "%s", why);
	SSL_CTX_free(ctx);
	return true;
}

static bool parse_general(struct load *ld, struct conf *conf)
{
	const config_setting_t *g;

	return open_group(ld, "general", general_keys, &g) &&
	       parse_keys(ld, g, general_keys, conf) && check_general(ld, g, conf) &&
	       check_streams(ld, g, conf);
}

static bool parse_rtp(struct load *ld, struct conf *conf)
{
	const config_setting_t *g;

	if (!open_group(ld, "rtp", rtp_keys, &g) || !parse_keys(ld, g, rtp_keys, conf))
		return false;
	/* RTP on the even port, RTCP on the odd one above (RFC 3550 11) */
	if (conf->rtpstart % 2)
		return fail(ld, member(ld, g, "rtpstart"), "rtpstart", "must be even");
	/* two pairs at least: one per leg of a call */
	if (conf->rtpend < conf->rtpstart + 3) {
		if (given(g, "rtpend") || !given(g, "rtpstart"))
			return fail(ld, member(ld, g, "rtpend"), "rtpend", "must be >= rtpstart + 3");
		return fail(ld, member(ld, g, "rtpstart"), "rtpstart",
			    "must be <= rtpend - 3 (%d)", conf->rtpend - 3);
	}
	if (conf->portmap != CONF_PORTMAP_OFF &&
	    conf->rtpend - conf->rtpstart + 1 > CONF_PORTMAP_MAX_PORTS - 1)
		return fail(ld, member(ld, g, given(g, "rtpend") ? "rtpend" : "rtpstart"),
			    given(g, "rtpend") ? "rtpend" : "rtpstart",
			    "with general.portmap the pool is mapped on the router port by port: "
			    "at most %d ports (rtpend - rtpstart + 1), this pool has %d",
			    CONF_PORTMAP_MAX_PORTS - 1, conf->rtpend - conf->rtpstart + 1);
	return true;
}

static bool parse_logging(struct load *ld, struct conf *conf)
{
	const config_setting_t *g;

	return open_group(ld, "logging", logging_keys, &g) &&
	       parse_keys(ld, g, logging_keys, conf);
}

static const struct conf_peer *find_peer(const struct conf_peer *peers, size_t count,
					 const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (peers[i].name && strcmp(peers[i].name, name) == 0)
			return &peers[i];
	return NULL;
}

static bool parse_peer(struct load *ld, const config_setting_t *s, size_t i, struct conf *conf)
{
	struct conf_peer *peer = &conf->peers[i];
	const struct conf_peer *first;

	snprintf(ld->prefix, sizeof(ld->prefix), "peers[%zu]", i);
	if (!config_setting_is_group(s))
		return fail(ld, s, NULL, "must be a group: { name = \"...\"; ... }");
	peer->line = (int)config_setting_source_line(s);
	if (!parse_key(ld, s, &peer_keys[0], peer))
		return false;
	first = find_peer(conf->peers, i, peer->name);
	if (first)
		return fail(ld, member(ld, s, "name"), "name",
			    "duplicate peer \"%s\", first defined on line %d", peer->name, first->line);
	snprintf(ld->prefix, sizeof(ld->prefix), "peers.%s", peer->name);
	if (!check_unknown(ld, s, peer_keys) || !parse_keys(ld, s, peer_keys + 1, peer))
		return false;
	/* Without allowguest only digest credentials let a REGISTER in. */
	if (!peer->host && !peer->secret && !conf->allowguest)
		return fail(ld, s, "secret", "is required when host is dynamic and allowguest = false "
			    "(the peer could never register)");
	/* Phones answer the challenges general.digestalgs sends; a peer
	 * restricted to none of them could never log in. */
	if (peer->digestalgs.count) {
		bool shared = false;
		for (size_t a = 0; a < peer->digestalgs.count; a++)
			shared = shared || conf_digestalgs_has(&conf->digestalgs, peer->digestalgs.alg[a]);
		if (!shared)
			return fail(ld, member(ld, s, "digestalgs"), "digestalgs",
				    "shares no algorithm with general.digestalgs, which alone is "
				    "challenged (the peer could never log in)");
	}
	return true;
}

static bool parse_peers(struct load *ld, struct conf *conf)
{
	const config_setting_t *list = config_setting_get_member(ld->root, "peers");
	size_t i;

	ld->prefix[0] = '\0';
	if (!list)
		return true;
	if (!config_setting_is_list(list))
		return fail(ld, list, "peers", "must be a list: peers: ( { name = \"...\"; ... }, ... );");
	conf->peer_count = (size_t)config_setting_length(list);
	if (conf->peer_count == 0)
		return true;
	conf->peers = calloc(conf->peer_count, sizeof(*conf->peers));
	if (!conf->peers) {
		conf->peer_count = 0;
		return fail(ld, list, "peers", "out of memory");
	}
	for (i = 0; i < conf->peer_count; i++)
		if (!parse_peer(ld, config_setting_get_elem(list, (unsigned)i), i, conf))
			return false;
	return true;
}

static bool check_sections(struct load *ld)
{
	static const char *const sections[] = { "general", "rtp", "peers", "logging" };
	int i, n = config_setting_length(ld->root);
	size_t j;

	ld->prefix[0] = '\0';
	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(ld->root, (unsigned)i);
		const char *name = config_setting_name(s);

		for (j = 0; j < sizeof(sections) / sizeof(sections[0]); j++)
			if (strcmp(name, sections[j]) == 0)
				break;
		if (j == sizeof(sections) / sizeof(sections[0]))
			return fail(ld, s, name, "unknown key");
	}
	return true;
}

/* peers come last: whether a peer needs a secret depends on allowguest. */
static struct conf *conf_build(const config_t *cfg, const char *name, char *err)
{
	struct load ld = { .name = name, .err = err, .root = config_root_setting(cfg) };
	struct conf *conf = calloc(1, sizeof(*conf));

	if (!conf || !(conf->path = strdup(name))) {
		snprintf(err, CONF_ERR_MAX, "%s: out of memory", name);
		conf_free(conf);
		return NULL;
	}
	if (!check_sections(&ld) || !parse_general(&ld, conf) || !parse_rtp(&ld, conf) ||
	    !parse_logging(&ld, conf) || !parse_peers(&ld, conf)) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

static void conf_config_init(config_t *cfg)
{
	config_init(cfg);
	/* Types are checked strictly: 5060.0 is not a port, 1 is not true. */
	config_set_options(cfg, config_get_options(cfg) & ~CONFIG_OPTION_AUTOCONVERT);
}

/* Consumes cfg, read or not. */
static struct conf *conf_finish(config_t *cfg, bool read_ok, const char *name, char *err)
{
	struct conf *conf = NULL;

	if (read_ok) {
		conf = conf_build(cfg, name, err);
	} else {
		const char *file = config_error_file(cfg);
		const char *text = config_error_text(cfg);

		snprintf(err, CONF_ERR_MAX, "%s:%d: syntax error: %s", file ? file : name,
			 config_error_line(cfg), text ? text : "unknown");
	}
	config_destroy(cfg);
	return conf;
}

struct conf *conf_load_file(const char *path, char err[CONF_ERR_MAX])
{
	char scratch[CONF_ERR_MAX];
	struct stat st;
	config_t cfg;
	FILE *fp;
	bool ok;

	if (!err)
		err = scratch;
	/* Opened here rather than by config_read_file for the errno. */
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(EISDIR));
		fclose(fp);
		return NULL;
	}
	conf_config_init(&cfg);
	ok = config_read(&cfg, fp) == CONFIG_TRUE;
	fclose(fp);
	return conf_finish(&cfg, ok, path, err);
}

struct conf *conf_load_string(const char *text, const char *name, char err[CONF_ERR_MAX])
{
	char scratch[CONF_ERR_MAX];
	config_t cfg;
	bool ok;

	if (!err)
		err = scratch;
	if (!name)
		name = "<string>";
	conf_config_init(&cfg);
	ok = config_read_string(&cfg, text ? text : "") == CONFIG_TRUE;
	return conf_finish(&cfg, ok, name, err);
}

void conf_free(struct conf *conf)
{
	size_t i;

	if (!conf)
		return;
	for (i = 0; i < conf->peer_count; i++) {
		struct conf_peer *peer = &conf->peers[i];

		/* an old configuration's secrets should not linger after a reload */
		if (peer->secret)
			explicit_bzero(peer->secret, strlen(peer->secret));
		free(peer->name);
		free(peer->secret);
		free(peer->host);
	}
	free(conf->peers);
	free(conf->localnet);
	free(conf->path);
	free(conf->externhost);
	free(conf->realm);
	free(conf->statefile);
	free(conf->control);
	free(conf->resolvconf);
	free(conf->useragent);
	free(conf->tlscertfile);
	free(conf->tlsprivatekey);
	free(conf->tlscafile);
	free(conf);
}

const struct conf_peer *conf_peer_find(const struct conf *conf, const char *name)
{
	if (!conf || !name)
		return NULL;
	return find_peer(conf->peers, conf->peer_count, name);
}

bool conf_net_parse(const char *text, struct conf_net *net)
{
	struct netaddr_prefix prefix;

	if (!netaddr_prefix_parse(text, &prefix))
		return false;
	memset(net, 0, sizeof(*net));
	net->prefix = prefix;
	if (prefix.net.family == AF_INET) {
		net->mask = prefix.len ? 0xffffffffu << (32 - prefix.len) : 0;
		net->net = ntohl(prefix.net.ip.v4.s_addr);
	}
	return true;
}

static const char *const log_level_names[] = {
	[CONF_LOG_ERROR] = "error",
	[CONF_LOG_WARNING] = "warning",
	[CONF_LOG_NOTICE] = "notice",
	[CONF_LOG_INFO] = "info",
	[CONF_LOG_DEBUG] = "debug",
};

const char *conf_log_level_name(enum conf_log_level level)
{
	if ((unsigned)level >= sizeof(log_level_names) / sizeof(log_level_names[0]) ||
	    !log_level_names[level])
		return "unknown";
	return log_level_names[level];
}

bool conf_log_level_parse(const char *name, enum conf_log_level *level)
{
	size_t i;

	for (i = 0; name && i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (log_level_names[i] && strcmp(name, log_level_names[i]) == 0) {
			*level = (enum conf_log_level)i;
			return true;
		}
	}
	return false;
}

static const char *const portmap_names[] = {
	[CONF_PORTMAP_OFF] = "off",
	[CONF_PORTMAP_UPNP] = "upnp",
	[CONF_PORTMAP_NATPMP] = "natpmp",
	[CONF_PORTMAP_PCP] = "pcp",
	[CONF_PORTMAP_AUTO] = "auto",
};

const char *conf_portmap_name(enum conf_portmap pm)
{
	if ((size_t)pm < sizeof(portmap_names) / sizeof(portmap_names[0]))
		return portmap_names[pm];
	return "?";
}

bool conf_portmap_parse(const char *text, enum conf_portmap *pm)
{
	for (size_t i = 0; i < sizeof(portmap_names) / sizeof(portmap_names[0]); i++)
		if (strcmp(text, portmap_names[i]) == 0) {
			*pm = (enum conf_portmap)i;
			return true;
		}
	return false;
}
