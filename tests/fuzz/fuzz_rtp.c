/* Fuzzes the RTP and RTCP parsers: header, CSRCs, padding, RFC 8285
 * extensions (every id), demux, and the whole RTCP compound walk with SR/RR
 * blocks, BYE and SDES items. Every returned slice must lie inside the
 * input. Then the input goes, as a packet from each leg, through a relay
 * bridge and a transcoding one (the path untrusted packets take). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/bridge.h"
#include "media/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INSIDE(p, n) ((p) >= data && (size_t)((p) - data) + (n) <= size)

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static media_bridge *relay_br, *trans_br;

static void setup(void)
{
	media_bridge_leg opus = { .codec = "opus", .pt = 111, .te_pt = 101, .cn_pt = -1, .complexity = 0 };
	media_bridge_leg opus2 = opus;
	media_bridge_leg pcmu = { .codec = "PCMU", .pt = 0, .te_pt = 101, .cn_pt = 13, .complexity = -1 };
	opus2.pt = 96;
	if (media_bridge_create(&opus, &opus2, &relay_br) || media_bridge_create(&opus, &pcmu, &trans_br))
		abort();
}

static void through_bridges(const uint8_t *data, size_t size)
{
	static uint8_t pkt[2048];
	static uint64_t now;
	media_bridge_out out;
	if (size > sizeof pkt)
		return;
	media_bridge *brs[2] = { relay_br, trans_br };
	for (int b = 0; b < 2; b++) {
		for (int leg = 0; leg < 2; leg++) {
			memcpy(pkt, data, size);
			now += 20000;
			media_bridge_push(brs[b], leg, pkt, size, now, &out);
			for (unsigned i = 0; i < out.count; i++)
				check(out.pkt[i].len >= 12 && out.pkt[i].len <= 2048);
			media_bridge_tick(brs[b], now, &out);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!relay_br)
		setup();
	through_bridges(data, size);
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
