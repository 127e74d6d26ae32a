/*
 * Unit tests for control.c and control_reply.c: the request parser (good
 * lines, junk, over-long, empty, unknown), the JSON of every read-only
 * command from a daemon that has its tables but no SIP socket, and the socket
 * itself in-process: mode 0660, stale socket removed, a missing directory or
 * a foreign file tolerated, slow, silent and surplus clients that never hold
 * the loop, and the file gone after close.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bans.h"
#include "control.h"
#include "control_reply.h"
#include "externaddr.h"
#include "log.h"
#include "media.h"
#include "qualify.h"
#include "registrar.h"
#include "sipmsg.h"

/* ---- the parser ---- */

static enum control_parse parse(const char *text, bool ended, enum control_command *cmd, const char **why)
{
	return control_parse_request(text, strlen(text), ended, cmd, why);
}

START_TEST(parses_every_command)
{
	static const struct {
		const char *line;
		enum control_command cmd;
	} cases[] = {
		{ "peers\n", CONTROL_PEERS },
		{ "registrations\n", CONTROL_REGISTRATIONS },
		{ "calls\r\n", CONTROL_CALLS },
		{ "  stats \t\n", CONTROL_STATS },
		{ "bans\n", CONTROL_BANS },
		{ "reload\n", CONTROL_RELOAD },
		{ "peers\nstats\n", CONTROL_PEERS },   /* one request per connection */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum control_command cmd = (enum control_command)-1;
		const char *why = NULL;
		ck_assert_int_eq(parse(cases[i].line, false, &cmd, &why), CONTROL_PARSE_OK);
		ck_assert_int_eq(cmd, cases[i].cmd);
		/* the name of a command parses back to it */
		char line[32];
		snprintf(line, sizeof(line), "%s\n", control_command_name(cmd));
		ck_assert(strncmp(line, cases[i].line + strspn(cases[i].line, " "), strlen(line) - 1) == 0);
	}
	ck_assert_str_eq(control_command_name(CONTROL_PEERS), "peers");
	ck_assert_str_eq(control_command_name(CONTROL_RELOAD), "reload");
}
END_TEST

START_TEST(waits_for_the_end_of_the_line)
{
	enum control_command cmd;
	const char *why = NULL;

	ck_assert_int_eq(parse("pee", false, &cmd, &why), CONTROL_PARSE_INCOMPLETE);
	ck_assert_int_eq(parse("peers", false, &cmd, &why), CONTROL_PARSE_INCOMPLETE);
	ck_assert_int_eq(control_parse_request(NULL, 0, false, &cmd, &why), CONTROL_PARSE_INCOMPLETE);
	/* the client closed its side: what it sent is the request */
	ck_assert_int_eq(parse("peers", true, &cmd, &why), CONTROL_PARSE_OK);
	ck_assert_int_eq(cmd, CONTROL_PEERS);
	ck_assert_int_eq(parse("pee", true, &cmd, &why), CONTROL_PARSE_ERROR);
}
END_TEST

START_TEST(refuses_empty_unknown_and_junk)
{
	static const char *const unknown[] = { "PEERS\n", "peers extra\n", "peer\n", "help\n",
					       "sip show peers\n", "peers;stats\n" };
	enum control_command cmd;
	const char *why = NULL;

	ck_assert_int_eq(parse("\n", false, &cmd, &why), CONTROL_PARSE_ERROR);
	ck_assert_str_eq(why, "empty request");
	ck_assert_int_eq(parse(" \r\n", false, &cmd, &why), CONTROL_PARSE_ERROR);
	ck_assert_str_eq(why, "empty request");
	ck_assert_int_eq(control_parse_request(NULL, 0, true, &cmd, &why), CONTROL_PARSE_ERROR);
	ck_assert_str_eq(why, "empty request");
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		why = NULL;
		ck_assert_int_eq(parse(unknown[i], false, &cmd, &why), CONTROL_PARSE_ERROR);
		ck_assert_ptr_nonnull(strstr(why, "unknown command"));
	}
	/* binary junk, NUL bytes included */
	static const char junk[] = { 'p', 'e', 'e', 'r', 's', '\0', '\xff', '\x01', '\n' };
	ck_assert_int_eq(control_parse_request(junk, sizeof(junk), false, &cmd, &why), CONTROL_PARSE_ERROR);
	static const char nul_first[] = { '\0', '\n' };
	ck_assert_int_eq(control_parse_request(nul_first, sizeof(nul_first), false, &cmd, &why),
			 CONTROL_PARSE_ERROR);
}
END_TEST

START_TEST(bounds_the_request)
{
	char buf[CONTROL_REQUEST_MAX + 64];
	enum control_command cmd;
	const char *why = NULL;

	/* CONTROL_REQUEST_MAX bytes and still no newline: refused, not waited on */
	memset(buf, 'a', sizeof(buf));
	ck_assert_int_eq(control_parse_request(buf, CONTROL_REQUEST_MAX, false, &cmd, &why),
			 CONTROL_PARSE_ERROR);
	ck_assert_str_eq(why, "request too long");
	ck_assert_int_eq(control_parse_request(buf, sizeof(buf), false, &cmd, &why), CONTROL_PARSE_ERROR);
	/* one byte less is still a request (an unknown one) */
	ck_assert_int_eq(control_parse_request(buf, CONTROL_REQUEST_MAX - 1, false, &cmd, &why),
			 CONTROL_PARSE_INCOMPLETE);
	buf[CONTROL_REQUEST_MAX - 1] = '\n';
	ck_assert_int_eq(control_parse_request(buf, CONTROL_REQUEST_MAX, false, &cmd, &why),
			 CONTROL_PARSE_ERROR);
	ck_assert_ptr_nonnull(strstr(why, "unknown command"));
	/* a known word padded with blanks past the bound */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "peers", 5);
	buf[CONTROL_REQUEST_MAX] = '\n';
	ck_assert_int_eq(control_parse_request(buf, CONTROL_REQUEST_MAX + 1, false, &cmd, &why),
			 CONTROL_PARSE_ERROR);
	ck_assert_str_eq(why, "request too long");
}
END_TEST

/* ---- a daemon with tables and no sockets ---- */

#define RTP_START 46500
#define RTP_END 46507

static const char conf_text[] =
	"general: { bindaddr = \"127.0.0.1\"; bindport = 26599; externip = \"203.0.113.7\";\n"
	"  localnet = [ \"127.0.0.0/8\" ]; pbx = \"127.0.0.1:26598\"; banafter = 3; bantime = 600; };\n"
	"rtp: { rtpstart = 46500; rtpend = 46507; };\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"s3cret\"; },\n"
	"  { name = \"bob\"; secret = \"other\"; qualify = false; },\n"
	"  { name = \"provider\"; host = \"192.0.2.1:5080\"; }\n"
	");\n";

/* The tables a daemon has, seen through the narrow handles the control
 * socket gets (sip_env, control_view). */
static struct {
	struct conf *conf;
	struct event_base *base;
	struct registrar *registrar;
	struct bans *bans;
	struct auth *auth;
	struct qualify *qualify;
	struct media *media;
	struct sip_env env;
	struct control_view view;
} d;

static struct sockaddr_in addr(const char *ip, uint16_t port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	sa.sin_port = htons(port);
	return sa;
}

static void fixture_up(void)
{
	char err[CONF_ERR_MAX];

	memset(&d, 0, sizeof(d));
	sipmsg_global_init();
	d.conf = conf_load_string(conf_text, "test.conf", err);
	ck_assert_msg(d.conf != NULL, "%s", err);
	d.base = event_base_new();
	d.registrar = registrar_new();
	d.bans = bans_new(64);
	d.auth = auth_new();
	d.media = media_new(d.base, d.conf);
	d.env = (struct sip_env){ .conf = d.conf, .registrar = d.registrar, .bans = d.bans,
				  .auth = d.auth, .media = d.media };
	d.qualify = qualify_new(d.base, &d.env);
	d.env.qualify = d.qualify;
	d.view = (struct control_view){ .env = &d.env, .conf_path = "test.conf" };
	ck_assert(d.base && d.registrar && d.bans && d.auth && d.qualify && d.media);
}

static void fixture_down(void)
{
	media_free(d.media);
	qualify_free(d.qualify);
	auth_free(d.auth);
	bans_free(d.bans);
	registrar_free(d.registrar);
	event_base_free(d.base);
	conf_free(d.conf);
	memset(&d, 0, sizeof(d));
}

static json_t *reply_of(enum control_command cmd)
{
	json_t *r = control_reply(&d.view, cmd, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_object(r));
	/* what goes on the wire parses back */
	char *text = json_dumps(r, JSON_COMPACT);
	json_error_t jerr;
	json_t *again = json_loads(text, 0, &jerr);
	ck_assert_msg(again != NULL, "%s", jerr.text);
	ck_assert(json_equal(r, again));
	json_decref(again);
	free(text);
	return r;
}

static const json_t *find_by(const json_t *list, const char *key, const char *value)
{
	size_t i;
	const json_t *e;

	json_array_foreach(list, i, e)
		if (json_is_string(json_object_get(e, key)) &&
		    strcmp(json_string_value(json_object_get(e, key)), value) == 0)
			return e;
	return NULL;
}

static long long int_at(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return (long long)json_integer_value(v);
}

static const char *str_at(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	ck_assert_msg(s != NULL, "%s is not a string", key);
	return s;
}

static void register_alice(time_t now)
{
	struct register_request req;
	struct register_limits limits = { .min_s = 60, .max_s = 3600, .default_s = 120 };
	bool changed = false;

	memset(&req, 0, sizeof(req));
	req.peer = "alice";
	req.call_id = "reg-1";
	req.cseq = 1;
	ck_assert(netaddr_parse("198.51.100.5:40000", &req.nat));
	req.expires = 300;
	req.contact_count = 1;
	req.contacts[0].uri = "sip:alice@192.168.1.5:5060";
	req.contacts[0].expires = -1;
	ck_assert_int_eq(registrar_apply(d.registrar, &req, &limits, now, &changed), REGISTER_OK);
}

START_TEST(peers_reply)
{
	register_alice(time(NULL));
	json_t *r = reply_of(CONTROL_PEERS);
	const json_t *peers = json_object_get(r, "peers");

	ck_assert_uint_eq(json_array_size(peers), 4);
	const json_t *alice = find_by(peers, "name", "alice");
	ck_assert_ptr_nonnull(alice);
	ck_assert_str_eq(str_at(alice, "kind"), "dynamic");
	ck_assert_str_eq(str_at(alice, "host"), "198.51.100.5:40000");
	ck_assert_int_eq(int_at(alice, "bindings"), 1);
	ck_assert_str_eq(str_at(alice, "status"), "UNKNOWN");
	ck_assert(json_is_null(json_object_get(alice, "rtt_ms")));
	const json_t *bob = find_by(peers, "name", "bob");
	ck_assert_str_eq(str_at(bob, "status"), "UNMONITORED");
	ck_assert(json_is_null(json_object_get(bob, "host")));
	ck_assert_int_eq(int_at(bob, "bindings"), 0);
	const json_t *provider = find_by(peers, "name", "provider");
	ck_assert_str_eq(str_at(provider, "kind"), "trunk");
	ck_assert_str_eq(str_at(provider, "host"), "192.0.2.1:5080");
	/* the PBX comes last, under the name daemon.c pings it by */
	const json_t *pbx = json_array_get(peers, 3);
	ck_assert_str_eq(str_at(pbx, "name"), "PBX");
	ck_assert_str_eq(str_at(pbx, "kind"), "pbx");
	ck_assert_str_eq(str_at(pbx, "host"), "127.0.0.1:26598");
	json_decref(r);
}
END_TEST

START_TEST(registrations_reply)
{
	time_t now = time(NULL);

	register_alice(now);
	json_t *r = reply_of(CONTROL_REGISTRATIONS);
	const json_t *list = json_object_get(r, "registrations");
	ck_assert_uint_eq(json_array_size(list), 1);
	const json_t *b = json_array_get(list, 0);
	ck_assert_str_eq(str_at(b, "peer"), "alice");
	ck_assert_str_eq(str_at(b, "contact"), "sip:alice@192.168.1.5:5060");
	ck_assert_str_eq(str_at(b, "nat"), "198.51.100.5:40000");
	ck_assert_int_ge(int_at(b, "expires_s"), 298);
	ck_assert_int_le(int_at(b, "expires_s"), 300);
	ck_assert_int_ge(int_at(b, "age_s"), 0);
	json_decref(r);
}
END_TEST

/* A Contact a phone chose need not be UTF-8; the reply is JSON all the same. */
START_TEST(registrations_of_odd_bytes)
{
	struct register_request req;
	struct register_limits limits = { .min_s = 60, .max_s = 3600, .default_s = 120 };
	bool changed = false;

	memset(&req, 0, sizeof(req));
	req.peer = "alice";
	req.call_id = "reg-odd";
	req.cseq = 1;
	ck_assert(netaddr_parse("198.51.100.5:40000", &req.nat));
	req.expires = 300;
	req.contact_count = 1;
	req.contacts[0].uri = "sip:al\xff\xfeice@192.168.1.5";
	req.contacts[0].expires = -1;
	ck_assert_int_eq(registrar_apply(d.registrar, &req, &limits, time(NULL), &changed), REGISTER_OK);
	json_t *r = reply_of(CONTROL_REGISTRATIONS);
	const json_t *b = json_array_get(json_object_get(r, "registrations"), 0);
	ck_assert_str_eq(str_at(b, "contact"), "sip:al??ice@192.168.1.5");
	json_decref(r);
}
END_TEST

START_TEST(bans_reply)
{
	struct netaddr bad;
	time_t now = time(NULL);

	ck_assert(netaddr_parse_ip("198.51.100.66", &bad));
	json_t *r = reply_of(CONTROL_BANS);
	ck_assert_uint_eq(json_array_size(json_object_get(r, "bans")), 0);
	json_decref(r);
	for (int i = 0; i < 3; i++)
		bans_failure(d.bans, &bad, 64, now, 3, 600);
	r = reply_of(CONTROL_BANS);
	const json_t *list = json_object_get(r, "bans");
	ck_assert_uint_eq(json_array_size(list), 1);
	const json_t *e = json_array_get(list, 0);
	ck_assert_str_eq(str_at(e, "address"), "198.51.100.66");
	ck_assert_int_eq(int_at(e, "failures"), 3);
	ck_assert_int_gt(int_at(e, "seconds_left"), 590);
	ck_assert_int_le(int_at(e, "seconds_left"), 600);
	json_decref(r);

	/* an IPv6 attacker is banned with its /64, and shown so */
	struct netaddr bad6;
	ck_assert(netaddr_parse_ip("2001:db8:66:1::7", &bad6));
	for (int i = 0; i < 3; i++)
		bans_failure(d.bans, &bad6, 64, now, 3, 600);
	r = reply_of(CONTROL_BANS);
	list = json_object_get(r, "bans");
	ck_assert_uint_eq(json_array_size(list), 2);
	bool seen = false;
	for (size_t i = 0; i < json_array_size(list); i++)
		seen = seen || strcmp(str_at(json_array_get(list, i), "address"), "2001:db8:66:1::/64") == 0;
	ck_assert_msg(seen, "no 2001:db8:66:1::/64 among the bans");
	json_decref(r);
}
END_TEST

/* status names the external address of each family (issue 20): externip's
 * IPv6 one, or, with IPv6 bound and none given, the host's own. */
START_TEST(status_reply_families)
{
	static const struct {
		const char *general, *address, *address6, *source6;
	} cases[] = {
		{ "externip = \"203.0.113.7, 2001:db8:1::10\";", "203.0.113.7", "2001:db8:1::10", "externip" },
		{ "externip = \"203.0.113.7\";", "203.0.113.7", NULL, "none" },
		{ "bindaddr = \"::\";", NULL, NULL, "host" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], err[CONF_ERR_MAX];
		snprintf(text, sizeof(text),
			 "general: { localnet = [ \"192.168.1.0/24\" ]; pbx = \"192.168.1.2\"; %s };\n",
			 cases[i].general);
		struct conf *conf = conf_load_string(text, "status.conf", err);
		ck_assert_msg(conf != NULL, "%s", err);
		struct externaddr *ea = externaddr_new(d.base, NULL, conf);
		ck_assert_ptr_nonnull(ea);
		struct sip_env env = d.env;
		env.conf = conf;
		struct control_view view = d.view;
		view.env = &env;
		view.external = ea;
		event_base_loop(d.base, EVLOOP_NONBLOCK); /* what externaddr starts at once */
		json_t *r = control_reply(&view, CONTROL_STATUS, 0);
		ck_assert_ptr_nonnull(r);
		const json_t *ext = json_object_get(r, "external");
		const json_t *a = json_object_get(ext, "address"), *a6 = json_object_get(ext, "address6");
		if (cases[i].address)
			ck_assert_str_eq(json_string_value(a), cases[i].address);
		else
			ck_assert(json_is_null(a));
		if (cases[i].address6)
			ck_assert_str_eq(json_string_value(a6), cases[i].address6);
		else
			ck_assert(json_is_null(a6));
		ck_assert_str_eq(str_at(ext, "source6"), cases[i].source6);
		json_decref(r);
		externaddr_free(ea);
		conf_free(conf);
	}
}
END_TEST

START_TEST(stats_reply)
{
	register_alice(time(NULL));
	json_t *r = reply_of(CONTROL_STATS);
	const json_t *sip = json_object_get(r, "sip");
	static const char *const sip_keys[] = { "received", "requests", "responses", "forwarded",
						"answered_locally", "keepalives", "malformed", "too_big",
						"invalid", "stray_responses", "lookups_failed", "dropped",
						"banned", "rx_overflows", "send_errors" };

	ck_assert(json_is_string(json_object_get(r, "version")));
	ck_assert_int_ge(int_at(r, "uptime_s"), 0);
	for (size_t i = 0; i < sizeof(sip_keys) / sizeof(sip_keys[0]); i++)
		ck_assert_int_eq(int_at(sip, sip_keys[i]), 0);
	/* no TCP/TLS listener here: the section is there, all zeros */
	const json_t *streams = json_object_get(r, "streams");
	ck_assert_ptr_nonnull(streams);
	ck_assert_int_eq(int_at(streams, "open"), 0);
	ck_assert_int_eq(int_at(streams, "refused_per_addr"), 0);
	const json_t *auth = json_object_get(r, "auth");
	ck_assert_int_eq(int_at(auth, "failures"), 0);
	ck_assert_int_eq(int_at(auth, "bans_active"), 0);
	ck_assert_int_eq(int_at(json_object_get(r, "registrations"), "bindings"), 1);
	ck_assert_int_eq(int_at(json_object_get(r, "registrations"), "peers"), 3);
	const json_t *calls = json_object_get(r, "calls");
	ck_assert_int_eq(int_at(calls, "active"), 0);
	ck_assert_int_eq(int_at(calls, "set_up"), 0);
	const json_t *relay = json_object_get(r, "relay");
	ck_assert_int_eq(int_at(json_object_get(relay, "from_local"), "packets"), 0);
	ck_assert_int_eq(int_at(json_object_get(relay, "from_remote"), "bytes"), 0);
	const json_t *pool = json_object_get(r, "pool");
	ck_assert_int_eq(int_at(pool, "pairs"), (RTP_END - RTP_START + 1) / 2);
	ck_assert_int_eq(int_at(pool, "in_use") + int_at(pool, "free"), int_at(pool, "pairs"));
	ck_assert_int_eq(int_at(json_object_get(r, "reloads"), "done"), 0);
	json_decref(r);
}
END_TEST

/* An INVITE from the PBX with an SDP offer: media makes a session with one
 * relayed stream, and "calls" shows it. */
START_TEST(calls_reply)
{
	static const char sdp[] =
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio 46600 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
	char invite[2048];
	snprintf(invite, sizeof(invite),
		 "INVITE sip:alice@198.51.100.5:40000 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:26598;branch=z9hG4bKctl1\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:200@127.0.0.1>;tag=p1\r\nTo: <sip:alice@127.0.0.1>\r\n"
		 "Call-ID: control-call-1\r\nCSeq: 1 INVITE\r\nContact: <sip:200@127.0.0.1:26598>\r\n"
		 "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(sdp), sdp);
	osip_message_t *msg = NULL;
	const char *why = NULL;
	struct sockaddr_in pbx = addr("127.0.0.1", 26598);
	struct in_addr ext;

	json_t *r = reply_of(CONTROL_CALLS);
	ck_assert_uint_eq(json_array_size(json_object_get(r, "calls")), 0);
	json_decref(r);

	ck_assert_int_eq(sipmsg_parse(invite, strlen(invite), &msg, &why), SIPMSG_OK);
	inet_pton(AF_INET, "203.0.113.7", &ext);
	struct netaddr pbx_src = netaddr_from_in(&pbx);
	struct sockaddr_in ext_sin = netaddr_make(ext, 0);
	struct netaddr ext_addr = netaddr_from_in(&ext_sin);
	ck_assert_int_eq(media_rewrite(d.media, msg, true, &pbx_src, &ext_addr, NULL), MEDIA_DONE);
	osip_message_free(msg);

	r = reply_of(CONTROL_CALLS);
	const json_t *calls = json_object_get(r, "calls");
	ck_assert_uint_eq(json_array_size(calls), 1);
	const json_t *call = json_array_get(calls, 0);
	ck_assert_str_eq(str_at(call, "call_id"), "control-call-1");
	ck_assert_str_eq(str_at(call, "state"), "setup");
	ck_assert(json_is_false(json_object_get(call, "hold")));
	ck_assert_int_ge(int_at(call, "age_s"), 0);
	const json_t *streams = json_object_get(call, "streams");
	ck_assert_uint_eq(json_array_size(streams), 1);
	const json_t *st = json_array_get(streams, 0);
	ck_assert_int_ge(int_at(st, "port"), RTP_START);
	ck_assert_int_le(int_at(st, "port"), RTP_END);
	ck_assert_int_eq(int_at(st, "port") % 2, 0);
	ck_assert_int_eq(int_at(json_object_get(st, "from_local"), "packets"), 0);
	ck_assert(json_is_null(json_object_get(st, "idle_s")));
	json_decref(r);

	r = reply_of(CONTROL_STATS);
	ck_assert_int_eq(int_at(json_object_get(r, "calls"), "active"), 1);
	ck_assert_int_eq(int_at(json_object_get(r, "pool"), "in_use"), 1);
	json_decref(r);
}
END_TEST

START_TEST(error_reply)
{
	json_t *r = control_reply_error("empty request");
	ck_assert_str_eq(str_at(r, "error"), "empty request");
	json_decref(r);
}
END_TEST

/* ---- the socket, in-process ---- */

static char sock_dir[64], sock_path[96];

static void socket_up(void)
{
	fixture_up();
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/sipnatd-control-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/control", sock_dir);
}

static void socket_down(void)
{
	unlink(sock_path);
	rmdir(sock_dir);
	fixture_down();
}

static int client_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Run the daemon's loop until fd has the whole reply (EOF) or timeout_ms
 * passes; returns the reply's length, -1 when it did not end in time. */
static ssize_t loop_read(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t n = 0;

	for (int waited = 0; waited < timeout_ms; waited += 10) {
		event_base_loop(d.base, EVLOOP_NONBLOCK);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t got = read(fd, buf + n, len - n - 1);
		if (got == 0) {
			buf[n] = '\0';
			return (ssize_t)n;
		}
		if (got < 0)
			return -1;
		n += (size_t)got;
	}
	return -1;
}

static json_t *ask(const char *request, size_t len)
{
	char buf[65536];
	int fd = client_connect();

	ck_assert_int_eq(write(fd, request, len), (ssize_t)len);
	ssize_t n = loop_read(fd, buf, sizeof(buf), 2000);
	close(fd);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(buf[n - 1], '\n');
	json_error_t jerr;
	json_t *r = json_loads(buf, 0, &jerr);
	ck_assert_msg(r != NULL, "%s: %s", jerr.text, buf);
	return r;
}

START_TEST(socket_serves_and_is_removed)
{
	struct stat st;
	struct control *c = control_open(d.base, sock_path, &d.view);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0660);

	json_t *r = ask("stats\n", 6);
	ck_assert(json_is_object(json_object_get(r, "sip")));
	json_decref(r);
	r = ask("peers\r\n", 7);
	ck_assert(json_is_array(json_object_get(r, "peers")));
	json_decref(r);
	r = ask("frobnicate\n", 11);
	ck_assert_ptr_nonnull(strstr(str_at(r, "error"), "unknown command"));
	json_decref(r);

	/* a client still connected at close is dropped with it */
	int idle = client_connect();
	for (int k = 0; k < 5; k++)
		event_base_loop(d.base, EVLOOP_NONBLOCK);
	control_close(c);
	ck_assert_int_ne(lstat(sock_path, &st), 0);
	/* libevent finalizes a freed bufferevent in the loop (or in
	 * event_base_free, as at the daemon's exit) */
	event_base_loop(d.base, EVLOOP_NONBLOCK);
	char buf[16];
	struct pollfd p = { .fd = idle, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 1000), 1);
	ck_assert_int_eq(read(idle, buf, sizeof(buf)), 0);
	close(idle);
}
END_TEST

/* No newline: the client's shutdown of its side ends the request. */
START_TEST(request_ended_by_shutdown)
{
	char buf[65536];
	struct control *c = control_open(d.base, sock_path, &d.view);
	int fd = client_connect();

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(write(fd, "bans", 4), 4);
	shutdown(fd, SHUT_WR);
	ck_assert_int_gt(loop_read(fd, buf, sizeof(buf), 2000), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"bans\":[]"));
	close(fd);
	control_close(c);
}
END_TEST

START_TEST(over_long_request_is_refused)
{
	char big[4 * CONTROL_REQUEST_MAX], buf[4096];
	struct control *c = control_open(d.base, sock_path, &d.view);
	int fd = client_connect();

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	ck_assert_int_gt(loop_read(fd, buf, sizeof(buf), 2000), 0);
	ck_assert_ptr_nonnull(strstr(buf, "request too long"));
	close(fd);
	control_close(c);
}
END_TEST

/* A client that connects and says nothing does not stop another from being
 * served, and is dropped after CONTROL_TIMEOUT_S. */
START_TEST(silent_client_never_blocks)
{
	char buf[256];
	struct control *c = control_open(d.base, sock_path, &d.view);
	int silent = client_connect();

	json_t *r = ask("bans\n", 5);
	ck_assert(json_is_array(json_object_get(r, "bans")));
	json_decref(r);
	ck_assert_int_eq(loop_read(silent, buf, sizeof(buf), (CONTROL_TIMEOUT_S + 2) * 1000), 0);
	close(silent);
	control_close(c);
}
END_TEST

/* Past CONTROL_CLIENTS_MAX, a connection gets a short error at once. */
START_TEST(surplus_clients_are_refused)
{
	int fds[CONTROL_CLIENTS_MAX];
	char buf[256];
	struct control *c = control_open(d.base, sock_path, &d.view);

	for (int i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		fds[i] = client_connect();
		/* let the loop accept each one */
		for (int k = 0; k < 5; k++)
			event_base_loop(d.base, EVLOOP_NONBLOCK);
	}
	int extra = client_connect();
	ck_assert_int_gt(loop_read(extra, buf, sizeof(buf), 2000), 0);
	ck_assert_ptr_nonnull(strstr(buf, "too many control connections"));
	close(extra);
	for (int i = 0; i < CONTROL_CLIENTS_MAX; i++)
		close(fds[i]);
	/* the slots come back once they are gone */
	for (int k = 0; k < 20; k++)
		event_base_loop(d.base, EVLOOP_NONBLOCK);
	json_t *r = ask("stats\n", 6);
	ck_assert(json_is_object(json_object_get(r, "pool")));
	json_decref(r);
	control_close(c);
}
END_TEST

START_TEST(stale_socket_is_replaced)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* a socket file nobody listens on, as a crash leaves it */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	struct control *c = control_open(d.base, sock_path, &d.view);
	ck_assert_ptr_nonnull(c);
	json_t *r = ask("bans\n", 5);
	json_decref(r);
	/* a second daemon on the same path leaves the live one alone */
	struct control *second = control_open(d.base, sock_path, &d.view);
	ck_assert_ptr_null(second);
	r = ask("bans\n", 5);
	json_decref(r);
	control_close(c);
}
END_TEST

START_TEST(missing_directory_and_foreign_file)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/no-such-dir/control", sock_dir);
	ck_assert_ptr_null(control_open(d.base, path, &d.view));
	/* a regular file at the path is never removed */
	FILE *f = fopen(sock_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a socket\n", f);
	fclose(f);
	ck_assert_ptr_null(control_open(d.base, sock_path, &d.view));
	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	/* and a path too long for sun_path is refused, not truncated */
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_ptr_null(control_open(d.base, longpath, &d.view));
	control_close(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("parser");
	tcase_add_test(tc, parses_every_command);
	tcase_add_test(tc, waits_for_the_end_of_the_line);
	tcase_add_test(tc, refuses_empty_unknown_and_junk);
	tcase_add_test(tc, bounds_the_request);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_checked_fixture(tc, fixture_up, fixture_down);
	tcase_add_test(tc, peers_reply);
	tcase_add_test(tc, registrations_reply);
	tcase_add_test(tc, registrations_of_odd_bytes);
	tcase_add_test(tc, bans_reply);
	tcase_add_test(tc, stats_reply);
	tcase_add_test(tc, status_reply_families);
	tcase_add_test(tc, calls_reply);
	tcase_add_test(tc, error_reply);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, socket_up, socket_down);
	tcase_add_test(tc, socket_serves_and_is_removed);
	tcase_add_test(tc, request_ended_by_shutdown);
	tcase_add_test(tc, over_long_request_is_refused);
	tcase_add_test(tc, silent_client_never_blocks);
	tcase_add_test(tc, surplus_clients_are_refused);
	tcase_add_test(tc, stale_socket_is_replaced);
	tcase_add_test(tc, missing_directory_and_foreign_file);
	suite_add_tcase(s, tc);

	/* as in the daemon (daemon.c): a client that hangs up is no signal */
	signal(SIGPIPE, SIG_IGN);
	log_open(true);
	log_set_level(LOG_ERR);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	log_close();
	return failed ? 1 : 0;
}
