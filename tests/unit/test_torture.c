/*
 * Torture suite (R45, R46, R47): every datagram in tests/data/torture/ goes
 * through the daemon's SIP path in process (tests/support/sip_path.c, the
 * path the fuzz_sip_path target runs) once from each kind of source: the PBX, the
 * LAN, a trunk and the Internet. The files are the RFC 4475 torture messages
 * (rfc4475-<name>.sip), reproducers in the spirit of the libosip2 and
 * belle-sip CVEs and of the framing bugs of other proxies, and every input
 * the fuzzers found a fault with.
 *
 * For every file and source: no crash, no leak (the suite runs under ASan
 * in `make test`), no broken path invariant (a forwarded message parses
 * again with a right Content-Length, its response finds sipnatd's branch,
 * its masqueraded Contact restores), and a request from anyone but the PBX
 * is only ever forwarded to the PBX. Where RFC 4475 or the requirements say
 * what must happen, the table below asserts it.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "sip_path.h"

#define TORTURE_DIR SIPNATD_TEST_DATA "/torture"
#define TORTURE_MAX_FILES 512

enum expect {
	SURVIVES,  /* only the checks made for every file */
	VALID,     /* well formed: it parses, and a request from the PBX is not dropped */
	REFUSED,   /* never forwarded from any source: dropped, or answered with an error */
	ANSWER_400,/* answered 400 Bad Request from every source (R46, R47) */
	ANSWER_488,/* from the PBX toward the Internet: 488, never forwarded (R47) */
	IGNORED,   /* a keep-alive or STUN: no answer */
	CHALLENGED,/* from the Internet: 401 or 407, whatever it carries */
};

static const struct {
	const char *file;
	enum expect expect;
	const char *must_not_send; /* text no sent message may contain, or NULL */
} expectations[] = {
	/* RFC 4475 3.1.1: valid messages that parsers must accept */
	{ "rfc4475-wsinv.sip", VALID, NULL },
	{ "rfc4475-esc01.sip", VALID, NULL },
	{ "rfc4475-escnull.sip", VALID, NULL },
	{ "rfc4475-esc02.sip", VALID, NULL },
	{ "rfc4475-lwsdisp.sip", VALID, NULL },
	{ "rfc4475-longreq.sip", VALID, NULL },
	/* 3.1.1.8: the INVITE after the REGISTER is noise that must vanish */
	{ "rfc4475-dblreq.sip", VALID, "dblreq.0ha0isnda977644900765" },
	{ "rfc4475-semiuri.sip", VALID, NULL },
	{ "rfc4475-transports.sip", VALID, NULL },
	{ "rfc4475-mpart01.sip", VALID, NULL },
	{ "rfc4475-unreason.sip", VALID, NULL },
	{ "rfc4475-noreason.sip", VALID, NULL },
	/* 3.1.1.2 is valid, but its To display name holds a quoted NUL: sipnatd
	 * drops any NUL in the headers on purpose (libosip2 reads C strings) */
	{ "rfc4475-intmeth.sip", REFUSED, NULL },
	/* RFC 4475 3.1.2: invalid messages */
	{ "rfc4475-badinv01.sip", REFUSED, NULL },
	{ "rfc4475-clerr.sip", REFUSED, NULL },     /* body shorter than Content-Length: discarded (R46) */
	{ "rfc4475-ncl.sip", ANSWER_400, NULL },    /* negative Content-Length (R46) */
	{ "rfc4475-scalar02.sip", REFUSED, NULL },
	{ "rfc4475-scalarlg.sip", REFUSED, NULL },
	{ "rfc4475-quotbal.sip", REFUSED, NULL },
	{ "rfc4475-ltgtruri.sip", REFUSED, NULL },
	{ "rfc4475-lwsruri.sip", REFUSED, NULL },
	{ "rfc4475-lwsstart.sip", REFUSED, NULL },
	{ "rfc4475-trws.sip", REFUSED, NULL },
	{ "rfc4475-escruri.sip", ANSWER_400, NULL }, /* escaped headers must never be passed on */
	/* 3.1.2.12 and 3.1.2.13 may be accepted liberally; the Date is not used
	 * and the Contact is written back in <> */
	{ "rfc4475-baddate.sip", SURVIVES, NULL },
	{ "rfc4475-regbadct.sip", SURVIVES, "Contact: sip:user@example.com?" },
	{ "rfc4475-badaspec.sip", REFUSED, NULL },
	{ "rfc4475-baddn.sip", REFUSED, NULL },
	{ "rfc4475-badvers.sip", ANSWER_400, "OPTIONS sip:t.watson@example.org SIP/7.0" },
	{ "rfc4475-mismatch01.sip", ANSWER_400, NULL },
	{ "rfc4475-mismatch02.sip", ANSWER_400, NULL },
	{ "rfc4475-bigcode.sip", REFUSED, NULL },
	/* RFC 4475 3.2, 3.3, 3.4: transaction and application layer */
	{ "rfc4475-badbranch.sip", SURVIVES, NULL },
	{ "rfc4475-insuf.sip", ANSWER_400, NULL },  /* no From, To, Call-ID (R47) */
	{ "rfc4475-novelsc.sip", REFUSED, NULL },
	{ "rfc4475-multi01.sip", REFUSED, NULL },
	{ "rfc4475-mcl01.sip", REFUSED, NULL },
	{ "rfc4475-bcast.sip", REFUSED, NULL },
	{ "rfc4475-zeromf.sip", REFUSED, NULL },   /* 483, or OPTIONS answered here */
	{ "rfc4475-inv2543.sip", VALID, NULL },
	/* 3.3.7: an unknown Authorization scheme authenticates nobody */
	{ "rfc4475-regaut01.sip", CHALLENGED, NULL },
	/* belle-sip CVE-2021-33056 / CVE-2021-43611: trailing backslash */
	{ "belle-sip-cve-2021-33056-from-trailing-backslash.sip", REFUSED, NULL },
	{ "belle-sip-cve-2021-33056-from-backslash-at-eol.sip", REFUSED, NULL },
	{ "belle-sip-cve-2021-43611-unquoted-backslash.sip", REFUSED, NULL },
	/* Content-Length (R46; OpenSIPS #78, sems #352) */
	{ "opensips-78-content-length-2147483648.sip", ANSWER_400, NULL },
	{ "content-length-4294967296.sip", ANSWER_400, NULL },
	{ "content-length-20-digits.sip", ANSWER_400, NULL },
	{ "content-length-negative-1.sip", ANSWER_400, NULL },
	{ "content-length-negative-2147483648.sip", ANSWER_400, NULL },
	{ "content-length-five.sip", ANSWER_400, NULL },
	{ "content-length-hex.sip", ANSWER_400, NULL },
	/* these three libosip2 refuses itself: dropped without an answer */
	{ "content-length-4294967446.sip", REFUSED, NULL },
	{ "content-length-plus.sip", REFUSED, NULL },
	{ "content-length-two-values.sip", REFUSED, NULL },
	/* a body longer than Content-Length is cut to it (R46) */
	{ "cve-2016-10325-body-longer-than-cl.sip", SURVIVES, "a=sendrecv" },
	{ "two-requests-one-datagram.sip", SURVIVES, "two2" },
	/* R47: a missing mandatory header */
	{ "missing-via.sip", REFUSED, NULL },
	{ "missing-from.sip", ANSWER_400, NULL },
	{ "missing-to.sip", ANSWER_400, NULL },
	{ "missing-call-id.sip", ANSWER_400, NULL },
	{ "missing-cseq.sip", ANSWER_400, NULL },
	{ "cve-2016-10324-blank-mandatory.sip", ANSWER_400, NULL },
	/* R47: SDP that cannot be relayed is answered 488, never forwarded
	 * with the private addresses in it */
	{ "sdp-c-without-address.sip", ANSWER_488, NULL },
	{ "sdp-17-media-lines.sip", ANSWER_488, NULL },
	/* issue 20: an IPv6 c= is relayed now that the relay has IPv6 sockets
	 * (sip_path binds both families); an IPv4-only relay still refuses it
	 * (test_media) */
	{ "sdp-ipv6-connection.sip", VALID, NULL },
	{ "sdp-port-99999.sip", ANSWER_488, NULL },
	{ "sdp-nul-byte.sip", ANSWER_488, NULL },
	{ "lf-only-line-ends.sip", VALID, NULL },
	{ "nul-in-headers.sip", REFUSED, NULL },
	{ "keepalive-crlfcrlf.sip", IGNORED, NULL },
	{ "stun-binding-request.sip", IGNORED, NULL },
	{ "max-forwards-256.sip", REFUSED, NULL },
	{ "max-forwards-negative.sip", REFUSED, NULL },
	{ "forged-token-request-uri.sip", REFUSED, NULL },
	{ "response-huge-status.sip", REFUSED, NULL },
	{ "response-with-sdp-no-via.sip", REFUSED, NULL },
	/* found by fuzz_sip_path: libosip2 leaks on a MIME part with two
	 * Content-Type headers; refused before libosip2 reads it (sipmsg.c) */
	{ "libosip2-leak-mime-part-two-content-types.sip", REFUSED, NULL },
	{ "libosip2-leak-mime-part-two-content-types-midline.sip", REFUSED, NULL },
	{ "fuzz-leak-libosip2-mime-part-two-content-types.sip", REFUSED, NULL },
};

static char *files[TORTURE_MAX_FILES];
static size_t file_count;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .sip files of the torture directory, sorted (once, before forking). */
static void list_files(void)
{
	DIR *dir = opendir(TORTURE_DIR);
	struct dirent *e;

	if (!dir) {
		fprintf(stderr, "cannot open %s\n", TORTURE_DIR);
		exit(EXIT_FAILURE);
	}
	while ((e = readdir(dir)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".sip") == 0 && file_count < TORTURE_MAX_FILES)
			files[file_count++] = strdup(e->d_name);
	}
	closedir(dir);
	qsort(files, file_count, sizeof(files[0]), name_cmp);
}

static void free_files(void)
{
	for (size_t i = 0; i < file_count; i++)
		free(files[i]);
}

static char *read_file(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/%s", TORTURE_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	buf[size] = '\0';
	*len = (size_t)size;
	return buf;
}

static bool sent_contains(const struct sip_path_result *r, const char *text)
{
	size_t n = strlen(text);

	if (!r->out)
		return false;
	for (size_t i = 0; i + n <= r->out_len; i++)
		if (memcmp(r->out + i, text, n) == 0)
			return true;
	return false;
}

static bool is_response_text(const struct sip_path_result *r)
{
	return r->out && r->out_len > 8 && memcmp(r->out, "SIP/2.0 ", 8) == 0;
}

static void check_common(const char *name, enum sip_path_source from, const struct conf *conf,
			 const struct sip_path_result *r)
{
	const char *src = sip_path_source_name(from);

	ck_assert_msg(!r->violation, "%s from %s: %s", name, src, r->violation ? r->violation : "");
	if (r->outcome == SIP_PATH_ANSWERED || r->outcome == SIP_PATH_FORWARDED)
		ck_assert_msg(r->out && r->out_len > 0, "%s from %s: %s with nothing to send", name, src,
			      sip_path_outcome_name(r->outcome));
	/* nothing but the PBX reaches anything but the PBX (no open relay) */
	if (r->outcome == SIP_PATH_FORWARDED && from != SIP_PATH_FROM_PBX && !is_response_text(r))
		ck_assert_msg(netaddr_same(&r->dest, &conf->pbxaddr),
			      "%s from %s: a request was forwarded elsewhere than the PBX", name, src);
}

static void check_expected(const char *name, enum expect expect, enum sip_path_source from,
			   const struct sip_path_result *r)
{
	const char *src = sip_path_source_name(from);
	const char *got = sip_path_outcome_name(r->outcome);

	switch (expect) {
	case SURVIVES:
		break;
	case VALID:
		ck_assert_msg(r->parse == SIPMSG_OK, "%s from %s: RFC-valid, but parsed as %s (%s)", name,
			      src, sipmsg_status_name(r->parse), r->why ? r->why : "");
		break;
	case REFUSED:
		ck_assert_msg(r->outcome != SIP_PATH_FORWARDED, "%s from %s: must not be forwarded (%s)", name,
			      src, r->why ? r->why : "");
		break;
	case CHALLENGED:
		if (from == SIP_PATH_FROM_INTERNET || from == SIP_PATH_FROM_INTERNET6)
			ck_assert_msg(r->outcome == SIP_PATH_ANSWERED && (r->status == 401 || r->status == 407),
				      "%s from %s: want a challenge, got %s %d", name, src, got, r->status);
		break;
	case ANSWER_400:
		ck_assert_msg(r->outcome == SIP_PATH_ANSWERED && r->status == 400,
			      "%s from %s: want 400, got %s %d (%s)", name, src, got, r->status, r->why ? r->why : "");
		break;
	case ANSWER_488:
		if (from == SIP_PATH_FROM_PBX)
			ck_assert_msg(r->outcome == SIP_PATH_ANSWERED && r->status == 488,
				      "%s from %s: want 488, got %s %d (%s)", name, src, got, r->status,
				      r->why ? r->why : "");
		break;
	case IGNORED:
		ck_assert_msg(r->outcome == SIP_PATH_IGNORED, "%s from %s: want ignored, got %s", name, src, got);
		break;
	}
}

START_TEST(torture_file)
{
	const char *name = files[_i];
	enum expect expect = SURVIVES;
	const char *must_not_send = NULL;
	struct sip_path *path = sip_path_new();
	size_t len;
	char *buf = read_file(name, &len);

	ck_assert_ptr_nonnull(path);
	for (size_t k = 0; k < sizeof(expectations) / sizeof(expectations[0]); k++) {
		if (strcmp(expectations[k].file, name) == 0) {
			expect = expectations[k].expect;
			must_not_send = expectations[k].must_not_send;
		}
	}
	for (int from = 0; from < SIP_PATH_SOURCES; from++) {
		struct sip_path_result r;

		sip_path_run(path, buf, len, (enum sip_path_source)from, &r);
		check_common(name, (enum sip_path_source)from, sip_path_conf(path), &r);
		check_expected(name, expect, (enum sip_path_source)from, &r);
		if (expect == VALID && from == SIP_PATH_FROM_PBX && !is_response_text(&r) &&
		    memcmp(buf, "SIP/", 4) != 0)
			ck_assert_msg(r.outcome != SIP_PATH_DROPPED, "%s from the PBX: RFC-valid, but dropped (%s)",
				      name, r.why ? r.why : "");
		if (must_not_send)
			ck_assert_msg(!sent_contains(&r, must_not_send), "%s from %s: sent \"%s\"", name,
				      sip_path_source_name((enum sip_path_source)from), must_not_send);
		sip_path_result_clear(&r);
	}
	free(buf);
	sip_path_free(path);
}
END_TEST

/* A file named in the table that is not in the directory is a typo or a
 * lost regression. */
START_TEST(every_expectation_has_its_file)
{
	for (size_t k = 0; k < sizeof(expectations) / sizeof(expectations[0]); k++) {
		bool found = false;
		for (size_t i = 0; i < file_count && !found; i++)
			found = strcmp(files[i], expectations[k].file) == 0;
		ck_assert_msg(found, "%s/%s is missing", TORTURE_DIR, expectations[k].file);
	}
	/* every RFC 4475 message is there */
	size_t rfc = 0;
	for (size_t i = 0; i < file_count; i++)
		rfc += strncmp(files[i], "rfc4475-", 8) == 0;
	ck_assert_uint_ge(rfc, 49);
}
END_TEST

/* The path itself works: a REGISTER from the Internet without credentials
 * is challenged, an OPTIONS to sipnatd is answered, and the PBX's INVITE to
 * a registered peer leaves with sipnatd's addresses in its SDP. */
START_TEST(path_sanity)
{
	static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.168.1.10\r\ns=-\r\n"
				  "c=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 14000 RTP/AVP 0\r\n";
	char invite[1024];

	snprintf(invite, sizeof(invite),
		 "INVITE sip:alice@192.168.1.2:5060 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bK-sanity\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:100@192.168.1.10>;tag=s1\r\n"
		 "To: <sip:alice@192.168.1.2>\r\n"
		 "Call-ID: sanity@192.168.1.10\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "Contact: <sip:100@192.168.1.10:5060>\r\n"
		 "Content-Type: application/sdp\r\n"
		 "Content-Length: %zu\r\n"
		 "\r\n%s",
		 strlen(sdp), sdp);
	struct sip_path *path = sip_path_new();
	struct sip_path_result r;

	ck_assert_ptr_nonnull(path);
	sip_path_run(path, invite, strlen(invite), SIP_PATH_FROM_PBX, &r);
	ck_assert_str_eq(sip_path_outcome_name(r.outcome), "forwarded");
	ck_assert_ptr_null(r.violation);
	ck_assert(sent_contains(&r, "c=IN IP4 203.0.113.1\r\n"));
	ck_assert(!sent_contains(&r, "c=IN IP4 192.168.1.10"));
	ck_assert(sent_contains(&r, "Contact: <sip:100@203.0.113.1:5060;snt="));
	ck_assert(sent_contains(&r, "INVITE sip:alice@10.0.0.5:5060"));
	sip_path_result_clear(&r);
	sip_path_run(path, invite, strlen(invite), SIP_PATH_FROM_INTERNET, &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_ANSWERED);
	ck_assert_int_eq(r.status, 407);
	sip_path_result_clear(&r);
	sip_path_free(path);
}
END_TEST

static Suite *torture_suite(void)
{
	Suite *s = suite_create("torture");
	TCase *tc = tcase_create("torture");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_expectation_has_its_file);
	tcase_add_test(tc, path_sanity);
	tcase_add_loop_test(tc, torture_file, 0, (int)file_count);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sip_path_global_init();
	list_files();
	sr = srunner_create(torture_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free_files();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
