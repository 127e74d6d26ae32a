/*
 * rtp: RTP packets as the integration tests' phones and PBXs send them
 * (version 2, PCMU, 160 samples of silence), and counting what arrives.
 */
#ifndef SIPNATD_TEST_RTP_H
#define SIPNATD_TEST_RTP_H

#include <stddef.h>
#include <stdint.h>

/* The length of one 20 ms PCMU packet: 12 header bytes and 160 samples. */
#define RTP_PCMU_LEN 172

/* A zeroed packet of len bytes (>= 12) with version 2, payload type 0, seq and ssrc. */
void rtp_make(uint8_t *p, size_t len, uint16_t seq, uint32_t ssrc);

/* Send one RTP_PCMU_LEN packet (rtp_make) from fd to ip:port. */
void rtp_send(int fd, const char *ip, unsigned port, uint16_t seq, uint32_t ssrc);

/* How many datagrams arrive on fd until none has come for ms. */
int rtp_count(int fd, int ms);

#endif
