/* rtc_int.h: helpers private to webrtc/ (not a public module). */
#ifndef JN_RTC_INT_H
#define JN_RTC_INT_H

#include <stdbool.h>
#include <stdint.h>

/* Outbound RTP sequence continuity across holds.
 *
 * While a leg is held we drop what the sender upstream gives us, and that
 * sender keeps counting meanwhile; after the hold the stream would jump by
 * the packets dropped. Past 2^15 of them (11 minutes at 50/s) SRTP's
 * index estimate (RFC 3711 §3.3.1) takes the jump for a step back, on our
 * side (protect fails as a replay) and on the peer's (it drops the packets
 * as replays). So after a pause, and after any other jump that large, the
 * numbers are shifted to go on from the last one sent; small gaps and
 * reordering pass unchanged. */
typedef struct {
	uint16_t off, last;
	bool started, resync;
} rtc_seq;

/* A packet was dropped (held): the next one sent closes the gap. */
static inline void rtc_seq_pause(rtc_seq *s)
{
	s->resync = true;
}

/* The sequence number to send for in (the sender's own). */
static inline uint16_t rtc_seq_out(rtc_seq *s, uint16_t in)
{
	uint16_t out = (uint16_t)(in + s->off);
	uint16_t step = (uint16_t)(out - s->last);
	if (s->started && (s->resync || (step >= 0x4000 && step <= 0xfc00))) {
		s->off = (uint16_t)(s->last + 1 - in);
		out = (uint16_t)(s->last + 1);
	}
	s->resync = false;
	return out;
}

/* out went on the wire: the highest number sent moves forward. */
static inline void rtc_seq_sent(rtc_seq *s, uint16_t out)
{
	uint16_t step = (uint16_t)(out - s->last);
	if (!s->started || (step && step < 0x4000))
		s->last = out;
	s->started = true;
}

#endif
