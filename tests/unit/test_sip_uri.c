/*
 * Unit tests for sip_uri.c: URIs compared by value (RFC 3261 19.1.4, with
 * defaults equal to their absence), as the digest uri= check needs it.
 * libosip2 decodes %-escapes while parsing: the ones that reach here are
 * decoded exactly once.
 */
#include <check.h>
#include <stdlib.h>

#include "sip_uri.h"
#include "sipmsg.h"
#include "../support/unit_main.h"

static const struct {
	const char *a, *b;
	bool same;
} cases[] = {
	/* RFC 3261 19.1.4's equivalent pairs */
	{ "sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true },
	{ "sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true },
	{ "sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5", true },
	{ "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
	  "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true },
	{ "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
	  "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true },
	/* and its non-equivalent ones */
	{ "SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false },
	{ "sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false },
	{ "sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false },
	{ "sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false },
	/* how phones spell what they send (digest uri against Request-URI) */
	{ "sip:192.0.2.10", "sip:192.0.2.10", true },                           /* pjsua REGISTER */
	{ "sip:100@192.0.2.10:5060", "sip:100@192.0.2.10", true },              /* default port */
	{ "sip:100@192.0.2.10;transport=udp", "sip:100@192.0.2.10", true },     /* Linphone */
	{ "sip:100@192.0.2.10;transport=UDP", "sip:100@192.0.2.10:5060", true },
	{ "sips:100@example.com:5061;transport=tcp", "sips:100@example.com", true },
	{ "sip:+4930123@example.com;user=phone", "sip:+4930123@example.com;user=phone", true },
	{ "sip:100@example.com;ob", "sip:100@example.com", true },              /* pjsip ;ob */
	{ "sip:100@example.com:05060", "sip:100@example.com", true },
	{ "tel:+4930123", "tel:+4930123", true },
	/* another target */
	{ "sip:100@example.com;user=phone", "sip:100@example.com", false },
	{ "sip:100@example.com;maddr=192.0.2.66", "sip:100@example.com", false },
	{ "sip:100@example.com;transport=tcp", "sip:100@example.com", false },
	{ "sips:100@example.com", "sip:100@example.com", false },
	{ "sip:100@example.com:5070", "sip:100@example.com", false },
	{ "sip:100:pw@example.com", "sip:100@example.com", false },
	{ "sip:0900123@example.com", "sip:100@example.com", false },
	{ "tel:+4930123", "tel:+4930124", false },
	{ "tel:+4930123", "sip:+4930123@example.com", false },
	{ "sip:100@example.com;a=1", "sip:100@example.com;a=2", false },
	{ "sip:100@example.com:99999", "sip:100@example.com:99999", false },
	{ "sip:%2561lice@example.com", "sip:alice@example.com", false },       /* decoded once */
	{ "sip:%2561lice@example.com", "sip:%61lice@example.com", false },
};

static osip_uri_t *parse(const char *text)
{
	osip_uri_t *u = NULL;

	ck_assert_int_eq(osip_uri_init(&u), 0);
	ck_assert_msg(osip_uri_parse(u, text) == 0, "cannot parse %s", text);
	return u;
}

START_TEST(compare_by_value)
{
	osip_uri_t *a = parse(cases[_i].a), *b = parse(cases[_i].b);

	ck_assert_msg(sip_uri_same(a, b) == cases[_i].same, "%s vs %s", cases[_i].a, cases[_i].b);
	ck_assert_msg(sip_uri_same(b, a) == cases[_i].same, "%s vs %s (reversed)", cases[_i].b, cases[_i].a);
	ck_assert(sip_uri_text_same(cases[_i].a, b) == cases[_i].same);
	osip_uri_free(a);
	osip_uri_free(b);
}
END_TEST

START_TEST(unusable_input)
{
	osip_uri_t *a = parse("sip:100@example.com");

	ck_assert(!sip_uri_same(a, NULL));
	ck_assert(!sip_uri_same(NULL, a));
	ck_assert(!sip_uri_text_same(NULL, a));
	ck_assert(!sip_uri_text_same("", a));
	ck_assert(!sip_uri_text_same("100@example.com", a));
	ck_assert(!sip_uri_text_same("sip:100@example.com", NULL));
	ck_assert(sip_uri_text_same("sip:100@example.com", a));
	osip_uri_free(a);
}
END_TEST

static Suite *sip_uri_suite(void)
{
	Suite *s = suite_create("sip_uri");
	TCase *tc = tcase_create("sip_uri");

	tcase_add_loop_test(tc, compare_by_value, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, unusable_input);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(sip_uri_suite, sipmsg_global_init())
