/*
 * Unit tests for statefile.c: save and load round trip, atomic replacement
 * and its error paths (missing directory, a path under a non-directory, a
 * full device), strict, crash-free parsing of damaged files, and the
 * coalescing writer on a real event loop (a pending change written at free,
 * a burst written once after the delay, a failing path logged, retried and
 * left for a good one).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "registrar.h"
#include "statefile.h"
#include "../support/unit_main.h"

#define NOW ((time_t)1700000000)
#define HEADER "# sipnatd registrations v1\n"
#define GOOD_LINE "alice\tsip:100@192.168.1.5:5060\t203.0.113.7:40000\t1700000600\t1700000000\t7\tabc@host\n"

static char dir[64];

static void make_dir(void)
{
	strcpy(dir, "/tmp/sipnatd-statefile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *path_in_dir(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void add(struct registrar *r, const char *peer, const char *uri, const char *call_id,
		uint32_t cseq, const char *ip, uint16_t port, int expires)
{
	struct register_request req;
	struct register_limits limits = { .min_s = 60, .max_s = 3600, .default_s = 600 };

	memset(&req, 0, sizeof(req));
	req.peer = peer;
	req.call_id = call_id;
	req.cseq = cseq;
	ck_assert(netaddr_parse_ip(ip, &req.nat));
	req.nat.port = port;
	req.expires = expires;
	req.contact_count = 1;
	req.contacts[0].uri = uri;
	req.contacts[0].expires = -1;
	ck_assert_int_eq(registrar_apply(r, &req, &limits, NOW, NULL), REGISTER_OK);
}

static struct registrar *sample(void)
{
	struct registrar *r = registrar_new();

	add(r, "alice", "sip:100@192.168.1.5:5060", "abc@host", 7, "203.0.113.7", 40000, 600);
	add(r, "alice", "sip:100@192.168.1.5:5062;transport=udp;ob", "x y;z\"q\"", 4294967295u,
	    "203.0.113.7", 40001, 3600);
	add(r, "bob", "sip:100@192.168.1.5:5060", "abc@host", 1, "198.51.100.2", 1, 60);
	add(r, "carol", "<sip:carol@[2001:db8::1]>", "%00%ff", 0, "255.255.255.255", 65535, -1);
	return r;
}

struct compare {
	const struct registrar *other;
	size_t matched;
};

static void compare_cb(void *arg, const struct binding *b)
{
	struct compare *c = arg;
	const struct binding *got[REGISTRAR_MAX_CONTACTS];
	size_t n = registrar_bindings(c->other, b->peer, NOW, got, REGISTRAR_MAX_CONTACTS);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(got[i]->contact, b->contact) != 0)
			continue;
		ck_assert_str_eq(got[i]->peer, b->peer);
		ck_assert_str_eq(got[i]->call_id, b->call_id);
		ck_assert_uint_eq(got[i]->cseq, b->cseq);
		ck_assert_int_eq(got[i]->expires, b->expires);
		ck_assert_int_eq(got[i]->registered, b->registered);
		ck_assert(netaddr_same(&got[i]->nat, &b->nat));
		c->matched++;
		return;
	}
	ck_abort_msg("%s %s not restored", b->peer, b->contact);
}

START_TEST(round_trip)
{
	struct registrar *saved = sample(), *loaded = registrar_new();
	struct compare c = { .other = loaded };
	char err[256] = "";
	size_t bad = 99;
	const char *path;

	make_dir();
	path = path_in_dir("registrations");
	ck_assert_int_eq(statefile_save(path, saved, err, sizeof(err)), 0);
	ck_assert(!exists(path_in_dir("registrations.tmp")));
	path = path_in_dir("registrations");
	ck_assert_int_eq(strncmp(read_file(path), HEADER, strlen(HEADER)), 0);
	ck_assert_int_eq(statefile_load(path, loaded, NOW, &bad, err, sizeof(err)), 4);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(registrar_count(loaded), 4);
	registrar_foreach(saved, compare_cb, &c);
	ck_assert_uint_eq(c.matched, 4);

	/* saving again replaces the file whole */
	registrar_free(loaded);
	loaded = registrar_new();
	add(loaded, "dave", "sip:d@10.1.1.1", "cid", 1, "192.0.2.9", 5060, 600);
	ck_assert_int_eq(statefile_save(path, loaded, err, sizeof(err)), 0);
	registrar_free(loaded);
	loaded = registrar_new();
	ck_assert_int_eq(statefile_load(path, loaded, NOW, &bad, err, sizeof(err)), 1);
	ck_assert_ptr_nonnull(registrar_lookup(loaded, "dave", NOW));
	remove_dir();
	registrar_free(saved);
	registrar_free(loaded);
}
END_TEST

/* IPv6 phones keep their bindings across a restart (issue 20): the NAT
 * address is written bracketed, read back by value, beside IPv4 lines. */
START_TEST(ipv6_bindings_round_trip)
{
	struct registrar *saved = registrar_new(), *loaded = registrar_new();
	struct compare c = { .other = loaded };
	char err[256] = "";
	size_t bad = 99;

	add(saved, "dave", "sip:dave@[2001:db8:7::5]:5060", "v6@host", 3, "2001:db8:7::5", 5060, 600);
	add(saved, "erin", "sip:erin@[fd00::9]:5062", "v6b@host", 9, "2001:db8:ffff::ffff", 65535, 600);
	add(saved, "bob", "sip:100@192.168.1.5:5060", "abc@host", 1, "198.51.100.2", 1, 60);
	make_dir();
	const char *path = path_in_dir("registrations");
	ck_assert_int_eq(statefile_save(path, saved, err, sizeof(err)), 0);
	const char *text = read_file(path);
	ck_assert_ptr_nonnull(strstr(text, "\t[2001:db8:7::5]:5060\t"));
	ck_assert_ptr_nonnull(strstr(text, "\t[2001:db8:ffff::ffff]:65535\t"));
	ck_assert_ptr_nonnull(strstr(text, "\t198.51.100.2:1\t"));
	ck_assert_int_eq(statefile_load(path, loaded, NOW, &bad, err, sizeof(err)), 3);
	ck_assert_uint_eq(bad, 0);
	registrar_foreach(saved, compare_cb, &c);
	ck_assert_uint_eq(c.matched, 3);
	remove_dir();
	registrar_free(saved);
	registrar_free(loaded);
}
END_TEST

/* NAT addresses a line may not hold: each line is refused alone. */
START_TEST(bad_nat_addresses_refused)
{
	static const char *const nats[] = {
		"2001:db8::5:5060",      /* IPv6 without brackets: where is the port? */
		"[2001:db8::5]",         /* no port */
		"[2001:db8::5]:0",
		"[2001:db8::5]:65536",
		"[2001:db8::zz]:5060",
		"203.0.113.7",
		"203.0.113.7:0",
	};

	for (size_t i = 0; i < sizeof(nats) / sizeof(nats[0]); i++) {
		struct registrar *loaded = registrar_new();
		char text[512];
		size_t bad = 0;
		int len = snprintf(text, sizeof(text), "%salice\tsip:a@10.0.0.1\t%s\t%jd\t%jd\t1\tcid\n", HEADER,
				   nats[i], (intmax_t)(NOW + 600), (intmax_t)NOW);
		ck_assert_msg(statefile_parse(text, (size_t)len, loaded, NOW, &bad) == 0, "%s taken", nats[i]);
		ck_assert_uint_eq(bad, 1);
		registrar_free(loaded);
	}
}
END_TEST

START_TEST(empty_table)
{
	struct registrar *r = registrar_new();
	char err[256] = "";
	size_t bad;
	const char *path;

	make_dir();
	path = path_in_dir("registrations");
	ck_assert_int_eq(statefile_save(path, r, err, sizeof(err)), 0);
	ck_assert_str_eq(read_file(path), HEADER);
	/* 0 restored with err "" is an empty file, not a missing one */
	strcpy(err, "stale");
	ck_assert_int_eq(statefile_load(path, r, NOW, &bad, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(bad, 0);
	remove_dir();
	registrar_free(r);
}
END_TEST

/* A field with a tab, CR or LF cannot be a line: that binding is left out. */
START_TEST(unwritable_binding_skipped)
{
	struct registrar *r = sample(), *loaded = registrar_new();
	char err[256];
	size_t bad;
	const char *path;

	add(r, "erin", "sip:e@10.0.0.1", "tab\there", 1, "192.0.2.1", 5060, 600);
	add(r, "erin", "sip:e@10.0.0.2\r\nX-Evil: 1", "cid", 1, "192.0.2.1", 5060, 600);
	make_dir();
	path = path_in_dir("registrations");
	ck_assert_int_eq(statefile_save(path, r, err, sizeof(err)), 0);
	ck_assert_int_eq(statefile_load(path, loaded, NOW, &bad, err, sizeof(err)), 4);
	ck_assert_uint_eq(bad, 0);
	ck_assert_ptr_null(registrar_lookup(loaded, "erin", NOW));
	remove_dir();
	registrar_free(r);
	registrar_free(loaded);
}
END_TEST

/* A binding made over TCP or TLS lives by its connection, which dies with
 * the process: it is not written (the registrar applies the transport of the
 * REGISTER to the binding). */
START_TEST(stream_binding_not_saved)
{
	struct registrar *r = sample(), *loaded = registrar_new();
	struct register_request req;
	struct register_limits limits = { .min_s = 60, .max_s = 3600, .default_s = 600 };
	char err[256];
	size_t bad;
	const char *path;

	memset(&req, 0, sizeof(req));
	req.peer = "frank";
	req.call_id = "tcp-reg";
	req.cseq = 1;
	ck_assert(netaddr_parse("203.0.113.9:41000", &req.nat));
	req.transport = SIP_TRANSPORT_TLS;
	req.expires = 600;
	req.contact_count = 1;
	req.contacts[0].uri = "sip:f@10.0.0.9;transport=tls";
	req.contacts[0].expires = -1;
	ck_assert_int_eq(registrar_apply(r, &req, &limits, NOW, NULL), REGISTER_OK);
	ck_assert_int_eq(registrar_lookup(r, "frank", NOW)->transport, SIP_TRANSPORT_TLS);
	make_dir();
	path = path_in_dir("registrations");
	ck_assert_int_eq(statefile_save(path, r, err, sizeof(err)), 0);
	ck_assert_int_eq(statefile_load(path, loaded, NOW, &bad, err, sizeof(err)), 4);
	ck_assert_ptr_null(registrar_lookup(loaded, "frank", NOW));
	remove_dir();
	registrar_free(r);
	registrar_free(loaded);
}
END_TEST

START_TEST(save_into_missing_directory)
{
	struct registrar *r = sample();
	char err[256] = "";

	ck_assert_int_eq(statefile_save("/nonexistent-sipnatd-dir/registrations", r, err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "/nonexistent-sipnatd-dir/registrations.tmp: No such file or directory");
	ck_assert_int_eq(statefile_save("/dev/null/registrations", r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/dev/null/registrations.tmp: Not a directory");
	/* a short buffer is cut, not overrun */
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(statefile_save("/dev/null/registrations", r, err, 8), -1);
	ck_assert_str_eq(err, "/dev/nu");
	ck_assert_int_eq(err[9], 'x');
	ck_assert_int_eq(statefile_save("/dev/null/registrations", r, NULL, 0), -1);
	registrar_free(r);
}
END_TEST

/* The disk fills up while writing: -1 with the reason, the old file intact,
 * no temporary left behind. /dev/full stands in for the full disk. */
START_TEST(save_to_full_disk)
{
	struct registrar *r = sample(), *empty = registrar_new();
	char err[256] = "", want[256], old[65536];
	const char *path;

	make_dir();
	path = path_in_dir("registrations");
	ck_assert_int_eq(statefile_save(path, empty, err, sizeof(err)), 0);
	strcpy(old, read_file(path));
	ck_assert_int_eq(symlink("/dev/full", path_in_dir("registrations.tmp")), 0);
	path = path_in_dir("registrations");
	ck_assert_int_eq(statefile_save(path, r, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s.tmp: No space left on device", path);
	ck_assert_str_eq(err, want);
	ck_assert(!exists(path_in_dir("registrations.tmp")));
	path = path_in_dir("registrations");
	ck_assert_str_eq(read_file(path), old);
	remove_dir();
	registrar_free(r);
	registrar_free(empty);
}
END_TEST

/* The rename fails (the target is a directory): -1 naming the file, and the
 * temporary is cleaned up. */
START_TEST(save_rename_fails)
{
	struct registrar *r = sample();
	char err[256] = "", want[256], path[128];

	make_dir();
	strcpy(path, path_in_dir("registrations"));
	ck_assert_int_eq(mkdir(path, 0700), 0);
	write_file(path_in_dir("registrations/keep"), "x");
	ck_assert_int_eq(statefile_save(path, r, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: Is a directory", path);
	ck_assert_str_eq(err, want);
	ck_assert(!exists(path_in_dir("registrations.tmp")));
	remove_dir();
	registrar_free(r);
}
END_TEST

START_TEST(load_missing_file)
{
	struct registrar *r = registrar_new();
	char err[256] = "";
	size_t bad = 99;

	ck_assert_int_eq(statefile_load("/nonexistent-sipnatd-dir/registrations", r, NOW, &bad, err,
					sizeof(err)),
			 0);
	ck_assert_str_eq(err, "/nonexistent-sipnatd-dir/registrations: No such file or directory");
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(registrar_count(r), 0);
	registrar_free(r);
}
END_TEST

START_TEST(load_unreadable)
{
	struct registrar *r = registrar_new();
	char err[256] = "";
	size_t bad;

	/* running as root, a directory is what cannot be read */
	make_dir();
	ck_assert_int_eq(statefile_load(dir, r, NOW, &bad, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, dir));
	ck_assert_ptr_nonnull(strstr(err, "Is a directory"));
	ck_assert_int_eq(statefile_load("/dev/null/registrations", r, NOW, &bad, err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "/dev/null/registrations: Not a directory");
	remove_dir();
	registrar_free(r);
}
END_TEST

static long parse(const char *text, struct registrar *r, size_t *bad)
{
	return statefile_parse(text, strlen(text), r, NOW, bad);
}

/* Each of these lines alone must be refused and counted. */
static const char *const corrupt[] = {
	"alice\tsip:a@h\t203.0.113.7:40000\t1700000600\t1700000000\t7",
	"alice\tsip:a@h\t203.0.113.7:40000\t1700000600\t1700000000\t7\tcid\textra",
	"alice sip:a@h 203.0.113.7:40000 1700000600 1700000000 7 cid",
	"\tsip:a@h\t203.0.113.7:40000\t1700000600\t1700000000\t7\tcid",
	"alice\t\t203.0.113.7:40000\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:40000\t1700000600\t1700000000\t7\t",
	"alice\tsip:a@h\t\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:0\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:65536\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t300.0.113.7:5060\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\texample.com:5060\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t:5060\t1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t17000006x0\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t-1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t+1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t 1700000600\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t99999999999999999999\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t9223372036854775808\t1700000000\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t1700000600\t1700000601\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t1700000600\tnow\t7\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t1700000600\t1700000000\t4294967296\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t1700000600\t1700000000\t-1\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t1700000600\t1700000000\t0x10\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t1700000600\t1700000000\t\tcid",
	"alice\tsip:a@h\t203.0.113.7:5060\t1700000600\t1700000000\t7\tcid\r",
	"# sipnatd registrations v2",
	"garbage",
	"\t\t\t\t\t\t",
};

START_TEST(corrupt_line)
{
	struct registrar *r = registrar_new();
	char text[1024];
	size_t bad = 0;

	snprintf(text, sizeof(text), HEADER "%s\n" GOOD_LINE, corrupt[_i]);
	ck_assert_int_eq(parse(text, r, &bad), 1);
	ck_assert_msg(bad == 1, "line %d: bad = %zu", _i, bad);
	ck_assert_ptr_nonnull(registrar_lookup(r, "alice", NOW));
	ck_assert_str_eq(registrar_lookup(r, "alice", NOW)->contact, "sip:100@192.168.1.5:5060");
	registrar_free(r);
}
END_TEST

START_TEST(over_long_fields)
{
	struct registrar *r = registrar_new();
	char peer[65], uri[513], cid[257], text[2048];
	size_t bad = 0;

	memset(peer, 'p', 64);
	peer[64] = '\0';
	memset(uri, 'u', 512);
	uri[512] = '\0';
	memset(cid, 'c', 256);
	cid[256] = '\0';
	snprintf(text, sizeof(text),
		 "%s\tsip:a@h\t192.0.2.1:5060\t1700000600\t1700000000\t1\tcid\n"
		 "alice\t%s\t192.0.2.1:5060\t1700000600\t1700000000\t1\tcid\n"
		 "alice\tsip:a@h\t192.0.2.1:5060\t1700000600\t1700000000\t1\t%s\n",
		 peer, uri, cid);
	ck_assert_int_eq(parse(text, r, &bad), 0);
	ck_assert_uint_eq(bad, 3);

	/* one shorter, each fits */
	peer[63] = uri[511] = cid[255] = '\0';
	snprintf(text, sizeof(text),
		 "%s\tsip:a@h\t192.0.2.1:5060\t1700000600\t1700000000\t1\tcid\n"
		 "alice\t%s\t192.0.2.1:5060\t1700000600\t1700000000\t1\tcid\n"
		 "alice\tsip:a@h\t192.0.2.1:5060\t1700000600\t1700000000\t1\t%s\n",
		 peer, uri, cid);
	ck_assert_int_eq(parse(text, r, &bad), 3);
	ck_assert_uint_eq(bad, 0);
	registrar_free(r);
}
END_TEST

START_TEST(expired_skipped_not_bad)
{
	struct registrar *r = registrar_new();
	size_t bad = 99;

	ck_assert_int_eq(
		parse(HEADER "bob\tsip:b@h\t192.0.2.1:5060\t1700000000\t1699999000\t1\tcid\n"
			     "carol\tsip:c@h\t192.0.2.1:5060\t1600000000\t1599999000\t1\tcid\n" GOOD_LINE,
		      r, &bad),
		1);
	ck_assert_uint_eq(bad, 0);
	ck_assert_ptr_null(registrar_lookup(r, "bob", NOW));
	registrar_free(r);
}
END_TEST

/* registrar_restore refusing (here a duplicate) skips the line, not bad. */
START_TEST(refused_by_registrar_not_bad)
{
	struct registrar *r = registrar_new();
	size_t bad = 99;

	ck_assert_int_eq(parse(HEADER GOOD_LINE GOOD_LINE, r, &bad), 1);
	ck_assert_uint_eq(bad, 0);
	registrar_free(r);
}
END_TEST

START_TEST(blank_lines_and_no_final_newline)
{
	struct registrar *r = registrar_new();
	size_t bad = 99;

	ck_assert_int_eq(
		parse("\n\n" HEADER "\n" GOOD_LINE
		      "\nbob\tsip:b@h\t192.0.2.1:5060\t1700000600\t1700000000\t1\tcid",
		      r, &bad),
		2);
	ck_assert_uint_eq(bad, 0);
	ck_assert_ptr_nonnull(registrar_lookup(r, "bob", NOW));
	/* without a header the lines still count */
	registrar_free(r);
	r = registrar_new();
	ck_assert_int_eq(parse(GOOD_LINE, r, &bad), 1);
	ck_assert_int_eq(statefile_parse("", 0, r, NOW, &bad), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(statefile_parse(NULL, 0, r, NOW, NULL), 0);
	registrar_free(r);
}
END_TEST

START_TEST(all_garbage)
{
	struct registrar *r = registrar_new();
	size_t bad = 0;

	ck_assert_int_eq(parse("this is\nnot a\nstate file at all\n\n\t\n:::\n", r, &bad), 0);
	ck_assert_uint_eq(bad, 5);
	ck_assert_uint_eq(registrar_count(r), 0);
	registrar_free(r);
}
END_TEST

START_TEST(binary_with_nuls)
{
	struct registrar *r = registrar_new();
	char text[sizeof(HEADER GOOD_LINE GOOD_LINE)];
	size_t bad = 0, n = strlen(HEADER GOOD_LINE);

	/* a good line with a NUL in the middle of its call-id is bad */
	memcpy(text, HEADER GOOD_LINE GOOD_LINE, sizeof(text));
	text[n - 3] = '\0';
	ck_assert_int_eq(statefile_parse(text, sizeof(text) - 1, r, NOW, &bad), 1);
	ck_assert_uint_eq(bad, 1);
	registrar_free(r);

	/* and bytes of every value, NUL included, never crash */
	r = registrar_new();
	{
		unsigned char junk[4096];
		unsigned seed = 12345;
		for (size_t i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (unsigned char)(seed >> 16);
		}
		ck_assert_int_eq(statefile_parse((const char *)junk, sizeof(junk), r, NOW, &bad), 0);
		ck_assert_uint_gt(bad, 0);
	}
	registrar_free(r);
}
END_TEST

START_TEST(huge_line)
{
	struct registrar *r = registrar_new();
	size_t len = 100000, bad = 0;
	char *text = malloc(len + sizeof(GOOD_LINE));

	ck_assert_ptr_nonnull(text);
	memset(text, 'a', len);
	text[len - 1] = '\n';
	memcpy(text + len, GOOD_LINE, sizeof(GOOD_LINE));
	ck_assert_int_eq(statefile_parse(text, strlen(text), r, NOW, &bad), 1);
	ck_assert_uint_eq(bad, 1);
	registrar_free(r);

	/* a valid line padded past 2048 bytes is bad too */
	r = registrar_new();
	snprintf(text, len, "alice\tsip:a@h;x=%02100d\t192.0.2.1:5060\t1700000600\t1700000000\t1\tcid\n",
		 0);
	ck_assert_int_eq(parse(text, r, &bad), 0);
	ck_assert_uint_eq(bad, 1);
	/* and one with no newline at all */
	memset(text, 'b', len);
	ck_assert_int_eq(statefile_parse(text, len, r, NOW, &bad), 0);
	ck_assert_uint_eq(bad, 1);
	free(text);
	registrar_free(r);
}
END_TEST

/* Every truncation and many single-byte changes of a real file: no crash,
 * and never more bindings than the file held. */
START_TEST(mutations)
{
	struct registrar *r = sample(), *loaded;
	char err[256], text[65536];
	size_t bad, len;
	unsigned seed = 7;

	make_dir();
	ck_assert_int_eq(statefile_save(path_in_dir("registrations"), r, err, sizeof(err)), 0);
	strcpy(text, read_file(path_in_dir("registrations")));
	len = strlen(text);
	for (size_t cut = 0; cut <= len; cut++) {
		loaded = registrar_new();
		ck_assert_int_le(statefile_parse(text, cut, loaded, NOW, &bad), 4);
		registrar_free(loaded);
	}
	for (int round = 0; round < 5000; round++) {
		char copy[65536];
		memcpy(copy, text, len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			copy[at] = (char)(seed >> 16);
		}
		loaded = registrar_new();
		ck_assert_int_le(statefile_parse(copy, len, loaded, NOW, &bad), 4);
		registrar_free(loaded);
	}
	remove_dir();
	registrar_free(r);
}
END_TEST

/* ---- the writer ---- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Run base until path exists or timeout_ms has passed; the time it took in
 * ms, or -1 when the file never came. */
static long loop_until_file(struct event_base *base, const char *path, long timeout_ms)
{
	long start = now_ms();

	while (!exists(path)) {
		if (now_ms() - start >= timeout_ms)
			return -1;
		/* blocks until the writer's timer is due; returns at once (and
		 * the bound above ends the wait) when nothing is pending */
		event_base_loop(base, EVLOOP_ONCE);
	}
	return now_ms() - start;
}

struct timers {
	int count;
	long due_in_ms;  /* of the last one seen */
};

static int timer_cb(const struct event_base *base, const struct event *ev, void *arg)
{
	struct timers *t = arg;
	struct timeval due, now;

	if (event_pending(ev, EV_TIMEOUT, &due)) {
		gettimeofday(&now, NULL);
		t->due_in_ms = (due.tv_sec - now.tv_sec) * 1000L + (due.tv_usec - now.tv_usec) / 1000;
		t->count++;
	}
	return 0;
}

/* The writer's timers waiting in base: how many, and when the last is due. */
static struct timers pending_timers(struct event_base *base)
{
	struct timers t = { 0 };

	ck_assert_int_eq(event_base_foreach_event(base, timer_cb, &t), 0);
	return t;
}

static char log_path[160];

static void capture_log(void)
{
	FILE *f;

	snprintf(log_path, sizeof(log_path), "%s", path_in_dir("log"));
	f = fopen(log_path, "w");
	ck_assert_ptr_nonnull(f);
	setvbuf(f, NULL, _IONBF, 0);
	log_open(true);
	log_set_stream(f);
}

static long log_count(const char *text)
{
	const char *p = read_file(log_path);
	long n = 0;

	while ((p = strstr(p, text)) != NULL) {
		n++;
		p += strlen(text);
	}
	return n;
}

/* A change not yet written when the daemon stops is written by free. */
START_TEST(writer_free_writes_pending_change)
{
	struct event_base *base = event_base_new();
	struct registrar *r = sample(), *loaded = registrar_new();
	struct statefile_writer *w;
	char path[160], err[256];
	size_t bad;

	make_dir();
	snprintf(path, sizeof(path), "%s", path_in_dir("registrations"));
	w = statefile_writer_new(base, r, path);
	ck_assert_ptr_nonnull(w);
	statefile_writer_changed(w);
	ck_assert(!exists(path));  /* coalescing: not written at once */
	statefile_writer_free(w);
	ck_assert_int_eq(statefile_load(path, loaded, NOW, &bad, err, sizeof(err)), 4);
	ck_assert_uint_eq(bad, 0);

	/* and without a change, free writes nothing */
	ck_assert_int_eq(unlink(path), 0);
	w = statefile_writer_new(base, r, path);
	statefile_writer_free(w);
	ck_assert(!exists(path));
	remove_dir();
	registrar_free(r);
	registrar_free(loaded);
	event_base_free(base);
}
END_TEST

/* A burst of changes is one write, STATEFILE_WRITE_DELAY_MS after the
 * first, holding what the last change left. */
START_TEST(writer_coalesces_a_burst)
{
	struct event_base *base = event_base_new();
	struct registrar *r = registrar_new(), *loaded = registrar_new();
	struct statefile_writer *w;
	char path[160], err[256];
	struct stat first, after;
	size_t bad;

	make_dir();
	snprintf(path, sizeof(path), "%s", path_in_dir("registrations"));
	w = statefile_writer_new(base, r, path);
	ck_assert_ptr_nonnull(w);
	long start = now_ms();
	add(r, "alice", "sip:100@192.168.1.5:5060", "a@h", 1, "203.0.113.7", 40000, 600);
	statefile_writer_changed(w);
	/* three quarters of the delay on, more changes: they join the pending
	 * write and do not postpone it (a phone re-registering every few
	 * hundred ms must not keep the file from ever being written) */
	struct timeval later = { .tv_usec = STATEFILE_WRITE_DELAY_MS * 1000 * 3 / 4 };
	ck_assert_int_eq(event_base_loopexit(base, &later), 0);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert(!exists(path));
	add(r, "bob", "sip:b@192.168.1.6", "b@h", 1, "198.51.100.2", 5060, 600);
	statefile_writer_changed(w);
	statefile_writer_changed(w);
	ck_assert_int_eq(pending_timers(base).count, 1);

	ck_assert_msg(loop_until_file(base, path, 3 * STATEFILE_WRITE_DELAY_MS) >= 0,
		      "not written within %d ms", 3 * STATEFILE_WRITE_DELAY_MS);
	long took = now_ms() - start;
	ck_assert_msg(took >= STATEFILE_WRITE_DELAY_MS - 50 && took < STATEFILE_WRITE_DELAY_MS * 3 / 2,
		      "written %ld ms after the first change", took);
	ck_assert_int_eq(lstat(path, &first), 0);
	/* once: nothing else is waiting, and free has nothing left to write */
	ck_assert_int_eq(pending_timers(base).count, 0);
	ck_assert_int_eq(statefile_load(path, loaded, NOW, &bad, err, sizeof(err)), 2);
	statefile_writer_free(w);
	ck_assert_int_eq(lstat(path, &after), 0);
	ck_assert_uint_eq(after.st_ino, first.st_ino);  /* a write renames a new file over it */
	remove_dir();
	registrar_free(r);
	registrar_free(loaded);
	event_base_free(base);
}
END_TEST

/* The directory is missing: the failure is logged, the bindings stay, a
 * retry waits STATEFILE_RETRY_S; a reload's new path and the next change
 * bring it forward and the bindings land there. */
START_TEST(writer_failing_path_retries_then_new_path)
{
	struct event_base *base = event_base_new();
	struct registrar *r = sample(), *loaded = registrar_new();
	struct statefile_writer *w;
	char bad_path[160], good_path[160], err[256], want[256];
	size_t bad;

	make_dir();
	capture_log();
	snprintf(bad_path, sizeof(bad_path), "%s", path_in_dir("missing/registrations"));
	snprintf(good_path, sizeof(good_path), "%s", path_in_dir("registrations"));
	w = statefile_writer_new(base, r, bad_path);
	ck_assert_ptr_nonnull(w);
	statefile_writer_changed(w);
	/* the attempt comes after the delay; the loop then waits on the retry */
	long start = now_ms();
	while (log_count("cannot save registrations") == 0 && now_ms() - start < 3000)
		event_base_loop(base, EVLOOP_ONCE);
	snprintf(want, sizeof(want), "cannot save registrations: %s.tmp: No such file or directory; retrying every %d s",
		 bad_path, STATEFILE_RETRY_S);
	ck_assert_msg(log_count(want) == 1, "%s", read_file(log_path));
	struct timers t = pending_timers(base);
	ck_assert_int_eq(t.count, 1);
	ck_assert_msg(t.due_in_ms > STATEFILE_RETRY_S * 1000 - 1000 && t.due_in_ms <= STATEFILE_RETRY_S * 1000 + 100,
		      "retry due in %ld ms", t.due_in_ms);

	/* reload: another path, then a change: written after the short delay,
	 * not after the retry */
	statefile_writer_set_path(w, good_path);
	statefile_writer_changed(w);
	t = pending_timers(base);
	ck_assert_int_eq(t.count, 1);
	ck_assert_int_le(t.due_in_ms, STATEFILE_WRITE_DELAY_MS + 100);
	long took = loop_until_file(base, good_path, 3 * STATEFILE_WRITE_DELAY_MS);
	ck_assert_msg(took >= 0, "not written to the new path");
	ck_assert_int_eq(statefile_load(good_path, loaded, NOW, &bad, err, sizeof(err)), 4);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(pending_timers(base).count, 0);  /* no retry left */
	ck_assert_int_eq(log_count("cannot save registrations"), 1);
	ck_assert(!exists(path_in_dir("missing")));
	statefile_writer_free(w);
	log_set_stream(NULL);
	remove_dir();
	registrar_free(r);
	registrar_free(loaded);
	event_base_free(base);
}
END_TEST

/* A store that keeps failing at stop: free logs it and lets go (nothing
 * hangs, nothing leaks). */
START_TEST(writer_free_with_failing_path)
{
	struct event_base *base = event_base_new();
	struct registrar *r = sample();
	struct statefile_writer *w;

	make_dir();
	capture_log();
	w = statefile_writer_new(base, r, "/dev/null/registrations");
	statefile_writer_changed(w);
	statefile_writer_free(w);
	ck_assert_int_eq(log_count("cannot save registrations: /dev/null/registrations.tmp: Not a directory"), 1);
	log_set_stream(NULL);
	remove_dir();
	registrar_free(r);
	event_base_free(base);
}
END_TEST

static Suite *statefile_suite(void)
{
	Suite *s = suite_create("statefile");
	TCase *save = tcase_create("save");
	TCase *load = tcase_create("load");
	TCase *writer = tcase_create("writer");

	tcase_add_test(save, round_trip);
	tcase_add_test(save, empty_table);
	tcase_add_test(save, ipv6_bindings_round_trip);
	tcase_add_test(save, bad_nat_addresses_refused);
	tcase_add_test(save, unwritable_binding_skipped);
	tcase_add_test(save, stream_binding_not_saved);
	tcase_add_test(save, save_into_missing_directory);
	tcase_add_test(save, save_to_full_disk);
	tcase_add_test(save, save_rename_fails);
	suite_add_tcase(s, save);

	tcase_add_test(load, load_missing_file);
	tcase_add_test(load, load_unreadable);
	tcase_add_loop_test(load, corrupt_line, 0, sizeof(corrupt) / sizeof(corrupt[0]));
	tcase_add_test(load, over_long_fields);
	tcase_add_test(load, expired_skipped_not_bad);
	tcase_add_test(load, refused_by_registrar_not_bad);
	tcase_add_test(load, blank_lines_and_no_final_newline);
	tcase_add_test(load, all_garbage);
	tcase_add_test(load, binary_with_nuls);
	tcase_add_test(load, huge_line);
	tcase_add_test(load, mutations);
	suite_add_tcase(s, load);

	tcase_add_test(writer, writer_free_writes_pending_change);
	tcase_add_test(writer, writer_coalesces_a_burst);
	tcase_add_test(writer, writer_failing_path_retries_then_new_path);
	tcase_add_test(writer, writer_free_with_failing_path);
	suite_add_tcase(s, writer);
	return s;
}

UNIT_MAIN(statefile_suite)
