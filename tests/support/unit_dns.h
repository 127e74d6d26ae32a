/*
 * unit_dns: a stand-in DNS server for the unit suites of the modules that
 * resolve names (dnscache, externaddr, trunks). It listens on 127.0.0.1 on an
 * ephemeral UDP port inside the test's own event loop and answers A and AAAA
 * queries from a table the test edits while it runs: an address of either
 * family with a TTL (a name may have both), an error
 * code (NXDOMAIN, SERVFAIL), or silence (a lookup that times out). Names not
 * in the table get NXDOMAIN. Nothing leaves loopback. Header only (static
 * inline) because each unit test is an executable of its own.
 */
#ifndef SIPNATD_TEST_UNIT_DNS_H
#define SIPNATD_TEST_UNIT_DNS_H

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define UD_RECORDS 200
#define UD_NXDOMAIN 3
#define UD_SERVFAIL 2

struct ud_record {
	char name[128];
	int rcode;             /* 0: answer with addr */
	bool silent;           /* never answer */
	bool has_a, has_aaaa;  /* without either: NOERROR and no answer (NODATA) */
	struct in_addr addr;
	struct in6_addr addr6;
	uint32_t ttl;
	unsigned queries;      /* A queries seen for it */
	unsigned queries6;     /* AAAA queries seen for it */
};

struct unit_dns {
	int fd;
	struct sockaddr_in addr;
	struct event *ev;
	struct ud_record rec[UD_RECORDS];
	size_t count;
	unsigned queries;      /* every query seen */
};

static inline struct ud_record *ud_find(struct unit_dns *d, const char *name)
{
	for (size_t i = 0; i < d->count; i++)
		if (strcasecmp(d->rec[i].name, name) == 0)
			return &d->rec[i];
	return NULL;
}

static inline struct ud_record *ud_entry(struct unit_dns *d, const char *name)
{
	struct ud_record *r = ud_find(d, name);

	if (r)
		return r;
	ck_assert_uint_lt(d->count, UD_RECORDS);
	r = &d->rec[d->count++];
	memset(r, 0, sizeof(*r));
	ck_assert_uint_lt(strlen(name), sizeof(r->name));
	strcpy(r->name, name);
	return r;
}

/* name answers ip (IPv4: its A record, IPv6: its AAAA record; the other
 * family's record is kept) with ttl from now on. */
static inline void ud_answer(struct unit_dns *d, const char *name, const char *ip, uint32_t ttl)
{
	struct ud_record *r = ud_entry(d, name);

	r->rcode = 0;
	r->silent = false;
	r->ttl = ttl;
	if (strchr(ip, ':')) {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &r->addr6), 1);
		r->has_aaaa = true;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET, ip, &r->addr), 1);
		r->has_a = true;
	}
}

/* name has no record of family (AF_INET or AF_INET6) any more. */
static inline void ud_forget(struct unit_dns *d, const char *name, int family)
{
	struct ud_record *r = ud_entry(d, name);

	if (family == AF_INET6)
		r->has_aaaa = false;
	else
		r->has_a = false;
}

/* name fails with rcode (UD_NXDOMAIN, UD_SERVFAIL) from now on. */
static inline void ud_fail(struct unit_dns *d, const char *name, int rcode)
{
	struct ud_record *r = ud_entry(d, name);

	r->rcode = rcode;
	r->silent = false;
	r->has_a = r->has_aaaa = false;
}

/* Queries for name are never answered from now on. */
static inline void ud_silence(struct unit_dns *d, const char *name)
{
	ud_entry(d, name)->silent = true;
}

static inline unsigned ud_queries(struct unit_dns *d, const char *name)
{
	struct ud_record *r = ud_find(d, name);

	return r ? r->queries : 0;
}

static inline unsigned ud_queries6(struct unit_dns *d, const char *name)
{
	struct ud_record *r = ud_find(d, name);

	return r ? r->queries6 : 0;
}

/* The question's name as text (lower case); its end offset, 0 if malformed. */
static inline size_t ud_qname(const uint8_t *p, size_t len, char *name, size_t cap)
{
	size_t o = 12, n = 0;

	while (o < len && p[o] != 0) {
		size_t l = p[o++];
		if (l > 63 || o + l > len || n + l + 2 > cap)
			return 0;
		if (n)
			name[n++] = '.';
		for (size_t i = 0; i < l; i++)
			name[n++] = (char)tolower(p[o + i]);
		o += l;
	}
	name[n] = '\0';
	return o < len ? o + 1 : 0;
}

static inline void ud_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct unit_dns *d = arg;
	uint8_t q[512], a[600];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	char name[256];

	(void)what;
	while ((n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &flen)) > 0) {
		size_t end = n >= 12 ? ud_qname(q, (size_t)n, name, sizeof(name)) : 0;
		if (!end || end + 4 > (size_t)n)
			continue;
		uint16_t qtype = (uint16_t)(q[end] << 8 | q[end + 1]);
		d->queries++;
		struct ud_record *r = ud_find(d, name);
		if (r && qtype == 1)
			r->queries++;
		if (r && qtype == 28)
			r->queries6++;
		if (r && r->silent)
			continue;
		/* header: same id, QR, the asker's RD, RA; one question */
		size_t qend = end + 4;
		memcpy(a, q, qend);
		int rcode = r ? r->rcode : UD_NXDOMAIN;
		bool answer = r && rcode == 0 &&
			      ((qtype == 1 && r->has_a) || (qtype == 28 && r->has_aaaa));
		a[2] = (uint8_t)(0x80 | (q[2] & 0x01));
		a[3] = (uint8_t)(0x80 | rcode);
		a[4] = 0, a[5] = 1;                  /* QDCOUNT */
		a[6] = 0, a[7] = answer ? 1 : 0;     /* ANCOUNT */
		memset(a + 8, 0, 4);                 /* NSCOUNT, ARCOUNT */
		size_t o = qend;
		if (answer) {
			uint8_t rdlen = qtype == 1 ? 4 : 16;
			const uint8_t rr[] = { 0xc0, 0x0c, 0, (uint8_t)qtype, 0, 1,
					       (uint8_t)(r->ttl >> 24), (uint8_t)(r->ttl >> 16),
					       (uint8_t)(r->ttl >> 8), (uint8_t)r->ttl, 0, rdlen };
			memcpy(a + o, rr, sizeof(rr));
			o += sizeof(rr);
			memcpy(a + o, qtype == 1 ? (const void *)&r->addr : (const void *)&r->addr6, rdlen);
			o += rdlen;
		}
		sendto(fd, a, o, 0, (struct sockaddr *)&from, flen);
		flen = sizeof(from);
	}
}

/* Listen on 127.0.0.1:0 in base. */
static inline void ud_start(struct unit_dns *d, struct event_base *base)
{
	socklen_t len = sizeof(d->addr);

	memset(d, 0, sizeof(*d));
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(d->fd, 0);
	d->addr.sin_family = AF_INET;
	d->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(d->fd, (struct sockaddr *)&d->addr, sizeof(d->addr)), 0);
	ck_assert_int_eq(getsockname(d->fd, (struct sockaddr *)&d->addr, &len), 0);
	d->ev = event_new(base, d->fd, EV_READ | EV_PERSIST, ud_read_cb, d);
	ck_assert_ptr_nonnull(d->ev);
	ck_assert_int_eq(event_add(d->ev, NULL), 0);
}

static inline void ud_stop(struct unit_dns *d)
{
	event_free(d->ev);
	close(d->fd);
}

/* An evdns base in base that asks only this server, gives up on a silent
 * one after timeout (seconds, as evdns spells it: "0.3") without retrying. */
static inline struct evdns_base *ud_evdns(struct unit_dns *d, struct event_base *base, const char *timeout)
{
	struct evdns_base *dns = evdns_base_new(base, 0);

	ck_assert_ptr_nonnull(dns);
	ck_assert_int_eq(evdns_base_nameserver_sockaddr_add(dns, (struct sockaddr *)&d->addr,
							    sizeof(d->addr), 0), 0);
	ck_assert_int_eq(evdns_base_set_option(dns, "timeout:", timeout), 0);
	ck_assert_int_eq(evdns_base_set_option(dns, "attempts:", "1"), 0);
	return dns;
}

#endif
