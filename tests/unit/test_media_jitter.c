/* Jitter buffer under a network simulator. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "media/codec.h"
#include "media/jitter.h"
#include "test_media_signal.h"

typedef struct {
	uint64_t at_us; /* arrival */
	uint32_t ts;
	uint8_t payload[160];
} sim_pkt;

static int cmp_arrival(const void *a, const void *b)
{
	const sim_pkt *x = a, *y = b;
	return (x->at_us > y->at_us) - (x->at_us < y->at_us);
}

typedef struct {
	unsigned frames_out;
	unsigned quiet;	    /* output frames after start with RMS < 1% of the tone */
	double max_delay_ms; /* end to end: playout time - send time */
	double avg_delay_ms;
	unsigned reordered;
	media_jb_stats st;
} sim_result;

/* Sends `seconds` of a 1 kHz PCMU tone in 20 ms packets from a sender whose
 * clock runs (1 + drift) times the receiver's; each packet is lost with
 * probability loss, else delayed by 20 ms + uniform(0, jitter_ms). The
 * receiver pulls a 20 ms frame every 20 ms of its own clock. */
static void simulate(double drift, double loss, double jitter_ms, unsigned seconds, sim_result *r)
{
	memset(r, 0, sizeof *r);
	GRand *rng = g_rand_new_with_seed(1234);
	media_codec *c;
	media_codec_opts co = { .name = "PCMU" };
	g_assert_cmpint(media_codec_create(&co, &c), ==, 0);
	media_jb *jb;
	media_jb_opts jo = { .codec = c, .max_ms = 200 };
	g_assert_cmpint(media_jb_create(&jo, &jb), ==, 0);

	unsigned n = seconds * 50;
	sim_pkt *pkts = g_new0(sim_pkt, n);
	unsigned sent = 0;
	double ph = 0;
	int16_t pcm[160];
	for (unsigned i = 0; i < n; i++) {
		sig_tone(pcm, 160, 8000, 1000, 8000, &ph);
		if (g_rand_double(rng) < loss)
			continue;
		sim_pkt *p = &pkts[sent++];
		uint64_t send_us = (uint64_t)(i * 20000.0 / (1 + drift));
		p->at_us = 1000000 + send_us + 20000 + (uint64_t)(g_rand_double(rng) * jitter_ms * 1000);
		p->ts = 5000 + 160 * i;
		size_t len;
		media_codec_encode(c, pcm, 160, p->payload, sizeof p->payload, &len);
	}
	/* Count packets overtaken by a later-sent one. */
	uint32_t max_ts = 0;
	qsort(pkts, sent, sizeof *pkts, cmp_arrival);
	for (unsigned i = 0; i < sent; i++) {
		if (i && pkts[i].ts < max_ts)
			r->reordered++;
		if (pkts[i].ts > max_ts)
			max_ts = pkts[i].ts;
	}

	unsigned next = 0;
	bool started = false;
	double sum_delay = 0;
	unsigned delays = 0;
	for (uint64_t t = 1000000; t < 1000000 + (uint64_t)seconds * 1000000; t += 20000) {
		while (next < sent && pkts[next].at_us <= t) {
			media_jb_put(jb, pkts[next].ts, pkts[next].payload, 160, pkts[next].at_us);
			next++;
		}
		int16_t out[160];
		media_jb_get(jb, out);
		r->frames_out++;
		if (!media_jb_playing(jb))
			continue;
		started = true;
		if (sig_rms(out, 160) < 8000 * 0.707 * 0.01)
			r->quiet++;
		/* The sender produced out_ts at (ts - 5000) / 8 ms of its clock. */
		double send_ms = (media_jb_out_ts(jb) - 5000) / 8.0 / (1 + drift);
		double delay = (t - 1000000) / 1000.0 - send_ms;
		sum_delay += delay;
		delays++;
		if (delay > r->max_delay_ms)
			r->max_delay_ms = delay;
	}
	g_assert_true(started);
	r->avg_delay_ms = sum_delay / delays;
	media_jb_get_stats(jb, &r->st);
	g_test_message("drift %+.1f%% loss %.0f%% jitter %.0f ms: reordered %u, decoded %" G_GUINT64_FORMAT
		       ", concealed %" G_GUINT64_FORMAT ", late %" G_GUINT64_FORMAT ", shrunk %" G_GUINT64_FORMAT
		       ", stretched %" G_GUINT64_FORMAT ", silent %" G_GUINT64_FORMAT ", quiet %u, target %u ms, delay avg %.1f max %.1f ms",
		       drift * 100, loss * 100, jitter_ms, r->reordered, r->st.decoded, r->st.concealed, r->st.late,
		       r->st.shrunk, r->st.stretched, r->st.silent, r->quiet, r->st.target_ms, r->avg_delay_ms,
		       r->max_delay_ms);
	g_free(pkts);
	media_jb_free(jb);
	media_codec_free(c);
	g_rand_free(rng);
}

static void check_bounds(const sim_result *r, unsigned seconds, double loss)
{
	unsigned frames = seconds * 50;
	/* Continuous: after the initial buffering, never silent. */
	g_assert_cmpuint(r->st.silent, <, 10);
	g_assert_cmpuint(r->st.resyncs, ==, 0);
	/* Loss concealed: PLC frames cover the losses plus a few late ones,
	 * and the output is practically never quiet. */
	g_assert_cmpfloat(r->st.concealed, >=, frames * loss * 0.7);
	g_assert_cmpfloat(r->st.concealed, <=, frames * (loss + 0.04));
	g_assert_cmpuint(r->quiet, <=, frames / 200);
	/* Delay bounded: 20 ms network floor + 40 ms jitter + a frame or two,
	 * and never above the cap plus network floor. */
	g_assert_cmpfloat(r->avg_delay_ms, <, 120);
	g_assert_cmpfloat(r->max_delay_ms, <, 20 + 200 + 40);
	/* Adaptation is rare: no more than one step per second on average. */
	g_assert_cmpuint(r->st.shrunk + r->st.stretched, <=, seconds);
}

static void test_sim_fast_sender(void)
{
	sim_result r;
	simulate(0.001, 0.10, 40, 60, &r);
	g_assert_cmpuint(r.reordered, >, 100);
	check_bounds(&r, 60, 0.10);
	/* 0.1% fast over 60 s is 60 ms of backlog: it was shed. */
	g_assert_cmpuint(r.st.shrunk, >=, r.st.stretched + 2);
}

static void test_sim_slow_sender(void)
{
	sim_result r;
	simulate(-0.001, 0.10, 40, 60, &r);
	check_bounds(&r, 60, 0.10);
	g_assert_cmpuint(r.st.stretched, >=, r.st.shrunk + 2);
}

static void test_sim_clean(void)
{
	sim_result r;
	simulate(0, 0, 0, 10, &r);
	g_assert_cmpuint(r.st.concealed, ==, 0);
	g_assert_cmpuint(r.quiet, ==, 0);
	g_assert_cmpfloat(r.max_delay_ms, <=, 60);
}

/* Duplicates, late packets, a timestamp jump and a long silence. */
static void test_events(void)
{
	media_codec *c;
	media_codec_opts co = { .name = "PCMA" };
	g_assert_cmpint(media_codec_create(&co, &c), ==, 0);
	media_jb *jb;
	media_jb_opts jo = { .codec = c, .min_ms = 40, .max_ms = 100 };
	g_assert_cmpint(media_jb_create(&jo, &jb), ==, 0);
	uint8_t pl[160];
	memset(pl, 0xd5, sizeof pl);
	int16_t out[160];
	uint64_t t = 0;
	uint32_t ts = 1000;
	for (int i = 0; i < 20; i++, ts += 160, t += 20000) {
		g_assert_cmpint(media_jb_put(jb, ts, pl, 160, t), ==, 0);
		g_assert_cmpint(media_jb_put(jb, ts, pl, 160, t), ==, EALREADY);
		media_jb_get(jb, out);
	}
	media_jb_stats st;
	media_jb_get_stats(jb, &st);
	g_assert_cmpuint(st.duplicates, ==, 20);
	g_assert_true(media_jb_playing(jb));
	/* A packet for audio already played is late. */
	g_assert_cmpint(media_jb_put(jb, 1000, pl, 160, t), ==, EALREADY);
	g_assert_cmpint(media_jb_put(jb, ts, pl, 2000, t), ==, EMSGSIZE);
	/* A 10 s jump forward: a new timeline, playout restarts on it. */
	ts += 80000;
	for (int i = 0; i < 20; i++, ts += 160, t += 20000) {
		media_jb_put(jb, ts, pl, 160, t);
		media_jb_get(jb, out);
	}
	media_jb_get_stats(jb, &st);
	g_assert_cmpuint(st.resyncs, ==, 1);
	g_assert_true(media_jb_playing(jb));
	g_assert_cmpint((int32_t)(media_jb_out_ts(jb) - (ts - 20 * 160)), >, 0);
	/* Silence for 1 s: concealment stops, the buffer rebuffers. */
	for (int i = 0; i < 50; i++, t += 20000)
		media_jb_get(jb, out);
	g_assert_false(media_jb_playing(jb));
	g_assert_cmpint(out[0], ==, 0);
	media_jb_get_stats(jb, &st);
	g_assert_cmpuint(st.concealed, <=, 300 / 20 + 1);
	media_jb_free(jb);
	media_codec_free(c);
	g_assert_cmpint(media_jb_create(&(media_jb_opts){ .codec = NULL }, &jb), ==, EINVAL);
}

/* Opus packets of 60 ms come out as 20 ms frames at the consumer's rate. */
static void test_ptime_conversion(void)
{
	media_codec *enc, *dec;
	media_codec_opts eo = { .name = "opus", .ptime_ms = 60 };
	media_codec_opts dopt = { .name = "opus", .pcm_rate = 16000 };
	g_assert_cmpint(media_codec_create(&eo, &enc), ==, 0);
	g_assert_cmpint(media_codec_create(&dopt, &dec), ==, 0);
	media_jb *jb;
	g_assert_cmpint(media_jb_create(&(media_jb_opts){ .codec = dec }, &jb), ==, 0);
	g_assert_cmpuint(media_jb_frame_samples(jb), ==, 320);
	int16_t in[2880], out[16000];
	double ph = 0;
	unsigned got = 0;
	uint64_t t = 0;
	for (int i = 0; i < 17; i++) {
		uint8_t pl[1500];
		size_t len;
		sig_tone(in, 2880, 48000, 1000, 10000, &ph);
		g_assert_cmpint(media_codec_encode(enc, in, 2880, pl, sizeof pl, &len), ==, 0);
		g_assert_cmpint(media_jb_put(jb, 48000 + 2880 * i, pl, len, t), ==, 0);
		for (int k = 0; k < 3; k++, t += 20000) {
			media_jb_get(jb, out + got);
			if (media_jb_playing(jb) && got + 320 < 16000)
				got += 320;
		}
	}
	media_jb_stats st;
	media_jb_get_stats(jb, &st);
	g_assert_cmpuint(st.concealed, ==, 0);
	g_assert_cmpuint(got, >=, 8000);
	g_assert_cmpfloat(fabs(sig_zc_freq(out + 2000, got - 2000, 16000) - 1000), <, 5);
	media_jb_free(jb);
	media_codec_free(enc);
	media_codec_free(dec);
}

/* A backlog above the cap (a stalled consumer, a burst after a network
 * freeze) is shed at once, one frame per get, down to the cap. */
static void test_delay_cap(void)
{
	media_codec *c;
	g_assert_cmpint(media_codec_create(&(media_codec_opts){ .name = "PCMU" }, &c), ==, 0);
	media_jb *jb;
	g_assert_cmpint(media_jb_create(&(media_jb_opts){ .codec = c, .max_ms = 100 }, &jb), ==, 0);
	uint8_t pl[160];
	memset(pl, 0xff, sizeof pl);
	int16_t out[160];
	uint32_t ts = 0;
	uint64_t t = 0;
	for (int i = 0; i < 30; i++, ts += 160)
		g_assert_cmpint(media_jb_put(jb, ts, pl, 160, t), ==, 0);
	media_jb_stats st;
	media_jb_get_stats(jb, &st);
	g_assert_cmpuint(st.level_ms, ==, 600);
	for (int i = 0; i < 30; i++, ts += 160, t += 20000) {
		media_jb_get(jb, out);
		media_jb_put(jb, ts, pl, 160, t);
	}
	media_jb_get_stats(jb, &st);
	g_test_message("level %u ms after 30 frames, shrunk %" G_GUINT64_FORMAT, st.level_ms, st.shrunk);
	g_assert_cmpuint(st.level_ms, <=, 100 + 20 + 20);
	g_assert_cmpuint(st.shrunk, >=, 20);
	g_assert_cmpuint(st.concealed, ==, 0);
	media_jb_free(jb);
	media_codec_free(c);
}

/* Opus with in-band FEC: lost packets are rebuilt from the next one. */
static void test_opus_fec(void)
{
	media_codec *enc, *dec;
	media_codec_opts eo = { .name = "opus", .fmtp = "useinbandfec=1" };
	media_codec_opts dopt = { .name = "opus" };
	g_assert_cmpint(media_codec_create(&eo, &enc), ==, 0);
	g_assert_cmpint(media_codec_create(&dopt, &dec), ==, 0);
	media_jb *jb;
	g_assert_cmpint(media_jb_create(&(media_jb_opts){ .codec = dec }, &jb), ==, 0);
	int16_t in[960], out[960];
	double ph = 0;
	unsigned lost = 0;
	uint64_t t = 0;
	for (int i = 0; i < 200; i++, t += 20000) {
		uint8_t pl[1500];
		size_t len;
		sig_tone(in, 960, 48000, 300, 8000, &ph);
		g_assert_cmpint(media_codec_encode(enc, in, 960, pl, sizeof pl, &len), ==, 0);
		if (i % 10 == 5 && i > 20)
			lost++;
		else
			media_jb_put(jb, 960u * i, pl, len, t);
		media_jb_get(jb, out);
	}
	media_codec_stats cs;
	media_jb_stats js;
	media_codec_get_stats(dec, &cs);
	media_jb_get_stats(jb, &js);
	g_test_message("lost %u, fec %" G_GUINT64_FORMAT ", plc %" G_GUINT64_FORMAT, lost, cs.fec, cs.concealed);
	g_assert_cmpuint(cs.fec, ==, lost);
	g_assert_cmpuint(js.concealed, ==, lost);
	media_jb_free(jb);
	media_codec_free(enc);
	media_codec_free(dec);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/media/jitter/sim-fast-sender", test_sim_fast_sender);
	g_test_add_func("/media/jitter/sim-slow-sender", test_sim_slow_sender);
	g_test_add_func("/media/jitter/sim-clean", test_sim_clean);
	g_test_add_func("/media/jitter/events", test_events);
	g_test_add_func("/media/jitter/ptime", test_ptime_conversion);
	g_test_add_func("/media/jitter/opus-fec", test_opus_fec);
	g_test_add_func("/media/jitter/delay-cap", test_delay_cap);
	return g_test_run();
}
