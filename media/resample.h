/* media_resampler: sample-rate conversion between 8, 16 and 48 kHz (any
 * rates speexdsp takes) for 16-bit PCM. Equal rates copy. Processing never
 * allocates. */
#ifndef JN_MEDIA_RESAMPLE_H
#define JN_MEDIA_RESAMPLE_H

#include <stdint.h>

typedef struct media_resampler media_resampler;

#define MEDIA_RESAMPLE_QUALITY_VOIP 3 /* speexdsp's VoIP setting */

/* Creates a converter; quality 0..10 (speexdsp). Returns 0, EINVAL or ENOMEM. */
int media_resampler_create(unsigned in_rate, unsigned out_rate, unsigned channels,
			   int quality, media_resampler **out);
/* Frees a converter (NULL is fine); returns NULL. */
media_resampler *media_resampler_free(media_resampler *r);
/* Converts in_n samples per channel; *out_n gets the samples written.
 * cap must hold media_resampler_out_max(r, in_n). Returns 0 or ENOSPC. */
int media_resampler_process(media_resampler *r, const int16_t *in, unsigned in_n,
			    int16_t *out, unsigned cap, unsigned *out_n);
/* Output capacity (per channel) that in_n input samples can need. */
unsigned media_resampler_out_max(const media_resampler *r, unsigned in_n);
/* Forgets history (after a gap), so old audio does not leak into new. */
void media_resampler_reset(media_resampler *r);

#endif
