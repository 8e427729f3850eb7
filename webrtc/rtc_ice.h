/* rtc_ice: one ICE transport (libnice full agent, one stream, one
 * component: BUNDLE + rtcp-mux) on a media worker's GMainContext.
 *
 * libnice never gathers loopback by itself, so every configured local
 * address is added explicitly. Candidates trickle both ways; received
 * datagrams (DTLS, SRTP, SRTCP after RFC 7983 demux by the caller) arrive
 * through opts.recv on the context's thread. All calls on that thread. */
#ifndef JN_RTC_ICE_H
#define JN_RTC_ICE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rtc_ice rtc_ice;

typedef enum {
	RTC_ICE_NEW = 0,
	RTC_ICE_CHECKING,
	RTC_ICE_CONNECTED,
	RTC_ICE_FAILED,
} rtc_ice_state;

typedef struct {
	GMainContext *context;
	bool controlling; /* true when we sent the offer */
	const char *const *local_addresses; /* NULL-terminated IP literals */
	unsigned port_min, port_max;	    /* 0: any */
	const char *stun_server;	    /* "ip:port" or "" */
	const char *turn_server, *turn_username, *turn_password;
	const char *id; /* log id (copied) */
	/* A datagram from the peer in a scratch buffer of cap bytes that the
	 * callee may modify in place (decrypt, re-encrypt). */
	void (*recv)(void *user, uint8_t *buf, size_t len, size_t cap);
	/* A local candidate ("candidate:..." without "a="), or NULL when
	 * gathering is done. */
	void (*candidate)(void *user, const char *cand);
	void (*state)(void *user, rtc_ice_state st);
	void *user;
} rtc_ice_opts;

/* Creates the agent and its stream; does not gather yet. 0, EINVAL or EIO. */
int rtc_ice_new(const rtc_ice_opts *o, rtc_ice **out);
/* Frees on the context's thread; no callbacks after this. */
void rtc_ice_free(rtc_ice *ice);
/* Starts gathering local candidates (reported through opts.candidate). */
int rtc_ice_gather(rtc_ice *ice);
/* Our ufrag and password (valid while ice lives). */
const char *rtc_ice_local_ufrag(const rtc_ice *ice);
const char *rtc_ice_local_pwd(const rtc_ice *ice);
/* The peer's ice-ufrag and ice-pwd from its SDP. 0 or EINVAL. */
int rtc_ice_set_remote_credentials(rtc_ice *ice, const char *ufrag, const char *pwd);
/* Adds one remote candidate ("candidate:..." or "a=candidate:..."); 0 or
 * EINVAL (unparsable or unsupported, e.g. TCP / mDNS: ignored by callers). */
int rtc_ice_add_remote_candidate(rtc_ice *ice, const char *cand);
/* The peer sent end-of-candidates. */
void rtc_ice_remote_gathering_done(rtc_ice *ice);
/* Sends one datagram on the selected pair. 0 or EIO (no pair yet). */
int rtc_ice_send(rtc_ice *ice, const uint8_t *buf, size_t len);
/* ICE restart (RFC 8445 §9): new local credentials, remote candidates
 * dropped, checks start again; media keeps the old pair meanwhile. Call
 * rtc_ice_set_remote_credentials and add candidates after. 0 or EIO. */
int rtc_ice_restart(rtc_ice *ice);
/* The current state, and its name for logs and stats. */
rtc_ice_state rtc_ice_get_state(const rtc_ice *ice);
const char *rtc_ice_state_name(rtc_ice_state st);
/* "127.0.0.1:20000 <-> 127.0.0.1:5555 (host/host)" or "" before. */
void rtc_ice_selected_pair(rtc_ice *ice, char *buf, size_t cap);

#endif
