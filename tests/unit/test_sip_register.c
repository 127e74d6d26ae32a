/*
 * Unit tests for sip_register.c: an authenticated REGISTER turned into a
 * registrar request and the answer (RFC 3261 10.3; design section 7). Each
 * test starts with a fresh registrar; alice registers from behind a NAT.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "registrar.h"
#include "secret.h"
#include "sip_register.h"
#include "sip_samples.h"
#include "sipmsg.h"

#define T0 ((time_t)1700000000)
#define CONTACT1 "sip:alice@192.168.1.5:5062"
#define CONTACT2 "sip:alice@192.168.1.5:5070;transport=udp"

static const char conf_text[] =
	"general: {\n"
	"  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
	"  realm = \"sipnatd\"; maxexpiry = 3600; minexpiry = 60; defaultexpiry = 120;\n"
	"};\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"alice-secret\"; }\n"
	");\n";

static struct conf *conf;
static struct registrar *reg;
static const struct conf_peer *alice;
static struct sockaddr_in src;

static void setup(void)
{
	char err[CONF_ERR_MAX];
	struct in_addr in;

	conf = conf_load_string(conf_text, "register.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	alice = conf_peer_find(conf, "alice");
	ck_assert_ptr_nonnull(alice);
	reg = registrar_new();
	ck_assert_ptr_nonnull(reg);
	ck_assert(netaddr_parse_ipv4("203.0.113.5", &in));
	src = netaddr_make(in, 40000);
}

static void teardown(void)
{
	registrar_free(reg);
	conf_free(conf);
}

/* A REGISTER; headers holds Contact/Expires lines (each ending in CRLF). */
static osip_message_t *register_req(const char *call_id, const char *cseq, const char *headers)
{
	char text[4096];
	osip_message_t *msg = NULL;
	const char *why = NULL;

	snprintf(text, sizeof(text),
		 "REGISTER sip:sipnatd.example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK-%s-%s;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@sipnatd.example.com>;tag=fromtag1\r\n"
		 "To: <sip:alice@sipnatd.example.com>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %s REGISTER\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 call_id, cseq, call_id, cseq, headers);
	enum sipmsg_status st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

/* Handle it at now; returns the serialised answer (free()) and its status. */
static char *handle(const char *call_id, const char *cseq, const char *headers, time_t now,
		    int *status, bool *changed)
{
	osip_message_t *req = register_req(call_id, cseq, headers);
	char *buf = NULL;
	size_t len;

	*changed = !*changed; /* must be set either way */
	struct netaddr from = netaddr_from_in(&src);
	osip_message_t *resp = sip_register_handle(reg, conf, req, alice, &from, SIP_TRANSPORT_UDP, now, changed);
	ck_assert_ptr_nonnull(resp);
	*status = osip_message_get_status_code(resp);
	ck_assert_int_eq(sipmsg_serialize(resp, &buf, &len), 0);
	char *copy = strdup(buf);
	osip_free(buf);
	osip_message_free(resp);
	osip_message_free(req);
	return copy;
}

static int contacts_in(const char *text)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, "\r\nContact: ")) != NULL; p += 2)
		n++;
	return n;
}

START_TEST(register_lists_contact)
{
	int status;
	bool changed = false;
	char *text = handle("reg-1", "1", "Contact: <" CONTACT1 ">\r\nExpires: 600\r\n", T0, &status,
			    &changed);

	ck_assert_int_eq(status, 200);
	ck_assert(changed);
	ck_assert_int_eq(contacts_in(text), 1);
	ck_assert_msg(strstr(text, "\r\nContact: <" CONTACT1 ">;expires=600\r\n") != NULL, "%s", text);
	ck_assert_uint_eq(registrar_count(reg), 1);
	const struct binding *b = registrar_lookup(reg, "alice", T0);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->contact, CONTACT1);
	ck_assert_int_eq(b->expires, T0 + 600);
	ck_assert_uint_eq(b->nat.port, 40000);
	ck_assert_uint_eq(b->nat.ip.v4.s_addr, src.sin_addr.s_addr);
	free(text);

	/* later the remaining time is what is listed */
	text = handle("reg-1", "2", "", T0 + 100, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(!changed);
	ck_assert_ptr_nonnull(strstr(text, "\r\nContact: <" CONTACT1 ">;expires=500\r\n"));
	free(text);
}
END_TEST

START_TEST(expires_clamped_and_defaulted)
{
	int status;
	bool changed = false;
	char *text = handle("reg-2", "1", "Contact: <" CONTACT1 ">\r\nExpires: 99999\r\n", T0,
			    &status, &changed);

	ck_assert_int_eq(status, 200);
	ck_assert(changed);
	ck_assert_ptr_nonnull(strstr(text, ";expires=3600\r\n"));
	free(text);
	/* a contact's expires parameter is clamped too */
	text = handle("reg-2", "2", "Contact: <" CONTACT2 ">;expires=100000\r\n", T0, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(contacts_in(text), 2);
	ck_assert_ptr_null(strstr(text, "expires=100000"));
	ck_assert_ptr_nonnull(strstr(text, "<" CONTACT2 ">;expires=3600"));
	free(text);
	/* none given: defaultexpiry */
	registrar_free(reg);
	reg = registrar_new();
	text = handle("reg-3", "1", "Contact: <" CONTACT1 ">\r\n", T0, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert_ptr_nonnull(strstr(text, "<" CONTACT1 ">;expires=120\r\n"));
	free(text);
}
END_TEST

START_TEST(too_brief)
{
	int status;
	bool changed = false;
	char *text = handle("reg-4", "1", "Contact: <" CONTACT1 ">\r\nExpires: 30\r\n", T0, &status,
			    &changed);

	ck_assert_int_eq(status, 423);
	ck_assert(!changed);
	ck_assert_ptr_nonnull(strstr(text, "\r\nMin-Expires: 60\r\n"));
	ck_assert_int_eq(contacts_in(text), 0);
	ck_assert_uint_eq(registrar_count(reg), 0);
	free(text);
}
END_TEST

START_TEST(expires_zero_removes)
{
	int status;
	bool changed = false;
	char *text = handle("reg-5", "1",
			    "Contact: <" CONTACT1 ">\r\nContact: <" CONTACT2 ">\r\nExpires: 600\r\n",
			    T0, &status, &changed);

	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(contacts_in(text), 2);
	ck_assert_uint_eq(registrar_count(reg), 2);
	free(text);

	text = handle("reg-5", "2", "Contact: <" CONTACT1 ">\r\nExpires: 0\r\n", T0 + 1, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(changed);
	ck_assert_int_eq(contacts_in(text), 1);
	ck_assert_ptr_nonnull(strstr(text, "<" CONTACT2 ">;expires=599"));
	ck_assert_uint_eq(registrar_count(reg), 1);
	free(text);

	text = handle("reg-5", "3", "Contact: <" CONTACT2 ">;expires=0\r\n", T0 + 2, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(changed);
	ck_assert_int_eq(contacts_in(text), 0);
	ck_assert_uint_eq(registrar_count(reg), 0);
	free(text);
}
END_TEST

START_TEST(star_removes_all)
{
	int status;
	bool changed = false;
	char *text = handle("reg-6", "1",
			    "Contact: <" CONTACT1 ">\r\nContact: <" CONTACT2 ">\r\nExpires: 600\r\n",
			    T0, &status, &changed);

	ck_assert_int_eq(status, 200);
	free(text);
	/* "*" with a non-zero expiry is a bad request, and changes nothing */
	text = handle("reg-6", "2", "Contact: *\r\nExpires: 600\r\n", T0 + 1, &status, &changed);
	ck_assert_int_eq(status, 400);
	ck_assert(!changed);
	ck_assert_uint_eq(registrar_count(reg), 2);
	free(text);

	text = handle("reg-6", "3", "Contact: *\r\nExpires: 0\r\n", T0 + 1, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(changed);
	ck_assert_int_eq(contacts_in(text), 0);
	ck_assert_uint_eq(registrar_count(reg), 0);
	free(text);
}
END_TEST

START_TEST(query)
{
	int status;
	bool changed = true;
	char *text = handle("q-1", "1", "", T0, &status, &changed);

	ck_assert_int_eq(status, 200);
	ck_assert(!changed);
	ck_assert_int_eq(contacts_in(text), 0);
	free(text);

	text = handle("reg-7", "1", "Contact: <" CONTACT1 ">\r\nExpires: 600\r\n", T0, &status, &changed);
	free(text);
	/* a query from another Call-ID lists the binding and changes nothing */
	text = handle("q-2", "1", "", T0 + 10, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(!changed);
	ck_assert_int_eq(contacts_in(text), 1);
	ck_assert_ptr_nonnull(strstr(text, "<" CONTACT1 ">;expires=590\r\n"));
	ck_assert_uint_eq(registrar_count(reg), 1);
	free(text);
}
END_TEST

START_TEST(out_of_order)
{
	int status;
	bool changed = false;
	char *text = handle("reg-8", "5", "Contact: <" CONTACT1 ">\r\nExpires: 600\r\n", T0, &status,
			    &changed);

	ck_assert_int_eq(status, 200);
	free(text);
	/* same Call-ID, lower CSeq: 500, nothing changes */
	text = handle("reg-8", "4", "Contact: <" CONTACT1 ">\r\nExpires: 0\r\n", T0 + 1, &status, &changed);
	ck_assert_int_eq(status, 500);
	ck_assert(!changed);
	ck_assert_uint_eq(registrar_count(reg), 1);
	free(text);
	/* a higher one is fine */
	text = handle("reg-8", "6", "Contact: <" CONTACT1 ">\r\nExpires: 300\r\n", T0 + 2, &status, &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(changed);
	ck_assert_ptr_nonnull(strstr(text, ";expires=300\r\n"));
	free(text);
}
END_TEST

START_TEST(bad_cseq)
{
	int status;
	bool changed = false;
	char *text = handle("reg-9", "4294967296", "Contact: <" CONTACT1 ">\r\nExpires: 600\r\n", T0,
			    &status, &changed);

	ck_assert_int_eq(status, 400);
	ck_assert(!changed);
	ck_assert_uint_eq(registrar_count(reg), 0);
	free(text);
}
END_TEST

START_TEST(refresh_changes)
{
	int status;
	bool changed = false;
	char *text = handle("reg-10", "1", "Contact: <" CONTACT1 ">\r\nExpires: 600\r\n", T0, &status,
			    &changed);

	ck_assert(changed);
	free(text);
	/* a refresh later moves the expiry: a change (for the state file) */
	text = handle("reg-10", "2", "Contact: <" CONTACT1 ">\r\nExpires: 600\r\n", T0 + 300, &status,
		      &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(changed);
	ck_assert_ptr_nonnull(strstr(text, ";expires=600\r\n"));
	ck_assert_uint_eq(registrar_count(reg), 1);
	free(text);
	/* removing a contact that is not there changes nothing */
	text = handle("reg-10", "3", "Contact: <" CONTACT2 ">\r\nExpires: 0\r\n", T0 + 301, &status,
		      &changed);
	ck_assert_int_eq(status, 200);
	ck_assert(!changed);
	ck_assert_int_eq(contacts_in(text), 1);
	free(text);
}
END_TEST

static Suite *sip_register_suite(void)
{
	Suite *s = suite_create("sip_register");
	TCase *tc = tcase_create("register");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, register_lists_contact);
	tcase_add_test(tc, expires_clamped_and_defaulted);
	tcase_add_test(tc, too_brief);
	tcase_add_test(tc, expires_zero_removes);
	tcase_add_test(tc, star_removes_all);
	tcase_add_test(tc, query);
	tcase_add_test(tc, out_of_order);
	tcase_add_test(tc, bad_cseq);
	tcase_add_test(tc, refresh_changes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	static const uint8_t key[SECRET_KEY_LEN] = { 7 };
	SRunner *sr;
	int failed;

	sipmsg_global_init();
	secret_set_key(key);
	log_set_level(LOG_ERR); /* the registered/unregistered notices are not under test */
	sr = srunner_create(sip_register_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
