#include <errno.h>
#include <glib.h>
#include <string.h>

#include "media/codec.h"
#include "test_media_signal.h"

static GBytes *load(const char *name)
{
	const char *src = g_getenv("JN_SRCDIR");
	g_autofree char *path = g_build_filename(src ? src : JN_SRCDIR, "tests", "data", "g711", name, NULL);
	char *data;
	gsize len;
	g_autoptr(GError) err = NULL;
	g_assert_true(g_file_get_contents(path, &data, &len, &err));
	return g_bytes_new_take(data, len);
}

/* Every 16-bit value encodes to exactly what sox produced. */
static void test_g711_encode_all(void)
{
	g_autoptr(GBytes) u = load("all16.ulaw");
	g_autoptr(GBytes) a = load("all16.alaw");
	gsize un, an;
	const uint8_t *ud = g_bytes_get_data(u, &un), *ad = g_bytes_get_data(a, &an);
	g_assert_cmpuint(un, ==, 65536);
	g_assert_cmpuint(an, ==, 65536);
	unsigned bad_u = 0, bad_a = 0;
	for (int v = -32768; v < 32768; v++) {
		if (media_g711_ulaw_encode((int16_t)v) != ud[v + 32768])
			bad_u++;
		if (media_g711_alaw_encode((int16_t)v) != ad[v + 32768])
			bad_a++;
	}
	g_assert_cmpuint(bad_u, ==, 0);
	g_assert_cmpuint(bad_a, ==, 0);
}

/* Every code decodes to sox's value. */
static void test_g711_decode_all(void)
{
	g_autoptr(GBytes) u = load("codes.ulaw.s16");
	g_autoptr(GBytes) a = load("codes.alaw.s16");
	gsize un, an;
	const uint8_t *ud = g_bytes_get_data(u, &un), *ad = g_bytes_get_data(a, &an);
	g_assert_cmpuint(un, ==, 512);
	g_assert_cmpuint(an, ==, 512);
	for (unsigned c = 0; c < 256; c++) {
		int16_t su = (int16_t)(ud[2 * c] | (ud[2 * c + 1] << 8));
		int16_t sa = (int16_t)(ad[2 * c] | (ad[2 * c + 1] << 8));
		g_assert_cmpint(media_g711_ulaw_decode((uint8_t)c), ==, su);
		g_assert_cmpint(media_g711_alaw_decode((uint8_t)c), ==, sa);
	}
}

/* Through the codec interface: sox's tone file encodes byte for byte. */
static void test_g711_codec(void)
{
	g_autoptr(GBytes) pcmb = load("tone1k.s16");
	g_autoptr(GBytes) ub = load("tone1k.ulaw");
	g_autoptr(GBytes) ab = load("tone1k.alaw");
	gsize n, un, an;
	const uint8_t *raw = g_bytes_get_data(pcmb, &n);
	const uint8_t *ud = g_bytes_get_data(ub, &un), *ad = g_bytes_get_data(ab, &an);
	unsigned samples = (unsigned)(n / 2);
	g_assert_cmpuint(samples, ==, un);
	g_assert_cmpuint(samples, ==, an);
	int16_t *pcm = g_new(int16_t, samples);
	for (unsigned i = 0; i < samples; i++)
		pcm[i] = (int16_t)(raw[2 * i] | (raw[2 * i + 1] << 8));

	const char *names[] = { "PCMU", "pcma" };
	const uint8_t *refs[] = { ud, ad };
	for (unsigned k = 0; k < 2; k++) {
		media_codec *c;
		media_codec_opts o = { .name = names[k] };
		g_assert_cmpint(media_codec_create(&o, &c), ==, 0);
		g_assert_cmpuint(media_codec_clock_rate(c), ==, 8000);
		g_assert_cmpuint(media_codec_frame_samples(c), ==, 160);
		uint8_t out[160];
		size_t len;
		for (unsigned off = 0; off + 160 <= samples; off += 160) {
			g_assert_cmpint(media_codec_encode(c, pcm + off, 160, out, sizeof out, &len), ==, 0);
			g_assert_cmpuint(len, ==, 160);
			g_assert_cmpmem(out, 160, refs[k] + off, 160);
		}
		g_assert_cmpint(media_codec_encode(c, pcm, 160, out, 100, &len), ==, ENOSPC);
		/* Decode and conceal: the 1 kHz tone survives, PLC is not silence. */
		int16_t dec[160];
		unsigned got;
		g_assert_cmpint(media_codec_decode(c, refs[k], 160, dec, 160, &got), ==, 0);
		g_assert_cmpuint(got, ==, 160);
		g_assert_cmpfloat(fabs(sig_zc_freq(dec, 160, 8000) - 1000), <, 10);
		g_assert_cmpint(media_codec_conceal(c, NULL, 0, dec, 160), ==, 0);
		g_assert_cmpfloat(sig_rms(dec, 160), >, 1000);
		g_assert_cmpfloat(fabs(sig_zc_freq(dec, 160, 8000) - 1000), <, 20);
		media_codec_stats st;
		media_codec_get_stats(c, &st);
		g_assert_cmpuint(st.concealed, ==, 1);
		g_assert_cmpuint(st.decoded, ==, 1);
		media_codec_free(c);
	}
	g_free(pcm);
}

static void test_create_errors(void)
{
	media_codec *c;
	media_codec_opts o = { .name = "G729" };
	g_assert_cmpint(media_codec_create(&o, &c), ==, ENOENT);
	g_assert_null(c);
	o = (media_codec_opts){ .name = "PCMU", .clock_rate = 16000 };
	g_assert_cmpint(media_codec_create(&o, &c), ==, EINVAL);
	o = (media_codec_opts){ .name = "opus", .pcm_rate = 44100 };
	g_assert_cmpint(media_codec_create(&o, &c), ==, EINVAL);
	o = (media_codec_opts){ .name = "opus", .ptime_ms = 30 };
	g_assert_cmpint(media_codec_create(&o, &c), ==, EINVAL);
	o = (media_codec_opts){ .name = "PCMA", .ptime_ms = 30 };
	g_assert_cmpint(media_codec_create(&o, &c), ==, 0);
	g_assert_cmpuint(media_codec_frame_samples(c), ==, 240);
	media_codec_free(c);
}

static void test_fmtp(void)
{
	unsigned v;
	const char *f = "minptime=10; useinbandfec=1;stereo = 0;maxaveragebitrate=20000";
	g_assert_true(media_fmtp_uint(f, "useinbandfec", &v));
	g_assert_cmpuint(v, ==, 1);
	g_assert_true(media_fmtp_uint(f, "stereo", &v));
	g_assert_cmpuint(v, ==, 0);
	g_assert_true(media_fmtp_uint(f, "MaxAverageBitrate", &v));
	g_assert_cmpuint(v, ==, 20000);
	g_assert_true(media_fmtp_uint(f, "minptime", &v));
	g_assert_cmpuint(v, ==, 10);
	g_assert_false(media_fmtp_uint(f, "usedtx", &v));
	g_assert_false(media_fmtp_uint("a=x", "a", &v));
	g_assert_false(media_fmtp_uint("flag;a=99999999999", "a", &v));
	g_assert_false(media_fmtp_uint(NULL, "a", &v));
}

/* Encodes 1 s of a tone and decodes it; checks frequency and purity of the
 * second half (after the codec has settled). */
static void roundtrip(media_codec *enc, media_codec *dec, double freq, double min_purity)
{
	unsigned rate_in = media_codec_pcm_rate(enc);
	unsigned fs = media_codec_frame_samples(enc);
	unsigned rate_out = media_codec_pcm_rate(dec);
	unsigned frames = rate_in / fs;
	int16_t *in = g_new(int16_t, fs);
	int16_t *out = g_new0(int16_t, rate_out * 2);
	unsigned total = 0;
	double ph = 0;
	for (unsigned f = 0; f < frames; f++) {
		uint8_t pl[1500];
		size_t len;
		sig_tone(in, fs, rate_in, freq, 12000, &ph);
		g_assert_cmpint(media_codec_encode(enc, in, fs, pl, sizeof pl, &len), ==, 0);
		g_assert_cmpuint(len, >, 0);
		unsigned got;
		g_assert_cmpint(media_codec_decode(dec, pl, len, out + total, rate_out * 2 - total, &got), ==, 0);
		g_assert_cmpuint(got, ==, media_codec_payload_samples(dec, pl, len));
		total += got;
	}
	g_assert_cmpuint(total, ==, rate_out);
	const int16_t *half = out + total / 2;
	double f = sig_zc_freq(half, total / 2, rate_out);
	double p = sig_purity(half, total / 2, rate_out, freq);
	g_test_message("%s %u->%u Hz: %.1f Hz purity %.4f", media_codec_name(enc), rate_in, rate_out, f, p);
	g_assert_cmpfloat(fabs(f - freq), <, freq * 0.005);
	g_assert_cmpfloat(p, >, min_purity);
	g_free(in);
	g_free(out);
}

static void test_g722(void)
{
	media_codec *c;
	media_codec_opts o = { .name = "G722" };
	g_assert_cmpint(media_codec_create(&o, &c), ==, 0);
	g_assert_cmpuint(media_codec_clock_rate(c), ==, 8000);
	g_assert_cmpuint(media_codec_pcm_rate(c), ==, 16000);
	g_assert_cmpuint(media_codec_frame_samples(c), ==, 320);
	g_assert_cmpuint(media_codec_ticks(c, 320), ==, 160);
	roundtrip(c, c, 1000, 0.99);
	roundtrip(c, c, 5000, 0.95); /* above G.711's band */
	int16_t pcm[320];
	g_assert_cmpint(media_codec_conceal(c, NULL, 0, pcm, 320), ==, 0);
	g_assert_cmpfloat(sig_rms(pcm, 320), >, 1000);
	for (int i = 0; i < 3; i++)
		media_codec_conceal(c, NULL, 0, pcm, 320);
	g_assert_cmpfloat(sig_rms(pcm, 320), ==, 0); /* faded out */
	media_codec_free(c);
}

static void test_opus(void)
{
	media_codec *c, *d8;
	media_codec_opts o = { .name = "opus", .channels = 2, .fmtp = "useinbandfec=1" };
	g_assert_cmpint(media_codec_create(&o, &c), ==, 0);
	g_assert_cmpuint(media_codec_clock_rate(c), ==, 48000);
	g_assert_cmpuint(media_codec_frame_samples(c), ==, 960);
	roundtrip(c, c, 1000, 0.95);
	/* Decoding straight to 8 kHz. */
	o.pcm_rate = 8000;
	g_assert_cmpint(media_codec_create(&o, &d8), ==, 0);
	g_assert_cmpuint(media_codec_frame_samples(d8), ==, 160);
	g_assert_cmpuint(media_codec_ticks(d8, 160), ==, 960);
	roundtrip(c, d8, 1000, 0.95);
	roundtrip(d8, d8, 1000, 0.95);
	media_codec_free(d8);
	media_codec_free(c);
}

/* With useinbandfec the next packet recovers a lost one (FEC counted), and
 * without a next packet PLC fills in. */
static void test_opus_fec(void)
{
	media_codec *c;
	media_codec_opts o = { .name = "opus", .fmtp = "useinbandfec=1; maxaveragebitrate=32000" };
	g_assert_cmpint(media_codec_create(&o, &c), ==, 0);
	int16_t in[960], out[960];
	uint8_t pl[50][400];
	size_t len[50];
	double ph = 0;
	for (int i = 0; i < 50; i++) {
		sig_tone(in, 960, 48000, 440, 8000, &ph);
		g_assert_cmpint(media_codec_encode(c, in, 960, pl[i], sizeof pl[i], &len[i]), ==, 0);
		g_assert_cmpuint(len[i], <=, 32000 / 8 / 50 * 2);
	}
	unsigned got;
	for (int i = 0; i < 50; i++) {
		if (i == 30) {
			g_assert_cmpint(media_codec_conceal(c, pl[31], len[31], out, 960), ==, 0);
			g_assert_cmpfloat(sig_rms(out, 960), >, 1000);
			continue;
		}
		if (i == 40) {
			g_assert_cmpint(media_codec_conceal(c, NULL, 0, out, 960), ==, 0);
			continue;
		}
		g_assert_cmpint(media_codec_decode(c, pl[i], len[i], out, 960, &got), ==, 0);
	}
	media_codec_stats st;
	media_codec_get_stats(c, &st);
	g_assert_cmpuint(st.fec, ==, 1);
	g_assert_cmpuint(st.concealed, ==, 1);
	g_assert_cmpuint(st.decoded, ==, 48);
	g_assert_cmpint(media_codec_decode(c, (const uint8_t *)"", 0, out, 960, &got), ==, EBADMSG);
	media_codec_free(c);

	/* usedtx: silence becomes "send nothing" after a while. */
	o.fmtp = "usedtx=1";
	g_assert_cmpint(media_codec_create(&o, &c), ==, 0);
	memset(in, 0, sizeof in);
	unsigned empty = 0;
	for (int i = 0; i < 50; i++) {
		g_assert_cmpint(media_codec_encode(c, in, 960, pl[0], sizeof pl[0], &len[0]), ==, 0);
		empty += len[0] == 0;
	}
	g_assert_cmpuint(empty, >, 25);
	media_codec_free(c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/media/codec/g711-encode-all", test_g711_encode_all);
	g_test_add_func("/media/codec/g711-decode-all", test_g711_decode_all);
	g_test_add_func("/media/codec/g711-codec", test_g711_codec);
	g_test_add_func("/media/codec/create-errors", test_create_errors);
	g_test_add_func("/media/codec/fmtp", test_fmtp);
	g_test_add_func("/media/codec/g722", test_g722);
	g_test_add_func("/media/codec/opus", test_opus);
	g_test_add_func("/media/codec/opus-fec", test_opus_fec);
	return g_test_run();
}
