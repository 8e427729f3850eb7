/* Fuzzes the RTP and RTCP parsers: header, CSRCs, padding, RFC 8285
 * extensions (every id), demux, and the whole RTCP compound walk with SR/RR
 * blocks, BYE and SDES items. Every returned slice must lie inside the
 * input. */
#include <stddef.h>
#include <stdint.h>

#include "media/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INSIDE(p, n) ((p) >= data && (size_t)((p) - data) + (n) <= size)

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile unsigned sink = 0;
	rtp_demux(data, size);
	rtp_is_rtcp(data, size);

	rtp_hdr h;
	if (rtp_parse(data, size, &h) == 0) {
		check(INSIDE(h.payload, h.payload_len));
		check(h.header_len + h.payload_len + h.padding_len == size);
		if (h.ext)
			check(INSIDE(h.ext, h.ext_len));
		for (unsigned id = 0; id < 256; id++) {
			const uint8_t *d;
			size_t n;
			if (rtp_ext_find(&h, (uint8_t)id, &d, &n) == 0) {
				check(INSIDE(d, n));
				for (size_t i = 0; i < n; i++)
					sink += d[i];
			}
		}
		uint8_t level;
		bool vad;
		rtp_audio_level(&h, 1, &level, &vad);
	}

	rtcp_validate_compound(data, size);
	rtcp_iter it;
	rtcp_pkt p;
	rtcp_iter_init(&it, data, size);
	while (rtcp_iter_next(&it, &p) == 0) {
		check(INSIDE(p.pkt, p.len));
		check(INSIDE(p.body, p.body_len));
		rtcp_report r;
		if (rtcp_report_parse(&p, &r) == 0) {
			for (unsigned i = 0; i < r.report_count; i++) {
				rtcp_report_block b;
				rtcp_report_block_get(&r, i, &b);
				sink += b.jitter + (unsigned)b.cumulative_lost;
			}
		}
		rtcp_bye bye;
		if (rtcp_bye_parse(&p, &bye) == 0) {
			for (unsigned i = 0; i < bye.ssrc_count; i++)
				sink += rtcp_bye_ssrc(&bye, i);
			if (bye.reason)
				check(INSIDE(bye.reason, bye.reason_len));
		}
		rtcp_sdes_iter si;
		rtcp_sdes_iter_init(&si, &p);
		uint32_t ssrc;
		uint8_t type;
		const uint8_t *v;
		size_t vl;
		while (rtcp_sdes_next(&si, &ssrc, &type, &v, &vl) == 0)
			check(INSIDE(v, vl));
	}
	(void)sink;
	return 0;
}
