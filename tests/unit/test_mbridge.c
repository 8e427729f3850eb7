/* mbridge tests: two rtc_rtp legs A and B and two plain UDP "phones" over
 * loopback. Transcode: phone1 sends a PCMU 1 kHz tone to A, phone2 (PCMA
 * or Opus) hears 1 kHz at B. Relay: payload bytes arrive unchanged and nothing was
 * decoded. Media timeout reaches the core. */
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/codec.h"
#include "media/dtmf.h"
#include "media/rtp.h"
#include "media/sdp.h"
#include "server/mbridge.h"
#include "alloc_count.h"
#include "test_media_signal.h"
#include "util/net.h"
#include "webrtc/rtc_rtp.h"


typedef struct {
	int fd;
	uint16_t port;
} phone;

static jn_addr lo_addr(uint16_t port)
{
	jn_addr a;
	g_assert_cmpint(jn_addr_parse("127.0.0.1", port, &a), ==, 0);
	return a;
}

static phone phone_new(void)
{
	phone p;
	p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	jn_addr a = lo_addr(0);
	g_assert_cmpint(bind(p.fd, (struct sockaddr *)&a.ss, a.len), ==, 0);
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	getsockname(p.fd, (struct sockaddr *)&sin, &sl);
	p.port = ntohs(sin.sin_port);
	return p;
}

static rtc_rtp *leg_to(const phone *p)
{
	rtc_rtp_opts o = { .address = "127.0.0.1", .id = "t" };
	rtc_rtp *r = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_rtp_new(&o, &r, &err), ==, 0);
	jn_addr a = lo_addr(p->port);
	g_assert_cmpint(rtc_rtp_set_remote(r, &a, NULL, false), ==, 0);
	return r;
}

static media_bridge_leg side(const char *codec, uint8_t pt, uint32_t ssrc)
{
	return (media_bridge_leg){ .codec = codec, .pt = pt, .te_pt = -1, .cn_pt = -1, .ssrc = ssrc,
				   .seq_start = 1000, .ts_start = 5000, .complexity = -1 };
}

static void phone_send(const phone *p, const rtc_rtp *to, const uint8_t *buf, size_t len)
{
	jn_addr a = lo_addr(rtc_rtp_local_port(to));
	g_assert_cmpint(sendto(p->fd, buf, len, 0, (struct sockaddr *)&a.ss, a.len), ==, (ssize_t)len);
}

static void run_for_ms(unsigned ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;
	while (g_get_monotonic_time() < end) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(500);
	}
}

/* Everything phone2 got so far, decoded with the codec it negotiated. */
typedef struct {
	media_codec *dec;
	int16_t pcm[48000 * 3];
	unsigned n;
	unsigned packets;
	uint32_t ssrc;
	uint8_t pt;
	double freq[400]; /* per packet, from its decoded frame */
	unsigned n_freq;
} heard;

static void drain(const phone *p, heard *h)
{
	uint8_t buf[2000];
	ssize_t n;
	while ((n = recv(p->fd, buf, sizeof buf, 0)) > 0) {
		rtp_hdr r;
		if (rtp_is_rtcp(buf, (size_t)n) || rtp_parse(buf, (size_t)n, &r))
			continue;
		h->packets++;
		h->ssrc = r.ssrc;
		h->pt = r.pt;
		unsigned got = 0, room = G_N_ELEMENTS(h->pcm) - h->n;
		if (media_codec_decode(h->dec, r.payload, r.payload_len, h->pcm + h->n, room, &got) == 0) {
			if (h->n_freq < G_N_ELEMENTS(h->freq))
				h->freq[h->n_freq++] = sig_zc_freq(h->pcm + h->n, got,
								   media_codec_pcm_rate(h->dec));
			h->n += got;
		}
	}
}

/* phone1 sends a PCMU 1 kHz tone to A; phone2 negotiated `codec` at B. */
static void run_transcode(const char *codec, uint8_t pt)
{
	phone p1 = phone_new(), p2 = phone_new();
	rtc_rtp *a = leg_to(&p1), *b = leg_to(&p2);
	jn_mbridge_opts o = { .id = "call-1", .side = { side("PCMU", 0, 0xA0A0), side(codec, pt, 0xB0B0) } };
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);

	heard *h = g_new0(heard, 1);
	media_codec_opts co = { .name = codec };
	g_assert_cmpint(media_codec_create(&co, &h->dec), ==, 0);
	unsigned rate = media_codec_pcm_rate(h->dec);
	double phase = 0;
	int16_t tone[160];
	uint8_t pkt[200];
	for (unsigned i = 0; i < 75; i++) {
		sig_tone(tone, 160, 8000, 1000, 8000, &phase);
		size_t n = rtp_write_header(pkt, sizeof pkt, 0, i == 0, (uint16_t)(7 + i), 160 * i, 0x1234);
		for (unsigned k = 0; k < 160; k++)
			pkt[n + k] = media_g711_ulaw_encode(tone[k]);
		phone_send(&p1, a, pkt, n + 160);
		run_for_ms(20);
		drain(&p2, h);
	}
	run_for_ms(200);
	drain(&p2, h);

	g_assert_cmpuint(h->packets, >=, 30);
	g_assert_cmpuint(h->pt, ==, pt);
	g_assert_cmpuint(h->ssrc, ==, 0xB0B0);
	/* Each packet's frame measured alone, then the median: a frame the
	 * jitter buffer concealed or left silent (the loop runs in real time on
	 * a shared machine) cannot drag the result. */
	g_assert_cmpuint(h->n, >, rate);
	g_assert_cmpuint(h->n_freq, >=, 30);
	double sorted[400];
	memcpy(sorted, h->freq, h->n_freq * sizeof sorted[0]);
	for (unsigned i = 1; i < h->n_freq; i++)
		for (unsigned j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			double t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	double f = sorted[h->n_freq / 2];
	unsigned near = 0;
	for (unsigned i = 0; i < h->n_freq; i++)
		near += h->freq[i] > 980 && h->freq[i] < 1020;
	g_test_message("%s: median frame tone %.1f Hz, %u of %u frames at 1 kHz (rate %u)", codec, f, near,
		       h->n_freq, rate);
	g_assert_cmpfloat(f, >, 990);
	g_assert_cmpfloat(f, <, 1010);
	g_assert_cmpuint(near, >=, h->n_freq / 2);

	jn_mbridge_stats st;
	jn_mbridge_get_stats(br, &st);
	g_assert_false(st.relay);
	g_assert_cmpstr(st.codec[0], ==, "PCMU");
	g_assert_cmpstr(st.codec[1], ==, codec);
	g_assert_cmpuint(st.rx_packets[0], ==, 75);
	g_assert_cmpuint(st.decoded[0], >, 0);
	g_assert_cmpuint(st.tx_packets[1], ==, h->packets);
	g_assert_cmpuint(st.send_errors[1], ==, 0);

	jn_mbridge_free(br);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
	media_codec_free(h->dec);
	g_free(h);
	close(p1.fd);
	close(p2.fd);
}

static void test_transcode_pcma(void)
{
	run_transcode("PCMA", 8);
}

static void test_transcode_opus(void)
{
	run_transcode("opus", 111);
}

static void test_relay(void)
{
	phone p1 = phone_new(), p2 = phone_new();
	rtc_rtp *a = leg_to(&p1), *b = leg_to(&p2);
	jn_mbridge_opts o = { .id = "call-2", .side = { side("PCMU", 0, 0xA0A0), side("PCMU", 0, 0xB0B0) } };
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);

	uint8_t pkt[200], in[2000];
	unsigned got = 0;
	for (unsigned i = 0; i < 20; i++) {
		size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, (uint16_t)(40 + i), 160 * i, 0x1234);
		for (unsigned k = 0; k < 160; k++)
			pkt[n + k] = (uint8_t)(i * 7 + k);
		phone_send(&p1, a, pkt, n + 160);
		ssize_t r = -1;
		gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
		while (g_get_monotonic_time() < end) {
			g_main_context_iteration(NULL, FALSE);
			r = recv(p2.fd, in, sizeof in, 0);
			if (r > 0 && !rtp_is_rtcp(in, (size_t)r))
				break;
			g_usleep(200);
		}
		rtp_hdr h;
		g_assert_cmpint(rtp_parse(in, (size_t)r, &h), ==, 0);
		g_assert_cmpuint(h.ssrc, ==, 0xB0B0);
		g_assert_cmpuint(h.seq, ==, 1000 + i);
		g_assert_cmpuint(h.payload_len, ==, 160);
		g_assert_cmpmem(h.payload, 160, pkt + n, 160);
		got++;
	}
	g_assert_cmpuint(got, ==, 20);
	jn_mbridge_stats st;
	jn_mbridge_get_stats(br, &st);
	g_assert_true(st.relay);
	g_assert_cmpuint(st.decoded[0] + st.decoded[1], ==, 0);
	g_assert_cmpuint(st.rx_packets[0], ==, 20);
	g_assert_cmpuint(st.tx_packets[1], ==, 20);

	/* After free the leg has no receiver: packets are counted, not bridged. */
	jn_mbridge_free(br);
	phone_send(&p1, a, pkt, 172);
	run_for_ms(20);
	rtc_rtp_stats rs;
	rtc_rtp_get_stats(a, &rs);
	g_assert_cmpuint(rs.rtp_in, ==, 21);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
	close(p1.fd);
	close(p2.fd);
}

typedef struct {
	unsigned n;
	uint8_t payload[160];
	uint32_t ssrc;
} c_log;

static void on_c(void *user, uint8_t *buf, size_t len, size_t cap)
{
	c_log *l = user;
	rtp_hdr h;
	(void)cap;
	g_assert_cmpint(rtp_parse(buf, len, &h), ==, 0);
	g_assert_cmpuint(h.payload_len, ==, 160);
	memcpy(l->payload, h.payload, 160);
	l->ssrc = h.ssrc;
	l->n++;
}

/* Relay from a plain leg into an SDES-SRTP leg: the far phone is another
 * rtc_rtp (C) keyed with B, so it decrypts what the bridge sent. */
static void test_relay_srtp(void)
{
	phone p1 = phone_new();
	rtc_rtp_opts co = { .address = "127.0.0.1", .id = "c" };
	c_log cl = { 0 };
	co.rtp = on_c;
	co.user = &cl;
	rtc_rtp *c = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_rtp_new(&co, &c, &err), ==, 0);
	phone pc = { -1, rtc_rtp_local_port(c) };
	rtc_rtp *a = leg_to(&p1), *b = leg_to(&pc);
	jn_addr ba = lo_addr(rtc_rtp_local_port(b));
	g_assert_cmpint(rtc_rtp_set_remote(c, &ba, NULL, false), ==, 0);
	char offer[128], answer[128];
	unsigned tag;
	rtc_rtp_suite suite;
	g_assert_cmpint(rtc_rtp_crypto_local(c, 1, RTC_RTP_AES_CM_128_HMAC_SHA1_32, offer, sizeof offer), ==, 0);
	g_assert_cmpint(rtc_rtp_crypto_remote(b, offer, &tag, &suite), ==, 0);
	g_assert_cmpint(rtc_rtp_crypto_local(b, tag, suite, answer, sizeof answer), ==, 0);
	g_assert_cmpint(rtc_rtp_crypto_remote(c, answer, NULL, NULL), ==, 0);

	jn_mbridge_opts o = { .id = "call-4", .side = { side("PCMU", 0, 0xA0A0), side("PCMU", 0, 0xB0B0) } };
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);
	uint8_t pkt[200];
	for (unsigned i = 0; i < 10; i++) {
		size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, (uint16_t)(40 + i), 160 * i, 0x1234);
		for (unsigned k = 0; k < 160; k++)
			pkt[n + k] = (uint8_t)(i + k);
		phone_send(&p1, a, pkt, n + 160);
		gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
		while (cl.n < i + 1 && g_get_monotonic_time() < end)
			g_main_context_iteration(NULL, FALSE), g_usleep(200);
		g_assert_cmpuint(cl.n, ==, i + 1);
		g_assert_cmpmem(cl.payload, 160, pkt + n, 160);
		g_assert_cmpuint(cl.ssrc, ==, 0xB0B0);
	}
	rtc_rtp_stats cs;
	rtc_rtp_get_stats(c, &cs);
	g_assert_true(cs.srtp);
	g_assert_cmpuint(cs.srtp_errors, ==, 0);
	jn_mbridge_free(br);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
	rtc_rtp_free(c);
	close(p1.fd);
}

typedef struct {
	unsigned calls;
	int side;
	char id[32];
} timeout_log;

static void on_timeout(void *user, const char *id, int s)
{
	timeout_log *l = user;
	l->calls++;
	l->side = s;
	g_strlcpy(l->id, id, sizeof l->id);
}

static void test_timeout(void)
{
	phone p1 = phone_new(), p2 = phone_new();
	rtc_rtp *a = leg_to(&p1), *b = leg_to(&p2);
	timeout_log tl = { 0 };
	jn_mbridge_opts o = { .id = "call-3",
			      .side = { side("PCMU", 0, 1), side("PCMU", 0, 2) },
			      .media_timeout_ms = 150,
			      .timeout = on_timeout,
			      .user = &tl };
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);
	/* Side 0 keeps talking, side 1 is silent. */
	uint8_t pkt[200];
	for (unsigned i = 0; i < 20; i++) {
		size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, (uint16_t)i, 160 * i, 0x55);
		memset(pkt + n, 0xff, 160);
		phone_send(&p1, a, pkt, n + 160);
		run_for_ms(20);
	}
	g_assert_cmpuint(tl.calls, ==, 1);
	g_assert_cmpint(tl.side, ==, 1);
	g_assert_cmpstr(tl.id, ==, "call-3");
	jn_mbridge_stats st;
	jn_mbridge_get_stats(br, &st);
	g_assert_true(st.timed_out[1]);
	g_assert_false(st.timed_out[0]);
	jn_mbridge_free(br);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
	close(p1.fd);
	close(p2.fd);
}

/* Relays 120 packets phone1 -> A -> bridge -> B -> phone2 through the GLib
 * loop; returns the allocations counted over the last 100. */
static unsigned long relay_allocs(bool srtp)
{
	phone p1 = phone_new(), p2 = phone_new();
	rtc_rtp *a = leg_to(&p1), *b = leg_to(&p2);
	char line[128];
	if (srtp) {
		/* B keyed with its own key as the peer's: sends are protected. */
		g_assert_cmpint(rtc_rtp_crypto_local(b, 1, RTC_RTP_AES_CM_128_HMAC_SHA1_80, line, sizeof line),
				==, 0);
		g_assert_cmpint(rtc_rtp_crypto_remote(b, line, NULL, NULL), ==, 0);
	}
	jn_mbridge_opts o = { .id = "call-5", .side = { side("PCMU", 0, 1), side("PCMU", 0, 2) } };
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);
	uint8_t pkt[200], in[2000];
	unsigned got = 0;
	for (unsigned i = 0; i < 120; i++) {
		if (i == 20)
			n_allocs = 0, count_allocs = 1; /* after warm-up */
		size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, (uint16_t)i, 160 * i, 0x77);
		memset(pkt + n, 0x7f, 160);
		phone_send(&p1, a, pkt, n + 160);
		gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
		for (;;) {
			g_main_context_iteration(NULL, FALSE);
			ssize_t r = recv(p2.fd, in, sizeof in, 0);
			if (r > 0 && !rtp_is_rtcp(in, (size_t)r)) {
				got++;
				break;
			}
			if (g_get_monotonic_time() > end)
				break;
		}
	}
	count_allocs = 0;
	unsigned long count = n_allocs;
	jn_mbridge_stats st;
	jn_mbridge_get_stats(br, &st);
	g_assert_cmpuint(st.tx_packets[1], ==, 120);
	g_assert_cmpuint(got, ==, 120);
	jn_mbridge_free(br);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
	close(p1.fd);
	close(p2.fd);
	return count;
}

/* Our relay path (recv, checks, latch, bridge, send), run by the GLib
 * loop, allocates nothing per packet. With SRTP, Debian's libsrtp2 uses
 * NSS for AES, which allocates inside srtp_protect: reported, not ours. */
static void test_no_alloc(void)
{
	g_assert_cmpuint(relay_allocs(false), ==, 0);
	g_test_message("allocations over 100 packets relayed into SRTP (libsrtp2): %lu",
		       relay_allocs(true));
}

/* ---- a browser leg (rtc_pc) on side 0 ---- */

typedef struct {
	GString *sdp;
	rtc_pc_state st;
	unsigned rtp;
	uint8_t pt;
	uint8_t payload[160];
	jn_mbridge *br; /* set once the bridge exists (our pc forwards to it) */
} pc_side;

static void pc_sdp(void *user, const char *sdp)
{
	g_string_assign(((pc_side *)user)->sdp, sdp);
}

static void pc_state(void *user, rtc_pc_state st, const char *reason)
{
	(void)reason;
	((pc_side *)user)->st = st;
}

/* The "browser": records what it receives. */
static void pc_browser_rtp(void *user, const uint8_t *buf, size_t len)
{
	pc_side *s = user;
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(buf, len, &h), ==, 0);
	s->rtp++;
	s->pt = h.pt;
	if (h.payload_len == 160)
		memcpy(s->payload, h.payload, 160);
}

/* Our leg toward the browser: hands each packet to the bridge. */
static void pc_ours_rtp(void *user, const uint8_t *buf, size_t len)
{
	pc_side *s = user;
	s->rtp++;
	if (s->br)
		jn_mbridge_rx(s->br, 0, buf, len);
}

static sdp_session *parse_sdp(const char *text)
{
	sdp_session *sd = NULL;
	g_assert_cmpint(sdp_parse(text, strlen(text), &sd, NULL), ==, 0);
	return sd;
}

/* Browser (rtc_pc, DTLS-SRTP) <-> our rtc_pc = side 0 of the bridge,
 * side 1 = an rtc_rtp leg to phone2; PCMU both sides, so relay. */
static void test_browser_leg(void)
{
	static const char *const addrs[] = { "127.0.0.1", NULL };
	GMainContext *ctx = g_main_context_new();
	rtc_dtls_cert *cert = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &cert, &err), ==, 0);
	pc_side br_side = { .sdp = g_string_new(NULL) }, our = { .sdp = g_string_new(NULL) };
	rtc_pc_opts base = { .cert = cert, .context = ctx, .local_addresses = addrs, .port_min = 42000,
			     .port_max = 42999, .state = pc_state };
	rtc_pc_opts ob = base, oo = base;
	ob.id = "browser", ob.offer = pc_sdp, ob.rtp = pc_browser_rtp, ob.user = &br_side;
	oo.id = "ours", oo.answer = pc_sdp, oo.rtp = pc_ours_rtp, oo.user = &our;
	rtc_pc *pbrowser = NULL, *pours = NULL;
	g_assert_cmpint(rtc_pc_new_offer(&ob, &pbrowser, &err), ==, 0);
	gint64 until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!br_side.sdp->len && g_get_monotonic_time() < until)
		g_main_context_iteration(ctx, FALSE);
	sdp_session *offer = parse_sdp(br_side.sdp->str);
	g_assert_cmpint(rtc_pc_new_from_offer(&oo, offer, &pours, &err), ==, 0);
	until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!our.sdp->len && g_get_monotonic_time() < until)
		g_main_context_iteration(ctx, FALSE);
	sdp_session *answer = parse_sdp(our.sdp->str);
	g_assert_cmpint(rtc_pc_set_answer(pbrowser, answer, &err), ==, 0);
	until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while ((br_side.st != RTC_PC_CONNECTED || our.st != RTC_PC_CONNECTED) && g_get_monotonic_time() < until)
		g_main_context_iteration(ctx, FALSE);
	g_assert_cmpint(our.st, ==, RTC_PC_CONNECTED);

	phone p2 = phone_new();
	rtc_rtp_opts ro = { .context = ctx, .address = "127.0.0.1", .id = "b" };
	rtc_rtp *b = NULL;
	g_assert_cmpint(rtc_rtp_new(&ro, &b, &err), ==, 0);
	jn_addr a2 = lo_addr(p2.port);
	g_assert_cmpint(rtc_rtp_set_remote(b, &a2, NULL, false), ==, 0);
	jn_mbridge_opts o = { .context = ctx, .id = "call-6",
			      .side = { side("PCMU", 0, 0xC0C0), side("PCMU", 0, 0xB0B0) } };
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_pc(br, 0, pours);
	jn_mbridge_attach_rtp(br, 1, b);
	our.br = br;

	/* browser -> phone2 */
	uint8_t pkt[1500], in[2000];
	for (unsigned i = 0; i < 20; i++) {
		size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, (uint16_t)(300 + i), 160 * i, 0x99);
		for (unsigned k = 0; k < 160; k++)
			pkt[n + k] = (uint8_t)(3 * i + k);
		uint8_t want[160];
		memcpy(want, pkt + n, 160);
		g_assert_cmpint(rtc_pc_send_rtp(pbrowser, pkt, n + 160, sizeof pkt), ==, 0);
		ssize_t r = -1;
		until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
		while (g_get_monotonic_time() < until) {
			g_main_context_iteration(ctx, FALSE);
			r = recv(p2.fd, in, sizeof in, 0);
			if (r > 0 && !rtp_is_rtcp(in, (size_t)r))
				break;
			g_usleep(100);
		}
		rtp_hdr h;
		g_assert_cmpint(rtp_parse(in, (size_t)r, &h), ==, 0);
		g_assert_cmpuint(h.ssrc, ==, 0xB0B0);
		g_assert_cmpmem(h.payload, h.payload_len, want, 160);
	}
	/* phone2 -> browser */
	for (unsigned i = 0; i < 20; i++) {
		size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, (uint16_t)(70 + i), 160 * i, 0x42);
		memset(pkt + n, (int)(0x10 + i), 160);
		phone_send(&p2, b, pkt, n + 160);
		unsigned before = br_side.rtp;
		until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
		while (br_side.rtp == before && g_get_monotonic_time() < until)
			g_main_context_iteration(ctx, FALSE), g_usleep(100);
		g_assert_cmpuint(br_side.rtp, ==, before + 1);
		g_assert_cmpuint(br_side.pt, ==, 0);
		g_assert_cmpuint(br_side.payload[159], ==, 0x10 + i);
	}
	jn_mbridge_stats st;
	jn_mbridge_get_stats(br, &st);
	g_assert_true(st.relay);
	g_assert_cmpuint(st.rx_packets[0], ==, 20);
	g_assert_cmpuint(st.tx_packets[0], ==, 20);
	g_assert_cmpuint(st.send_errors[0] + st.send_errors[1], ==, 0);

	our.br = NULL;
	jn_mbridge_free(br);
	rtc_rtp_free(b);
	rtc_pc_free(pbrowser);
	rtc_pc_free(pours);
	sdp_unref(offer);
	sdp_unref(answer);
	g_string_free(br_side.sdp, TRUE);
	g_string_free(our.sdp, TRUE);
	rtc_dtls_cert_unref(cert);
	while (g_main_context_iteration(ctx, FALSE))
		;
	g_main_context_unref(ctx);
	close(p2.fd);
}

/* How many sources ctx dispatched over ms of real time. */
static unsigned dispatches_for_ms(GMainContext *ctx, unsigned ms)
{
	unsigned n = 0;
	gint64 end = g_get_monotonic_time() + ms * 1000;
	while (g_get_monotonic_time() < end) {
		while (g_main_context_iteration(ctx, FALSE))
			n++;
		g_usleep(1000);
	}
	return n;
}

/* A relay with nothing to generate has no periodic tick: its worker wakes
 * for packets only. A transcoder on the same legs ticks every 20 ms. */
static void test_relay_no_timer(void)
{
	GMainContext *ctx = g_main_context_new();
	phone p1 = phone_new(), p2 = phone_new();
	rtc_rtp_opts ro = { .context = ctx, .address = "127.0.0.1", .id = "t" };
	rtc_rtp *a = NULL, *b = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_rtp_new(&ro, &a, &err), ==, 0);
	g_assert_cmpint(rtc_rtp_new(&ro, &b, &err), ==, 0);
	jn_addr a1 = lo_addr(p1.port), a2 = lo_addr(p2.port);
	g_assert_cmpint(rtc_rtp_set_remote(a, &a1, NULL, false), ==, 0);
	g_assert_cmpint(rtc_rtp_set_remote(b, &a2, NULL, false), ==, 0);
	/* With a media timeout far away: a timer exists, armed for later. */
	timeout_log tl = { 0 };
	jn_mbridge_opts o = { .context = ctx, .id = "call-7",
			      .side = { side("PCMU", 0, 1), side("PCMU", 0, 2) },
			      .media_timeout_ms = 30000, .timeout = on_timeout, .user = &tl };
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);
	g_assert_cmpuint(dispatches_for_ms(ctx, 150), ==, 0);

	/* A packet is one dispatch (the sockets' source), nothing more. */
	uint8_t pkt[200], in[2000];
	size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, 1, 160, 0x1234);
	memset(pkt + n, 0x55, 160);
	phone_send(&p1, a, pkt, n + 160);
	unsigned d = dispatches_for_ms(ctx, 100);
	g_assert_cmpuint(d, ==, 1);
	g_assert_cmpint(recv(p2.fd, in, sizeof in, 0), ==, (ssize_t)(n + 160));
	jn_mbridge_free(br);

	o.side[1] = side("PCMA", 8, 2);
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);
	d = dispatches_for_ms(ctx, 150);
	g_test_message("transcoder: %u dispatches in 150 ms", d);
	g_assert_cmpuint(d, >=, 3);
	g_assert_cmpuint(tl.calls, ==, 0);
	jn_mbridge_free(br);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
	while (g_main_context_iteration(ctx, FALSE))
		;
	g_main_context_unref(ctx);
	close(p1.fd);
	close(p2.fd);
}

/* A key press queued on a relay goes out as RFC 4733 (ticks run for it),
 * then the ticks stop again. */
static void test_relay_digit(void)
{
	GMainContext *ctx = g_main_context_new();
	phone p2 = phone_new();
	rtc_rtp_opts ro = { .context = ctx, .address = "127.0.0.1", .id = "t" };
	rtc_rtp *a = NULL, *b = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_rtp_new(&ro, &a, &err), ==, 0);
	g_assert_cmpint(rtc_rtp_new(&ro, &b, &err), ==, 0);
	jn_addr a2 = lo_addr(p2.port);
	g_assert_cmpint(rtc_rtp_set_remote(b, &a2, NULL, false), ==, 0);
	jn_mbridge_opts o = { .context = ctx, .id = "call-8",
			      .side = { side("PCMU", 0, 1), side("PCMU", 0, 2) } };
	o.side[0].te_pt = 101;
	o.side[1].te_pt = 101;
	jn_mbridge *br = NULL;
	g_assert_cmpint(jn_mbridge_new(&o, &br), ==, 0);
	jn_mbridge_attach_rtp(br, 0, a);
	jn_mbridge_attach_rtp(br, 1, b);
	g_assert_cmpuint(dispatches_for_ms(ctx, 60), ==, 0);
	g_assert_cmpint(jn_mbridge_send_digit(br, 1, '5', 100), ==, 0);

	unsigned pkts = 0, ends = 0;
	uint8_t in[2000];
	gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (ends < 3 && g_get_monotonic_time() < end) {
		g_main_context_iteration(ctx, FALSE);
		ssize_t r;
		while ((r = recv(p2.fd, in, sizeof in, 0)) > 0) {
			rtp_hdr h;
			media_te e;
			if (rtp_is_rtcp(in, (size_t)r) || rtp_parse(in, (size_t)r, &h))
				continue;
			g_assert_cmpuint(h.pt, ==, 101);
			g_assert_cmpint(media_te_parse(h.payload, h.payload_len, &e), ==, 0);
			g_assert_cmpuint(e.event, ==, 5);
			pkts++;
			ends += e.end;
		}
		g_usleep(1000);
	}
	g_assert_cmpuint(ends, ==, 3);
	g_assert_cmpuint(pkts, >=, 5);
	/* The tick that finds nothing left to send is the last one. */
	dispatches_for_ms(ctx, 50);
	g_assert_cmpuint(dispatches_for_ms(ctx, 100), ==, 0);
	jn_mbridge_free(br);
	rtc_rtp_free(a);
	rtc_rtp_free(b);
	while (g_main_context_iteration(ctx, FALSE))
		;
	g_main_context_unref(ctx);
	close(p2.fd);
}

typedef struct {
	rtc_rtp **victim; /* freed by the first packet that arrives */
	unsigned got;
} free_log;

static void on_free_other(void *user, uint8_t *buf, size_t len, size_t cap)
{
	free_log *l = user;
	(void)buf, (void)len, (void)cap;
	l->got++;
	if (*l->victim) {
		rtc_rtp_free(*l->victim);
		*l->victim = NULL;
	}
}

/* rtc_rtp's close rule with the shared poller: a leg freed from another
 * leg's receive callback, while a packet for it waits in the same batch of
 * ready sockets, gets no callback (ASan catches a use after free). */
static void test_free_from_other_callback(void)
{
	GMainContext *ctx = g_main_context_new();
	phone p1 = phone_new();
	free_log la = { 0 }, lb = { 0 };
	rtc_rtp *a = NULL, *b = NULL;
	char *err = NULL;
	rtc_rtp_opts oa = { .context = ctx, .address = "127.0.0.1", .id = "a", .rtp = on_free_other,
			    .user = &la };
	rtc_rtp_opts ob = oa;
	ob.id = "b", ob.user = &lb;
	g_assert_cmpint(rtc_rtp_new(&oa, &a, &err), ==, 0);
	g_assert_cmpint(rtc_rtp_new(&ob, &b, &err), ==, 0);
	la.victim = &b;
	lb.victim = &a;
	uint8_t pkt[200];
	size_t n = rtp_write_header(pkt, sizeof pkt, 0, false, 1, 160, 0x1234);
	memset(pkt + n, 0x55, 160);
	/* Both sockets ready before the context looks: one epoll batch. */
	phone_send(&p1, a, pkt, n + 160);
	phone_send(&p1, b, pkt, n + 160);
	g_usleep(20000);
	dispatches_for_ms(ctx, 50);
	g_assert_cmpuint(la.got + lb.got, ==, 1);
	g_assert_true((a == NULL) != (b == NULL));
	rtc_rtp_free(a ? a : b);
	while (g_main_context_iteration(ctx, FALSE))
		;
	g_main_context_unref(ctx);
	close(p1.fd);
}

static void test_bad_codec(void)
{
	jn_mbridge_opts o = { .id = "x", .side = { side("PCMU", 0, 1), side("nosuch", 99, 2) } };
	jn_mbridge *br = (jn_mbridge *)&o;
	g_assert_cmpint(jn_mbridge_new(&o, &br), !=, 0);
	g_assert_null(br);
}

int main(int argc, char **argv)
{
	alloc_counter_install();
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mbridge/transcode_pcma", test_transcode_pcma);
	g_test_add_func("/mbridge/transcode_opus", test_transcode_opus);
	g_test_add_func("/mbridge/relay", test_relay);
	g_test_add_func("/mbridge/relay_srtp", test_relay_srtp);
	g_test_add_func("/mbridge/timeout", test_timeout);
	g_test_add_func("/mbridge/no_alloc", test_no_alloc);
	g_test_add_func("/mbridge/browser_leg", test_browser_leg);
	g_test_add_func("/mbridge/bad_codec", test_bad_codec);
	g_test_add_func("/mbridge/relay_no_timer", test_relay_no_timer);
	g_test_add_func("/mbridge/relay_digit", test_relay_digit);
	g_test_add_func("/mbridge/rtp_free_from_other_callback", test_free_from_other_callback);
	return g_test_run();
}
