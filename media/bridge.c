/* media_bridge: relay or transcode between two legs. */
#include "media/bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "media/codec.h"
#include "media/dtmf.h"
#include "media/jitter.h"
#include "media/resample.h"
#include "media/rtp.h"

#define FIFO_MAX 2880	   /* PCM awaiting encode: 60 ms at 48 kHz */
#define FRAME_MAX 960	   /* one 20 ms frame at 48 kHz */
#define SEQ_JUMP 100	   /* a seq step this large restarts the stream */
#define TS_JUMP_MS 5000	   /* so does a timestamp step this long */

/* The stream we send to one leg. */
typedef struct {
	uint32_t ssrc;
	uint16_t seq;	   /* next sequence number */
	uint32_t ts;	   /* transcode: timestamp of the next audio */
	bool sent_any;
	bool have_last;	   /* last_* below are set */
	bool gap;	   /* transcode: nothing sent for a while; mark the next */
	/* relay: offsets from the current source's seq/ts to ours */
	bool mapped;
	uint16_t seq_off;
	uint32_t ts_off;
	uint16_t last_seq; /* last sequence number sent */
	uint32_t last_ts;
	uint64_t last_us;
} out_stream;

/* Everything about one leg: what it negotiated, what it sends us, what we
 * send it. Direction i -> j uses leg i's input side and leg j's output. */
typedef struct {
	media_bridge_leg cfg;
	unsigned te_clock;
	media_codec *codec;	 /* decodes its input, encodes its output */
	media_jb *jb;		 /* transcode: its input */
	media_resampler *rs;	 /* transcode: its decoded PCM -> the other's rate */
	/* input */
	bool have_src;
	uint32_t src_ssrc;
	uint16_t src_seq;
	uint32_t src_ts;
	rtp_rx_stats rx;
	uint64_t last_rx_us;
	media_te_rx te_rx;
	uint32_t te_out_ts;	 /* timestamp of the forwarded event */
	/* output */
	out_stream out;
	int16_t fifo[FIFO_MAX];	 /* PCM at this leg's codec rate, to encode */
	unsigned fifo_len;
	media_te_tx te_tx;	 /* digits injected for this leg */
	uint32_t te_tx_ts;
	media_bridge_stats st;
} leg_state;

struct media_bridge {
	bool relay;
	leg_state leg[2];
	uint64_t created_us;
	bool created_set;
	uint64_t now_us;   /* of the push/tick in progress */
	uint8_t buf[MEDIA_BRIDGE_OUT_MAX][MEDIA_BRIDGE_PKT_MAX];
	unsigned nbuf;
	int16_t frame[FRAME_MAX];
	int16_t rframe[FRAME_MAX + 8];
};

static bool same_codec(const media_bridge_leg *a, const media_bridge_leg *b)
{
	if (strcasecmp(a->codec, b->codec) != 0)
		return false;
	if (a->clock_rate && b->clock_rate && a->clock_rate != b->clock_rate)
		return false;
	/* A relay cannot change ptime for waveform codecs' peers that ask
	 * for a different one; Opus receivers take any frame size. */
	unsigned pa = a->ptime_ms ? a->ptime_ms : 20, pb = b->ptime_ms ? b->ptime_ms : 20;
	return pa == pb || strcasecmp(a->codec, "opus") == 0;
}

static unsigned usual_pcm_rate(const char *codec)
{
	if (strcasecmp(codec, "G722") == 0)
		return 16000;
	if (strcasecmp(codec, "opus") == 0)
		return 48000;
	return 8000;
}

static int setup_leg(media_bridge *br, int i)
{
	leg_state *L = &br->leg[i];
	const media_bridge_leg *other = &br->leg[1 - i].cfg;
	media_codec_opts co = {
		.name = L->cfg.codec,
		.clock_rate = L->cfg.clock_rate,
		.channels = L->cfg.channels,
		.fmtp = L->cfg.fmtp,
		.ptime_ms = L->cfg.ptime_ms,
		.complexity = L->cfg.complexity,
	};
	if (strcasecmp(L->cfg.codec, "opus") == 0) {
		unsigned r = L->cfg.pcm_rate;
		if (!r) {
			/* Decode straight to the other side's rate when Opus can:
			 * cheaper than 48 kHz plus a resampler. */
			r = br->relay ? 48000 : usual_pcm_rate(other->codec);
		}
		co.pcm_rate = r;
	}
	int rc = media_codec_create(&co, &L->codec);
	if (rc)
		return rc;
	L->st.codec = media_codec_name(L->codec);
	L->st.relay = br->relay;
	L->te_clock = L->cfg.te_clock ? L->cfg.te_clock : media_codec_clock_rate(L->codec);
	media_te_rx_init(&L->te_rx);
	media_te_tx_init(&L->te_tx, L->te_clock, 20);
	L->out.ssrc = L->cfg.ssrc;
	L->out.seq = L->cfg.seq_start;
	L->out.ts = L->cfg.ts_start;
	if (br->relay)
		return 0;
	media_jb_opts jo = { .codec = L->codec, .frame_ms = 20 };
	rc = media_jb_create(&jo, &L->jb);
	if (rc)
		return rc;
	return 0;
}

int media_bridge_create(const media_bridge_leg *leg0, const media_bridge_leg *leg1,
			media_bridge **out)
{
	*out = NULL;
	if (!leg0 || !leg1 || !leg0->codec || !leg1->codec)
		return EINVAL;
	media_bridge *br = calloc(1, sizeof *br);
	if (!br)
		return ENOMEM;
	br->leg[0].cfg = *leg0;
	br->leg[1].cfg = *leg1;
	br->relay = same_codec(leg0, leg1);
	int rc = setup_leg(br, 0);
	if (!rc)
		rc = setup_leg(br, 1);
	if (!rc && !br->relay) {
		for (int i = 0; i < 2; i++) {
			leg_state *L = &br->leg[i], *O = &br->leg[1 - i];
			rc = media_resampler_create(media_codec_pcm_rate(L->codec),
						    media_codec_pcm_rate(O->codec), 1,
						    MEDIA_RESAMPLE_QUALITY_VOIP, &L->rs);
			if (rc)
				break;
		}
	}
	if (rc) {
		media_bridge_free(br);
		return rc;
	}
	*out = br;
	return 0;
}

media_bridge *media_bridge_free(media_bridge *br)
{
	if (!br)
		return NULL;
	for (int i = 0; i < 2; i++) {
		media_jb_free(br->leg[i].jb);
		media_resampler_free(br->leg[i].rs);
		media_codec_free(br->leg[i].codec);
	}
	free(br);
	return NULL;
}

bool media_bridge_is_relay(const media_bridge *br)
{
	return br->relay;
}

static void out_reset(media_bridge *br, media_bridge_out *out)
{
	out->count = 0;
	out->n_digits = 0;
	br->nbuf = 0;
}

static void emit(media_bridge *br, media_bridge_out *out, int to, uint8_t *data, size_t len)
{
	if (out->count >= MEDIA_BRIDGE_OUT_MAX)
		return;
	out->pkt[out->count++] = (media_bridge_pkt){ .leg = to, .data = data, .len = len };
	leg_state *T = &br->leg[to];
	T->st.tx_packets++;
	T->st.tx_bytes += len;
	/* Remember the newest seq/ts sent, for source changes and for
	 * media_bridge_resume_point(). */
	uint16_t seq = (uint16_t)((data[2] << 8) | data[3]);
	uint32_t ts = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16) | ((uint32_t)data[6] << 8) | data[7];
	out_stream *o = &T->out;
	if (!o->have_last || (int16_t)(seq - o->last_seq) > 0) {
		o->last_seq = seq;
		o->last_us = br->now_us;
	}
	if (!o->have_last || (int32_t)(ts - o->last_ts) > 0)
		o->last_ts = ts;
	o->have_last = true;
}

static void report_digit(media_bridge_out *out, int from, const media_te *e, bool end, unsigned clock)
{
	char d = media_te_digit(e->event);
	if (!d || out->n_digits >= MEDIA_BRIDGE_DIGITS_MAX)
		return;
	out->digits[out->n_digits].from_leg = from;
	out->digits[out->n_digits].digit = d;
	out->digits[out->n_digits].end = end;
	out->digits[out->n_digits].duration_ms = clock ? e->duration * 1000u / clock : 0;
	out->n_digits++;
}

/* Builds a packet in a bridge buffer for the stream to leg `to`. */
static uint8_t *new_packet(media_bridge *br, leg_state *T, uint8_t pt, bool marker, uint32_t ts,
			   size_t payload_len)
{
	if (br->nbuf >= MEDIA_BRIDGE_OUT_MAX || payload_len > MEDIA_BRIDGE_PKT_MAX - RTP_HEADER_MIN)
		return NULL;
	uint8_t *b = br->buf[br->nbuf++];
	rtp_write_header(b, MEDIA_BRIDGE_PKT_MAX, pt, marker, T->out.seq++, ts, T->out.ssrc);
	T->out.sent_any = true;
	return b;
}

/* Relay: rewrite the packet for the far leg's stream. Why offsets: the far
 * end must see seq +1 and a timestamp that advanced by the wall-clock gap,
 * whatever the source did; within one source the offsets stay fixed so
 * reordering and loss pass through unchanged. */
static void relay_rewrite(leg_state *T, const rtp_hdr *h, uint8_t *pkt, uint8_t pt,
			  bool restart, uint64_t now_us, unsigned clock)
{
	out_stream *o = &T->out;
	bool marker = h->marker;
	if (!o->mapped || restart) {
		uint16_t want_seq = o->have_last ? (uint16_t)(o->last_seq + 1) : o->seq;
		uint32_t want_ts = o->ts;
		if (o->have_last) {
			uint64_t gap = (now_us - o->last_us) * clock / 1000000u;
			if (gap < clock / 50)
				gap = clock / 50; /* at least one 20 ms frame */
			want_ts = o->last_ts + (uint32_t)gap;
			marker = true;
		}
		o->seq_off = (uint16_t)(want_seq - h->seq);
		o->ts_off = want_ts - h->ts;
		o->mapped = true;
	}
	uint16_t seq = (uint16_t)(h->seq + o->seq_off);
	uint32_t ts = h->ts + o->ts_off;
	rtp_set_seq(pkt, seq);
	rtp_set_ts(pkt, ts);
	rtp_set_ssrc(pkt, o->ssrc);
	rtp_set_pt(pkt, pt);
	if (marker != h->marker)
		rtp_set_marker(pkt, marker);
	o->sent_any = true;
}

/* Forwards (transcode) a telephone-event packet to leg T's stream, with its
 * duration rescaled to T's event clock. */
static void forward_te(media_bridge *br, leg_state *S, leg_state *T, int to, const media_te *e,
		       bool start, media_bridge_out *out)
{
	if (start)
		T->te_out_ts = T->out.ts;
	media_te fe = *e;
	uint64_t d = (uint64_t)e->duration * T->te_clock / S->te_clock;
	fe.duration = (uint16_t)(d > 0xffff ? 0xffff : d);
	uint8_t *b = new_packet(br, T, (uint8_t)T->cfg.te_pt, start, T->te_out_ts, MEDIA_TE_PAYLOAD_LEN);
	if (!b)
		return;
	media_te_write(&fe, b + RTP_HEADER_MIN);
	emit(br, out, to, b, RTP_HEADER_MIN + MEDIA_TE_PAYLOAD_LEN);
}

int media_bridge_push(media_bridge *br, int from, uint8_t *pkt, size_t len, uint64_t now_us,
		      media_bridge_out *out)
{
	out_reset(br, out);
	if (from != 0 && from != 1)
		return EINVAL;
	br->now_us = now_us;
	if (!br->created_set) {
		br->created_set = true;
		br->created_us = now_us;
	}
	int to = 1 - from;
	leg_state *S = &br->leg[from], *T = &br->leg[to];
	rtp_hdr h;
	if (rtp_is_rtcp(pkt, len) || rtp_parse(pkt, len, &h) != 0) {
		S->st.rx_dropped++;
		return EBADMSG;
	}
	bool is_te = S->cfg.te_pt >= 0 && h.pt == (uint8_t)S->cfg.te_pt;
	bool is_cn = S->cfg.cn_pt >= 0 && h.pt == (uint8_t)S->cfg.cn_pt;
	if (!is_te && !is_cn && h.pt != S->cfg.pt) {
		S->st.rx_dropped++; /* not negotiated: not ours to track */
		return 0;
	}
	S->st.rx_packets++;
	S->st.rx_bytes += len;
	S->last_rx_us = now_us;

	/* A new SSRC, or a jump in seq/ts of the same one, starts a new
	 * source: counters and the jitter buffer start over. */
	bool restart = false;
	if (!S->have_src || h.ssrc != S->src_ssrc) {
		restart = S->have_src;
	} else {
		int16_t ds = (int16_t)(h.seq - S->src_seq);
		int32_t dt = (int32_t)(h.ts - S->src_ts);
		uint32_t tj = media_codec_clock_rate(S->codec) / 1000 * TS_JUMP_MS;
		if (ds > SEQ_JUMP || ds < -SEQ_JUMP || dt > (int32_t)tj || dt < -(int32_t)tj)
			restart = true;
	}
	if (!S->have_src || restart) {
		if (restart)
			S->st.source_changes++;
		rtp_rx_stats_init(&S->rx, h.ssrc);
		media_te_rx_init(&S->te_rx);
		if (S->jb)
			media_jb_reset(S->jb);
		S->have_src = true;
		S->src_ssrc = h.ssrc;
	}
	if ((int16_t)(h.seq - S->src_seq) > 0 || restart || S->rx.received == 0) {
		S->src_seq = h.seq;
		S->src_ts = h.ts;
	}
	unsigned clock = media_codec_clock_rate(S->codec);
	/* Events on a clock other than the codec's would skew the jitter. */
	if (!is_te || S->te_clock == clock)
		rtp_rx_stats_update(&S->rx, h.seq, h.ts, (uint32_t)(now_us * clock / 1000000u));
	else
		rtp_rx_stats_update_seq(&S->rx, h.seq);

	if (is_te) {
		media_te e;
		media_te_what w = media_te_rx_push(&S->te_rx, h.ts, h.payload, h.payload_len, &e);
		bool te_ok = media_te_parse(h.payload, h.payload_len, &e) == 0;
		bool to_digits = T->cfg.dtmf_as_digits || T->cfg.te_pt < 0;
		if (w == MEDIA_TE_START || w == MEDIA_TE_START_END)
			report_digit(out, from, &e, w == MEDIA_TE_START_END, S->te_clock);
		else if (w == MEDIA_TE_END)
			report_digit(out, from, &e, true, S->te_clock);
		if (to_digits || !te_ok)
			return 0;
		/* Only packets of the current event; stale ones are dropped. */
		if (w == MEDIA_TE_NONE && h.ts != S->te_rx.ts)
			return 0;
		if (br->relay && S->te_clock == T->te_clock) {
			relay_rewrite(T, &h, pkt, (uint8_t)T->cfg.te_pt, restart, now_us, clock);
			emit(br, out, to, pkt, len);
		} else {
			forward_te(br, S, T, to, &e, w == MEDIA_TE_START || w == MEDIA_TE_START_END, out);
		}
		return 0;
	}
	if (is_cn) {
		if (br->relay && T->cfg.cn_pt >= 0) {
			relay_rewrite(T, &h, pkt, (uint8_t)T->cfg.cn_pt, restart, now_us, clock);
			emit(br, out, to, pkt, len);
		}
		/* Transcode: the jitter buffer conceals then goes quiet. */
		return 0;
	}
	if (br->relay) {
		/* Header extension ids and CSRCs were negotiated with, or mean
		 * something to, the source leg only: drop them (in place). */
		if (h.extension || h.csrc_count) {
			size_t rest = h.payload_len + h.padding_len;
			memmove(pkt + RTP_HEADER_MIN, h.payload, rest);
			pkt[0] &= 0xe0; /* clear X and CC */
			len = RTP_HEADER_MIN + rest;
		}
		relay_rewrite(T, &h, pkt, T->cfg.pt, restart, now_us, clock);
		emit(br, out, to, pkt, len);
		return 0;
	}
	media_jb_put(S->jb, h.ts, h.payload, h.payload_len, now_us);
	return 0;
}

/* One 20 ms step of direction S -> T: pull a frame, resample, encode as
 * many packets of T's ptime as the fifo holds. */
static void transcode_step(media_bridge *br, int from, media_bridge_out *out)
{
	int to = 1 - from;
	leg_state *S = &br->leg[from], *T = &br->leg[to];
	if (!S->have_src)
		return;
	media_jb_get(S->jb, br->frame);
	if (!media_jb_playing(S->jb) && !T->cfg.send_silence) {
		/* The source is quiet (not started, DTX, hold): send nothing, but
		 * keep our timestamps on the wall clock so the far end's playout
		 * stays right, and mark the next talkspurt. */
		if (T->out.sent_any) {
			T->out.ts += media_codec_ticks(T->codec, media_codec_pcm_rate(T->codec) / 50);
			T->out.gap = true;
		}
		return;
	}
	unsigned in_n = media_jb_frame_samples(S->jb), n = 0;
	if (media_resampler_process(S->rs, br->frame, in_n, br->rframe,
				    (unsigned)(sizeof br->rframe / sizeof br->rframe[0]), &n) != 0)
		return;
	if (T->fifo_len + n > FIFO_MAX)
		T->fifo_len = 0; /* cannot happen with sane ptimes; never overflow */
	memcpy(T->fifo + T->fifo_len, br->rframe, n * sizeof br->rframe[0]);
	T->fifo_len += n;
	unsigned fs = media_codec_frame_samples(T->codec);
	while (T->fifo_len >= fs) {
		if (br->nbuf >= MEDIA_BRIDGE_OUT_MAX)
			break;
		uint8_t *b = br->buf[br->nbuf];
		size_t len = 0;
		if (media_codec_encode(T->codec, T->fifo, fs, b + RTP_HEADER_MIN,
				       MEDIA_BRIDGE_PKT_MAX - RTP_HEADER_MIN, &len) == 0 && len > 0) {
			br->nbuf++;
			rtp_write_header(b, MEDIA_BRIDGE_PKT_MAX, T->cfg.pt, !T->out.sent_any || T->out.gap,
					 T->out.seq++, T->out.ts, T->out.ssrc);
			T->out.sent_any = true;
			T->out.gap = false;
			emit(br, out, to, b, RTP_HEADER_MIN + len);
		} else if (T->out.sent_any) {
			T->out.gap = true; /* Opus DTX: nothing to send this frame */
		}
		T->out.ts += media_codec_ticks(T->codec, fs);
		T->fifo_len -= fs;
		memmove(T->fifo, T->fifo + fs, T->fifo_len * sizeof T->fifo[0]);
	}
}

/* Sends the next packet of an injected key press to leg `to`. */
static void digit_step(media_bridge *br, int to, media_bridge_out *out)
{
	leg_state *T = &br->leg[to];
	if (!media_te_tx_active(&T->te_tx))
		return;
	uint8_t pl[MEDIA_TE_PAYLOAD_LEN];
	bool first;
	if (!media_te_tx_next(&T->te_tx, pl, &first))
		return;
	if (first)
		T->te_tx_ts = T->out.sent_any ? T->out.ts : T->cfg.ts_start;
	uint8_t *b = new_packet(br, T, (uint8_t)T->cfg.te_pt, first, T->te_tx_ts, sizeof pl);
	if (!b)
		return;
	memcpy(b + RTP_HEADER_MIN, pl, sizeof pl);
	emit(br, out, to, b, RTP_HEADER_MIN + sizeof pl);
}

void media_bridge_tick(media_bridge *br, uint64_t now_us, media_bridge_out *out)
{
	out_reset(br, out);
	br->now_us = now_us;
	if (!br->created_set) {
		br->created_set = true;
		br->created_us = now_us;
	}
	for (int i = 0; i < 2; i++) {
		if (!br->relay)
			transcode_step(br, i, out);
		digit_step(br, 1 - i, out);
	}
}

int media_bridge_send_digit(media_bridge *br, int to, char digit, unsigned duration_ms)
{
	if ((to != 0 && to != 1) || br->leg[to].cfg.te_pt < 0)
		return EINVAL;
	return media_te_tx_start(&br->leg[to].te_tx, digit, duration_ms, 10);
}

void media_bridge_get_stats(const media_bridge *br, int leg, media_bridge_stats *out)
{
	const leg_state *L = &br->leg[leg & 1];
	*out = L->st;
	out->lost = rtp_rx_stats_lost(&L->rx);
	unsigned clock = media_codec_clock_rate(L->codec);
	out->jitter_ms = rtp_rx_stats_jitter(&L->rx) * 1000u / clock;
	if (L->jb) {
		media_jb_stats js;
		media_jb_get_stats(L->jb, &js);
		out->decoded = js.decoded;
		out->concealed = js.concealed;
	}
}

uint64_t media_bridge_idle_us(const media_bridge *br, int leg, uint64_t now_us)
{
	const leg_state *L = &br->leg[leg & 1];
	uint64_t last = L->last_rx_us ? L->last_rx_us : br->created_us;
	return now_us > last ? now_us - last : 0;
}

void media_bridge_resume_point(const media_bridge *br, int leg, uint64_t now_us, uint16_t *seq,
			       uint32_t *ts)
{
	const leg_state *T = &br->leg[leg & 1];
	const out_stream *o = &T->out;
	if (!o->have_last) {
		*seq = o->seq;
		*ts = o->ts;
		return;
	}
	unsigned clock = media_codec_clock_rate(T->codec);
	uint64_t gap = now_us > o->last_us ? (now_us - o->last_us) * clock / 1000000u : 0;
	if (gap < clock / 50)
		gap = clock / 50;
	*seq = (uint16_t)(o->last_seq + 1);
	*ts = o->last_ts + (uint32_t)gap;
}
