/* Fuzzes the payload decode paths: arbitrary bytes into each decoder
 * (PCMU, PCMA, G.722, Opus at 48 and 8 kHz), the payload-duration probe,
 * concealment with the bytes as FEC source, and the jitter buffer fed with
 * the input cut into (timestamp, payload) records. The first byte picks
 * the codec. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "media/codec.h"
#include "media/jitter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static media_codec *codecs[5];
static media_jb *jbs[5];

static void setup(void)
{
	static const media_codec_opts opts[5] = {
		{ .name = "PCMU" },
		{ .name = "PCMA" },
		{ .name = "G722" },
		{ .name = "opus" },
		{ .name = "opus", .pcm_rate = 8000 },
	};
	for (int i = 0; i < 5; i++) {
		if (media_codec_create(&opts[i], &codecs[i]) != 0)
			abort();
		media_jb_opts jo = { .codec = codecs[i] };
		if (media_jb_create(&jo, &jbs[i]) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int16_t pcm[5760 * 2];
	if (!codecs[0])
		setup();
	if (size < 1)
		return 0;
	unsigned k = data[0] % 5;
	media_codec *c = codecs[k];
	data++;
	size--;
	unsigned n = 0;
	unsigned expect = media_codec_payload_samples(c, data, size);
	if (media_codec_decode(c, data, size, pcm, 5760, &n) == 0 && k >= 3 && n != expect)
		__builtin_trap(); /* the probe and the decoder must agree */
	media_codec_conceal(c, data, size, pcm, media_codec_frame_samples(c));

	/* Jitter buffer: records of (2-byte ts step, 1-byte len, payload). */
	media_jb *jb = jbs[k];
	media_jb_reset(jb);
	uint32_t ts = 0;
	uint64_t now = 0;
	while (size >= 3) {
		ts += (uint32_t)((data[0] << 8) | data[1]) - 0x4000u;
		size_t len = data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		media_jb_put(jb, ts, data, len, now);
		media_jb_get(jb, pcm);
		now += 20000;
		data += len;
		size -= len;
	}
	return 0;
}
