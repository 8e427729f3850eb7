/* media_latch: symmetric RTP ("latching") toward SIP peers behind NAT.
 *
 * The address in a NATed peer's SDP is often private and useless; the
 * address its packets come from is where it can be reached. With latching
 * on, we send to the source of the first RTP packet, and move only when
 * the same SSRC shows up from a new address (a NAT rebinding) or when the
 * current source has been silent for hold_ms (a new source after a
 * transfer). Packets from any other address are "foreign": the caller
 * drops them, so a stranger cannot steal the stream by spraying packets.
 * With latching off, the SDP address is used and never changes. */
#ifndef JN_MEDIA_LATCH_H
#define JN_MEDIA_LATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "util/net.h"

typedef struct {
	jn_addr dest;	   /* where to send now */
	bool enabled;
	bool latched;
	uint32_t ssrc;	   /* SSRC seen from dest */
	uint64_t last_us;  /* last packet from dest */
	uint64_t hold_us;
	unsigned moves;	   /* times dest changed */
} media_latch;

typedef enum {
	MEDIA_LATCH_OK = 0, /* from the current destination */
	MEDIA_LATCH_MOVED,  /* the destination is now the packet's source */
	MEDIA_LATCH_FOREIGN,/* from elsewhere and not accepted: drop it */
} media_latch_result;

/* Starts with the SDP address; enabled turns latching on; hold_ms (0 = 2000)
 * is the silence after which another address may take over. */
void media_latch_init(media_latch *l, const jn_addr *sdp_dest, bool enabled, unsigned hold_ms);
/* Relearns from scratch (after a re-INVITE with a new SDP address). */
void media_latch_reset(media_latch *l, const jn_addr *sdp_dest);
/* Records one valid RTP/RTCP packet from `from` with its SSRC. */
media_latch_result media_latch_rx(media_latch *l, const jn_addr *from, uint32_t ssrc, uint64_t now_us);
/* The address to send to. */
const jn_addr *media_latch_dest(const media_latch *l);

#endif
