/* rtc_rtp: a plain RTP/RTCP leg toward a SIP peer, on one worker.
 *
 * A UDP socket pair (RTP on an even port, RTCP on the next one, or one
 * socket with rtcp-mux) bound on the configured media address with a port
 * from [port_min, port_max]. The remote address comes from the SDP and may
 * change on re-INVITE (rtc_rtp_set_remote). With latching on (media_latch),
 * we send to where the peer's packets come from and drop packets from other
 * addresses. Optional SDES-SRTP (RFC 4568): we make our own key and take
 * the peer's from its a=crypto line.
 *
 * Packet path: one scratch buffer per leg; each received datagram is
 * checked (RTP header, SRTP auth, latch) and handed to the receive
 * callback in that buffer, which the callee may rewrite in place and pass
 * to another leg's rtc_rtp_send (with its cap). No allocation and no lock
 * per packet. Bad packets are dropped and counted in the stats.
 *
 * RTCP: every 5 s an SR (if we sent since the last report) or an RR, with
 * a report block on the peer's stream and an SDES CNAME; the peer's SR is
 * noted for LSR/DLSR.
 *
 * Threads: everything (create, calls, callbacks, free) on the thread that
 * runs opts.context. Close rule: rtc_rtp_free closes the sockets and
 * removes its sources at once; no callback runs after it returns, and it
 * may be called from inside the receive callback of another leg, never
 * from inside its own. */
#ifndef JN_RTC_RTP_H
#define JN_RTC_RTP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/net.h"

typedef struct rtc_rtp rtc_rtp;

/* Room a send buffer needs past the packet (SRTP tag). */
#define RTC_RTP_TRAILER 148
/* Size of the receive buffer handed to the callback (its cap). */
#define RTC_RTP_BUF (1500 + RTC_RTP_TRAILER)

/* SDES crypto suites (RFC 4568 names). */
typedef enum {
	RTC_RTP_SUITE_NONE = 0,
	RTC_RTP_AES_CM_128_HMAC_SHA1_80,
	RTC_RTP_AES_CM_128_HMAC_SHA1_32,
} rtc_rtp_suite;

/* Receives one RTP packet (header included) in buf, cap bytes of room:
 * the callee may rewrite it and send it on another leg. */
typedef void (*rtc_rtp_rx_fn)(void *user, uint8_t *buf, size_t len, size_t cap);

typedef struct {
	GMainContext *context;	   /* the worker's (NULL = default) */
	const char *address;	   /* local IP to bind ("0.0.0.0", "::1") */
	unsigned port_min, port_max; /* 0, 0 = any port the kernel gives */
	bool rtcp_mux;		   /* bind one socket only (both ends known to mux);
				    * otherwise bind the pair and pass the
				    * negotiated a=rtcp-mux to rtc_rtp_set_remote */
	bool latching;		   /* symmetric RTP */
	unsigned latch_hold_ms;	   /* silence before another source may take over; 0 = 2000 */
	unsigned clock_rate;	   /* of the peer's codec, for jitter; 0 = 8000 */
	unsigned rtcp_interval_ms; /* 0 = 5000 */
	const char *id;		   /* log id and RTCP CNAME (copied) */
	rtc_rtp_rx_fn rtp;	   /* may be NULL; see rtc_rtp_set_receiver */
	void *user;
} rtc_rtp_opts;

typedef struct {
	uint64_t rtp_in, bytes_in, rtp_out, bytes_out;
	uint64_t rtcp_in, rtcp_out;
	uint64_t bad_in;     /* not RTP/RTCP, malformed */
	uint64_t srtp_errors;/* failed auth or replay */
	uint64_t foreign_in; /* from an address latching did not accept */
	uint64_t send_errors;
	uint64_t held;	     /* RTP not sent while rtc_rtp_set_send(false) */
	unsigned latch_moves;
	int32_t lost;	     /* of the peer's stream, RFC 3550 A.3 */
	uint32_t jitter;     /* in the peer's timestamp units */
	uint32_t remote_ssrc;
	bool srtp;
} rtc_rtp_stats;

/* Binds the sockets and starts receiving (nothing is sent before
 * rtc_rtp_set_remote). 0, or EADDRINUSE (no free port pair in the range),
 * EINVAL (bad address) or another errno, with *err (g_free) saying why. */
int rtc_rtp_new(const rtc_rtp_opts *o, rtc_rtp **out, char **err);
/* Closes the sockets; no callback after this. NULL is fine. */
void rtc_rtp_free(rtc_rtp *r);
/* Replaces the receive callback (e.g. when a bridge takes the leg). */
void rtc_rtp_set_receiver(rtc_rtp *r, rtc_rtp_rx_fn fn, void *user);
/* Whether RTP goes out (false while our negotiated direction is recvonly
 * or inactive: the peer holds us, or we hold it with inactive). Held,
 * rtc_rtp_send drops the packet, counts it in held and returns 0; RTCP
 * goes on. Sequence numbers go on from the last one sent after a pause,
 * so SRTP's replay window never sees a step back. Default: on. */
void rtc_rtp_set_send(rtc_rtp *r, bool on);
/* Echo mode (the "echo" target for a plain SIP phone): every RTP packet
 * received (after SRTP and latching) is sent straight back to the peer
 * under one SSRC of ours, instead of going to the receive callback. */
void rtc_rtp_set_echo(rtc_rtp *r, bool on);
/* Our bound RTP port (RTCP is port + 1 unless muxed) for the SDP. */
uint16_t rtc_rtp_local_port(const rtc_rtp *r);
/* Sets the peer's RTP address from its SDP (c= and m= port) and its RTCP
 * address (NULL: the same with rtcp_mux, else port + 1); called again on a
 * re-INVITE, which restarts latching. rtcp_mux as negotiated. 0 or EINVAL. */
int rtc_rtp_set_remote(rtc_rtp *r, const jn_addr *rtp, const jn_addr *rtcp, bool rtcp_mux);
/* Sets the peer codec's clock rate (for jitter), e.g. after a re-INVITE. */
void rtc_rtp_set_clock_rate(rtc_rtp *r, unsigned clock_rate);

/* The suite's RFC 4568 name, and back (RTC_RTP_SUITE_NONE if unknown). */
const char *rtc_rtp_suite_name(rtc_rtp_suite s);
rtc_rtp_suite rtc_rtp_suite_from_name(const char *name, size_t len);
/* Our a=crypto value ("1 AES_CM_128_HMAC_SHA1_80 inline:<base64>") for
 * tag and suite into line (>= 96 bytes). We make one key per suite, the
 * first time it is asked for, and keep it (an offer may list both suites;
 * a re-offer repeats the same keys). 0, EINVAL, ENOSPC or EIO. */
int rtc_rtp_crypto_local(rtc_rtp *r, unsigned tag, rtc_rtp_suite suite, char *line, size_t size);
/* The peer's a=crypto value: its key for what it sends us. Gives back its
 * tag and suite (an answerer passes those to rtc_rtp_crypto_local). SRTP
 * starts once we also have our key for that suite; from then on nothing is
 * sent or accepted in the clear. 0, ENOTSUP (suite or session parameters
 * we do not support), EINVAL (malformed) or EIO. */
int rtc_rtp_crypto_remote(rtc_rtp *r, const char *value, unsigned *tag, rtc_rtp_suite *suite);
/* Back to plain RTP (a re-INVITE without a=crypto). */
void rtc_rtp_crypto_off(rtc_rtp *r);

/* Sends one RTP packet in buf (cap bytes of room; >= len + RTC_RTP_TRAILER
 * with SRTP), encrypted in place; dropped (0) while held (rtc_rtp_set_send).
 * 0, EAGAIN (no remote yet), ENOSPC, EIO. */
int rtc_rtp_send(rtc_rtp *r, uint8_t *buf, size_t len, size_t cap);
/* Reads the counters. */
void rtc_rtp_get_stats(const rtc_rtp *r, rtc_rtp_stats *st);
/* Where we send RTP now (the SDP address or the latched one), or NULL. */
const jn_addr *rtc_rtp_remote(const rtc_rtp *r);

#endif
