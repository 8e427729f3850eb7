/* rtc_pc: one browser peer connection = ICE + DTLS + SRTP + RTP/RTCP over
 * one transport (BUNDLE, rtcp-mux), living on one media worker.
 *
 * Made from a remote SDP offer, it answers through media/sdp.h once its
 * ICE candidates are gathered (candidates inline plus end-of-candidates);
 * or it offers (rtc_pc_new_offer, ICE controlling, a=setup:actpass) and
 * takes the answer. Then it connects: ICE, DTLS (role from a=setup, peer
 * certificate checked against a=fingerprint), SRTP keyed by the DTLS
 * exporter. The packet path runs on the worker with no lock and no
 * allocation: one scratch buffer per connection, decrypted and
 * re-encrypted in place.
 *
 * Echo mode (the built-in "echo" target) sends every RTP packet it
 * receives back under our own SSRC. RTCP from the peer is authenticated
 * and walked (its SR noted); every 5 s we send a receiver report on the
 * peer's stream (loss, jitter, LSR/DLSR) with an SDES CNAME.
 *
 * Hold and resume (RFC 3264 §8): either side may offer again on a live
 * connection (rtc_pc_update for the peer's offer, rtc_pc_reoffer +
 * rtc_pc_set_answer for ours); the DTLS association and SRTP contexts
 * stay, directions are negotiated each time, and while ours is recvonly
 * or inactive nothing is sent (see docs/webrtc.md).
 *
 * Consent: if nothing authenticated arrives from the peer for
 * consent_timeout seconds (SRTP, SRTCP or DTLS; a live browser sends RTCP
 * at least every few seconds and media while unmuted), the connection
 * ends with reason "consent expired". All calls on the worker thread; callbacks too. */
#ifndef JN_RTC_PC_H
#define JN_RTC_PC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "media/sdp.h"
#include "webrtc/rtc_dtls.h"

typedef struct rtc_pc rtc_pc;

typedef enum {
	RTC_PC_NEW = 0,
	RTC_PC_CONNECTING, /* answered; ICE/DTLS under way */
	RTC_PC_CONNECTED,  /* SRTP keyed */
	RTC_PC_CLOSED,	   /* ended: see reason */
} rtc_pc_state;

typedef struct {
	rtc_dtls_cert *cert;
	GMainContext *context; /* the worker's */
	const char *const *local_addresses;
	unsigned port_min, port_max;
	const char *stun_server, *turn_server, *turn_username, *turn_password;
	unsigned consent_timeout; /* seconds; 0 = 30 */
	bool echo;
	/* The direction we want in our first SDP (answers: RFC 3264 §6.1
	 * against the offer's); UNSET = sendrecv. */
	sdp_dir dir;
	const char *id; /* log id and SDP origin user (copied) */
	/* The SDP answer (once gathered). */
	void (*answer)(void *user, const char *sdp);
	/* Our SDP offer (rtc_pc_new_offer, once gathered). */
	void (*offer)(void *user, const char *sdp);
	/* Each decrypted RTP packet when not in echo mode (header included). */
	void (*rtp)(void *user, const uint8_t *buf, size_t len);
	/* A local candidate found after the answer ("candidate:..."). */
	void (*candidate)(void *user, const char *cand);
	/* State changes; reason set for CLOSED. Never free the pc inside. */
	void (*state)(void *user, rtc_pc_state st, const char *reason);
	void *user;
} rtc_pc_opts;

typedef struct {
	uint64_t rtp_in, rtp_out, bytes_in, bytes_out, rtcp_in, rtcp_out;
	uint64_t srtp_errors, dtls_in;
	uint64_t rtp_held; /* RTP not sent: our negotiated direction is recvonly or inactive */
	char pair[160];
	const char *ice_state, *dtls_state;
	const char *srtp_profile;
	const char *codec;
} rtc_pc_stats;

/* Creates a connection answering offer (kept referenced). Returns 0, or
 * ENOTSUP / EBADMSG / EINVAL / EIO with *err (g_free) fit for the peer. */
int rtc_pc_new_from_offer(const rtc_pc_opts *o, sdp_session *offer, rtc_pc **out, char **err);
/* Creates a connection that offers (ICE controlling, a=setup:actpass);
 * the offer comes through opts.offer once gathered; give the peer's
 * answer to rtc_pc_set_answer. 0 or an errno code with *err (g_free). */
int rtc_pc_new_offer(const rtc_pc_opts *o, rtc_pc **out, char **err);
/* The peer's answer to our offer (kept referenced): ICE credentials and
 * candidates, fingerprint, DTLS role. On a live connection (the answer
 * to rtc_pc_reoffer) the fingerprint, the DTLS role and the ICE
 * credentials must be the ones already in use (ENOTSUP / EBADMSG); the
 * direction and codec are taken. 0 or an errno code with *err. */
int rtc_pc_set_answer(rtc_pc *pc, sdp_session *answer, char **err);
/* Sends one RTP packet (header included) in buf, which has cap bytes of
 * room for the SRTP tag; encrypted in place. While our negotiated
 * direction is recvonly or inactive the packet is dropped (0, counted in
 * rtp_held). Sequence numbers go on from the last packet sent after such
 * a pause (and after any jump SRTP could not follow), so the peer's SRTP
 * replay window never sees a step back. 0, EAGAIN (not connected),
 * EINVAL, ENOSPC or EIO. */
int rtc_pc_send_rtp(rtc_pc *pc, uint8_t *buf, size_t len, size_t cap);
/* Frees; no callbacks after this (sends a DTLS close_notify if connected). */
void rtc_pc_free(rtc_pc *pc);
/* A new offer from the peer on a live connection (hold, resume, ICE
 * restart), whoever offered first. Same DTLS identity and role required
 * (ENOTSUP otherwise: a new call); new ICE credentials mean an ICE
 * restart. The audio direction answers the offered one with the one we
 * want (rtc_pc_set_dir). The answer comes through opts.answer. 0, EAGAIN
 * (no first exchange yet), EBUSY (our re-offer is pending: SIP 491), or
 * another errno code, with *err (g_free). */
int rtc_pc_update(rtc_pc *pc, sdp_session *offer, char **err);
/* Our new offer on a live connection, built at once into *sdp (g_free):
 * direction dir (SENDONLY / INACTIVE put the peer on hold, SENDRECV takes
 * it off), the m-lines, codec (and telephone-event) and payload types of
 * the last exchange, the same ICE credentials and candidates, our
 * fingerprint, the DTLS role negotiated first, o= version + 1. Give the
 * answer to rtc_pc_set_answer (or, if refused, call rtc_pc_reoffer_cancel).
 * 0, EAGAIN (no first exchange yet), EBUSY (an offer is already pending)
 * or EINVAL, with *err (g_free). */
int rtc_pc_reoffer(rtc_pc *pc, sdp_dir dir, char **sdp, char **err);
/* Forgets a pending re-offer the peer refused (SIP 488/491, timeout): the
 * last exchange stays in force. */
void rtc_pc_reoffer_cancel(rtc_pc *pc);
/* The direction we want in our next answers (e.g. while the other leg
 * holds us: SENDONLY); UNSET = sendrecv. */
void rtc_pc_set_dir(rtc_pc *pc, sdp_dir dir);
/* The direction in the peer's last SDP (its offer or answer; sendonly =
 * it holds us), and ours as negotiated (recvonly / inactive = we send
 * nothing: rtc_pc_send_rtp drops and counts rtp_held). UNSET before the
 * first exchange. */
sdp_dir rtc_pc_remote_dir(const rtc_pc *pc);
sdp_dir rtc_pc_local_dir(const rtc_pc *pc);
/* A trickled remote candidate ("candidate:..."); NULL = end of candidates. */
int rtc_pc_add_remote_candidate(rtc_pc *pc, const char *cand);
/* Ends the connection (state CLOSED with reason). */
void rtc_pc_close(rtc_pc *pc, const char *reason);
/* The current state. */
rtc_pc_state rtc_pc_get_state(const rtc_pc *pc);
/* Counters and states for the stats message (strings are static). */
void rtc_pc_get_stats(rtc_pc *pc, rtc_pc_stats *st);

#endif
