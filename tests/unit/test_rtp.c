#include <errno.h>
#include <glib.h>
#include <string.h>

#include "media/rtp.h"

static void test_parse_basic(void)
{
	uint8_t pkt[12 + 160];
	g_assert_cmpuint(rtp_write_header(pkt, sizeof pkt, 0, true, 65535, 0xdeadbeef, 0x11223344), ==, 12);
	memset(pkt + 12, 0xff, 160);
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, 0);
	g_assert_cmpuint(h.version, ==, 2);
	g_assert_true(h.marker);
	g_assert_false(h.padding);
	g_assert_false(h.extension);
	g_assert_cmpuint(h.pt, ==, 0);
	g_assert_cmpuint(h.seq, ==, 65535);
	g_assert_cmpuint(h.ts, ==, 0xdeadbeef);
	g_assert_cmpuint(h.ssrc, ==, 0x11223344);
	g_assert_true(h.payload == pkt + 12);
	g_assert_cmpuint(h.payload_len, ==, 160);

	/* Rewrites in place. */
	rtp_set_pt(pkt, 111);
	rtp_set_seq(pkt, 7);
	rtp_set_ts(pkt, 48000);
	rtp_set_ssrc(pkt, 42);
	rtp_set_marker(pkt, false);
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, 0);
	g_assert_cmpuint(h.pt, ==, 111);
	g_assert_cmpuint(h.seq, ==, 7);
	g_assert_cmpuint(h.ts, ==, 48000);
	g_assert_cmpuint(h.ssrc, ==, 42);
	g_assert_false(h.marker);

	/* Too short, wrong version, no room to write. */
	g_assert_cmpint(rtp_parse(pkt, 11, &h), ==, EBADMSG);
	g_assert_cmpint(rtp_parse(NULL, 0, &h), ==, EBADMSG);
	pkt[0] = 0x40;
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, EBADMSG);
	g_assert_cmpuint(rtp_write_header(pkt, 11, 0, false, 0, 0, 0), ==, 0);
}

static void test_parse_csrc_padding(void)
{
	uint8_t pkt[12 + 8 + 10 + 4] = { 0 };
	rtp_write_header(pkt, sizeof pkt, 8, false, 1, 2, 3);
	pkt[0] |= 0x20 | 2; /* padding, 2 CSRCs */
	pkt[12 + 3] = 0xaa;
	pkt[16 + 3] = 0xbb;
	pkt[sizeof pkt - 1] = 4;
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, 0);
	g_assert_cmpuint(h.csrc_count, ==, 2);
	g_assert_cmpuint(h.csrc[3], ==, 0xaa);
	g_assert_cmpuint(h.header_len, ==, 20);
	g_assert_cmpuint(h.payload_len, ==, 10);
	g_assert_cmpuint(h.padding_len, ==, 4);
	/* Padding count 0 or larger than the payload is malformed. */
	pkt[sizeof pkt - 1] = 0;
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, EBADMSG);
	pkt[sizeof pkt - 1] = 15;
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, EBADMSG);
	pkt[sizeof pkt - 1] = 14; /* exactly the payload: empty payload */
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, 0);
	g_assert_cmpuint(h.payload_len, ==, 0);
	/* CSRC count past the end. */
	pkt[0] = 0x8f;
	g_assert_cmpint(rtp_parse(pkt, 12 + 56, &h), ==, EBADMSG);
}

static void test_ext_one_byte(void)
{
	/* One-byte form: id 1 audio level (len 1), padding, id 3 (len 3), id 5 (len 2) */
	const uint8_t pkt[] = {
		0x90, 0x6f, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 9,
		0xbe, 0xde, 0x00, 0x03,
		0x10, 0x85, 0x00, 0x32, 0xaa, 0xbb, 0xcc, 0x51,
		0x01, 0x02, 0x00, 0x00,
		0xf8, 0xf9, 0xfa,
	};
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, 0);
	g_assert_true(h.extension);
	g_assert_cmpuint(h.ext_profile, ==, RTP_EXT_ONE_BYTE);
	g_assert_cmpuint(h.ext_len, ==, 12);
	g_assert_cmpuint(h.payload_len, ==, 3);
	uint8_t level;
	bool vad;
	g_assert_cmpint(rtp_audio_level(&h, 1, &level, &vad), ==, 0);
	g_assert_true(vad);
	g_assert_cmpuint(level, ==, 5);
	const uint8_t *d;
	size_t n;
	g_assert_cmpint(rtp_ext_find(&h, 3, &d, &n), ==, 0);
	g_assert_cmpuint(n, ==, 3);
	g_assert_cmpuint(d[0], ==, 0xaa);
	g_assert_cmpint(rtp_ext_find(&h, 5, &d, &n), ==, 0);
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmpuint(d[1], ==, 0x02);
	g_assert_cmpint(rtp_ext_find(&h, 2, &d, &n), ==, ENOENT);
	g_assert_cmpint(rtp_ext_find(&h, 15, &d, &n), ==, ENOENT);

	/* An element that claims more bytes than the block has. */
	uint8_t bad[sizeof pkt];
	memcpy(bad, pkt, sizeof pkt);
	bad[23] = 0x5f; /* id 5, 16 bytes */
	g_assert_cmpint(rtp_parse(bad, sizeof bad, &h), ==, 0);
	g_assert_cmpint(rtp_ext_find(&h, 5, &d, &n), ==, EBADMSG);
	/* Extension length beyond the packet. */
	bad[15] = 0x09;
	g_assert_cmpint(rtp_parse(bad, sizeof bad, &h), ==, EBADMSG);
}

static void test_ext_two_byte(void)
{
	const uint8_t pkt[] = {
		0x90, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
		0x10, 0x00, 0x00, 0x02,
		0x00, 0x07, 0x00, 0x1e, 0x02, 0x81, 0x7f, 0x00,
	};
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(pkt, sizeof pkt, &h), ==, 0);
	const uint8_t *d;
	size_t n;
	g_assert_cmpint(rtp_ext_find(&h, 7, &d, &n), ==, 0);
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpint(rtp_ext_find(&h, 30, &d, &n), ==, 0);
	g_assert_cmpuint(n, ==, 2);
	uint8_t level;
	bool vad;
	g_assert_cmpint(rtp_audio_level(&h, 30, &level, &vad), ==, 0);
	g_assert_true(vad);
	g_assert_cmpuint(level, ==, 1);
	g_assert_cmpint(rtp_ext_find(&h, 9, &d, &n), ==, ENOENT);
	g_assert_cmpint(rtp_audio_level(&h, 7, &level, &vad), ==, EBADMSG);
}

static void test_demux(void)
{
	uint8_t b[2] = { 0, 0 };
	g_assert_cmpint(rtp_demux(b, 0), ==, RTP_DEMUX_UNKNOWN);
	b[0] = 0x00;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_STUN);
	b[0] = 0x01;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_STUN);
	b[0] = 22;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_DTLS);
	b[0] = 17;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_ZRTP);
	b[0] = 0x40;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_TURN);
	b[0] = 0x80;
	b[1] = 0x00;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_RTP);
	b[1] = 0x80 | 111;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_RTP);
	b[1] = 200;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_RTCP);
	g_assert_true(rtp_is_rtcp(b, 2));
	b[1] = 223;
	g_assert_true(rtp_is_rtcp(b, 2));
	b[1] = 224;
	g_assert_false(rtp_is_rtcp(b, 2));
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_RTP);
	g_assert_false(rtp_is_rtcp(b, 1));
	b[0] = 200;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_UNKNOWN);
	b[0] = 100;
	g_assert_cmpint(rtp_demux(b, 2), ==, RTP_DEMUX_UNKNOWN);
}

/* SR with one report block, SDES with CNAME, BYE with a reason. */
static const uint8_t compound[] = {
	/* SR, RC=1, length 12 words */
	0x81, 200, 0x00, 0x0c,
	0x00, 0x00, 0x00, 0x01, /* SSRC */
	0xe0, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, /* NTP */
	0x00, 0x00, 0x03, 0xe8, /* RTP ts 1000 */
	0x00, 0x00, 0x00, 0x32, /* packets 50 */
	0x00, 0x00, 0x1f, 0x40, /* octets 8000 */
	0x00, 0x00, 0x00, 0x02, /* report about SSRC 2 */
	0x40, 0xff, 0xff, 0xfe, /* fraction 64/256, cumulative -2 */
	0x00, 0x01, 0x00, 0x10, /* highest seq */
	0x00, 0x00, 0x00, 0x50, /* jitter 80 */
	0x12, 0x34, 0x56, 0x78, /* LSR */
	0x00, 0x00, 0x10, 0x00, /* DLSR */
	/* SDES, SC=1, length 3 words: SSRC, CNAME "abc", end + pad */
	0x81, 202, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x01,
	0x01, 0x03, 'a', 'b', 'c', 0x00, 0x00, 0x00,
	/* BYE, SC=1, reason "bye" */
	0x81, 203, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x01,
	0x03, 'b', 'y', 'e',
};

static void test_rtcp_compound(void)
{
	g_assert_cmpint(rtcp_validate_compound(compound, sizeof compound), ==, 0);
	rtcp_iter it;
	rtcp_pkt p;
	rtcp_iter_init(&it, compound, sizeof compound);

	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	g_assert_cmpuint(p.pt, ==, RTCP_SR);
	rtcp_report r;
	g_assert_cmpint(rtcp_report_parse(&p, &r), ==, 0);
	g_assert_cmpuint(r.ssrc, ==, 1);
	g_assert_true(r.has_sender_info);
	g_assert_cmpuint(r.ntp, ==, 0xe000000080000000ull);
	g_assert_cmpuint(r.rtp_ts, ==, 1000);
	g_assert_cmpuint(r.packet_count, ==, 50);
	g_assert_cmpuint(r.octet_count, ==, 8000);
	g_assert_cmpuint(r.report_count, ==, 1);
	rtcp_report_block rb;
	rtcp_report_block_get(&r, 0, &rb);
	g_assert_cmpuint(rb.ssrc, ==, 2);
	g_assert_cmpuint(rb.fraction_lost, ==, 64);
	g_assert_cmpint(rb.cumulative_lost, ==, -2);
	g_assert_cmpuint(rb.highest_seq, ==, 0x10010);
	g_assert_cmpuint(rb.jitter, ==, 80);
	g_assert_cmpuint(rb.lsr, ==, 0x12345678);
	g_assert_cmpuint(rb.dlsr, ==, 0x1000);

	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	g_assert_cmpuint(p.pt, ==, RTCP_SDES);
	rtcp_sdes_iter si;
	rtcp_sdes_iter_init(&si, &p);
	uint32_t ssrc;
	uint8_t type;
	const uint8_t *v;
	size_t vl;
	g_assert_cmpint(rtcp_sdes_next(&si, &ssrc, &type, &v, &vl), ==, 0);
	g_assert_cmpuint(ssrc, ==, 1);
	g_assert_cmpuint(type, ==, RTCP_SDES_CNAME);
	g_assert_cmpuint(vl, ==, 3);
	g_assert_cmpmem(v, vl, "abc", 3);
	g_assert_cmpint(rtcp_sdes_next(&si, &ssrc, &type, &v, &vl), ==, ENOENT);

	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	g_assert_cmpuint(p.pt, ==, RTCP_BYE);
	rtcp_bye bye;
	g_assert_cmpint(rtcp_bye_parse(&p, &bye), ==, 0);
	g_assert_cmpuint(bye.ssrc_count, ==, 1);
	g_assert_cmpuint(rtcp_bye_ssrc(&bye, 0), ==, 1);
	g_assert_cmpmem(bye.reason, bye.reason_len, "bye", 3);

	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, ENOENT);

	/* Every truncation is rejected by validation without reading past it. */
	for (size_t n = 0; n < sizeof compound; n++) {
		uint8_t *cut = g_memdup2(compound, n);
		g_assert_cmpint(rtcp_validate_compound(cut, n), ==, n == 52 || n == 68 ? 0 : EBADMSG);
		g_free(cut);
	}
	/* First packet not SR/RR. */
	g_assert_cmpint(rtcp_validate_compound(compound + 52, sizeof compound - 52), ==, EBADMSG);
	/* Report count larger than the packet. */
	uint8_t bad[sizeof compound];
	memcpy(bad, compound, sizeof bad);
	bad[0] = 0x82;
	rtcp_iter_init(&it, bad, sizeof bad);
	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	g_assert_cmpint(rtcp_report_parse(&p, &r), ==, EBADMSG);
}

static void test_rx_stats(void)
{
	rtp_rx_stats s;
	rtp_rx_stats_init(&s, 77);
	/* 100 packets from seq 65500 (wrapping), 20 ms apart at 8 kHz; drop
	 * every 10th, arrivals jittered by +/-80 samples alternately. */
	uint16_t seq = 65500;
	unsigned got = 0;
	for (unsigned i = 0; i < 100; i++, seq++) {
		if (i % 10 == 5)
			continue;
		uint32_t ts = 1000 + 160 * i;
		uint32_t arrival = 50000 + 160 * i + ((i & 1) ? 80 : 0);
		rtp_rx_stats_update(&s, seq, ts, arrival);
		got++;
	}
	g_assert_cmpuint(rtp_rx_stats_expected(&s), ==, 100);
	g_assert_cmpint(rtp_rx_stats_lost(&s), ==, 10);
	/* Alternating 80-sample offsets converge to a jitter near 80. */
	g_assert_cmpuint(rtp_rx_stats_jitter(&s), >, 40);
	g_assert_cmpuint(rtp_rx_stats_jitter(&s), <=, 80);
	rtcp_report_block rb;
	rtp_rx_stats_report(&s, &rb);
	g_assert_cmpuint(rb.ssrc, ==, 77);
	g_assert_cmpuint(rb.fraction_lost, ==, 25); /* 10/100 * 256 */
	g_assert_cmpint(rb.cumulative_lost, ==, 10);
	g_assert_cmpuint(rb.highest_seq, ==, 65536u + (uint16_t)(65500 + 99));
	/* A duplicate makes loss go down; the next interval has no loss. */
	rtp_rx_stats_update(&s, (uint16_t)(seq - 1), 1000 + 160 * 99, 50000 + 160 * 99);
	rtp_rx_stats_report(&s, &rb);
	g_assert_cmpuint(rb.fraction_lost, ==, 0);
	g_assert_cmpint(rb.cumulative_lost, ==, 9);

	/* RR round trip through the parser. */
	uint8_t buf[64];
	size_t n = rtcp_write_rr(buf, sizeof buf, 5, &rb, 1);
	g_assert_cmpuint(n, ==, 32);
	g_assert_cmpint(rtcp_validate_compound(buf, n), ==, 0);
	rtcp_iter it;
	rtcp_pkt p;
	rtcp_iter_init(&it, buf, n);
	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	rtcp_report r;
	g_assert_cmpint(rtcp_report_parse(&p, &r), ==, 0);
	g_assert_false(r.has_sender_info);
	rtcp_report_block back;
	rtcp_report_block_get(&r, 0, &back);
	g_assert_cmpint(back.cumulative_lost, ==, 9);
	g_assert_cmpuint(back.highest_seq, ==, rb.highest_seq);
	g_assert_cmpuint(rtcp_write_rr(buf, 31, 5, &rb, 1), ==, 0);
}

/* SR + SDES + BYE written by us walk back through the parsers. */
static void test_rtcp_write(void)
{
	uint8_t buf[256];
	size_t n = 0;
	rtcp_report sr = { .ssrc = 0xabc, .ntp = 0x0102030405060708ull, .rtp_ts = 9,
			   .packet_count = 10, .octet_count = 1600 };
	rtcp_report_block rb[2] = { { .ssrc = 1, .fraction_lost = 3, .cumulative_lost = -1, .jitter = 7 },
				    { .ssrc = 2, .highest_seq = 99 } };
	size_t k = rtcp_write_sr(buf, sizeof buf, &sr, rb, 2);
	g_assert_cmpuint(k, ==, 28 + 48);
	n += k;
	for (size_t cl = 0; cl < 9; cl++) {
		uint8_t tmp[64];
		k = rtcp_write_sdes_cname(tmp, sizeof tmp, 0xabc, "abcdefgh", cl);
		g_assert_cmpuint(k % 4, ==, 0);
		rtcp_iter it;
		rtcp_pkt p;
		rtcp_iter_init(&it, tmp, k);
		g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
		rtcp_sdes_iter si;
		rtcp_sdes_iter_init(&si, &p);
		uint32_t ssrc;
		uint8_t type;
		const uint8_t *v;
		size_t vl;
		g_assert_cmpint(rtcp_sdes_next(&si, &ssrc, &type, &v, &vl), ==, 0);
		g_assert_cmpmem(v, vl, "abcdefgh", cl);
		g_assert_cmpint(rtcp_sdes_next(&si, &ssrc, &type, &v, &vl), ==, ENOENT);
	}
	k = rtcp_write_sdes_cname(buf + n, sizeof buf - n, 0xabc, "user@host", 9);
	g_assert_cmpuint(k, >, 0);
	n += k;
	k = rtcp_write_bye(buf + n, sizeof buf - n, 0xabc, "gone", 4);
	g_assert_cmpuint(k, ==, 16);
	n += k;
	g_assert_cmpint(rtcp_validate_compound(buf, n), ==, 0);
	rtcp_iter it;
	rtcp_pkt p;
	rtcp_iter_init(&it, buf, n);
	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	rtcp_report r;
	g_assert_cmpint(rtcp_report_parse(&p, &r), ==, 0);
	g_assert_cmpuint(r.ntp, ==, sr.ntp);
	g_assert_cmpuint(r.octet_count, ==, 1600);
	g_assert_cmpuint(r.report_count, ==, 2);
	rtcp_report_block b;
	rtcp_report_block_get(&r, 0, &b);
	g_assert_cmpint(b.cumulative_lost, ==, -1);
	g_assert_cmpuint(b.jitter, ==, 7);
	rtcp_report_block_get(&r, 1, &b);
	g_assert_cmpuint(b.highest_seq, ==, 99);
	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	g_assert_cmpuint(p.pt, ==, RTCP_SDES);
	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, 0);
	rtcp_bye bye;
	g_assert_cmpint(rtcp_bye_parse(&p, &bye), ==, 0);
	g_assert_cmpuint(rtcp_bye_ssrc(&bye, 0), ==, 0xabc);
	g_assert_cmpmem(bye.reason, bye.reason_len, "gone", 4);
	g_assert_cmpint(rtcp_iter_next(&it, &p), ==, ENOENT);
	g_assert_cmpuint(rtcp_write_bye(buf, 8, 1, NULL, 0), ==, 8);
	g_assert_cmpuint(rtcp_write_bye(buf, 7, 1, NULL, 0), ==, 0);
	g_assert_cmpuint(rtcp_write_sr(buf, 27, &sr, NULL, 0), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/media/rtp/parse", test_parse_basic);
	g_test_add_func("/media/rtp/csrc-padding", test_parse_csrc_padding);
	g_test_add_func("/media/rtp/ext-one-byte", test_ext_one_byte);
	g_test_add_func("/media/rtp/ext-two-byte", test_ext_two_byte);
	g_test_add_func("/media/rtp/demux", test_demux);
	g_test_add_func("/media/rtcp/compound", test_rtcp_compound);
	g_test_add_func("/media/rtp/rx-stats", test_rx_stats);
	g_test_add_func("/media/rtcp/write", test_rtcp_write);
	return g_test_run();
}
