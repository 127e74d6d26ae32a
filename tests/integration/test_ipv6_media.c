/*
 * IPv6 media through the real daemon (issue 20): with bindaddr "::", a phone
 * on the IPv6 Internet calls the IPv4 PBX and the relay bridges the families.
 * Its SDP (IN IP6) reaches the PBX as IN IP4 with sipnatd's LAN address and a
 * pool port, the PBX's answer reaches the phone as IN IP6 with sipnatd's IPv6
 * address and the same port, and RTP flows both ways through that one port
 * pair: IPv6 between the phone and the relay, IPv4 between the relay and the
 * PBX, counted at each end. Another port of the phone's own address, after
 * the lock, gets nothing through (RTP Bleed over IPv6).
 *
 *   LAN (127.0.6.0/24): sipnatd 127.0.6.10:25560 (IPv4 socket on 0.0.0.0),
 *   PBX 127.0.6.20:25580 (RTP 127.0.6.20:20100).
 *   Internet: sipnatd [::1]:25560; the phone, a trunk peer, [::1]:25570
 *   (RTP [::1]:4100, a stranger's port [::1]:4102).
 */
#include "harness.h"
#include "rtp.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SN4 "127.0.6.10"
#define SN_PORT 25560
#define PBX4 "127.0.6.20"
#define PBX_SIP 25580
#define PBX_RTP 20100
#define PHONE_SIP 25570
#define PHONE_RTP 4100
#define STRANGER_RTP 4102

static struct daemon_proc daemon_p;

static const char conf_text[] =
	"general: {\n"
	"  bindaddr = \"::\"; bindport = 25560;\n"
	"  externip = \"203.0.113.7, ::1\";\n"
	"  localnet = [ \"127.0.6.0/24\" ];\n"
	"  localaddr = \"" SN4 "\";\n"
	"  pbx = \"" PBX4 ":25580\";\n"
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"rtp: { rtpstart = 48700; rtpend = 48707; };\n"
	"peers: ( { name = \"phone6\"; host = \"[::1]:25570\"; } );\n"
	"logging: { level = \"info\"; };\n";

static void start_daemon(void)
{
	harness_start_conf(&daemon_p, "ipv6media.conf", conf_text, harness_tmpdir(), harness_tmpdir());
}

static void stop_daemon(void)
{
	harness_stop_daemon(&daemon_p);
}

/* An IPv6-only UDP socket on [::1]:port. */
static int udp6(unsigned port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int one = 1;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind [::1]:%u: %s", port,
		      strerror(errno));
	return fd;
}

static void send6(int fd, unsigned port, const void *data, size_t len)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	ck_assert_int_eq(sendto(fd, data, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* One datagram on an IPv6 socket within ms; its length (-1: none), *port
 * the port it came from (from ::1). */
static ssize_t recv6(int fd, void *buf, size_t cap, int ms, unsigned *port)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sockaddr_in6 from;
	socklen_t len = sizeof(from);

	if (poll(&p, 1, ms) != 1)
		return -1;
	ssize_t n = recvfrom(fd, buf, cap - 1, 0, (struct sockaddr *)&from, &len);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&from.sin6_addr));
	if (port)
		*port = ntohs(from.sin6_port);
	if (n >= 0)
		((char *)buf)[n] = '\0';
	return n;
}

static int count6(int fd, int ms, unsigned want_port)
{
	char buf[2048];
	unsigned port;
	int n = 0;

	while (recv6(fd, buf, sizeof(buf), ms, &port) > 0) {
		ck_assert_uint_eq(port, want_port); /* from the relay port it sends to */
		n++;
	}
	return n;
}

/* The next SIP message on the PBX's socket that is not the daemon's OPTIONS
 * ping of the PBX. */
static ssize_t pbx_recv(int fd, char *buf, size_t len)
{
	for (int i = 0; i < 5; i++) {
		ssize_t n = harness_sip_recv(fd, buf, len, 3000, NULL);
		if (n <= 0 || strncmp(buf, "OPTIONS ", 8) != 0)
			return n;
	}
	return -1;
}

/* key's value (up to the line's end) in msg. */
static const char *line_value(const char *msg, const char *key, char *out, size_t len)
{
	const char *p = strstr(msg, key);

	if (!p)
		return NULL;
	p += strlen(key);
	size_t n = strcspn(p, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

START_TEST(ipv6_phone_and_ipv4_pbx_hear_each_other)
{
	char msg[4096], got[8192], body[512], v[128], vias[2048] = "";
	int phone_sip = udp6(PHONE_SIP), phone_rtp = udp6(PHONE_RTP), stranger = udp6(STRANGER_RTP);
	int pbx_sip = harness_udp(PBX4, PBX_SIP), pbx_rtp = harness_udp(PBX4, PBX_RTP);

	ck_assert(harness_wait_log(&daemon_p, "listening on [::]:25560/udp", 5000));
	/* the phone's offer: IPv6 only */
	int blen = snprintf(body, sizeof(body),
			    "v=0\r\no=phone 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
			    "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", PHONE_RTP);
	int len = snprintf(msg, sizeof(msg),
			   "INVITE sip:100@[::1]:25560 SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP [::1]:25570;branch=z9hG4bKv6media1;rport\r\n"
			   "Max-Forwards: 70\r\nFrom: <sip:phone@[::1]>;tag=ph6\r\n"
			   "To: <sip:100@[::1]>\r\nCall-ID: v6-media-1\r\nCSeq: 1 INVITE\r\n"
			   "Contact: <sip:phone@[::1]:25570>\r\nContent-Type: application/sdp\r\n"
			   "Content-Length: %d\r\n\r\n%s",
			   blen, body);
	send6(phone_sip, SN_PORT, msg, (size_t)len);

	/* the PBX sees IPv4 only: sipnatd's LAN address and a pool port */
	ck_assert_msg(pbx_recv(pbx_sip, got, sizeof(got)) > 0, "the INVITE did not reach the PBX");
	ck_assert_msg(strncmp(got, "INVITE ", 7) == 0, "the PBX got %s", got);
	ck_assert_msg(line_value(got, "c=IN IP4 ", v, sizeof(v)) && strcmp(v, SN4) == 0, "PBX got %s", got);
	ck_assert_msg(!strstr(strstr(got, "\r\n\r\n"), "IP6"), "IPv6 in the PBX's SDP: %s", got);
	ck_assert(line_value(got, "m=audio ", v, sizeof(v)));
	unsigned port = (unsigned)atoi(v);
	ck_assert_msg(port >= 48700 && port <= 48706 && port % 2 == 0, "port %u", port);
	char *p = got;
	for (int k = 0; k < 2; k++) {
		char *h = strstr(p, "\r\nVia: ");
		ck_assert_ptr_nonnull(h);
		h += 2;
		size_t hl = strcspn(h, "\r");
		strncat(vias, h, hl);
		strcat(vias, "\r\n");
		p = h + hl;
	}

	/* the PBX answers in IPv4 */
	blen = snprintf(body, sizeof(body),
			"v=0\r\no=asterisk 1 1 IN IP4 " PBX4 "\r\ns=Asterisk\r\nc=IN IP4 " PBX4 "\r\n"
			"t=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", PBX_RTP);
	len = snprintf(msg, sizeof(msg),
		       "SIP/2.0 200 OK\r\n%sFrom: <sip:phone@[::1]>;tag=ph6\r\n"
		       "To: <sip:100@[::1]>;tag=pbx6\r\nCall-ID: v6-media-1\r\nCSeq: 1 INVITE\r\n"
		       "Contact: <sip:100@" PBX4 ":25580>\r\nContent-Type: application/sdp\r\n"
		       "Content-Length: %d\r\n\r\n%s",
		       vias, blen, body);
	harness_udp_send(pbx_sip, SN4, SN_PORT, msg, (size_t)len);

	/* the phone sees IPv6 only: sipnatd's IPv6 address, the same port */
	ck_assert_msg(recv6(phone_sip, got, sizeof(got), 3000, NULL) > 0, "no answer at the phone");
	ck_assert_msg(strncmp(got, "SIP/2.0 200", 11) == 0, "the phone got %s", got);
	ck_assert_msg(line_value(got, "c=IN IP6 ", v, sizeof(v)) && strcmp(v, "::1") == 0, "phone got %s", got);
	ck_assert_msg(!strstr(strstr(got, "\r\n\r\n"), "IP4"), "IPv4 in the phone's SDP: %s", got);
	ck_assert(line_value(got, "m=audio ", v, sizeof(v)));
	ck_assert_uint_eq((unsigned)atoi(v), port);

	/* audio: the phone (latched after 4 in sequence) over IPv6 ... */
	uint8_t pkt[RTP_PCMU_LEN];
	for (int i = 0; i < 10; i++) {
		rtp_make(pkt, sizeof(pkt), (uint16_t)(1000 + i), 0x6666);
		send6(phone_rtp, port, pkt, sizeof(pkt));
	}
	int at_pbx = rtp_count(pbx_rtp, 300);
	ck_assert_msg(at_pbx >= 6 && at_pbx <= 10, "PBX got %d of 10", at_pbx);
	/* ... and the PBX over IPv4, heard by the phone from the relay port */
	for (int i = 0; i < 10; i++)
		rtp_send(pbx_rtp, SN4, port, (uint16_t)(5000 + i), 0x4444);
	int at_phone = count6(phone_rtp, 300, port);
	ck_assert_msg(at_phone == 10, "the phone got %d of 10", at_phone);

	/* another port of the phone's own IPv6 address, continuing its stream
	 * after the lock: nothing reaches the PBX, and the phone still does */
	for (int i = 0; i < 20; i++) {
		rtp_make(pkt, sizeof(pkt), (uint16_t)(1010 + i), 0x6666);
		send6(stranger, port, pkt, sizeof(pkt));
	}
	ck_assert_int_eq(rtp_count(pbx_rtp, 200), 0);
	for (int i = 0; i < 5; i++)
		rtp_send(pbx_rtp, SN4, port, (uint16_t)(5010 + i), 0x4444);
	ck_assert_int_eq(count6(stranger, 200, port), 0);
	ck_assert_int_eq(count6(phone_rtp, 300, port), 5);
	harness_report("ipv6", "IPv6 phone <-> IPv4 PBX through relay port %u: PBX got %d of 10, phone %d of 10; "
		       "a stranger port of the phone's address: 0 through", port, at_pbx, at_phone);

	/* the BYE ends it and the pair goes back */
	len = snprintf(msg, sizeof(msg),
		       "BYE sip:100@[::1]:25560 SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP [::1]:25570;branch=z9hG4bKv6bye1;rport\r\n"
		       "Max-Forwards: 70\r\nFrom: <sip:phone@[::1]>;tag=ph6\r\n"
		       "To: <sip:100@[::1]>;tag=pbx6\r\nCall-ID: v6-media-1\r\nCSeq: 2 BYE\r\n"
		       "Content-Length: 0\r\n\r\n");
	send6(phone_sip, SN_PORT, msg, (size_t)len);
	ck_assert_msg(pbx_recv(pbx_sip, got, sizeof(got)) > 0 && strncmp(got, "BYE ", 4) == 0,
		      "the PBX got %s", got);
	ck_assert(harness_wait_log(&daemon_p, "call v6-media-1 ended (BYE)", 3000));

	int fds[] = { phone_sip, phone_rtp, stranger, pbx_sip, pbx_rtp };
	for (size_t k = 0; k < sizeof(fds) / sizeof(fds[0]); k++)
		close(fds[k]);
}
END_TEST

int main(void)
{
	return harness_main("ipv6_media", "relay", 60, start_daemon, stop_daemon,
			    (const TTest *[]){ ipv6_phone_and_ipv4_pbx_hear_each_other, NULL });
}
