/* media_plc: packet loss concealment for waveform codecs (G.711, G.722).
 *
 * Keeps the last 30 ms of good audio. On a loss it finds the pitch period
 * by autocorrelation and repeats the last period, cross-fading the joint,
 * and fades out over 60 ms so a long gap turns into silence rather than a
 * buzz. The first good frame after a loss is cross-faded in. No allocation. */
#ifndef JN_MEDIA_PLC_H
#define JN_MEDIA_PLC_H

#include <stdint.h>

#define MEDIA_PLC_HIST_MAX 480 /* 30 ms at 16 kHz */

typedef struct {
	unsigned rate;
	unsigned hist_len;	/* samples in hist (<= 30 ms) */
	int16_t hist[MEDIA_PLC_HIST_MAX];
	unsigned pitch;		/* period in samples while concealing, 0 if not */
	unsigned pos;		/* position within the repeated period */
	unsigned lost;		/* samples concealed in this gap */
} media_plc;

/* Prepares a concealer for 8000 or 16000 Hz mono audio. */
void media_plc_init(media_plc *p, unsigned rate);
/* Records a good frame (and smooths the joint after a loss, in place). */
void media_plc_good(media_plc *p, int16_t *pcm, unsigned n);
/* Fills n samples for a lost frame. */
void media_plc_conceal(media_plc *p, int16_t *pcm, unsigned n);

#endif
