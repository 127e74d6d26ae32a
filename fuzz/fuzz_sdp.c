/*
 * fuzz_sdp: an SDP body read for IN IP4 through sdp_rewrite_inspect and, when
 * it is accepted, sdp_rewrite with an IPv4 address, as the media step of the
 * SIP path does. Besides sanitizer reports, a finding is a rewrite that
 * differs between two runs (R18: the same input gives the same output) or
 * whose output sdp_rewrite_inspect refuses or reads as a different number
 * of streams (the next hop gets what we sent). The body is also read for
 * both families (IN IP6 too) and rewritten with an IPv6 advertised address
 * (issue 20): its output must read back with every stream in IPv6.
 */
#include "sdp_rewrite.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what, const char *out, size_t out_len)
{
	fprintf(stderr, "sdp: %s\n--- rewritten ---\n%.*s\n---\n", what, (int)out_len, out ? out : "");
	abort();
}

/* Both families read, IPv6 advertised. */
static void fuzz_ipv6(const char *body, size_t size)
{
	const unsigned both = SDP_FAMILY_IP4 | SDP_FAMILY_IP6;
	struct sdp_rewrite_params params;
	struct sdp_info info, again;
	struct sdp_body *b;
	char *out = NULL;
	size_t out_len = 0;

	b = sdp_rewrite_body_load(body, size, both, &info);
	if (!b)
		return;
	(void)sdp_rewrite_is_hold(&info);
	memset(&params, 0, sizeof(params));
	if (!netaddr_parse_ip("2001:db8::10", &params.advertise))
		abort();
	for (size_t i = 0; i < info.count; i++)
		params.ports[i] = (uint16_t)(10000 + 2 * i);
	if (sdp_rewrite_body_rewrite(b, &params, &out, &out_len) == 0) {
		if (sdp_rewrite_inspect(out, out_len, both, &again) != 0)
			finding("the IPv6 rewrite is refused by sdp_rewrite_inspect", out, out_len);
		else if (again.count != info.count)
			finding("the IPv6 rewrite has another number of streams", out, out_len);
		for (size_t i = 0; i < again.count; i++)
			if (again.streams[i].port && again.streams[i].conn.family != AF_INET6)
				finding("the IPv6 rewrite left a stream in IPv4", out, out_len);
	}
	free(out);
	sdp_rewrite_body_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct sdp_rewrite_params params;
	struct sdp_info info, again;
	char *out = NULL, *out2 = NULL;
	size_t out_len = 0, out2_len = 0;

	fuzz_ipv6(body, size);
	if (sdp_rewrite_inspect(body, size, SDP_FAMILY_IP4, &info) != 0)
		return 0;
	(void)sdp_rewrite_is_hold(&info);
	memset(&params, 0, sizeof(params));
	if (!netaddr_parse_ip("203.0.113.1", &params.advertise))
		abort();
	for (size_t i = 0; i < info.count; i++) {
		params.ports[i] = (uint16_t)(10000 + 2 * i);
		params.rtcp_mux[i] = (i % 2) == 1;
	}
	if (sdp_rewrite(body, size, SDP_FAMILY_IP4, &params, &out, &out_len) != 0)
		return 0;
	if (sdp_rewrite(body, size, SDP_FAMILY_IP4, &params, &out2, &out2_len) != 0 ||
	    out2_len != out_len || memcmp(out, out2, out_len) != 0)
		finding("the same body and parameters rewrite differently", out, out_len);
	if (strlen(out) != out_len)
		finding("rewritten length differs from the text", out, out_len);
	if (sdp_rewrite_inspect(out, out_len, SDP_FAMILY_IP4, &again) != 0)
		finding("the rewritten body is refused by sdp_rewrite_inspect", out, out_len);
	if (again.count != info.count)
		finding("the rewritten body has another number of streams", out, out_len);
	free(out);
	free(out2);
	return 0;
}
