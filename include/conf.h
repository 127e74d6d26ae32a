/*
 * conf: the configuration file (design section 3), read with libconfig into one
 * immutable object.
 *
 * A struct conf is built whole or not at all: conf_load_* either returns a fully
 * validated object or NULL with a message of the form "FILE:LINE: group.key: why".
 * Nothing outside this module changes a struct conf after it is returned; a reload
 * builds a new one and the daemon swaps it in (daemon.c).
 */
#ifndef SIPNATD_CONF_H
#define SIPNATD_CONF_H

#include "netaddr.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH "/etc/sipnatd/sipnatd.conf"
#define CONF_ERR_MAX 512

/* Log levels, ordered as syslog's so that they map one to one. */
enum conf_log_level {
	CONF_LOG_ERROR = 3,
	CONF_LOG_WARNING = 4,
	CONF_LOG_NOTICE = 5,
	CONF_LOG_INFO = 6,
	CONF_LOG_DEBUG = 7,
};

/* One localnet entry: prefix for either family (issue 20); net and mask
 * repeat an IPv4 prefix in host byte order (net already masked) and are 0
 * for an IPv6 one. */
struct conf_net {
	uint32_t net;
	uint32_t mask;
	struct netaddr_prefix prefix;
};

/* general.transport: what sipnatd listens on toward the Internet. */
#define CONF_TRANSPORT_UDP 0x1
#define CONF_TRANSPORT_TCP 0x2
#define CONF_TRANSPORT_TLS 0x4

/* general.banprefix6: an IPv6 source is banned and counted per prefix of
 * this length (one host owns a /64). */
#define CONF_BANPREFIX6_DEFAULT 64

/* general.portmap: how sipnatd asks the home router for its ports (issue 14).
 * PCP asks in NAT-PMP's version-0 form (see portmap.h). */
enum conf_portmap {
	CONF_PORTMAP_OFF,
	CONF_PORTMAP_UPNP,
	CONF_PORTMAP_NATPMP,
	CONF_PORTMAP_PCP,
	CONF_PORTMAP_AUTO,
};

/* With portmap on, the whole relay pool is mapped up front (portmap.c says
 * why): at most this many ports, so that a router's table is not flooded. */
#define CONF_PORTMAP_MAX_PORTS 512

/* Per-peer nat= flags (Asterisk's nat= values). */
#define CONF_NAT_FORCE_RPORT 0x1
#define CONF_NAT_COMEDIA 0x2
/* nat = "auto" (Asterisk 13's auto_force_rport): rport only when the source
 * differs from the Via sent-by, the NAT address only when a binding's source
 * differs from its Contact. Media latching follows natdetect for every value. */
#define CONF_NAT_AUTO 0x4

/* digestalgs: the digest algorithms of the challenges, in the order they are
 * sent (RFC 8760 section 2.4: the most preferred first). */
enum conf_digest_alg {
	CONF_DIGEST_MD5,
	CONF_DIGEST_SHA256,
};

#define CONF_DIGESTALGS_MAX 2

struct conf_digestalgs {
	enum conf_digest_alg alg[CONF_DIGESTALGS_MAX];
	size_t count;          /* 0 only for a peer that leaves it to general */
};

struct conf_peer {
	char *name;
	char *secret;          /* NULL when the peer has none */
	char *host;            /* NULL for "dynamic" (registers); else a name or an address
				* literal, IPv6 without brackets ("2001:db8::1") */
	uint16_t port;         /* port given with host ("host:port"), 5060 when absent */
	unsigned nat;          /* CONF_NAT_* flags */
	bool qualify;
	int qualifyfreq_s;
	bool directmedia;
	int calllimit;         /* concurrent calls, 0 = no limit (Asterisk's call-limit) */
	int maxrelays;         /* relay port pairs held at once, 0 = no limit */
	struct conf_digestalgs digestalgs; /* count 0: general.digestalgs applies */
	int line;              /* line of the peer's group in the file, for later messages */
};

struct conf {
	char *path;            /* the file this was read from ("<string>" for tests) */

	/* general */
	struct in_addr bindaddr;   /* 0.0.0.0 when bindaddr is "::" or IPv6 */
	uint16_t bindport;
	char *externhost;      /* NULL when externip is used */
	int externrefresh_s;
	bool has_externip;
	struct in_addr externip;
	bool externip_auto;    /* externip = "auto": the router's address (portmap) */
	enum conf_portmap portmap;
	int portmaplease_s;    /* lease asked for each mapping (0 = permanent) */
	struct conf_net *localnet;
	size_t localnet_count;
	struct netaddr pbxaddr;    /* general.pbx, either family, with its port */
	bool has_localaddr;
	struct in_addr localaddr;

	/* IPv6 (issue 20), beside the IPv4 keys' own meaning: bindaddr "::"
	 * or an IPv6 literal adds an IPv6 socket (bindaddr6, port 0), the IPv4
	 * one staying on 0.0.0.0; externip and localaddr may hold one address
	 * of each family ("203.0.113.1, 2001:db8:1::10") or one IPv6 literal. */
	bool has_bindaddr6;
	struct netaddr bindaddr6;
	bool has_externip6;
	struct netaddr externip6;
	bool has_localaddr6;
	struct netaddr localaddr6;
	char *realm;
	bool allowguest;
	bool alwaysauthreject;
	struct conf_digestalgs digestalgs; /* the challenges sent, to everyone */
	int banafter;
	int bantime_s;
	int banprefix6;        /* general.banprefix6, 32..128 */
	int maxexpiry_s;
	int minexpiry_s;
	int defaultexpiry_s;
	char *statefile;
	char *control;
	char *resolvconf;      /* general.resolvconf: name servers for evdns
				* (default /etc/resolv.conf; "nameserver IP:port" allowed) */
	char *useragent;       /* general.useragent: Server/User-Agent of what sipnatd
				* sends itself (default "sipnatd", no version) */

	/* SIP over TCP and TLS toward the Internet (issue 15). The LAN side,
	 * the PBX included, stays on UDP. */
	unsigned transports;   /* CONF_TRANSPORT_* accepted from the Internet */
	struct sockaddr_in tcpbind;    /* tcpbindaddr (default bindaddr:bindport) */
	struct sockaddr_in tlsbind;    /* tlsbindaddr (default bindaddr:5061) */
	/* The IPv6 stream listeners (issue 20): tcpbindaddr/tlsbindaddr given
	 * as IPv6 ("::", "2001:db8::1", "[2001:db8::1]:5070"), else bindaddr6
	 * with the IPv4 listener's port; family 0 when there is none. The
	 * IPv4 listeners (tcpbind/tlsbind) stay, on 0.0.0.0 when the key is
	 * IPv6. */
	struct netaddr tcpbind6, tlsbind6;
	char *tlscertfile;     /* PEM, the certificate (and chain) shown to clients */
	char *tlsprivatekey;   /* PEM, its key (default: tlscertfile) */
	char *tlscafile;       /* PEM, extra chain certificates; NULL: none */
	int tcpmaxheadersize;  /* bytes of a stream message's header section */
	int tcpmaxperaddr;     /* connections from one address at once */
	int tcpmaxconnections; /* connections at once, TCP and TLS together */
	int tcpidletimeout_s;  /* a connection without a message this long is closed */
	int tcpmsgtimeout_s;   /* a message (or the TLS handshake) must complete this fast */

	/* rtp */
	int rtpstart;
	int rtpend;
	int rtptimeout_s;
	int rtpholdtimeout_s;
	bool strictrtp;

	/* peers */
	struct conf_peer *peers;
	size_t peer_count;

	/* logging */
	enum conf_log_level log_level;
	bool siptrace;
};

/* Read and validate FILE. Returns a new conf owned by the caller (free with
 * conf_free), or NULL with a one-line "FILE:LINE: key: why" message in err. */
struct conf *conf_load_file(const char *path, char err[CONF_ERR_MAX]);

/* The same for a configuration held in memory; name stands for the file in
 * messages. For tests and fuzzing. */
struct conf *conf_load_string(const char *text, const char *name, char err[CONF_ERR_MAX]);

/* Free a conf and everything it holds. NULL is allowed. */
void conf_free(struct conf *conf);

/* The peer called name, or NULL. The pointer lives as long as conf. */
const struct conf_peer *conf_peer_find(const struct conf *conf, const char *name);

/* The algorithms whose responses peer may log in with: its own digestalgs,
 * else general's. Only what is accepted after the digest is checked; the
 * challenges always follow general.digestalgs (a per-peer one would tell
 * who exists). */
const struct conf_digestalgs *conf_peer_digestalgs(const struct conf *conf,
						   const struct conf_peer *peer);

/* Does algs hold alg? */
bool conf_digestalgs_has(const struct conf_digestalgs *algs, enum conf_digest_alg alg);

/* Parse a digestalgs value ("md5", "sha256", "sha256,md5", "md5,sha256") into
 * algs; false for anything else. */
bool conf_digestalgs_parse(const char *text, struct conf_digestalgs *algs);

/* Parse "a.b.c.d/n", "a.b.c.d/m.m.m.m" or an IPv6 prefix "x:x::/n" into net.
 * Returns false on anything else (including a mask that is not contiguous). */
bool conf_net_parse(const char *text, struct conf_net *net);

/* What differs between two configurations, as a comma-separated list of the
 * keys a user would recognise ("general.externhost, rtp.rtptimeout, peer bob
 * added"), written into buf (empty when nothing did). Returns its length. */
size_t conf_diff(const struct conf *old, const struct conf *new, char *buf, size_t len);

/* Name of a portmap value ("off", "upnp", ...), and the reverse. */
const char *conf_portmap_name(enum conf_portmap pm);
bool conf_portmap_parse(const char *text, enum conf_portmap *pm);

/* Name of a log level ("notice"), and the reverse (returns false if unknown). */
const char *conf_log_level_name(enum conf_log_level level);
bool conf_log_level_parse(const char *name, enum conf_log_level *level);

#endif
