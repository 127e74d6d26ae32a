/*
 * sipnatctl against the real daemon (issue 6): a phone registers and shows in
 * "registrations" and "peers" (with the PBX, both qualified OK); "stats"
 * counts exactly what the test sent; "bans" lists an address after banafter
 * failed logins; "calls" shows a live call whose packet counts grow;
 * "reload" works, and a broken file gives exit 1 with the file:line message
 * while the daemon goes on; --json output parses; the socket is 0660 while
 * the daemon runs and gone after it stops; without the socket's directory the
 * daemon runs on and sipnatctl says what is wrong.
 *
 *   LAN (127.0.6.0/27): sipnatd 127.0.6.10:26560, PBX 127.0.6.20:26580,
 *        PBX RTP 127.0.6.20:26590
 *   Internet: phones 127.0.6.101.., attacker 127.0.6.166
 */
#include "harness.h"
#include "rtp.h"
#include "sipclient.h"

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SN_IP "127.0.6.10"
#define SN_PORT 26560
#define PBX_IP "127.0.6.20"
#define PBX_PORT 26580
#define PBX_RTP_PORT 26590
#define PHONE_IP "127.0.6.101"
#define PHONE_RTP_PORT 26700
#define ATTACKER_IP "127.0.6.166"
#define RTP_START 46560
#define RTP_END 46575

static struct daemon_proc daemon_p;
static char conf_path[512], sock_path[512];
static int pbx = -1;

static const char conf_template[] =
	"general: {\n"
	"  bindaddr = \"" SN_IP "\"; bindport = 26560;\n"
	"  externip = \"203.0.113.7\";\n"
	"  localnet = [ \"127.0.6.0/27\" ];\n"
	"  pbx = \"" PBX_IP ":26580\";\n"
	"  banafter = 3; bantime = 600;\n"
	"  statefile = \"%s/registrations\"; control = \"%s\";\n"
	"};\n"
	"rtp: { rtpstart = 46560; rtpend = 46575; };\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"s3cret\"; },\n"
	"  { name = \"bob\"; secret = \"other\"; qualify = false; }\n"
	");\n"
	"logging: { level = \"info\"; };\n";

static void write_conf(const char *control)
{
	char text[2048];

	snprintf(text, sizeof(text), conf_template, harness_tmpdir(), control);
	snprintf(conf_path, sizeof(conf_path), "%s", harness_write_file("ctl.conf", text));
}

static void start_daemon(void)
{
	/* The PBX socket exists before the daemon's first ping to it. */
	pbx = harness_udp(PBX_IP, PBX_PORT);
	snprintf(sock_path, sizeof(sock_path), "%s/control", harness_tmpdir());
	write_conf(sock_path);
	const char *args[] = { "-f", "-c", conf_path, NULL };
	harness_start(&daemon_p, args, true);
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
	close(pbx);
}

/* ---- running sipnatctl ---- */

static int ctl(char *out, size_t len, const char *a, const char *b)
{
	const char *argv[] = { SIPNATCTL_BINARY, "-s", sock_path, a, b, NULL };
	return harness_run(argv, out, len);
}

/* `sipnatctl --json cmd`, parsed; fails the test unless it exits 0. */
static json_t *ctl_json(const char *cmd)
{
	static char out[65536];
	json_error_t jerr;

	int rc = ctl(out, sizeof(out), "--json", cmd);
	ck_assert_msg(rc == 0, "sipnatctl --json %s: exit %d: %s", cmd, rc, out);
	json_t *r = json_loads(out, 0, &jerr);
	ck_assert_msg(r != NULL, "sipnatctl --json %s: %s in %s", cmd, jerr.text, out);
	return r;
}

static long long json_at(const json_t *obj, const char *path)
{
	char key[64];

	while (*path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		obj = json_object_get(obj, key);
		path += n + (path[n] == '.');
	}
	ck_assert_msg(json_is_integer(obj), "no integer at %s", path);
	return (long long)json_integer_value(obj);
}

static long long stat_of(const char *path)
{
	json_t *r = ctl_json("stats");
	long long v = json_at(r, path);
	json_decref(r);
	return v;
}

/* The line of out that starts with prefix (copied into line). */
static bool line_starting(const char *out, const char *prefix, char *line, size_t len)
{
	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			size_t n = strcspn(p, "\n");
			snprintf(line, len, "%.*s", (int)n, p);
			return true;
		}
	}
	return false;
}

/* ---- SIP helpers ---- */

/* Answer req (received on fd from `from`) with status, copying Via, From,
 * To (tagged), Call-ID and CSeq; body may be NULL. */
static void reply_raw(int fd, const char *req, const struct sockaddr_in *to, int status,
		      const char *extra, const char *body)
{
	static const char *const copied[] = { "Via:", "From:", "To:", "Call-ID:", "CSeq:" };
	char msg[8192], ip[32];
	size_t n = (size_t)snprintf(msg, sizeof(msg), "SIP/2.0 %d %s\r\n", status, status == 200 ? "OK" : "Error");

	for (const char *p = strstr(req, "\r\n") + 2; *p && strncmp(p, "\r\n", 2) != 0; p = strstr(p, "\r\n") + 2) {
		size_t len = strcspn(p, "\r");
		for (size_t k = 0; k < sizeof(copied) / sizeof(copied[0]); k++) {
			if (strncasecmp(p, copied[k], strlen(copied[k])) != 0)
				continue;
			bool untagged_to = k == 2 && !memmem(p, len, "tag=", 4);
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%.*s%s\r\n", (int)len, p,
					      untagged_to ? ";tag=answered" : "");
		}
	}
	n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%sContent-Length: %zu\r\n\r\n%s", extra ? extra : "",
			      body ? strlen(body) : 0, body ? body : "");
	inet_ntop(AF_INET, &to->sin_addr, ip, sizeof(ip));
	harness_udp_send(fd, ip, ntohs(to->sin_port), msg, n);
}

/* Answer the OPTIONS pings that reach fd within ms; returns how many. */
static int answer_pings(int fd, int ms)
{
	char buf[8192];
	struct sockaddr_in from;
	int n = 0;

	while (harness_udp_recv(fd, buf, sizeof(buf), ms, &from) > 0) {
		if (strncmp(buf, "OPTIONS ", 8) == 0) {
			reply_raw(fd, buf, &from, 200, NULL, NULL);
			n++;
		}
		ms = 100;
	}
	return n;
}

static void register_alice(struct client *phone)
{
	char out[8192];

	client_open(phone, PHONE_IP, "ctl-reg-alice", SN_IP, SN_PORT);
	client_auth_request(phone, "REGISTER", "alice", "s3cret", "300", out, sizeof(out));
	ck_assert_msg(strncmp(out, "SIP/2.0 200 OK", 14) == 0, "got %s", out);
}

/* Wait until `peers` shows name with status, answering pings meanwhile. */
static void wait_status(struct client *phone, const char *name, const char *status)
{
	for (int i = 0; i < 40; i++) {
		json_t *r = ctl_json("peers");
		size_t k;
		json_t *p;
		bool done = false;
		json_array_foreach(json_object_get(r, "peers"), k, p)
			if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
				done = strcmp(json_string_value(json_object_get(p, "status")), status) == 0;
		json_decref(r);
		if (done)
			return;
		answer_pings(pbx, 50);
		if (phone)
			answer_pings(phone->fd, 50);
	}
	ck_abort_msg("%s never became %s", name, status);
}

/* ---- tests ---- */

START_TEST(registrations_and_peers)
{
	char out[16384], line[512], nat[64];
	struct client phone;
	struct stat st;

	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0660);

	ck_assert_int_eq(ctl(out, sizeof(out), "registrations", NULL), 0);
	ck_assert_msg(strstr(out, "0 registrations of 0 peers"), "got %s", out);

	register_alice(&phone);
	snprintf(nat, sizeof(nat), PHONE_IP ":%u", phone.port);
	ck_assert_int_eq(ctl(out, sizeof(out), "registrations", NULL), 0);
	ck_assert_msg(line_starting(out, "Peer ", line, sizeof(line)), "got %s", out);
	ck_assert_msg(strstr(line, "Contact") && strstr(line, "NAT address") && strstr(line, "Expires"),
		      "header %s", line);
	ck_assert_msg(line_starting(out, "alice ", line, sizeof(line)), "got %s", out);
	ck_assert_msg(strstr(line, "sip:alice@192.168.1.5:5060") && strstr(line, nat) && strstr(line, " s"),
		      "row %s", line);
	ck_assert_msg(strstr(out, "1 registration of 1 peer\n"), "got %s", out);

	/* both pinged and answering: OK with a round trip */
	wait_status(&phone, "alice", "OK");
	wait_status(&phone, "PBX", "OK");
	ck_assert_int_eq(ctl(out, sizeof(out), "peers", NULL), 0);
	ck_assert_msg(line_starting(out, "Name ", line, sizeof(line)), "got %s", out);
	ck_assert_msg(strstr(line, "Kind") && strstr(line, "Host") && strstr(line, "Status") &&
		      strstr(line, "RTT") && strstr(line, "Bindings"), "header %s", line);
	/* the columns line up: every row has its Host where the header has it */
	size_t host_col = (size_t)(strstr(line, "Host") - line);
	ck_assert_msg(line_starting(out, "alice ", line, sizeof(line)), "got %s", out);
	ck_assert_msg(strstr(line, "dynamic") && strstr(line, nat) && strstr(line, "OK") &&
		      strstr(line, " ms") && line[strlen(line) - 1] == '1', "row %s", line);
	ck_assert_msg(strncmp(line + host_col, nat, strlen(nat)) == 0, "misaligned: %s", line);
	ck_assert_msg(line_starting(out, "PBX ", line, sizeof(line)), "got %s", out);
	ck_assert_msg(strstr(line, "pbx") && strstr(line, PBX_IP ":26580") && strstr(line, "OK"), "row %s", line);
	ck_assert_msg(strncmp(line + host_col, PBX_IP, strlen(PBX_IP)) == 0, "misaligned: %s", line);
	ck_assert_msg(line_starting(out, "bob ", line, sizeof(line)) && strstr(line, "UNMONITORED"), "got %s", out);
	ck_assert_msg(strstr(out, "2 peers and the PBX [monitored: 2 OK, 0 UNREACHABLE, 0 UNKNOWN; unmonitored: 1]"),
		      "got %s", out);

	json_t *r = ctl_json("registrations");
	const json_t *b = json_array_get(json_object_get(r, "registrations"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(b, "nat")), nat);
	ck_assert_int_le(json_at(b, "expires_s"), 300);
	ck_assert_int_gt(json_at(b, "expires_s"), 290);
	json_decref(r);
	close(phone.fd);
}
END_TEST

/* The counters agree with the traffic: from a fresh daemon whose PBX does not
 * answer pings, the only datagrams it receives are the ones sent here. */
START_TEST(stats_count_what_was_sent)
{
	char out[16384], line[256], msg[8192];
	struct client c;
	int raw = harness_udp(PHONE_IP, 0);

	for (int i = 0; i < 2; i++)
		harness_udp_send(raw, SN_IP, SN_PORT, "\r\n\r\n", 4);             /* keep-alives */
	harness_udp_send(raw, SN_IP, SN_PORT, "NOT SIP AT ALL\r\n\r\n", 18);  /* malformed */
	client_open(&c, PHONE_IP, "ctl-stats", SN_IP, SN_PORT);
	for (int i = 0; i < 3; i++) {
		client_send(&c, "OPTIONS", "alice", NULL, NULL);
		ck_assert(client_recv(&c, msg, sizeof(msg), 2000));
	}
	/* one failed login: a challenge, then a 403 */
	client_auth_request(&c, "REGISTER", "alice", "wrong", NULL, msg, sizeof(msg));
	ck_assert_msg(strncmp(msg, "SIP/2.0 403", 11) == 0, "got %s", msg);

	json_t *r = ctl_json("stats");
	ck_assert_int_eq(json_at(r, "sip.received"), 8);
	ck_assert_int_eq(json_at(r, "sip.keepalives"), 2);
	ck_assert_int_eq(json_at(r, "sip.malformed") + json_at(r, "sip.invalid"), 1);
	ck_assert_int_eq(json_at(r, "sip.requests"), 5);
	ck_assert_int_eq(json_at(r, "sip.responses"), 0);
	ck_assert_int_eq(json_at(r, "sip.forwarded"), 0);
	ck_assert_int_eq(json_at(r, "auth.failures"), 1);
	ck_assert_int_eq(json_at(r, "auth.bans"), 0);
	ck_assert_int_eq(json_at(r, "registrations.bindings"), 0);
	ck_assert_int_eq(json_at(r, "registrations.peers"), 2);
	ck_assert_int_eq(json_at(r, "calls.active"), 0);
	ck_assert_int_eq(json_at(r, "pool.pairs"), (RTP_END - RTP_START + 1) / 2);
	ck_assert_int_eq(json_at(r, "pool.free"), (RTP_END - RTP_START + 1) / 2);
	ck_assert_int_eq(json_at(r, "pool.in_use"), 0);
	ck_assert_int_ge(json_at(r, "uptime_s"), 0);
	json_decref(r);

	ck_assert_int_eq(ctl(out, sizeof(out), "stats", NULL), 0);
	ck_assert_msg(strncmp(out, "sipnatd ", 8) == 0 && strstr(out, ", up 0:00:"), "got %s", out);
	ck_assert_msg(line_starting(out, "  received ", line, sizeof(line)), "got %s", out);
	ck_assert_msg(strcmp(line + strlen(line) - 2, " 8") == 0, "line %s", line);
	ck_assert_msg(line_starting(out, "  keep-alives ", line, sizeof(line)) &&
		      strcmp(line + strlen(line) - 2, " 2") == 0, "got %s", out);
	ck_assert_msg(line_starting(out, "  failures ", line, sizeof(line)) &&
		      strcmp(line + strlen(line) - 2, " 1") == 0, "got %s", out);
	ck_assert_msg(line_starting(out, "Relay ", line, sizeof(line)) && strstr(line, "Packets") &&
		      strstr(line, "Bytes") && strstr(line, "Dropped"), "got %s", out);
	ck_assert_msg(strstr(out, "  from LAN ") && strstr(out, "  from Internet "), "got %s", out);
	close(raw);
	close(c.fd);
}
END_TEST

START_TEST(bans_after_failed_logins)
{
	char out[8192], msg[8192];
	struct client bad;

	ck_assert_int_eq(ctl(out, sizeof(out), "bans", NULL), 0);
	ck_assert_msg(strstr(out, "0 banned addresses\n"), "got %s", out);
	client_open(&bad, ATTACKER_IP, "ctl-ban", SN_IP, SN_PORT);
	for (int i = 0; i < 3; i++) {
		client_auth_request(&bad, "REGISTER", "alice", "guess", NULL, msg, sizeof(msg));
		ck_assert_msg(strncmp(msg, "SIP/2.0 403", 11) == 0, "got %s", msg);
	}
	ck_assert(harness_wait_log(&daemon_p, "banned " ATTACKER_IP, 2000));

	ck_assert_int_eq(ctl(out, sizeof(out), "bans", NULL), 0);
	char line[256];
	ck_assert_msg(line_starting(out, "Address ", line, sizeof(line)) && strstr(line, "Seconds left") &&
		      strstr(line, "Failures"), "got %s", out);
	ck_assert_msg(line_starting(out, ATTACKER_IP " ", line, sizeof(line)), "got %s", out);
	ck_assert_msg(line[strlen(line) - 1] == '3' && line[strlen(line) - 2] == ' ', "row %s", line);
	ck_assert_msg(strstr(out, "1 banned address\n"), "got %s", out);

	json_t *r = ctl_json("bans");
	const json_t *e = json_array_get(json_object_get(r, "bans"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "address")), ATTACKER_IP);
	ck_assert_int_eq(json_at(e, "failures"), 3);
	ck_assert_int_gt(json_at(e, "seconds_left"), 590);
	json_decref(r);
	ck_assert_int_eq(stat_of("auth.bans"), 1);
	ck_assert_int_eq(stat_of("auth.bans_active"), 1);
	ck_assert_int_eq(stat_of("auth.failures"), 3);
	close(bad.fd);
}
END_TEST

START_TEST(reload_good_and_broken)
{
	char out[8192], expect[600];

	ck_assert_int_eq(ctl(out, sizeof(out), "reload", NULL), 0);
	snprintf(expect, sizeof(expect), "configuration reloaded from %s\n", conf_path);
	ck_assert_str_eq(out, expect);
	ck_assert(harness_wait_log(&daemon_p, "reload requested over the control socket", 1000));
	ck_assert(harness_wait_log(&daemon_p, "configuration reloaded", 1000));

	/* an error on line 2 of the file */
	harness_write_file("ctl.conf", "general: {\n  bindport = ;\n};\n");
	ck_assert_int_eq(ctl(out, sizeof(out), "reload", NULL), 1);
	snprintf(expect, sizeof(expect),
		 "sipnatctl: reload failed, sipnatd keeps the running configuration: %s:2: ", conf_path);
	ck_assert_msg(strncmp(out, expect, strlen(expect)) == 0, "got %s", out);
	ck_assert_int_eq(ctl(out, sizeof(out), "--json", "reload"), 1);
	ck_assert_msg(strstr(out, "\"reload\":false") && strstr(out, ":2: "), "got %s", out);

	/* still running, on the old configuration */
	ck_assert(harness_alive(&daemon_p));
	ck_assert_int_eq(stat_of("reloads.done"), 1);
	ck_assert_int_eq(stat_of("reloads.failed"), 2);
	ck_assert_int_eq(stat_of("registrations.peers"), 2);
	write_conf(sock_path);
}
END_TEST

/* ---- a call through the relay ---- */

static void sdp_value(const char *msg, const char *key, char *out, size_t len)
{
	const char *p = strstr(msg, key);

	ck_assert_msg(p != NULL, "no %s in %s", key, msg);
	p += strlen(key);
	snprintf(out, len, "%.*s", (int)strcspn(p, " \r\n"), p);
}

static long long call_packets(const json_t *calls)
{
	const json_t *st = json_array_get(json_object_get(json_array_get(calls, 0), "streams"), 0);
	return json_at(st, "from_local.packets") + json_at(st, "from_remote.packets");
}

START_TEST(live_call_counts_grow)
{
	char msg[8192], got[8192], port[16], c_addr[64], line[512], out[16384];
	struct client phone;

	register_alice(&phone);
	/* the PBX calls alice with an offer */
	static const char pbx_sdp[] = "v=0\r\no=pbx 1 1 IN IP4 " PBX_IP "\r\ns=-\r\nc=IN IP4 " PBX_IP
				      "\r\nt=0 0\r\nm=audio 26590 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	int n = snprintf(msg, sizeof(msg),
			 "INVITE sip:alice@" SN_IP ":26560 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP " PBX_IP ":26580;branch=z9hG4bKctlcall;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p1\r\n"
			 "To: <sip:alice@" SN_IP ">\r\nCall-ID: ctl-call-1\r\nCSeq: 1 INVITE\r\n"
			 "Contact: <sip:200@" PBX_IP ":26580>\r\nContent-Type: application/sdp\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 strlen(pbx_sdp), pbx_sdp);
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	struct sockaddr_in from;
	do
		ck_assert(harness_udp_recv(phone.fd, got, sizeof(got), 2000, &from) > 0);
	while (strncmp(got, "OPTIONS ", 8) == 0);
	ck_assert_msg(strncmp(got, "INVITE sip:alice@192.168.1.5:5060", 33) == 0, "phone got %s", got);
	sdp_value(got, "c=IN IP4 ", c_addr, sizeof(c_addr));
	ck_assert_str_eq(c_addr, "203.0.113.7");
	sdp_value(got, "m=audio ", port, sizeof(port));
	unsigned relay_port = (unsigned)atoi(port);
	ck_assert_uint_ge(relay_port, RTP_START);
	ck_assert_uint_le(relay_port, RTP_END);

	/* alice answers from her private address, as a phone behind NAT does */
	static const char phone_sdp[] = "v=0\r\no=alice 1 1 IN IP4 192.168.1.5\r\ns=-\r\nc=IN IP4 192.168.1.5"
					"\r\nt=0 0\r\nm=audio 26700 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	reply_raw(phone.fd, got, &from, 200,
		  "Contact: <sip:alice@192.168.1.5:5060>\r\nContent-Type: application/sdp\r\n", phone_sdp);
	ck_assert(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL) > 0);
	ck_assert_msg(strncmp(got, "SIP/2.0 200", 11) == 0, "PBX got %s", got);
	sdp_value(got, "m=audio ", port, sizeof(port));
	ck_assert_uint_eq((unsigned)atoi(port), relay_port);

	json_t *r = ctl_json("calls");
	const json_t *calls = json_object_get(r, "calls");
	ck_assert_uint_eq(json_array_size(calls), 1);
	const json_t *call = json_array_get(calls, 0);
	ck_assert_str_eq(json_string_value(json_object_get(call, "call_id")), "ctl-call-1");
	ck_assert_str_eq(json_string_value(json_object_get(call, "state")), "up");
	ck_assert_int_eq(json_at(json_array_get(json_object_get(call, "streams"), 0), "port"), relay_port);
	ck_assert_int_eq(call_packets(calls), 0);
	json_decref(r);

	/* media both ways, twice: the counts grow */
	int phone_rtp = harness_udp(PHONE_IP, PHONE_RTP_PORT);
	int pbx_rtp = harness_udp(PBX_IP, PBX_RTP_PORT);
	long long before = 0;
	for (int round = 0; round < 2; round++) {
		for (uint16_t seq = 1; seq <= 10; seq++) {
			rtp_send(phone_rtp, SN_IP, relay_port, (uint16_t)(round * 10 + seq), 7);
			rtp_send(pbx_rtp, SN_IP, relay_port, (uint16_t)(round * 10 + seq), 7);
			usleep(2000);
		}
		usleep(100 * 1000);
		r = ctl_json("calls");
		long long now = call_packets(json_object_get(r, "calls"));
		ck_assert_msg(now > before, "round %d: %lld packets, before %lld", round, now, before);
		before = now;
		json_decref(r);
	}
	ck_assert_int_ge(stat_of("relay.from_remote.packets"), 1);
	ck_assert_int_ge(stat_of("relay.from_local.packets"), 1);
	ck_assert_int_eq(stat_of("calls.active"), 1);
	ck_assert_int_eq(stat_of("calls.set_up"), 1);
	ck_assert_int_eq(stat_of("pool.in_use"), 1);

	ck_assert_int_eq(ctl(out, sizeof(out), "calls", NULL), 0);
	ck_assert_msg(line_starting(out, "Call-ID ", line, sizeof(line)) && strstr(line, "Port") &&
		      strstr(line, "LAN pkts") && strstr(line, "Net bytes"), "got %s", out);
	ck_assert_msg(line_starting(out, "ctl-call-1 ", line, sizeof(line)) && strstr(line, " up "),
		      "got %s", out);
	snprintf(port, sizeof(port), " %u ", relay_port);
	ck_assert_msg(strstr(line, port), "row %s", line);
	ck_assert_msg(strstr(out, "1 call (1 up, 0 on hold), 1 relayed stream\n"), "got %s", out);
	close(phone_rtp);
	close(pbx_rtp);
	close(phone.fd);
}
END_TEST

START_TEST(json_parses_for_every_command)
{
	static const char *const commands[] = { "peers", "registrations", "calls", "stats", "bans" };

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		json_t *r = ctl_json(commands[i]);
		ck_assert(json_is_object(r));
		if (strcmp(commands[i], "stats") != 0)
			ck_assert_msg(json_is_array(json_object_get(r, commands[i])), "%s", commands[i]);
		json_decref(r);
	}
}
END_TEST

START_TEST(usage_and_errors)
{
	char out[8192], missing[600];

	/* no daemon at that path */
	snprintf(missing, sizeof(missing), "%s/nothing-here", harness_tmpdir());
	const char *argv[] = { SIPNATCTL_BINARY, "-s", missing, "peers", NULL };
	ck_assert_int_eq(harness_run(argv, out, sizeof(out)), 1);
	char expect[800];
	snprintf(expect, sizeof(expect),
		 "sipnatctl: cannot connect to %s: No such file or directory (is sipnatd running?)\n", missing);
	ck_assert_str_eq(out, expect);
	/* not a command */
	ck_assert_int_eq(ctl(out, sizeof(out), "frobnicate", NULL), 2);
	ck_assert_msg(strstr(out, "unknown command \"frobnicate\"") && strstr(out, "usage: sipnatctl"), "got %s", out);
	ck_assert_int_eq(ctl(out, sizeof(out), NULL, NULL), 2);
	const char *help[] = { SIPNATCTL_BINARY, "--help", NULL };
	ck_assert_int_eq(harness_run(help, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "registrations") && strstr(out, "--json"), "got %s", out);
}
END_TEST

/* The socket goes with the daemon; and a daemon whose socket directory is
 * missing runs on without it (make run on a fresh machine). */
START_TEST(socket_lifecycle)
{
	char out[8192], expect[800], dir_sock[600];
	struct stat st;

	ck_assert_int_eq(harness_stop(&daemon_p, SIGTERM, 5000), 0);
	daemon_p.pid = 0;
	ck_assert_int_ne(lstat(sock_path, &st), 0);

	snprintf(dir_sock, sizeof(dir_sock), "%s/no-such-dir/control", harness_tmpdir());
	write_conf(dir_sock);
	const char *args[] = { "-f", "-c", conf_path, NULL };
	harness_start(&daemon_p, args, true);
	ck_assert(harness_log_contains(&daemon_p, "does not exist; running without it"));
	ck_assert(harness_alive(&daemon_p));
	const char *argv[] = { SIPNATCTL_BINARY, "-s", dir_sock, "stats", NULL };
	ck_assert_int_eq(harness_run(argv, out, sizeof(out)), 1);
	snprintf(expect, sizeof(expect),
		 "sipnatctl: cannot connect to %s: No such file or directory (is sipnatd running?)\n", dir_sock);
	ck_assert_str_eq(out, expect);
	/* SIP is served all the same */
	struct client c;
	client_open(&c, PHONE_IP, "ctl-nosock", SN_IP, SN_PORT);
	client_send(&c, "OPTIONS", "alice", NULL, NULL);
	ck_assert(client_recv(&c, out, sizeof(out), 2000));
	close(c.fd);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		registrations_and_peers, stats_count_what_was_sent, bans_after_failed_logins,
		reload_good_and_broken, live_call_counts_grow, json_parses_for_every_command,
		usage_and_errors, socket_lifecycle, NULL };
	return harness_main("sipnatctl", "sipnatctl", 60, start_daemon, stop_daemon, tests);
}
