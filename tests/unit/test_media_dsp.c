/* Resampler, telephone-event and comfort-noise tests. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "media/dtmf.h"
#include "media/resample.h"
#include "test_media_signal.h"

/* 1 s of a 1 kHz tone through every pair of 8/16/48 kHz: the same count of
 * samples per 20 ms frame comes out and the tone stays at 1 kHz. */
static void test_resample_pairs(void)
{
	const unsigned rates[] = { 8000, 16000, 48000 };
	for (unsigned a = 0; a < 3; a++) {
		for (unsigned b = 0; b < 3; b++) {
			media_resampler *r;
			unsigned in_rate = rates[a], out_rate = rates[b];
			g_assert_cmpint(media_resampler_create(in_rate, out_rate, 1, MEDIA_RESAMPLE_QUALITY_VOIP, &r), ==, 0);
			unsigned fin = in_rate / 50, fout = out_rate / 50;
			int16_t in[960];
			int16_t *out = g_new0(int16_t, out_rate);
			double ph = 0;
			unsigned total = 0;
			for (unsigned f = 0; f < 50; f++) {
				unsigned n;
				sig_tone(in, fin, in_rate, 1000, 10000, &ph);
				g_assert_cmpint(media_resampler_process(r, in, fin, out + total,
									media_resampler_out_max(r, fin), &n), ==, 0);
				g_assert_cmpuint(n, ==, fout);
				total += n;
			}
			const int16_t *h = out + out_rate / 2;
			double f = sig_zc_freq(h, out_rate / 2, out_rate);
			double p = sig_purity(h, out_rate / 2, out_rate, 1000);
			g_test_message("%u->%u: %.2f Hz purity %.4f", in_rate, out_rate, f, p);
			g_assert_cmpfloat(fabs(f - 1000), <, 2);
			g_assert_cmpfloat(p, >, 0.99);
			g_assert_cmpfloat(sig_rms(h, out_rate / 2), >, 10000 / sqrt(2) * 0.9);
			unsigned n;
			g_assert_cmpint(media_resampler_process(r, in, fin, out, 10, &n), ==, ENOSPC);
			media_resampler_reset(r);
			g_free(out);
			media_resampler_free(r);
		}
	}
	media_resampler *r;
	g_assert_cmpint(media_resampler_create(0, 8000, 1, 3, &r), ==, EINVAL);
	g_assert_cmpint(media_resampler_create(8000, 8000, 3, 3, &r), ==, EINVAL);
	g_assert_cmpint(media_resampler_create(8000, 16000, 1, 11, &r), ==, EINVAL);
}

static void test_te_parse(void)
{
	const uint8_t p[] = { 11, 0x80 | 0x40 | 10, 0x03, 0x20 };
	media_te e;
	g_assert_cmpint(media_te_parse(p, 4, &e), ==, 0);
	g_assert_cmpuint(e.event, ==, 11);
	g_assert_true(e.end);
	g_assert_cmpuint(e.volume, ==, 10);
	g_assert_cmpuint(e.duration, ==, 800);
	g_assert_cmpint(media_te_parse(p, 3, &e), ==, EBADMSG);
	g_assert_cmpint(media_te_parse(NULL, 0, &e), ==, EBADMSG);
	uint8_t w[4];
	media_te_write(&e, w);
	g_assert_cmpmem(w, 4, "\x0b\x8a\x03\x20", 4); /* the R bit is not written back */
	g_assert_cmpint(media_te_digit(11), ==, '#');
	g_assert_cmpint(media_te_digit(10), ==, '*');
	g_assert_cmpint(media_te_digit(15), ==, 'D');
	g_assert_cmpint(media_te_digit(200), ==, 0);
	g_assert_cmpint(media_te_event('7'), ==, 7);
	g_assert_cmpint(media_te_event('b'), ==, 13);
	g_assert_cmpint(media_te_event('x'), ==, -1);
	g_assert_cmpint(media_te_event(0), ==, -1);
}

/* A generated press has the right shape and the receiver reports it once. */
static void test_te_roundtrip(void)
{
	media_te_tx tx;
	media_te_tx_init(&tx, 8000, 20);
	g_assert_cmpint(media_te_tx_start(&tx, '5', 100, 10), ==, 0);
	g_assert_cmpint(media_te_tx_start(&tx, '6', 100, 10), ==, EBUSY);
	media_te_rx rx;
	media_te_rx_init(&rx);
	uint8_t pl[4];
	bool first;
	unsigned n = 0, starts = 0, ends = 0, end_pkts = 0;
	uint16_t last_dur = 0;
	while (media_te_tx_next(&tx, pl, &first)) {
		media_te e;
		g_assert_cmpint(media_te_parse(pl, 4, &e), ==, 0);
		g_assert_cmpuint(e.event, ==, 5);
		g_assert_true(first == (n == 0));
		g_assert_cmpuint(e.duration, >=, last_dur);
		last_dur = e.duration;
		end_pkts += e.end;
		media_te got;
		media_te_what w = media_te_rx_push(&rx, 1000, pl, 4, &got);
		starts += w == MEDIA_TE_START;
		ends += w == MEDIA_TE_END;
		n++;
	}
	/* 100 ms at 20 ms: durations 160..640 then 3 ends at 800. */
	g_assert_cmpuint(n, ==, 4 + 3);
	g_assert_cmpuint(end_pkts, ==, 3);
	g_assert_cmpuint(last_dur, ==, 800);
	g_assert_cmpuint(starts, ==, 1);
	g_assert_cmpuint(ends, ==, 1);
	g_assert_false(media_te_tx_active(&tx));
	/* Same digit again: a new timestamp is a new press. */
	media_te got;
	const uint8_t endonly[] = { 5, 0x80, 0x03, 0x20 };
	g_assert_cmpint(media_te_rx_push(&rx, 3000, endonly, 4, &got), ==, MEDIA_TE_START_END);
	g_assert_cmpint(media_te_rx_push(&rx, 3000, endonly, 4, &got), ==, MEDIA_TE_NONE);
	/* A late packet from the older press is ignored. */
	g_assert_cmpint(media_te_rx_push(&rx, 1000, pl, 4, &got), ==, MEDIA_TE_NONE);
	g_assert_cmpint(media_te_rx_push(&rx, 4000, pl, 3, &got), ==, MEDIA_TE_NONE);
	/* At 48 kHz the durations are in 48 kHz ticks; very long presses cap. */
	media_te_tx_init(&tx, 48000, 20);
	g_assert_cmpint(media_te_tx_start(&tx, '#', 5000, 10), ==, 0);
	while (media_te_tx_next(&tx, pl, &first))
		;
	g_assert_cmpint(media_te_parse(pl, 4, &got), ==, 0);
	g_assert_cmpuint(got.duration, ==, 0xffff);
	g_assert_cmpint(media_te_tx_start(&tx, 'z', 100, 10), ==, EINVAL);
}

static void test_cn(void)
{
	const uint8_t p[] = { 40, 1, 2, 3 };
	uint8_t level;
	unsigned nc;
	g_assert_cmpint(media_cn_parse(p, sizeof p, &level, &nc), ==, 0);
	g_assert_cmpuint(level, ==, 40);
	g_assert_cmpuint(nc, ==, 3);
	g_assert_cmpint(media_cn_parse(p, 0, &level, &nc), ==, EBADMSG);
	g_assert_cmpint(media_cn_parse((const uint8_t *)"\x80", 1, &level, &nc), ==, EBADMSG);
	int16_t pcm[8000];
	uint32_t seed = 0;
	media_cn_fill(40, pcm, 8000, &seed);
	/* -40 dBov is an RMS of about 328. */
	double rms = sig_rms(pcm, 8000);
	g_assert_cmpfloat(rms, >, 328 * 0.9);
	g_assert_cmpfloat(rms, <, 328 * 1.1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/media/resample/pairs", test_resample_pairs);
	g_test_add_func("/media/te/parse", test_te_parse);
	g_test_add_func("/media/te/roundtrip", test_te_roundtrip);
	g_test_add_func("/media/cn", test_cn);
	return g_test_run();
}
