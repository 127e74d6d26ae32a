/*
 * Unit tests for sip_hide.c: LAN hosts in From/To and a LAN Call-ID do not
 * cross to the Internet, the message is as it was after sending, and a sealed
 * Call-ID comes back as the PBX's own (issue 19).
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "secret.h"
#include "sip_hide.h"
#include "sip_samples.h"
#include "sipmsg.h"

static const uint8_t key_a[SECRET_KEY_LEN] = "sipnatd unit test key, 32 bytes";
static const uint8_t key_b[SECRET_KEY_LEN] = "another process key, 32 bytes!!";

static struct conf *conf;
static struct netaddr external;

static void setup(void)
{
	char err[CONF_ERR_MAX] = "";
	conf = conf_load_string("general: {\n"
				"  externip = \"203.0.113.1\";\n"
				"  localnet = [ \"192.0.2.0/24\" ];\n"
				"  pbx = \"192.0.2.20:5060\";\n"
				"};\n",
				"hide.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert(netaddr_parse_ip("203.0.113.1", &external));
	secret_set_key(key_a);
}

static void teardown(void)
{
	conf_free(conf);
}

/* chan_sip's INVITE toward a registered phone, as it reaches the wire side. */
static osip_message_t *pbx_invite(const char *from, const char *to, const char *call_id)
{
	char text[4096];
	osip_message_t *msg = NULL;
	const char *why = NULL;

	snprintf(text, sizeof(text),
		 "INVITE sip:alice@198.51.100.5:5060 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKsnvabc\r\n"
		 "Max-Forwards: 69\r\n"
		 "From: \"Reception\" <%s>;tag=as5f2c1e0d\r\n"
		 "To: <%s>\r\n"
		 "Contact: <sip:203.0.113.1:5060;snt=abcdef>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: 102 INVITE\r\n"
		 "Content-Length: 0\r\n\r\n",
		 from, to, call_id);
	ck_assert_int_eq(text_parse(text, &msg, &why), SIPMSG_OK);
	return msg;
}

static char *wire(osip_message_t *msg)
{
	char *buf = NULL;
	size_t len = 0;
	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	return buf;
}

START_TEST(lan_hosts_hidden_then_restored)
{
	osip_message_t *msg = pbx_invite("sip:200@192.0.2.20:5060", "sip:alice@192.0.2.10",
					 "3c26701b2e4f5a6b7c8d9e0f1a2b3c4d@192.0.2.20:5060");
	char *before = wire(msg);
	struct sip_hide_undo undo;

	ck_assert_int_eq(sip_hide_for_internet(msg, conf, &external, 5060, &undo), 0);
	char *out = wire(msg);
	ck_assert_msg(strstr(out, "192.0.2.") == NULL, "a LAN address crosses:\n%s", out);
	ck_assert_ptr_nonnull(strstr(out, "<sip:200@203.0.113.1:5060>;tag=as5f2c1e0d"));
	ck_assert_ptr_nonnull(strstr(out, "To: <sip:alice@203.0.113.1>"));
	ck_assert_ptr_nonnull(strstr(out, "Call-ID: " HIDE_CALL_ID_PREFIX));
	sip_hide_undo(msg, &undo);
	char *after = wire(msg);
	ck_assert_str_eq(after, before);
	osip_free(before);
	osip_free(out);
	osip_free(after);
	osip_message_free(msg);
}
END_TEST

/* The same Call-ID always seals to the same one (retransmissions, CANCEL,
 * every request of the dialog), and the phone's answer brings it back. */
/* Issue 20: an IPv6 leg gets sipnatd's IPv6 address in From and To, in
 * brackets; a LAN host that is an IPv6 literal (a ULA, LAN by default) is
 * hidden like an IPv4 one, and so is a Call-ID naming it. */
static const struct {
	const char *from, *to, *call_id, *external, *want_from;
} family_cases[] = {
	{ "sip:200@192.0.2.20:5060", "sip:alice@192.0.2.10", "c4@192.0.2.20:5060", "2001:db8:1::10",
	  "<sip:200@[2001:db8:1::10]:5060>;tag=as5f2c1e0d" },
	{ "sip:200@[fd00::20]:5060", "sip:alice@[fd00::10]", "c6@[fd00::20]:5060", "2001:db8:1::10",
	  "<sip:200@[2001:db8:1::10]:5060>;tag=as5f2c1e0d" },
	{ "sip:200@[fd00::20]:5060", "sip:alice@fd00::10", "c6@fd00::20", "203.0.113.1",
	  "<sip:200@203.0.113.1:5060>;tag=as5f2c1e0d" },
};

START_TEST(hidden_each_family)
{
	osip_message_t *msg = pbx_invite(family_cases[_i].from, family_cases[_i].to, family_cases[_i].call_id);
	char *before = wire(msg);
	struct sip_hide_undo undo;
	struct netaddr ext;

	ck_assert(netaddr_parse_ip(family_cases[_i].external, &ext));
	ck_assert_int_eq(sip_hide_for_internet(msg, conf, &ext, 5060, &undo), 0);
	char *out = wire(msg);
	ck_assert_msg(strstr(out, "192.0.2.") == NULL && strstr(out, "fd00::") == NULL,
		      "a LAN address crosses:\n%s", out);
	ck_assert_msg(strstr(out, family_cases[_i].want_from) != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "Call-ID: " HIDE_CALL_ID_PREFIX));
	sip_hide_undo(msg, &undo);
	char *after = wire(msg);
	ck_assert_str_eq(after, before);
	osip_free(before);
	osip_free(out);
	osip_free(after);
	osip_message_free(msg);
}
END_TEST

START_TEST(call_id_round_trip)
{
	const char *cid = "3c26701b2e4f5a6b7c8d9e0f1a2b3c4d@192.0.2.20:5060";
	osip_message_t *a = pbx_invite("sip:200@192.0.2.20", "sip:alice@192.0.2.10", cid);
	osip_message_t *b = pbx_invite("sip:200@192.0.2.20", "sip:alice@192.0.2.10", cid);
	struct sip_hide_undo ua, ub;

	ck_assert_int_eq(sip_hide_for_internet(a, conf, &external, 5060, &ua), 0);
	ck_assert_int_eq(sip_hide_for_internet(b, conf, &external, 5060, &ub), 0);
	ck_assert_str_eq(a->call_id->number, b->call_id->number);
	ck_assert_ptr_null(a->call_id->host);

	/* what the phone sends back: the sealed Call-ID, as it got it */
	char *sent = wire(a);
	osip_message_t *back = NULL;
	const char *why = NULL;
	ck_assert_int_eq(text_parse(sent, &back, &why), SIPMSG_OK);
	ck_assert(sip_hide_restore_call_id(back));
	ck_assert_str_eq(back->call_id->number, "3c26701b2e4f5a6b7c8d9e0f1a2b3c4d");
	ck_assert_str_eq(back->call_id->host, "192.0.2.20:5060");
	/* restored once: the PBX's own Call-ID is no token */
	ck_assert(!sip_hide_restore_call_id(back));

	/* another process's token, or one altered, is left as it is */
	osip_message_t *other = NULL;
	ck_assert_int_eq(text_parse(sent, &other, &why), SIPMSG_OK);
	secret_set_key(key_b);
	ck_assert(!sip_hide_restore_call_id(other));
	secret_set_key(key_a);
	size_t n = strlen(other->call_id->number);
	other->call_id->number[n - 2] = other->call_id->number[n - 2] == 'a' ? 'b' : 'a';
	ck_assert(!sip_hide_restore_call_id(other));

	sip_hide_undo(a, &ua);
	sip_hide_undo(b, &ub);
	osip_free(sent);
	osip_message_free(other);
	osip_message_free(back);
	osip_message_free(a);
	osip_message_free(b);
}
END_TEST

/* Nothing of the Internet's, and no name, is touched: pjsip's bare UUID, a
 * public host, a provider's domain, a Call-ID too long to seal. */
START_TEST(nothing_to_hide)
{
	static const char *const cases[][3] = {
		{ "sip:200@pbx.example.com", "sip:alice@203.0.113.1", "5b1c3a0e-7f0a-4d3e-9c1b-2a6f1e0d9c8b" },
		{ "sip:alice@203.0.113.1", "sip:100@203.0.113.1", "abc@198.51.100.5" },
		{ "sip:200@192.0.2.20.example", "sip:alice@10.1.1.1", "x@192.0.2.999" },
		{ "sip:200@pbx.example.com", "sip:alice@203.0.113.1",
		  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
		  "@192.0.2.20" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		osip_message_t *msg = pbx_invite(cases[k][0], cases[k][1], cases[k][2]);
		char *before = wire(msg);
		struct sip_hide_undo undo;
		ck_assert_int_eq(sip_hide_for_internet(msg, conf, &external, 5060, &undo), 0);
		char *out = wire(msg);
		ck_assert_str_eq(out, before);
		sip_hide_undo(msg, &undo);
		osip_free(before);
		osip_free(out);
		osip_message_free(msg);
	}
}
END_TEST

static Suite *sip_hide_suite(void)
{
	Suite *s = suite_create("sip_hide");
	TCase *tc = tcase_create("hide");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lan_hosts_hidden_then_restored);
	tcase_add_test(tc, call_id_round_trip);
	tcase_add_loop_test(tc, hidden_each_family, 0, (int)(sizeof(family_cases) / sizeof(family_cases[0])));
	tcase_add_test(tc, nothing_to_hide);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	sipmsg_global_init();
	SRunner *sr = srunner_create(sip_hide_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
