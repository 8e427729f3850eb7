/* media_te: RFC 4733 telephone-event parse/generate, RFC 3389 comfort noise. */
#include "media/dtmf.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static const char te_keys[] = "0123456789*#ABCD!";

int media_te_parse(const uint8_t *p, size_t len, media_te *out)
{
	if (!p || len < MEDIA_TE_PAYLOAD_LEN)
		return EBADMSG;
	out->event = p[0];
	out->end = (p[1] & 0x80) != 0;
	out->volume = p[1] & 0x3f;
	out->duration = (uint16_t)((p[2] << 8) | p[3]);
	return 0;
}

void media_te_write(const media_te *e, uint8_t out[MEDIA_TE_PAYLOAD_LEN])
{
	out[0] = e->event;
	out[1] = (uint8_t)((e->end ? 0x80 : 0) | (e->volume & 0x3f));
	out[2] = (uint8_t)(e->duration >> 8);
	out[3] = (uint8_t)e->duration;
}

char media_te_digit(uint8_t event)
{
	return event < sizeof te_keys - 1 ? te_keys[event] : 0;
}

int media_te_event(char digit)
{
	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	if (digit == 0)
		return -1;
	const char *p = strchr(te_keys, digit);
	return p ? (int)(p - te_keys) : -1;
}

void media_te_rx_init(media_te_rx *rx)
{
	memset(rx, 0, sizeof *rx);
}

media_te_what media_te_rx_push(media_te_rx *rx, uint32_t ts, const uint8_t *p, size_t len,
			       media_te *ev)
{
	if (media_te_parse(p, len, ev) != 0)
		return MEDIA_TE_NONE;
	if (rx->have_last && ts == rx->ts && ev->event == rx->event) {
		if (rx->ended || !ev->end)
			return MEDIA_TE_NONE; /* continuation or a redundant end */
		rx->ended = true;
		rx->active = false;
		return MEDIA_TE_END;
	}
	/* A packet of an older event arriving late is not a new press. */
	if (rx->have_last && (int32_t)(ts - rx->ts) < 0)
		return MEDIA_TE_NONE;
	rx->have_last = true;
	rx->ts = ts;
	rx->event = ev->event;
	rx->ended = ev->end;
	rx->active = !ev->end;
	return ev->end ? MEDIA_TE_START_END : MEDIA_TE_START;
}

void media_te_tx_init(media_te_tx *tx, unsigned clock_rate, unsigned ptime_ms)
{
	memset(tx, 0, sizeof *tx);
	tx->per_ms = clock_rate / 1000;
	tx->step = tx->per_ms * (ptime_ms ? ptime_ms : 20);
}

int media_te_tx_start(media_te_tx *tx, char digit, unsigned duration_ms, uint8_t volume)
{
	int ev = media_te_event(digit);
	if (ev < 0 || !tx->step)
		return EINVAL;
	if (tx->active)
		return EBUSY;
	uint64_t ticks = (uint64_t)duration_ms * tx->per_ms;
	/* One 16-bit duration field: longer presses are cut (RFC 4733 would
	 * segment them; nobody holds a key for 8 s at 8 kHz). */
	if (ticks > 0xffff)
		ticks = 0xffff;
	if (ticks < tx->step)
		ticks = tx->step;
	tx->total = (uint32_t)ticks;
	tx->event = (uint8_t)ev;
	tx->volume = volume & 0x3f;
	tx->sent = 0;
	tx->ends_left = MEDIA_TE_END_REPEATS;
	tx->active = true;
	tx->started = false;
	return 0;
}

bool media_te_tx_active(const media_te_tx *tx)
{
	return tx->active;
}

bool media_te_tx_next(media_te_tx *tx, uint8_t out[MEDIA_TE_PAYLOAD_LEN], bool *first)
{
	*first = false;
	if (!tx->active)
		return false;
	if (!tx->started) {
		tx->started = true;
		*first = true;
	}
	media_te e = { .event = tx->event, .volume = tx->volume };
	if (tx->sent + tx->step < tx->total) {
		tx->sent += tx->step;
	} else {
		tx->sent = tx->total;
		e.end = true;
		if (--tx->ends_left == 0)
			tx->active = false;
	}
	e.duration = (uint16_t)tx->sent;
	media_te_write(&e, out);
	return true;
}

int media_cn_parse(const uint8_t *p, size_t len, uint8_t *level, unsigned *n_coeffs)
{
	if (!p || len < 1 || (p[0] & 0x80))
		return EBADMSG;
	*level = p[0];
	*n_coeffs = (unsigned)(len - 1);
	return 0;
}

void media_cn_fill(uint8_t level, int16_t *pcm, unsigned n, uint32_t *seed)
{
	/* Uniform noise of amplitude a has an RMS of a/sqrt(3). */
	double a = 32767.0 * pow(10.0, -(double)(level & 0x7f) / 20.0) * sqrt(3.0);
	if (a > 32767)
		a = 32767;
	int32_t amp = (int32_t)a;
	uint32_t s = *seed ? *seed : 1;
	for (unsigned i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		int32_t r = (int32_t)(s >> 16) - 32768; /* -32768..32767 */
		pcm[i] = (int16_t)(r * amp / 32768);
	}
	*seed = s;
}
