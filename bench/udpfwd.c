/*
 * udpfwd: the bare epoll UDP forwarder that marks the machine's ceiling in
 * the relay benchmark (bench/run.py). Same shape as sipnatd's relay, nothing
 * else: one socket per stream serves both legs (a packet from A goes to B,
 * anything else to A), with an idle twin on port + 1 as RTCP would be; each
 * ready socket is drained with recvmmsg and what it read is sent on with one
 * sendmmsg. No validation, no latching, no counters.
 *
 *   udpfwd -f STREAMS [-t MAX_SECONDS]
 *   STREAMS: one line per stream: LISTEN A B (ip:port each)
 *
 * Prints "ready" once every socket is bound; exits on SIGTERM/SIGINT or after
 * MAX_SECONDS (default 900).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define ROUNDS 4
#define STREAMS_MAX 20000

struct stream {
	int fd;
	struct sockaddr_in a, b;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_addr(const char *s, struct sockaddr_in *out)
{
	char ip[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

static int bind_udp(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		char ip[32];
		inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
		fprintf(stderr, "udpfwd: bind %s:%u: %s\n", ip, ntohs(sa->sin_port), strerror(errno));
		exit(2);
	}
	return fd;
}

static void forward(struct stream *s)
{
	static struct mmsghdr msg[BATCH];
	static struct iovec iov[BATCH];
	static struct sockaddr_in from[BATCH];
	static uint8_t buf[BATCH][2048];

	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
			msg[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							  .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		int n = recvmmsg(s->fd, msg, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			int from_a = from[i].sin_addr.s_addr == s->a.sin_addr.s_addr &&
				     from[i].sin_port == s->a.sin_port;
			from[i] = from_a ? s->b : s->a; /* reuse as the destination */
			iov[i].iov_len = msg[i].msg_len;
		}
		for (int sent = 0; sent < n;) {
			int k = sendmmsg(s->fd, msg + sent, (unsigned)(n - sent), MSG_DONTWAIT);
			if (k <= 0)
				break;
			sent += k;
		}
		if (n < BATCH)
			return;
	}
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	int max_s = 900, opt;

	while ((opt = getopt(argc, argv, "f:t:")) != -1) {
		if (opt == 'f')
			file = optarg;
		else if (opt == 't')
			max_s = atoi(optarg);
		else
			file = NULL;
	}
	if (!file || max_s <= 0) {
		fprintf(stderr, "usage: udpfwd -f STREAMS [-t MAX_SECONDS]\n");
		return 2;
	}
	struct rlimit rl = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &rl);

	struct stream *streams = calloc(STREAMS_MAX, sizeof(*streams));
	int *twins = calloc(STREAMS_MAX, sizeof(*twins));
	FILE *f = fopen(file, "r");
	char l[64], a[64], b[64];
	unsigned n = 0;
	if (!streams || !twins || !f) {
		perror(file);
		return 2;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	while (n < STREAMS_MAX && fscanf(f, "%63s %63s %63s", l, a, b) == 3) {
		struct sockaddr_in la;
		if (parse_addr(l, &la) || parse_addr(a, &streams[n].a) || parse_addr(b, &streams[n].b)) {
			fprintf(stderr, "udpfwd: %s line %u: bad address\n", file, n + 1);
			return 2;
		}
		streams[n].fd = bind_udp(&la);
		la.sin_port = htons((uint16_t)(ntohs(la.sin_port) + 1));
		twins[n] = bind_udp(&la);
		/* data: the stream's index, twice, plus 1 for the idle twin */
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 2u * n };
		struct epoll_event idle = { .events = EPOLLIN, .data.u64 = 2u * n + 1 };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, streams[n].fd, &ev) != 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, twins[n], &idle) != 0) {
			perror("epoll_ctl");
			return 2;
		}
		n++;
	}
	fclose(f);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready %u\n", n);
	fflush(stdout);

	time_t deadline = time(NULL) + max_s;
	struct epoll_event evs[64];
	while (!stop && time(NULL) < deadline) {
		int ready = epoll_wait(ep, evs, 64, 1000);
		for (int i = 0; i < ready; i++) {
			uint64_t k = evs[i].data.u64;
			if (!(k & 1)) {
				forward(&streams[k / 2]);
			} else {
				char junk[2048];
				while (recv(twins[k / 2], junk, sizeof(junk), MSG_DONTWAIT) > 0)
					;
			}
		}
	}
	for (unsigned i = 0; i < n; i++) {
		close(streams[i].fd);
		close(twins[i]);
	}
	free(streams);
	free(twins);
	return 0;
}
