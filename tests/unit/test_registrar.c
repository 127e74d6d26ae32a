/*
 * Unit tests for registrar.c: RFC 3261 10.3 as applied to the bindings table
 * (expiry, "*", query, Call-ID/CSeq ordering, limits), NAT rebinding and
 * per-peer separation (R39), expiry and restore. Time is a fixed NOW.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registrar.h"
#include "../support/unit_main.h"

#define NOW ((time_t)1700000000)
#define CONTACT_A "sip:100@192.168.1.5:5060"
#define CONTACT_B "sip:100@10.0.0.9:5062;transport=udp"

static const struct register_limits limits = { .min_s = 60, .max_s = 3600, .default_s = 600 };

/* A NAT address of either family. */
static struct netaddr nat(const char *ip, uint16_t port)
{
	struct netaddr a;

	ck_assert(netaddr_parse_ip(ip, &a));
	a.port = port;
	return a;
}

/* A REGISTER from alice at 203.0.113.7:40000 without Contact or Expires. */
static struct register_request request(const char *peer, const char *call_id, uint32_t cseq)
{
	struct register_request req;

	memset(&req, 0, sizeof(req));
	req.peer = peer;
	req.call_id = call_id;
	req.cseq = cseq;
	req.nat = nat("203.0.113.7", 40000);
	req.expires = -1;
	return req;
}

static void add_contact(struct register_request *req, const char *uri, int expires)
{
	ck_assert_uint_lt(req->contact_count, REGISTRAR_MAX_CONTACTS);
	req->contacts[req->contact_count].uri = uri;
	req->contacts[req->contact_count].expires = expires;
	req->contact_count++;
}

static enum register_outcome apply(struct registrar *r, const struct register_request *req,
				   time_t now, bool *changed)
{
	return registrar_apply(r, req, &limits, now, changed);
}

/* alice registers uri with the given Expires header, Call-ID "cid-1". */
static void register_one(struct registrar *r, const char *peer, const char *uri, int expires,
			 uint32_t cseq, time_t now)
{
	struct register_request req = request(peer, "cid-1", cseq);
	bool changed = false;

	req.expires = expires;
	add_contact(&req, uri, -1);
	ck_assert_int_eq(apply(r, &req, now, &changed), REGISTER_OK);
	ck_assert(changed);
}

static size_t live(const struct registrar *r, const char *peer, time_t now)
{
	const struct binding *b[REGISTRAR_MAX_CONTACTS + 1];

	return registrar_bindings(r, peer, now, b, REGISTRAR_MAX_CONTACTS + 1);
}

static const struct binding *find(const struct registrar *r, const char *peer, const char *uri,
				  time_t now)
{
	const struct binding *b[REGISTRAR_MAX_CONTACTS];
	size_t n = registrar_bindings(r, peer, now, b, REGISTRAR_MAX_CONTACTS);

	for (size_t i = 0; i < n; i++)
		if (strcmp(b[i]->contact, uri) == 0)
			return b[i];
	return NULL;
}

START_TEST(new_binding_default_expiry)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);
	const struct binding *b;
	bool changed = false;

	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_uint_eq(registrar_count(r), 1);
	b = registrar_lookup(r, "alice", NOW);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->peer, "alice");
	ck_assert_str_eq(b->contact, CONTACT_A);
	ck_assert_str_eq(b->call_id, "cid-1");
	ck_assert_uint_eq(b->cseq, 1);
	ck_assert_int_eq(b->registered, NOW);
	ck_assert_int_eq(b->expires, NOW + 600);
	ck_assert_uint_eq(b->nat.port, 40000);
	ck_assert_uint_eq(ntohl(b->nat.ip.v4.s_addr), 0xcb007107);
	ck_assert_ptr_null(registrar_lookup(r, "bob", NOW));
	registrar_free(r);
}
END_TEST

START_TEST(expiry_from_header_and_param)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);

	req.expires = 300;
	add_contact(&req, CONTACT_A, -1);  /* header applies */
	add_contact(&req, CONTACT_B, 120); /* param beats header */
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_OK);
	ck_assert_int_eq(find(r, "alice", CONTACT_A, NOW)->expires, NOW + 300);
	ck_assert_int_eq(find(r, "alice", CONTACT_B, NOW)->expires, NOW + 120);
	registrar_free(r);
}
END_TEST

START_TEST(expiry_clamped_to_max)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);

	req.expires = 99999;
	add_contact(&req, CONTACT_A, -1);
	add_contact(&req, CONTACT_B, 7200);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_OK);
	ck_assert_int_eq(find(r, "alice", CONTACT_A, NOW)->expires, NOW + 3600);
	ck_assert_int_eq(find(r, "alice", CONTACT_B, NOW)->expires, NOW + 3600);
	registrar_free(r);
}
END_TEST

START_TEST(too_brief_applies_nothing)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);
	bool changed = true;

	add_contact(&req, CONTACT_A, 3600);
	add_contact(&req, CONTACT_B, 59);
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_TOO_BRIEF);
	ck_assert(!changed);
	ck_assert_uint_eq(registrar_count(r), 0);

	req = request("alice", "cid-1", 2);
	req.expires = 1;
	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_TOO_BRIEF);

	/* exactly min_s is fine */
	req.contacts[0].expires = 60;
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_int_eq(registrar_lookup(r, "alice", NOW)->expires, NOW + 60);
	registrar_free(r);
}
END_TEST

START_TEST(zero_for_unknown_contact_is_fine)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);
	bool changed = true;

	req.expires = 0;
	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_OK);
	ck_assert(!changed);
	ck_assert_uint_eq(registrar_count(r), 0);
	registrar_free(r);
}
END_TEST

START_TEST(remove_by_expires_header)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 2);
	bool changed = false;

	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	register_one(r, "alice", CONTACT_B, 600, 2, NOW);
	req.cseq = 3;
	req.expires = 0;
	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW + 5, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_uint_eq(live(r, "alice", NOW + 5), 1);
	ck_assert_ptr_null(find(r, "alice", CONTACT_A, NOW + 5));
	ck_assert_ptr_nonnull(find(r, "alice", CONTACT_B, NOW + 5));
	registrar_free(r);
}
END_TEST

START_TEST(remove_by_expires_param)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 3);

	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	register_one(r, "alice", CONTACT_B, 600, 2, NOW);
	req.expires = 3600;
	add_contact(&req, CONTACT_A, 0);
	add_contact(&req, CONTACT_B, -1);
	ck_assert_int_eq(apply(r, &req, NOW + 5, NULL), REGISTER_OK);
	ck_assert_ptr_null(find(r, "alice", CONTACT_A, NOW + 5));
	ck_assert_int_eq(find(r, "alice", CONTACT_B, NOW + 5)->expires, NOW + 5 + 3600);
	ck_assert_uint_eq(registrar_count(r), 1);
	registrar_free(r);
}
END_TEST

START_TEST(star_removes_all)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 10);
	bool changed = false;

	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	register_one(r, "alice", CONTACT_B, 600, 2, NOW);
	register_one(r, "bob", CONTACT_A, 600, 1, NOW);
	req.star = true;
	req.expires = 0;
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_uint_eq(live(r, "alice", NOW + 1), 0);
	ck_assert_ptr_null(registrar_lookup(r, "alice", NOW + 1));
	ck_assert_uint_eq(live(r, "bob", NOW + 1), 1);
	ck_assert_uint_eq(registrar_count(r), 1);

	/* again: nothing left to remove */
	req.cseq = 11;
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OK);
	ck_assert(!changed);
	registrar_free(r);
}
END_TEST

START_TEST(star_invalid_forms)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 10);
	bool changed = true;

	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	req.star = true;
	req.expires = -1; /* no Expires header */
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_BAD_REQUEST);
	ck_assert(!changed);
	req.expires = 3600;
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_BAD_REQUEST);
	req.expires = 0;
	add_contact(&req, CONTACT_B, 0); /* "*" and another Contact */
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_BAD_REQUEST);
	ck_assert(!changed);
	ck_assert_uint_eq(live(r, "alice", NOW), 1);
	registrar_free(r);
}
END_TEST

/* 10.3 step 6: for "*", a binding with the same Call-ID and a CSeq not lower
 * than the request's aborts the whole request; other Call-IDs always go. */
START_TEST(star_checks_call_id_and_cseq)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 5);
	struct register_request other = request("alice", "cid-other", 50);
	bool changed = true;

	register_one(r, "alice", CONTACT_A, 600, 5, NOW); /* cid-1, CSeq 5 */
	add_contact(&other, CONTACT_B, -1);
	ck_assert_int_eq(apply(r, &other, NOW, NULL), REGISTER_OK);

	req.star = true;
	req.expires = 0;
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_OUT_OF_ORDER);
	ck_assert(!changed);
	ck_assert_uint_eq(live(r, "alice", NOW), 2);

	req.cseq = 6; /* newer: both go, cid-other's despite its CSeq 50 */
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_uint_eq(live(r, "alice", NOW), 0);
	registrar_free(r);
}
END_TEST

START_TEST(star_unknown_peer)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("carol", "cid-1", 1);
	bool changed = true;

	req.star = true;
	req.expires = 0;
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_OK);
	ck_assert(!changed);
	registrar_free(r);
}
END_TEST

START_TEST(query_changes_nothing)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-9", 1);
	bool changed = true;

	register_one(r, "alice", CONTACT_A, 600, 7, NOW);
	req.expires = 0; /* ignored without Contact */
	ck_assert_int_eq(apply(r, &req, NOW + 10, &changed), REGISTER_OK);
	ck_assert(!changed);
	ck_assert_uint_eq(live(r, "alice", NOW + 10), 1);
	ck_assert_int_eq(registrar_lookup(r, "alice", NOW)->expires, NOW + 600);

	req.peer = "nobody";
	ck_assert_int_eq(apply(r, &req, NOW + 10, &changed), REGISTER_OK);
	ck_assert(!changed);
	ck_assert_uint_eq(registrar_count(r), 1);
	registrar_free(r);
}
END_TEST

START_TEST(several_contacts)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);
	const struct binding *b[2];

	add_contact(&req, "sip:a@10.0.0.1", -1);
	add_contact(&req, "sip:b@10.0.0.2", 120);
	add_contact(&req, "sip:c@10.0.0.3", 3600);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_OK);
	ck_assert_uint_eq(live(r, "alice", NOW), 3);
	ck_assert_uint_eq(registrar_count(r), 3);
	/* max bounds what is returned */
	ck_assert_uint_eq(registrar_bindings(r, "alice", NOW, b, 2), 2);
	ck_assert_uint_eq(registrar_bindings(r, "alice", NOW, b, 0), 0);
	registrar_free(r);
}
END_TEST

START_TEST(duplicate_contact_last_wins)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);

	add_contact(&req, CONTACT_A, 120);
	add_contact(&req, CONTACT_A, 900);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_OK);
	ck_assert_uint_eq(registrar_count(r), 1);
	ck_assert_int_eq(registrar_lookup(r, "alice", NOW)->expires, NOW + 900);
	registrar_free(r);
}
END_TEST

static const char *const many[] = {
	"sip:1@10.0.0.1", "sip:2@10.0.0.1", "sip:3@10.0.0.1", "sip:4@10.0.0.1", "sip:5@10.0.0.1",
	"sip:6@10.0.0.1", "sip:7@10.0.0.1", "sip:8@10.0.0.1", "sip:9@10.0.0.1",
};

START_TEST(too_many)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);
	bool changed = true;

	for (size_t i = 0; i < REGISTRAR_MAX_CONTACTS; i++)
		add_contact(&req, many[i], -1);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_OK);
	ck_assert_uint_eq(live(r, "alice", NOW), REGISTRAR_MAX_CONTACTS);

	/* a ninth alone, or with a refresh of one of the eight */
	req = request("alice", "cid-1", 2);
	add_contact(&req, many[0], -1);
	add_contact(&req, many[8], -1);
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_TOO_MANY);
	ck_assert(!changed);
	ck_assert_int_eq(find(r, "alice", many[0], NOW + 1)->registered, NOW);
	ck_assert_ptr_null(find(r, "alice", many[8], NOW + 1));

	/* removing one makes room in the same request */
	req.contacts[0].expires = 0;
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_ptr_null(find(r, "alice", many[0], NOW + 1));
	ck_assert_ptr_nonnull(find(r, "alice", many[8], NOW + 1));
	ck_assert_uint_eq(live(r, "alice", NOW + 1), REGISTRAR_MAX_CONTACTS);

	/* other peers are not affected by alice's limit */
	register_one(r, "bob", many[0], -1, 1, NOW + 1);

	/* more Contacts than a request can hold */
	req = request("carol", "cid-1", 1);
	req.contact_count = REGISTRAR_MAX_CONTACTS + 1;
	ck_assert_int_eq(apply(r, &req, NOW, &changed), REGISTER_TOO_MANY);
	registrar_free(r);
}
END_TEST

/* Bindings expired but not yet collected do not count, and their slots are
 * reused. */
START_TEST(expired_slots_reused)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 1);

	for (size_t i = 0; i < REGISTRAR_MAX_CONTACTS; i++)
		add_contact(&req, many[i], 60);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_OK);
	req = request("alice", "cid-2", 1);
	for (size_t i = 1; i < REGISTRAR_MAX_CONTACTS + 1; i++)
		add_contact(&req, many[i], 600);
	ck_assert_int_eq(apply(r, &req, NOW + 60, NULL), REGISTER_OK);
	ck_assert_uint_eq(live(r, "alice", NOW + 60), REGISTRAR_MAX_CONTACTS);
	ck_assert_uint_eq(registrar_count(r), REGISTRAR_MAX_CONTACTS);
	ck_assert_ptr_nonnull(find(r, "alice", many[8], NOW + 60));
	ck_assert_ptr_null(find(r, "alice", many[0], NOW + 60));
	ck_assert_uint_eq(registrar_expire(r, NOW + 60, NULL, NULL), 0);
	registrar_free(r);
}
END_TEST

START_TEST(cseq_must_increase)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 5);
	bool changed = true;

	register_one(r, "alice", CONTACT_A, 600, 5, NOW);
	add_contact(&req, CONTACT_A, 1200);
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OUT_OF_ORDER);
	ck_assert(!changed);
	req.cseq = 4;
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OUT_OF_ORDER);
	req.contacts[0].expires = 0; /* a stale removal fails too */
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OUT_OF_ORDER);
	ck_assert_int_eq(registrar_lookup(r, "alice", NOW + 1)->expires, NOW + 600);

	req.cseq = 6;
	req.contacts[0].expires = 1200;
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_int_eq(registrar_lookup(r, "alice", NOW + 1)->expires, NOW + 1 + 1200);
	ck_assert_uint_eq(registrar_lookup(r, "alice", NOW + 1)->cseq, 6);
	registrar_free(r);
}
END_TEST

START_TEST(out_of_order_is_atomic)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 5);
	bool changed = true;

	register_one(r, "alice", CONTACT_A, 600, 5, NOW);
	add_contact(&req, CONTACT_B, -1);  /* new, would be fine */
	add_contact(&req, CONTACT_A, 900); /* stale */
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OUT_OF_ORDER);
	ck_assert(!changed);
	ck_assert_ptr_null(find(r, "alice", CONTACT_B, NOW + 1));
	ck_assert_uint_eq(registrar_count(r), 1);
	registrar_free(r);
}
END_TEST

START_TEST(other_call_id_replaces)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-reboot", 1);
	const struct binding *b;
	bool changed = false;

	register_one(r, "alice", CONTACT_A, 600, 500, NOW);
	add_contact(&req, CONTACT_A, 300);
	ck_assert_int_eq(apply(r, &req, NOW + 1, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_uint_eq(registrar_count(r), 1);
	b = registrar_lookup(r, "alice", NOW + 1);
	ck_assert_str_eq(b->call_id, "cid-reboot");
	ck_assert_uint_eq(b->cseq, 1);
	ck_assert_int_eq(b->expires, NOW + 1 + 300);

	/* and removes on 0, whatever the CSeq */
	req = request("alice", "cid-third", 0);
	add_contact(&req, CONTACT_A, 0);
	ck_assert_int_eq(apply(r, &req, NOW + 2, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_uint_eq(registrar_count(r), 0);
	registrar_free(r);
}
END_TEST

START_TEST(nat_rebinding)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 2);
	const struct binding *b;

	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	req.nat = nat("203.0.113.7", 41234); /* the NAT gave a new port */
	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW + 30, NULL), REGISTER_OK);
	ck_assert_uint_eq(registrar_count(r), 1);
	b = registrar_lookup(r, "alice", NOW + 30);
	ck_assert_uint_eq(b->nat.port, 41234);
	ck_assert_int_eq(b->registered, NOW + 30);
	ck_assert_int_eq(b->expires, NOW + 30 + 600);
	registrar_free(r);
}
END_TEST

/* R39: two sites may both have sip:100@192.168.1.5:5060. */
START_TEST(peers_with_same_contact_stay_apart)
{
	struct registrar *r = registrar_new();
	struct register_request alice = request("alice", "cid-1", 1);
	struct register_request bob = request("bob", "cid-1", 1);
	bool changed;

	alice.nat = nat("198.51.100.1", 5060);
	bob.nat = nat("198.51.100.2", 7000);
	add_contact(&alice, CONTACT_A, -1);
	add_contact(&bob, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &alice, NOW, NULL), REGISTER_OK);
	ck_assert_int_eq(apply(r, &bob, NOW, NULL), REGISTER_OK);
	ck_assert_uint_eq(registrar_count(r), 2);
	ck_assert_uint_eq(registrar_lookup(r, "alice", NOW)->nat.port, 5060);
	ck_assert_uint_eq(registrar_lookup(r, "bob", NOW)->nat.port, 7000);

	/* bob's same Call-ID and CSeq is no replay of alice's */
	alice.cseq = 2;
	alice.contacts[0].expires = 0;
	ck_assert_int_eq(apply(r, &alice, NOW, &changed), REGISTER_OK);
	ck_assert(changed);
	ck_assert_ptr_null(registrar_lookup(r, "alice", NOW));
	ck_assert_uint_eq(registrar_lookup(r, "bob", NOW)->nat.port, 7000);
	registrar_free(r);
}
END_TEST

START_TEST(lookup_most_recent)
{
	struct registrar *r = registrar_new();
	struct register_request req = request("alice", "cid-1", 3);

	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	register_one(r, "alice", CONTACT_B, 600, 2, NOW + 10);
	ck_assert_str_eq(registrar_lookup(r, "alice", NOW + 20)->contact, CONTACT_B);
	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW + 30, NULL), REGISTER_OK);
	ck_assert_str_eq(registrar_lookup(r, "alice", NOW + 40)->contact, CONTACT_A);
	/* A expires at NOW+630, B at NOW+610: after B goes, A still answers */
	ck_assert_str_eq(registrar_lookup(r, "alice", NOW + 615)->contact, CONTACT_A);
	registrar_free(r);
}
END_TEST

struct seen {
	size_t n;
	char contact[4][REGISTRAR_URI_MAX];
};

static void seen_cb(void *arg, const struct binding *b)
{
	struct seen *s = arg;

	if (s->n < 4)
		strcpy(s->contact[s->n], b->contact);
	s->n++;
}

START_TEST(expiry_hides_then_removes)
{
	struct registrar *r = registrar_new();
	struct seen seen = { 0 };

	register_one(r, "alice", CONTACT_A, 60, 1, NOW);
	register_one(r, "alice", CONTACT_B, 120, 2, NOW);
	register_one(r, "bob", CONTACT_A, 60, 1, NOW);
	ck_assert_uint_eq(live(r, "alice", NOW + 59), 2);
	ck_assert_ptr_nonnull(registrar_lookup(r, "bob", NOW + 59));

	/* at the expiry second they are gone from view, but still stored */
	ck_assert_uint_eq(live(r, "alice", NOW + 60), 1);
	ck_assert_ptr_null(registrar_lookup(r, "bob", NOW + 60));
	ck_assert_uint_eq(registrar_count(r), 3);
	ck_assert_int_eq(registrar_next_expiry(r), NOW + 60);

	ck_assert_uint_eq(registrar_expire(r, NOW + 60, seen_cb, &seen), 2);
	ck_assert_uint_eq(seen.n, 2);
	ck_assert_str_eq(seen.contact[0], CONTACT_A);
	ck_assert_str_eq(seen.contact[1], CONTACT_A);
	ck_assert_uint_eq(registrar_count(r), 1);
	ck_assert_int_eq(registrar_next_expiry(r), NOW + 120);
	ck_assert_uint_eq(registrar_expire(r, NOW + 60, seen_cb, &seen), 0);

	ck_assert_uint_eq(registrar_expire(r, NOW + 1000, NULL, NULL), 1);
	ck_assert_uint_eq(registrar_count(r), 0);
	ck_assert_int_eq(registrar_next_expiry(r), 0);
	registrar_free(r);
}
END_TEST

/* A phone re-registering after its binding lapsed (not yet collected) takes
 * the old slot: no later "expired" for a binding that is live again. */
START_TEST(reregister_after_lapse)
{
	struct registrar *r = registrar_new();
	struct seen seen = { 0 };

	register_one(r, "alice", CONTACT_A, 60, 5, NOW);
	register_one(r, "alice", CONTACT_A, 600, 1, NOW + 100); /* same Call-ID, lower CSeq */
	ck_assert_uint_eq(registrar_count(r), 1);
	ck_assert_uint_eq(registrar_expire(r, NOW + 100, seen_cb, &seen), 0);
	ck_assert_int_eq(registrar_lookup(r, "alice", NOW + 100)->expires, NOW + 700);
	registrar_free(r);
}
END_TEST

static bool keep_bob_cb(void *arg, const char *peer)
{
	(*(int *)arg)++;
	return strcmp(peer, "bob") == 0;
}

START_TEST(retain_drops_removed_peers)
{
	struct registrar *r = registrar_new();
	int asked = 0;

	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	register_one(r, "alice", CONTACT_B, 600, 2, NOW);
	register_one(r, "bob", CONTACT_A, 600, 1, NOW);
	register_one(r, "carol", CONTACT_A, 600, 1, NOW);
	ck_assert_uint_eq(registrar_retain(r, keep_bob_cb, &asked), 3);
	ck_assert_int_eq(asked, 3);
	ck_assert_uint_eq(registrar_count(r), 1);
	ck_assert_ptr_null(registrar_lookup(r, "alice", NOW));
	ck_assert_ptr_null(registrar_lookup(r, "carol", NOW));
	ck_assert_ptr_nonnull(registrar_lookup(r, "bob", NOW));
	registrar_free(r);
}
END_TEST

static void count_cb(void *arg, const struct binding *b)
{
	(*(size_t *)arg)++;
}

START_TEST(foreach_visits_all)
{
	struct registrar *r = registrar_new();
	char peer[32];
	size_t n = 0;

	for (int i = 0; i < 200; i++) {
		snprintf(peer, sizeof(peer), "peer%d", i);
		register_one(r, peer, CONTACT_A, 600, 1, NOW);
	}
	registrar_foreach(r, count_cb, &n);
	ck_assert_uint_eq(n, 200);
	ck_assert_uint_eq(registrar_count(r), 200);
	ck_assert_ptr_nonnull(registrar_lookup(r, "peer137", NOW));
	registrar_free(r);
}
END_TEST

static struct binding binding(const char *peer, const char *uri, time_t expires)
{
	struct binding b;

	memset(&b, 0, sizeof(b));
	strcpy(b.peer, peer);
	strcpy(b.contact, uri);
	strcpy(b.call_id, "cid-r");
	b.cseq = 9;
	b.nat = nat("192.0.2.1", 5060);
	b.registered = expires - 600;
	b.expires = expires;
	return b;
}

START_TEST(restore)
{
	struct registrar *r = registrar_new();
	struct binding b = binding("alice", CONTACT_A, NOW + 100);
	const struct binding *got;

	ck_assert(registrar_restore(r, &b, NOW));
	got = registrar_lookup(r, "alice", NOW);
	ck_assert_ptr_nonnull(got);
	ck_assert_mem_eq(got, &b, sizeof(b));
	ck_assert(!registrar_restore(r, &b, NOW)); /* a duplicate */

	b = binding("alice", CONTACT_B, NOW);
	ck_assert(!registrar_restore(r, &b, NOW)); /* expired */
	b = binding("", CONTACT_B, NOW + 100);
	ck_assert(!registrar_restore(r, &b, NOW));
	b = binding("alice", "", NOW + 100);
	ck_assert(!registrar_restore(r, &b, NOW));
	b = binding("alice", CONTACT_B, NOW + 100);
	b.call_id[0] = '\0';
	ck_assert(!registrar_restore(r, &b, NOW));
	b = binding("alice", CONTACT_B, NOW + 100);
	memset(b.peer, 'x', sizeof(b.peer)); /* not terminated */
	ck_assert(!registrar_restore(r, &b, NOW));
	ck_assert_uint_eq(registrar_count(r), 1);

	for (size_t i = 1; i < REGISTRAR_MAX_CONTACTS; i++) {
		b = binding("alice", many[i], NOW + 100);
		ck_assert(registrar_restore(r, &b, NOW));
	}
	b = binding("alice", many[8], NOW + 100);
	ck_assert(!registrar_restore(r, &b, NOW)); /* full */
	ck_assert_uint_eq(registrar_count(r), REGISTRAR_MAX_CONTACTS);
	registrar_free(r);
}
END_TEST

START_TEST(next_expiry)
{
	struct registrar *r = registrar_new();

	ck_assert_int_eq(registrar_next_expiry(r), 0);
	register_one(r, "alice", CONTACT_A, 600, 1, NOW);
	register_one(r, "bob", CONTACT_A, 120, 1, NOW);
	register_one(r, "carol", CONTACT_A, 3600, 1, NOW);
	ck_assert_int_eq(registrar_next_expiry(r), NOW + 120);
	registrar_free(r);
}
END_TEST

START_TEST(strings_that_do_not_fit)
{
	struct registrar *r = registrar_new();
	char uri[REGISTRAR_URI_MAX + 1], cid[REGISTRAR_CALLID_MAX + 1], peer[65];
	struct register_request req;

	memset(uri, 'u', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	memcpy(uri, "sip:", 4);
	memset(cid, 'c', sizeof(cid) - 1);
	cid[sizeof(cid) - 1] = '\0';
	memset(peer, 'p', sizeof(peer) - 1);
	peer[sizeof(peer) - 1] = '\0';

	req = request("alice", "cid-1", 1);
	add_contact(&req, CONTACT_A, -1);
	add_contact(&req, uri, -1);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);
	uri[REGISTRAR_URI_MAX - 1] = '\0'; /* 511 characters: fits */
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_OK);
	ck_assert_uint_eq(registrar_count(r), 2);

	req = request("alice", cid, 1);
	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);
	req.call_id = "";
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);
	req.call_id = NULL;
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);

	req = request(peer, "cid-1", 1);
	add_contact(&req, CONTACT_A, -1);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);
	req.peer = "";
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);
	req.peer = NULL;
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);

	req = request("alice", "cid-2", 1);
	add_contact(&req, "", -1);
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);
	req.contacts[0].uri = NULL;
	ck_assert_int_eq(apply(r, &req, NOW, NULL), REGISTER_BAD_REQUEST);
	ck_assert_uint_eq(registrar_count(r), 2);
	registrar_free(r);
}
END_TEST

static Suite *registrar_suite(void)
{
	Suite *s = suite_create("registrar");
	TCase *apply_tc = tcase_create("apply");
	TCase *table_tc = tcase_create("table");

	tcase_add_test(apply_tc, new_binding_default_expiry);
	tcase_add_test(apply_tc, expiry_from_header_and_param);
	tcase_add_test(apply_tc, expiry_clamped_to_max);
	tcase_add_test(apply_tc, too_brief_applies_nothing);
	tcase_add_test(apply_tc, zero_for_unknown_contact_is_fine);
	tcase_add_test(apply_tc, remove_by_expires_header);
	tcase_add_test(apply_tc, remove_by_expires_param);
	tcase_add_test(apply_tc, star_removes_all);
	tcase_add_test(apply_tc, star_invalid_forms);
	tcase_add_test(apply_tc, star_checks_call_id_and_cseq);
	tcase_add_test(apply_tc, star_unknown_peer);
	tcase_add_test(apply_tc, query_changes_nothing);
	tcase_add_test(apply_tc, several_contacts);
	tcase_add_test(apply_tc, duplicate_contact_last_wins);
	tcase_add_test(apply_tc, too_many);
	tcase_add_test(apply_tc, expired_slots_reused);
	tcase_add_test(apply_tc, cseq_must_increase);
	tcase_add_test(apply_tc, out_of_order_is_atomic);
	tcase_add_test(apply_tc, other_call_id_replaces);
	tcase_add_test(apply_tc, nat_rebinding);
	tcase_add_test(apply_tc, peers_with_same_contact_stay_apart);
	tcase_add_test(apply_tc, strings_that_do_not_fit);
	suite_add_tcase(s, apply_tc);

	tcase_add_test(table_tc, lookup_most_recent);
	tcase_add_test(table_tc, expiry_hides_then_removes);
	tcase_add_test(table_tc, reregister_after_lapse);
	tcase_add_test(table_tc, retain_drops_removed_peers);
	tcase_add_test(table_tc, foreach_visits_all);
	tcase_add_test(table_tc, restore);
	tcase_add_test(table_tc, next_expiry);
	suite_add_tcase(s, table_tc);
	return s;
}

UNIT_MAIN(registrar_suite)
