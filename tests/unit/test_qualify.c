/*
 * Unit tests for qualify.c: OPTIONS pings as non-INVITE client transactions
 * (RFC 3261 17.1.2). A minimal environment (event base, conf, SIP socket on
 * 127.0.0.1 as env->send, LAN address) and a plain UDP socket as the pinged party; the
 * loop is driven by hand. Timer F (32 s) is not waited for.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "conf.h"
#include "advertise.h"
#include "log.h"
#include "netaddr.h"
#include "qualify.h"
#include "secret.h"
#include "sip_branch.h"
#include "sip_reply.h"
#include "sip_samples.h"
#include "sip_socket.h"
#include "sipmsg.h"

static const char conf_text[] =
	"general: {\n"
	"  localnet = [ \"127.0.0.0/8\" ]; pbx = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
	"};\n";

static struct {
	struct conf *conf;
	struct event_base *base;
	struct advertise *advertise;
	struct sip_socket *sip;
	struct qualify *qualify;
	struct sip_env env;
} d;
static int target_fd = -1;
static struct sockaddr_in target_addr, sip_addr;

/* The target as qualify takes it. */
static const struct netaddr *target(void)
{
	static struct netaddr t;

	t = netaddr_from_in(&target_addr);
	return &t;
}
static unsigned responses_consumed;

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* What the dispatcher does with a response: pop our Via, hand it over. */
static void on_datagram(void *arg, const char *buf, size_t len, const struct netaddr *src)
{
	osip_message_t *msg = NULL;
	const char *why = NULL;

	(void)arg;
	(void)src;
	if (sipmsg_parse(buf, len, &msg, &why) != SIPMSG_OK)
		return;
	if (MSG_IS_RESPONSE(msg) && sip_branch_pop_ours(msg) && qualify_response(d.qualify, msg))
		responses_consumed++;
	osip_message_free(msg);
}

static void send_cb(void *arg, const char *buf, size_t len, const struct netaddr *dest)
{
	sip_socket_send(arg, buf, len, dest);
}

static void setup(void)
{
	char err[CONF_ERR_MAX];
	struct in_addr lo;
	socklen_t alen = sizeof(target_addr);

	memset(&d, 0, sizeof(d));
	responses_consumed = 0;
	d.conf = conf_load_string(conf_text, "qualify.conf", err);
	ck_assert_msg(d.conf != NULL, "%s", err);
	d.base = event_base_new();
	ck_assert_ptr_nonnull(d.base);
	ck_assert(netaddr_parse_ipv4("127.0.0.1", &lo));
	struct sockaddr_in bind_addr = netaddr_make(lo, 0);
	struct netaddr bind4 = netaddr_from_in(&bind_addr), local;
	ck_assert(classify_is_local(d.conf, &bind4)); /* so the LAN address is advertised */
	d.advertise = advertise_new(d.base, d.conf, NULL);
	ck_assert_ptr_nonnull(d.advertise);
	d.sip = sip_socket_open(d.base, &bind4, NULL, on_datagram, NULL, err, sizeof(err));
	ck_assert_msg(d.sip != NULL, "%s", err);
	ck_assert(sip_socket_local(d.sip, AF_INET, &local) && netaddr_to_in(&local, &sip_addr));
	d.env = (struct sip_env){ .conf = d.conf, .advertise = d.advertise, .send = send_cb,
				  .send_arg = d.sip };
	d.qualify = qualify_new(d.base, &d.env);
	ck_assert_ptr_nonnull(d.qualify);

	target_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(target_fd, 0);
	ck_assert_int_eq(bind(target_fd, (const struct sockaddr *)&bind_addr, sizeof(bind_addr)), 0);
	ck_assert_int_eq(getsockname(target_fd, (struct sockaddr *)&target_addr, &alen), 0);
}

static void teardown(void)
{
	qualify_free(d.qualify);
	sip_socket_close(d.sip);
	advertise_free(d.advertise);
	event_base_free(d.base);
	conf_free(d.conf);
	close(target_fd);
	target_fd = -1;
}

/* An OPTIONS waiting at the target, parsed (NULL when none). */
static osip_message_t *target_recv(void)
{
	char buf[4096];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	ssize_t n = recv(target_fd, buf, sizeof(buf), 0);

	if (n < 0) {
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
		return NULL;
	}
	ck_assert_int_eq(sipmsg_parse(buf, (size_t)n, &msg, &why), SIPMSG_OK);
	ck_assert(MSG_IS_OPTIONS(msg));
	return msg;
}

static void target_answer(const osip_message_t *req, int status)
{
	osip_message_t *resp = sip_reply_build(req, status, NULL);
	char *buf = NULL;
	size_t len;

	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(sipmsg_serialize(resp, &buf, &len), 0);
	ck_assert_int_eq(sendto(target_fd, buf, len, 0, (const struct sockaddr *)&sip_addr, sizeof(sip_addr)),
			 (ssize_t)len);
	osip_free(buf);
	osip_message_free(resp);
}

static void turn(void)
{
	event_base_loop(d.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	usleep(2000);
}

START_TEST(answered_ping)
{
	int rtt = -1;
	osip_message_t *req = NULL;
	long start = mono_ms();

	ck_assert_int_eq(qualify_watch(d.qualify, "pbx", NULL, target(), 60), 0);
	ck_assert_int_eq(qualify_status_of(d.qualify, "pbx", NULL), QUALIFY_UNKNOWN);
	while (!req && mono_ms() - start < 2000) {
		turn();
		req = target_recv();
	}
	ck_assert_msg(req != NULL, "no OPTIONS arrived");
	/* the ping's shape */
	ck_assert_str_eq(req->cseq->method, "OPTIONS");
	osip_via_t *via = osip_list_get(&req->vias, 0);
	ck_assert_ptr_nonnull(via);
	ck_assert_str_eq(via->host, "127.0.0.1");
	osip_generic_param_t *rport = NULL;
	ck_assert_int_eq(osip_via_param_get_byname(via, (char *)"rport", &rport), 0);
	osip_header_t *ua = NULL;
	ck_assert_int_ge(osip_message_get_user_agent(req, 0, &ua), 0);
	ck_assert_str_eq(ua->hvalue, d.conf->useragent ? d.conf->useragent : SIP_SERVER_NAME);
	ck_assert_str_eq(req->from->url->username, "sipnatd");
	char *to_uri = NULL, *ruri = NULL;
	ck_assert_int_eq(osip_uri_to_str(req->to->url, &to_uri), 0);
	ck_assert_int_eq(osip_uri_to_str(req->req_uri, &ruri), 0);
	ck_assert_str_eq(to_uri, ruri);
	osip_free(to_uri);
	osip_free(ruri);
	ck_assert_int_eq(qualify_status_of(d.qualify, "pbx", NULL), QUALIFY_UNKNOWN);

	/* a provisional answer is not the end */
	target_answer(req, 100);
	for (long t0 = mono_ms(); mono_ms() - t0 < 100;)
		turn();
	ck_assert_uint_eq(responses_consumed, 1);
	ck_assert_int_eq(qualify_status_of(d.qualify, "pbx", NULL), QUALIFY_UNKNOWN);

	target_answer(req, 200);
	for (long t0 = mono_ms(); mono_ms() - t0 < 1000 && responses_consumed < 2;)
		turn();
	ck_assert_uint_eq(responses_consumed, 2);
	ck_assert_int_eq(qualify_status_of(d.qualify, "pbx", &rtt), QUALIFY_OK);
	ck_assert_int_ge(rtt, 0);
	ck_assert_int_lt(rtt, 1000);
	osip_message_free(req);

	/* answered: no retransmission follows */
	for (long t0 = mono_ms(); mono_ms() - t0 < 700;)
		turn();
	req = target_recv();
	ck_assert_ptr_null(req);
	ck_assert_int_eq(qualify_status_of(d.qualify, "nobody", NULL), QUALIFY_UNKNOWN);
	ck_assert_str_eq(qualify_status_name(QUALIFY_OK), "OK");
}
END_TEST

static enum sip_transport tcp_to_target(void *arg, const struct netaddr *dest)
{
	(void)arg;
	return dest->port == ntohs(target_addr.sin_port) ? SIP_TRANSPORT_TCP : SIP_TRANSPORT_UDP;
}

/* A target that is a phone's TCP connection (issue 15): the ping's Via says
 * TCP and the TCP listener's port. */
START_TEST(ping_over_stream_says_so)
{
	osip_message_t *req = NULL;
	long start = mono_ms();
	char want_port[8];

	d.env.transport_to = tcp_to_target;
	ck_assert_int_eq(qualify_watch(d.qualify, "pbx", NULL, target(), 60), 0);
	while (!req && mono_ms() - start < 2000) {
		turn();
		req = target_recv();
	}
	ck_assert_msg(req != NULL, "no OPTIONS arrived");
	osip_via_t *via = osip_list_get(&req->vias, 0);
	ck_assert_ptr_nonnull(via);
	ck_assert_str_eq(via->protocol, "TCP");
	snprintf(want_port, sizeof(want_port), "%u", ntohs(d.conf->tcpbind.sin_port));
	ck_assert_str_eq(via->port, want_port);
	osip_message_free(req);
}
END_TEST

START_TEST(retransmissions)
{
	long at[8];
	char call_id[128] = "", cseq[16] = "";
	int n = 0;
	long start = mono_ms();

	ck_assert_int_eq(qualify_watch(d.qualify, "pbx", NULL, target(), 60), 0);
	while (mono_ms() - start < 4000 && n < 8) {
		turn();
		osip_message_t *req;
		while ((req = target_recv()) != NULL && n < 8) {
			char *cid = NULL;
			ck_assert_int_eq(osip_call_id_to_str(req->call_id, &cid), 0);
			if (n == 0) {
				snprintf(call_id, sizeof(call_id), "%s", cid);
				snprintf(cseq, sizeof(cseq), "%s", req->cseq->number);
			} else {
				/* retransmissions of the same transaction */
				ck_assert_str_eq(cid, call_id);
				ck_assert_str_eq(req->cseq->number, cseq);
			}
			osip_free(cid);
			at[n++] = mono_ms() - start;
			osip_message_free(req);
		}
		if (req)
			osip_message_free(req);
	}
	/* sent at 0, 0.5, 1.5 and 3.5 s (T1 doubling) */
	ck_assert_int_eq(n, 4);
	static const long want[] = { 0, 500, 1500, 3500 };
	for (int i = 0; i < 4; i++)
		ck_assert_msg(at[i] >= want[i] - 50 && at[i] <= want[i] + 250, "ping %d at %ld ms, want ~%ld",
			      i, at[i], want[i]);
	ck_assert_int_eq(qualify_status_of(d.qualify, "pbx", NULL), QUALIFY_UNKNOWN);
}
END_TEST

START_TEST(unwatch)
{
	ck_assert_int_eq(qualify_watch(d.qualify, "pbx", NULL, target(), 60), 0);
	qualify_unwatch(d.qualify, "pbx");
	qualify_unwatch(d.qualify, "pbx");
	for (long t0 = mono_ms(); mono_ms() - t0 < 100;)
		turn();
	osip_message_t *req = target_recv();
	ck_assert_ptr_null(req);
	ck_assert_int_eq(qualify_status_of(d.qualify, "pbx", NULL), QUALIFY_UNKNOWN);
}
END_TEST

static Suite *qualify_suite(void)
{
	Suite *s = suite_create("qualify");
	TCase *tc = tcase_create("qualify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, answered_ping);
	tcase_add_test(tc, ping_over_stream_says_so);
	tcase_add_test(tc, retransmissions);
	tcase_add_test(tc, unwatch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	static const uint8_t key[SECRET_KEY_LEN] = { 9 };
	SRunner *sr;
	int failed;

	sipmsg_global_init();
	secret_set_key(key);
	log_set_level(LOG_ERR);
	sr = srunner_create(qualify_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
