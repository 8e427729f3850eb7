/* media_codec: one small interface over the audio codecs we negotiate
 * (PCMU, PCMA, G722, opus).
 *
 * A codec instance holds both an encoder and a decoder for one direction
 * pair of one leg. PCM is signed 16-bit, interleaved when stereo, at the
 * instance's PCM rate (media_codec_pcm_rate), which for Opus may be chosen
 * (8/12/16/24/48 kHz: libopus then encodes from and decodes straight to that
 * rate, cheaper than resampling). Encode, decode and conceal never allocate:
 * they run per packet. Errors are 0 or an errno-style code. */
#ifndef JN_MEDIA_CODEC_H
#define JN_MEDIA_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct media_codec media_codec;

typedef enum {
	MEDIA_CODEC_PCMU = 0,
	MEDIA_CODEC_PCMA = 8,
	MEDIA_CODEC_G722 = 9,
	MEDIA_CODEC_OPUS = 111, /* dynamic; the value is only an identity here */
} media_codec_id;

/* What the session negotiated, plus local choices. */
typedef struct {
	const char *name;      /* rtpmap encoding name: "PCMU", "PCMA", "G722", "opus" */
	unsigned clock_rate;   /* rtpmap clock rate; 0 = the codec's usual one */
	unsigned channels;     /* rtpmap channels; 0 = 1 (opus: 2 per RFC 7587) */
	const char *fmtp;      /* the remote's a=fmtp parameters, or NULL */
	unsigned pcm_rate;     /* opus only: PCM rate we want (0 = 48000) */
	unsigned pcm_channels; /* 0 = 1; 2 only with opus stereo=1 */
	unsigned ptime_ms;     /* frame duration for encode; 0 = 20 */
	int complexity;	       /* opus encoder complexity 0..10; -1 = default (5) */
} media_codec_opts;

/* Creates a codec: ENOENT for an unknown name, EINVAL for a bad rate,
 * channel count or ptime, ENOMEM if the codec library fails. */
int media_codec_create(const media_codec_opts *o, media_codec **out);
/* Frees a codec (NULL is fine); returns NULL. */
media_codec *media_codec_free(media_codec *c);

/* The codec's identity. */
media_codec_id media_codec_get_id(const media_codec *c);
/* Its canonical encoding name ("PCMU", "PCMA", "G722", "opus"). */
const char *media_codec_name(const media_codec *c);
/* RTP clock rate (8000 for G.722 although it carries 16 kHz audio). */
unsigned media_codec_clock_rate(const media_codec *c);
/* Sample rate of the PCM that encode takes and decode returns. */
unsigned media_codec_pcm_rate(const media_codec *c);
/* Interleaved PCM channels. */
unsigned media_codec_pcm_channels(const media_codec *c);
/* Samples per channel in one encode frame (ptime at the PCM rate). */
unsigned media_codec_frame_samples(const media_codec *c);
/* Converts a duration in PCM samples to RTP timestamp ticks. */
uint32_t media_codec_ticks(const media_codec *c, unsigned samples);

/* Encodes samples (per channel) of PCM into one payload. G.711/G.722 take
 * any count; opus 2.5/5/10/20/40/60 ms. *len 0 means "send nothing" (opus
 * DTX). Returns 0, EINVAL or ENOSPC. */
int media_codec_encode(media_codec *c, const int16_t *pcm, unsigned samples,
		       uint8_t *out, size_t cap, size_t *len);

/* Decodes one payload into pcm (cap samples per channel); *samples gets
 * the count per channel. Returns 0, EBADMSG for an undecodable payload or
 * ENOSPC. */
int media_codec_decode(media_codec *c, const uint8_t *payload, size_t len,
		       int16_t *pcm, unsigned cap, unsigned *samples);

/* Produces samples (per channel) of audio for a lost frame: from the next
 * packet's in-band FEC when given and the codec has it (opus), else by
 * packet loss concealment. Returns 0 or EINVAL. */
int media_codec_conceal(media_codec *c, const uint8_t *next, size_t next_len,
			int16_t *pcm, unsigned samples);

/* Samples (per channel, at the PCM rate) a payload will decode to, or 0 if
 * unknown/invalid. */
unsigned media_codec_payload_samples(const media_codec *c, const uint8_t *payload, size_t len);

/* Counters since creation. */
typedef struct {
	uint64_t encoded;   /* frames encoded */
	uint64_t decoded;   /* payloads decoded */
	uint64_t concealed; /* frames made by PLC */
	uint64_t fec;	    /* frames recovered from in-band FEC */
} media_codec_stats;

/* Reads the counters. */
void media_codec_get_stats(const media_codec *c, media_codec_stats *out);

/* Looks up a fmtp parameter ("a=b;c=d", spaces allowed) as an unsigned
 * number; returns false if absent or not a number. */
bool media_fmtp_uint(const char *fmtp, const char *key, unsigned *out);

/* G.711 sample conversions (ITU-T G.711; 16-bit input is rounded to the
 * law's 14/13-bit range, as sox does). */
uint8_t media_g711_ulaw_encode(int16_t x);
uint8_t media_g711_alaw_encode(int16_t x);
int16_t media_g711_ulaw_decode(uint8_t u);
int16_t media_g711_alaw_decode(uint8_t a);

#endif
