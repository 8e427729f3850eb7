/* media_jb: adaptive jitter buffer with loss concealment. */
#include "media/jitter.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define JB_SLOTS 64		/* packets held at most (1.28 s of 20 ms) */
#define JB_PAYLOAD_MAX 1280	/* largest payload kept (Opus 20 ms at 510 kb/s) */
#define JB_FIFO_MAX ((5760 + 2 * 960) * 2) /* 120 ms + 2 frames at 48 kHz stereo */
#define JB_DELAY_WINDOW 128	/* transit samples kept for the percentile */
#define JB_ADAPT_EVERY 5	/* frames between two stretch/shrink steps */
#define JB_EMPTY_MS 300		/* concealing this long with nothing buffered: rebuffer */
#define JB_JUMP_MS 1000		/* a timestamp this far off is a new timeline */

typedef struct {
	uint32_t ts;
	uint16_t len;
	uint8_t data[JB_PAYLOAD_MAX];
} jb_slot;

struct media_jb {
	media_codec *codec;
	unsigned clock;		/* RTP clock rate */
	unsigned channels;
	unsigned frame;		/* samples per channel per get */
	uint32_t frame_ticks;
	uint32_t min_ticks, max_ticks, jump_ticks, empty_ticks;

	jb_slot slots[JB_SLOTS];
	uint8_t order[JB_SLOTS]; /* slot indexes sorted by ts, count used */
	uint8_t free_list[JB_SLOTS];
	unsigned count, nfree;

	bool playing;
	uint32_t play_ts;	/* ts of the end of the decoded audio */
	uint32_t out_ts;	/* ts of the first sample returned last */
	int16_t fifo[JB_FIFO_MAX];
	unsigned fifo_len;	/* samples per channel */
	uint32_t empty_run;	/* ticks concealed with nothing buffered */
	uint32_t last_dur;	/* ticks in the last decoded packet */

	int32_t delays[JB_DELAY_WINDOW]; /* arrival - ts, in ticks */
	unsigned ndelays, delay_pos, since_target;
	int32_t sorted[JB_DELAY_WINDOW];
	uint32_t target;	/* target level in ticks */
	int64_t level_avg_q4;	/* smoothed level, ticks << 4 */
	unsigned since_adapt;

	media_jb_stats st;
};

int media_jb_create(const media_jb_opts *o, media_jb **out)
{
	*out = NULL;
	if (!o || !o->codec)
		return EINVAL;
	unsigned frame_ms = o->frame_ms ? o->frame_ms : 20;
	unsigned max_ms = o->max_ms ? o->max_ms : 200;
	unsigned min_ms = o->min_ms ? o->min_ms : frame_ms;
	/* Opus can rebuild a lost frame from the next packet's FEC, but only
	 * if that packet is already here: keep one more frame by default. */
	if (!o->min_ms && media_codec_get_id(o->codec) == MEDIA_CODEC_OPUS)
		min_ms = 2 * frame_ms;
	if (frame_ms > 60 || frame_ms % 10 || min_ms > max_ms || max_ms > 1000)
		return EINVAL;
	media_jb *jb = calloc(1, sizeof *jb);
	if (!jb)
		return ENOMEM;
	jb->codec = o->codec;
	jb->clock = media_codec_clock_rate(o->codec);
	jb->channels = media_codec_pcm_channels(o->codec);
	jb->frame = media_codec_pcm_rate(o->codec) / 1000 * frame_ms;
	jb->frame_ticks = media_codec_ticks(o->codec, jb->frame);
	jb->min_ticks = jb->clock / 1000 * min_ms;
	jb->max_ticks = jb->clock / 1000 * max_ms;
	jb->jump_ticks = jb->clock / 1000 * JB_JUMP_MS;
	jb->empty_ticks = jb->clock / 1000 * JB_EMPTY_MS;
	jb->target = jb->min_ticks + jb->frame_ticks;
	if (jb->target > jb->max_ticks)
		jb->target = jb->max_ticks;
	media_jb_reset(jb);
	*out = jb;
	return 0;
}

media_jb *media_jb_free(media_jb *jb)
{
	free(jb);
	return NULL;
}

void media_jb_reset(media_jb *jb)
{
	jb->count = 0;
	jb->nfree = JB_SLOTS;
	for (unsigned i = 0; i < JB_SLOTS; i++)
		jb->free_list[i] = (uint8_t)i;
	jb->playing = false;
	jb->fifo_len = 0;
	jb->empty_run = 0;
	jb->last_dur = jb->frame_ticks;
	/* A new source has a new timestamp base: old transit times mean
	 * nothing for it. */
	jb->ndelays = 0;
	jb->delay_pos = 0;
	jb->since_target = 0;
	jb->level_avg_q4 = (int64_t)jb->target << 4;
	jb->since_adapt = 0;
}

unsigned media_jb_frame_samples(const media_jb *jb)
{
	return jb->frame;
}

uint32_t media_jb_out_ts(const media_jb *jb)
{
	return jb->out_ts;
}

int media_jb_playing(const media_jb *jb)
{
	return jb->playing;
}

static inline jb_slot *first_slot(media_jb *jb)
{
	return jb->count ? &jb->slots[jb->order[0]] : NULL;
}

static void remove_first(media_jb *jb)
{
	jb->free_list[jb->nfree++] = jb->order[0];
	jb->count--;
	memmove(jb->order, jb->order + 1, jb->count);
}

/* Audio buffered, in ticks: decoded-but-unplayed plus the span from the
 * playout point to the end of the newest packet. */
static uint32_t level_ticks(const media_jb *jb)
{
	uint32_t lvl = media_codec_ticks(jb->codec, jb->fifo_len);
	if (jb->count) {
		const jb_slot *last = &jb->slots[jb->order[jb->count - 1]];
		uint32_t from = jb->playing ? jb->play_ts : jb->slots[jb->order[0]].ts;
		int32_t span = (int32_t)(last->ts + jb->last_dur - from);
		if (span > 0)
			lvl += (uint32_t)span;
	}
	return lvl;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* The adaptation, and why it looks like this.
 *
 * Each packet's transit (arrival time minus RTP timestamp, both in RTP
 * ticks) differs from the fastest packet's by its queueing jitter; the
 * clock offset between sender and receiver cancels out. Holding audio for
 * the 97th percentile of that spread over the last ~2.5 s (128 packets), plus
 * one packet because a packet must be whole before it plays, makes ~3% of
 * packets late at worst, which PLC hides, while a single 300 ms spike only
 * raises the target until it leaves the window. A mean+k*sigma estimate
 * (RFC 3550's jitter) underestimates bursty Wi-Fi jitter; a plain maximum
 * keeps every spike forever. The measured level is smoothed over ~16 frames
 * and moved towards the target one frame at a time, at most every 5 frames
 * (100 ms), so adaptation is a rare 20 ms skip or repeat rather than
 * continuous warble. The same loop absorbs clock drift: a sender 0.1% fast
 * adds 1 ms of backlog per second, and the level control drops one frame
 * every ~20 s; a slow one is stretched. Above max_ms the cap wins at once:
 * latency there is worse than a glitch. */
static void update_target(media_jb *jb)
{
	unsigned n = jb->ndelays;
	if (n < 8)
		return;
	memcpy(jb->sorted, jb->delays, n * sizeof jb->sorted[0]);
	qsort(jb->sorted, n, sizeof jb->sorted[0], cmp_i32);
	int64_t spread = (int64_t)jb->sorted[(n * 97) / 100] - jb->sorted[0];
	/* A packet plays only once whole; when packets and frames differ in
	 * length (30 ms packets, 20 ms frames) the two grids slip against
	 * each other by up to one more frame. */
	uint32_t grain = jb->last_dur == jb->frame_ticks ? jb->frame_ticks : jb->last_dur + jb->frame_ticks;
	int64_t t = spread + grain;
	if (t < jb->min_ticks)
		t = jb->min_ticks;
	if (t > jb->max_ticks)
		t = jb->max_ticks;
	jb->target = (uint32_t)t;
}

static void record_delay(media_jb *jb, uint32_t ts, uint64_t now_us)
{
	uint32_t arrival = (uint32_t)(now_us * jb->clock / 1000000u);
	jb->delays[jb->delay_pos] = (int32_t)(arrival - ts);
	jb->delay_pos = (jb->delay_pos + 1) % JB_DELAY_WINDOW;
	if (jb->ndelays < JB_DELAY_WINDOW)
		jb->ndelays++;
	if (++jb->since_target >= 4) {
		jb->since_target = 0;
		update_target(jb);
	}
}

int media_jb_put(media_jb *jb, uint32_t ts, const uint8_t *payload, size_t len, uint64_t now_us)
{
	jb->st.received++;
	if (len > JB_PAYLOAD_MAX)
		return EMSGSIZE;
	/* Reference for jump and lateness checks: where playout is, or the
	 * oldest packet while buffering. */
	const jb_slot *first = first_slot(jb);
	bool have_ref = jb->playing || first;
	uint32_t ref = jb->playing ? jb->play_ts : (first ? first->ts : 0);
	if (have_ref) {
		int32_t d = (int32_t)(ts - ref);
		if (d > (int32_t)jb->jump_ticks || d < -(int32_t)jb->jump_ticks) {
			jb->st.resyncs++;
			media_jb_reset(jb);
		} else if (jb->playing && d < 0) {
			jb->st.late++;
			record_delay(jb, ts, now_us); /* late packets are jitter too */
			return EALREADY;
		}
	}
	/* Insert sorted by timestamp; most packets append. */
	unsigned pos = jb->count;
	while (pos > 0) {
		int32_t d = (int32_t)(ts - jb->slots[jb->order[pos - 1]].ts);
		if (d == 0) {
			jb->st.duplicates++;
			return EALREADY;
		}
		if (d > 0)
			break;
		pos--;
	}
	if (jb->count == JB_SLOTS) {
		jb->st.overflow++;
		if (pos == 0)
			return EALREADY; /* older than everything in a full buffer */
		remove_first(jb);
		pos--;
	}
	uint8_t idx = jb->free_list[--jb->nfree];
	jb_slot *s = &jb->slots[idx];
	s->ts = ts;
	s->len = (uint16_t)len;
	memcpy(s->data, payload, len);
	memmove(jb->order + pos + 1, jb->order + pos, jb->count - pos);
	jb->order[pos] = idx;
	jb->count++;
	record_delay(jb, ts, now_us);
	return 0;
}

/* Appends a concealment frame to the fifo for the missing audio at play_ts,
 * using the next packet's FEC when it directly follows. */
static void conceal_into_fifo(media_jb *jb)
{
	const jb_slot *next = first_slot(jb);
	const uint8_t *fec = NULL;
	size_t fec_len = 0;
	if (next && next->ts == jb->play_ts + jb->frame_ticks) {
		fec = next->data;
		fec_len = next->len;
	}
	int16_t *dst = jb->fifo + (size_t)jb->fifo_len * jb->channels;
	if (media_codec_conceal(jb->codec, fec, fec_len, dst, jb->frame) != 0)
		memset(dst, 0, (size_t)jb->frame * jb->channels * sizeof *dst);
	jb->fifo_len += jb->frame;
	jb->play_ts += jb->frame_ticks;
	jb->st.concealed++;
}

/* Adds at least some audio to the fifo: the packet due now, or
 * concealment for a gap. Returns false if playout stopped (rebuffering). */
static bool produce(media_jb *jb)
{
	jb_slot *s;
	/* Packets overtaken by playout (after a shrink or concealment). */
	while ((s = first_slot(jb)) && (int32_t)(s->ts - jb->play_ts) < -(int32_t)(jb->frame_ticks / 2)) {
		jb->st.late++;
		remove_first(jb);
	}
	if (s && (int32_t)(s->ts - jb->play_ts) < (int32_t)(jb->frame_ticks / 2)) {
		unsigned cap = JB_FIFO_MAX / jb->channels - jb->fifo_len, n = 0;
		int16_t *dst = jb->fifo + (size_t)jb->fifo_len * jb->channels;
		if (media_codec_decode(jb->codec, s->data, s->len, dst, cap, &n) == 0 && n > 0) {
			jb->fifo_len += n;
			jb->last_dur = media_codec_ticks(jb->codec, n);
			jb->play_ts = s->ts + jb->last_dur;
			jb->st.decoded++;
		} else {
			/* Undecodable: treat as lost. */
			remove_first(jb);
			conceal_into_fifo(jb);
			return true;
		}
		remove_first(jb);
		jb->empty_run = 0;
		return true;
	}
	if (!s) {
		jb->empty_run += jb->frame_ticks;
		if (jb->empty_run > jb->empty_ticks) {
			/* Nothing for a long while (DTX, hold, a dead peer): stop
			 * concealing and wait for a new stream. */
			jb->playing = false;
			jb->fifo_len = 0;
			jb->empty_run = 0;
			return false;
		}
	}
	conceal_into_fifo(jb);
	return true;
}

static void fifo_take(media_jb *jb, int16_t *pcm, unsigned n)
{
	size_t bytes = (size_t)n * jb->channels * sizeof *pcm;
	if (pcm)
		memcpy(pcm, jb->fifo, bytes);
	memmove(jb->fifo, jb->fifo + (size_t)n * jb->channels,
		(size_t)(jb->fifo_len - n) * jb->channels * sizeof *pcm);
	jb->fifo_len -= n;
}

void media_jb_get(media_jb *jb, int16_t *pcm)
{
	size_t frame_bytes = (size_t)jb->frame * jb->channels * sizeof *pcm;
	if (!jb->playing) {
		const jb_slot *first = first_slot(jb);
		if (!first || level_ticks(jb) < jb->target) {
			memset(pcm, 0, frame_bytes);
			jb->st.silent++;
			return;
		}
		jb->playing = true;
		jb->play_ts = first->ts;
		jb->fifo_len = 0;
		jb->empty_run = 0;
		jb->level_avg_q4 = (int64_t)level_ticks(jb) << 4;
		jb->since_adapt = 0;
	}

	uint32_t lvl = level_ticks(jb);
	/* EWMA with weight 1/16, kept scaled by 16. */
	jb->level_avg_q4 += (int64_t)lvl - (jb->level_avg_q4 >> 4);
	int64_t avg = jb->level_avg_q4 >> 4;
	jb->since_adapt++;
	bool over_cap = lvl > jb->max_ticks + jb->frame_ticks;
	bool may_adapt = jb->since_adapt >= JB_ADAPT_EVERY;
	if (over_cap || (may_adapt && avg > (int64_t)jb->target + jb->frame_ticks)) {
		/* Shrink: decode on (keeping the decoder's state whole), and play
		 * two frames' worth as one by cross-fading the first into the
		 * second, so the skipped 20 ms leaves no click. */
		while (jb->fifo_len < 2 * jb->frame)
			if (!produce(jb))
				break;
		if (jb->fifo_len >= 2 * jb->frame) {
			unsigned ch = jb->channels, n = jb->frame * ch;
			const int16_t *a = jb->fifo, *b = jb->fifo + n;
			for (unsigned i = 0; i < n; i++) {
				int32_t w = (int32_t)(i / ch), f = (int32_t)jb->frame;
				pcm[i] = (int16_t)((a[i] * (f - w) + b[i] * w) / f);
			}
			jb->out_ts = jb->play_ts - media_codec_ticks(jb->codec, jb->fifo_len);
			fifo_take(jb, NULL, 2 * jb->frame);
			jb->st.shrunk++;
			jb->since_adapt = 0;
			jb->level_avg_q4 -= (int64_t)jb->frame_ticks << 4;
			return;
		}
	} else if (may_adapt && jb->count && avg + jb->frame_ticks < (int64_t)jb->target) {
		/* Stretch: play a concealment frame without consuming audio. */
		if (media_codec_conceal(jb->codec, NULL, 0, pcm, jb->frame) != 0)
			memset(pcm, 0, frame_bytes);
		jb->st.stretched++;
		jb->since_adapt = 0;
		jb->level_avg_q4 += (int64_t)jb->frame_ticks << 4;
		jb->out_ts = jb->play_ts - media_codec_ticks(jb->codec, jb->fifo_len);
		return;
	}
	while (jb->fifo_len < jb->frame) {
		if (!produce(jb)) {
			memset(pcm, 0, frame_bytes);
			jb->st.silent++;
			return;
		}
	}
	jb->out_ts = jb->play_ts - media_codec_ticks(jb->codec, jb->fifo_len);
	fifo_take(jb, pcm, jb->frame);
}

void media_jb_get_stats(const media_jb *jb, media_jb_stats *out)
{
	*out = jb->st;
	unsigned per_ms = jb->clock / 1000;
	out->target_ms = jb->target / per_ms;
	out->level_ms = level_ticks(jb) / per_ms;
}
