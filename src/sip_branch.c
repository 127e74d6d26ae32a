/*
 * sip_branch: make and verify sipnatd's Via branch. Part of the forward step
 * (requests) and of response routing (responses).
 */
#include "sip_branch.h"

#include "base32.h"
#include "netaddr.h"
#include "secret.h"
#include "sip_via.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "z9hG4bK"
#define VISIBLE_TAG MAGIC "snv"
#define HIDDEN_TAG MAGIC "snh"
#define OWN_TAG MAGIC "sno"
#define MAC_LEN 10
/* room for the values of one Via (via_values) */
#define VALUES_MAX 1024
/* Sealed Via text larger than this stays visible: a branch is a parameter that
 * other stacks copy into every response, keep it reasonable. */
#define SEAL_MAX ((BRANCH_MAX - sizeof(HIDDEN_TAG)) * 5 / 8 - SECRET_SEAL_OVERHEAD - 8)

/*
 * A response carries back the Via its request had when sipnatd signed it, so
 * checking the response would compute the very MAC that making the branch
 * did. Recent MACs are kept with the exact bytes they cover (a hit compares
 * all of them, so it returns exactly what secret_hmac would); the cache
 * belongs to the key and is forgotten when the key changes. Longer texts are
 * computed every time.
 */
#define MAC_CACHE_SLOTS 256 /* power of two */
#define MAC_CACHE_TEXT 240

struct mac_entry {
	uint16_t len; /* 0: empty */
	uint8_t mac[MAC_LEN];
	char text[MAC_CACHE_TEXT];
};

static struct mac_entry mac_cache[MAC_CACHE_SLOTS];
static uint32_t mac_cache_epoch;

static struct mac_entry *mac_slot(const char *buf, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	if (len > MAC_CACHE_TEXT)
		return NULL;
	if (secret_epoch() != mac_cache_epoch) {
		for (size_t i = 0; i < MAC_CACHE_SLOTS; i++)
			mac_cache[i].len = 0;
		mac_cache_epoch = secret_epoch();
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)buf[i]) * 16777619u;
	return &mac_cache[h & (MAC_CACHE_SLOTS - 1)];
}

static void mac_of(char kind, const char *text, size_t len, uint8_t mac[MAC_LEN])
{
	uint8_t full[32];
	char buf[SEAL_MAX + 2];

	/* kind separates the two namespaces so that a visible MAC can never be
	 * replayed as a hidden one */
	buf[0] = kind;
	if (len > SEAL_MAX)
		len = SEAL_MAX;
	memcpy(buf + 1, text, len);
	struct mac_entry *e = mac_slot(buf, len + 1);
	if (e && e->len == len + 1 && memcmp(e->text, buf, len + 1) == 0) {
		memcpy(mac, e->mac, MAC_LEN);
		return;
	}
	secret_hmac(buf, len + 1, full);
	memcpy(mac, full, MAC_LEN);
	if (e) {
		memcpy(e->text, buf, len + 1);
		memcpy(e->mac, mac, MAC_LEN);
		e->len = (uint16_t)(len + 1);
	}
}

static char *via_text(const osip_via_t *via)
{
	char *s = NULL;
	return osip_via_to_str(via, &s) == 0 ? s : NULL;
}

static const char *branch_of(const osip_via_t *via)
{
	return sip_via_param(via, "branch", NULL);
}

/* An address as its value: an IPv4 or IPv6 literal (with or without the
 * brackets of RFC 5118) printed the one way inet_ntop prints it, a name in
 * lower case (RFC 3261 19.1.4: hosts compare case-insensitively). */
static void address_value(const char *text, char *out, size_t cap)
{
	struct in_addr v4;
	struct in6_addr v6;
	char bare[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(text);

	if (len == 0) { /* no received= (the usual case): no literal to try */
		out[0] = '\0';
		return;
	}
	if (len >= 2 && len < sizeof(bare) + 2 && text[0] == '[' && text[len - 1] == ']') {
		memcpy(bare, text + 1, len - 2);
		bare[len - 2] = '\0';
		text = bare;
	}
	if (netaddr_parse_ipv4(text, &v4) && cap >= 16) {
		netaddr_ipv4_str(v4, out);
		return;
	}
	if (inet_pton(AF_INET6, text, &v6) == 1 && inet_ntop(AF_INET6, &v6, out, (socklen_t)cap))
		return;
	size_t i = 0;
	for (; text[i] && i + 1 < cap; i++)
		out[i] = (char)tolower((unsigned char)text[i]);
	out[i] = '\0';
}

/* A port as its value: a decimal number without leading zeros; absent means
 * the transport's default (RFC 3261 18.2.2, 19.1.2). Anything else is kept as
 * written, so that it can match nothing but itself. */
static void port_value(const char *text, const char *transport, char *out, size_t cap)
{
	unsigned long port = 0;
	size_t i = 0;

	/* no stdio: this runs for every Via sipnatd signs or checks */
	if (!text || !*text) {
		bool tls = transport && osip_strcasecmp(transport, "TLS") == 0;
		text = tls ? "5061" : "5060";
	} else {
		for (; isdigit((unsigned char)text[i]) && port <= 65535; i++)
			port = port * 10 + (unsigned long)(text[i] - '0');
		if (text[i] == '\0' && port <= 65535) {
			char digits[8];
			size_t n = netaddr_port_str((uint16_t)port, digits);
			for (i = 0; i < n && i + 1 < cap; i++)
				out[i] = digits[i];
			out[i] = '\0';
			return;
		}
		/* kept as written, marked */
		if (cap < 2) {
			if (cap)
				out[0] = '\0';
			return;
		}
		out[0] = '?';
		out++;
		cap--;
	}
	for (i = 0; text[i] && i + 1 < cap; i++)
		out[i] = text[i];
	out[i] = '\0';
}

/* Append len bytes of s at out[*n]; false once the total would not fit in
 * cap with its NUL. */
static bool put(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	if (len >= cap - *n)
		return false;
	memcpy(out + *n, s, len);
	*n += len;
	return true;
}

static void upper_value(const char *text, char *out, size_t cap)
{
	size_t i = 0;
	for (; text && text[i] && i + 1 < cap; i++)
		out[i] = (char)toupper((unsigned char)text[i]);
	out[i] = '\0';
}

/*
 * The values of a Via that response routing depends on, in one form however
 * the header was spelled (RFC 3261 7.3.1, 20.42; design section 13, "values,
 * not spelling"): protocol version and transport (case-insensitive), sent-by
 * host and port, the branch (compared as written, RFC 3261 17.2.3), and the
 * received and rport that say where the response goes next (RFC 3581). An
 * element may re-order, re-case and re-space all of these, use the compact
 * form or fold several Vias into one header field; it may not change a value.
 * Returns the length, or 0 when a value does not fit.
 */
static size_t via_values(const osip_via_t *via, char out[VALUES_MAX])
{
	char version[16], transport[16], host[256], port[16], received[256], rport[16];
	bool rport_present = false, branch_seen = false, recv_seen = false;
	const char *branch = NULL, *recv = NULL, *rp = NULL;
	osip_list_iterator_t it;

	/* branch, received and rport in one walk (sip_via_param walks the list
	 * once per name, from the start each time): the first of each name,
	 * case-insensitive, as sip_via_param finds it */
	for (osip_generic_param_t *p = osip_list_get_first((osip_list_t *)&via->via_params, &it); p;
	     p = osip_list_get_next(&it)) {
		size_t len = p->gname ? strlen(p->gname) : 0;
		if (len == 6 && !branch_seen && osip_strncasecmp(p->gname, "branch", 6) == 0) {
			branch = p->gvalue;
			branch_seen = true;
		} else if (len == 8 && !recv_seen && osip_strncasecmp(p->gname, "received", 8) == 0) {
			recv = p->gvalue;
			recv_seen = true;
		} else if (len == 5 && !rport_present && osip_strncasecmp(p->gname, "rport", 5) == 0) {
			rp = p->gvalue;
			rport_present = true;
		}
	}

	upper_value(via->version, version, sizeof(version));
	upper_value(via->protocol, transport, sizeof(transport));
	address_value(via->host ? via->host : "", host, sizeof(host));
	port_value(via->port, via->protocol, port, sizeof(port));
	address_value(recv ? recv : "", received, sizeof(received));
	if (rp)
		port_value(rp, NULL, rport, sizeof(rport));
	else
		strcpy(rport, rport_present ? "flag" : "");
	/* "SIP/version/transport\nhost\nport\nbranch\nreceived\nrport",
	 * written piece by piece (snprintf was a third of the cost) */
	const char *piece[] = { "SIP/", version, "/", transport, "\n", host, "\n", port, "\n",
				branch ? branch : "", "\n", received, "\n", rport };
	size_t n = 0;
	for (size_t i = 0; i < sizeof(piece) / sizeof(piece[0]); i++)
		if (!put(out, VALUES_MAX, &n, piece[i], strlen(piece[i])))
			return 0;
	out[n] = '\0';
	return n;
}

/* The Vias of msg from index `from` on, joined by '\n'; NULL if longer than
 * SEAL_MAX or out of memory. */
static char *join_vias(const osip_message_t *msg, int from, size_t *len)
{
	char *out = osip_malloc(SEAL_MAX + 1);
	size_t n = 0;
	osip_via_t *via;

	if (!out)
		return NULL;
	for (int i = from; (via = osip_list_get(&msg->vias, i)) != NULL; i++) {
		char *t = via_text(via);
		size_t tl = t ? strlen(t) : 0;
		if (!t || n + tl + 1 > SEAL_MAX) {
			osip_free(t);
			osip_free(out);
			return NULL;
		}
		if (n)
			out[n++] = '\n';
		memcpy(out + n, t, tl);
		n += tl;
		osip_free(t);
	}
	out[n] = '\0';
	*len = n;
	return out;
}

static int make_visible(const osip_via_t *top, char *out, size_t out_cap)
{
	uint8_t mac[MAC_LEN];
	char values[VALUES_MAX];
	size_t len = via_values(top, values);

	if (!len || out_cap < sizeof(VISIBLE_TAG) + BASE32_LEN(MAC_LEN))
		return -1;
	mac_of('v', values, len, mac);
	strcpy(out, VISIBLE_TAG);
	base32_encode(mac, MAC_LEN, out + strlen(VISIBLE_TAG));
	return 0;
}

int sip_branch_make(const osip_message_t *req, bool hide, char *out, size_t out_cap, bool *hidden)
{
	const osip_via_t *top = osip_list_get(&req->vias, 0);
	uint8_t sealed[SECRET_SEAL_OVERHEAD + SEAL_MAX];
	size_t len = 0;

	*hidden = false;
	if (!top)
		return -1;
	if (hide) {
		char *stack = join_vias(req, 0, &len);
		if (stack && sizeof(HIDDEN_TAG) + BASE32_LEN(SECRET_SEAL_OVERHEAD + len) < out_cap &&
		    secret_seal((const uint8_t *)stack, len, sealed) == 0) {
			osip_free(stack);
			strcpy(out, HIDDEN_TAG);
			base32_encode(sealed, SECRET_SEAL_OVERHEAD + len, out + strlen(HIDDEN_TAG));
			*hidden = true;
			return 0;
		}
		osip_free(stack);
	}
	return make_visible(top, out, out_cap);
}

static void own_mac(const char *call_id, const char *cseq_number, uint8_t mac[MAC_LEN])
{
	char text[SEAL_MAX];
	int n = snprintf(text, sizeof(text), "%s\n%s", call_id ? call_id : "",
			 cseq_number ? cseq_number : "");
	mac_of('o', text, n < 0 ? 0 : (size_t)n, mac);
}

int sip_branch_make_own(const char *call_id, const char *cseq_number, char *out, size_t out_cap)
{
	uint8_t mac[MAC_LEN];

	if (out_cap < sizeof(OWN_TAG) + BASE32_LEN(MAC_LEN))
		return -1;
	own_mac(call_id, cseq_number, mac);
	strcpy(out, OWN_TAG);
	base32_encode(mac, MAC_LEN, out + strlen(OWN_TAG));
	return 0;
}

/* Is via (at index i of msg) ours? For a hidden branch the sealed text is
 * returned in *sealed (caller frees) when sealed is not NULL. */
static bool via_is_ours(const osip_message_t *msg, int i, char **sealed)
{
	const char *b = branch_of(osip_list_get(&msg->vias, i));
	uint8_t mac[MAC_LEN];

	if (!b)
		return false;
	if (strncmp(b, VISIBLE_TAG, strlen(VISIBLE_TAG)) == 0) {
		const osip_via_t *below = osip_list_get(&msg->vias, i + 1);
		const char *enc = b + strlen(VISIBLE_TAG);
		char values[VALUES_MAX];
		size_t len = below ? via_values(below, values) : 0;
		uint8_t got[MAC_LEN];
		if (!len || base32_decode(enc, strlen(enc), got, sizeof(got)) != MAC_LEN)
			return false;
		mac_of('v', values, len, mac);
		return CRYPTO_memcmp(mac, got, MAC_LEN) == 0;
	}
	if (strncmp(b, OWN_TAG, strlen(OWN_TAG)) == 0) {
		const char *enc = b + strlen(OWN_TAG);
		uint8_t got[MAC_LEN];
		if (base32_decode(enc, strlen(enc), got, sizeof(got)) != MAC_LEN || !msg->call_id ||
		    !msg->cseq)
			return false;
		own_mac(msg->call_id->number, msg->cseq->number, mac);
		return CRYPTO_memcmp(mac, got, MAC_LEN) == 0;
	}
	if (strncmp(b, HIDDEN_TAG, strlen(HIDDEN_TAG)) == 0) {
		/* the LAN's Vias travel sealed: unreadable and unforgeable outside */
		const char *enc = b + strlen(HIDDEN_TAG);
		uint8_t raw[SECRET_SEAL_OVERHEAD + SEAL_MAX], plain[SEAL_MAX];
		long n = base32_decode(enc, strlen(enc), raw, sizeof(raw));
		if (n < SECRET_SEAL_OVERHEAD)
			return false;
		long plen = secret_open(raw, (size_t)n, plain);
		if (plen < 0)
			return false;
		if (sealed) {
			*sealed = osip_malloc((size_t)plen + 1);
			if (!*sealed)
				return false;
			memcpy(*sealed, plain, (size_t)plen);
			(*sealed)[plen] = '\0';
		}
		return true;
	}
	return false;
}

bool sip_branch_seen_before(const osip_message_t *req)
{
	for (int i = 0; i < osip_list_size(&req->vias); i++)
		if (via_is_ours(req, i, NULL))
			return true;
	return false;
}

/* Parse the sealed Via text into a list first, so that a failure leaves the
 * response as it was. */
static int parse_sealed(char *sealed, osip_list_t *out)
{
	for (char *line = sealed, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		osip_via_t *via = NULL;
		if (osip_via_init(&via) != 0)
			return -1;
		if (osip_via_parse(via, line) != 0 || osip_list_add(out, via, -1) < 0) {
			osip_via_free(via);
			return -1;
		}
	}
	return 0;
}

bool sip_branch_pop_ours(osip_message_t *resp)
{
	char *sealed = NULL;
	osip_list_t restored;
	osip_via_t *via;

	if (!via_is_ours(resp, 0, &sealed))
		return false;
	osip_list_init(&restored);
	if (sealed) {
		int rc = parse_sealed(sealed, &restored);
		osip_free(sealed);
		if (rc != 0) {
			osip_list_special_free(&restored, (void (*)(void *))osip_via_free);
			return false;
		}
	}
	via = osip_list_get(&resp->vias, 0);
	osip_list_remove(&resp->vias, 0);
	osip_via_free(via);
	for (int pos = 0; (via = osip_list_get(&restored, 0)) != NULL; pos++) {
		osip_list_remove(&restored, 0);
		osip_list_add(&resp->vias, via, pos);
	}
	return true;
}
