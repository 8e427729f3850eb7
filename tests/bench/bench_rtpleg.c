/* bench-rtpleg: the relay path of a SIP-to-SIP call.
 *
 * phone1 -> leg A (rtc_rtp: recv, parse, latch, stats) -> jn_mbridge
 * (media_bridge relay: rewrite SSRC/seq/ts) -> leg B (rtc_rtp: send) ->
 * phone2, all over loopback in this process, driven by the GLib context.
 * The floor, measured in the same run, is the same hop done by hand: one
 * plain UDP socket that receives from phone1 and one that sends to phone2
 * (recvfrom + sendto per packet, no GLib). The phones' own send and
 * receive are in both measurements. A third run relays into an SRTP leg
 * (one protect per packet) for scale. CPU time is process CPU time. */
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/rtp.h"
#include "server/mbridge.h"
#include "util/net.h"
#include "webrtc/rtc_rtp.h"

#define BATCH 16
#define ROUNDS 4000
#define PAYLOAD 160

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int udp(struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int sz = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)a, sizeof *a);
	socklen_t l = sizeof *a;
	getsockname(fd, (struct sockaddr *)a, &l);
	return fd;
}

static size_t make_packet(uint8_t *buf, uint16_t seq)
{
	size_t n = rtp_write_header(buf, 1500, 0, false, seq, seq * 160u, 0x1234);
	memset(buf + n, 0x55, PAYLOAD);
	return n + PAYLOAD;
}

/* Receives what is queued on fd; returns the count. */
static unsigned drain(int fd)
{
	uint8_t buf[2000];
	unsigned n = 0;
	while (recv(fd, buf, sizeof buf, 0) > 0)
		n++;
	return n;
}

static double floor_run(void)
{
	struct sockaddr_in a1, a2, s1, s2;
	int p1 = udp(&a1), p2 = udp(&a2), f1 = udp(&s1), f2 = udp(&s2);
	uint8_t pkt[2000];
	uint16_t seq = 0;
	unsigned got = 0;
	double t0 = cpu_now();
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < BATCH; i++) {
			size_t n = make_packet(pkt, seq++);
			sendto(p1, pkt, n, 0, (struct sockaddr *)&s1, sizeof s1);
		}
		unsigned hop = 0;
		while (hop < BATCH) {
			ssize_t n = recv(f1, pkt, sizeof pkt, 0);
			if (n < 0)
				continue;
			sendto(f2, pkt, (size_t)n, 0, (struct sockaddr *)&a2, sizeof a2);
			hop++;
		}
		unsigned want = got + BATCH;
		while (got < want)
			got += drain(p2);
	}
	double dt = cpu_now() - t0;
	close(p1), close(p2), close(f1), close(f2);
	return dt / got;
}

static double relay_run(bool srtp)
{
	struct sockaddr_in a1, a2;
	int p1 = udp(&a1), p2 = udp(&a2);
	rtc_rtp_opts o = { .address = "127.0.0.1", .id = "bench" };
	rtc_rtp *la = NULL, *lb = NULL;
	char *err = NULL;
	if (rtc_rtp_new(&o, &la, &err) || rtc_rtp_new(&o, &lb, &err)) {
		fprintf(stderr, "rtc_rtp_new: %s\n", err);
		return 0;
	}
	jn_addr r1, r2;
	jn_addr_parse("127.0.0.1", ntohs(a1.sin_port), &r1);
	jn_addr_parse("127.0.0.1", ntohs(a2.sin_port), &r2);
	rtc_rtp_set_remote(la, &r1, NULL, false);
	rtc_rtp_set_remote(lb, &r2, NULL, false);
	if (srtp) {
		/* B protects what it sends (keyed with its own key as the peer's). */
		char line[128];
		rtc_rtp_crypto_local(lb, 1, RTC_RTP_AES_CM_128_HMAC_SHA1_80, line, sizeof line);
		rtc_rtp_crypto_remote(lb, line, NULL, NULL);
	}
	media_bridge_leg s0 = { .codec = "PCMU", .pt = 0, .te_pt = -1, .cn_pt = -1, .ssrc = 1, .complexity = -1 };
	media_bridge_leg s1 = s0;
	s1.ssrc = 2;
	jn_mbridge_opts bo = { .id = "bench", .side = { s0, s1 } };
	jn_mbridge *br = NULL;
	if (jn_mbridge_new(&bo, &br)) {
		fprintf(stderr, "jn_mbridge_new failed\n");
		return 0;
	}
	jn_mbridge_attach_rtp(br, 0, la);
	jn_mbridge_attach_rtp(br, 1, lb);
	struct sockaddr_in to;
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(rtc_rtp_local_port(la));

	uint8_t pkt[2000];
	uint16_t seq = 0;
	unsigned got = 0;
	double t0 = cpu_now();
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < BATCH; i++) {
			size_t n = make_packet(pkt, seq++);
			sendto(p1, pkt, n, 0, (struct sockaddr *)&to, sizeof to);
		}
		unsigned want = got + BATCH;
		while (got < want) {
			g_main_context_iteration(NULL, FALSE);
			got += drain(p2);
		}
	}
	double dt = cpu_now() - t0;
	jn_mbridge_stats st;
	jn_mbridge_get_stats(br, &st);
	if (!st.relay || st.decoded[0])
		fprintf(stderr, "bench-rtpleg: expected a relay\n");
	jn_mbridge_free(br);
	rtc_rtp_free(la);
	rtc_rtp_free(lb);
	close(p1), close(p2);
	return dt / got;
}

int main(void)
{
	/* Warm up both paths, then measure. */
	floor_run();
	relay_run(false);
	double fl = floor_run();
	double rl = relay_run(false);
	double rs = relay_run(true);
	if (fl <= 0 || rl <= 0 || rs <= 0)
		return 1;
	printf("bench: rtp_udp_floor_per_packet %.0f ns\n", fl * 1e9);
	printf("bench: rtp_relay_per_packet %.0f ns\n", rl * 1e9);
	printf("bench: rtp_relay_into_srtp_per_packet %.0f ns\n", rs * 1e9);
	printf("ratio: rtp_relay_vs_udp_floor %.2f (goal <= 2)\n", rl / fl);
	return 0;
}
