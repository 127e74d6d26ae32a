/*
 * Unit tests for conf.c: every key read, defaulted and refused, and the exact
 * "FILE:LINE: group.key: why" of each refusal, since users and the -t check
 * see those words verbatim.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define NAME "sipnatd.conf"

/* The required keys of general, on one line. */
#define REQ "  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\";"
#define EXTIP " externip = \"203.0.113.7\";"
/* A valid configuration, three lines long. */
#define BASE "general: {\n" REQ EXTIP "\n};\n"
/* x on line 3, in general */
#define G(x) "general: {\n" REQ EXTIP "\n  " x "\n};\n"
/* x on line 3, in a general without externip */
#define GX(x) "general: {\n" REQ "\n  " x "\n};\n"
/* x on line 5; its group (rtp, logging, peers) opens on line 4 */
#define R(x) BASE "rtp: {\n  " x "\n};\n"
#define L(x) BASE "logging: {\n  " x "\n};\n"
#define P(x) BASE "peers: (\n  " x "\n);\n"

static struct conf *load(const char *text, char *err)
{
	err[0] = '\0';
	return conf_load_string(text, NAME, err);
}

static const struct {
	const char *text;
	const char *want;
} bad[] = {
	/* wrong type */
	{ G("bindport = \"five\";"), NAME ":3: general.bindport: must be an integer" },
	{ G("bindport = 5060.0;"), NAME ":3: general.bindport: must be an integer" },
	{ G("bindaddr = 5;"), NAME ":3: general.bindaddr: must be a string" },
	{ G("allowguest = 1;"), NAME ":3: general.allowguest: must be true or false" },
	{ G("alwaysauthreject = \"yes\";"), NAME ":3: general.alwaysauthreject: must be true or false" },
	{ G("realm = [ \"a\" ];"), NAME ":3: general.realm: must be a string" },
	{ G("localnet2 = 1;"), NAME ":3: general.localnet2: unknown key" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = \"192.168.0.0/24\";\n};\n",
	  NAME ":3: general.localnet: must be a list of networks, e.g. [ \"192.168.0.0/24\" ]" },
	{ R("rtpstart = \"10000\";"), NAME ":5: rtp.rtpstart: must be an integer" },
	{ R("strictrtp = \"yes\";"), NAME ":5: rtp.strictrtp: must be true or false" },
	{ L("level = 5;"), NAME ":5: logging.level: must be a string" },
	{ L("siptrace = 1;"), NAME ":5: logging.siptrace: must be true or false" },
	{ P("{ name = 5; }"), NAME ":5: peers[0].name: must be a string" },
	{ P("{ name = \"a\"; secret = \"s\"; qualify = \"yes\"; }"),
	  NAME ":5: peers.a.qualify: must be true or false" },
	{ P("{ name = \"a\"; secret = \"s\"; directmedia = 0; }"),
	  NAME ":5: peers.a.directmedia: must be true or false" },
	{ P("{ name = \"a\"; secret = \"s\"; qualifyfreq = 2.5; }"),
	  NAME ":5: peers.a.qualifyfreq: must be an integer" },
	{ BASE "rtp = 5;\n", NAME ":4: rtp: must be a group: rtp: { ... };" },
	{ "general = ( 1 );\n", NAME ":1: general: must be a group: general: { ... };" },
	{ BASE "peers: { name = \"a\"; };\n",
	  NAME ":4: peers: must be a list: peers: ( { name = \"...\"; ... }, ... );" },
	{ P("5"), NAME ":5: peers[0]: must be a group: { name = \"...\"; ... }" },

	/* out of range */
	{ G("bindport = 0;"), NAME ":3: general.bindport: must be between 1 and 65535" },
	{ G("bindport = 65536;"), NAME ":3: general.bindport: must be between 1 and 65535" },
	{ G("externrefresh = 0;"), NAME ":3: general.externrefresh: must be between 1 and 86400" },
	{ G("banafter = -1;"), NAME ":3: general.banafter: must be between 0 and 1000000" },
	{ G("bantime = 31536001;"), NAME ":3: general.bantime: must be between 0 and 31536000" },
	{ G("bantime = 10000000000L;"), NAME ":3: general.bantime: must be between 0 and 31536000" },
	{ G("banprefix6 = 31;"), NAME ":3: general.banprefix6: must be between 32 and 128" },
	{ G("banprefix6 = 129;"), NAME ":3: general.banprefix6: must be between 32 and 128" },
	{ G("banprefix6 = \"64\";"), NAME ":3: general.banprefix6: must be an integer" },
	{ G("maxexpiry = 0;"), NAME ":3: general.maxexpiry: must be between 1 and 86400" },
	{ R("rtpstart = 1000;"), NAME ":5: rtp.rtpstart: must be between 1024 and 65534" },
	{ R("rtpend = 65536;"), NAME ":5: rtp.rtpend: must be between 1024 and 65535" },
	{ R("rtptimeout = 0;"), NAME ":5: rtp.rtptimeout: must be between 1 and 86400" },
	{ R("rtpholdtimeout = 86401;"), NAME ":5: rtp.rtpholdtimeout: must be between 1 and 86400" },
	{ P("{ name = \"a\"; secret = \"s\"; qualifyfreq = 3601; }"),
	  NAME ":5: peers.a.qualifyfreq: must be between 1 and 3600" },

	/* bad values */
	{ G("bindaddr = \"1.2.3\";"), NAME ":3: general.bindaddr: not an IPv4 or IPv6 address" },
	{ G("localaddr = \"lan\";"), NAME ":3: general.localaddr: not an address: want an IPv4 address, an IPv6 address or one of each, comma-separated" },
	{ GX("externip = \"203.0.113.256\";"), NAME ":3: general.externip: not an address: want an IPv4 address, \"auto\", an IPv6 address or one of each, comma-separated" },
	{ GX("externhost = \"home_net.example\";"), NAME ":3: general.externhost: not a host name" },
	{ GX("externhost = \"-a.example\";"), NAME ":3: general.externhost: not a host name" },
	{ GX("externhost = \"203.0.113.7\";"), NAME ":3: general.externhost: not a host name" },
	{ GX("externhost = \"\";"), NAME ":3: general.externhost: not a host name" },
	{ "general: {\n  localnet = [ \"192.168.0.0/24\" ]; externip = \"203.0.113.7\";\n"
	  "  pbx = \"pbx.lan\";\n};\n",
	  NAME ":3: general.pbx: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
	{ "general: {\n  localnet = [ \"192.168.0.0/24\" ]; externip = \"203.0.113.7\";\n"
	  "  pbx = \"192.168.0.20:0\";\n};\n",
	  NAME ":3: general.pbx: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
	{ "general: {\n  localnet = [ \"192.168.0.0/24\" ]; externip = \"203.0.113.7\";\n"
	  "  pbx = \"192.168.0.20:65536\";\n};\n",
	  NAME ":3: general.pbx: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
	{ G("realm = \"\";"), NAME ":3: general.realm: must not be empty" },
	{ G("realm = \"a\\\"b\";"), NAME ":3: general.realm: must not hold \", \\ or control characters" },
	{ G("statefile = \"registrations\";"), NAME ":3: general.statefile: must be an absolute path" },
	{ G("control = \"\";"), NAME ":3: general.control: must be an absolute path" },
	{ G("resolvconf = \"resolv.conf\";"), NAME ":3: general.resolvconf: must be an absolute path" },
	{ G("useragent = \"\";"), NAME ":3: general.useragent: must not be empty" },
	{ G("useragent = \"a\\r\\nX-Injected: 1\";"),
	  NAME ":3: general.useragent: must hold only printable ASCII characters" },
	{ G("useragent = \" padded\";"), NAME ":3: general.useragent: must not start or end with a space" },
	{ G("useragent = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\";"),
	  NAME ":3: general.useragent: must be at most 100 characters" },
	{ G("useragent = 1;"), NAME ":3: general.useragent: must be a string" },
	{ L("level = \"verbose\";"),
	  NAME ":5: logging.level: must be error, warning, notice, info or debug" },

	/* localnet: bad network in both forms, an empty list, a non-string */
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"10.0.0.0/8\", \"10.0.0.0/33\" ];\n};\n",
	  NAME ":3: general.localnet[1]: not a network (want a.b.c.d/n, a.b.c.d/m.m.m.m or x:x::/n)" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"10.0.0.0/255.0.255.0\" ];\n};\n",
	  NAME ":3: general.localnet[0]: not a network (want a.b.c.d/n, a.b.c.d/m.m.m.m or x:x::/n)" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"10.0.0.0/8\",\n  \"10.0.0/8\" ];\n};\n",
	  NAME ":4: general.localnet[1]: not a network (want a.b.c.d/n, a.b.c.d/m.m.m.m or x:x::/n)" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"10.0.0.0/8\\nx\" ];\n};\n",
	  NAME ":3: general.localnet[0]: not a network (want a.b.c.d/n, a.b.c.d/m.m.m.m or x:x::/n)" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ ];\n};\n",
	  NAME ":3: general.localnet: must hold at least one network" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = ( \"10.0.0.0/8\", 8 );\n};\n",
	  NAME ":3: general.localnet[1]: must be a string" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"192.0.2.1/0\" ];\n};\n",
	  NAME ":3: general.localnet[0]: a /0 network would make every address local" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"10.0.0.0/8\", \"::/0\" ];\n};\n",
	  NAME ":3: general.localnet[1]: a /0 network would make every address local" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"2001:db8::/129\" ];\n};\n",
	  NAME ":3: general.localnet[0]: not a network (want a.b.c.d/n, a.b.c.d/m.m.m.m or x:x::/n)" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	  "  localnet = [ \"[2001:db8::]/48\" ];\n};\n",
	  NAME ":3: general.localnet[0]: not a network (want a.b.c.d/n, a.b.c.d/m.m.m.m or x:x::/n)" },

	/* missing required: the group's line, or the file's start without one */
	{ "\n\ngeneral: {\n  localnet = [ \"192.168.0.0/24\" ]; externip = \"203.0.113.7\";\n};\n",
	  NAME ":3: general.pbx: is required" },
	{ "general: {\n  pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n};\n",
	  NAME ":1: general.localnet: is required" },
	{ "", NAME ":1: general.localnet: is required" },
	{ "\nrtp: { rtpstart = 20000; };\n", NAME ":1: general.localnet: is required" },
	{ P("{ secret = \"s\"; }"), NAME ":5: peers[0].name: is required" },

	/* externhost and externip: exactly one */
	{ "general: {\n" REQ "\n};\n",
	  NAME ":1: general.externhost: one of externhost and externip is required (or bindaddr \"::\" for IPv6 alone)" },
	{ GX("bindaddr = \"0.0.0.0\";"),
	  NAME ":1: general.externhost: one of externhost and externip is required (or bindaddr \"::\" for IPv6 alone)" },
	{ GX("externhost = \"home.example.net\";\n  externip = \"203.0.113.7\";"),
	  NAME ":4: general.externip: give externhost or externip, not both" },

	/* unknown keys, in each group, in a peer, at the top */
	{ G("bindprt = 5060;"), NAME ":3: general.bindprt: unknown key" },
	{ R("rtpstrat = 10000;"), NAME ":5: rtp.rtpstrat: unknown key" },
	{ L("lvl = \"debug\";"), NAME ":5: logging.lvl: unknown key" },
	{ P("{ name = \"alice\"; secrte = \"s\"; }"), NAME ":5: peers.alice.secrte: unknown key" },
	{ BASE "genral: { bindport = 5060; };\n", NAME ":4: genral: unknown key" },
	{ BASE "bindport = 5060;\n", NAME ":4: bindport: unknown key" },
	{ "Logging: { level = \"debug\"; };\n" BASE, NAME ":1: Logging: unknown key" },

	/* RTP range */
	{ R("rtpstart = 10001;"), NAME ":5: rtp.rtpstart: must be even" },
	{ R("rtpstart = 10000; rtpend = 10002;"), NAME ":5: rtp.rtpend: must be >= rtpstart + 3" },
	{ R("rtpstart = 10000;\n  rtpend = 9000;"), NAME ":6: rtp.rtpend: must be >= rtpstart + 3" },
	{ R("rtpstart = 20000;"), NAME ":5: rtp.rtpstart: must be <= rtpend - 3 (10997)" },

	/* registration expiries */
	{ G("defaultexpiry = 30;"), NAME ":3: general.defaultexpiry: must be >= minexpiry (60)" },
	{ G("defaultexpiry = 4000;"), NAME ":3: general.defaultexpiry: must be <= maxexpiry (3600)" },
	{ G("minexpiry = 200;"), NAME ":3: general.minexpiry: must be <= defaultexpiry (120)" },
	{ G("maxexpiry = 100;"), NAME ":3: general.maxexpiry: must be >= defaultexpiry (120)" },

	/* peers */
	{ P("{ name = \"alice\"; secret = \"a\"; },\n  { name = \"alice\"; secret = \"b\"; }"),
	  NAME ":6: peers[1].name: duplicate peer \"alice\", first defined on line 5" },
	{ P("{ name = \"alice\"; }"),
	  NAME ":5: peers.alice.secret: is required when host is dynamic and allowguest = false "
	  "(the peer could never register)" },
	{ P("{ name = \"al ice\"; secret = \"s\"; }"),
	  NAME ":5: peers[0].name: must hold only letters, digits and -_.!~*'+" },
	{ P("{ name = \"\"; secret = \"s\"; }"), NAME ":5: peers[0].name: must not be empty" },
	{ P("{ name = \"a\"; secret = \"\"; }"), NAME ":5: peers.a.secret: must not be empty" },
	{ P("{ name = \"a\"; host = \"sip provider\"; }"),
	  NAME ":5: peers.a.host: must be \"dynamic\", a host name or an IP address, "
	  "with an optional :port" },
	{ P("{ name = \"a\"; host = \"192.0.2.1:99999\"; }"),
	  NAME ":5: peers.a.host: must be \"dynamic\", a host name or an IP address, "
	  "with an optional :port" },
	{ P("{ name = \"a\"; host = \"999.1.1.1\"; }"),
	  NAME ":5: peers.a.host: must be \"dynamic\", a host name or an IP address, "
	  "with an optional :port" },
	{ P("{ name = \"a\"; secret = \"s\"; nat = \"yes\"; }"),
	  NAME ":5: peers.a.nat: must be \"force_rport,comedia\", \"force_rport\", \"comedia\", "
	  "\"auto\" or \"no\"" },
	{ P("{ name = \"a\"; secret = \"s\"; nat = \"AUTO\"; }"),
	  NAME ":5: peers.a.nat: must be \"force_rport,comedia\", \"force_rport\", \"comedia\", "
	  "\"auto\" or \"no\"" },
	{ P("{ name = \"a\"; secret = \"s\"; calllimit = -1; }"),
	  NAME ":5: peers.a.calllimit: must be between 0 and 100000" },
	{ P("{ name = \"a\"; secret = \"s\"; calllimit = \"2\"; }"),
	  NAME ":5: peers.a.calllimit: must be an integer" },
	{ P("{ name = \"a\"; secret = \"s\";\n    maxrelays = 100001; }"),
	  NAME ":6: peers.a.maxrelays: must be between 0 and 100000" },
	{ P("{ name = \"a\"; secret = \"s\"; maxrelays = true; }"),
	  NAME ":5: peers.a.maxrelays: must be an integer" },
	{ P("{ name = \"a\"; secret = \"s\"; call_limit = 2; }"),
	  NAME ":5: peers.a.call_limit: unknown key" },

	/* digestalgs, general and per peer */
	{ G("digestalgs = \"sha-256\";"),
	  NAME ":3: general.digestalgs: must be \"md5\", \"sha256\", \"sha256,md5\" or \"md5,sha256\"" },
	{ G("digestalgs = \"md5, sha256\";"),
	  NAME ":3: general.digestalgs: must be \"md5\", \"sha256\", \"sha256,md5\" or \"md5,sha256\"" },
	{ G("digestalgs = \"\";"),
	  NAME ":3: general.digestalgs: must be \"md5\", \"sha256\", \"sha256,md5\" or \"md5,sha256\"" },
	{ G("digestalgs = [ \"md5\" ];"), NAME ":3: general.digestalgs: must be a string" },
	{ P("{ name = \"a\"; secret = \"s\"; digestalgs = \"MD5\"; }"),
	  NAME ":5: peers.a.digestalgs: must be \"md5\", \"sha256\", \"sha256,md5\" or \"md5,sha256\"" },
	{ P("{ name = \"a\"; secret = \"s\"; digestalgs = \"sha256\"; }"),
	  NAME ":5: peers.a.digestalgs: shares no algorithm with general.digestalgs, which alone is "
	  "challenged (the peer could never log in)" },
	{ "general: {\n" REQ EXTIP " digestalgs = \"sha256\";\n};\npeers: (\n"
	  "  { name = \"a\"; secret = \"s\";\n    digestalgs = \"md5\"; }\n);\n",
	  NAME ":6: peers.a.digestalgs: shares no algorithm with general.digestalgs, which alone is "
	  "challenged (the peer could never log in)" },

	/* streams (issue 15) */
	{ G("transport = \"tcp\";"), NAME ":3: general.transport: must be a comma-separated list "
	  "of udp, tcp and tls that holds udp (e.g. \"udp,tcp,tls\")" },
	{ G("transport = \"udp,sctp\";"), NAME ":3: general.transport: must be a comma-separated list "
	  "of udp, tcp and tls that holds udp (e.g. \"udp,tcp,tls\")" },
	{ G("transport = \"udp,,tcp\";"), NAME ":3: general.transport: must be a comma-separated list "
	  "of udp, tcp and tls that holds udp (e.g. \"udp,tcp,tls\")" },
	{ G("transport = \"udp,tcp,\";"), NAME ":3: general.transport: must be a comma-separated list "
	  "of udp, tcp and tls that holds udp (e.g. \"udp,tcp,tls\")" },
	{ G("transport = \"udp,tcp,tcp\";"), NAME ":3: general.transport: names a transport twice" },
	{ G("transport = 1;"), NAME ":3: general.transport: must be a string" },
	{ G("transport = \"udp,tcp\"; tcpenable = false;"),
	  NAME ":3: general.tcpenable: is false but transport names tcp" },
	{ G("tcpenable = 1;"), NAME ":3: general.tcpenable: must be true or false" },
	{ G("tlsenable = true;"), NAME ":3: general.tlscertfile: is required when TLS is enabled" },
	{ G("transport = \"udp,tls\";"), NAME ":3: general.tlscertfile: is required when TLS is enabled" },
	{ G("tcpbindaddr = \"0.0.0.0:0\";"),
	  NAME ":3: general.tcpbindaddr: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
	{ G("tlsbindaddr = \"host:5061\";"),
	  NAME ":3: general.tlsbindaddr: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
	{ G("tlscertfile = \"cert.pem\";"), NAME ":3: general.tlscertfile: must be an absolute path" },
	{ G("tcpmaxheadersize = 100;"), NAME ":3: general.tcpmaxheadersize: must be between 1024 and 65535" },
	{ G("tcpmaxperaddr = 0;"), NAME ":3: general.tcpmaxperaddr: must be between 1 and 100000" },
	{ G("tcpmaxperaddr = 20; tcpmaxconnections = 10;"),
	  NAME ":3: general.tcpmaxperaddr: must be <= tcpmaxconnections (10)" },
	{ G("tcpidletimeout = 5;"), NAME ":3: general.tcpidletimeout: must be between 10 and 86400" },
	{ G("tcpmsgtimeout = 0;"), NAME ":3: general.tcpmsgtimeout: must be between 1 and 600" },
	{ G("tlsenable = true; tlscertfile = \"/nonexistent/sipnatd.pem\";"),
	  NAME ":3: general.tlscertfile: /nonexistent/sipnatd.pem: No such file or directory" },
	/* the router's ports (issue 14) */
	{ G("portmap = \"igd\";"), NAME ":3: general.portmap: must be off, upnp, natpmp, pcp or auto" },
	{ G("portmap = true;"), NAME ":3: general.portmap: must be a string" },
	{ GX("externip = \"auto\";"),
	  NAME ":3: general.externip: \"auto\" takes the router's address: it needs general.portmap" },
	{ G("portmap = \"upnp\"; portmaplease = 5;"),
	  NAME ":3: general.portmaplease: must be 0 (permanent) or at least 10 seconds" },
	{ G("portmap = \"upnp\"; portmaplease = -1;"),
	  NAME ":3: general.portmaplease: must be between 0 and 604800" },
	{ "general: {\n" REQ EXTIP " portmap = \"natpmp\";\n};\nrtp: {\n  rtpstart = 10000; rtpend = 10511;\n};\n",
	  NAME ":5: rtp.rtpend: with general.portmap the pool is mapped on the router port by port: "
	  "at most 511 ports (rtpend - rtpstart + 1), this pool has 512" },

	/* syntax, including what libconfig itself refuses */
	{ G("bindport = ;"), NAME ":3: syntax error: syntax error" },
	{ G("bindport = 5060; bindport = 5061;"), NAME ":3: syntax error: duplicate setting name" },
	{ "general: {\n  localnet = [ \"10.0.0.0/8\", 8 ];\n};\n",
	  NAME ":2: syntax error: mismatched element type in array" },
};

START_TEST(test_bad)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = load(bad[_i].text, err);

	ck_assert_msg(conf == NULL, "accepted:\n%s", bad[_i].text);
	ck_assert_str_eq(err, bad[_i].want);
}
END_TEST

/* Accepted variants of single keys, each with the field it must set. */
static const struct {
	const char *text;
	const char *what;
} good[] = {
	{ G("bindport = 5080L;"), "bindport int64" },
	{ G("transport = \"udp, TCP\";"), "transport with a space, any case" },
	{ G("transport = \"udp,tcp\"; tcpenable = true; tcpbindaddr = \"192.0.2.10:5080\";"),
	  "tcp twice said" },
	{ "general: {\n  pbx = \"192.168.0.20\";" EXTIP "\n"
	  "  localnet = [ \"192.168.0.0/24\", \"2001:db8:1::/48\", \"fd00::/8\" ];\n};\n",
	  "localnet with IPv6 prefixes" },
	{ G("banprefix6 = 56;"), "banprefix6" },
	{ G("bindport = 0x13c4;"), "bindport hex" },
	{ GX("externhost = \"a-b.example\";"), "externhost" },
	{ GX("externhost = \"pbxhost\";"), "externhost one label" },
	{ G("banafter = 0; bantime = 0;"), "never ban" },
	{ G("minexpiry = 120; maxexpiry = 120;"), "expiries equal" },
	{ R("rtpstart = 10000; rtpend = 10003;"), "two port pairs" },
	{ "general: {\n" REQ " externip = \"auto\"; portmap = \"auto\";\n};\nrtp: { rtpend = 10510; };\n",
	  "externip from the router, the largest pool portmap maps" },
	{ "general: {\n" REQ " externip = \"auto\"; externhost = \"h.example\"; portmap = \"pcp\";\n};\n"
	  "rtp: { rtpend = 10099; };\n", "router first, externhost as the fallback" },
	{ G("portmap = \"off\"; portmaplease = 0;"), "portmap off, permanent leases" },
	{ R("rtpstart = 65530; rtpend = 65535;"), "top of the port range" },
	{ BASE "peers: ( );\n", "no peers" },
	{ BASE "rtp: { };\nlogging: { };\n", "empty groups" },
	{ "general: {\n" REQ EXTIP " allowguest = true;\n};\npeers: ( { name = \"guestly\"; } );\n",
	  "dynamic peer without secret when allowguest" },
	{ P("{ name = \"trunk\"; host = \"192.0.2.1\"; }"), "trunk without secret" },
	{ P("{ name = \"A.b-c_d!e~f*g'h+1\"; secret = \"s\"; }"), "every token character" },
};

START_TEST(test_good)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = load(good[_i].text, err);

	ck_assert_msg(conf != NULL, "%s: %s", good[_i].what, err);
	conf_free(conf);
}
END_TEST

/* Issue 20: the address keys take IPv6 literals, each setting its own field
 * and leaving the IPv4 meaning of the key as it was. */
static const struct {
	const char *text, *what;
	const char *bind6, *ext4, *ext6, *pbx, *local6, *host, *tcp6;
	uint16_t host_port;
} v6_good[] = {
	{ G("bindaddr = \"::\";"), "bindaddr ::", "::", "203.0.113.7", NULL, "192.168.0.20:5060", NULL, NULL,
	  "[::]:5060", 0 },
	{ G("bindaddr = \"[2001:db8:1::10]\"; transport = \"udp,tcp\";"), "bindaddr IPv6 in brackets",
	  "2001:db8:1::10", "203.0.113.7", NULL, "192.168.0.20:5060", NULL, NULL, "[2001:db8:1::10]:5060", 0 },
	{ GX("externip = \"203.0.113.1, 2001:db8:1::10\";"), "externip one per family", NULL, "203.0.113.1",
	  "2001:db8:1::10", "192.168.0.20:5060", NULL, NULL, NULL, 0 },
	{ GX("externip = \"2001:DB8:1::10\";"), "externip IPv6 alone", NULL, NULL, "2001:db8:1::10",
	  "192.168.0.20:5060", NULL, NULL, NULL, 0 },
	{ "general: {\n  localnet = [ \"192.168.0.0/24\" ]; pbx = \"[fd00::20]:5080\";" EXTIP "\n};\n",
	  "pbx IPv6 with a port", NULL, "203.0.113.7", NULL, "[fd00::20]:5080", NULL, NULL, NULL, 0 },
	{ "general: {\n  localnet = [ \"192.168.0.0/24\" ]; pbx = \"fd00::20\";" EXTIP "\n};\n",
	  "pbx IPv6 bare", NULL, "203.0.113.7", NULL, "[fd00::20]:5060", NULL, NULL, NULL, 0 },
	{ G("localaddr = \"192.168.0.10, fd00::10\";"), "localaddr one per family", NULL, "203.0.113.7", NULL,
	  "192.168.0.20:5060", "fd00::10", NULL, NULL, 0 },
	{ P("{ name = \"t6\"; host = \"[2001:db8:20::20]:5070\"; }"), "peer host IPv6 with a port", NULL,
	  "203.0.113.7", NULL, "192.168.0.20:5060", NULL, "2001:db8:20::20", NULL, 5070 },
	{ P("{ name = \"t6\"; host = \"2001:db8:20::20\"; }"), "peer host IPv6 bare", NULL, "203.0.113.7",
	  NULL, "192.168.0.20:5060", NULL, "2001:db8:20::20", NULL, 5060 },
	{ G("transport = \"udp,tcp\"; tcpbindaddr = \"[2001:db8:1::10]:5070\";"), "tcpbindaddr IPv6", NULL,
	  "203.0.113.7", NULL, "192.168.0.20:5060", NULL, NULL, "[2001:db8:1::10]:5070", 0 },
	/* behind a CGNAT: no external IPv4 address to give, IPv6 needs none */
	{ GX("bindaddr = \"::\";"), "bindaddr :: without externip", "::", NULL, NULL, "192.168.0.20:5060",
	  NULL, NULL, "[::]:5060", 0 },
};

START_TEST(test_v6_good)
{
	char err[CONF_ERR_MAX], buf[NETADDR_TEXT_MAX];
	struct conf *conf = load(v6_good[_i].text, err);

	ck_assert_msg(conf != NULL, "%s: %s", v6_good[_i].what, err);
	ck_assert_int_eq(conf->has_bindaddr6, v6_good[_i].bind6 != NULL);
	if (v6_good[_i].bind6) {
		ck_assert_str_eq(netaddr_print(&conf->bindaddr6, buf), v6_good[_i].bind6);
		ck_assert_uint_eq(conf->bindaddr.s_addr, htonl(INADDR_ANY)); /* IPv4 on 0.0.0.0 */
	}
	ck_assert_int_eq(conf->has_externip, v6_good[_i].ext4 != NULL);
	if (v6_good[_i].ext4)
		ck_assert_str_eq(inet_ntoa(conf->externip), v6_good[_i].ext4);
	ck_assert_int_eq(conf->has_externip6, v6_good[_i].ext6 != NULL);
	if (v6_good[_i].ext6)
		ck_assert_str_eq(netaddr_print(&conf->externip6, buf), v6_good[_i].ext6);
	ck_assert_str_eq(netaddr_print(&conf->pbxaddr, buf), v6_good[_i].pbx);
	ck_assert_int_eq(conf->has_localaddr6, v6_good[_i].local6 != NULL);
	if (v6_good[_i].local6)
		ck_assert_str_eq(netaddr_print(&conf->localaddr6, buf), v6_good[_i].local6);
	if (v6_good[_i].host) {
		ck_assert_str_eq(conf->peers[0].host, v6_good[_i].host);
		ck_assert_uint_eq(conf->peers[0].port, v6_good[_i].host_port);
	}
	if (v6_good[_i].tcp6)
		ck_assert_str_eq(netaddr_print(&conf->tcpbind6, buf), v6_good[_i].tcp6);
	else
		ck_assert_int_eq(conf->tcpbind6.family, 0);
	conf_free(conf);
}
END_TEST

/* Bad IPv6 values are reported with the file's line, as -t shows them. */
static const struct {
	const char *text, *want;
} v6_bad[] = {
	{ G("bindaddr = \"2001:db8::1::2\";"), NAME ":3: general.bindaddr: not an IPv4 or IPv6 address" },
	{ G("bindaddr = \"[::]:5060\";"), NAME ":3: general.bindaddr: not an IPv4 or IPv6 address" },
	{ GX("externip = \"203.0.113.1, 203.0.113.2\";"), NAME ":3: general.externip: at most one address of each family" },
	{ GX("externip = \"2001:db8::1, 2001:db8::2\";"), NAME ":3: general.externip: at most one address of each family" },
	{ GX("externip = \"::\";"), NAME ":3: general.externip: not an address: want an IPv4 address, \"auto\", an IPv6 address or one of each, comma-separated" },
	{ GX("externip = \"203.0.113.1,\";"), NAME ":3: general.externip: not an address: want an IPv4 address, \"auto\", an IPv6 address or one of each, comma-separated" },
	{ "general: {\n  localnet = [ \"192.168.0.0/24\" ]; externip = \"203.0.113.7\";\n"
	  "  pbx = \"[fd00::20]:0\";\n};\n",
	  NAME ":3: general.pbx: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
	{ "general: {\n  localnet = [ \"192.168.0.0/24\" ]; externip = \"203.0.113.7\";\n"
	  "  pbx = \"[fd00::20\";\n};\n",
	  NAME ":3: general.pbx: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
	{ P("{ name = \"t6\"; host = \"[2001:db8::1]:99999\"; }"),
	  NAME ":5: peers.t6.host: must be \"dynamic\", a host name or an IP address, with an optional :port" },
	{ G("tcpbindaddr = \"[2001:db8::1\";"),
	  NAME ":3: general.tcpbindaddr: not an address: want a.b.c.d, a.b.c.d:port, an IPv6 address or [IPv6]:port" },
};

START_TEST(test_v6_bad)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = load(v6_bad[_i].text, err);

	ck_assert_ptr_null(conf);
	ck_assert_str_eq(err, v6_bad[_i].want);
}
END_TEST

START_TEST(test_defaults)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = load(BASE, err);

	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_str_eq(conf->path, NAME);
	ck_assert_uint_eq(conf->bindaddr.s_addr, htonl(INADDR_ANY));
	ck_assert_uint_eq(conf->bindport, 5060);
	ck_assert_ptr_null(conf->externhost);
	ck_assert(conf->has_externip);
	ck_assert_uint_eq(ntohl(conf->externip.s_addr), 0xcb007107);
	ck_assert_int_eq(conf->externrefresh_s, 10);
	ck_assert_uint_eq(conf->localnet_count, 1);
	ck_assert_uint_eq(conf->localnet[0].net, 0xc0a80000);
	ck_assert_uint_eq(conf->localnet[0].mask, 0xffffff00);
	ck_assert_int_eq(conf->pbxaddr.family, AF_INET);
	ck_assert_uint_eq(ntohl(conf->pbxaddr.ip.v4.s_addr), 0xc0a80014);
	ck_assert_uint_eq(conf->pbxaddr.port, 5060);
	ck_assert(!conf->has_localaddr);
	ck_assert_str_eq(conf->realm, "sipnatd");
	ck_assert(!conf->allowguest);
	ck_assert(conf->alwaysauthreject);
	ck_assert_int_eq(conf->banafter, 10);
	ck_assert_int_eq(conf->bantime_s, 600);
	ck_assert_int_eq(conf->banprefix6, 64);
	ck_assert_int_eq(conf->maxexpiry_s, 3600);
	ck_assert_int_eq(conf->minexpiry_s, 60);
	ck_assert_int_eq(conf->defaultexpiry_s, 120);
	ck_assert_str_eq(conf->statefile, "/var/lib/sipnatd/registrations");
	ck_assert_str_eq(conf->control, "/run/sipnatd/control");
	ck_assert_str_eq(conf->resolvconf, "/etc/resolv.conf");
	/* the product, not its version (issue 11) */
	ck_assert_str_eq(conf->useragent, "sipnatd");
	ck_assert_int_eq(conf->rtpstart, 10000);
	ck_assert_int_eq(conf->rtpend, 11000);
	ck_assert_int_eq(conf->rtptimeout_s, 60);
	ck_assert_int_eq(conf->rtpholdtimeout_s, 300);
	ck_assert(conf->strictrtp);
	ck_assert_uint_eq(conf->peer_count, 0);
	ck_assert_ptr_null(conf->peers);
	ck_assert_int_eq(conf->log_level, CONF_LOG_NOTICE);
	ck_assert(!conf->siptrace);
	/* UDP only unless told; the stream listeners' defaults (issue 15) */
	ck_assert_uint_eq(conf->transports, CONF_TRANSPORT_UDP);
	ck_assert_uint_eq(conf->tcpbind.sin_addr.s_addr, htonl(INADDR_ANY));
	ck_assert_uint_eq(ntohs(conf->tcpbind.sin_port), 5060);
	ck_assert_uint_eq(conf->tlsbind.sin_addr.s_addr, htonl(INADDR_ANY));
	ck_assert_uint_eq(ntohs(conf->tlsbind.sin_port), 5061);
	ck_assert_ptr_null(conf->tlscertfile);
	ck_assert_ptr_null(conf->tlsprivatekey);
	ck_assert_ptr_null(conf->tlscafile);
	ck_assert_int_eq(conf->tcpmaxheadersize, 16384);
	ck_assert_int_eq(conf->tcpmaxperaddr, 8);
	ck_assert_int_eq(conf->tcpmaxconnections, 1000);
	ck_assert_int_eq(conf->tcpidletimeout_s, 3600);
	ck_assert_int_eq(conf->tcpmsgtimeout_s, 10);
	conf_free(conf);
}
END_TEST

START_TEST(test_streams)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = load(G("bindaddr = \"192.0.2.10\"; bindport = 5070;"
				   " transport = \"udp,tcp\"; tcpmaxperaddr = 3;"), err);

	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_uint_eq(conf->transports, CONF_TRANSPORT_UDP | CONF_TRANSPORT_TCP);
	/* the TCP listener follows bindaddr:bindport, TLS bindaddr:5061 */
	ck_assert_uint_eq(ntohl(conf->tcpbind.sin_addr.s_addr), 0xc000020a);
	ck_assert_uint_eq(ntohs(conf->tcpbind.sin_port), 5070);
	ck_assert_uint_eq(ntohl(conf->tlsbind.sin_addr.s_addr), 0xc000020a);
	ck_assert_uint_eq(ntohs(conf->tlsbind.sin_port), 5061);
	ck_assert_int_eq(conf->tcpmaxperaddr, 3);
	conf_free(conf);

	conf = load(G("tcpenable = true; tcpbindaddr = \"198.51.100.1\";"), err);
	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_uint_eq(conf->transports, CONF_TRANSPORT_UDP | CONF_TRANSPORT_TCP);
	ck_assert_uint_eq(ntohl(conf->tcpbind.sin_addr.s_addr), 0xc6336401);
	ck_assert_uint_eq(ntohs(conf->tcpbind.sin_port), 5060);
	ck_assert_int_eq(conf->portmap, CONF_PORTMAP_OFF);
	ck_assert_int_eq(conf->portmaplease_s, 3600);
	ck_assert(!conf->externip_auto);
	conf_free(conf);
}
END_TEST

START_TEST(test_peer_defaults)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = load(P("{ name = \"alice\"; secret = \"pw\"; }"), err);
	const struct conf_peer *peer;

	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_uint_eq(conf->peer_count, 1);
	peer = &conf->peers[0];
	ck_assert_str_eq(peer->name, "alice");
	ck_assert_str_eq(peer->secret, "pw");
	ck_assert_ptr_null(peer->host);
	ck_assert_uint_eq(peer->port, 5060);
	ck_assert_uint_eq(peer->nat, CONF_NAT_FORCE_RPORT | CONF_NAT_COMEDIA);
	ck_assert(peer->qualify);
	ck_assert_int_eq(peer->qualifyfreq_s, 25);
	ck_assert(!peer->directmedia);
	ck_assert_int_eq(peer->calllimit, 0);
	ck_assert_int_eq(peer->maxrelays, 0);
	ck_assert_int_eq(peer->line, 5);
	conf_free(conf);
}
END_TEST

/* Every key set to something other than its default. */
static const char every_key[] =
	"general: {\n"
	"  bindaddr = \"192.168.0.10\"; bindport = 5080;\n"
	"  externhost = \"home.example.net\"; externrefresh = 30;\n"
	"  localnet = ( \"10.1.2.3/8\", \"192.168.7.0/255.255.254.0\", \"192.0.2.1/32\" );\n"
	"  pbx = \"192.168.0.20:5062\"; localaddr = \"192.168.0.10\";\n"
	"  realm = \"example.net\"; allowguest = true; alwaysauthreject = false;\n"
	"  banafter = 5; bantime = 3600; banprefix6 = 48;\n"
	"  maxexpiry = 7200; minexpiry = 30; defaultexpiry = 300;\n"
	"  statefile = \"/tmp/reg\"; control = \"/tmp/ctl\"; resolvconf = \"/tmp/resolv\";"
	" useragent = \"Home PBX (Acme 2.0)\";\n"
	"};\n"
	"rtp: { rtpstart = 20000; rtpend = 20999; rtptimeout = 30; rtpholdtimeout = 600;\n"
	"       strictrtp = false; };\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"a\"; host = \"dynamic\"; nat = \"force_rport\";\n"
	"    qualify = false; qualifyfreq = 60; directmedia = true; },\n"
	"  { name = \"bob\"; host = \"192.0.2.1:5070\"; nat = \"comedia\"; },\n"
	"  { name = \"trunk\"; host = \"sip.provider.example\"; nat = \"no\"; },\n"
	"  { name = \"carol\"; secret = \"c\"; nat = \"comedia,force_rport\"; },\n"
	"  { name = \"erin\"; secret = \"e\"; nat = \"auto\"; calllimit = 2; maxrelays = 3; },\n"
	"  { name = \"frank\"; secret = \"f\"; nat = \"auto_force_rport,auto_comedia\"; },\n"
	"  { name = \"gina\"; secret = \"g\"; nat = \"auto_comedia\"; }\n"
	");\n"
	"logging: { level = \"debug\"; siptrace = true; };\n";

START_TEST(test_every_key)
{
	char err[CONF_ERR_MAX];
	struct conf *conf = load(every_key, err);
	const struct conf_peer *p;

	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_uint_eq(ntohl(conf->bindaddr.s_addr), 0xc0a8000a);
	ck_assert_uint_eq(conf->bindport, 5080);
	ck_assert_str_eq(conf->externhost, "home.example.net");
	ck_assert(!conf->has_externip);
	ck_assert_int_eq(conf->externrefresh_s, 30);
	ck_assert_uint_eq(conf->localnet_count, 3);
	/* host bits are masked off */
	ck_assert_uint_eq(conf->localnet[0].net, 0x0a000000);
	ck_assert_uint_eq(conf->localnet[0].mask, 0xff000000);
	ck_assert_uint_eq(conf->localnet[1].net, 0xc0a80600);
	ck_assert_uint_eq(conf->localnet[1].mask, 0xfffffe00);
	ck_assert_uint_eq(conf->localnet[2].net, 0xc0000201);
	ck_assert_uint_eq(conf->localnet[2].mask, 0xffffffff);
	ck_assert_uint_eq(ntohl(conf->pbxaddr.ip.v4.s_addr), 0xc0a80014);
	ck_assert_uint_eq(conf->pbxaddr.port, 5062);
	ck_assert(conf->has_localaddr);
	ck_assert_uint_eq(ntohl(conf->localaddr.s_addr), 0xc0a8000a);
	ck_assert_str_eq(conf->realm, "example.net");
	ck_assert(conf->allowguest);
	ck_assert(!conf->alwaysauthreject);
	ck_assert_int_eq(conf->banafter, 5);
	ck_assert_int_eq(conf->bantime_s, 3600);
	ck_assert_int_eq(conf->maxexpiry_s, 7200);
	ck_assert_int_eq(conf->minexpiry_s, 30);
	ck_assert_int_eq(conf->defaultexpiry_s, 300);
	ck_assert_str_eq(conf->statefile, "/tmp/reg");
	ck_assert_str_eq(conf->control, "/tmp/ctl");
	ck_assert_str_eq(conf->resolvconf, "/tmp/resolv");
	ck_assert_str_eq(conf->useragent, "Home PBX (Acme 2.0)");
	ck_assert_int_eq(conf->rtpstart, 20000);
	ck_assert_int_eq(conf->rtpend, 20999);
	ck_assert_int_eq(conf->rtptimeout_s, 30);
	ck_assert_int_eq(conf->rtpholdtimeout_s, 600);
	ck_assert(!conf->strictrtp);
	ck_assert_int_eq(conf->log_level, CONF_LOG_DEBUG);
	ck_assert(conf->siptrace);

	ck_assert_uint_eq(conf->peer_count, 7);
	p = conf_peer_find(conf, "alice");
	ck_assert_ptr_eq(p, &conf->peers[0]);
	ck_assert_str_eq(p->secret, "a");
	ck_assert_ptr_null(p->host);
	ck_assert_uint_eq(p->nat, CONF_NAT_FORCE_RPORT);
	ck_assert(!p->qualify);
	ck_assert_int_eq(p->qualifyfreq_s, 60);
	ck_assert(p->directmedia);
	ck_assert_int_eq(p->line, 14);
	p = conf_peer_find(conf, "bob");
	ck_assert_ptr_null(p->secret);
	ck_assert_str_eq(p->host, "192.0.2.1");
	ck_assert_uint_eq(p->port, 5070);
	ck_assert_uint_eq(p->nat, CONF_NAT_COMEDIA);
	p = conf_peer_find(conf, "trunk");
	ck_assert_str_eq(p->host, "sip.provider.example");
	ck_assert_uint_eq(p->port, 5060);
	ck_assert_uint_eq(p->nat, 0);
	p = conf_peer_find(conf, "carol");
	ck_assert_uint_eq(p->nat, CONF_NAT_FORCE_RPORT | CONF_NAT_COMEDIA);
	ck_assert_int_eq(p->calllimit, 0);
	p = conf_peer_find(conf, "erin");
	ck_assert_uint_eq(p->nat, CONF_NAT_AUTO);
	ck_assert_int_eq(p->calllimit, 2);
	ck_assert_int_eq(p->maxrelays, 3);
	/* Asterisk 13's spellings carry over */
	ck_assert_uint_eq(conf_peer_find(conf, "frank")->nat, CONF_NAT_AUTO);
	ck_assert_uint_eq(conf_peer_find(conf, "gina")->nat, 0);
	ck_assert_ptr_null(conf_peer_find(conf, "dave"));
	ck_assert_ptr_null(conf_peer_find(conf, "Alice"));
	conf_free(conf);
}
END_TEST

/* digestalgs: each value, its order, the default, and a peer inheriting it. */
/* general.portmap and externip = "auto" (issue 14) */
START_TEST(test_portmap)
{
	static const char *const names[] = { "off", "upnp", "natpmp", "pcp", "auto" };
	char err[CONF_ERR_MAX], text[512];
	enum conf_portmap pm;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(text, sizeof(text),
			 "general: {\n" REQ " externhost = \"h.example\"; portmap = \"%s\"; portmaplease = 30;\n};\n"
			 "rtp: { rtpstart = 20000; rtpend = 20099; };\n", names[i]);
		struct conf *conf = load(text, err);
		ck_assert_msg(conf != NULL, "%s: %s", names[i], err);
		ck_assert_str_eq(conf_portmap_name(conf->portmap), names[i]);
		ck_assert(conf_portmap_parse(names[i], &pm));
		ck_assert_int_eq(pm, conf->portmap);
		ck_assert_int_eq(conf->portmaplease_s, 30);
		ck_assert(!conf->externip_auto);
		conf_free(conf);
	}
	ck_assert(!conf_portmap_parse("UPNP", &pm));
	ck_assert(!conf_portmap_parse("", &pm));

	struct conf *conf = load("general: {\n" REQ " externip = \"auto\"; portmap = \"natpmp\";\n};\n"
				 "rtp: { rtpstart = 10000; rtpend = 10019; };\n", err);
	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert(conf->externip_auto);
	ck_assert(!conf->has_externip);
	ck_assert_ptr_null(conf->externhost);
	ck_assert_int_eq(conf->portmap, CONF_PORTMAP_NATPMP);
	ck_assert_int_eq(conf->portmaplease_s, 3600);
	conf_free(conf);
}
END_TEST

START_TEST(test_digestalgs)
{
	static const struct {
		const char *text;
		size_t count;
		enum conf_digest_alg first, second;
	} values[] = {
		{ "md5", 1, CONF_DIGEST_MD5, CONF_DIGEST_MD5 },
		{ "sha256", 1, CONF_DIGEST_SHA256, CONF_DIGEST_SHA256 },
		{ "sha256,md5", 2, CONF_DIGEST_SHA256, CONF_DIGEST_MD5 },
		{ "md5,sha256", 2, CONF_DIGEST_MD5, CONF_DIGEST_SHA256 },
	};
	char err[CONF_ERR_MAX], text[512];
	struct conf_digestalgs algs;
	struct conf *conf;

	/* the default: MD5 alone, the one form every phone of tests/nat/softphones.sh answers */
	conf = load(P("{ name = \"alice\"; secret = \"pw\"; }"), err);
	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_uint_eq(conf->digestalgs.count, 1);
	ck_assert_int_eq(conf->digestalgs.alg[0], CONF_DIGEST_MD5);
	ck_assert_uint_eq(conf->peers[0].digestalgs.count, 0);
	ck_assert_ptr_eq(conf_peer_digestalgs(conf, &conf->peers[0]), &conf->digestalgs);
	ck_assert_ptr_eq(conf_peer_digestalgs(conf, NULL), &conf->digestalgs);
	conf_free(conf);

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		ck_assert(conf_digestalgs_parse(values[i].text, &algs));
		ck_assert_uint_eq(algs.count, values[i].count);
		ck_assert_int_eq(algs.alg[0], values[i].first);
		ck_assert(conf_digestalgs_has(&algs, values[i].second));
		if (algs.count == 2)
			ck_assert_int_eq(algs.alg[1], values[i].second);
		else
			ck_assert(!conf_digestalgs_has(&algs, values[i].first == CONF_DIGEST_MD5
								 ? CONF_DIGEST_SHA256 : CONF_DIGEST_MD5));

		/* general, and a peer of its own next to one that inherits */
		snprintf(text, sizeof(text),
			 "general: {\n" REQ EXTIP " digestalgs = \"%s\";\n};\n"
			 "peers: (\n  { name = \"own\"; secret = \"s\"; digestalgs = \"%s\"; },\n"
			 "  { name = \"inherits\"; secret = \"s\"; }\n);\n",
			 values[i].text, values[i].count == 2 ? (i % 2 ? "sha256" : "md5") : values[i].text);
		conf = load(text, err);
		ck_assert_msg(conf != NULL, "%s: %s", values[i].text, err);
		ck_assert_uint_eq(conf->digestalgs.count, values[i].count);
		ck_assert_int_eq(conf->digestalgs.alg[0], values[i].first);
		const struct conf_peer *own = conf_peer_find(conf, "own");
		const struct conf_peer *inherits = conf_peer_find(conf, "inherits");
		ck_assert_ptr_eq(conf_peer_digestalgs(conf, own), &own->digestalgs);
		ck_assert_uint_eq(own->digestalgs.count, 1);
		ck_assert_ptr_eq(conf_peer_digestalgs(conf, inherits), &conf->digestalgs);
		conf_free(conf);
	}
	ck_assert(!conf_digestalgs_parse("md5,md5", &algs));
	ck_assert(!conf_digestalgs_parse("sha256,", &algs));
	ck_assert(!conf_digestalgs_parse("SHA256", &algs));
}
END_TEST

START_TEST(test_shipped_example)
{
	const char *path = SIPNATD_TEST_DATA "/../../conf/sipnatd.conf";
	char err[CONF_ERR_MAX] = "";
	struct conf *conf = conf_load_file(path, err);
	const struct conf_peer *p;

	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_str_eq(conf->path, path);
	ck_assert_uint_eq(conf->bindaddr.s_addr, htonl(INADDR_ANY));
	ck_assert_uint_eq(conf->bindport, 5060);
	ck_assert_str_eq(conf->externhost, "home.example.net");
	ck_assert_uint_eq(conf->localnet_count, 2);
	ck_assert_uint_eq(conf->localnet[0].net, 0xc0a80000);
	ck_assert_uint_eq(conf->localnet[1].net, 0x7f000000);
	ck_assert_uint_eq(conf->localnet[1].mask, 0xff000000);
	ck_assert_uint_eq(ntohl(conf->pbxaddr.ip.v4.s_addr), 0xc0a80014);
	ck_assert_uint_eq(conf->peer_count, 3);
	ck_assert_ptr_nonnull(conf_peer_find(conf, "alice"));
	ck_assert_ptr_nonnull(conf_peer_find(conf, "bob"));
	p = conf_peer_find(conf, "provider");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->host, "sip.provider.example");
	ck_assert_int_eq(conf->log_level, CONF_LOG_NOTICE);
	conf_free(conf);
}
END_TEST

START_TEST(test_file_messages)
{
	char err[CONF_ERR_MAX];
	const char *path;

	path = SIPNATD_TEST_DATA "/conf/bindport-five.conf";
	ck_assert_ptr_null(conf_load_file(path, err));
	ck_assert_str_eq(err, SIPNATD_TEST_DATA "/conf/bindport-five.conf:3: "
			 "general.bindport: must be an integer");

	path = SIPNATD_TEST_DATA "/conf/syntax-error.conf";
	ck_assert_ptr_null(conf_load_file(path, err));
	ck_assert_str_eq(err, SIPNATD_TEST_DATA "/conf/syntax-error.conf:3: "
			 "syntax error: syntax error");

	path = SIPNATD_TEST_DATA "/conf/no-such-file.conf";
	ck_assert_ptr_null(conf_load_file(path, err));
	ck_assert_str_eq(err, SIPNATD_TEST_DATA "/conf/no-such-file.conf: "
			 "No such file or directory");

	path = SIPNATD_TEST_DATA "/conf";
	ck_assert_ptr_null(conf_load_file(path, err));
	ck_assert_str_eq(err, SIPNATD_TEST_DATA "/conf: Is a directory");
}
END_TEST

static const struct {
	const char *text;
	bool ok;
	uint32_t net, mask;
	const char *prefix; /* the prefix as printed, either family */
} nets[] = {
	{ "192.168.0.0/24", true, 0xc0a80000, 0xffffff00, "192.168.0.0/24" },
	{ "192.168.0.77/24", true, 0xc0a80000, 0xffffff00, "192.168.0.0/24" },
	{ "192.168.0.0/255.255.255.0", true, 0xc0a80000, 0xffffff00, "192.168.0.0/24" },
	{ "10.9.8.7/255.0.0.0", true, 0x0a000000, 0xff000000, "10.0.0.0/8" },
	{ "10.9.8.7/32", true, 0x0a090807, 0xffffffff, "10.9.8.7/32" },
	{ "10.9.8.7/255.255.255.255", true, 0x0a090807, 0xffffffff, "10.9.8.7/32" },
	{ "10.9.8.7/0", true, 0, 0, "0.0.0.0/0" },
	{ "10.9.8.7/0.0.0.0", true, 0, 0, "0.0.0.0/0" },
	{ "10.0.0.0", false, 0, 0, NULL },
	{ "10.0.0.0/", false, 0, 0, NULL },
	{ "/8", false, 0, 0, NULL },
	{ "10.0.0/8", false, 0, 0, NULL },
	{ "10.0.0.0/33", false, 0, 0, NULL },
	{ "10.0.0.0/-1", false, 0, 0, NULL },
	{ "10.0.0.0/8x", false, 0, 0, NULL },
	{ "10.0.0.0/ 8", false, 0, 0, NULL },
	{ "10.0.0.0/008", false, 0, 0, NULL },
	{ "10.0.0.0/255.0.255.0", false, 0, 0, NULL },
	{ "10.0.0.0/0.255.255.255", false, 0, 0, NULL },
	{ "10.0.0.0/255.255.256.0", false, 0, 0, NULL },
	{ "10.0.0.256/8", false, 0, 0, NULL },
	{ "host.example/8", false, 0, 0, NULL },
	{ "", false, 0, 0, NULL },
	/* IPv6 (issue 20): net and mask stay 0, the prefix says it */
	{ "2001:db8:1::/48", true, 0, 0, "2001:db8:1::/48" },
	{ "2001:db8:1:2:3::9/48", true, 0, 0, "2001:db8:1::/48" },
	{ "fd00::/8", true, 0, 0, "fd00::/8" },
	{ "fe80::1/10", true, 0, 0, "fe80::/10" },
	{ "2001:DB8::1/128", true, 0, 0, "2001:db8::1/128" },
	{ "::/0", true, 0, 0, "::/0" },
	{ "::ffff:10.1.2.3/104", true, 0x0a000000, 0xff000000, "10.0.0.0/8" },
	{ "::ffff:10.1.2.3/64", false, 0, 0, NULL },
	{ "2001:db8::/129", false, 0, 0, NULL },
	{ "2001:db8::/0128", false, 0, 0, NULL },
	{ "2001:db8::/ffff::", false, 0, 0, NULL },
	{ "[2001:db8::]/32", false, 0, 0, NULL },
	{ "2001:db8::%eth0/64", false, 0, 0, NULL },
	{ "2001:db8:::/64", false, 0, 0, NULL },
};

START_TEST(test_net_parse)
{
	struct conf_net net;
	char text[NETADDR_TEXT_MAX];
	bool ok;

	memset(&net, 0xa5, sizeof(net));
	ok = conf_net_parse(nets[_i].text, &net);
	ck_assert_msg(ok == nets[_i].ok, "\"%s\": %s", nets[_i].text, ok ? "accepted" : "refused");
	if (ok) {
		ck_assert_uint_eq(net.net, nets[_i].net);
		ck_assert_uint_eq(net.mask, nets[_i].mask);
		ck_assert_str_eq(netaddr_prefix_print(&net.prefix, text), nets[_i].prefix);
	}
}
END_TEST

START_TEST(test_log_levels)
{
	static const char *const names[] = { "error", "warning", "notice", "info", "debug" };
	enum conf_log_level level;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert(conf_log_level_parse(names[i], &level));
		ck_assert_int_eq(level, CONF_LOG_ERROR + (int)i);
		ck_assert_str_eq(conf_log_level_name(level), names[i]);
	}
	ck_assert(!conf_log_level_parse("Notice", &level));
	ck_assert(!conf_log_level_parse("", &level));
	ck_assert(!conf_log_level_parse(NULL, &level));
	ck_assert_str_eq(conf_log_level_name((enum conf_log_level)0), "unknown");
	ck_assert_str_eq(conf_log_level_name((enum conf_log_level)99), "unknown");
}
END_TEST

START_TEST(test_misc)
{
	char err[CONF_ERR_MAX];
	struct conf *conf;

	conf_free(NULL);
	ck_assert_ptr_null(conf_peer_find(NULL, "alice"));
	/* without a name, messages still say where */
	conf = conf_load_string(G("bindport = 0;"), NULL, err);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(err, "<string>:3: general.bindport: must be between 1 and 65535");
	/* the message survives a very long peer name without overflowing */
	conf = conf_load_string(P("{ name = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "\"; bogus = 1; }"),
				NAME, err);
	ck_assert_ptr_null(conf);
	ck_assert_uint_lt(strlen(err), CONF_ERR_MAX);
	ck_assert(strncmp(err, NAME ":5: peers.aaaa", strlen(NAME ":5: peers.aaaa")) == 0);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_v6_good, 0, (int)(sizeof(v6_good) / sizeof(v6_good[0])));
	tcase_add_loop_test(tc, test_v6_bad, 0, (int)(sizeof(v6_bad) / sizeof(v6_bad[0])));
	tcase_add_test(tc, test_peer_defaults);
	tcase_add_test(tc, test_streams);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_digestalgs);
	tcase_add_test(tc, test_portmap);
	tcase_add_test(tc, test_shipped_example);
	tcase_add_test(tc, test_file_messages);
	tcase_add_loop_test(tc, test_net_parse, 0, sizeof(nets) / sizeof(nets[0]));
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_misc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
