/* Bridge tests: relay continuity across a source change, Opus <-> PCMU
 * transcoding keeps a tone's frequency, DTMF both ways, stats, timeout
 * helper, and no allocation on the packet path. */
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "media/bridge.h"
#include "media/codec.h"
#include "media/dtmf.h"
#include "media/rtp.h"
#include "alloc_count.h"
#include "test_media_signal.h"

/* ---- helpers ---- */

static size_t make_pkt(uint8_t *b, uint8_t pt, bool m, uint16_t seq, uint32_t ts, uint32_t ssrc,
		       const uint8_t *pl, size_t n)
{
	rtp_write_header(b, 1500, pt, m, seq, ts, ssrc);
	memcpy(b + 12, pl, n);
	return 12 + n;
}

static const media_bridge_leg opus_leg = {
	.codec = "opus", .pt = 111, .clock_rate = 48000, .channels = 2, .fmtp = "useinbandfec=1",
	.te_pt = 101, .te_clock = 48000, .cn_pt = -1, .ssrc = 0xAAAA0000, .seq_start = 100,
	.ts_start = 1000, .complexity = -1,
};
static const media_bridge_leg pcmu_leg = {
	.codec = "PCMU", .pt = 0, .clock_rate = 8000, .ptime_ms = 30,
	.te_pt = 101, .te_clock = 8000, .cn_pt = 13, .ssrc = 0xBBBB0000, .seq_start = 60000,
	.ts_start = 4294967000u, .complexity = -1,
};

/* Relay across an SSRC change: sequence and timestamp stay continuous. */
static void test_relay_source_change(void)
{
	media_bridge_leg a = opus_leg, b = opus_leg;
	b.pt = 109;
	b.ssrc = 0x12345678;
	media_bridge *br;
	g_assert_cmpint(media_bridge_create(&a, &b, &br), ==, 0);
	g_assert_true(media_bridge_is_relay(br));
	media_bridge_out out;
	uint8_t pkt[1500], pl[80];
	memset(pl, 0x5a, sizeof pl);
	uint64_t t = 1000000;
	int have = 0;
	uint16_t last_seq = 0;
	uint32_t last_ts = 0;
	unsigned markers = 0;
	for (int i = 0; i < 100; i++, t += 20000) {
		/* Source 1 until i == 50, then a new SSRC with unrelated seq/ts
		 * after a 100 ms pause (i == 50 arrives 5 frames late). */
		uint32_t ssrc = i < 50 ? 0x1111 : 0x2222;
		uint16_t seq = i < 50 ? (uint16_t)(65500 + i) : (uint16_t)(7 + i);
		uint32_t ts = i < 50 ? 3000000000u + 960u * i : 17u + 960u * i;
		if (i == 50)
			t += 80000;
		size_t n = make_pkt(pkt, 111, false, seq, ts, ssrc, pl, sizeof pl);
		g_assert_cmpint(media_bridge_push(br, 0, pkt, n, t, &out), ==, 0);
		g_assert_cmpuint(out.count, ==, 1);
		g_assert_true(out.pkt[0].data == pkt); /* rewritten in place */
		g_assert_cmpint(out.pkt[0].leg, ==, 1);
		rtp_hdr h;
		g_assert_cmpint(rtp_parse(out.pkt[0].data, out.pkt[0].len, &h), ==, 0);
		g_assert_cmpuint(h.ssrc, ==, 0x12345678);
		g_assert_cmpuint(h.pt, ==, 109);
		g_assert_cmpmem(h.payload, h.payload_len, pl, sizeof pl);
		if (!have) {
			g_assert_cmpuint(h.seq, ==, 100);
			g_assert_cmpuint(h.ts, ==, 1000);
		} else {
			g_assert_cmpuint(h.seq, ==, (uint16_t)(last_seq + 1));
			/* 20 ms steps; across the change, the 100 ms wall-clock gap. */
			g_assert_cmpuint(h.ts - last_ts, ==, i == 50 ? 4800u : 960u);
		}
		markers += h.marker;
		have = 1;
		last_seq = h.seq;
		last_ts = h.ts;
	}
	g_assert_cmpuint(markers, ==, 1);
	/* Reordering within a source passes through as is. */
	size_t n = make_pkt(pkt, 111, false, 7 + 98, 17u + 960u * 98, 0x2222, pl, sizeof pl);
	g_assert_cmpint(media_bridge_push(br, 0, pkt, n, t, &out), ==, 0);
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(out.pkt[0].data, out.pkt[0].len, &h), ==, 0);
	g_assert_cmpuint(h.seq, ==, (uint16_t)(last_seq - 1));
	g_assert_cmpuint(h.ts, ==, last_ts - 960);
	/* Header extensions and CSRCs are stripped, the payload kept. */
	n = make_pkt(pkt, 111, false, 7 + 100, 17u + 960u * 100, 0x2222, pl, 0);
	pkt[0] |= 0x10 | 1; /* X, one CSRC */
	const uint8_t tail[] = { 0, 0, 0, 5, 0xbe, 0xde, 0, 1, 0x10, 0x85, 0, 0, 'p', 'l' };
	memcpy(pkt + 12, tail, sizeof tail);
	n = 12 + sizeof tail;
	g_assert_cmpint(media_bridge_push(br, 0, pkt, n, t, &out), ==, 0);
	g_assert_cmpuint(out.count, ==, 1);
	g_assert_cmpuint(out.pkt[0].len, ==, 14);
	g_assert_cmpint(rtp_parse(out.pkt[0].data, out.pkt[0].len, &h), ==, 0);
	g_assert_false(h.extension);
	g_assert_cmpuint(h.csrc_count, ==, 0);
	g_assert_cmpmem(h.payload, h.payload_len, "pl", 2);
	g_assert_cmpuint(h.seq, ==, (uint16_t)(last_seq + 1));
	last_seq = h.seq;
	last_ts = h.ts;
	/* Unknown PT and garbage are dropped. */
	n = make_pkt(pkt, 99, false, 1, 1, 0x2222, pl, 10);
	g_assert_cmpint(media_bridge_push(br, 0, pkt, n, t, &out), ==, 0);
	g_assert_cmpuint(out.count, ==, 0);
	g_assert_cmpint(media_bridge_push(br, 0, pkt, 5, t, &out), ==, EBADMSG);
	media_bridge_stats st;
	media_bridge_get_stats(br, 0, &st);
	g_assert_cmpuint(st.rx_packets, ==, 102);
	g_assert_cmpuint(st.rx_dropped, ==, 2);
	g_assert_cmpuint(st.source_changes, ==, 1);
	g_assert_cmpuint(st.decoded, ==, 0);
	g_assert_true(st.relay);
	g_assert_cmpstr(st.codec, ==, "opus");
	media_bridge_get_stats(br, 1, &st);
	g_assert_cmpuint(st.tx_packets, ==, 102);
	g_assert_cmpuint(st.tx_bytes, ==, 101 * (12 + sizeof pl) + 14);
	g_assert_cmpuint(media_bridge_idle_us(br, 0, t + 5000), ==, 5000);

	/* A re-INVITE changes leg 1 to PCMU: the new (transcoding) bridge
	 * continues the stream leg 1 sees from the resume point. */
	uint16_t rseq;
	uint32_t rts;
	t += 60000;
	media_bridge_resume_point(br, 1, t, &rseq, &rts);
	g_assert_cmpuint(rseq, ==, (uint16_t)(last_seq + 1));
	g_assert_cmpuint(rts, ==, last_ts + 48 * 60);
	media_bridge_free(br);
	media_bridge_leg b2 = b;
	b2.codec = "PCMA";
	b2.pt = 8;
	b2.clock_rate = 8000;
	b2.channels = 1;
	b2.seq_start = rseq;
	b2.ts_start = rts;
	g_assert_cmpint(media_bridge_create(&a, &b2, &br), ==, 0);
	g_assert_false(media_bridge_is_relay(br));
	media_bridge_resume_point(br, 1, t, &rseq, &rts);
	g_assert_cmpuint(rseq, ==, (uint16_t)(last_seq + 1)); /* nothing sent yet */
	g_assert_cmpint(media_bridge_send_digit(br, 1, '4', 40), ==, 0);
	media_bridge_tick(br, t, &out);
	g_assert_cmpuint(out.count, ==, 1);
	g_assert_cmpint(rtp_parse(out.pkt[0].data, out.pkt[0].len, &h), ==, 0);
	g_assert_cmpuint(h.ssrc, ==, 0x12345678);
	g_assert_cmpuint(h.seq, ==, (uint16_t)(last_seq + 1));
	g_assert_cmpuint(h.ts, ==, rts);
	media_bridge_free(br);
}

/* Checks one output stream: seq +1, ts += step per packet, one SSRC. */
typedef struct {
	bool have;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	unsigned packets;
} stream_check;

static void check_stream(stream_check *c, const rtp_hdr *h, uint32_t step)
{
	if (c->have) {
		g_assert_cmpuint(h->seq, ==, (uint16_t)(c->seq + 1));
		g_assert_cmpuint(h->ts - c->ts, ==, step);
		g_assert_cmpuint(h->ssrc, ==, c->ssrc);
	}
	c->have = true;
	c->seq = h->seq;
	c->ts = h->ts;
	c->ssrc = h->ssrc;
	c->packets++;
}

/* 2 s each way: opus tone from leg 0 (20 ms), PCMU tone from leg 1 (30 ms).
 * Decodes what the bridge sends and measures the frequency. */
static void run_transcode(unsigned opus_pcm_rate)
{
	media_bridge_leg a = opus_leg, b = pcmu_leg;
	a.pcm_rate = opus_pcm_rate;
	media_bridge *br;
	g_assert_cmpint(media_bridge_create(&a, &b, &br), ==, 0);
	g_assert_false(media_bridge_is_relay(br));
	media_codec *src_opus, *src_pcmu, *dst_opus, *dst_pcmu;
	media_codec_opts o = { .name = "opus" };
	media_codec_opts u = { .name = "PCMU", .ptime_ms = 30 };
	g_assert_cmpint(media_codec_create(&o, &src_opus), ==, 0);
	g_assert_cmpint(media_codec_create(&o, &dst_opus), ==, 0);
	g_assert_cmpint(media_codec_create(&u, &src_pcmu), ==, 0);
	g_assert_cmpint(media_codec_create(&u, &dst_pcmu), ==, 0);

	int16_t *got_a = g_new0(int16_t, 48000 * 3), *got_b = g_new0(int16_t, 8000 * 3);
	unsigned na = 0, nb = 0;
	stream_check ca = { 0 }, cb = { 0 };
	double pha = 0, phb = 0;
	uint16_t seq_a = 1, seq_b = 1;
	uint8_t pkt[1500], pl[1500];
	int16_t pcm[960];
	media_bridge_out out;
	uint64_t t0 = 5000000;
	for (unsigned ms = 0; ms < 2000; ms += 10) {
		uint64_t t = t0 + ms * 1000ull;
		if (ms % 20 == 0) {
			size_t len;
			sig_tone(pcm, 960, 48000, 1000, 10000, &pha);
			g_assert_cmpint(media_codec_encode(src_opus, pcm, 960, pl, sizeof pl, &len), ==, 0);
			size_t n = make_pkt(pkt, 111, ms == 0, seq_a, 960u * seq_a, 0xA1, pl, len);
			seq_a++;
			g_assert_cmpint(media_bridge_push(br, 0, pkt, n, t, &out), ==, 0);
			g_assert_cmpuint(out.count, ==, 0); /* queued for the tick */
		}
		if (ms % 30 == 0) {
			size_t len;
			sig_tone(pcm, 240, 8000, 1000, 10000, &phb);
			g_assert_cmpint(media_codec_encode(src_pcmu, pcm, 240, pl, sizeof pl, &len), ==, 0);
			size_t n = make_pkt(pkt, 0, ms == 0, seq_b, 240u * seq_b, 0xB1, pl, len);
			seq_b++;
			g_assert_cmpint(media_bridge_push(br, 1, pkt, n, t, &out), ==, 0);
		}
		if (ms % 20 != 0)
			continue;
		media_bridge_tick(br, t, &out);
		for (unsigned i = 0; i < out.count; i++) {
			rtp_hdr h;
			unsigned got;
			g_assert_cmpint(rtp_parse(out.pkt[i].data, out.pkt[i].len, &h), ==, 0);
			if (out.pkt[i].leg == 1) {
				g_assert_cmpuint(h.pt, ==, 0);
				g_assert_cmpuint(h.payload_len, ==, 240); /* ptime 30 */
				check_stream(&cb, &h, 240);
				g_assert_cmpint(media_codec_decode(dst_pcmu, h.payload, h.payload_len,
								   got_b + nb, 8000 * 3 - nb, &got), ==, 0);
				nb += got;
			} else {
				g_assert_cmpuint(h.pt, ==, 111);
				check_stream(&ca, &h, 960);
				g_assert_cmpint(media_codec_decode(dst_opus, h.payload, h.payload_len,
								   got_a + na, 48000 * 3 - na, &got), ==, 0);
				g_assert_cmpuint(got, ==, 960);
				na += got;
			}
		}
	}
	g_assert_cmpuint(cb.ssrc, ==, 0xBBBB0000);
	g_assert_cmpuint(ca.ssrc, ==, 0xAAAA0000);
	/* Nearly 2 s came out each way (minus the jitter buffer's fill). */
	g_assert_cmpuint(nb, >=, 8000 * 18 / 10);
	g_assert_cmpuint(na, >=, 48000 * 18 / 10);
	double fb = sig_zc_freq(got_b + nb / 2, nb / 2, 8000);
	double fa = sig_zc_freq(got_a + na / 2, na / 2, 48000);
	double pb = sig_purity(got_b + nb / 2, nb / 2, 8000, 1000);
	double pa = sig_purity(got_a + na / 2, na / 2, 48000, 1000);
	{
		media_bridge_stats s0, s1;
		media_bridge_get_stats(br, 0, &s0);
		media_bridge_get_stats(br, 1, &s1);
		g_test_message("leg0 decoded %" G_GUINT64_FORMAT " concealed %" G_GUINT64_FORMAT
			       "; leg1 decoded %" G_GUINT64_FORMAT " concealed %" G_GUINT64_FORMAT,
			       s0.decoded, s0.concealed, s1.decoded, s1.concealed);
	}
	g_test_message("opus pcm %u Hz: to PCMU %.2f Hz (purity %.3f), to opus %.2f Hz (purity %.3f)",
		       opus_pcm_rate, fb, pb, fa, pa);
	g_assert_cmpfloat(fabs(fb - 1000), <, 5);
	g_assert_cmpfloat(fabs(fa - 1000), <, 5);
	g_assert_cmpfloat(pb, >, 0.9);
	g_assert_cmpfloat(pa, >, 0.9);

	media_bridge_stats st;
	media_bridge_get_stats(br, 0, &st);
	g_assert_false(st.relay);
	g_assert_cmpstr(st.codec, ==, "opus");
	g_assert_cmpuint(st.rx_packets, ==, 100);
	g_assert_cmpuint(st.decoded, >=, 95);
	g_assert_cmpint(st.lost, ==, 0);
	media_bridge_get_stats(br, 1, &st);
	g_assert_cmpstr(st.codec, ==, "PCMU");
	g_assert_cmpuint(st.tx_packets, ==, cb.packets);

	g_free(got_a);
	g_free(got_b);
	media_codec_free(src_opus);
	media_codec_free(dst_opus);
	media_codec_free(src_pcmu);
	media_codec_free(dst_pcmu);
	media_bridge_free(br);
}

static void test_transcode_48k(void)
{
	run_transcode(48000);
}

static void test_transcode_8k(void)
{
	run_transcode(0); /* auto: opus decodes straight to 8 kHz */
}

/* Any pair of codecs: a 1 kHz tone each way comes out at 1 kHz. */
static void run_pair(const char *c0, uint8_t pt0, const char *c1, uint8_t pt1)
{
	media_bridge_leg l[2] = { pcmu_leg, pcmu_leg };
	l[0].codec = c0;
	l[0].pt = pt0;
	l[0].clock_rate = 0;
	l[0].ptime_ms = 20;
	l[1].codec = c1;
	l[1].pt = pt1;
	l[1].clock_rate = 0;
	l[1].ptime_ms = 20;
	media_bridge *br;
	g_assert_cmpint(media_bridge_create(&l[0], &l[1], &br), ==, 0);
	g_assert_false(media_bridge_is_relay(br));
	media_codec *src[2], *dst[2];
	for (int i = 0; i < 2; i++) {
		media_codec_opts o = { .name = l[i].codec };
		g_assert_cmpint(media_codec_create(&o, &src[i]), ==, 0);
		g_assert_cmpint(media_codec_create(&o, &dst[i]), ==, 0);
	}
	int16_t *got[2];
	unsigned n[2] = { 0, 0 };
	double ph[2] = { 0, 0 };
	for (int i = 0; i < 2; i++)
		got[i] = g_new0(int16_t, 48000 * 2);
	uint8_t pkt[1500], pl[1500];
	int16_t pcm[960];
	media_bridge_out out;
	for (unsigned f = 0; f < 75; f++) {
		uint64_t t = 1000000 + f * 20000ull;
		for (int i = 0; i < 2; i++) {
			unsigned fs = media_codec_frame_samples(src[i]);
			size_t len;
			sig_tone(pcm, fs, media_codec_pcm_rate(src[i]), 1000, 10000, &ph[i]);
			g_assert_cmpint(media_codec_encode(src[i], pcm, fs, pl, sizeof pl, &len), ==, 0);
			size_t k = make_pkt(pkt, l[i].pt, false, (uint16_t)f, media_codec_ticks(src[i], fs) * f,
					    7, pl, len);
			g_assert_cmpint(media_bridge_push(br, i, pkt, k, t, &out), ==, 0);
		}
		media_bridge_tick(br, t, &out);
		for (unsigned k = 0; k < out.count; k++) {
			int to = out.pkt[k].leg;
			rtp_hdr h;
			unsigned m;
			g_assert_cmpint(rtp_parse(out.pkt[k].data, out.pkt[k].len, &h), ==, 0);
			g_assert_cmpuint(h.pt, ==, l[to].pt);
			unsigned cap = 48000 * 2 - n[to];
			g_assert_cmpint(media_codec_decode(dst[to], h.payload, h.payload_len, got[to] + n[to], cap, &m), ==, 0);
			n[to] += m;
		}
	}
	for (int i = 0; i < 2; i++) {
		unsigned rate = media_codec_pcm_rate(dst[i]);
		g_assert_cmpuint(n[i], >=, rate); /* >= 1 s of 1.5 s */
		double f = sig_zc_freq(got[i] + n[i] / 2, n[i] / 2, rate);
		g_test_message("%s -> %s: %.2f Hz", l[1 - i].codec, l[i].codec, f);
		g_assert_cmpfloat(fabs(f - 1000), <, 5);
		g_free(got[i]);
		media_codec_free(src[i]);
		media_codec_free(dst[i]);
	}
	media_bridge_free(br);
}

static void test_pairs(void)
{
	run_pair("G722", 9, "opus", 111);
	run_pair("PCMA", 8, "PCMU", 0);
	run_pair("G722", 9, "PCMA", 8);
}

/* Sends one key press from leg `from` (te clock `clock`), collects what the
 * other leg gets and the digits reported. */
static void press(media_bridge *br, int from, char key, unsigned clock, uint32_t ts, uint16_t *seq,
		  uint64_t *t, GString *seen_events, GString *digits, GArray *durations)
{
	media_te_tx tx;
	media_te_tx_init(&tx, clock, 20);
	g_assert_cmpint(media_te_tx_start(&tx, key, 120, 10), ==, 0);
	uint8_t pl[4], pkt[64];
	bool first;
	media_bridge_out out;
	while (media_te_tx_next(&tx, pl, &first)) {
		size_t n = make_pkt(pkt, 101, first, (*seq)++, ts, 0xD0 + (uint32_t)from, pl, 4);
		g_assert_cmpint(media_bridge_push(br, from, pkt, n, *t, &out), ==, 0);
		*t += 20000;
		for (unsigned i = 0; i < out.n_digits; i++) {
			g_assert_cmpint(out.digits[i].from_leg, ==, from);
			g_string_append_c(digits, out.digits[i].digit);
			if (out.digits[i].end)
				g_string_append_c(digits, '.');
		}
		for (unsigned i = 0; i < out.count; i++) {
			rtp_hdr h;
			media_te e;
			g_assert_cmpint(out.pkt[i].leg, ==, 1 - from);
			g_assert_cmpint(rtp_parse(out.pkt[i].data, out.pkt[i].len, &h), ==, 0);
			g_assert_cmpuint(h.pt, ==, 101);
			g_assert_cmpint(media_te_parse(h.payload, h.payload_len, &e), ==, 0);
			g_string_append_c(seen_events, media_te_digit(e.event));
			if (e.end) {
				g_array_append_val(durations, e.duration);
			}
		}
	}
}

static void test_dtmf_both_ways(void)
{
	media_bridge_leg a = opus_leg, b = pcmu_leg;
	media_bridge *br;
	g_assert_cmpint(media_bridge_create(&a, &b, &br), ==, 0);
	uint16_t seq = 1;
	uint64_t t = 1000000;
	g_autoptr(GString) ev = g_string_new(NULL), dg = g_string_new(NULL);
	g_autoptr(GArray) dur = g_array_new(FALSE, FALSE, sizeof(uint16_t));
	/* Browser -> SIP: 120 ms at 48 kHz = 5760 ticks -> 960 at 8 kHz. */
	press(br, 0, '5', 48000, 96000, &seq, &t, ev, dg, dur);
	g_assert_cmpstr(ev->str, ==, "55555555"); /* 5 growing durations, 3 ends */
	g_assert_cmpuint(dur->len, ==, 3);
	g_assert_cmpuint(g_array_index(dur, uint16_t, 0), ==, 960);
	g_assert_cmpstr(dg->str, ==, "55."); /* reported at start and end too */
	/* SIP -> browser: '#' at 8 kHz becomes 48 kHz durations. */
	g_string_truncate(ev, 0);
	g_string_truncate(dg, 0);
	g_array_set_size(dur, 0);
	press(br, 1, '#', 8000, 8000, &seq, &t, ev, dg, dur);
	g_assert_cmpuint(ev->len, >=, 4);
	g_assert_null(strchr(ev->str, '5'));
	g_assert_cmpuint(g_array_index(dur, uint16_t, 0), ==, 5760);
	g_assert_cmpstr(dg->str, ==, "##.");
	media_bridge_free(br);

	/* A SIP leg that wants digits (INFO): no RFC 4733 toward it. */
	b.dtmf_as_digits = true;
	g_assert_cmpint(media_bridge_create(&a, &b, &br), ==, 0);
	g_string_truncate(ev, 0);
	g_string_truncate(dg, 0);
	press(br, 0, '9', 48000, 96000, &seq, &t, ev, dg, dur);
	g_assert_cmpstr(ev->str, ==, "");
	g_assert_cmpstr(dg->str, ==, "99.");
	/* And digits from INFO injected toward the browser leg. */
	g_assert_cmpint(media_bridge_send_digit(br, 0, '7', 100), ==, 0);
	g_assert_cmpint(media_bridge_send_digit(br, 0, '8', 100), ==, EBUSY);
	g_assert_cmpint(media_bridge_send_digit(br, 0, 'x', 100), ==, EINVAL);
	unsigned te = 0, ends = 0;
	media_bridge_out out;
	for (int i = 0; i < 20; i++, t += 20000) {
		media_bridge_tick(br, t, &out);
		for (unsigned k = 0; k < out.count; k++) {
			rtp_hdr h;
			media_te e;
			g_assert_cmpint(rtp_parse(out.pkt[k].data, out.pkt[k].len, &h), ==, 0);
			if (h.pt != 101)
				continue;
			g_assert_cmpint(out.pkt[k].leg, ==, 0);
			g_assert_cmpint(media_te_parse(h.payload, h.payload_len, &e), ==, 0);
			g_assert_cmpuint(e.event, ==, 7);
			g_assert_true(h.marker == (te == 0));
			te++;
			ends += e.end;
		}
	}
	g_assert_cmpuint(te, ==, 4 + 3);
	g_assert_cmpuint(ends, ==, 3);
	media_bridge_free(br);
}

/* Loss shows in stats; a transcode path keeps producing audio across it. */
static void test_stats_loss(void)
{
	media_bridge_leg a = pcmu_leg, b = opus_leg;
	a.ptime_ms = 20;
	media_bridge *br;
	g_assert_cmpint(media_bridge_create(&a, &b, &br), ==, 0);
	uint8_t pkt[200], pl[160];
	memset(pl, 0xff, sizeof pl);
	media_bridge_out out;
	uint64_t t = 0;
	unsigned sent_to_b = 0;
	for (int i = 0; i < 100; i++, t += 20000) {
		if (i % 10 != 3) {
			size_t n = make_pkt(pkt, 0, false, (uint16_t)i, 160u * i, 9, pl, 160);
			media_bridge_push(br, 0, pkt, n, t, &out);
		}
		media_bridge_tick(br, t, &out);
		sent_to_b += out.count;
	}
	media_bridge_stats st;
	media_bridge_get_stats(br, 0, &st);
	g_assert_cmpint(st.lost, ==, 10);
	g_assert_cmpuint(st.concealed, >=, 9);
	g_assert_cmpuint(st.rx_bytes, ==, 90 * 172);
	g_assert_cmpuint(sent_to_b, >=, 95);
	media_bridge_free(br);
}

/* A 1 s pause in the source: output timestamps follow the wall clock and
 * the talkspurt after it is marked; with send_silence the stream goes on. */
static void run_gap(bool silence)
{
	media_bridge_leg a = pcmu_leg, b = opus_leg;
	a.ptime_ms = 20;
	b.send_silence = silence;
	media_bridge *br;
	g_assert_cmpint(media_bridge_create(&a, &b, &br), ==, 0);
	uint8_t pkt[200], pl[160];
	memset(pl, 0xff, sizeof pl);
	media_bridge_out out;
	uint64_t t = 0;
	bool have = false;
	uint16_t last_seq = 0;
	uint32_t last_ts = 0;
	uint64_t last_t = 0;
	unsigned jumps = 0, sent = 0;
	for (int i = 0; i < 150; i++, t += 20000) {
		if (i < 50 || i >= 100) {
			size_t n = make_pkt(pkt, 0, false, (uint16_t)i, 160u * i, 9, pl, 160);
			media_bridge_push(br, 0, pkt, n, t, &out);
		}
		media_bridge_tick(br, t, &out);
		for (unsigned k = 0; k < out.count; k++) {
			rtp_hdr h;
			g_assert_cmpint(rtp_parse(out.pkt[k].data, out.pkt[k].len, &h), ==, 0);
			sent++;
			if (have) {
				g_assert_cmpuint(h.seq, ==, (uint16_t)(last_seq + 1));
				uint32_t dts = h.ts - last_ts;
				uint64_t dt_ticks = (t - last_t) * 48 / 1000;
				/* ts advances with the wall clock (within a frame or two
				 * of jitter-buffer slack) */
				g_assert_cmpint(llabs((long long)dts - (long long)dt_ticks), <=, 960 * 3);
				if (dts > 960) {
					jumps++;
					g_assert_true(h.marker);
				} else {
					g_assert_false(h.marker);
				}
			}
			have = true;
			last_seq = h.seq;
			last_ts = h.ts;
			last_t = t;
		}
	}
	if (silence) {
		g_assert_cmpuint(jumps, ==, 0);
		g_assert_cmpuint(sent, >=, 145);
	} else {
		g_assert_cmpuint(jumps, ==, 1);
		g_assert_cmpuint(sent, <=, 100 + 300 / 20 + 2); /* + concealment before it stops */
	}
	media_bridge_free(br);
}

static void test_gap(void)
{
	run_gap(false);
	run_gap(true);
}

/* Steady state relay and transcode allocate nothing per packet. */
static void test_no_alloc(void)
{
	alloc_counter_install();
	media_bridge_leg a = opus_leg, b = pcmu_leg, c = opus_leg;
	b.ptime_ms = 20;
	media_bridge *tr, *rl;
	g_assert_cmpint(media_bridge_create(&a, &b, &tr), ==, 0);
	g_assert_cmpint(media_bridge_create(&a, &c, &rl), ==, 0);
	media_codec *enc;
	g_assert_cmpint(media_codec_create(&(media_codec_opts){ .name = "opus" }, &enc), ==, 0);
	uint8_t pl[400], pkt[512], upl[160];
	int16_t pcm[960];
	double ph = 0;
	memset(upl, 0xff, sizeof upl);
	media_bridge_out out;
	uint64_t t = 0;
	unsigned emitted = 0;
	for (int i = 0; i < 200; i++, t += 20000) {
		if (i == 100) {
			n_allocs = 0;
			count_allocs = 1; /* after warm-up */
		}
		size_t len;
		sig_tone(pcm, 960, 48000, 440, 8000, &ph);
		media_codec_encode(enc, pcm, 960, pl, sizeof pl, &len);
		size_t n = make_pkt(pkt, 111, false, (uint16_t)i, 960u * i, 1, pl, len);
		media_bridge_push(rl, 0, pkt, n, t, &out);
		emitted += out.count;
		n = make_pkt(pkt, 111, false, (uint16_t)i, 960u * i, 1, pl, len);
		media_bridge_push(tr, 0, pkt, n, t, &out);
		n = make_pkt(pkt, 0, false, (uint16_t)i, 160u * i, 2, upl, 160);
		media_bridge_push(tr, 1, pkt, n, t, &out);
		media_bridge_tick(tr, t, &out);
		emitted += out.count;
		if (i == 150)
			media_bridge_send_digit(tr, 1, '1', 100);
	}
	count_allocs = 0;
	g_test_message("allocations in 100 steady-state steps: %lu", n_allocs);
	g_assert_cmpuint(n_allocs, ==, 0);
	g_assert_cmpuint(emitted, >, 300);
	/* The counter itself works. */
	count_allocs = 1;
	void *volatile p = malloc(16);
	count_allocs = 0;
	free(p);
	g_assert_cmpuint(n_allocs, ==, 1);
	media_codec_free(enc);
	media_bridge_free(tr);
	media_bridge_free(rl);
}

static void test_create_errors(void)
{
	media_bridge *br;
	media_bridge_leg a = opus_leg, b = pcmu_leg;
	b.codec = "G729";
	g_assert_cmpint(media_bridge_create(&a, &b, &br), ==, ENOENT);
	g_assert_null(br);
	g_assert_cmpint(media_bridge_create(&a, NULL, &br), ==, EINVAL);
	/* Same codec, different ptime for G.711: transcode (re-packetise). */
	media_bridge_leg u20 = pcmu_leg, u30 = pcmu_leg;
	u20.ptime_ms = 20;
	g_assert_cmpint(media_bridge_create(&u20, &u30, &br), ==, 0);
	g_assert_false(media_bridge_is_relay(br));
	media_bridge_free(br);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/media/bridge/relay-source-change", test_relay_source_change);
	g_test_add_func("/media/bridge/transcode-opus48k-pcmu", test_transcode_48k);
	g_test_add_func("/media/bridge/transcode-opus8k-pcmu", test_transcode_8k);
	g_test_add_func("/media/bridge/codec-pairs", test_pairs);
	g_test_add_func("/media/bridge/dtmf", test_dtmf_both_ways);
	g_test_add_func("/media/bridge/stats-loss", test_stats_loss);
	g_test_add_func("/media/bridge/gap", test_gap);
	g_test_add_func("/media/bridge/no-alloc", test_no_alloc);
	g_test_add_func("/media/bridge/create-errors", test_create_errors);
	return g_test_run();
}
