/* media_codec: G.711 (own, bit-exact with sox), G.722 (spandsp) and Opus
 * (libopus) behind one interface. Only create/free allocate. */
#include "media/codec.h"
#include "media/plc.h"

#include <errno.h>
#include <opus.h>
#include <spandsp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


struct media_codec {
	media_codec_id id;
	unsigned clock_rate;
	unsigned pcm_rate;
	unsigned channels;
	unsigned frame_samples;
	media_codec_stats stats;
	bool dtx;
	media_plc plc; /* G.711 and G.722 */
	/* G.722 */
	g722_encode_state_t *g722e;
	g722_decode_state_t *g722d;
	/* Opus */
	OpusEncoder *opus_enc;
	OpusDecoder *opus_dec;
};

/* ---- G.711 ---- */

/* Segment search for the compander: the index of the first end >= v. */
static unsigned g711_seg(int v, const int *ends)
{
	unsigned i;
	for (i = 0; i < 8; i++)
		if (v <= ends[i])
			break;
	return i;
}

uint8_t media_g711_ulaw_encode(int16_t x)
{
	static const int uend[8] = { 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff };
	/* Round the 16-bit sample to 14 bits (sox's conversion; plain
	 * truncation would bias every sample towards -inf). */
	int v = ((int)x + 2) >> 2;
	if (v > 8191)
		v = 8191;
	int mask = 0xff;
	if (v < 0) {
		v = -v;
		mask = 0x7f;
	}
	if (v > 8159)
		v = 8159;
	v += 33;
	unsigned seg = g711_seg(v, uend);
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	return (uint8_t)(((seg << 4) | ((unsigned)(v >> (seg + 1)) & 0xf)) ^ (unsigned)mask);
}

uint8_t media_g711_alaw_encode(int16_t x)
{
	static const int aend[8] = { 0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff };
	int v = ((int)x + 4) >> 3; /* round to 13 bits */
	if (v > 4095)
		v = 4095;
	int mask = 0xd5;
	if (v < 0) {
		mask = 0x55;
		v = -v - 1;
	}
	unsigned seg = g711_seg(v, aend);
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	unsigned a = seg << 4;
	a |= seg < 2 ? ((unsigned)v >> 1) & 0xf : ((unsigned)v >> seg) & 0xf;
	return (uint8_t)(a ^ (unsigned)mask);
}

int16_t media_g711_ulaw_decode(uint8_t u)
{
	u = (uint8_t)~u;
	int t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (int16_t)((u & 0x80) ? 0x84 - t : t - 0x84);
}

int16_t media_g711_alaw_decode(uint8_t a)
{
	a ^= 0x55;
	int t = (a & 0x0f) << 4;
	int seg = (a & 0x70) >> 4;
	if (seg == 0)
		t += 8;
	else
		t = (t + 0x108) << (seg - 1);
	return (int16_t)((a & 0x80) ? t : -t);
}

/* ---- fmtp ---- */

bool media_fmtp_uint(const char *fmtp, const char *key, unsigned *out)
{
	if (!fmtp || !key)
		return false;
	size_t klen = strlen(key);
	const char *p = fmtp;
	while (*p) {
		while (*p == ' ' || *p == ';' || *p == '\t')
			p++;
		const char *name = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		size_t nlen = (size_t)(p - name);
		while (nlen && name[nlen - 1] == ' ')
			nlen--;
		if (*p != '=') {
			continue;
		}
		p++;
		while (*p == ' ')
			p++;
		const char *val = p;
		while (*p && *p != ';')
			p++;
		if (nlen == klen && strncasecmp(name, key, klen) == 0) {
			unsigned long v = 0;
			const char *q = val;
			if (*q < '0' || *q > '9')
				return false;
			while (q < p && *q >= '0' && *q <= '9') {
				v = v * 10 + (unsigned long)(*q - '0');
				if (v > 0xffffffffUL)
					return false;
				q++;
			}
			*out = (unsigned)v;
			return true;
		}
	}
	return false;
}

/* ---- create / free ---- */

static int opus_setup(media_codec *c, const media_codec_opts *o)
{
	int err;
	unsigned v;
	c->opus_dec = opus_decoder_create((opus_int32)c->pcm_rate, (int)c->channels, &err);
	if (err != OPUS_OK)
		return ENOMEM;
	c->opus_enc = opus_encoder_create((opus_int32)c->pcm_rate, (int)c->channels,
					  OPUS_APPLICATION_VOIP, &err);
	if (err != OPUS_OK)
		return ENOMEM;
	OpusEncoder *e = c->opus_enc;
	opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(o->complexity >= 0 && o->complexity <= 10 ? o->complexity : 5));
	opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	/* The remote's fmtp says what it wants to receive: honour it in our
	 * encoder (RFC 7587 section 7). */
	if (media_fmtp_uint(o->fmtp, "useinbandfec", &v) && v == 1) {
		opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(1));
		opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(10));
	}
	if (media_fmtp_uint(o->fmtp, "usedtx", &v) && v == 1) {
		opus_encoder_ctl(e, OPUS_SET_DTX(1));
		c->dtx = true;
	}
	if (c->channels == 2 && !(media_fmtp_uint(o->fmtp, "stereo", &v) && v == 1))
		opus_encoder_ctl(e, OPUS_SET_FORCE_CHANNELS(1));
	/* libopus' automatic bitrate scales with the input rate (11 kb/s at
	 * 8 kHz, too little for clean narrowband); use WebRTC's usual 32 kb/s
	 * unless the remote caps it. */
	opus_encoder_ctl(e, OPUS_SET_BITRATE(32000));
	if (media_fmtp_uint(o->fmtp, "maxaveragebitrate", &v)) {
		if (v < 6000)
			v = 6000;
		if (v > 510000)
			v = 510000;
		opus_encoder_ctl(e, OPUS_SET_BITRATE((opus_int32)v));
	}
	if (media_fmtp_uint(o->fmtp, "maxplaybackrate", &v)) {
		int bw = v <= 8000 ? OPUS_BANDWIDTH_NARROWBAND :
			 v <= 12000 ? OPUS_BANDWIDTH_MEDIUMBAND :
			 v <= 16000 ? OPUS_BANDWIDTH_WIDEBAND :
			 v <= 24000 ? OPUS_BANDWIDTH_SUPERWIDEBAND : OPUS_BANDWIDTH_FULLBAND;
		opus_encoder_ctl(e, OPUS_SET_MAX_BANDWIDTH(bw));
	}
	return 0;
}

int media_codec_create(const media_codec_opts *o, media_codec **out)
{
	*out = NULL;
	if (!o || !o->name)
		return EINVAL;
	media_codec *c = calloc(1, sizeof *c);
	if (!c)
		return ENOMEM;
	int rc = 0;
	unsigned ptime = o->ptime_ms ? o->ptime_ms : 20;
	c->channels = o->pcm_channels ? o->pcm_channels : 1;
	if (strcasecmp(o->name, "PCMU") == 0 || strcasecmp(o->name, "PCMA") == 0) {
		c->id = (o->name[3] | 0x20) == 'u' ? MEDIA_CODEC_PCMU : MEDIA_CODEC_PCMA;
		c->clock_rate = c->pcm_rate = 8000;
		if ((o->clock_rate && o->clock_rate != 8000) || c->channels != 1 ||
		    (o->channels && o->channels != 1)) {
			rc = EINVAL;
			goto out;
		}
		media_plc_init(&c->plc, 8000);
	} else if (strcasecmp(o->name, "G722") == 0) {
		c->id = MEDIA_CODEC_G722;
		c->clock_rate = 8000; /* RFC 3551's historical error, kept by everyone */
		c->pcm_rate = 16000;
		if ((o->clock_rate && o->clock_rate != 8000) || c->channels != 1) {
			rc = EINVAL;
			goto out;
		}
		media_plc_init(&c->plc, 16000);
		c->g722e = g722_encode_init(NULL, 64000, 0);
		c->g722d = g722_decode_init(NULL, 64000, 0);
		if (!c->g722e || !c->g722d) {
			rc = ENOMEM;
			goto out;
		}
	} else if (strcasecmp(o->name, "opus") == 0) {
		c->id = MEDIA_CODEC_OPUS;
		c->clock_rate = 48000;
		c->pcm_rate = o->pcm_rate ? o->pcm_rate : 48000;
		if ((o->clock_rate && o->clock_rate != 48000) || c->channels > 2 ||
		    (c->pcm_rate != 8000 && c->pcm_rate != 12000 && c->pcm_rate != 16000 &&
		     c->pcm_rate != 24000 && c->pcm_rate != 48000)) {
			rc = EINVAL;
			goto out;
		}
		/* Opus frames are 2.5..60 ms; we use whole milliseconds only. */
		if (ptime != 10 && ptime != 20 && ptime != 40 && ptime != 60) {
			rc = EINVAL;
			goto out;
		}
		rc = opus_setup(c, o);
		if (rc)
			goto out;
	} else {
		rc = ENOENT;
		goto out;
	}
	if (ptime < 10 || ptime > 120 || ptime % 10) {
		rc = EINVAL;
		goto out;
	}
	c->frame_samples = c->pcm_rate / 1000 * ptime;
out:
	if (rc)
		c = media_codec_free(c);
	*out = c;
	return rc;
}

media_codec *media_codec_free(media_codec *c)
{
	if (!c)
		return NULL;
	if (c->g722e)
		g722_encode_free(c->g722e);
	if (c->g722d)
		g722_decode_free(c->g722d);
	if (c->opus_enc)
		opus_encoder_destroy(c->opus_enc);
	if (c->opus_dec)
		opus_decoder_destroy(c->opus_dec);
	free(c);
	return NULL;
}

media_codec_id media_codec_get_id(const media_codec *c)
{
	return c->id;
}

const char *media_codec_name(const media_codec *c)
{
	switch (c->id) {
	case MEDIA_CODEC_PCMU:
		return "PCMU";
	case MEDIA_CODEC_PCMA:
		return "PCMA";
	case MEDIA_CODEC_G722:
		return "G722";
	case MEDIA_CODEC_OPUS:
		return "opus";
	}
	return "?";
}

unsigned media_codec_clock_rate(const media_codec *c)
{
	return c->clock_rate;
}

unsigned media_codec_pcm_rate(const media_codec *c)
{
	return c->pcm_rate;
}

unsigned media_codec_pcm_channels(const media_codec *c)
{
	return c->channels;
}

unsigned media_codec_frame_samples(const media_codec *c)
{
	return c->frame_samples;
}

uint32_t media_codec_ticks(const media_codec *c, unsigned samples)
{
	return (uint32_t)((uint64_t)samples * c->clock_rate / c->pcm_rate);
}

/* ---- encode / decode ---- */

int media_codec_encode(media_codec *c, const int16_t *pcm, unsigned samples,
		       uint8_t *out, size_t cap, size_t *len)
{
	*len = 0;
	switch (c->id) {
	case MEDIA_CODEC_PCMU:
	case MEDIA_CODEC_PCMA:
		if (cap < samples)
			return ENOSPC;
		if (c->id == MEDIA_CODEC_PCMU)
			for (unsigned i = 0; i < samples; i++)
				out[i] = media_g711_ulaw_encode(pcm[i]);
		else
			for (unsigned i = 0; i < samples; i++)
				out[i] = media_g711_alaw_encode(pcm[i]);
		*len = samples;
		break;
	case MEDIA_CODEC_G722:
		if (samples % 2 || cap < samples / 2)
			return samples % 2 ? EINVAL : ENOSPC;
		*len = (size_t)g722_encode(c->g722e, out, pcm, (int)samples);
		break;
	case MEDIA_CODEC_OPUS: {
		opus_int32 n = opus_encode(c->opus_enc, pcm, (int)samples, out,
					   (opus_int32)(cap > 1500 ? 1500 : cap));
		if (n == OPUS_BUFFER_TOO_SMALL)
			return ENOSPC;
		if (n < 0)
			return EINVAL;
		/* With DTX a packet of 1-2 bytes means "nothing to send". */
		*len = (c->dtx && n <= 2) ? 0 : (size_t)n;
		break;
	}
	}
	c->stats.encoded++;
	return 0;
}

int media_codec_decode(media_codec *c, const uint8_t *payload, size_t len,
		       int16_t *pcm, unsigned cap, unsigned *samples)
{
	*samples = 0;
	switch (c->id) {
	case MEDIA_CODEC_PCMU:
	case MEDIA_CODEC_PCMA:
		if (len > cap)
			return ENOSPC;
		if (c->id == MEDIA_CODEC_PCMU)
			for (size_t i = 0; i < len; i++)
				pcm[i] = media_g711_ulaw_decode(payload[i]);
		else
			for (size_t i = 0; i < len; i++)
				pcm[i] = media_g711_alaw_decode(payload[i]);
		*samples = (unsigned)len;
		media_plc_good(&c->plc, pcm, (unsigned)len);
		break;
	case MEDIA_CODEC_G722:
		if (len * 2 > cap)
			return ENOSPC;
		*samples = (unsigned)g722_decode(c->g722d, pcm, payload, (int)len);
		media_plc_good(&c->plc, pcm, *samples);
		break;
	case MEDIA_CODEC_OPUS: {
		if (len == 0)
			return EBADMSG;
		int n = opus_decode(c->opus_dec, payload, (opus_int32)len, pcm, (int)cap, 0);
		if (n == OPUS_BUFFER_TOO_SMALL)
			return ENOSPC;
		if (n < 0)
			return EBADMSG;
		*samples = (unsigned)n;
		break;
	}
	}
	c->stats.decoded++;
	return 0;
}

int media_codec_conceal(media_codec *c, const uint8_t *next, size_t next_len,
			int16_t *pcm, unsigned samples)
{
	switch (c->id) {
	case MEDIA_CODEC_PCMU:
	case MEDIA_CODEC_PCMA:
	case MEDIA_CODEC_G722:
		media_plc_conceal(&c->plc, pcm, samples);
		break;
	case MEDIA_CODEC_OPUS: {
		if (samples % (c->pcm_rate / 400))
			return EINVAL; /* whole 2.5 ms units only */
		int n;
		if (next && next_len) {
			n = opus_decode(c->opus_dec, next, (opus_int32)next_len, pcm, (int)samples, 1);
			if (n == (int)samples) {
				c->stats.fec++;
				return 0;
			}
		}
		n = opus_decode(c->opus_dec, NULL, 0, pcm, (int)samples, 0);
		if (n < 0)
			return EINVAL;
		break;
	}
	}
	c->stats.concealed++;
	return 0;
}

unsigned media_codec_payload_samples(const media_codec *c, const uint8_t *payload, size_t len)
{
	switch (c->id) {
	case MEDIA_CODEC_PCMU:
	case MEDIA_CODEC_PCMA:
		return (unsigned)len;
	case MEDIA_CODEC_G722:
		return (unsigned)len * 2;
	case MEDIA_CODEC_OPUS: {
		if (len == 0)
			return 0;
		int n = opus_packet_get_nb_samples(payload, (opus_int32)len, (opus_int32)c->pcm_rate);
		return n > 0 ? (unsigned)n : 0;
	}
	}
	return 0;
}

void media_codec_get_stats(const media_codec *c, media_codec_stats *out)
{
	*out = c->stats;
}
