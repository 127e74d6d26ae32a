/*
 * Unit tests for sip_authenticate.c: the admission step for requests from
 * the Internet, over a sip_env with the real auth, bans, dialogs and
 * registrar and a fixed clock. The digest arithmetic itself is test_auth's;
 * here: which requests are admitted, answered or dropped, what counts as a
 * failed login, when a ban starts, that a REGISTER lands in the registrar
 * and tells the owner, and how the dialog table learns what it admits.
 * (The guessing budget against real attack tools: tests/integration
 * test_auth_attacks.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "bans.h"
#include "dialogs.h"
#include "netaddr.h"
#include "registrar.h"
#include "sip_authenticate.h"
#include "sip_reply.h"
#include "sip_samples.h"
#include "sipmsg.h"
#include "../support/digest_line.h"
#include "../support/unit_main.h"

#define T0 ((time_t)1700000000)
#define REALM "sipnatd"
#define CNONCE "0a4f113b"

static const char conf_text[] =
	"general: { localnet = [ \"192.168.1.0/24\" ]; pbx = \"192.168.1.10\"; externip = \"203.0.113.1\";\n"
	"  realm = \"" REALM "\"; banafter = 3; bantime = 600; };\n"
	"peers: ( { name = \"alice\"; secret = \"alice-secret\"; } );\n";

static struct conf *conf;
static struct sip_env env;
static struct sip_auth_counters counters;
static unsigned changes;
static struct sockaddr_in phone;
static struct netaddr source; /* where admit's requests come from: the phone by default */

static time_t clock_t0(void)
{
	return T0;
}

static void changed_cb(void *arg)
{
	(void)arg;
	changes++;
}

static void setup(void)
{
	char err[CONF_ERR_MAX];

	conf = conf_load_string(conf_text, "auth.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	env = (struct sip_env){ .conf = conf, .auth = auth_new(), .bans = bans_new(64),
				.dialogs = dialogs_new(64), .registrar = registrar_new(),
				.registrations_changed = changed_cb, .now = clock_t0 };
	ck_assert(env.auth && env.bans && env.dialogs && env.registrar);
	memset(&counters, 0, sizeof(counters));
	changes = 0;
	phone = netaddr_make((struct in_addr){ htonl(0xcb007105) }, 40000); /* 203.0.113.5 */
	source = netaddr_from_in(&phone);
}

static void teardown(void)
{
	auth_free(env.auth);
	bans_free(env.bans);
	dialogs_free(env.dialogs);
	registrar_free(env.registrar);
	conf_free(conf);
}

/* A request from the phone; auth_line a whole header line or NULL. */
static char *request_text(const char *method, const char *ruri, const char *to_tag,
			  const char *call_id, const char *auth_line)
{
	char *text = malloc(4096);

	ck_assert_ptr_nonnull(text);
	snprintf(text, 4096,
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK-%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@203.0.113.1>;tag=phone1\r\n"
		 "To: <sip:%s@203.0.113.1>%s%s\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: 1 %s\r\n"
		 "Contact: <sip:alice@10.0.0.5:5060>\r\n"
		 "%s%s"
		 "Content-Length: 0\r\n\r\n",
		 method, ruri, call_id, strcmp(method, "REGISTER") == 0 ? "alice" : "100",
		 to_tag ? ";tag=" : "", to_tag ? to_tag : "", call_id, method, auth_line ? auth_line : "",
		 auth_line ? "\r\n" : "");
	return text;
}

struct admitted {
	enum admission verdict;
	const struct conf_peer *peer;
	int status; /* of the answer, when ANSWERED */
	char nonce[128];
};

/* Run the authenticate step on the request in text, from the phone. */
static struct admitted admit(const char *text)
{
	osip_message_t *req = NULL, *answer = NULL;
	const char *why;
	struct admitted out;

	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(text_parse(text, &req, &why), SIPMSG_OK);
	out.verdict = sip_authenticate(&env, &counters, req, &source, text, strlen(text), &out.peer,
				       &answer);
	if (out.verdict == ANSWERED) {
		ck_assert_ptr_nonnull(answer);
		out.status = answer->status_code;
		char *buf = NULL;
		size_t len;
		ck_assert_int_eq(sipmsg_serialize(answer, &buf, &len), 0);
		const char *p = strstr(buf, "nonce=\"");
		if (p) {
			p += 7;
			size_t n = strcspn(p, "\"");
			ck_assert_uint_lt(n, sizeof(out.nonce));
			memcpy(out.nonce, p, n);
		}
		osip_free(buf);
		osip_message_free(answer);
	} else {
		ck_assert_ptr_null(answer);
	}
	osip_message_free(req);
	return out;
}

/* The header line alice's phone sends for nonce. */
static void credentials(char *out, size_t len, const char *method, const char *uri,
			const char *secret, const char *nonce)
{
	digest_line(out, len,
		    &(struct digest_line){ .method = method, .alg = DIGEST_MD5, .user = "alice",
					   .realm = REALM, .password = secret, .nonce = nonce,
					   .uri = uri, .cnonce = CNONCE });
}

/* A challenged request answered with secret: the second try's admission. */
static struct admitted answer_challenge(const char *method, const char *ruri, const char *call_id,
					const char *secret)
{
	char *text = request_text(method, ruri, NULL, call_id, NULL);
	struct admitted first = admit(text);
	char line[1024];

	free(text);
	ck_assert_int_eq(first.verdict, ANSWERED);
	ck_assert(first.nonce[0]);
	credentials(line, sizeof(line), method, ruri, secret, first.nonce);
	text = request_text(method, ruri, NULL, call_id, line);
	struct admitted second = admit(text);
	free(text);
	return second;
}

START_TEST(no_credentials_is_challenged_not_counted)
{
	char *text = request_text("INVITE", "sip:100@203.0.113.1", NULL, "c1", NULL);
	struct admitted r = admit(text);

	ck_assert_int_eq(r.verdict, ANSWERED);
	ck_assert_int_eq(r.status, 407);
	ck_assert_uint_eq(counters.failures, 0);
	free(text);
}
END_TEST

START_TEST(right_credentials_admit_with_the_peer)
{
	struct admitted r = answer_challenge("INVITE", "sip:100@203.0.113.1", "c2", "alice-secret");

	ck_assert_int_eq(r.verdict, ADMIT);
	ck_assert_ptr_nonnull(r.peer);
	ck_assert_str_eq(r.peer->name, "alice");
	ck_assert_uint_eq(counters.failures, 0);
}
END_TEST

/* Every wrong password counts; the banafter-th starts a ban, after which
 * the source is not even challenged. */
START_TEST(wrong_password_counts_and_bans)
{
	char call_id[16];

	for (int i = 0; i < 3; i++) {
		snprintf(call_id, sizeof(call_id), "bad%d", i);
		struct admitted r = answer_challenge("INVITE", "sip:100@203.0.113.1", call_id, "guess");
		ck_assert_uint_eq(counters.failures, (unsigned long)i + 1);
		if (i < 2)
			ck_assert_int_eq(r.verdict, ANSWERED);
	}
	ck_assert_uint_eq(counters.bans, 1);
	ck_assert(bans_is_banned(env.bans, &source, (unsigned)conf->banprefix6, T0));
}
END_TEST

/* Issue 20: the same rules for a phone of each family. Its failures ban
 * its source; an IPv6 one per banprefix6 (a /64: a neighbour in it is
 * banned too), an IPv4 one alone. Its REGISTER binds its address. */
static const struct {
	const char *src, *neighbour;
	bool neighbour_banned;
} family_cases[] = {
	{ "203.0.113.5", "203.0.113.6", false },
	{ "2001:db8:5::5", "2001:db8:5::99", true },
	{ "2001:db8:5::5", "2001:db8:5:1::5", false },
};

START_TEST(each_family_banned_and_bound)
{
	char call_id[16];
	struct netaddr n;

	ck_assert(netaddr_parse_ip(family_cases[_i].src, &source));
	source.port = 40000;
	struct admitted ok = answer_challenge("REGISTER", "sip:203.0.113.1", "reg6", "alice-secret");
	ck_assert_int_eq(ok.status, 200);
	const struct binding *b = registrar_lookup(env.registrar, "alice", T0);
	ck_assert_ptr_nonnull(b);
	ck_assert(netaddr_same(&b->nat, &source));
	for (int i = 0; i < 3; i++) {
		snprintf(call_id, sizeof(call_id), "bad6%d", i);
		answer_challenge("INVITE", "sip:100@203.0.113.1", call_id, "guess");
	}
	ck_assert_uint_eq(counters.failures, 3);
	ck_assert_uint_eq(counters.bans, 1);
	ck_assert(bans_is_banned(env.bans, &source, (unsigned)conf->banprefix6, T0));
	ck_assert(netaddr_parse_ip(family_cases[_i].neighbour, &n));
	ck_assert_int_eq(bans_is_banned(env.bans, &n, (unsigned)conf->banprefix6, T0),
			 family_cases[_i].neighbour_banned);
}
END_TEST

START_TEST(register_lands_in_the_registrar)
{
	struct admitted r = answer_challenge("REGISTER", "sip:203.0.113.1", "reg1", "alice-secret");

	ck_assert_int_eq(r.verdict, ANSWERED);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(changes, 1);
	const struct binding *b = registrar_lookup(env.registrar, "alice", T0);
	ck_assert_ptr_nonnull(b);
	struct netaddr want = netaddr_from_in(&phone);
	ck_assert(netaddr_same(&b->nat, &want));
}
END_TEST

START_TEST(options_one_fixed_answer)
{
	char *a = request_text("OPTIONS", "sip:100@203.0.113.1", NULL, "o1", NULL);
	char *b = request_text("OPTIONS", "sip:nobody@203.0.113.1", NULL, "o2", NULL);
	struct admitted ra = admit(a), rb = admit(b);

	ck_assert_int_eq(ra.verdict, ANSWERED);
	ck_assert_int_eq(ra.status, 200);
	ck_assert_int_eq(rb.status, 200);
	free(a);
	free(b);
}
END_TEST

START_TEST(in_dialog_only_for_known_dialogs)
{
	char *bye = request_text("BYE", "sip:100@203.0.113.1", "pbx9", "d1", NULL);
	char *ack = request_text("ACK", "sip:100@203.0.113.1", "pbx9", "d1", NULL);

	ck_assert_int_eq(admit(bye).status, 481);
	ck_assert_int_eq(admit(ack).verdict, DROPPED);
	/* the dialog set up: sipnatd saw the PBX's 200 go to the phone */
	dialogs_note(env.dialogs, "d1", "phone1", "alice", DIALOG_CONFIRMED, T0);
	ck_assert_int_eq(admit(bye).verdict, ADMIT);
	ck_assert_int_eq(admit(ack).verdict, ADMIT);
	free(bye);
	free(ack);
}
END_TEST

/* note_dialog: an admitted INVITE opens an early dialog (its CANCEL may
 * follow), the 200 toward the phone confirms it, a BYE ends it. */
START_TEST(note_dialog_follows_the_call)
{
	static const char invite_text[] =
		"INVITE sip:100@192.168.1.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-n1\r\n"
		"From: <sip:alice@203.0.113.1>;tag=phone1\r\nTo: <sip:100@203.0.113.1>\r\n"
		"Call-ID: n1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
	osip_message_t *invite = NULL, *ok = NULL, *bye = NULL;
	const char *why;
	char *cancel = request_text("CANCEL", "sip:100@203.0.113.1", NULL, "n1", NULL);

	ck_assert_int_eq(text_parse(invite_text, &invite, &why), SIPMSG_OK);
	ck_assert_int_eq(admit(cancel).status, 481);
	sip_authenticate_note_dialog(&env, invite, false, NULL);
	ck_assert(dialogs_known(env.dialogs, "n1", "phone1", T0, NULL));
	ck_assert_int_eq(admit(cancel).verdict, ADMIT);

	ok = sip_reply_build(invite, 200, NULL);
	ck_assert_ptr_nonnull(ok);
	osip_to_set_tag(ok->to, osip_strdup("pbx1"));
	sip_authenticate_note_dialog(&env, ok, true, NULL);
	ck_assert(dialogs_known(env.dialogs, "n1", "phone1", T0, NULL));

	ck_assert_int_eq(text_parse("BYE sip:100@192.168.1.10 SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-n2\r\n"
				    "From: <sip:alice@203.0.113.1>;tag=phone1\r\n"
				    "To: <sip:100@203.0.113.1>;tag=pbx1\r\n"
				    "Call-ID: n1\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
				    &bye, &why),
			 SIPMSG_OK);
	sip_authenticate_note_dialog(&env, bye, false, NULL);
	/* ended: its retransmissions still pass for 64*T1, then nothing */
	ck_assert(dialogs_known(env.dialogs, "n1", "phone1", T0, NULL));
	ck_assert(!dialogs_known(env.dialogs, "n1", "phone1", T0 + DIALOGS_LINGER_S + 1, NULL));

	osip_message_free(invite);
	osip_message_free(ok);
	osip_message_free(bye);
	free(cancel);
}
END_TEST

START_TEST(allowguest_admits_without_a_peer)
{
	char err[CONF_ERR_MAX];
	struct conf *guest = conf_load_string(
		"general: { localnet = [ \"192.168.1.0/24\" ]; pbx = \"192.168.1.10\"; externip = \"203.0.113.1\";\n"
		"  allowguest = true; };\n",
		"guest.conf", err);
	ck_assert_msg(guest != NULL, "%s", err);
	env.conf = guest;
	char *invite = request_text("INVITE", "sip:100@203.0.113.1", NULL, "g1", NULL);
	char *reg = request_text("REGISTER", "sip:203.0.113.1", NULL, "g2", NULL);
	struct admitted r = admit(invite);
	ck_assert_int_eq(r.verdict, ADMIT);
	ck_assert_ptr_null(r.peer);
	/* a REGISTER still needs credentials */
	ck_assert_int_eq(admit(reg).status, 401);
	env.conf = conf;
	conf_free(guest);
	free(invite);
	free(reg);
}
END_TEST

static Suite *authenticate_suite(void)
{
	Suite *s = suite_create("sip_authenticate");
	TCase *tc = tcase_create("admission");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_credentials_is_challenged_not_counted);
	tcase_add_test(tc, right_credentials_admit_with_the_peer);
	tcase_add_test(tc, wrong_password_counts_and_bans);
	tcase_add_test(tc, register_lands_in_the_registrar);
	tcase_add_loop_test(tc, each_family_banned_and_bound, 0, (int)(sizeof(family_cases) / sizeof(family_cases[0])));
	tcase_add_test(tc, options_one_fixed_answer);
	tcase_add_test(tc, in_dialog_only_for_known_dialogs);
	tcase_add_test(tc, note_dialog_follows_the_call);
	tcase_add_test(tc, allowguest_admits_without_a_peer);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(authenticate_suite, sipmsg_global_init())
