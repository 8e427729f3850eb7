/* rtp: RTP/RTCP header parsing, in-place rewriting, demux and receive
 * statistics. Every read is checked against the end pointer first. */
#include "media/rtp.h"

#include <errno.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int rtp_parse(const uint8_t *buf, size_t len, rtp_hdr *out)
{
	if (!buf || len < RTP_HEADER_MIN)
		return EBADMSG;
	memset(out, 0, sizeof *out);
	out->version = buf[0] >> 6;
	if (out->version != 2)
		return EBADMSG;
	out->padding = (buf[0] & 0x20) != 0;
	out->extension = (buf[0] & 0x10) != 0;
	out->csrc_count = buf[0] & 0x0f;
	out->marker = (buf[1] & 0x80) != 0;
	out->pt = buf[1] & 0x7f;
	out->seq = rd16(buf + 2);
	out->ts = rd32(buf + 4);
	out->ssrc = rd32(buf + 8);

	size_t off = RTP_HEADER_MIN;
	size_t csrc_bytes = 4u * out->csrc_count;
	if (len - off < csrc_bytes)
		return EBADMSG;
	out->csrc = out->csrc_count ? buf + off : NULL;
	off += csrc_bytes;
	if (out->extension) {
		if (len - off < 4)
			return EBADMSG;
		out->ext_profile = rd16(buf + off);
		size_t words = rd16(buf + off + 2);
		off += 4;
		if ((len - off) / 4 < words)
			return EBADMSG;
		out->ext = buf + off;
		out->ext_len = words * 4;
		off += out->ext_len;
	}
	size_t end = len;
	if (out->padding) {
		uint8_t pad = buf[len - 1];
		/* The count includes itself, so 0 is invalid. */
		if (pad == 0 || pad > len - off)
			return EBADMSG;
		out->padding_len = pad;
		end = len - pad;
	}
	out->header_len = off;
	out->payload = buf + off;
	out->payload_len = end - off;
	return 0;
}

int rtp_ext_find(const rtp_hdr *h, uint8_t id, const uint8_t **data, size_t *len)
{
	if (!h->extension || !h->ext)
		return ENOENT;
	const uint8_t *p = h->ext, *end = h->ext + h->ext_len;
	if (h->ext_profile == RTP_EXT_ONE_BYTE) {
		if (id < 1 || id > 14)
			return ENOENT;
		while (p < end) {
			uint8_t b = *p++;
			if (b == 0)
				continue; /* padding */
			uint8_t eid = b >> 4;
			size_t elen = (size_t)(b & 0x0f) + 1;
			if (eid == 15)
				return ENOENT; /* stop processing */
			if ((size_t)(end - p) < elen)
				return EBADMSG;
			if (eid == id) {
				*data = p;
				*len = elen;
				return 0;
			}
			p += elen;
		}
		return ENOENT;
	}
	if ((h->ext_profile & 0xfff0) == 0x1000) {
		if (id == 0)
			return ENOENT;
		while (p < end) {
			uint8_t eid = *p++;
			if (eid == 0)
				continue; /* padding */
			if (p >= end)
				return EBADMSG;
			size_t elen = *p++;
			if ((size_t)(end - p) < elen)
				return EBADMSG;
			if (eid == id) {
				*data = p;
				*len = elen;
				return 0;
			}
			p += elen;
		}
		return ENOENT;
	}
	return ENOENT;
}

int rtp_audio_level(const rtp_hdr *h, uint8_t id, uint8_t *level, bool *vad)
{
	const uint8_t *d;
	size_t n;
	int rc = rtp_ext_find(h, id, &d, &n);
	if (rc)
		return rc;
	if (n < 1)
		return EBADMSG;
	*vad = (d[0] & 0x80) != 0;
	*level = d[0] & 0x7f;
	return 0;
}

size_t rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, bool marker,
			uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	if (cap < RTP_HEADER_MIN)
		return 0;
	buf[0] = 0x80;
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	wr16(buf + 2, seq);
	wr32(buf + 4, ts);
	wr32(buf + 8, ssrc);
	return RTP_HEADER_MIN;
}

void rtp_set_pt(uint8_t *buf, uint8_t pt)
{
	buf[1] = (uint8_t)((buf[1] & 0x80) | (pt & 0x7f));
}

void rtp_set_marker(uint8_t *buf, bool marker)
{
	buf[1] = (uint8_t)((buf[1] & 0x7f) | (marker ? 0x80 : 0));
}

void rtp_set_seq(uint8_t *buf, uint16_t seq)
{
	wr16(buf + 2, seq);
}

void rtp_set_ts(uint8_t *buf, uint32_t ts)
{
	wr32(buf + 4, ts);
}

void rtp_set_ssrc(uint8_t *buf, uint32_t ssrc)
{
	wr32(buf + 8, ssrc);
}

rtp_demux_kind rtp_demux(const uint8_t *buf, size_t len)
{
	if (!buf || len == 0)
		return RTP_DEMUX_UNKNOWN;
	uint8_t b = buf[0];
	if (b <= 3)
		return RTP_DEMUX_STUN;
	if (b >= 16 && b <= 19)
		return RTP_DEMUX_ZRTP;
	if (b >= 20 && b <= 63)
		return RTP_DEMUX_DTLS;
	if (b >= 64 && b <= 79)
		return RTP_DEMUX_TURN;
	if (b >= 128 && b <= 191)
		return rtp_is_rtcp(buf, len) ? RTP_DEMUX_RTCP : RTP_DEMUX_RTP;
	return RTP_DEMUX_UNKNOWN;
}

bool rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	return buf && len >= 2 && (buf[0] >> 6) == 2 && buf[1] >= 192 && buf[1] <= 223;
}

/* ---- RTCP ---- */

void rtcp_iter_init(rtcp_iter *it, const uint8_t *buf, size_t len)
{
	it->p = buf;
	it->end = buf ? buf + len : NULL;
}

int rtcp_iter_next(rtcp_iter *it, rtcp_pkt *out)
{
	if (!it->p || it->p >= it->end)
		return ENOENT;
	size_t avail = (size_t)(it->end - it->p);
	if (avail < 4 || (it->p[0] >> 6) != 2)
		return EBADMSG;
	size_t plen = 4u * ((size_t)rd16(it->p + 2) + 1);
	if (plen > avail)
		return EBADMSG;
	memset(out, 0, sizeof *out);
	out->pkt = it->p;
	out->len = plen;
	out->padding = (it->p[0] & 0x20) != 0;
	out->count = it->p[0] & 0x1f;
	out->pt = it->p[1];
	out->body = it->p + 4;
	out->body_len = plen - 4;
	if (out->padding) {
		uint8_t pad = it->p[plen - 1];
		if (pad == 0 || pad > out->body_len)
			return EBADMSG;
		out->body_len -= pad;
	}
	it->p += plen;
	return 0;
}

int rtcp_validate_compound(const uint8_t *buf, size_t len)
{
	rtcp_iter it;
	rtcp_pkt p;
	int rc, n = 0;
	bool padded = false;
	if (!buf || len < 4)
		return EBADMSG;
	rtcp_iter_init(&it, buf, len);
	while ((rc = rtcp_iter_next(&it, &p)) == 0) {
		if (padded)
			return EBADMSG; /* only the last packet may pad */
		if (n == 0 && p.pt != RTCP_SR && p.pt != RTCP_RR)
			return EBADMSG;
		padded = p.padding;
		n++;
	}
	return rc == ENOENT ? 0 : EBADMSG;
}

int rtcp_report_parse(const rtcp_pkt *p, rtcp_report *out)
{
	memset(out, 0, sizeof *out);
	const uint8_t *b = p->body;
	size_t n = p->body_len;
	if (p->pt != RTCP_SR && p->pt != RTCP_RR)
		return EBADMSG;
	if (n < 4)
		return EBADMSG;
	out->ssrc = rd32(b);
	b += 4;
	n -= 4;
	if (p->pt == RTCP_SR) {
		if (n < 20)
			return EBADMSG;
		out->has_sender_info = true;
		out->ntp = ((uint64_t)rd32(b) << 32) | rd32(b + 4);
		out->rtp_ts = rd32(b + 8);
		out->packet_count = rd32(b + 12);
		out->octet_count = rd32(b + 16);
		b += 20;
		n -= 20;
	}
	if (n / 24 < p->count)
		return EBADMSG;
	out->report_count = p->count;
	out->reports = p->count ? b : NULL;
	return 0;
}

void rtcp_report_block_get(const rtcp_report *r, unsigned i, rtcp_report_block *out)
{
	memset(out, 0, sizeof *out);
	if (i >= r->report_count)
		return;
	const uint8_t *b = r->reports + 24u * i;
	out->ssrc = rd32(b);
	out->fraction_lost = b[4];
	uint32_t cl = ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
	/* Sign-extend the 24-bit count. */
	out->cumulative_lost = (cl & 0x800000) ? (int32_t)(cl | 0xff000000u) : (int32_t)cl;
	out->highest_seq = rd32(b + 8);
	out->jitter = rd32(b + 12);
	out->lsr = rd32(b + 16);
	out->dlsr = rd32(b + 20);
}

int rtcp_bye_parse(const rtcp_pkt *p, rtcp_bye *out)
{
	memset(out, 0, sizeof *out);
	if (p->pt != RTCP_BYE)
		return EBADMSG;
	size_t need = 4u * p->count;
	if (p->body_len < need)
		return EBADMSG;
	out->ssrc_count = p->count;
	out->ssrcs = p->count ? p->body : NULL;
	if (p->body_len > need) {
		size_t rlen = p->body[need];
		if (p->body_len - need - 1 < rlen)
			return EBADMSG;
		out->reason = p->body + need + 1;
		out->reason_len = rlen;
	}
	return 0;
}

uint32_t rtcp_bye_ssrc(const rtcp_bye *b, unsigned i)
{
	return i < b->ssrc_count ? rd32(b->ssrcs + 4u * i) : 0;
}

void rtcp_sdes_iter_init(rtcp_sdes_iter *it, const rtcp_pkt *p)
{
	memset(it, 0, sizeof *it);
	if (p->pt != RTCP_SDES)
		return;
	it->base = p->body;
	it->p = p->body;
	it->end = p->body + p->body_len;
	it->chunks_left = p->count;
}

int rtcp_sdes_next(rtcp_sdes_iter *it, uint32_t *ssrc, uint8_t *type,
		   const uint8_t **value, size_t *len)
{
	for (;;) {
		if (!it->in_chunk) {
			if (it->chunks_left == 0 || !it->p)
				return ENOENT;
			if (it->end - it->p < 4)
				return EBADMSG;
			it->ssrc = rd32(it->p);
			it->p += 4;
			it->in_chunk = true;
			it->chunks_left--;
		}
		if (it->p >= it->end)
			return EBADMSG;
		uint8_t t = *it->p;
		if (t == RTCP_SDES_END) {
			/* The null item ends the chunk; skip the padding to the
			 * next 32-bit boundary of the body. */
			it->p++;
			while (((size_t)(it->p - it->base) & 3) && it->p < it->end)
				it->p++;
			it->in_chunk = false;
			continue;
		}
		if (it->end - it->p < 2)
			return EBADMSG;
		size_t l = it->p[1];
		if ((size_t)(it->end - it->p - 2) < l)
			return EBADMSG;
		*ssrc = it->ssrc;
		*type = t;
		*value = it->p + 2;
		*len = l;
		it->p += 2 + l;
		return 0;
	}
}

/* ---- receive statistics ---- */

#define RTP_SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

void rtp_rx_stats_init(rtp_rx_stats *s, uint32_t ssrc)
{
	memset(s, 0, sizeof *s);
	s->ssrc = ssrc;
}

void rtp_rx_stats_update_seq(rtp_rx_stats *s, uint16_t seq)
{
	if (!s->started) {
		s->started = true;
		s->max_seq = seq;
		s->base_seq = seq;
		s->cycles = 0;
		s->received = 0;
	}
	uint16_t udelta = (uint16_t)(seq - s->max_seq);
	if (udelta < MAX_DROPOUT) {
		if (seq < s->max_seq)
			s->cycles += RTP_SEQ_MOD;
		s->max_seq = seq;
	} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
		/* A large jump: treat as a restart of the sequence (the bridge
		 * already rewrites seq, so this only happens on a real reset). */
		s->max_seq = seq;
		s->base_seq = seq;
		s->cycles = 0;
		s->received = 0;
		s->expected_prior = 0;
		s->received_prior = 0;
	}
	/* else: a duplicate or reordered packet, counted but not advancing. */
	s->received++;
}

void rtp_rx_stats_update(rtp_rx_stats *s, uint16_t seq, uint32_t ts, uint32_t arrival)
{
	rtp_rx_stats_update_seq(s, seq);

	/* RFC 3550 A.8: J += (|D| - J) / 16, kept scaled by 16. */
	int64_t transit = (int64_t)arrival - (int64_t)ts;
	if (s->have_transit) {
		int64_t d = transit - s->last_transit;
		/* Differences wrap in 32 bits like the timestamps do. */
		d = (int32_t)(uint32_t)d;
		if (d < 0)
			d = -d;
		s->jitter_q4 += (uint32_t)(d - ((s->jitter_q4 + 8) >> 4));
	}
	s->last_transit = transit;
	s->have_transit = true;
}

uint32_t rtp_rx_stats_expected(const rtp_rx_stats *s)
{
	if (!s->started)
		return 0;
	return s->cycles + s->max_seq - s->base_seq + 1;
}

int32_t rtp_rx_stats_lost(const rtp_rx_stats *s)
{
	int64_t lost = (int64_t)rtp_rx_stats_expected(s) - s->received;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	if (lost < -0x800000)
		lost = -0x800000;
	return (int32_t)lost;
}

uint32_t rtp_rx_stats_jitter(const rtp_rx_stats *s)
{
	return s->jitter_q4 >> 4;
}

void rtp_rx_stats_report(rtp_rx_stats *s, rtcp_report_block *out)
{
	memset(out, 0, sizeof *out);
	out->ssrc = s->ssrc;
	uint32_t expected = rtp_rx_stats_expected(s);
	uint32_t exp_int = expected - s->expected_prior;
	uint32_t rec_int = s->received - s->received_prior;
	int64_t lost_int = (int64_t)exp_int - rec_int;
	out->fraction_lost = (exp_int == 0 || lost_int <= 0) ? 0 : (uint8_t)((lost_int << 8) / exp_int);
	s->expected_prior = expected;
	s->received_prior = s->received;
	out->cumulative_lost = rtp_rx_stats_lost(s);
	out->highest_seq = s->cycles + s->max_seq;
	out->jitter = rtp_rx_stats_jitter(s);
}

static void write_blocks(uint8_t *dst, const rtcp_report_block *blocks, unsigned n_blocks)
{
	for (unsigned i = 0; i < n_blocks; i++) {
		uint8_t *b = dst + 24u * i;
		const rtcp_report_block *r = &blocks[i];
		wr32(b, r->ssrc);
		b[4] = r->fraction_lost;
		uint32_t cl = (uint32_t)r->cumulative_lost & 0xffffff;
		b[5] = (uint8_t)(cl >> 16);
		b[6] = (uint8_t)(cl >> 8);
		b[7] = (uint8_t)cl;
		wr32(b + 8, r->highest_seq);
		wr32(b + 12, r->jitter);
		wr32(b + 16, r->lsr);
		wr32(b + 20, r->dlsr);
	}
}

size_t rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
		     const rtcp_report_block *blocks, unsigned n_blocks)
{
	if (n_blocks > 31)
		return 0;
	size_t len = 8 + 24u * n_blocks;
	if (cap < len)
		return 0;
	buf[0] = (uint8_t)(0x80 | n_blocks);
	buf[1] = RTCP_RR;
	wr16(buf + 2, (uint16_t)(len / 4 - 1));
	wr32(buf + 4, ssrc);
	write_blocks(buf + 8, blocks, n_blocks);
	return len;
}

size_t rtcp_write_sr(uint8_t *buf, size_t cap, const rtcp_report *r,
		     const rtcp_report_block *blocks, unsigned n_blocks)
{
	if (n_blocks > 31)
		return 0;
	size_t len = 28 + 24u * n_blocks;
	if (cap < len)
		return 0;
	buf[0] = (uint8_t)(0x80 | n_blocks);
	buf[1] = RTCP_SR;
	wr16(buf + 2, (uint16_t)(len / 4 - 1));
	wr32(buf + 4, r->ssrc);
	wr32(buf + 8, (uint32_t)(r->ntp >> 32));
	wr32(buf + 12, (uint32_t)r->ntp);
	wr32(buf + 16, r->rtp_ts);
	wr32(buf + 20, r->packet_count);
	wr32(buf + 24, r->octet_count);
	write_blocks(buf + 28, blocks, n_blocks);
	return len;
}

size_t rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc,
			     const char *cname, size_t cname_len)
{
	if (cname_len > 255)
		return 0;
	/* header, SSRC, item (type, len, text), then 1..4 null bytes */
	size_t body = 4 + 2 + cname_len;
	size_t len = 4 + ((body + 4) & ~(size_t)3);
	if (cap < len)
		return 0;
	memset(buf, 0, len);
	buf[0] = 0x81;
	buf[1] = RTCP_SDES;
	wr16(buf + 2, (uint16_t)(len / 4 - 1));
	wr32(buf + 4, ssrc);
	buf[8] = RTCP_SDES_CNAME;
	buf[9] = (uint8_t)cname_len;
	memcpy(buf + 10, cname, cname_len);
	return len;
}

size_t rtcp_write_bye(uint8_t *buf, size_t cap, uint32_t ssrc, const char *reason,
		      size_t reason_len)
{
	if (reason_len > 255)
		return 0;
	size_t len = 8 + (reason ? (1 + reason_len + 3) & ~(size_t)3 : 0);
	if (cap < len)
		return 0;
	memset(buf, 0, len);
	buf[0] = 0x81;
	buf[1] = RTCP_BYE;
	wr16(buf + 2, (uint16_t)(len / 4 - 1));
	wr32(buf + 4, ssrc);
	if (reason) {
		buf[8] = (uint8_t)reason_len;
		memcpy(buf + 9, reason, reason_len);
	}
	return len;
}
