/* media_jb: an adaptive jitter buffer for the paths that decode.
 *
 * Packets go in as they arrive (any order, duplicates, gaps); PCM comes out
 * in fixed frames, one call per frame period of the consumer's clock. The
 * buffer owns the decode step so it can conceal losses (codec PLC, or Opus
 * in-band FEC from the next packet), convert the sender's packet duration to
 * the consumer's frame size, and stretch or shrink playout to hold a target
 * delay that follows the measured jitter. Memory is reserved at create;
 * put and get never allocate. The codec is borrowed, not owned. */
#ifndef JN_MEDIA_JITTER_H
#define JN_MEDIA_JITTER_H

#include <stdint.h>
#include <stddef.h>

#include "media/codec.h"

typedef struct media_jb media_jb;

typedef struct {
	media_codec *codec; /* decodes payloads; borrowed */
	unsigned frame_ms;  /* size of each get() frame; 0 = 20 */
	unsigned min_ms;    /* lowest target delay; 0 = frame_ms (2 frames for Opus, for FEC) */
	unsigned max_ms;    /* hard cap on buffered audio; 0 = 200 */
} media_jb_opts;

typedef struct {
	uint64_t received;  /* packets given to put */
	uint64_t duplicates;
	uint64_t late;	    /* arrived after their playout time */
	uint64_t overflow;  /* dropped because the buffer was full */
	uint64_t decoded;   /* packets decoded */
	uint64_t concealed; /* frames made by PLC/FEC for missing audio */
	uint64_t shrunk;    /* frames dropped to lower the delay */
	uint64_t stretched; /* frames inserted to raise the delay */
	uint64_t silent;    /* frames of silence while (re)buffering */
	uint64_t resyncs;   /* restarts on a timestamp jump or long gap */
	unsigned target_ms; /* current target delay */
	unsigned level_ms;  /* audio buffered now (packets + decoded) */
} media_jb_stats;

/* Creates a buffer. Returns 0, EINVAL or ENOMEM. */
int media_jb_create(const media_jb_opts *o, media_jb **out);
/* Frees a buffer (NULL is fine); returns NULL. */
media_jb *media_jb_free(media_jb *jb);
/* Offers one packet: its RTP timestamp, payload and arrival time (any
 * monotonic microsecond clock). Returns 0, or EALREADY for a duplicate or
 * late packet, EMSGSIZE for an oversized payload (the packet is dropped in
 * all those cases). */
int media_jb_put(media_jb *jb, uint32_t ts, const uint8_t *payload, size_t len, uint64_t now_us);
/* Fills one frame (frame_ms at the codec's PCM rate, all channels) of
 * audio: decoded, concealed, or silence while buffering. Always fills. */
void media_jb_get(media_jb *jb, int16_t *pcm);
/* Samples per channel in one get() frame. */
unsigned media_jb_frame_samples(const media_jb *jb);
/* RTP timestamp of the first sample the last get() returned (meaningful
 * while playing). */
uint32_t media_jb_out_ts(const media_jb *jb);
/* True once playout has started (after the first buffering period). */
int media_jb_playing(const media_jb *jb);
/* Reads the counters and the current target and level. */
void media_jb_get_stats(const media_jb *jb, media_jb_stats *out);
/* Drops everything buffered and starts buffering again (new source). */
void media_jb_reset(media_jb *jb);

#endif
