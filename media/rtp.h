/* rtp: RTP/RTCP header helpers for the packet path.
 *
 * Parsers here are read-only views into the caller's buffer: they never
 * allocate, never log and never read past the length they are given. They
 * return 0 or an errno-style code (EBADMSG for malformed input, ENOENT when
 * something asked for is absent). Writers rewrite fields in place, so the
 * bridge can forward a packet without copying it.
 *
 * References: RFC 3550 (RTP, RTCP), RFC 8285 (header extensions), RFC 6464
 * (audio level), RFC 5761 (RTP/RTCP mux), RFC 7983 (first-byte demux). */
#ifndef JN_MEDIA_RTP_H
#define JN_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HEADER_MIN 12u
#define RTP_EXT_ONE_BYTE 0xBEDEu /* RFC 8285 one-byte header profile */

/* A parsed RTP header: a view into the packet buffer. */
typedef struct {
	uint8_t version; /* always 2 after a successful parse */
	bool padding;
	bool extension;
	bool marker;
	uint8_t csrc_count;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *csrc;	  /* csrc_count big-endian 32-bit words */
	uint16_t ext_profile;	  /* "defined by profile" word, if extension */
	const uint8_t *ext;	  /* extension body (after its 4-byte header) */
	size_t ext_len;		  /* bytes, a multiple of 4 */
	const uint8_t *payload;	  /* after header, CSRCs and extension */
	size_t payload_len;	  /* excludes padding */
	size_t header_len;	  /* offset of the payload */
	uint8_t padding_len;	  /* trailing padding bytes incl. the count byte */
} rtp_hdr;

/* Parses and validates an RTP packet (version 2, CSRCs, extension and
 * padding within len). Returns 0 or EBADMSG. */
int rtp_parse(const uint8_t *buf, size_t len, rtp_hdr *out);

/* Finds header extension element id (RFC 8285, one- or two-byte form) and
 * returns its data slice. Returns 0, ENOENT or EBADMSG. */
int rtp_ext_find(const rtp_hdr *h, uint8_t id, const uint8_t **data, size_t *len);

/* Reads an RFC 6464 client-to-mixer audio level element: level in -dBov
 * (0 loudest .. 127 silence) and the voice activity flag. 0, ENOENT or EBADMSG. */
int rtp_audio_level(const rtp_hdr *h, uint8_t id, uint8_t *level, bool *vad);

/* Writes a 12-byte RTP header (no CSRC, no extension) at buf. Returns the
 * bytes written (12) or 0 if cap is too small. */
size_t rtp_write_header(uint8_t *buf, size_t cap, uint8_t pt, bool marker,
			uint16_t seq, uint32_t ts, uint32_t ssrc);

/* In-place field rewrites on a packet already known to be >= 12 bytes
 * (e.g. after rtp_parse succeeded). */
void rtp_set_pt(uint8_t *buf, uint8_t pt);
void rtp_set_marker(uint8_t *buf, bool marker);
void rtp_set_seq(uint8_t *buf, uint16_t seq);
void rtp_set_ts(uint8_t *buf, uint32_t ts);
void rtp_set_ssrc(uint8_t *buf, uint32_t ssrc);

/* RFC 7983 first-byte demultiplexing of a datagram on one port. */
typedef enum {
	RTP_DEMUX_UNKNOWN = 0,
	RTP_DEMUX_STUN,	 /* 0..3 */
	RTP_DEMUX_ZRTP,	 /* 16..19 */
	RTP_DEMUX_DTLS,	 /* 20..63 */
	RTP_DEMUX_TURN,	 /* 64..79, TURN channel data */
	RTP_DEMUX_RTP,	 /* 128..191, RTP (PT outside 64..95) */
	RTP_DEMUX_RTCP,	 /* 128..191, RTCP (RFC 5761 PT 192..223) */
} rtp_demux_kind;

/* Classifies a datagram by its first byte (and, for RTP/RTCP, its second).
 * Returns RTP_DEMUX_UNKNOWN for empty or unassigned input. */
rtp_demux_kind rtp_demux(const uint8_t *buf, size_t len);

/* RFC 5761: true if a version-2 packet's second byte is in 192..223 (an
 * RTCP packet type; RTP payload types 64..95 are not used when muxed). */
bool rtp_is_rtcp(const uint8_t *buf, size_t len);

/* ---- RTCP ---- */

enum {
	RTCP_SR = 200,
	RTCP_RR = 201,
	RTCP_SDES = 202,
	RTCP_BYE = 203,
	RTCP_APP = 204,
	RTCP_RTPFB = 205,
	RTCP_PSFB = 206,
	RTCP_XR = 207,
};

enum {
	RTCP_SDES_END = 0,
	RTCP_SDES_CNAME = 1,
	RTCP_SDES_NAME = 2,
	RTCP_SDES_TOOL = 6,
};

/* One packet of a compound RTCP datagram (view). */
typedef struct {
	uint8_t pt;
	uint8_t count; /* RC / SC / FMT, the low 5 bits of byte 0 */
	bool padding;
	const uint8_t *pkt;  /* the whole packet, header included */
	size_t len;	     /* 4 * (length + 1) */
	const uint8_t *body; /* after the 4-byte common header */
	size_t body_len;     /* excludes padding */
} rtcp_pkt;

/* Walks the packets of a compound RTCP datagram. */
typedef struct {
	const uint8_t *p;
	const uint8_t *end;
} rtcp_iter;

/* Starts a walk over buf[0..len). */
void rtcp_iter_init(rtcp_iter *it, const uint8_t *buf, size_t len);
/* Returns the next packet: 0, ENOENT at the end, EBADMSG if malformed
 * (bad version, length past the end, bad padding). */
int rtcp_iter_next(rtcp_iter *it, rtcp_pkt *out);

/* Checks a compound packet as RFC 3550 A.2 does: every packet well formed,
 * lengths add up exactly, the first is SR or RR, only the last may pad.
 * Returns 0 or EBADMSG. */
int rtcp_validate_compound(const uint8_t *buf, size_t len);

/* A reception report block (RFC 3550 6.4.1). */
typedef struct {
	uint32_t ssrc;
	uint8_t fraction_lost;	  /* fixed point /256 */
	int32_t cumulative_lost;  /* signed 24-bit */
	uint32_t highest_seq;	  /* extended highest sequence number */
	uint32_t jitter;	  /* in timestamp units */
	uint32_t lsr;
	uint32_t dlsr;
} rtcp_report_block;

/* A parsed SR or RR: sender info is zero for RR. */
typedef struct {
	uint32_t ssrc;
	bool has_sender_info;
	uint64_t ntp;	   /* NTP timestamp, 32.32 */
	uint32_t rtp_ts;
	uint32_t packet_count;
	uint32_t octet_count;
	unsigned report_count;
	const uint8_t *reports; /* report_count blocks of 24 bytes */
} rtcp_report;

/* Parses an SR or RR packet. Returns 0 or EBADMSG. */
int rtcp_report_parse(const rtcp_pkt *p, rtcp_report *out);
/* Reads report block i (< report_count). */
void rtcp_report_block_get(const rtcp_report *r, unsigned i, rtcp_report_block *out);

/* A parsed BYE: ssrc_count SSRCs and an optional reason. */
typedef struct {
	unsigned ssrc_count;
	const uint8_t *ssrcs; /* ssrc_count big-endian words */
	const uint8_t *reason;
	size_t reason_len;
} rtcp_bye;

/* Parses a BYE packet. Returns 0 or EBADMSG. */
int rtcp_bye_parse(const rtcp_pkt *p, rtcp_bye *out);
/* Returns SSRC i (< ssrc_count) of a parsed BYE. */
uint32_t rtcp_bye_ssrc(const rtcp_bye *b, unsigned i);

/* Walks the items of an SDES packet, chunk by chunk. */
typedef struct {
	const uint8_t *base; /* the packet body, for chunk alignment */
	const uint8_t *p;
	const uint8_t *end;
	unsigned chunks_left;
	bool in_chunk;
	uint32_t ssrc;
} rtcp_sdes_iter;

/* Starts a walk over an SDES packet's chunks. */
void rtcp_sdes_iter_init(rtcp_sdes_iter *it, const rtcp_pkt *p);
/* Returns the next item (its chunk's SSRC, type, value): 0, ENOENT at the
 * end or EBADMSG. */
int rtcp_sdes_next(rtcp_sdes_iter *it, uint32_t *ssrc, uint8_t *type,
		   const uint8_t **value, size_t *len);

/* ---- receive statistics (RFC 3550 A.1, A.3, A.8) ---- */

/* Per-source receive statistics: extended sequence, loss and jitter. */
typedef struct {
	uint32_t ssrc;
	bool started;
	uint16_t max_seq;
	uint32_t cycles;	/* wrapped seq count << 16 */
	uint32_t base_seq;
	uint32_t received;
	uint32_t expected_prior;
	uint32_t received_prior;
	int64_t last_transit;	/* arrival - ts, in ts units */
	bool have_transit;
	uint32_t jitter_q4;	/* jitter in ts units, << 4 (RFC 3550 A.8) */
} rtp_rx_stats;

/* Resets statistics for a new source. */
void rtp_rx_stats_init(rtp_rx_stats *s, uint32_t ssrc);
/* Records one packet: arrival is the arrival time in the RTP clock's units. */
void rtp_rx_stats_update(rtp_rx_stats *s, uint16_t seq, uint32_t ts, uint32_t arrival);
/* Expected packets so far (extended highest - base + 1). */
uint32_t rtp_rx_stats_expected(const rtp_rx_stats *s);
/* Cumulative lost packets (may be negative with duplicates). */
int32_t rtp_rx_stats_lost(const rtp_rx_stats *s);
/* Records one packet for loss only (e.g. one on another clock, like
 * telephone-event at 8 kHz beside Opus). */
void rtp_rx_stats_update_seq(rtp_rx_stats *s, uint16_t seq);
/* Interarrival jitter in timestamp units. */
uint32_t rtp_rx_stats_jitter(const rtp_rx_stats *s);
/* Fills a report block for this source and starts the next interval
 * (fraction lost is since the previous call). lsr/dlsr are left 0. */
void rtp_rx_stats_report(rtp_rx_stats *s, rtcp_report_block *out);

/* Writes an RR with n_blocks (<= 31) report blocks. Returns bytes written
 * or 0 if cap is too small. */
size_t rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
		     const rtcp_report_block *blocks, unsigned n_blocks);

/* Writes an SR (sender info from r: ntp, rtp_ts, packet and octet counts)
 * with n_blocks (<= 31) report blocks. Returns bytes written or 0. */
size_t rtcp_write_sr(uint8_t *buf, size_t cap, const rtcp_report *r,
		     const rtcp_report_block *blocks, unsigned n_blocks);

/* Writes an SDES packet with one chunk holding a CNAME (<= 255 bytes).
 * Returns bytes written or 0. */
size_t rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc,
			     const char *cname, size_t cname_len);

/* Writes a BYE for one SSRC with an optional reason (<= 255 bytes, NULL
 * for none). Returns bytes written or 0. */
size_t rtcp_write_bye(uint8_t *buf, size_t cap, uint32_t ssrc, const char *reason,
		      size_t reason_len);

#endif
