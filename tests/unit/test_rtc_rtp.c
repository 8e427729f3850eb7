/* rtc_rtp tests: two legs over loopback, plain and SDES-SRTP (both
 * suites), RTCP reports, latching onto a new source, foreign and bad
 * packets dropped and counted, port ranges, a=crypto parsing, echo mode,
 * hold (sends dropped, sequence numbers continuous after it). */
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/rtp.h"
#include "util/net.h"
#include "webrtc/rtc_rtp.h"

typedef struct {
	unsigned n;
	uint16_t last_seq;
	uint32_t last_ssrc;
	uint8_t last_payload[160];
	size_t last_payload_len;
	size_t cap;
} rx_log;

static void on_rx(void *user, uint8_t *buf, size_t len, size_t cap)
{
	rx_log *l = user;
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(buf, len, &h), ==, 0);
	l->n++;
	l->last_seq = h.seq;
	l->last_ssrc = h.ssrc;
	l->last_payload_len = MIN(h.payload_len, sizeof l->last_payload);
	memcpy(l->last_payload, h.payload, l->last_payload_len);
	l->cap = cap;
}

static rtc_rtp *leg(rx_log *log, bool latching, bool mux)
{
	rtc_rtp_opts o = { .address = "127.0.0.1", .rtcp_mux = mux, .latching = latching,
			   .rtcp_interval_ms = 30, .id = "t", .rtp = on_rx, .user = log };
	rtc_rtp *r = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_rtp_new(&o, &r, &err), ==, 0);
	g_assert_null(err);
	return r;
}

static jn_addr lo_addr(uint16_t port)
{
	jn_addr a;
	g_assert_cmpint(jn_addr_parse("127.0.0.1", port, &a), ==, 0);
	return a;
}

static void connect_legs(rtc_rtp *a, rtc_rtp *b, bool mux)
{
	jn_addr pa = lo_addr(rtc_rtp_local_port(a)), pb = lo_addr(rtc_rtp_local_port(b));
	g_assert_cmpint(rtc_rtp_set_remote(a, &pb, NULL, mux), ==, 0);
	g_assert_cmpint(rtc_rtp_set_remote(b, &pa, NULL, mux), ==, 0);
}

static size_t make_pkt(uint8_t *buf, uint16_t seq, uint32_t ssrc, uint8_t fill)
{
	size_t n = rtp_write_header(buf, RTC_RTP_BUF, 0, false, seq, seq * 160u, ssrc);
	memset(buf + n, fill, 160);
	return n + 160;
}

/* Runs the default context until *counter reaches want (or 2 s pass). */
static void run_until(const unsigned *counter, unsigned want)
{
	gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (*counter < want && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(200);
}

static void run_for_ms(unsigned ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;
	while (g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(200);
}

static void exchange(rtc_rtp *a, rx_log *la, rtc_rtp *b, rx_log *lb, unsigned count)
{
	uint8_t buf[RTC_RTP_BUF];
	unsigned a0 = la->n, b0 = lb->n;
	for (unsigned i = 0; i < count; i++) {
		size_t n = make_pkt(buf, (uint16_t)(100 + i), 0x1111, (uint8_t)i);
		g_assert_cmpint(rtc_rtp_send(a, buf, n, sizeof buf), ==, 0);
		n = make_pkt(buf, (uint16_t)(500 + i), 0x2222, (uint8_t)(0x80 + i));
		g_assert_cmpint(rtc_rtp_send(b, buf, n, sizeof buf), ==, 0);
		run_until(&lb->n, b0 + i + 1);
		run_until(&la->n, a0 + i + 1);
	}
	g_assert_cmpuint(lb->n, ==, b0 + count);
	g_assert_cmpuint(la->n, ==, a0 + count);
	g_assert_cmpuint(lb->last_ssrc, ==, 0x1111);
	g_assert_cmpuint(lb->last_seq, ==, 100 + count - 1);
	g_assert_cmpuint(la->last_ssrc, ==, 0x2222);
	g_assert_cmpuint(lb->last_payload_len, ==, 160);
	g_assert_cmpuint(lb->last_payload[0], ==, (uint8_t)(count - 1));
	g_assert_cmpuint(la->last_payload[159], ==, (uint8_t)(0x80 + count - 1));
	g_assert_cmpuint(la->cap, ==, RTC_RTP_BUF);
}

static void test_plain(void)
{
	/* Modes: a socket pair; one socket (mux known up front); a pair bound
	 * but rtcp-mux negotiated afterwards. */
	for (int mode = 0; mode < 3; mode++) {
		bool mux = mode > 0;
		rx_log la = { 0 }, lb = { 0 };
		rtc_rtp *a = leg(&la, false, mode == 1), *b = leg(&lb, false, mode == 1);
		if (mode != 1)
			g_assert_cmpuint(rtc_rtp_local_port(a) % 2, ==, 0);
		uint8_t buf[RTC_RTP_BUF];
		size_t n = make_pkt(buf, 1, 1, 0);
		g_assert_cmpint(rtc_rtp_send(a, buf, n, sizeof buf), ==, EAGAIN);
		connect_legs(a, b, mux);
		exchange(a, &la, b, &lb, 20);
		/* RTCP both ways (every 30 ms here): SR with a report block. */
		rtc_rtp_stats sa, sb;
		gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
		do {
			run_for_ms(10);
			rtc_rtp_get_stats(a, &sa);
			rtc_rtp_get_stats(b, &sb);
		} while ((sa.rtcp_in == 0 || sb.rtcp_in == 0) && g_get_monotonic_time() < end);
		g_assert_cmpuint(sa.rtcp_in, >, 0);
		g_assert_cmpuint(sb.rtcp_in, >, 0);
		g_assert_cmpuint(sa.rtp_out, ==, 20);
		g_assert_cmpuint(sb.rtp_in, ==, 20);
		g_assert_cmpint(sb.lost, ==, 0);
		g_assert_cmpuint(sb.remote_ssrc, ==, 0x1111);
		g_assert_cmpuint(sb.bad_in + sb.srtp_errors + sb.foreign_in, ==, 0);
		g_assert_false(sb.srtp);
		rtc_rtp_free(a);
		rtc_rtp_free(b);
	}
}

static void key_legs(rtc_rtp *a, rtc_rtp *b, rtc_rtp_suite suite)
{
	char offer[2][128], lb[128];
	unsigned tag = 0;
	rtc_rtp_suite s = RTC_RTP_SUITE_NONE;
	/* a offers both suites (tags 1 and 2), b answers the one asked for
	 * with the same tag. */
	g_assert_cmpint(rtc_rtp_crypto_local(a, 1, RTC_RTP_AES_CM_128_HMAC_SHA1_80, offer[0], 128), ==, 0);
	g_assert_cmpint(rtc_rtp_crypto_local(a, 2, RTC_RTP_AES_CM_128_HMAC_SHA1_32, offer[1], 128), ==, 0);
	g_assert_true(g_str_has_prefix(offer[0], "1 AES_CM_128_HMAC_SHA1_80 inline:"));
	g_assert_true(g_str_has_prefix(offer[1], "2 AES_CM_128_HMAC_SHA1_32 inline:"));
	const char *pick = offer[suite == RTC_RTP_AES_CM_128_HMAC_SHA1_80 ? 0 : 1];
	g_assert_cmpint(rtc_rtp_crypto_remote(b, pick, &tag, &s), ==, 0);
	g_assert_cmpuint(tag, ==, suite == RTC_RTP_AES_CM_128_HMAC_SHA1_80 ? 1 : 2);
	g_assert_cmpint(s, ==, suite);
	g_assert_cmpint(rtc_rtp_crypto_local(b, tag, s, lb, sizeof lb), ==, 0);
	g_assert_cmpstr(strstr(pick, "inline:"), !=, strstr(lb, "inline:")); /* own keys */
	g_assert_cmpint(rtc_rtp_crypto_remote(a, lb, NULL, NULL), ==, 0);
}

static void test_srtp(void)
{
	rtc_rtp_suite suites[] = { RTC_RTP_AES_CM_128_HMAC_SHA1_80, RTC_RTP_AES_CM_128_HMAC_SHA1_32 };
	for (unsigned i = 0; i < G_N_ELEMENTS(suites); i++) {
		rx_log la = { 0 }, lb = { 0 };
		rtc_rtp *a = leg(&la, false, false), *b = leg(&lb, false, false);
		key_legs(a, b, suites[i]);
		connect_legs(a, b, false);
		exchange(a, &la, b, &lb, 10);
		rtc_rtp_stats sb;
		run_for_ms(100); /* SRTCP */
		rtc_rtp_get_stats(b, &sb);
		g_assert_true(sb.srtp);
		g_assert_cmpuint(sb.rtcp_in, >, 0);
		g_assert_cmpuint(sb.srtp_errors, ==, 0);

		/* A plain packet (or one under another key) to an SRTP leg is
		 * dropped and counted. */
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		jn_addr to = lo_addr(rtc_rtp_local_port(b));
		uint8_t buf[RTC_RTP_BUF];
		size_t n = make_pkt(buf, 999, 0x1111, 7);
		g_assert_cmpint(sendto(fd, buf, n, 0, (struct sockaddr *)&to.ss, to.len), ==, (ssize_t)n);
		rtc_rtp_stats before = sb;
		gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
		do {
			run_for_ms(5);
			rtc_rtp_get_stats(b, &sb);
		} while (sb.srtp_errors == before.srtp_errors && g_get_monotonic_time() < end);
		g_assert_cmpuint(sb.srtp_errors, ==, before.srtp_errors + 1);
		g_assert_cmpuint(sb.rtp_in, ==, before.rtp_in);
		g_assert_cmpuint(lb.n, ==, 10);
		/* A re-INVITE without a=crypto: back to plain both ways. */
		rtc_rtp_crypto_off(a);
		rtc_rtp_crypto_off(b);
		exchange(a, &la, b, &lb, 3);
		rtc_rtp_get_stats(b, &sb);
		g_assert_false(sb.srtp);
		close(fd);
		rtc_rtp_free(a);
		rtc_rtp_free(b);
	}
}

static int phone(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	jn_addr a = lo_addr(0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a.ss, a.len), ==, 0);
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void phone_send(int fd, rtc_rtp *to, uint16_t seq, uint32_t ssrc)
{
	uint8_t buf[RTC_RTP_BUF];
	size_t n = make_pkt(buf, seq, ssrc, 1);
	jn_addr a = lo_addr(rtc_rtp_local_port(to));
	g_assert_cmpint(sendto(fd, buf, n, 0, (struct sockaddr *)&a.ss, a.len), ==, (ssize_t)n);
}

static void test_latching(void)
{
	rx_log la = { 0 }, lb = { 0 };
	rtc_rtp *a = leg(&la, false, false), *b = leg(&lb, true, false);
	connect_legs(a, b, false);
	exchange(a, &la, b, &lb, 3);

	/* The same SSRC from a new address (NAT rebinding): b follows it. */
	uint16_t p1;
	int f1 = phone(&p1);
	phone_send(f1, b, 200, 0x1111);
	run_until(&lb.n, 4);
	g_assert_cmpuint(lb.n, ==, 4);
	g_assert_cmpuint(jn_addr_port(rtc_rtp_remote(b)), ==, p1);
	rtc_rtp_stats sb;
	rtc_rtp_get_stats(b, &sb);
	g_assert_cmpuint(sb.latch_moves, ==, 1); /* the SDP address latched first: no move */

	/* What b sends now goes to the new source. */
	uint8_t buf[RTC_RTP_BUF];
	size_t n = make_pkt(buf, 7, 0x2222, 3);
	g_assert_cmpint(rtc_rtp_send(b, buf, n, sizeof buf), ==, 0);
	uint8_t in[2000];
	ssize_t got = -1;
	for (int i = 0; i < 200 && got < 0; i++) {
		got = recv(f1, in, sizeof in, MSG_DONTWAIT);
		if (got < 0)
			g_usleep(1000);
	}
	g_assert_cmpint(got, ==, (ssize_t)n);

	/* Another SSRC from a third address while the source is live: foreign. */
	uint16_t p2;
	int f2 = phone(&p2);
	phone_send(f2, b, 1, 0x3333);
	gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	do {
		run_for_ms(5);
		rtc_rtp_get_stats(b, &sb);
	} while (sb.foreign_in == 0 && g_get_monotonic_time() < end);
	g_assert_cmpuint(sb.foreign_in, ==, 1);
	g_assert_cmpuint(lb.n, ==, 4);
	g_assert_cmpuint(jn_addr_port(rtc_rtp_remote(b)), ==, p1);

	/* A re-INVITE with a new address restarts latching. */
	jn_addr na = lo_addr(p2);
	g_assert_cmpint(rtc_rtp_set_remote(b, &na, NULL, false), ==, 0);
	g_assert_cmpuint(jn_addr_port(rtc_rtp_remote(b)), ==, p2);
	close(f1);
	close(f2);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
}

static void test_bad_packets(void)
{
	rx_log lb = { 0 };
	rtc_rtp *b = leg(&lb, false, false);
	uint16_t p;
	int f = phone(&p);
	jn_addr to = lo_addr(rtc_rtp_local_port(b));
	const uint8_t junk[] = "hello";
	const uint8_t shortrtp[] = { 0x80, 0x00, 0x00, 0x01, 0x00 };
	const uint8_t badcsrc[] = { 0x8f, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
	const uint8_t *pk[] = { junk, shortrtp, badcsrc };
	size_t len[] = { 5, sizeof shortrtp, sizeof badcsrc };
	for (unsigned i = 0; i < 3; i++)
		g_assert_cmpint(sendto(f, pk[i], len[i], 0, (struct sockaddr *)&to.ss, to.len), ==,
				(ssize_t)len[i]);
	/* RTP on the RTCP port is wrong too. */
	jn_addr rtcp = lo_addr((uint16_t)(rtc_rtp_local_port(b) + 1));
	uint8_t buf[RTC_RTP_BUF];
	size_t n = make_pkt(buf, 1, 5, 0);
	g_assert_cmpint(sendto(f, buf, n, 0, (struct sockaddr *)&rtcp.ss, rtcp.len), ==, (ssize_t)n);
	/* Longer than our buffer: it would be cut short. */
	static uint8_t big[1600];
	rtp_write_header(big, sizeof big, 0, false, 1, 1, 5);
	g_assert_cmpint(sendto(f, big, sizeof big, 0, (struct sockaddr *)&to.ss, to.len), ==, (ssize_t)sizeof big);
	rtc_rtp_stats sb;
	gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	do {
		run_for_ms(5);
		rtc_rtp_get_stats(b, &sb);
	} while (sb.bad_in < 5 && g_get_monotonic_time() < end);
	g_assert_cmpuint(sb.bad_in, ==, 5);
	g_assert_cmpuint(sb.rtp_in, ==, 0);
	g_assert_cmpuint(lb.n, ==, 0);
	/* A good one still goes through. */
	phone_send(f, b, 1, 9);
	run_until(&lb.n, 1);
	g_assert_cmpuint(lb.n, ==, 1);
	close(f);
	rtc_rtp_free(b);
}

static void test_port_range(void)
{
	/* Find a free even pair, then ask for exactly that range twice. */
	rx_log l = { 0 };
	rtc_rtp *probe = leg(&l, false, false);
	unsigned port = rtc_rtp_local_port(probe);
	rtc_rtp_free(probe);
	rtc_rtp_opts o = { .address = "127.0.0.1", .port_min = port, .port_max = port + 1, .id = "t" };
	rtc_rtp *r1 = NULL, *r2 = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_rtp_new(&o, &r1, &err), ==, 0);
	g_assert_cmpuint(rtc_rtp_local_port(r1), ==, port);
	g_assert_cmpint(rtc_rtp_new(&o, &r2, &err), ==, EADDRINUSE);
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err, "no free rtp port"));
	g_free(err);
	err = NULL;
	o.address = "not-an-ip";
	g_assert_cmpint(rtc_rtp_new(&o, &r2, &err), ==, EINVAL);
	g_free(err);
	rtc_rtp_free(r1);
}

static void test_crypto_lines(void)
{
	rx_log l = { 0 };
	rtc_rtp *r = leg(&l, false, false);
	const char *key = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
	char line[160];
	unsigned tag;
	rtc_rtp_suite s;
	snprintf(line, sizeof line, "3 AES_CM_128_HMAC_SHA1_32 %s|2^20", key);
	g_assert_cmpint(rtc_rtp_crypto_remote(r, line, &tag, &s), ==, 0);
	g_assert_cmpuint(tag, ==, 3);
	g_assert_cmpint(s, ==, RTC_RTP_AES_CM_128_HMAC_SHA1_32);
	snprintf(line, sizeof line, "1 AES_256_CM_HMAC_SHA1_80 %s", key);
	g_assert_cmpint(rtc_rtp_crypto_remote(r, line, NULL, NULL), ==, ENOTSUP);
	snprintf(line, sizeof line, "1 AES_CM_128_HMAC_SHA1_80 %s|2^20|1:4", key);
	g_assert_cmpint(rtc_rtp_crypto_remote(r, line, NULL, NULL), ==, ENOTSUP);
	snprintf(line, sizeof line, "1 AES_CM_128_HMAC_SHA1_80 %s UNENCRYPTED_SRTP", key);
	g_assert_cmpint(rtc_rtp_crypto_remote(r, line, NULL, NULL), ==, ENOTSUP);
	g_assert_cmpint(rtc_rtp_crypto_remote(r, "1 AES_CM_128_HMAC_SHA1_80 inline:abc", NULL, NULL), ==,
			EINVAL);
	g_assert_cmpint(rtc_rtp_crypto_remote(r, "x AES_CM_128_HMAC_SHA1_80", NULL, NULL), ==, EINVAL);
	g_assert_cmpint(rtc_rtp_crypto_remote(r, "", NULL, NULL), ==, EINVAL);
	g_assert_cmpint(rtc_rtp_crypto_local(r, 1, RTC_RTP_SUITE_NONE, line, sizeof line), ==, EINVAL);
	g_assert_cmpint(rtc_rtp_crypto_local(r, 3, RTC_RTP_AES_CM_128_HMAC_SHA1_32, line, 10), ==, ENOSPC);
	/* One key per suite, kept across calls (a re-offer repeats it). */
	char l80[128], l32[128], again[128];
	g_assert_cmpint(rtc_rtp_crypto_local(r, 1, RTC_RTP_AES_CM_128_HMAC_SHA1_80, l80, sizeof l80), ==, 0);
	g_assert_cmpint(rtc_rtp_crypto_local(r, 2, RTC_RTP_AES_CM_128_HMAC_SHA1_32, l32, sizeof l32), ==, 0);
	g_assert_cmpint(rtc_rtp_crypto_local(r, 1, RTC_RTP_AES_CM_128_HMAC_SHA1_80, again, sizeof again), ==, 0);
	g_assert_cmpstr(l80, ==, again);
	g_assert_cmpstr(strstr(l80, "inline:"), !=, strstr(l32, "inline:"));
	rtc_rtp_free(r);
}

/* IPv6 loopback, with latching (RTCP checked against the latched host). */
static void test_ipv6(void)
{
	rx_log la = { 0 }, lb = { 0 };
	rtc_rtp_opts o = { .address = "::1", .latching = true, .rtcp_interval_ms = 30, .id = "t6", .rtp = on_rx };
	rtc_rtp *a = NULL, *b = NULL;
	char *err = NULL;
	o.user = &la;
	int rc = rtc_rtp_new(&o, &a, &err);
	if (rc == EADDRNOTAVAIL || rc == EAFNOSUPPORT) {
		g_test_skip("this machine has no IPv6 loopback");
		g_free(err);
		return;
	}
	g_assert_cmpint(rc, ==, 0);
	o.user = &lb;
	g_assert_cmpint(rtc_rtp_new(&o, &b, &err), ==, 0);
	jn_addr pa, pb, v4;
	g_assert_cmpint(jn_addr_parse("[::1]", rtc_rtp_local_port(a), &pa), ==, 0);
	g_assert_cmpint(jn_addr_parse("[::1]", rtc_rtp_local_port(b), &pb), ==, 0);
	v4 = lo_addr(rtc_rtp_local_port(b));
	g_assert_cmpint(rtc_rtp_set_remote(a, &v4, NULL, false), ==, EINVAL); /* wrong family */
	g_assert_cmpint(rtc_rtp_set_remote(a, &pb, NULL, false), ==, 0);
	g_assert_cmpint(rtc_rtp_set_remote(b, &pa, NULL, false), ==, 0);
	exchange(a, &la, b, &lb, 5);
	rtc_rtp_stats sb;
	gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	do {
		run_for_ms(10);
		rtc_rtp_get_stats(b, &sb);
	} while (sb.rtcp_in == 0 && g_get_monotonic_time() < end);
	g_assert_cmpuint(sb.rtcp_in, >, 0);
	g_assert_cmpuint(sb.foreign_in, ==, 0);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
}

/* Echo mode: what b sends comes back from a under a's own SSRC, with the
 * same sequence numbers and payload, plain and with SDES; a's receive
 * callback sees nothing. Echo off: a receives again and echoes nothing. */
static void test_echo(void)
{
	for (int srtp = 0; srtp < 2; srtp++) {
		rx_log la = { 0 }, lb = { 0 };
		rtc_rtp *a = leg(&la, true, false), *b = leg(&lb, false, false);
		if (srtp)
			key_legs(b, a, RTC_RTP_AES_CM_128_HMAC_SHA1_80);
		connect_legs(a, b, false);
		rtc_rtp_set_echo(a, true);
		uint8_t buf[RTC_RTP_BUF];
		for (unsigned i = 0; i < 20; i++) {
			size_t n = make_pkt(buf, (uint16_t)(500 + i), 0x2222, (uint8_t)(0x40 + i));
			g_assert_cmpint(rtc_rtp_send(b, buf, n, sizeof buf), ==, 0);
			run_until(&lb.n, i + 1);
		}
		g_assert_cmpuint(lb.n, ==, 20);
		g_assert_cmpuint(la.n, ==, 0);
		g_assert_cmpuint(lb.last_ssrc, !=, 0x2222);
		g_assert_cmpuint(lb.last_ssrc, !=, 0);
		g_assert_cmpuint(lb.last_seq, ==, 519);
		g_assert_cmpuint(lb.last_payload_len, ==, 160);
		g_assert_cmpuint(lb.last_payload[0], ==, 0x40 + 19);
		rtc_rtp_stats sa, sb;
		rtc_rtp_get_stats(a, &sa);
		rtc_rtp_get_stats(b, &sb);
		g_assert_cmpuint(sa.rtp_in, ==, 20);
		g_assert_cmpuint(sa.rtp_out, ==, 20);
		g_assert_cmpuint(sb.srtp_errors + sa.srtp_errors, ==, 0);
		g_assert_cmpint(sb.srtp, ==, srtp);

		rtc_rtp_set_echo(a, false);
		size_t n = make_pkt(buf, 520, 0x2222, 1);
		g_assert_cmpint(rtc_rtp_send(b, buf, n, sizeof buf), ==, 0);
		run_until(&la.n, 1);
		g_assert_cmpuint(la.n, ==, 1);
		run_for_ms(20);
		g_assert_cmpuint(lb.n, ==, 20);
		rtc_rtp_free(a);
		rtc_rtp_free(b);
	}
}

/* Held (rtc_rtp_set_send false): sends are dropped, counted and return
 * 0; RTCP goes on. After the hold the sequence numbers on the wire go on
 * from the last one sent though the sender jumped by 40000, and SRTP takes
 * them (plain and SDES). */
static void test_hold(void)
{
	for (int srtp = 0; srtp < 2; srtp++) {
		rx_log la = { 0 }, lb = { 0 };
		rtc_rtp *a = leg(&la, false, false), *b = leg(&lb, false, false);
		if (srtp)
			key_legs(a, b, RTC_RTP_AES_CM_128_HMAC_SHA1_80);
		connect_legs(a, b, false);
		uint8_t buf[RTC_RTP_BUF];
		for (unsigned i = 0; i < 10; i++) {
			size_t n = make_pkt(buf, (uint16_t)(100 + i), 0x1111, 1);
			g_assert_cmpint(rtc_rtp_send(a, buf, n, sizeof buf), ==, 0);
			run_until(&lb.n, i + 1);
		}
		g_assert_cmpuint(lb.last_seq, ==, 109);
		rtc_rtp_set_send(a, false);
		for (unsigned i = 0; i < 10; i++) {
			size_t n = make_pkt(buf, (uint16_t)(110 + i), 0x1111, 2);
			g_assert_cmpint(rtc_rtp_send(a, buf, n, sizeof buf), ==, 0);
		}
		run_for_ms(50);
		g_assert_cmpuint(lb.n, ==, 10);
		rtc_rtp_set_send(a, true);
		for (unsigned i = 0; i < 10; i++) {
			size_t n = make_pkt(buf, (uint16_t)(40120 + i), 0x1111, 3);
			g_assert_cmpint(rtc_rtp_send(a, buf, n, sizeof buf), ==, 0);
			run_until(&lb.n, 11 + i);
		}
		g_assert_cmpuint(lb.n, ==, 20);
		g_assert_cmpuint(lb.last_seq, ==, 119);
		g_assert_cmpuint(lb.last_payload[0], ==, 3);
		rtc_rtp_stats sa, sb;
		rtc_rtp_get_stats(a, &sa);
		rtc_rtp_get_stats(b, &sb);
		g_assert_cmpuint(sa.held, ==, 10);
		g_assert_cmpuint(sa.rtp_out, ==, 20);
		g_assert_cmpuint(sb.srtp_errors + sb.bad_in, ==, 0);
		g_assert_cmpint(sb.lost, ==, 0);
		rtc_rtp_free(a);
		rtc_rtp_free(b);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc_rtp/plain", test_plain);
	g_test_add_func("/rtc_rtp/srtp", test_srtp);
	g_test_add_func("/rtc_rtp/latching", test_latching);
	g_test_add_func("/rtc_rtp/bad_packets", test_bad_packets);
	g_test_add_func("/rtc_rtp/port_range", test_port_range);
	g_test_add_func("/rtc_rtp/crypto_lines", test_crypto_lines);
	g_test_add_func("/rtc_rtp/ipv6", test_ipv6);
	g_test_add_func("/rtc_rtp/echo", test_echo);
	g_test_add_func("/rtc_rtp/hold", test_hold);
	return g_test_run();
}
