/* media_resampler: a thin wrapper over speexdsp's resampler. */
#include "media/resample.h"

#include <errno.h>
#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>

struct media_resampler {
	SpeexResamplerState *st; /* NULL when the rates are equal */
	unsigned in_rate;
	unsigned out_rate;
	unsigned channels;
};

int media_resampler_create(unsigned in_rate, unsigned out_rate, unsigned channels,
			   int quality, media_resampler **out)
{
	*out = NULL;
	if (!in_rate || !out_rate || in_rate > 192000 || out_rate > 192000 || channels < 1 ||
	    channels > 2 || quality < 0 || quality > 10)
		return EINVAL;
	media_resampler *r = calloc(1, sizeof *r);
	if (!r)
		return ENOMEM;
	r->in_rate = in_rate;
	r->out_rate = out_rate;
	r->channels = channels;
	if (in_rate != out_rate) {
		int err = 0;
		/* No skip_zeros: keeping the filter delay as leading silence means
		 * every 20 ms in gives exactly 20 ms out, which frame-based
		 * transcoding relies on. */
		r->st = speex_resampler_init(channels, in_rate, out_rate, quality, &err);
		if (!r->st || err) {
			free(r);
			return ENOMEM;
		}
	}
	*out = r;
	return 0;
}

media_resampler *media_resampler_free(media_resampler *r)
{
	if (!r)
		return NULL;
	if (r->st)
		speex_resampler_destroy(r->st);
	free(r);
	return NULL;
}

unsigned media_resampler_out_max(const media_resampler *r, unsigned in_n)
{
	return (unsigned)(((uint64_t)in_n * r->out_rate + r->in_rate - 1) / r->in_rate) + 2;
}

int media_resampler_process(media_resampler *r, const int16_t *in, unsigned in_n,
			    int16_t *out, unsigned cap, unsigned *out_n)
{
	*out_n = 0;
	if (!r->st) {
		if (cap < in_n)
			return ENOSPC;
		memcpy(out, in, (size_t)in_n * r->channels * sizeof *in);
		*out_n = in_n;
		return 0;
	}
	spx_uint32_t il = in_n, ol = cap;
	if (r->channels == 1)
		speex_resampler_process_int(r->st, 0, in, &il, out, &ol);
	else
		speex_resampler_process_interleaved_int(r->st, in, &il, out, &ol);
	*out_n = ol;
	return il == in_n ? 0 : ENOSPC;
}

void media_resampler_reset(media_resampler *r)
{
	if (r->st) {
		speex_resampler_reset_mem(r->st);
	}
}
