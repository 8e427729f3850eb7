/* media_plc: pitch-repetition loss concealment. */
#include "media/plc.h"

#include <string.h>

void media_plc_init(media_plc *p, unsigned rate)
{
	memset(p, 0, sizeof *p);
	p->rate = rate == 16000 ? 16000 : 8000;
}

/* The lag (2.5..15 ms) that best predicts the last 10 ms from the audio
 * before it: normalised cross-correlation, searched coarsely. */
static unsigned find_pitch(const media_plc *p)
{
	unsigned k = p->rate / 8000; /* compare every k-th sample */
	unsigned win = p->rate / 100;
	unsigned lo = p->rate / 400, hi = p->rate * 15 / 1000;
	if (p->hist_len < win + hi)
		return win;
	const int16_t *end = p->hist + p->hist_len - win;
	double best = -1;
	unsigned best_lag = win;
	for (unsigned lag = lo; lag <= hi; lag++) {
		double xy = 0, yy = 0;
		for (unsigned i = 0; i < win; i += k) {
			double x = end[i], y = *(end + i - lag);
			xy += x * y;
			yy += y * y;
		}
		double score = yy > 0 ? xy / __builtin_sqrt(yy) : 0;
		if (score > best) {
			best = score;
			best_lag = lag;
		}
	}
	return best_lag;
}

void media_plc_good(media_plc *p, int16_t *pcm, unsigned n)
{
	if (p->pitch) {
		/* Cross-fade from the concealed waveform into the real one over
		 * a quarter period, so the joint does not click. */
		unsigned ov = p->pitch / 4;
		if (ov > n)
			ov = n;
		unsigned fade = p->rate * 60 / 1000;
		int32_t g = p->lost >= fade ? 0 : (int32_t)(256 * (fade - p->lost) / fade);
		for (unsigned i = 0; i < ov; i++) {
			const int16_t *src = p->hist + p->hist_len - p->pitch;
			int32_t c = src[(p->pos + i) % p->pitch] * g / 256;
			pcm[i] = (int16_t)((c * (int32_t)(ov - i) + pcm[i] * (int32_t)i) / (int32_t)ov);
		}
		p->pitch = 0;
		p->lost = 0;
	}
	if (n >= MEDIA_PLC_HIST_MAX) {
		memcpy(p->hist, pcm + n - MEDIA_PLC_HIST_MAX, sizeof p->hist);
		p->hist_len = MEDIA_PLC_HIST_MAX;
		return;
	}
	unsigned keep = p->hist_len + n > MEDIA_PLC_HIST_MAX ? MEDIA_PLC_HIST_MAX - n : p->hist_len;
	memmove(p->hist, p->hist + p->hist_len - keep, keep * sizeof *pcm);
	memcpy(p->hist + keep, pcm, n * sizeof *pcm);
	p->hist_len = keep + n;
}

void media_plc_conceal(media_plc *p, int16_t *pcm, unsigned n)
{
	if (p->hist_len == 0) {
		memset(pcm, 0, n * sizeof *pcm);
		return;
	}
	if (!p->pitch) {
		p->pitch = find_pitch(p);
		if (p->pitch > p->hist_len)
			p->pitch = p->hist_len;
		p->pos = 0;
		p->lost = 0;
	}
	/* Full level for the first 10 ms, then a linear fade to zero at 60 ms. */
	unsigned hold = p->rate / 100, fade = p->rate * 60 / 1000;
	const int16_t *src = p->hist + p->hist_len - p->pitch;
	for (unsigned i = 0; i < n; i++, p->lost++) {
		int32_t g = p->lost < hold ? 256 : p->lost >= fade ? 0 :
			    (int32_t)(256 * (fade - p->lost) / (fade - hold));
		pcm[i] = (int16_t)(src[p->pos] * g / 256);
		if (++p->pos == p->pitch)
			p->pos = 0;
	}
}
