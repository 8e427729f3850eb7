/* media_latch: symmetric RTP destination learning. */
#include "media/latch.h"

#include <string.h>

void media_latch_init(media_latch *l, const jn_addr *sdp_dest, bool enabled, unsigned hold_ms)
{
	memset(l, 0, sizeof *l);
	l->enabled = enabled;
	l->hold_us = (uint64_t)(hold_ms ? hold_ms : 2000) * 1000u;
	if (sdp_dest)
		l->dest = *sdp_dest;
}

void media_latch_reset(media_latch *l, const jn_addr *sdp_dest)
{
	media_latch_init(l, sdp_dest, l->enabled, (unsigned)(l->hold_us / 1000u));
}

static media_latch_result move_to(media_latch *l, const jn_addr *from, uint32_t ssrc, uint64_t now_us)
{
	bool same = l->dest.len && jn_addr_equal(&l->dest, from);
	l->dest = *from;
	l->latched = true;
	l->ssrc = ssrc;
	l->last_us = now_us;
	if (same)
		return MEDIA_LATCH_OK;
	l->moves++;
	return MEDIA_LATCH_MOVED;
}

media_latch_result media_latch_rx(media_latch *l, const jn_addr *from, uint32_t ssrc, uint64_t now_us)
{
	if (!l->enabled) {
		/* Accept media from anywhere but keep sending to the SDP address
		 * (some peers send from a different port than they receive on). */
		return MEDIA_LATCH_OK;
	}
	if (!l->latched)
		return move_to(l, from, ssrc, now_us);
	if (jn_addr_equal(&l->dest, from)) {
		l->last_us = now_us;
		l->ssrc = ssrc;
		return MEDIA_LATCH_OK;
	}
	if (ssrc == l->ssrc || now_us - l->last_us >= l->hold_us)
		return move_to(l, from, ssrc, now_us);
	return MEDIA_LATCH_FOREIGN;
}

const jn_addr *media_latch_dest(const media_latch *l)
{
	return &l->dest;
}
