/*
 * A patient attacker against the real daemon (issue 11): the attacks that got
 * through, reproduced on loopback, and a measurement of how many passwords an
 * attacker can test per hour through every path.
 *
 *   LAN (127.0.110.0/24): sipnatd 127.0.110.10:26060, PBX 127.0.110.20:26080
 *   Internet: alice 127.0.112.5, attackers 127.0.112.66 and others, a relay
 *   victim 127.0.112.77:5099, and a /24 of guessers 127.0.111.1-50
 *
 * Every message is built here byte by byte and the digest computed with
 * sipnatd's own auth_digest module, so that the test sees exactly what an
 * attacker sends and what arrives at the PBX.
 */
#include "digest_line.h"
#include "harness.h"

#include "auth_digest.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SN_IP "127.0.110.10"
#define SN_PORT 26060
#define PBX_IP "127.0.110.20"
#define PBX_PORT 26080
#define EXT_IP "203.0.113.7"
#define REALM "sipnatd"
#define SECRET "s3cret-Pw"
#define USERAGENT "Home PBX"
/* sipnatd's nonce lifetime (nonce.h) and a margin for the clock's second */
#define NONCE_STALE_AFTER_S (32 + 2)

static struct daemon_proc daemon_p;

static const char conf_text[] =
	"general: {\n"
	"  bindaddr = \"" SN_IP "\"; bindport = 26060;\n"
	"  externip = \"" EXT_IP "\";\n"
	"  localnet = [ \"127.0.110.0/24\" ];\n"
	"  pbx = \"" PBX_IP ":26080\";\n"
	"  banafter = %d; bantime = %d;\n"
	"  useragent = \"" USERAGENT "\";\n"
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"" SECRET "\"; }\n"
	");\n"
	"logging: { level = \"info\"; };\n";

static void start_with_bans(int banafter, int bantime)
{
	harness_start_conf(&daemon_p, "attacks.conf", conf_text, banafter, bantime, harness_tmpdir(), harness_tmpdir());
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

/* One request as a phone writes it. extra: whole header lines with CRLF. */
static size_t build(char *out, size_t len, const char *method, const char *ruri, int fd,
		    const char *src_ip, const char *call_id, unsigned cseq, const char *extra)
{
	bool reg = strcmp(method, "REGISTER") == 0;
	int n = snprintf(out, len,
			 "%s %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-%s-%u;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:alice@" EXT_IP ">;tag=ft-%s\r\n"
			 "To: <sip:%s@" EXT_IP ">\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u %s\r\n"
			 "Contact: <sip:alice@%s:%u>\r\n"
			 "User-Agent: Attack/1.0\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 method, ruri, src_ip, harness_udp_port(fd), call_id, cseq, call_id,
			 reg ? "alice" : "100", call_id, cseq, method, src_ip, harness_udp_port(fd),
			 extra ? extra : "");
	ck_assert(n > 0 && (size_t)n < len);
	return (size_t)n;
}

static int status_of(const char *msg)
{
	return strncmp(msg, "SIP/2.0 ", 8) == 0 ? atoi(msg + 8) : 0;
}

static void nonce_of(const char *resp, char *out, size_t len)
{
	const char *p = strstr(resp, "nonce=\"");
	ck_assert_msg(p != NULL, "no nonce in %s", resp);
	p += 7;
	size_t k = strcspn(p, "\"");
	ck_assert_uint_lt(k, len);
	memcpy(out, p, k);
	out[k] = '\0';
}

/* The credentials line for user/password on nonce, MD5, for digest uri
 * (with its CRLF). */
static void credentials(char *out, size_t len, const char *method, const char *uri,
			const char *password, const char *nonce, const char *cnonce)
{
	digest_line(out, len - 2,
		    &(struct digest_line){ .method = method, .alg = DIGEST_MD5, .user = "alice",
					   .realm = REALM, .password = password, .nonce = nonce,
					   .uri = uri, .cnonce = cnonce });
	strcat(out, "\r\n");
}

/* Send a request without credentials and return the challenge's nonce. */
static void get_nonce(int fd, const char *ip, const char *method, const char *ruri, const char *call_id,
		      char *nonce, size_t len)
{
	char msg[4096], got[8192];
	size_t n = build(msg, sizeof(msg), method, ruri, fd, ip, call_id, 1, NULL);

	harness_udp_send(fd, SN_IP, SN_PORT, msg, n);
	ck_assert_msg(harness_sip_recv(fd, got, sizeof(got), 2000, NULL) > 0, "%s from %s: no challenge",
		      method, ip);
	ck_assert_int_eq(status_of(got), strcmp(method, "REGISTER") == 0 ? 401 : 407);
	nonce_of(got, nonce, len);
}

/* ---- gap 1: the stale-nonce password oracle ---- */

static void start_stale(void)
{
	start_with_bans(3, 60);
}

/* One nonce, left to expire, then password after password on it. Before the
 * fix every wrong guess got a plain 401, uncounted, and the right one
 * stale=true: guess 200 found the password with no ban. Now each wrong
 * digest counts; the third bans, and the right password is never judged. */
START_TEST(stale_nonce_guessing_bans)
{
	const char *ip = "127.0.112.66", *ruri = "sip:" EXT_IP;
	int atk = harness_udp(ip, 0);
	char nonce[128], msg[4096], got[8192], line[1024], header[128];

	get_nonce(atk, ip, "REGISTER", ruri, "stale-atk", nonce, sizeof(nonce));
	sleep(NONCE_STALE_AFTER_S); /* nothing to wait for but the clock */

	for (int i = 1; i <= 3; i++) {
		char guess[32], cnonce[32];
		snprintf(guess, sizeof(guess), "guess-%d", i);
		snprintf(cnonce, sizeof(cnonce), "c%d", i);
		credentials(line, sizeof(line), "REGISTER", ruri, guess, nonce, cnonce);
		size_t n = build(msg, sizeof(msg), "REGISTER", ruri, atk, ip, "stale-atk", 1 + (unsigned)i, line);
		harness_udp_send(atk, SN_IP, SN_PORT, msg, n);
		ck_assert_msg(harness_sip_recv(atk, got, sizeof(got), 2000, NULL) > 0, "guess %d unanswered", i);
		/* the same plain challenge an unknown user gets (R32) */
		ck_assert_int_eq(status_of(got), 401);
		ck_assert_ptr_null(strstr(got, "stale="));
		ck_assert(harness_sip_header(got, "Server", header, sizeof(header)));
		ck_assert_str_eq(header, USERAGENT);
	}
	ck_assert_msg(harness_wait_log(&daemon_p, "banned 127.0.112.66", 2000),
		      "three wrong digests on a stale nonce did not ban");
	/* the right password now: no answer, so no stale=true to learn from */
	credentials(line, sizeof(line), "REGISTER", ruri, SECRET, nonce, "c9");
	size_t n = build(msg, sizeof(msg), "REGISTER", ruri, atk, ip, "stale-atk", 9, line);
	harness_udp_send(atk, SN_IP, SN_PORT, msg, n);
	ck_assert_msg(harness_sip_recv(atk, got, sizeof(got), 1000, NULL) < 0, "banned, yet answered: %s", got);
	close(atk);
}
END_TEST

/* ---- gap 2: a sniffed authenticated INVITE replayed ---- */

static void start_replay(void)
{
	start_with_bans(10, 60);
}

/* Nothing reaches the PBX within wait_ms. */
static void assert_pbx_quiet(int pbx, int wait_ms, const char *what)
{
	char got[8192];

	ck_assert_msg(harness_sip_recv(pbx, got, sizeof(got), wait_ms, NULL) < 0, "%s reached the PBX:\n%s",
		      what, got);
}

START_TEST(replayed_invite_not_forwarded)
{
	const char *alice_ip = "127.0.112.5", *atk_ip = "127.0.112.66";
	const char *ruri = "sip:100@" EXT_IP;
	int alice = harness_udp(alice_ip, 0), pbx = harness_udp(PBX_IP, PBX_PORT);
	int atk = harness_udp(atk_ip, 0), neighbour = harness_udp(alice_ip, 0);
	char nonce[128], line[1024], sniffed[4096], msg[4096], got[8192];

	get_nonce(alice, alice_ip, "INVITE", ruri, "call-1", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "INVITE", ruri, SECRET, nonce, "a1");
	size_t len = build(sniffed, sizeof(sniffed), "INVITE", ruri, alice, alice_ip, "call-1", 2, line);
	harness_udp_send(alice, SN_IP, SN_PORT, sniffed, len);
	ck_assert_msg(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL) > 0, "alice's INVITE not forwarded");
	ck_assert_int_eq(strncmp(got, "INVITE ", 7), 0);
	ck_assert_ptr_nonnull(strstr(got, "P-Asserted-Identity: <sip:alice@"));
	/* alice's own retransmission: the same transaction again */
	harness_udp_send(alice, SN_IP, SN_PORT, sniffed, len);
	ck_assert_msg(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL) > 0, "retransmission not forwarded");

	/* the very bytes from the attacker's address: challenged, not forwarded */
	harness_udp_send(atk, SN_IP, SN_PORT, sniffed, len);
	assert_pbx_quiet(pbx, 1000, "the replay from another address");
	ck_assert(harness_sip_recv(atk, got, sizeof(got), 1000, NULL) > 0);
	ck_assert_int_eq(status_of(got), 407);

	/* with an expensive number in the Request-URI */
	const char *dear = "sip:0900555123@" EXT_IP;
	size_t n = build(msg, sizeof(msg), "INVITE", dear, alice, alice_ip, "call-1", 2, line);
	harness_udp_send(atk, SN_IP, SN_PORT, msg, n);
	assert_pbx_quiet(pbx, 1000, "the replay to 0900555123 from another address");
	/* from alice's own public address (the same NAT), another port */
	harness_udp_send(neighbour, SN_IP, SN_PORT, sniffed, len);
	assert_pbx_quiet(pbx, 1000, "the replay from alice's address, another port");
	ck_assert(harness_sip_recv(neighbour, got, sizeof(got), 1000, NULL) > 0);
	ck_assert_int_eq(status_of(got), 407);
	harness_udp_send(neighbour, SN_IP, SN_PORT, msg, n);
	assert_pbx_quiet(pbx, 1000, "the replay to 0900555123 from alice's address");
	ck_assert(harness_sip_recv(neighbour, got, sizeof(got), 1000, NULL) > 0);
	ck_assert_msg(status_of(got) == 400, "digest uri is not the Request-URI, answered %d", status_of(got));
	close(alice);
	close(pbx);
	close(atk);
	close(neighbour);
}
END_TEST

/* ---- gap 4: Route and a third party's Request-URI ---- */

/* An account holder (or someone with its password) names a third party as
 * the next hop: the PBX must see neither. */
START_TEST(route_and_third_party_never_reach_pbx)
{
	const char *ip = "127.0.112.5";
	const char *ruri = "sip:100@127.0.112.77:5099;maddr=127.0.112.77;user=phone";
	int alice = harness_udp(ip, 0), pbx = harness_udp(PBX_IP, PBX_PORT);
	int victim = harness_udp("127.0.112.77", 5099);
	char nonce[128], line[1024], extra[1400], msg[4096], got[8192];

	get_nonce(alice, ip, "INVITE", ruri, "call-r", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "INVITE", ruri, SECRET, nonce, "r1");
	snprintf(extra, sizeof(extra),
		 "Route: <sip:" SN_IP ":26060;lr>, <sip:127.0.112.77:5099;lr>\r\n"
		 "Route: <sip:relay.victim.example;lr>\r\n%s",
		 line);
	size_t n = build(msg, sizeof(msg), "INVITE", ruri, alice, ip, "call-r", 2, extra);
	harness_udp_send(alice, SN_IP, SN_PORT, msg, n);
	ck_assert_msg(harness_sip_recv(pbx, got, sizeof(got), 2000, NULL) > 0, "not forwarded");
	char first[256];
	harness_sip_first_line(got, first, sizeof(first));
	ck_assert_str_eq(first, "INVITE sip:100@" PBX_IP ":26080;user=phone SIP/2.0");
	ck_assert_msg(strcasestr(got, "\r\nRoute:") == NULL, "a Route reached the PBX:\n%s", got);
	ck_assert_msg(strstr(got, "127.0.112.77") == NULL && strstr(got, "victim") == NULL,
		      "the third party reached the PBX:\n%s", got);
	ck_assert(harness_sip_recv(victim, got, sizeof(got), 500, NULL) < 0);
	close(alice);
	close(pbx);
	close(victim);
}
END_TEST

/* ---- the measurement: guesses per hour through every path ---- */

#define MEASURE_BANAFTER 3
#define MEASURE_BANTIME_S 5
#define MEASURE_WINDOW_S 20
#define SUBNET_HOSTS 50
#define GUESS_EVERY_MS 50

static void start_measure(void)
{
	start_with_bans(MEASURE_BANAFTER, MEASURE_BANTIME_S);
}

struct guesser {
	int fd;
	char ip[32];
	const char *method;
	const char *ruri;
	char call_id[48];
	char nonce[128];
	bool stale;      /* guesses on an expired nonce */
	unsigned cseq;
	unsigned sent;
	unsigned judged; /* answers that told right from wrong */
};

static void guesser_open(struct guesser *g, const char *ip, const char *method, bool stale)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->ip, sizeof(g->ip), "%s", ip);
	g->fd = harness_udp(ip, 0);
	g->method = method;
	g->stale = stale;
	g->ruri = strcmp(method, "REGISTER") == 0 ? "sip:" EXT_IP : "sip:100@" EXT_IP;
	snprintf(g->call_id, sizeof(g->call_id), "guess-%s-%s", method, ip);
	g->cseq = 1;
	get_nonce(g->fd, g->ip, method, g->ruri, g->call_id, g->nonce, sizeof(g->nonce));
}

static void guesser_send(struct guesser *g)
{
	char line[1024], msg[4096], guess[48], cnonce[24];

	g->sent++;
	g->cseq++;
	snprintf(guess, sizeof(guess), "wrong-%u", g->sent);
	snprintf(cnonce, sizeof(cnonce), "g%u", g->sent);
	credentials(line, sizeof(line), g->method, g->ruri, guess, g->nonce, cnonce);
	size_t n = build(msg, sizeof(msg), g->method, g->ruri, g->fd, g->ip, g->call_id, g->cseq, line);
	harness_udp_send(g->fd, SN_IP, SN_PORT, msg, n);
}

/* Read what came back; count the answers that judged a password: 403 on a
 * fresh nonce, a challenge on a stale one (stale=true would mean right). */
static void guesser_drain(struct guesser *g)
{
	char got[8192];

	while (harness_udp_recv(g->fd, got, sizeof(got), 0, NULL) > 0) {
		int st = status_of(got);
		ck_assert_msg(!strstr(got, "stale=true"), "a wrong password got stale=true");
		if ((!g->stale && st == 403) || (g->stale && (st == 401 || st == 407)))
			g->judged++;
	}
}

/* Guess with every guesser for window_s seconds, GUESS_EVERY_MS apart. */
static void guess_for(struct guesser *gs, size_t count, int window_s)
{
	long end = harness_now_ms() + window_s * 1000L;

	while (harness_now_ms() < end) {
		long tick = harness_now_ms();
		for (size_t i = 0; i < count; i++)
			guesser_send(&gs[i]);
		while (harness_now_ms() < tick + GUESS_EVERY_MS)
			for (size_t i = 0; i < count; i++)
				guesser_drain(&gs[i]);
	}
	for (long until = harness_now_ms() + 500; harness_now_ms() < until;)
		for (size_t i = 0; i < count; i++)
			guesser_drain(&gs[i]);
}

/* The most judged guesses one address can get in window_s: banafter per
 * bantime, plus the first bucketful; bans are timed in whole seconds, so a
 * ban may be up to a second short. */
static double bound_per_address(int window_s)
{
	return MEASURE_BANAFTER * (1.0 + (double)window_s / (MEASURE_BANTIME_S - 1));
}

static void report(const char *path, const struct guesser *gs, size_t count, int window_s)
{
	unsigned judged = 0, most = 0, sent = 0;

	for (size_t i = 0; i < count; i++) {
		judged += gs[i].judged;
		sent += gs[i].sent;
		if (gs[i].judged > most)
			most = gs[i].judged;
		/* each path is live: the first bucketful is judged... */
		ck_assert_msg(gs[i].judged >= MEASURE_BANAFTER, "%s from %s: only %u guesses judged", path,
			      gs[i].ip, gs[i].judged);
		/* ...and then the ban holds */
		ck_assert_msg(gs[i].judged <= bound_per_address(window_s),
			      "%s from %s: %u guesses judged in %d s, bound %.1f", path, gs[i].ip,
			      gs[i].judged, window_s, bound_per_address(window_s));
	}
	double per_hour = judged * 3600.0 / window_s;
	/* the same pace with the defaults (banafter 10, bantime 600) */
	double at_defaults = per_hour * (10.0 / 600.0) / ((double)MEASURE_BANAFTER / MEASURE_BANTIME_S);
	printf("guessing: %-34s %3zu address(es): %5u sent, %4u judged in %d s (most per address %u) "
	       "= %8.0f guesses/hour; bound %.0f/hour (banafter*3600/bantime per address); "
	       "the same pace scaled to banafter=10 bantime=600: ~%.0f/hour\n",
	       path, count, sent, judged, window_s, most, per_hour,
	       MEASURE_BANAFTER * 3600.0 / MEASURE_BANTIME_S * count, at_defaults);
	fflush(stdout);
}

START_TEST(guessing_per_hour_is_bounded)
{
	struct guesser fresh[2], stale[2], subnet[SUBNET_HOSTS];
	long started = harness_now_ms();

	/* the stale path's nonces, fetched first to expire meanwhile */
	guesser_open(&stale[0], "127.0.112.12", "REGISTER", true);
	guesser_open(&stale[1], "127.0.112.13", "INVITE", true);

	guesser_open(&fresh[0], "127.0.112.10", "REGISTER", false);
	guesser_open(&fresh[1], "127.0.112.11", "INVITE", false);
	guess_for(fresh, 2, MEASURE_WINDOW_S);
	report("fresh nonce, REGISTER", &fresh[0], 1, MEASURE_WINDOW_S);
	report("fresh nonce, INVITE", &fresh[1], 1, MEASURE_WINDOW_S);

	/* many addresses of one /24, REGISTER and INVITE alternating; each has
	 * its own budget (see sipnatd.conf(5), banafter) */
	for (int i = 0; i < SUBNET_HOSTS; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "127.0.111.%d", i + 1);
		guesser_open(&subnet[i], ip, i % 2 ? "INVITE" : "REGISTER", false);
	}
	guess_for(subnet, SUBNET_HOSTS, MEASURE_WINDOW_S / 2);
	report("fresh nonce, 50 addresses of a /24", subnet, SUBNET_HOSTS, MEASURE_WINDOW_S / 2);

	long left = NONCE_STALE_AFTER_S * 1000L - (harness_now_ms() - started);
	if (left > 0)
		usleep((useconds_t)left * 1000); /* until the stale path's nonces expire */
	guess_for(stale, 2, MEASURE_WINDOW_S);
	report("stale nonce, REGISTER", &stale[0], 1, MEASURE_WINDOW_S);
	report("stale nonce, INVITE", &stale[1], 1, MEASURE_WINDOW_S);

	/* the account is real: its password registers from an address that
	 * has not been guessing */
	struct guesser ok;
	char line[1024], msg[4096], got[8192];
	guesser_open(&ok, "127.0.112.20", "REGISTER", false);
	credentials(line, sizeof(line), "REGISTER", ok.ruri, SECRET, ok.nonce, "ok1");
	size_t n = build(msg, sizeof(msg), "REGISTER", ok.ruri, ok.fd, ok.ip, ok.call_id, 2, line);
	harness_udp_send(ok.fd, SN_IP, SN_PORT, msg, n);
	ck_assert(harness_sip_recv(ok.fd, got, sizeof(got), 2000, NULL) > 0);
	ck_assert_msg(status_of(got) == 200, "alice's password refused: %s", got);
	/* qualify pings the new binding at once, as general.useragent */
	bool pinged = false;
	for (long until = harness_now_ms() + 3000; !pinged && harness_now_ms() < until;)
		pinged = harness_udp_recv(ok.fd, got, sizeof(got), 200, NULL) > 0 &&
			 strncmp(got, "OPTIONS ", 8) == 0;
	ck_assert_msg(pinged, "no qualify OPTIONS");
	char agent[128];
	ck_assert(harness_sip_header(got, "User-Agent", agent, sizeof(agent)));
	ck_assert_str_eq(agent, USERAGENT);

	for (size_t i = 0; i < 2; i++) {
		close(fresh[i].fd);
		close(stale[i].fd);
	}
	for (int i = 0; i < SUBNET_HOSTS; i++)
		close(subnet[i].fd);
	close(ok.fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_attacks");
	TCase *tc = harness_tcase(s, "stale", 120, start_stale, stop_daemon);
	harness_add_tests(tc, (const TTest *[]){ stale_nonce_guessing_bans, NULL });

	tc = harness_tcase(s, "replay_and_route", 60, start_replay, stop_daemon);
	harness_add_tests(tc, (const TTest *[]){
		replayed_invite_not_forwarded, route_and_third_party_never_reach_pbx, NULL });

	tc = harness_tcase(s, "measure", 240, start_measure, stop_daemon);
	harness_add_tests(tc, (const TTest *[]){ guessing_per_hour_is_bounded, NULL });
	return harness_run_suite(s);
}
