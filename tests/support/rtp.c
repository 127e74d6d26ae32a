/* rtp: see rtp.h. */
#include "rtp.h"
#include "harness.h"

#include <string.h>

void rtp_make(uint8_t *p, size_t len, uint16_t seq, uint32_t ssrc)
{
	memset(p, 0, len);
	p[0] = 0x80;
	p[1] = 0; /* PCMU */
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
}

void rtp_send(int fd, const char *ip, unsigned port, uint16_t seq, uint32_t ssrc)
{
	uint8_t p[RTP_PCMU_LEN];

	rtp_make(p, sizeof(p), seq, ssrc);
	harness_udp_send(fd, ip, port, (const char *)p, sizeof(p));
}

int rtp_count(int fd, int ms)
{
	char buf[2048];
	int n = 0;

	while (harness_udp_recv(fd, buf, sizeof(buf), ms, NULL) > 0)
		n++;
	return n;
}
