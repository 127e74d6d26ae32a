/*
 * Remote peers through the real daemon (issue: remote peers): digest
 * registration and calls both ways, guests that never reach the PBX, uniform
 * answers for unknown users and wrong passwords, bans, bindings that outlive
 * a restart, and a real scanner (sipvicious svwar) that finds nothing.
 *
 *   LAN (127.0.1.0/24): sipnatd 127.0.1.10:25060, PBX 127.0.1.20:25080
 *   Internet: phones 127.0.2.x, attacker 127.0.2.66
 */
#include "harness.h"
#include "lan1.h"

#include "sipclient.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SCEN SIPNATD_SOURCE_DIR "/tests/integration/scenarios/"

static struct daemon_proc daemon_p;
static char conf_path[512];

static const char conf_text[] =
	LAN1_GENERAL
	"  banafter = %d; bantime = %d;%s\n"
	"  minexpiry = 60; maxexpiry = 3600; defaultexpiry = 120;\n"
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"s3cret\";%s },\n"
	"  { name = \"101\"; secret = \"one-oh-one\"; }\n"
	");\n"
	"logging: { level = \"info\"; };\n";

/* Extra general keys and keys of alice's, for the digestalgs cases. */
static const char *general_extra = "", *alice_extra = "";

static void start_with_bans(int banafter, int bantime)
{
	char text[2048];

	snprintf(text, sizeof(text), conf_text, banafter, bantime, general_extra, harness_tmpdir(),
		 harness_tmpdir(), alice_extra);
	snprintf(conf_path, sizeof(conf_path), "%s", harness_write_file("peers.conf", text));
	const char *args[] = { "-f", "-c", conf_path, NULL };
	harness_start(&daemon_p, args, true);
}

static void start_daemon(void)
{
	start_with_bans(10, 600);
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

/* The fields a scanner may see differ per request (R28 "normalize"): blank
 * out tags, nonces, branches, Call-IDs, rport values and the CSeq number. */
static void normalize(char *msg)
{
	static const char *const keys[] = { "tag=", "nonce=\"", "branch=", "rport=", "Call-ID: ", "CSeq: " };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (char *p = strstr(msg, keys[k]); p; p = strstr(p + 1, keys[k])) {
			char *v = p + strlen(keys[k]);
			while (*v && *v != ';' && *v != '"' && *v != '\r' && *v != ',' && *v != '>' &&
			       *v != ' ')
				*v++ = 'X';
		}
	}
	/* collapse runs of X so that values of different lengths compare equal */
	char *w = msg;
	for (char *r = msg; *r; r++)
		if (!(*r == 'X' && w > msg && w[-1] == 'X'))
			*w++ = *r;
	*w = '\0';
}

/* ---- tests ---- */

START_TEST(register_then_calls_both_ways)
{
	char out[8192];
	struct client phone;
	int pbx = harness_udp(PBX_IP, PBX_PORT);

	client_open(&phone, "127.0.2.5", "reg-alice-1", SN_IP, SN_PORT);
	client_auth_request(&phone, "REGISTER", "alice", "s3cret", "300", out, sizeof(out));
	ck_assert_msg(strncmp(out, "SIP/2.0 200 OK", 14) == 0, "got %s", out);
	ck_assert_msg(strstr(out, "Contact: <sip:alice@192.168.1.5:5060>;expires=300"), "got %s", out);
	ck_assert_int_lt(harness_sip_recv(pbx, out, sizeof(out), 200, NULL), 0);

	/* The PBX calls alice: the INVITE goes to her NAT address, addressed to
	 * her registered contact. */
	char msg[2048];
	int n = snprintf(msg, sizeof(msg),
			 "INVITE sip:alice@" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP " PBX_IP ":25080;branch=z9hG4bKpbx1;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p1\r\n"
			 "To: <sip:alice@" SN_IP ">\r\nCall-ID: pbx-calls-alice\r\nCSeq: 1 INVITE\r\n"
			 "Contact: <sip:200@" PBX_IP ":25080>\r\nContent-Length: 0\r\n\r\n");
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert(client_recv(&phone, out, sizeof(out), 2000));
	ck_assert_msg(strncmp(out, "INVITE sip:alice@192.168.1.5:5060 SIP/2.0", 41) == 0, "got %s", out);

	/* alice calls the PBX: 407, then credentials; the PBX gets the INVITE
	 * without them and with alice asserted. */
	struct client call = phone;
	call.cseq = 0;
	snprintf(call.call_id, sizeof(call.call_id), "alice-calls-pbx");
	client_send(&call, "INVITE", "alice", NULL, NULL);
	ck_assert(client_recv(&call, out, sizeof(out), 2000));
	ck_assert_msg(strncmp(out, "SIP/2.0 407 Proxy Authentication Required", 41) == 0, "got %s", out);
	ck_assert_int_lt(harness_sip_recv(pbx, msg, sizeof(msg), 200, NULL), 0);
	char line[1024];
	client_answer_challenge(&call, out, "INVITE", "alice", "s3cret", line, sizeof(line));
	client_send(&call, "INVITE", "alice", line, NULL);
	if (harness_sip_recv(pbx, out, sizeof(out), 2000, NULL) <= 0) {
		ck_assert(client_recv(&call, out, sizeof(out), 100));
		ck_abort_msg("the PBX got nothing; alice got %s", out);
	}
	ck_assert_msg(strncmp(out, "INVITE sip:100@", 15) == 0, "PBX got %s", out);
	ck_assert_msg(strstr(out, "Authorization") == NULL, "credentials leaked: %s", out);
	ck_assert_msg(strstr(out, "P-Asserted-Identity: <sip:alice@" SN_IP ":25060>"), "got %s", out);
	close(pbx);
	close(phone.fd);
}
END_TEST

START_TEST(sipp_phone_registers)
{
	char out[8192], csv[600], err[512];

	snprintf(csv, sizeof(csv), "%s", harness_write_file("alice.csv", "SEQUENTIAL\nalice;s3cret\n"));
	snprintf(err, sizeof(err), "%s/reg.err", harness_tmpdir());
	const char *argv[] = { "sipp", "-sf", SCEN "phone_register.xml", "-inf", csv, "-au", "alice",
			       "-ap", "s3cret", "-i", "127.0.2.5", "-p", "5070", "-m", "1", "-timeout",
			       "15s", "-nostdin", "-aa", "-trace_err", "-error_file", err, SN_IP ":25060", NULL };
	ck_assert_msg(harness_run(argv, out, sizeof(out)) == 0, "sipp failed; see %s", err);
	ck_assert(harness_wait_log(&daemon_p, "alice registered from 127.0.2.5:5070", 2000));
}
END_TEST

/* Guests never reach the PBX, whatever they send. */
START_TEST(guests_never_reach_pbx)
{
	char out[8192];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	struct client g;
	const char *methods[] = { "INVITE", "REGISTER", "MESSAGE", "SUBSCRIBE", "BYE" };

	client_open(&g, "127.0.2.66", "guest-1", SN_IP, SN_PORT);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		client_send(&g, methods[i], "alice", NULL, NULL);
		ck_assert(client_recv(&g, out, sizeof(out), 2000));
		/* bad credentials too */
		client_send(&g, methods[i], "alice",
			    "Proxy-Authorization: Digest username=\"alice\", realm=\"sipnatd\", "
			    "nonce=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", uri=\"sip:x\", "
			    "response=\"00000000000000000000000000000000\"",
			    NULL);
		ck_assert(client_recv(&g, out, sizeof(out), 2000));
	}
	/* an in-dialog request for a dialog that never was */
	char msg[1024];
	int n = snprintf(msg, sizeof(msg),
			 "BYE sip:100@" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.2.66:%u;branch=z9hG4bKbye\r\nMax-Forwards: 70\r\n"
			 "From: <sip:x@y>;tag=a\r\nTo: <sip:100@y>;tag=b\r\nCall-ID: nodialog\r\n"
			 "CSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n",
			 g.port);
	harness_udp_send(g.fd, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert(client_recv(&g, out, sizeof(out), 2000));
	ck_assert_msg(strncmp(out, "SIP/2.0 481 ", 12) == 0, "got %s", out);
	ck_assert_int_lt(harness_sip_recv(pbx, out, sizeof(out), 300, NULL), 0);
	close(pbx);
	close(g.fd);
}
END_TEST

/* alwaysauthreject: unknown user and wrong password look the same at every
 * step, for REGISTER and INVITE. */
START_TEST(unknown_user_and_wrong_password_look_alike)
{
	const char *methods[] = { "REGISTER", "INVITE" };

	for (size_t m = 0; m < 2; m++) {
		char a1[8192], b1[8192], a2[8192], b2[8192], line[1024];
		struct client a, b;
		client_open(&a, "127.0.2.7", "uni-a", SN_IP, SN_PORT);
		client_open(&b, "127.0.2.8", "uni-b", SN_IP, SN_PORT);

		client_send(&a, methods[m], "alice", NULL, NULL);
		client_send(&b, methods[m], "zz81723", NULL, NULL);
		ck_assert(client_recv(&a, a1, sizeof(a1), 2000));
		ck_assert(client_recv(&b, b1, sizeof(b1), 2000));
		client_answer_challenge(&a, a1, methods[m], "alice", "wrong-password", line, sizeof(line));
		client_send(&a, methods[m], "alice", line, NULL);
		client_answer_challenge(&b, b1, methods[m], "zz81723", "anything", line, sizeof(line));
		client_send(&b, methods[m], "zz81723", line, NULL);
		ck_assert(client_recv(&a, a2, sizeof(a2), 2000));
		ck_assert(client_recv(&b, b2, sizeof(b2), 2000));
		ck_assert_msg(strncmp(a2, "SIP/2.0 403 Forbidden\r\n", 23) == 0, "got %s", a2);

		/* the user name itself shows in From/To; put both on one name */
		for (char *p = strstr(b1, "zz81723"); p; p = strstr(p, "zz81723"))
			memcpy(p, "alice", 5), memmove(p + 5, p + 7, strlen(p + 7) + 1);
		for (char *p = strstr(b2, "zz81723"); p; p = strstr(p, "zz81723"))
			memcpy(p, "alice", 5), memmove(p + 5, p + 7, strlen(p + 7) + 1);
		normalize(a1);
		normalize(b1);
		normalize(a2);
		normalize(b2);
		/* the sources differ (received=); align them too */
		for (char *p = strstr(b1, "127.0.2.8"); p; p = strstr(p, "127.0.2.8"))
			p[8] = '7';
		for (char *p = strstr(b2, "127.0.2.8"); p; p = strstr(p, "127.0.2.8"))
			p[8] = '7';
		ck_assert_str_eq(a1, b1);
		ck_assert_str_eq(a2, b2);
		close(a.fd);
		close(b.fd);
	}
}
END_TEST

/* digestalgs: general "sha256,md5" challenges with SHA-256 first, then MD5;
 * alice may only log in with SHA-256. Her right password in MD5 is refused
 * exactly like a wrong password and like an unknown user, after a first
 * challenge that is the same for all (R28-R30); 101, who has no digestalgs
 * of his own, logs in with MD5. (The test client answers in MD5.) */
static void start_digestalgs(void)
{
	general_extra = " digestalgs = \"sha256,md5\";";
	alice_extra = " digestalgs = \"sha256\";";
	start_daemon();
}

static void stop_digestalgs(void)
{
	stop_daemon();
	general_extra = "";
	alice_extra = "";
}

/* Replace every from (7 characters) in msg by to (5). */
static void rename_user(char *msg, const char *from, const char *to)
{
	for (char *p = strstr(msg, from); p; p = strstr(p, from))
		memcpy(p, to, 5), memmove(p + 5, p + 7, strlen(p + 7) + 1);
}

START_TEST(digestalgs_per_peer_looks_alike)
{
	static const struct {
		const char *src, *user, *password;
	} tries[] = {
		{ "127.0.2.7", "alice", "s3cret" },      /* right, but MD5 */
		{ "127.0.2.7", "alice", "wrong-pass" },  /* wrong */
		{ "127.0.2.7", "zz81723", "anything" },  /* nobody */
	};
	char first[3][8192], second[3][8192], line[1024];

	for (size_t i = 0; i < 3; i++) {
		struct client c;
		client_open(&c, tries[i].src, "algs", SN_IP, SN_PORT);
		client_send(&c, "REGISTER", tries[i].user, NULL, NULL);
		ck_assert(client_recv(&c, first[i], sizeof(first[i]), 2000));
		client_answer_challenge(&c, first[i], "REGISTER", tries[i].user, tries[i].password, line,
					sizeof(line));
		client_send(&c, "REGISTER", tries[i].user, line, NULL);
		ck_assert(client_recv(&c, second[i], sizeof(second[i]), 2000));
		close(c.fd);
		ck_assert_msg(strncmp(second[i], "SIP/2.0 403 Forbidden\r\n", 23) == 0, "%s/%s got %s",
			      tries[i].user, tries[i].password, second[i]);
		if (strcmp(tries[i].user, "zz81723") == 0) {
			rename_user(first[i], "zz81723", "alice");
			rename_user(second[i], "zz81723", "alice");
		}
		normalize(first[i]);
		normalize(second[i]);
	}
	/* two challenges, SHA-256 first (RFC 8760), the same for everyone */
	const char *sha = strstr(first[0], "algorithm=SHA-256");
	const char *md5 = strstr(first[0], "algorithm=MD5");
	ck_assert_msg(sha && md5 && sha < md5, "challenges: %s", first[0]);
	for (size_t i = 1; i < 3; i++) {
		ck_assert_str_eq(first[0], first[i]);
		ck_assert_str_eq(second[0], second[i]);
	}

	/* 101 follows general, which takes MD5 */
	struct client ok;
	char out[8192];
	client_open(&ok, "127.0.2.9", "algs-ok", SN_IP, SN_PORT);
	client_auth_request(&ok, "REGISTER", "101", "one-oh-one", "60", out, sizeof(out));
	ck_assert_msg(strncmp(out, "SIP/2.0 200 ", 12) == 0, "got %s", out);
	close(ok.fd);
}
END_TEST

/* OPTIONS from the Internet gets one fixed answer, whoever it names (R31). */
START_TEST(options_reveal_nothing)
{
	char a[4096], b[4096];
	struct client c1, c2;

	client_open(&c1, "127.0.2.7", "opt-a", SN_IP, SN_PORT);
	client_open(&c2, "127.0.2.7", "opt-b", SN_IP, SN_PORT);
	client_send(&c1, "OPTIONS", "alice", NULL, NULL);
	client_send(&c2, "OPTIONS", "zz81723", NULL, NULL);
	ck_assert(client_recv(&c1, a, sizeof(a), 2000));
	ck_assert(client_recv(&c2, b, sizeof(b), 2000));
	ck_assert(strncmp(a, "SIP/2.0 200 OK", 14) == 0);
	for (char *p = strstr(b, "zz81723"); p; p = strstr(p, "zz81723"))
		memcpy(p, "alice", 5), memmove(p + 5, p + 7, strlen(p + 7) + 1);
	normalize(a);
	normalize(b);
	ck_assert_str_eq(a, b);
	close(c1.fd);
	close(c2.fd);
}
END_TEST

START_TEST(ban_takes_effect_and_expires)
{
	char out[8192], line[1024];
	struct client bad, good;

	stop_daemon();
	start_with_bans(3, 2);
	client_open(&bad, "127.0.2.9", "ban-1", SN_IP, SN_PORT);
	client_open(&good, "127.0.2.10", "ban-2", SN_IP, SN_PORT);
	for (int i = 0; i < 3; i++) {
		client_send(&bad, "REGISTER", "alice", NULL, NULL);
		ck_assert(client_recv(&bad, out, sizeof(out), 2000));
		client_answer_challenge(&bad, out, "REGISTER", "alice", "guess", line, sizeof(line));
		client_send(&bad, "REGISTER", "alice", line, NULL);
		ck_assert(client_recv(&bad, out, sizeof(out), 2000));
		ck_assert(strncmp(out, "SIP/2.0 403", 11) == 0);
	}
	ck_assert(harness_wait_log(&daemon_p, "banned 127.0.2.9", 1000));
	client_send(&bad, "REGISTER", "alice", NULL, NULL);
	ck_assert_msg(!client_recv(&bad, out, sizeof(out), 500), "a banned address was answered");
	/* another address is served meanwhile */
	client_auth_request(&good, "REGISTER", "alice", "s3cret", NULL, out, sizeof(out));
	ck_assert(strncmp(out, "SIP/2.0 200 OK", 14) == 0);
	/* and the ban ends */
	usleep(2200 * 1000);
	client_send(&bad, "REGISTER", "alice", NULL, NULL);
	ck_assert(client_recv(&bad, out, sizeof(out), 2000));
	ck_assert(strncmp(out, "SIP/2.0 401", 11) == 0);
	close(bad.fd);
	close(good.fd);
}
END_TEST

/* A binding outlives a restart, also an unclean one. */
static void binding_survives(int sig)
{
	char out[8192], msg[2048];
	struct client phone;

	client_open(&phone, "127.0.2.5", "reg-restart", SN_IP, SN_PORT);
	client_auth_request(&phone, "REGISTER", "alice", "s3cret", "600", out, sizeof(out));
	ck_assert(strncmp(out, "SIP/2.0 200 OK", 14) == 0);
	if (sig == SIGKILL)
		usleep(1500 * 1000); /* the state file is written within a second */
	int rc = harness_stop(&daemon_p, sig, 5000);
	ck_assert_int_eq(rc, sig == SIGKILL ? 128 + SIGKILL : 0);
	const char *args[] = { "-f", "-c", conf_path, NULL };
	harness_start(&daemon_p, args, true);
	ck_assert(harness_log_contains(&daemon_p, "restored 1 registration"));

	int pbx = harness_udp(PBX_IP, PBX_PORT);
	int n = snprintf(msg, sizeof(msg),
			 "INVITE sip:alice@" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP " PBX_IP ":25080;branch=z9hG4bKrestart;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:200@" PBX_IP ">;tag=p1\r\n"
			 "To: <sip:alice@" SN_IP ">\r\nCall-ID: after-restart\r\nCSeq: 1 INVITE\r\n"
			 "Contact: <sip:200@" PBX_IP ":25080>\r\nContent-Length: 0\r\n\r\n");
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert(client_recv(&phone, out, sizeof(out), 2000));
	ck_assert_msg(strncmp(out, "INVITE sip:alice@192.168.1.5:5060 SIP/2.0", 41) == 0, "got %s", out);
	close(pbx);
	close(phone.fd);
}

START_TEST(binding_survives_restart)
{
	binding_survives(SIGTERM);
}
END_TEST

START_TEST(binding_survives_kill_9)
{
	binding_survives(SIGKILL);
}
END_TEST

/* SIPVicious svwar, the scanner behind most SIP brute-forcing, finds no
 * extension by any method; the PBX hears nothing of it. */
START_TEST(svwar_finds_nothing)
{
	const char *methods[] = { "REGISTER", "INVITE", "OPTIONS" };
	char out[16384], dict[600];
	int pbx = harness_udp(PBX_IP, PBX_PORT);

	snprintf(dict, sizeof(dict), "%s", harness_write_file("dict.txt", "admin\nalice\nbob\n101\n"));
	for (size_t m = 0; m < 3; m++) {
		const char *ranged[] = { "svwar", "-m", methods[m], "-e", "95-110", "-b", "127.0.2.66",
					 "-p", "25060", "--maximumtime", "5", SN_IP, NULL };
		int rc = harness_run(ranged, out, sizeof(out));
		ck_assert_msg(rc >= 0 && rc != 127, "svwar did not run (installed by scripts/install-deps.sh --test)");
		ck_assert_msg(strstr(out, "found nothing") != NULL && strstr(out, "| 101") == NULL,
			      "svwar -m %s found 101:\n%s", methods[m], out);
		/* --force: scan even though every name is answered alike, and
		 * report any name whose answer differs from a made-up one's */
		const char *dicted[] = { "svwar", "--force", "-m", methods[m], "-d", dict, "-b",
					 "127.0.2.66", "-p", "25060", "--maximumtime", "5", SN_IP, NULL };
		harness_run(dicted, out, sizeof(out));
		ck_assert_msg(strstr(out, "found nothing") != NULL && strstr(out, "| alice") == NULL,
			      "svwar --force -m %s found something:\n%s", methods[m], out);
	}
	ck_assert_int_lt(harness_sip_recv(pbx, out, sizeof(out), 300, NULL), 0);
	close(pbx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = harness_tcase(s, "peers", 120, start_daemon, stop_daemon);
	harness_add_tests(tc, (const TTest *[]){
		register_then_calls_both_ways, sipp_phone_registers, guests_never_reach_pbx,
		unknown_user_and_wrong_password_look_alike, options_reveal_nothing,
		ban_takes_effect_and_expires, binding_survives_restart, binding_survives_kill_9,
		svwar_finds_nothing, NULL });
	TCase *algs = harness_tcase(s, "digestalgs", 60, start_digestalgs, stop_digestalgs);
	harness_add_tests(algs, (const TTest *[]){ digestalgs_per_peer_looks_alike, NULL });
	return harness_run_suite(s);
}
