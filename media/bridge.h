/* media_bridge: joins the RTP streams of two legs (0 and 1).
 *
 * Callers hand in each RTP packet a leg received and get back the packets
 * to send to the other leg; a 20 ms tick drives the decoding paths. No
 * sockets, no threads, no allocation after create: everything the packet
 * path needs is reserved up front.
 *
 * Relay, when both legs negotiated the same codec: no decode; the payload
 * type is mapped, header extensions and CSRCs are dropped, and SSRC,
 * sequence number and timestamp are rewritten in place so the far end sees one continuous stream across source changes
 * (hold, re-INVITE, transfer: a new SSRC or a seq/ts jump). A far end that
 * saw its SRTP stream restart would drop it as replayed.
 *
 * Transcode otherwise: jitter buffer + decode -> resample -> encode at the
 * far leg's codec and ptime (20 <-> 30 ms). Opus decodes straight to 8 or
 * 16 kHz when the other side's codec runs at that rate.
 *
 * DTMF: RFC 4733 events are carried to a leg that negotiated
 * telephone-event (durations rescaled between 8 and 48 kHz clocks), or
 * reported as digits for legs that want them as SIP INFO. */
#ifndef JN_MEDIA_BRIDGE_H
#define JN_MEDIA_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct media_bridge media_bridge;

#define MEDIA_BRIDGE_OUT_MAX 8	   /* packets one call can return */
#define MEDIA_BRIDGE_DIGITS_MAX 8  /* digits one call can report */
#define MEDIA_BRIDGE_PKT_MAX 1500

/* What one leg negotiated. */
typedef struct {
	const char *codec;     /* encoding name: "opus", "PCMU", "PCMA", "G722" */
	uint8_t pt;	       /* its payload type on this leg */
	unsigned clock_rate;   /* rtpmap rate; 0 = usual */
	unsigned channels;     /* rtpmap channels; 0 = usual */
	const char *fmtp;      /* the remote's fmtp for the codec, or NULL */
	unsigned ptime_ms;     /* packet duration to send to this leg; 0 = 20 */
	int te_pt;	       /* telephone-event PT, or -1 */
	unsigned te_clock;     /* its clock rate; 0 = the codec's clock */
	int cn_pt;	       /* comfort noise PT (RFC 3389), or -1 */
	uint32_t ssrc;	       /* SSRC of what we send to this leg */
	uint16_t seq_start;    /* first sequence number we send */
	uint32_t ts_start;     /* first timestamp we send */
	bool dtmf_as_digits;   /* this leg wants DTMF reported, not as RFC 4733 */
	bool send_silence;     /* transcode: keep sending (silence) while the
				* other leg is quiet, for peers that need a
				* continuous stream */
	unsigned pcm_rate;     /* opus: force this PCM rate (0 = choose) */
	int complexity;	       /* opus encoder complexity; -1 = default */
} media_bridge_leg;

/* A packet to send and the leg to send it to (a view: valid until the next
 * call on the bridge; for a relayed packet it is the caller's own buffer). */
typedef struct {
	int leg;
	uint8_t *data;
	size_t len;
} media_bridge_pkt;

/* What one push or tick produced. */
typedef struct {
	unsigned count;
	media_bridge_pkt pkt[MEDIA_BRIDGE_OUT_MAX];
	unsigned n_digits;
	struct {
		int from_leg; /* the leg the key was pressed on */
		char digit;
		bool end;     /* false: press started; true: press ended */
		unsigned duration_ms;
	} digits[MEDIA_BRIDGE_DIGITS_MAX];
} media_bridge_out;

/* Per-leg counters (rx: received from that leg; tx: sent to it). */
typedef struct {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_dropped;   /* unparseable, unknown PT, RTCP */
	int32_t lost;	       /* cumulative, RFC 3550 A.3 */
	unsigned jitter_ms;    /* RFC 3550 A.8 */
	uint64_t decoded;      /* payloads decoded (0 when relaying) */
	uint64_t concealed;    /* frames concealed for this leg's losses */
	uint64_t source_changes; /* SSRC changes / stream restarts seen */
	const char *codec;
	bool relay;
} media_bridge_stats;

/* Creates a bridge between legs 0 and 1. Returns 0, EINVAL/ENOENT for a
 * codec it cannot handle, or ENOMEM. */
int media_bridge_create(const media_bridge_leg *leg0, const media_bridge_leg *leg1,
			media_bridge **out);
/* Frees a bridge (NULL is fine); returns NULL. */
media_bridge *media_bridge_free(media_bridge *br);
/* True when packets are relayed without decoding. */
bool media_bridge_is_relay(const media_bridge *br);

/* Hands in one RTP packet received on leg `from` at now_us (monotonic).
 * Relay: the packet is rewritten in place and returned. Transcode: audio is
 * queued for the next tick; DTMF is forwarded or reported at once. Fills
 * out (cleared first). Returns 0 or EBADMSG for a packet that is not RTP
 * (dropped and counted). */
int media_bridge_push(media_bridge *br, int from, uint8_t *pkt, size_t len, uint64_t now_us,
		      media_bridge_out *out);
/* Call every 20 ms: runs the decoding paths and queued DTMF, filling out. */
void media_bridge_tick(media_bridge *br, uint64_t now_us, media_bridge_out *out);
/* Queues a key press to send to leg `to` as RFC 4733 (e.g. from SIP INFO
 * or the REST API). Returns 0, EINVAL (bad key, or the leg has no
 * telephone-event) or EBUSY. */
int media_bridge_send_digit(media_bridge *br, int to, char digit, unsigned duration_ms);

/* Where the stream we send to `leg` must continue if this bridge is
 * replaced (a re-INVITE that changes codecs, a transfer to a new far leg):
 * the next sequence number and a timestamp advanced by the time since the
 * last packet. Pass them as seq_start/ts_start, with the same ssrc, to the
 * new bridge so the leg sees one stream. */
void media_bridge_resume_point(const media_bridge *br, int leg, uint64_t now_us, uint16_t *seq,
			       uint32_t *ts);
/* Reads one leg's counters. */
void media_bridge_get_stats(const media_bridge *br, int leg, media_bridge_stats *out);
/* Microseconds since leg last sent us an RTP packet (or since create): the
 * caller compares it to its media timeout. */
uint64_t media_bridge_idle_us(const media_bridge *br, int leg, uint64_t now_us);

#endif
