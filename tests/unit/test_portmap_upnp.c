/*
 * Unit tests for portmap_upnp.c (issue 14): UPnP-IGD through miniupnpc
 * against an Internet gateway device this file plays on the loopback (its
 * root description and WANIPConnection's SOAP actions over HTTP): the
 * external address, a mapping and whether it is still there, someone else's
 * mapping, a conflict, a router that keeps only permanent mappings, the
 * removal (also of one already gone), and a device that went away. SSDP
 * discovery meets miniupnpd in tests/nat/portmap.sh.
 */
#include <arpa/inet.h>
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portmap_upnp.h"

/* ---- the device ---- */

static struct igd {
	pthread_mutex_t mu;
	int fd;
	uint16_t port;
	pthread_t thread;
	bool stop;
	bool only_permanent;     /* answers 725 to a lease */
	uint16_t conflict;       /* answers 718 for this port */
	char client[65536][16];  /* the internal client of each mapped port, "" = none */
	char lease[65536][12];
	unsigned actions;
} G = { .mu = PTHREAD_MUTEX_INITIALIZER };

static const char root_desc[] =
	"<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
	"<specVersion><major>1</major><minor>0</minor></specVersion><device>"
	"<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>"
	"<friendlyName>test IGD</friendlyName><deviceList><device>"
	"<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>"
	"<serviceList><service>"
	"<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>"
	"<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId><controlURL>/ctl/CmnIfCfg</controlURL>"
	"<eventSubURL>/evt/CmnIfCfg</eventSubURL><SCPDURL>/WANCfg.xml</SCPDURL>"
	"</service></serviceList><deviceList><device>"
	"<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>"
	"<serviceList><service>"
	"<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
	"<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>"
	"<eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL>"
	"</service></serviceList></device></deviceList></device></deviceList></device></root>\n";

/* The text of <name>...</name> in body, into out ("" when absent). */
static void arg(const char *body, const char *name, char *out, size_t len)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", name);
	snprintf(close, sizeof(close), "</%s>", name);
	out[0] = '\0';
	a = strstr(body, open);
	if (!a)
		return;
	a += strlen(open);
	b = strstr(a, close);
	if (!b || (size_t)(b - a) >= len)
		return;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
}

static void reply(int fd, int status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
			 "Connection: close\r\nContent-Length: %zu\r\n\r\n",
			 status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Internal Server Error",
			 strlen(body));
	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static void soap_ok(int fd, const char *action, const char *args)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
		 "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
		 "<u:%sResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">%s"
		 "</u:%sResponse></s:Body></s:Envelope>\r\n", action, args, action);
	reply(fd, 200, body);
}

static void soap_error(int fd, int code, const char *text)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
		 "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><s:Fault>"
		 "<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
		 "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>%d</errorCode>"
		 "<errorDescription>%s</errorDescription></UPnPError></detail></s:Fault></s:Body>"
		 "</s:Envelope>\r\n", code, text);
	reply(fd, 500, body);
}

static void serve(int fd)
{
	char req[8192], action[64] = "", v[64], args[512];
	size_t len = 0;
	const char *body, *sa;
	long want = -1;

	/* headers, then Content-Length bytes of body */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, 2000) <= 0 || (n = read(fd, req + len, sizeof(req) - 1 - len)) <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		body = strstr(req, "\r\n\r\n");
		if (!body)
			continue;
		body += 4;
		const char *cl = strcasestr(req, "Content-Length:");
		want = cl ? strtol(cl + 15, NULL, 10) : 0;
		if ((long)(len - (size_t)(body - req)) >= want)
			break;
	}
	if (strncmp(req, "GET /rootDesc.xml ", 18) == 0) {
		reply(fd, 200, root_desc);
		return;
	}
	if (strncmp(req, "POST /ctl/IPConn ", 17) != 0) {
		reply(fd, 404, "");
		return;
	}
	sa = strcasestr(req, "SOAPAction:");
	if (sa && (sa = strchr(sa, '#')))
		sscanf(sa + 1, "%63[A-Za-z]", action);
	pthread_mutex_lock(&G.mu);
	G.actions++;
	if (strcmp(action, "GetExternalIPAddress") == 0) {
		soap_ok(fd, action, "<NewExternalIPAddress>203.0.113.1</NewExternalIPAddress>");
	} else if (strcmp(action, "AddPortMapping") == 0) {
		char client[16], lease[12];
		arg(body, "NewExternalPort", v, sizeof(v));
		arg(body, "NewInternalClient", client, sizeof(client));
		arg(body, "NewLeaseDuration", lease, sizeof(lease));
		unsigned port = (unsigned)atoi(v);
		if (port == G.conflict)
			soap_error(fd, 718, "ConflictInMappingEntry");
		else if (G.only_permanent && strcmp(lease, "0") != 0)
			soap_error(fd, 725, "OnlyPermanentLeasesSupported");
		else {
			snprintf(G.client[port], sizeof(G.client[port]), "%s", client);
			snprintf(G.lease[port], sizeof(G.lease[port]), "%s", lease);
			soap_ok(fd, action, "");
		}
	} else if (strcmp(action, "DeletePortMapping") == 0) {
		arg(body, "NewExternalPort", v, sizeof(v));
		unsigned port = (unsigned)atoi(v) & 0xffff;
		if (!G.client[port][0])
			soap_error(fd, 714, "NoSuchEntryInArray");
		else {
			G.client[port][0] = '\0';
			soap_ok(fd, action, "");
		}
	} else if (strcmp(action, "GetSpecificPortMappingEntry") == 0) {
		arg(body, "NewExternalPort", v, sizeof(v));
		unsigned port = (unsigned)atoi(v) & 0xffff;
		if (!G.client[port][0])
			soap_error(fd, 714, "NoSuchEntryInArray");
		else {
			snprintf(args, sizeof(args),
				 "<NewInternalPort>%u</NewInternalPort><NewInternalClient>%s</NewInternalClient>"
				 "<NewEnabled>1</NewEnabled><NewPortMappingDescription>x</NewPortMappingDescription>"
				 "<NewLeaseDuration>%s</NewLeaseDuration>", port, G.client[port], G.lease[port]);
			soap_ok(fd, action, args);
		}
	} else {
		soap_error(fd, 401, "Invalid Action");
	}
	pthread_mutex_unlock(&G.mu);
}

static void *igd_main(void *unused)
{
	for (;;) {
		struct pollfd p = { .fd = G.fd, .events = POLLIN };
		pthread_mutex_lock(&G.mu);
		bool stop = G.stop;
		pthread_mutex_unlock(&G.mu);
		if (stop)
			return NULL;
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(G.fd, NULL, NULL);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
}

static void igd_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);

	memset(G.client, 0, sizeof(G.client));
	G.stop = false;
	G.only_permanent = false;
	G.conflict = 0;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	G.fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(G.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(G.fd, 8), 0);
	ck_assert_int_eq(getsockname(G.fd, (struct sockaddr *)&a, &alen), 0);
	G.port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&G.thread, NULL, igd_main, NULL), 0);
}

static void igd_stop(void)
{
	pthread_mutex_lock(&G.mu);
	G.stop = true;
	pthread_mutex_unlock(&G.mu);
	pthread_join(G.thread, NULL);
	close(G.fd);
}

static void *open_igd(const char *lan, char why[PORTMAP_WHY_MAX])
{
	char url[64];
	struct in_addr l = { .s_addr = htonl(INADDR_ANY) };

	if (lan)
		inet_pton(AF_INET, lan, &l);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/rootDesc.xml", G.port);
	return portmap_upnp_open_url(url, l, why);
}

/* ---- the tests ---- */

START_TEST(address_map_check_remove)
{
	const struct portmap_proto_ops *ops = &portmap_upnp_ops;
	char why[PORTMAP_WHY_MAX] = "", url[64];
	struct in_addr addr;
	bool lost = true, present = false;
	int granted = -1;
	uint16_t public_port = 0;
	void *c;

	igd_start();
	c = open_igd(NULL, why);
	ck_assert_msg(c != NULL, "%s", why);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/rootDesc.xml", G.port);
	ck_assert_str_eq(ops->router(c), url);

	ck_assert_int_eq(ops->external(c, 0, &addr, &lost, why), PORTMAP_OK);
	ck_assert_str_eq(inet_ntoa(addr), "203.0.113.1");
	ck_assert(!lost);

	/* the internal client is the address that reaches the device */
	ck_assert_int_eq(ops->map(c, 5060, 3600, &granted, &public_port, why), PORTMAP_OK);
	ck_assert_int_eq(granted, 3600);
	ck_assert_uint_eq(public_port, 5060);
	ck_assert_str_eq(G.client[5060], "127.0.0.1");
	ck_assert_str_eq(G.lease[5060], "3600");
	ck_assert_int_eq(ops->present(c, 5060, &present, why), PORTMAP_OK);
	ck_assert(present);
	ck_assert_int_eq(ops->present(c, 5062, &present, why), PORTMAP_OK);
	ck_assert(!present);
	/* someone else's mapping of the port is not ours */
	snprintf(G.client[5064], sizeof(G.client[5064]), "127.0.0.9");
	ck_assert_int_eq(ops->present(c, 5064, &present, why), PORTMAP_OK);
	ck_assert(!present);

	ck_assert_int_eq(ops->unmap(c, 5060, why), PORTMAP_OK);
	ck_assert_str_eq(G.client[5060], "");
	/* gone already (expired, a restart): fine */
	ck_assert_int_eq(ops->unmap(c, 5060, why), PORTMAP_OK);
	ck_assert_ptr_null(ops->unmap_all);
	ops->close(c);
	igd_stop();
}
END_TEST

START_TEST(conflict_and_permanent_only)
{
	const struct portmap_proto_ops *ops = &portmap_upnp_ops;
	char why[PORTMAP_WHY_MAX] = "";
	int granted = -1;
	uint16_t public_port = 0;
	void *c;

	igd_start();
	c = open_igd("192.0.2.10", why);
	ck_assert_msg(c != NULL, "%s", why);
	G.conflict = 10000;
	ck_assert_int_eq(ops->map(c, 10000, 600, &granted, &public_port, why), PORTMAP_REFUSED);
	ck_assert_ptr_nonnull(strstr(why, "718"));
	/* an IGD v1 that keeps no timers: a permanent mapping instead */
	G.only_permanent = true;
	ck_assert_int_eq(ops->map(c, 10002, 600, &granted, &public_port, why), PORTMAP_OK);
	ck_assert_int_eq(granted, 0);
	ck_assert_str_eq(G.lease[10002], "0");
	ck_assert_str_eq(G.client[10002], "192.0.2.10"); /* bindaddr, when given */
	ops->close(c);
	igd_stop();
}
END_TEST

START_TEST(device_gone)
{
	const struct portmap_proto_ops *ops = &portmap_upnp_ops;
	char why[PORTMAP_WHY_MAX] = "";
	struct in_addr addr;
	bool lost;
	int granted;
	uint16_t public_port;
	void *c;

	igd_start();
	c = open_igd(NULL, why);
	ck_assert_msg(c != NULL, "%s", why);
	igd_stop(); /* the port is closed now */
	ck_assert_int_eq(ops->external(c, 0, &addr, &lost, why), PORTMAP_UNREACHABLE);
	ck_assert_int_eq(ops->map(c, 5060, 60, &granted, &public_port, why), PORTMAP_UNREACHABLE);
	ops->close(c);
	ck_assert_ptr_null(open_igd(NULL, why));
	ck_assert_ptr_nonnull(strstr(why, "no Internet gateway device at http://127.0.0.1:"));
}
END_TEST

static Suite *portmap_upnp_suite(void)
{
	Suite *s = suite_create("portmap_upnp");
	TCase *tc = tcase_create("igd");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, address_map_check_remove);
	tcase_add_test(tc, conflict_and_permanent_only);
	tcase_add_test(tc, device_gone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(portmap_upnp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
