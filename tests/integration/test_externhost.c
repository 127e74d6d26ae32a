/*
 * externhost against a real DNS server (R13, R4; design section 5,
 * "External address").
 *
 *   LAN (localnet 127.0.1.0/24): sipnatd 127.0.1.10:25060, PBX 127.0.1.20:25080
 *   Internet: trunk phone2 on 127.0.2.6:5070, a caller on 127.0.2.5
 *   DNS: dnsmasq on 127.0.3.53:15353, started and killed by each test; it
 *        answers home.test from an addn-hosts file (re-read on SIGHUP) and
 *        NXDOMAIN for any other name under .test
 *   External address: home.test -> 198.51.100.1, later 198.51.100.2 (TEST-NET:
 *        only ever a DNS answer and an advertised address, never sent to)
 *
 * The daemon reads <tmp>/resolv.conf, which names only that dnsmasq, with a
 * one-second, one-try timeout so that a dead server shows as a failure
 * within a refresh period (evdns' defaults would take 15 s; the daemon's
 * behaviour does not depend on them).
 *
 * dnsmasq runs in the test's process group: a failing assertion ends the
 * test process, after which Check kills the whole group (and dnsmasq also
 * gets SIGTERM through PR_SET_PDEATHSIG when the test process dies); on the
 * normal path the teardown stops it by its PID.
 */
#include "harness.h"
#include "lan1.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAN_HOST_IP "127.0.1.30"
#define PHONE2_IP "127.0.2.6"
#define PHONE2_PORT 5070
#define CALLER_IP "127.0.2.5"
#define DNS_IP "127.0.3.53"
#define DNS_PORT 15353
#define EXT1 "198.51.100.1"
#define EXT2 "198.51.100.2"
#define REFRESH_S 2

static const char *const dnsmasq_paths[] = { "/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", NULL };

static struct daemon_proc daemon_p;
static struct daemon_proc dns_p; /* dnsmasq: pid and log, as the harness keeps them */
static char hosts_path[512];
static unsigned seq; /* makes Call-IDs and branches unique within a test */

/* One measurement line: "externhost: what: ms ms". */
static void report(const char *what, long ms)
{
	harness_report("externhost", "%s: %ld ms", what, ms);
}

/* ---- a minimal DNS client, to see what dnsmasq answers ---- */

static size_t dns_encode_name(const char *name, unsigned char *out)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);
		out[n++] = (unsigned char)len;
		memcpy(out + n, name, len);
		n += len;
		name += len + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

/* Skip a (possibly compressed) name at off; returns the offset after it or 0. */
static size_t dns_skip_name(const unsigned char *m, size_t len, size_t off)
{
	while (off < len) {
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (m[off] == 0)
			return off + 1;
		off += 1 + m[off];
	}
	return 0;
}

/* The question name of a query, dotted, into out; false if unreadable. */
static bool dns_qname(const unsigned char *m, size_t len, char *out, size_t out_len)
{
	size_t off = 12, n = 0;

	if (len < 12 || (m[4] << 8 | m[5]) < 1)
		return false;
	while (off < len && m[off] != 0) {
		size_t l = m[off++];
		if ((l & 0xc0) || off + l > len || n + l + 2 > out_len)
			return false;
		if (n)
			out[n++] = '.';
		memcpy(out + n, m + off, l);
		n += l;
		off += l;
	}
	out[n] = '\0';
	return off < len;
}

/* Ask dnsmasq for the A record of name. Returns the rcode (0 with *addr set
 * to the first answer, 3 for NXDOMAIN, ...) or -1 without an answer. */
static int dns_query_a(const char *name, struct in_addr *addr, int timeout_ms)
{
	unsigned char q[300], r[1500];
	int fd = harness_udp("127.0.0.1", 0);
	uint16_t id = (uint16_t)(rand() & 0xffff);
	size_t n = 0;
	int rcode = -1;

	q[n++] = (unsigned char)(id >> 8);
	q[n++] = (unsigned char)id;
	q[n++] = 0x01; /* RD */
	q[n++] = 0;
	q[n++] = 0, q[n++] = 1; /* QDCOUNT */
	memset(q + n, 0, 6);
	n += 6;
	n += dns_encode_name(name, q + n);
	q[n++] = 0, q[n++] = 1; /* A */
	q[n++] = 0, q[n++] = 1; /* IN */
	harness_udp_send(fd, DNS_IP, DNS_PORT, (const char *)q, n);
	ssize_t got = harness_udp_recv(fd, (char *)r, sizeof(r), timeout_ms, NULL);
	if (got >= 12 && r[0] == q[0] && r[1] == q[1]) {
		size_t len = (size_t)got, off;
		rcode = r[3] & 0x0f;
		unsigned ancount = (unsigned)(r[6] << 8 | r[7]);
		if (rcode == 0 && ancount > 0 && (off = dns_skip_name(r, len, 12)) != 0 &&
		    (off = dns_skip_name(r, len, off + 4)) != 0 && off + 14 <= len &&
		    r[off] == 0 && r[off + 1] == 1 && r[off + 8] == 0 && r[off + 9] == 4)
			memcpy(addr, r + off + 10, 4);
		else if (rcode == 0)
			rcode = -2; /* an answer without an A record */
	}
	close(fd);
	return rcode;
}

/* Poll dnsmasq until it answers home.test as wanted (an address, or
 * NXDOMAIN when want is NULL). */
static void dns_wait_answer(const char *want, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	int rcode;
	char got[INET_ADDRSTRLEN] = "";

	do {
		struct in_addr a;
		rcode = dns_query_a("home.test", &a, 200);
		if (rcode == 0)
			inet_ntop(AF_INET, &a, got, sizeof(got));
		if (want ? rcode == 0 && strcmp(got, want) == 0 : rcode == 3)
			return;
		usleep(50 * 1000);
	} while (harness_now_ms() < deadline);
	ck_abort_msg("dnsmasq does not answer home.test with %s (last rcode %d, %s); log %s",
		     want ? want : "NXDOMAIN", rcode, got, dns_p.log_path);
}

/* ---- dnsmasq ---- */

static const char *dnsmasq_binary(void)
{
	for (int i = 0; dnsmasq_paths[i]; i++)
		if (access(dnsmasq_paths[i], X_OK) == 0)
			return dnsmasq_paths[i];
	return NULL;
}

/* The hosts file dnsmasq serves: home.test -> answer, or nothing (NXDOMAIN). */
static void dns_write_hosts(const char *answer)
{
	char text[128], tmp[600];

	snprintf(text, sizeof(text), answer ? "%s home.test\n" : "# home.test unknown\n", answer);
	snprintf(tmp, sizeof(tmp), "%s", harness_write_file("hosts.new", text));
	snprintf(hosts_path, sizeof(hosts_path), "%s/hosts", harness_tmpdir());
	ck_assert_msg(rename(tmp, hosts_path) == 0, "rename %s: %s", tmp, strerror(errno));
}

static void dns_start(const char *answer)
{
	static unsigned n;
	const char *bin = dnsmasq_binary();
	char addn[600], user[300], group[300];
	const struct passwd *pw = getpwuid(geteuid());
	const struct group *gr = getgrgid(getegid());

	ck_assert_msg(bin != NULL, "dnsmasq not installed");
	dns_write_hosts(answer);
	memset(&dns_p, 0, sizeof(dns_p));
	snprintf(dns_p.log_path, sizeof(dns_p.log_path), "%s/dnsmasq-%u.log", harness_tmpdir(), n++);
	snprintf(addn, sizeof(addn), "--addn-hosts=%s", hosts_path);
	/* stay who we are, so that dnsmasq can still read the hosts file in
	 * our private tmpdir after a SIGHUP */
	snprintf(user, sizeof(user), "--user=%s", pw ? pw->pw_name : "root");
	snprintf(group, sizeof(group), "--group=%s", gr ? gr->gr_name : "root");
	const char *argv[] = { bin,
			       "--keep-in-foreground",
			       "--conf-file=/dev/null",
			       "--pid-file=",
			       "--no-resolv",
			       "--no-hosts",
			       "--bind-interfaces",
			       "--listen-address=" DNS_IP,
			       "--port=15353",
			       addn,
			       "--local=/test/",
			       "--local-ttl=0",
			       "--log-queries",
			       "--log-facility=-",
			       user,
			       group,
			       NULL };
	pid_t parent = getpid();

	dns_p.pid = fork();
	ck_assert_int_ge(dns_p.pid, 0);
	if (dns_p.pid == 0) {
		int fd = open(dns_p.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	ck_assert_msg(harness_wait_log(&dns_p, "started, version", 5000),
		      "dnsmasq did not start; log %s", dns_p.log_path);
	dns_wait_answer(answer, 5000);
}

/* Serve another answer: a new hosts file, then SIGHUP (dnsmasq re-reads its
 * addn-hosts files and clears its cache). Returns when dnsmasq answers it. */
static void dns_set_answer(const char *answer)
{
	ck_assert(dns_p.pid > 0);
	dns_write_hosts(answer);
	ck_assert_int_eq(kill(dns_p.pid, SIGHUP), 0);
	dns_wait_answer(answer, 3000);
}

static void dns_stop(void)
{
	if (dns_p.pid > 0)
		harness_stop(&dns_p, SIGTERM, 3000); /* SIGKILL after 3 s */
}

/* Lines of a log (the whole file) that contain a and b (b: in any case, as
 * evdns asks in mixed case, 0x20 encoding; NULL for any). */
static int log_count(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, a))
			continue;
		if (b) {
			for (char *p = line; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			if (!strstr(line, b))
				continue;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* ---- sipnatd ---- */

static const char conf_text[] =
	"general: {\n"
	"  bindaddr = \"" SN_IP "\"; bindport = 25060;\n"
	"  externhost = \"home.test\"; externrefresh = %d;\n"
	"  resolvconf = \"%s\";\n"
	"  localnet = [ \"127.0.1.0/255.255.255.0\" ];\n"
	"  pbx = \"" PBX_IP ":25080\";\n"
	"  allowguest = true;\n"
	"  statefile = \"%s/registrations\"; control = \"%s/control\";\n"
	"};\n"
	"peers: (\n"
	"  { name = \"phone2\"; host = \"" PHONE2_IP ":5070\"; }\n"
	");\n"
	"logging: { level = \"debug\"; };\n";

static void start_daemon(int refresh_s)
{
	char resolv[600];

	snprintf(resolv, sizeof(resolv), "%s",
		 harness_write_file("resolv.conf", "nameserver " DNS_IP ":15353\n"
						   "options timeout:1 attempts:1\n"));
	harness_start_conf(&daemon_p, "externhost.conf", conf_text, refresh_s, resolv,
			   harness_tmpdir(), harness_tmpdir());
}

static void print_log_tail(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (fseek(f, -(long)(sizeof(buf) - 1), SEEK_END) != 0)
		rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "--- %s (tail) ---\n%s\n---\n", path, buf);
}

static void setup(void)
{
	memset(&daemon_p, 0, sizeof(daemon_p));
	memset(&dns_p, 0, sizeof(dns_p));
	ck_assert_msg(dnsmasq_binary() != NULL,
		      "dnsmasq not found (%s): these tests need a real DNS server; install the "
		      "dnsmasq-base package (scripts/install-deps.sh --test does)",
		      dnsmasq_paths[0]);
	srand((unsigned)getpid());
}

static void teardown(void)
{
	int rc = 0;

	dns_stop();
	if (daemon_p.pid > 0) {
		rc = harness_stop(&daemon_p, SIGTERM, 5000);
		if (rc != 0)
			print_log_tail(daemon_p.log_path);
	}
	harness_cleanup();
	ck_assert_msg(rc == 0, "sipnatd exited with %d on SIGTERM", rc);
}

/* ---- SIP ---- */

static int invite_from_pbx(char *buf, size_t len, char *call_id, size_t call_id_len)
{
	unsigned n = ++seq;

	snprintf(call_id, call_id_len, "xh%u-%d@pbx.example", n, (int)getpid());
	return snprintf(buf, len,
			"INVITE sip:phone2@" SN_IP ":25060 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP " PBX_IP ":25080;branch=z9hG4bKxh%u\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:100@" PBX_IP ">;tag=f%u\r\n"
			"To: <sip:phone2@" SN_IP ">\r\n"
			"Call-ID: %s\r\n"
			"CSeq: 1 INVITE\r\n"
			"Contact: <sip:100@" PBX_IP ":25080>\r\n"
			"Content-Length: 0\r\n\r\n",
			n, n, call_id);
}

/* sipnatd qualifies the PBX (and trunks) with OPTIONS pings; whoever plays
 * the PBX or a phone answers them 200 (no test here waits for an OPTIONS).
 * True if msg was such a ping. */
static bool answer_ping(int fd, const char *msg)
{
	char via[1024], from[512], to[512], call_id[256], cseq[64], reply[3072];

	if (strncmp(msg, "OPTIONS ", 8) != 0)
		return false;
	if (harness_sip_header(msg, "Via", via, sizeof(via)) &&
	    harness_sip_header(msg, "From", from, sizeof(from)) &&
	    harness_sip_header(msg, "To", to, sizeof(to)) &&
	    harness_sip_header(msg, "Call-ID", call_id, sizeof(call_id)) &&
	    harness_sip_header(msg, "CSeq", cseq, sizeof(cseq))) {
		int n = snprintf(reply, sizeof(reply),
				 "SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=pbx\r\n"
				 "Call-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
				 via, from, to, call_id, cseq);
		harness_udp_send(fd, SN_IP, SN_PORT, reply, (size_t)n);
	}
	return true;
}

/* Wait for a datagram on a or b (pings answered and skipped); *which is the
 * fd it came on. */
static ssize_t recv_either(int a, int b, char *buf, size_t len, int timeout_ms, int *which)
{
	long deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
		long left = deadline - harness_now_ms();
		if (left < 0 || poll(pfd, 2, (int)left) <= 0)
			return -1;
		*which = (pfd[0].revents & POLLIN) ? a : b;
		ssize_t n = harness_udp_recv(*which, buf, len, 0, NULL);
		if (n > 0 && !answer_ping(*which, buf))
			return n;
	}
}

/* Receive on the PBX's (or a phone's) socket, pings answered and skipped. */
static ssize_t pbx_recv(int fd, char *buf, size_t len, int timeout_ms)
{
	int which;
	return recv_either(fd, fd, buf, len, timeout_ms, &which);
}

/* Read the phone's socket until the INVITE with call_id arrives. */
static ssize_t recv_call(int fd, const char *call_id, char *buf, size_t len, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	char cid[256];

	for (;;) {
		long left = deadline - harness_now_ms();
		if (left < 0)
			return -1;
		ssize_t n = harness_udp_recv(fd, buf, len, (int)left, NULL);
		if (n < 0)
			return -1;
		if (harness_sip_header(buf, "Call-ID", cid, sizeof(cid)) && strcmp(cid, call_id) == 0)
			return n;
	}
}

/* The address an INVITE at the phone advertises: Via sent-by and Contact
 * host must both be ext. */
static void assert_advertises(const char *msg, const char *ext)
{
	char via[1024], contact[1024], want_via[64], want_contact[64];

	snprintf(want_via, sizeof(want_via), "SIP/2.0/UDP %s:25060", ext);
	snprintf(want_contact, sizeof(want_contact), "@%s:25060", ext);
	ck_assert_msg(harness_sip_header(msg, "Via", via, sizeof(via)), "no Via in %s", msg);
	ck_assert_msg(strncmp(via, want_via, strlen(want_via)) == 0, "Via %s, want %s", via,
		      want_via);
	ck_assert_msg(harness_sip_header(msg, "Contact", contact, sizeof(contact)),
		      "no Contact in %s", msg);
	ck_assert_msg(strstr(contact, want_contact) != NULL, "Contact %s, want host %s", contact,
		      ext);
	ck_assert_msg(!strstr(msg, "Via: SIP/2.0/UDP " PBX_IP), "the PBX's Via shows: %s", msg);
}

/* One PBX->phone2 INVITE; returns how long it took to reach the phone
 * (failing when it does not within timeout_ms), the message in got. */
static long call_phone2(int pbx, int phone, char *got, size_t len, int timeout_ms)
{
	char msg[2048], call_id[128];
	int n = invite_from_pbx(msg, sizeof(msg), call_id, sizeof(call_id));
	long t0 = harness_now_ms();

	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_msg(recv_call(phone, call_id, got, len, timeout_ms) > 0,
		      "INVITE %s did not reach phone2 within %d ms", call_id, timeout_ms);
	return harness_now_ms() - t0;
}

static void wait_resolved(const char *ext)
{
	char text[128];

	snprintf(text, sizeof(text), "externhost home.test resolved to %s", ext);
	ck_assert_msg(harness_wait_log(&daemon_p, text, 5000), "no \"%s\" in %s", text,
		      daemon_p.log_path);
}

/* ---- the cases ---- */

/* Case 1: a changed answer is picked up within externrefresh + 1 s and used
 * for the next message. */
START_TEST(address_change)
{
	char got[8192];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	int phone = harness_udp(PHONE2_IP, PHONE2_PORT);

	dns_start(EXT1);
	start_daemon(REFRESH_S);
	wait_resolved(EXT1);
	report("INVITE with " EXT1, call_phone2(pbx, phone, got, sizeof(got), 2000));
	assert_advertises(got, EXT1);

	dns_set_answer(EXT2);
	long t0 = harness_now_ms(), seen = -1;
	while (harness_now_ms() - t0 < 5000) {
		call_phone2(pbx, phone, got, sizeof(got), 1000);
		if (strstr(got, EXT2)) {
			seen = harness_now_ms() - t0;
			break;
		}
		assert_advertises(got, EXT1); /* until then, the old one, whole */
		usleep(200 * 1000);
	}
	ck_assert_msg(seen >= 0, "no INVITE showed %s within 5 s of the DNS change", EXT2);
	report("DNS change to first INVITE with " EXT2, seen);
	ck_assert_msg(seen <= (REFRESH_S + 1) * 1000, "took %ld ms, want <= %d", seen,
		      (REFRESH_S + 1) * 1000);
	assert_advertises(got, EXT2);
	ck_assert_msg(harness_wait_log(&daemon_p,
				       "external address changed: externhost home.test now " EXT2
				       " (was " EXT1 ")",
				       1000),
		      "no \"external address changed\" in %s", daemon_p.log_path);
	/* and it stays */
	call_phone2(pbx, phone, got, sizeof(got), 1000);
	assert_advertises(got, EXT2);
	close(pbx);
	close(phone);
}
END_TEST

/* Case 2: the DNS server dies; the failure is logged once, lookups go on,
 * and calls keep the last good address without waiting for DNS. */
START_TEST(dns_gone_last_good_kept)
{
	char got[8192], q[1500], name[256];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	int phone = harness_udp(PHONE2_IP, PHONE2_PORT);

	dns_start(EXT1);
	start_daemon(REFRESH_S);
	wait_resolved(EXT1);
	call_phone2(pbx, phone, got, sizeof(got), 2000);
	assert_advertises(got, EXT1);

	long t0 = harness_now_ms();
	dns_stop();
	ck_assert_msg(harness_wait_log(&daemon_p,
				       "cannot resolve externhost home.test", (3 * REFRESH_S + 2) * 1000),
		      "no \"cannot resolve externhost\" warning within %d s of killing dnsmasq; log %s",
		      3 * REFRESH_S + 2, daemon_p.log_path);
	report("dnsmasq killed to \"cannot resolve externhost\"", harness_now_ms() - t0);
	ck_assert_msg(harness_wait_log(&daemon_p, "keeping the last good address " EXT1, 100),
		      "the warning does not name the address kept; log %s", daemon_p.log_path);

	/* Now a server that hears but never answers: each lookup hangs until
	 * its timeout. A call made while one hangs must not wait for it. */
	int blackhole = harness_udp(DNS_IP, DNS_PORT);
	int lookups = 0;
	long worst = 0, deadline = harness_now_ms() + (2 * (REFRESH_S + 1) + 2) * 1000;
	while (lookups < 2 && harness_now_ms() < deadline) {
		ssize_t n = harness_udp_recv(blackhole, q, sizeof(q), (int)(deadline - harness_now_ms()), NULL);
		if (n < 0)
			break;
		if (!dns_qname((unsigned char *)q, (size_t)n, name, sizeof(name)) ||
		    strcasecmp(name, "home.test") != 0)
			continue; /* evdns' own probes of a failed server */
		lookups++;
		long took = call_phone2(pbx, phone, got, sizeof(got), 2000);
		assert_advertises(got, EXT1);
		if (took > worst)
			worst = took;
	}
	ck_assert_msg(lookups == 2, "only %d lookup(s) of home.test in %d s: the daemon stopped retrying",
		      lookups, 2 * (REFRESH_S + 1) + 2);
	report("slowest INVITE while a lookup hung", worst);
	ck_assert_msg(worst < 500, "an INVITE took %ld ms while DNS hung", worst);
	close(blackhole);

	/* let the last lookup time out too, then count the warnings */
	usleep(1300 * 1000);
	ck_assert_int_eq(log_count(daemon_p.log_path, "cannot resolve externhost", NULL), 1);
	ck_assert_msg(harness_alive(&daemon_p), "sipnatd died");
	close(pbx);
	close(phone);
}
END_TEST

/* Case 3: started while the name does not resolve: sipnatd runs, answers
 * what needs no external address, 503s what does, and recovers. */
START_TEST(never_resolved)
{
	char msg[2048], got[8192], line[256];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	int phone = harness_udp(PHONE2_IP, PHONE2_PORT);
	int lan = harness_udp(LAN_HOST_IP, 0);

	dns_start(NULL); /* NXDOMAIN */
	start_daemon(REFRESH_S); /* waits for "listening on": it starts anyway */
	ck_assert_msg(harness_wait_log(&daemon_p, "cannot resolve externhost home.test", 5000),
		      "no \"cannot resolve externhost\" at start; log %s", daemon_p.log_path);
	ck_assert_msg(harness_log_contains(&daemon_p, "get 503 until it resolves"),
		      "the start-up warning does not say what happens meanwhile; log %s",
		      daemon_p.log_path);

	/* a call to the Internet needs the external address */
	char call_id[128];
	int n = invite_from_pbx(msg, sizeof(msg), call_id, sizeof(call_id));
	long t0 = harness_now_ms();
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_msg(pbx_recv(pbx, got, sizeof(got), 2000) > 0, "no answer to the PBX");
	report("503 to the PBX", harness_now_ms() - t0);
	harness_sip_first_line(got, line, sizeof(line));
	ck_assert_msg(strncmp(line, "SIP/2.0 503 ", 12) == 0, "got %s", line);
	ck_assert_msg(harness_sip_header(got, "Call-ID", line, sizeof(line)) &&
			      strcmp(line, call_id) == 0,
		      "answer for another call: %s", got);
	ck_assert_msg(pbx_recv(phone, got, sizeof(got), 300) < 0,
		      "phone2 got something without an external address: %s", got);

	/* an OPTIONS ping from the LAN needs none */
	n = snprintf(msg, sizeof(msg),
		     "OPTIONS sip:" SN_IP ":25060 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP " LAN_HOST_IP ":%u;branch=z9hG4bKxhopt\r\n"
		     "Max-Forwards: 70\r\nFrom: <sip:mon@" LAN_HOST_IP ">;tag=1\r\n"
		     "To: <sip:" SN_IP ">\r\nCall-ID: xhopt@lan\r\nCSeq: 1 OPTIONS\r\n"
		     "Content-Length: 0\r\n\r\n",
		     harness_udp_port(lan));
	harness_udp_send(lan, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_msg(harness_udp_recv(lan, got, sizeof(got), 2000, NULL) > 0,
		      "OPTIONS from the LAN not answered");
	harness_sip_first_line(got, line, sizeof(line));
	ck_assert_msg(strncmp(line, "SIP/2.0 200 ", 12) == 0, "OPTIONS from the LAN: %s", line);

	/* the name starts to resolve: calls go through within a refresh period */
	dns_set_answer(EXT1);
	t0 = harness_now_ms();
	long seen = -1;
	while (seen < 0 && harness_now_ms() - t0 < 5000) {
		int which = -1;
		n = invite_from_pbx(msg, sizeof(msg), call_id, sizeof(call_id));
		harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
		if (recv_either(pbx, phone, got, sizeof(got), 1000, &which) < 0)
			ck_abort_msg("INVITE %s neither answered nor forwarded", call_id);
		if (which == phone) {
			seen = harness_now_ms() - t0;
			break;
		}
		harness_sip_first_line(got, line, sizeof(line));
		ck_assert_msg(strncmp(line, "SIP/2.0 503 ", 12) == 0, "got %s", line);
		usleep(200 * 1000);
	}
	ck_assert_msg(seen >= 0, "calls still fail 5 s after home.test started to resolve");
	report("name resolvable to first call through", seen);
	ck_assert_msg(seen <= (REFRESH_S + 1) * 1000, "took %ld ms, want <= %d", seen,
		      (REFRESH_S + 1) * 1000);
	assert_advertises(got, EXT1);
	ck_assert(harness_wait_log(&daemon_p, "externhost home.test resolved to " EXT1, 1000));
	close(pbx);
	close(phone);
	close(lan);
}
END_TEST

/* Case 4 (R4): names that arrive in messages are never looked up. */
START_TEST(names_in_messages_not_looked_up)
{
	char msg[4096], got[8192], via[2048], line[256];
	int caller = harness_udp(CALLER_IP, 0);
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	unsigned port = harness_udp_port(caller);

	dns_start(EXT1);
	start_daemon(REFRESH_S);
	wait_resolved(EXT1);
	int before = log_count(dns_p.log_path, "query[", "home.test");

	/* an OPTIONS for sipnatd itself, sent-by a name: answered to the source */
	int n = snprintf(msg, sizeof(msg),
			 "OPTIONS sip:" SN_IP ":25060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP evil.invalid:5062;branch=z9hG4bKx\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:a@from.evil.invalid>;tag=1\r\n"
			 "To: <sip:" SN_IP ">\r\nCall-ID: xhr4opt@evil.invalid\r\nCSeq: 1 OPTIONS\r\n"
			 "Contact: <sip:a@contact.evil.invalid:5062>\r\n"
			 "Content-Length: 0\r\n\r\n");
	harness_udp_send(caller, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_msg(harness_udp_recv(caller, got, sizeof(got), 2000, NULL) > 0,
		      "OPTIONS not answered at its source");
	harness_sip_first_line(got, line, sizeof(line));
	ck_assert_msg(strncmp(line, "SIP/2.0 200 ", 12) == 0, "got %s", line);

	/* an INVITE to the PBX full of names; the PBX's answer goes back by
	 * received/rport, not by the sent-by name */
	n = snprintf(msg, sizeof(msg),
		     "INVITE sip:100@" SN_IP ":25060 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP evil.invalid:5062;branch=z9hG4bKxhr4inv\r\n"
		     "Max-Forwards: 70\r\n"
		     "Record-Route: <sip:rr.evil.invalid;lr>\r\n"
		     "From: <sip:a@from.evil.invalid>;tag=1\r\n"
		     "To: <sip:100@to.evil.invalid>\r\n"
		     "Call-ID: xhr4inv@evil.invalid\r\nCSeq: 1 INVITE\r\n"
		     "Contact: <sip:a@contact.evil.invalid:5062>\r\n"
		     "Content-Length: 0\r\n\r\n");
	harness_udp_send(caller, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_msg(pbx_recv(pbx, got, sizeof(got), 2000) > 0,
		      "INVITE not forwarded to the PBX");
	ck_assert_msg(strncmp(got, "INVITE ", 7) == 0, "PBX got %s", got);
	char vias[4096] = "";
	for (const char *p = got; (p = strstr(p, "\r\nVia: ")) != NULL; p += 7) {
		const char *eol = strstr(p + 2, "\r\n");
		strncat(vias, p, (size_t)(eol - p));
	}
	n = snprintf(msg, sizeof(msg),
		     "SIP/2.0 486 Busy Here%s\r\n"
		     "From: <sip:a@from.evil.invalid>;tag=1\r\n"
		     "To: <sip:100@to.evil.invalid>;tag=pbx1\r\n"
		     "Call-ID: xhr4inv@evil.invalid\r\nCSeq: 1 INVITE\r\n"
		     "Content-Length: 0\r\n\r\n",
		     vias);
	harness_udp_send(pbx, SN_IP, SN_PORT, msg, (size_t)n);
	ck_assert_msg(harness_udp_recv(caller, got, sizeof(got), 2000, NULL) > 0,
		      "the 486 did not come back to the caller's source address");
	ck_assert_msg(strncmp(got, "SIP/2.0 486 ", 12) == 0, "caller got %s", got);
	ck_assert(harness_sip_header(got, "Via", via, sizeof(via)));
	snprintf(line, sizeof(line), "rport=%u", port);
	ck_assert_msg(strstr(via, "received=" CALLER_IP) && strstr(via, line), "Via %s", via);

	/* a Request-URI naming another host still only reaches the PBX */
	n = snprintf(msg, sizeof(msg),
		     "MESSAGE sip:x@ruri.evil.invalid:5099 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP evil.invalid:5062;rport;branch=z9hG4bKxhr4msg\r\n"
		     "Max-Forwards: 70\r\nFrom: <sip:a@from.evil.invalid>;tag=1\r\n"
		     "To: <sip:x@ruri.evil.invalid>\r\nCall-ID: xhr4msg@evil.invalid\r\n"
		     "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	harness_udp_send(caller, SN_IP, SN_PORT, msg, (size_t)n);
	int which = -1;
	ck_assert_msg(recv_either(pbx, caller, got, sizeof(got), 2000, &which) > 0,
		      "MESSAGE neither forwarded to the PBX nor answered");

	/* wait for a lookup the daemon makes after all that: the query log is
	 * live and covers the time after the messages */
	long t0 = harness_now_ms();
	while (log_count(dns_p.log_path, "query[", "home.test") <= before &&
	       harness_now_ms() - t0 < (2 * REFRESH_S + 1) * 1000)
		usleep(50 * 1000);
	ck_assert_msg(log_count(dns_p.log_path, "query[", "home.test") > before,
		      "dnsmasq logged no new lookup of home.test; log %s", dns_p.log_path);
	report("next externhost lookup seen in the dnsmasq log", harness_now_ms() - t0);
	int evil = log_count(dns_p.log_path, "query[", ".invalid");
	if (evil)
		print_log_tail(dns_p.log_path);
	ck_assert_msg(evil == 0, "sipnatd looked up %d name(s) from messages", evil);
	close(caller);
	close(pbx);
}
END_TEST

/* R13: SIGHUP forces a re-resolve, without waiting for externrefresh. */
START_TEST(sighup_reresolves)
{
	char got[8192];
	int pbx = harness_udp(PBX_IP, PBX_PORT);
	int phone = harness_udp(PHONE2_IP, PHONE2_PORT);

	dns_start(EXT1);
	start_daemon(600);
	wait_resolved(EXT1);
	dns_set_answer(EXT2);
	call_phone2(pbx, phone, got, sizeof(got), 2000);
	assert_advertises(got, EXT1); /* not due for 10 minutes */

	long t0 = harness_now_ms();
	ck_assert_int_eq(kill(daemon_p.pid, SIGHUP), 0);
	ck_assert_msg(harness_wait_log(&daemon_p, "external address changed", 2000),
		      "SIGHUP did not re-resolve home.test; log %s", daemon_p.log_path);
	report("SIGHUP to new address", harness_now_ms() - t0);
	call_phone2(pbx, phone, got, sizeof(got), 2000);
	assert_advertises(got, EXT2);
	close(pbx);
	close(phone);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		address_change, dns_gone_last_good_kept, never_resolved,
		names_in_messages_not_looked_up, sighup_reresolves, NULL };
	return harness_main("externhost", "dns", 60, setup, teardown, tests);
}
