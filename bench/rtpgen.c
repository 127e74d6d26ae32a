/*
 * rtpgen: the load generator of the relay benchmark (bench/run.py).
 *
 * N streams, each with two legs: A (the phone) and B (the PBX). A leg is one
 * UDP socket bound to the address its SDP announced and connected to the relay
 * port that faces it, so it sends only there and hears only the relay. Every
 * leg sends 172-byte RTP datagrams (12-byte header, version 2, its own SSRC,
 * consecutive sequence numbers; 160 bytes of payload that carry the send time
 * and the sending leg) and counts what the relay forwards to it from the
 * other leg: packets, wrong deliveries, and one-way latency through the relay.
 *
 * Pacing: the 2N legs take turns, A0..An-1 then B0..Bn-1, each sending a burst
 * of -b packets (one sendmmsg), so the total rate is even over time and each
 * relay socket sees its two legs half a period apart. Phases: warm-up (the
 * relay latches; not counted), measurement, drain (no sending; late packets
 * of the window still count). Sends only to 127.0.0.0/8; stops by itself.
 *
 *   rtpgen -f STREAMS -r TOTAL_PPS [-b BURST] [-w WARMUP_S] [-d SECONDS]
 *          [-D DRAIN_MS] [-p RELAY_PID] [-x PID,...]
 *   STREAMS: one line per stream: A_SRC A_DST B_SRC B_DST (ip:port each)
 *
 * Prints one line of key=value figures for the measurement window, among
 * them the CPU time of the relay process (-p) and how much CPU other
 * processes took meanwhile (the machine may be shared; -x names our own
 * idle ones).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT_LEN 172
#define RTP_HDR 12
#define BURST_MAX 64
#define RECV_BATCH 64
#define STREAMS_MAX 20000
#define RUN_MAX_S 600.0
#define LAT_BUCKETS 100000 /* 1 us each; beyond counts as the last */
#define SOCKBUF (4 << 20)
#define POLL_NS 50000u

struct leg {
	int fd;
	uint16_t seq;
	uint32_t rtp_ts;
	uint32_t ssrc;
};

/* CPU time over the measurement window: the relay's, the generator's, the
 * kernel's softirq threads' (loopback delivery spills into them under load),
 * and how busy each core was; what is left over is someone else's (the
 * machine is shared), reported so that a disturbed run can be retried. */
struct cpu_sample {
	double relay_s, self_s, softirqd_s;
	unsigned long long busy[2], total[2];
};

static struct leg *legs;
static unsigned nlegs;
static uint32_t lat_hist[LAT_BUCKETS];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
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

static int open_leg(const struct sockaddr_in *src, const struct sockaddr_in *dst)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int size = SOCKBUF;

	if (fd < 0)
		die("socket");
	if ((ntohl(dst->sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "rtpgen: refusing a destination off loopback\n");
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (const struct sockaddr *)src, sizeof(*src)) != 0) {
		char ip[32];
		inet_ntop(AF_INET, &src->sin_addr, ip, sizeof(ip));
		fprintf(stderr, "rtpgen: bind %s:%u: %s\n", ip, ntohs(src->sin_port), strerror(errno));
		exit(2);
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) != 0)
		die("connect");
	return fd;
}

static unsigned load_streams(const char *path)
{
	FILE *f = fopen(path, "r");
	char a_src[64], a_dst[64], b_src[64], b_dst[64];
	struct sockaddr_in addr[4];
	unsigned n = 0;

	if (!f)
		die(path);
	legs = calloc(2 * STREAMS_MAX, sizeof(*legs));
	if (!legs)
		die("calloc");
	/* first pass: A legs at 0..n-1; B legs are placed after we know n */
	struct sockaddr_in *b = calloc(2 * STREAMS_MAX, sizeof(*b));
	if (!b)
		die("calloc");
	while (n < STREAMS_MAX && fscanf(f, "%63s %63s %63s %63s", a_src, a_dst, b_src, b_dst) == 4) {
		if (parse_addr(a_src, &addr[0]) || parse_addr(a_dst, &addr[1]) ||
		    parse_addr(b_src, &addr[2]) || parse_addr(b_dst, &addr[3])) {
			fprintf(stderr, "rtpgen: %s line %u: bad address\n", path, n + 1);
			exit(2);
		}
		legs[n].fd = open_leg(&addr[0], &addr[1]);
		b[2 * n] = addr[2];
		b[2 * n + 1] = addr[3];
		n++;
	}
	fclose(f);
	for (unsigned i = 0; i < n; i++)
		legs[n + i].fd = open_leg(&b[2 * i], &b[2 * i + 1]);
	free(b);
	for (unsigned i = 0; i < 2 * n; i++) {
		legs[i].ssrc = 0x5eed0000u + i;
		legs[i].seq = (uint16_t)(i * 7919u);
		legs[i].rtp_ts = i * 160u;
	}
	return n;
}

static double proc_cpu_s(int pid)
{
	char path[64], buf[1024];
	unsigned long utime, stime;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *p = strrchr(buf, ')');
	/* after ")": state(3) ... utime(14) stime(15) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void cpu_lines(unsigned long long busy[2], unsigned long long total[2])
{
	char line[512];
	FILE *f = fopen("/proc/stat", "r");

	busy[0] = busy[1] = total[0] = total[1] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		int cpu;
		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 || cpu < 0 || cpu > 1)
			continue;
		for (int k = 0; k < 8; k++)
			total[cpu] += v[k];
		busy[cpu] = total[cpu] - v[3] - v[4]; /* minus idle and iowait */
	}
	fclose(f);
}

/* Every process's CPU time, to tell how much of the machine others took
 * during the window (processes born and gone within it are missed). */
struct proc_cpu {
	int pid;
	unsigned long long start;
	double cpu_s;
};

struct proc_snapshot {
	struct proc_cpu *p;
	size_t n, cap;
};

static int relay_pid_g;
static int ours[16]; /* -x: our own idle processes, not counted as others */
static int nours;

static void snapshot_procs(struct proc_snapshot *snap, double *softirqd_s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	double tck = (double)sysconf(_SC_CLK_TCK);

	snap->n = 0;
	*softirqd_s = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[64], buf[1024];
		int pid = atoi(e->d_name);
		if (pid <= 0 || pid == relay_pid_g || pid == getpid() || pid == getppid())
			continue;
		int mine = 0;
		for (int k = 0; k < nours; k++)
			mine |= ours[k] == pid;
		if (mine)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *paren = strrchr(buf, ')');
		unsigned long ut, st;
		long cut, cst;
		unsigned long long start;
		if (!paren || sscanf(paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld "
					      "%*d %*d %*d %*d %llu", &ut, &st, &cut, &cst, &start) != 5)
			continue;
		/* children's times would count a whole child at its reaping */
		(void)cut;
		(void)cst;
		double cpu = (double)(ut + st) / tck;
		if (strstr(buf, "(ksoftirqd/")) {
			*softirqd_s += cpu; /* the kernel's share of our packets */
			continue;
		}
		if (snap->n == snap->cap) {
			snap->cap = snap->cap ? 2 * snap->cap : 1024;
			snap->p = realloc(snap->p, snap->cap * sizeof(*snap->p));
			if (!snap->p)
				die("realloc");
		}
		snap->p[snap->n++] = (struct proc_cpu){ pid, start, cpu };
	}
	closedir(d);
}

static int by_pid(const void *a, const void *b)
{
	const struct proc_cpu *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* CPU seconds others used between two snapshots: processes present in both
 * count their difference, new ones all they have. */
static double others_s(struct proc_snapshot *a, struct proc_snapshot *b)
{
	double sum = 0;
	size_t i = 0;

	qsort(a->p, a->n, sizeof(*a->p), by_pid);
	qsort(b->p, b->n, sizeof(*b->p), by_pid);
	for (size_t j = 0; j < b->n; j++) {
		while (i < a->n && a->p[i].pid < b->p[j].pid)
			i++;
		if (i < a->n && a->p[i].pid == b->p[j].pid && a->p[i].start == b->p[j].start)
			sum += b->p[j].cpu_s - a->p[i].cpu_s;
		else
			sum += b->p[j].cpu_s;
	}
	return sum;
}

static struct proc_snapshot snaps[2];

static void sample(struct cpu_sample *s, int relay_pid, int which)
{
	s->relay_s = relay_pid > 0 ? proc_cpu_s(relay_pid) : -1;
	s->self_s = proc_cpu_s(getpid());
	snapshot_procs(&snaps[which], &s->softirqd_s);
	cpu_lines(s->busy, s->total);
}

static double busy_pct(const struct cpu_sample *a, const struct cpu_sample *b, int cpu)
{
	unsigned long long total = b->total[cpu] - a->total[cpu];
	return total ? 100.0 * (double)(b->busy[cpu] - a->busy[cpu]) / (double)total : 0;
}

static double lat_percentile(uint64_t count, double q)
{
	uint64_t want = (uint64_t)((double)count * q), seen = 0;
	for (unsigned i = 0; i < LAT_BUCKETS; i++) {
		seen += lat_hist[i];
		if (seen > want)
			return (double)i;
	}
	return LAT_BUCKETS;
}

static void usage(void)
{
	fprintf(stderr, "usage: rtpgen -f STREAMS -r TOTAL_PPS [-b BURST] [-w WARMUP_S] [-d SECONDS]"
			" [-D DRAIN_MS] [-p RELAY_PID] [-x PID,...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	double rate = 0, warmup_s = 1, dur_s = 3;
	int burst = 1, drain_ms = 300, relay_pid = 0, opt;

	while ((opt = getopt(argc, argv, "f:r:b:w:d:D:p:x:")) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'r': rate = atof(optarg); break;
		case 'b': burst = atoi(optarg); break;
		case 'w': warmup_s = atof(optarg); break;
		case 'd': dur_s = atof(optarg); break;
		case 'D': drain_ms = atoi(optarg); break;
		case 'p': relay_pid = atoi(optarg); break;
		case 'x':
			for (char *t = strtok(optarg, ","); t && nours < 16; t = strtok(NULL, ","))
				ours[nours++] = atoi(t);
			break;
		default: usage();
		}
	}
	if (!file || rate <= 0 || burst < 1 || burst > BURST_MAX || warmup_s < 0 || dur_s <= 0 ||
	    drain_ms < 0 || warmup_s + dur_s + drain_ms / 1000.0 > RUN_MAX_S)
		usage();

	struct rlimit rl = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &rl);
	unsigned n = load_streams(file);
	if (n == 0) {
		fprintf(stderr, "rtpgen: no streams in %s\n", file);
		return 2;
	}
	nlegs = 2 * n;
	relay_pid_g = relay_pid;

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (unsigned i = 0; i < nlegs; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, legs[i].fd, &ev) != 0)
			die("epoll_ctl");
	}

	static uint8_t out[BURST_MAX][PKT_LEN];
	static struct iovec out_iov[BURST_MAX];
	static struct mmsghdr out_msg[BURST_MAX];
	static uint8_t in[RECV_BATCH][PKT_LEN + 64];
	static struct iovec in_iov[RECV_BATCH];
	static struct mmsghdr in_msg[RECV_BATCH];
	for (int k = 0; k < BURST_MAX; k++) {
		out_iov[k] = (struct iovec){ out[k], PKT_LEN };
		out_msg[k].msg_hdr = (struct msghdr){ .msg_iov = &out_iov[k], .msg_iovlen = 1 };
	}
	for (int k = 0; k < RECV_BATCH; k++)
		in_iov[k] = (struct iovec){ in[k], sizeof(in[k]) };

	/* event e: leg e % nlegs sends a burst; events are 1/ev_rate apart */
	double ev_rate = rate / burst;
	uint64_t t0 = now_ns() + 20000000u;
	uint64_t t_meas = t0 + (uint64_t)(warmup_s * 1e9);
	uint64_t t_end = t_meas + (uint64_t)(dur_s * 1e9);
	uint64_t t_stop = t_end + (uint64_t)drain_ms * 1000000u;
	uint64_t ev = 0, sent = 0, sent_fail = 0, recvd = 0, wrong = 0, late_max_ns = 0;
	uint64_t lat_sum_ns = 0, last_poll = 0;
	struct cpu_sample c0 = { 0 }, c1 = { 0 };
	int phase = 0; /* 0 warm-up, 1 measuring, 2 draining */
	struct epoll_event evs[256];

	for (;;) {
		uint64_t now = now_ns();
		if (phase == 0 && now >= t_meas) {
			sample(&c0, relay_pid, 0);
			phase = 1;
		}
		if (phase == 1 && now >= t_end) {
			sample(&c1, relay_pid, 1);
			phase = 2;
		}
		if (now >= t_stop)
			break;
		/* send what is due, at most a bounded number of bursts before
		 * the receive side gets its turn */
		if (phase < 2 && now >= t0) {
			uint64_t due = (uint64_t)((double)(now - t0) * ev_rate / 1e9) + 1;
			for (int guard = 0; ev < due && guard < 128; guard++, ev++) {
				uint64_t ideal = t0 + (uint64_t)((double)ev * 1e9 / ev_rate);
				if (ideal >= t_end)
					break;
				if (now - ideal > late_max_ns && ideal >= t_meas)
					late_max_ns = now - ideal;
				unsigned i = (unsigned)(ev % nlegs);
				struct leg *l = &legs[i];
				uint8_t flag = ideal >= t_meas;
				uint64_t stamp = now_ns();
				for (int k = 0; k < burst; k++) {
					uint8_t *p = out[k];
					p[0] = 0x80;
					p[1] = 0; /* PCMU */
					p[2] = (uint8_t)(l->seq >> 8);
					p[3] = (uint8_t)l->seq;
					uint32_t ts = htonl(l->rtp_ts), ssrc = htonl(l->ssrc);
					memcpy(p + 4, &ts, 4);
					memcpy(p + 8, &ssrc, 4);
					memcpy(p + RTP_HDR, &stamp, 8);
					memcpy(p + RTP_HDR + 8, &i, 4);
					p[RTP_HDR + 12] = flag;
					l->seq++;
					l->rtp_ts += 160;
				}
				int done = 0;
				while (done < burst) {
					int k = sendmmsg(l->fd, out_msg + done, (unsigned)(burst - done), 0);
					if (k <= 0) {
						sent_fail += (unsigned)(burst - done);
						break;
					}
					done += k;
				}
				if (flag)
					sent += (unsigned)done;
			}
		}
		/* receive: wait only when nothing is due soon; poll at most
		 * every POLL_NS while sending, so that the generator's own
		 * syscalls go to the packets (latency is late by up to that) */
		uint64_t next = t0 + (uint64_t)((double)ev * 1e9 / ev_rate);
		int timeout = (phase == 2 || next > now + 2000000u) ? 1 : 0;
		if (timeout == 0 && now - last_poll < POLL_NS)
			continue;
		last_poll = now;
		int ready = epoll_wait(ep, evs, 256, timeout);
		if (ready < 0 && errno != EINTR)
			die("epoll_wait");
		for (int r = 0; r < ready; r++) {
			unsigned i = evs[r].data.u32;
			unsigned peer = (i + n) % nlegs;
			for (int round = 0; round < 8; round++) {
				for (int k = 0; k < RECV_BATCH; k++)
					in_msg[k].msg_hdr = (struct msghdr){ .msg_iov = &in_iov[k], .msg_iovlen = 1 };
				int got = recvmmsg(legs[i].fd, in_msg, RECV_BATCH, MSG_DONTWAIT, NULL);
				if (got <= 0)
					break;
				uint64_t t = now_ns();
				for (int k = 0; k < got; k++) {
					const uint8_t *p = in[k];
					uint64_t stamp;
					uint32_t from;
					if (in_msg[k].msg_len != PKT_LEN || (p[0] >> 6) != 2) {
						wrong++;
						continue;
					}
					memcpy(&stamp, p + RTP_HDR, 8);
					memcpy(&from, p + RTP_HDR + 8, 4);
					if (from != peer) {
						wrong++;
						continue;
					}
					if (!p[RTP_HDR + 12])
						continue;
					recvd++;
					uint64_t lat = t > stamp ? t - stamp : 0;
					lat_sum_ns += lat;
					uint64_t us = lat / 1000u;
					lat_hist[us < LAT_BUCKETS ? us : LAT_BUCKETS - 1]++;
				}
				if (got < RECV_BATCH)
					break;
			}
		}
	}

	double relay_cpu = c0.relay_s >= 0 && c1.relay_s >= 0 ? (c1.relay_s - c0.relay_s) / dur_s * 100 : -1;
	double self_cpu = (c1.self_s - c0.self_s) / dur_s * 100;
	double softirqd_cpu = (c1.softirqd_s - c0.softirqd_s) / dur_s * 100;
	double busy0 = busy_pct(&c0, &c1, 0), busy1 = busy_pct(&c0, &c1, 1);
	/* others: what the process scan saw, or what is left of the two cores'
	 * busy time once ours is taken out (short-lived processes, which the
	 * scan misses), whichever is more */
	double foreign = others_s(&snaps[0], &snaps[1]) / dur_s * 100;
	double unexplained = busy0 + busy1 - self_cpu - softirqd_cpu - (relay_cpu > 0 ? relay_cpu : 0);
	if (unexplained > foreign)
		foreign = unexplained;
	double loss = sent ? 100.0 * (double)(sent > recvd ? sent - recvd : 0) / (double)sent : 100;
	double per_pkt_us = recvd && relay_cpu >= 0 ? (c1.relay_s - c0.relay_s) * 1e6 / (double)recvd : -1;
	printf("streams=%u target_pps=%.0f sent_pps=%.0f relayed_pps=%.0f sent=%llu recvd=%llu "
	       "loss_pct=%.4f wrong=%llu send_fail=%llu relay_cpu_pct=%.1f relay_us_per_pkt=%.2f "
	       "cpu0_busy_pct=%.1f cpu1_busy_pct=%.1f gen_cpu_pct=%.1f softirqd_cpu_pct=%.1f "
	       "foreign_cpu_pct=%.1f lat_avg_us=%.1f lat_p50_us=%.0f lat_p99_us=%.0f lat_p999_us=%.0f "
	       "gen_late_max_ms=%.1f\n",
	       n, rate, (double)sent / dur_s, (double)recvd / dur_s, (unsigned long long)sent,
	       (unsigned long long)recvd, loss, (unsigned long long)wrong, (unsigned long long)sent_fail,
	       relay_cpu, per_pkt_us, busy0, busy1, self_cpu, softirqd_cpu, foreign,
	       recvd ? (double)lat_sum_ns / (double)recvd / 1000 : 0, lat_percentile(recvd, 0.5),
	       lat_percentile(recvd, 0.99), lat_percentile(recvd, 0.999), (double)late_max_ns / 1e6);
	return 0;
}
