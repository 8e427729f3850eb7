/* jn_mbridge: joins the media of two legs of a call on their worker.
 *
 * A leg is a plain RTP leg toward a SIP peer (rtc_rtp) or a browser leg
 * (rtc_pc); both live on the same worker. The bridge wraps a media_bridge
 * made from the two negotiated codec descriptions: relay when they match,
 * transcode otherwise. Packets each leg receives go into media_bridge_push
 * and what comes out is sent on the other leg at once. A timer on the
 * worker's context runs media_bridge_tick (decode, resample, encode, DTMF)
 * every 20 ms while transcoding, or while a queued key press goes out as
 * RFC 4733 on a relay. A relay with nothing to generate has no source of
 * its own: its media timeout waits in one clock source that the bridges of
 * a context share, so its worker wakes for packets only. No allocation and
 * no lock per packet.
 *
 * rtc_rtp legs are wired by jn_mbridge_attach_rtp (the bridge becomes the
 * leg's receiver). rtc_pc legs keep the callback given at their creation:
 * forward it with jn_mbridge_rx.
 *
 * Media timeout: when a side has sent nothing for media_timeout_ms, the
 * bridge posts opts.timeout to the core thread (jn_core_post) once per
 * side, with the bridge's id (copied) so the core can look the call up:
 * by the time it runs, the call may have ended.
 *
 * Threads: create, calls and free on the worker that runs opts.context.
 * Close rule: jn_mbridge_free stops the timer and detaches from the rtc_rtp
 * legs (their receiver becomes NULL); free the bridge before the legs.
 * Read the stats (for the CDR) on the worker before freeing. */
#ifndef JN_MBRIDGE_H
#define JN_MBRIDGE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "media/bridge.h"
#include "webrtc/rtc_pc.h"
#include "webrtc/rtc_rtp.h"

typedef struct jn_mbridge jn_mbridge;

typedef struct {
	GMainContext *context;	    /* the legs' worker (NULL = default) */
	const char *id;		    /* call id for logs and the timeout (copied) */
	media_bridge_leg side[2];   /* what each side negotiated (strings copied) */
	unsigned media_timeout_ms;  /* 0 = no timeout */
	/* Runs on the core thread, once per side that went quiet. */
	void (*timeout)(void *user, const char *id, int side);
	/* A DTMF key reported on the worker (sides with dtmf_as_digits, e.g.
	 * to send as SIP INFO): from_side, digit, end of press, duration. */
	void (*digit)(void *user, int from_side, char digit, bool end, unsigned duration_ms);
	void *user;
} jn_mbridge_opts;

typedef struct {
	bool relay;		   /* no decoding */
	const char *codec[2];	   /* each side's codec name (static) */
	uint64_t rx_packets[2];	   /* received from side i */
	uint64_t tx_packets[2];	   /* sent to side i */
	uint64_t rx_dropped[2];	   /* not RTP, unknown PT */
	uint64_t send_errors[2];   /* the leg refused or failed */
	uint64_t decoded[2];	   /* payloads from side i decoded (0 when relaying) */
	uint64_t concealed[2];
	int32_t lost[2];
	unsigned jitter_ms[2];
	bool timed_out[2];
} jn_mbridge_stats;

/* Creates the bridge and its timer (20 ms ticks when transcoding). 0, or EINVAL/ENOENT (a
 * codec the media engine cannot handle) or ENOMEM. */
int jn_mbridge_new(const jn_mbridge_opts *o, jn_mbridge **out);
/* Stops the timer and detaches from the legs; NULL is fine. Returns NULL. */
jn_mbridge *jn_mbridge_free(jn_mbridge *b);
/* Makes an rtc_rtp leg side 0 or 1: the bridge takes its receiver. */
void jn_mbridge_attach_rtp(jn_mbridge *b, int side, rtc_rtp *leg);
/* Makes an rtc_pc leg side 0 or 1 (forward its rtp callback to
 * jn_mbridge_rx). */
void jn_mbridge_attach_pc(jn_mbridge *b, int side, rtc_pc *leg);
/* One RTP packet received on a side (for rtc_pc legs; copied once). */
void jn_mbridge_rx(jn_mbridge *b, int side, const uint8_t *buf, size_t len);
/* Queues a key press to send to a side as RFC 4733 (from SIP INFO, the
 * REST API). 0, EINVAL (no telephone-event on that side) or EBUSY. */
int jn_mbridge_send_digit(jn_mbridge *b, int to_side, char digit, unsigned duration_ms);
/* Reads the counters (for stats messages and the CDR). */
void jn_mbridge_get_stats(const jn_mbridge *b, jn_mbridge_stats *st);
/* The underlying bridge, e.g. for media_bridge_resume_point before a
 * re-INVITE replaces it. */
media_bridge *jn_mbridge_media(jn_mbridge *b);

#endif
