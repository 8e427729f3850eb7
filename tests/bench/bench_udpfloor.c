/* bench-udpfloor: the floor of the relayed-call benchmark
 * (tests/bench/call_relay.sh): the least work a media relay does per packet,
 * in a process of its own, so its CPU time can be read from /proc and set
 * against junction's under the same sipp traffic.
 *
 *   bench-udpfloor PORT DEST_PORT   relay until SIGTERM (call_relay.sh)
 *   bench-udpfloor                  self-test: blast packets through it
 *
 * Relay: socket A on 127.0.0.1:PORT faces the callers. The first packet
 * from a new caller address opens a socket B for that caller (any port),
 * which faces the callee at 127.0.0.1:DEST_PORT: caller packets leave
 * through the caller's B, and what the callee sends back to B goes out
 * of A to that caller. That is what a relay must do at least: one
 * recvfrom and one sendto per packet, epoll, no allocation and no copy
 * on the packet path, no RTP parsing. SIGUSR1 prints "packets N", the
 * count relayed so far, on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 8192	/* callers at most; a power of two (hash slots) */
#define SELF_BATCH 16
#define SELF_ROUNDS 20000

typedef struct {
	struct sockaddr_in caller;
	int fd;	/* socket B toward the callee; -1 = free slot */
} floor_peer;

typedef struct {
	int ep, a;
	struct sockaddr_in dest;
	floor_peer peer[MAX_PEERS];
	unsigned npeers;
	unsigned long long packets;
} floor_relay;

static volatile sig_atomic_t want_stop, want_report;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_report = 1;
	else
		want_stop = 1;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void loopback(struct sockaddr_in *sa, unsigned port)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = htons((uint16_t)port);
}

/* A non-blocking UDP socket on 127.0.0.1:port (0 = any); -1 on error. */
static int udp_socket(unsigned port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int sz = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	struct sockaddr_in sa;
	loopback(&sa, port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int watch(floor_relay *r, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int relay_init(floor_relay *r, unsigned port, unsigned dest_port)
{
	memset(r, 0, sizeof *r);
	for (unsigned i = 0; i < MAX_PEERS; i++)
		r->peer[i].fd = -1;
	loopback(&r->dest, dest_port);
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	r->a = udp_socket(port);
	if (r->ep < 0 || r->a < 0 || watch(r, r->a, UINT64_MAX) < 0)
		return errno ? errno : EIO;
	return 0;
}

static void relay_close(floor_relay *r)
{
	for (unsigned i = 0; i < MAX_PEERS; i++)
		if (r->peer[i].fd >= 0)
			close(r->peer[i].fd);
	close(r->a);
	close(r->ep);
}

/* The slot of caller sa: found, or opened with its own socket B. NULL when
 * the table is full or no socket is left (the packet is then dropped). */
static floor_peer *peer_for(floor_relay *r, const struct sockaddr_in *sa)
{
	unsigned h = (ntohl(sa->sin_addr.s_addr) * 2654435761u) ^ ntohs(sa->sin_port);
	for (unsigned n = 0; n < MAX_PEERS; n++) {
		floor_peer *p = &r->peer[(h + n) & (MAX_PEERS - 1)];
		if (p->fd < 0) {
			if (r->npeers + 1 >= MAX_PEERS)
				return NULL;
			p->fd = udp_socket(0);
			if (p->fd < 0 || watch(r, p->fd, (uint64_t)(p - r->peer)) < 0)
				return NULL;
			p->caller = *sa;
			r->npeers++;
			return p;
		}
		if (p->caller.sin_port == sa->sin_port && p->caller.sin_addr.s_addr == sa->sin_addr.s_addr)
			return p;
	}
	return NULL;
}

/* Relays what is queued on the socket that epoll tagged. */
static void relay_ready(floor_relay *r, uint64_t tag)
{
	uint8_t buf[2048];
	struct sockaddr_in from;
	for (;;) {
		socklen_t fl = sizeof from;
		int fd = tag == UINT64_MAX ? r->a : r->peer[tag].fd;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;	/* EAGAIN: drained */
		if (tag == UINT64_MAX) {
			floor_peer *p = peer_for(r, &from);
			if (!p)
				continue;
			sendto(p->fd, buf, (size_t)n, 0, (struct sockaddr *)&r->dest, sizeof r->dest);
		} else {
			floor_peer *p = &r->peer[tag];
			sendto(r->a, buf, (size_t)n, 0, (struct sockaddr *)&p->caller, sizeof p->caller);
		}
		r->packets++;
	}
}

/* Waits up to timeout_ms and relays whatever became readable. */
static void relay_poll(floor_relay *r, int timeout_ms)
{
	struct epoll_event ev[64];
	int n = epoll_wait(r->ep, ev, 64, timeout_ms);
	for (int i = 0; i < n; i++)
		relay_ready(r, ev[i].data.u64);
}

static int relay_main(unsigned port, unsigned dest_port)
{
	static floor_relay r;	/* 200 KiB: off the stack */
	int err = relay_init(&r, port, dest_port);
	if (err) {
		fprintf(stderr, "bench-udpfloor: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(err));
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	printf("ready %u\n", port);
	fflush(stdout);
	while (!want_stop) {
		relay_poll(&r, 200);
		if (want_report) {
			want_report = 0;
			printf("packets %llu callers %u\n", r.packets, r.npeers);
			fflush(stdout);
		}
	}
	printf("packets %llu callers %u\n", r.packets, r.npeers);
	relay_close(&r);
	return 0;
}

/* Self-test for `make bench`: a caller and a callee socket in this process
 * push SELF_BATCH packets at a time through the relay (the callee echoes
 * each back); CPU time per relayed packet, both ends included. */
static int self_test(void)
{
	static floor_relay r;
	int caller = udp_socket(0), callee = udp_socket(0);
	struct sockaddr_in ce, ra;
	socklen_t l = sizeof ce;
	if (caller < 0 || callee < 0 || getsockname(callee, (struct sockaddr *)&ce, &l) < 0)
		return 1;
	if (relay_init(&r, 0, ntohs(ce.sin_port)))
		return 1;
	l = sizeof ra;
	getsockname(r.a, (struct sockaddr *)&ra, &l);
	uint8_t pkt[172] = { 0x80, 0 };
	unsigned long long back = 0;
	double t0 = cpu_now();
	for (unsigned round = 0; round < SELF_ROUNDS; round++) {
		for (unsigned i = 0; i < SELF_BATCH; i++)
			sendto(caller, pkt, sizeof pkt, 0, (struct sockaddr *)&ra, sizeof ra);
		unsigned long long want = back + SELF_BATCH;
		while (back < want) {
			relay_poll(&r, 100);
			uint8_t buf[2048];
			struct sockaddr_in from;
			socklen_t fl = sizeof from;
			ssize_t n;
			while ((n = recvfrom(callee, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) > 0) {
				sendto(callee, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
				fl = sizeof from;
			}
			while (recv(caller, buf, sizeof buf, 0) > 0)
				back++;
		}
	}
	double dt = cpu_now() - t0;
	unsigned long long relayed = r.packets;
	relay_close(&r);
	close(caller);
	close(callee);
	if (relayed < 2ull * SELF_ROUNDS * SELF_BATCH) {
		fprintf(stderr, "bench-udpfloor: relayed %llu packets, expected %u\n", relayed,
			2u * SELF_ROUNDS * SELF_BATCH);
		return 1;
	}
	printf("bench: udpfloor_relay_per_packet %.0f ns (both ends in process)\n", dt / relayed * 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return self_test();
	if (argc != 3) {
		fprintf(stderr, "usage: bench-udpfloor [PORT DEST_PORT]\n");
		return 2;
	}
	unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
	unsigned dest = (unsigned)strtoul(argv[2], NULL, 10);
	if (!port || port > 65535 || !dest || dest > 65535) {
		fprintf(stderr, "bench-udpfloor: bad port\n");
		return 2;
	}
	return relay_main(port, dest);
}
