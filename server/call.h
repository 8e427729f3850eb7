/* jn_call: the call layer, a B2BUA. It takes the SIP stack's INVITEs and
 * in-dialog requests, admits a trunk by its source address or a user by
 * digest authentication (407), routes the dialled number through the dial
 * plan, counts call limits, places the callee's legs (a trunk, or every
 * registered contact of a user), bridges the media on a worker (relay or
 * transcode) and writes one CDR line per call. Hold, DTMF, transfers and
 * session timers are handled in dialog. Calls from the browser JSON channel
 * come in through jn_call_ext_place.
 *
 * Everything here runs on the core thread; each call's media lives on its
 * worker and is reached only through posted closures. See docs/calls.md. */
#ifndef JN_CALL_H
#define JN_CALL_H

#include <glib.h>

#include "server/config.h"
#include "server/workers.h"
#include "sip/sip_stack.h"
#include "webrtc/rtc_dtls.h"

typedef struct jn_call_layer jn_call_layer;

typedef struct {
	sip_stack *sip;       /* registered with: on_invite, on_dialog_request, on_cancel */
	jn_workers *workers;
	const jn_config *cfg; /* dial plan, limits, [webrtc], [general] cdr_file; read at creation */
	rtc_dtls_cert *cert;  /* the process's DTLS certificate (referenced) */
} jn_call_opts;

/* Builds the route table and the limits, takes a reference on the DTLS
 * certificate, opens the CDR file, then registers with the stack. NULL with
 * *err (one line) when any of these fails. */
jn_call_layer *jn_call_new(const jn_call_opts *o, char **err);
/* Ends every call (CDR cause "shutdown") and unregisters from the stack.
 * Call before freeing the SIP stack and the workers. */
void jn_call_shutdown(jn_call_layer *cl);
/* Frees (after jn_call_shutdown and after the workers are gone). NULL is fine. */
void jn_call_free(jn_call_layer *cl);
/* Refuses new INVITEs with 503 from now on; done(user) runs on the core
 * thread once no call is left (at once, from an idle, when none runs). */
void jn_call_drain(jn_call_layer *cl, void (*done)(void *user), void *user);
/* Calls alive now (answered or not). */
guint jn_call_count(const jn_call_layer *cl);

/* ---- calls placed from outside SIP (the browser JSON channel) ---- */

typedef struct jn_call_ext jn_call_ext;

/* What the caller's side hears about its call (core thread). */
typedef struct {
	/* Our SDP answer for the page (candidates inline): once, early (the
	 * page's ICE and DTLS come up while the callee rings). */
	void (*answer)(void *user, const char *call_id, const char *sdp);
	/* "ringing", "answered"; "held" / "resumed" when the far side holds. */
	void (*progress)(void *user, const char *call_id, const char *state);
	/* A local ICE candidate found late ("candidate:...", NULL = done). */
	void (*candidate)(void *user, const char *call_id, const char *cand);
	/* The call ended: code is the SIP status when it was refused (404,
	 * 486, 480...), 0 after an answer; reason says why. The handle stays
	 * valid until jn_call_ext_hangup. */
	void (*ended)(void *user, const char *call_id, int code, const char *reason);
	/* A DTMF key from the other side. */
	void (*dtmf)(void *user, const char *call_id, char digit);
	void *user;
} jn_call_ext_ops;

/* Places a call for user (already authenticated by the caller) to dialled
 * with the page's WebRTC offer sdp: the same dial plan, limits, callee
 * legs, bridge and record as a SIP caller's. 0 and *out, or an HTTP-like
 * status with *code (static: "no_route", "forbidden", "invalid_number",
 * "bad_sdp", "busy", "unavailable", "unsupported_target") and *msg
 * (g_free). */
int jn_call_ext_place(jn_call_layer *cl, const char *user, const char *dialled, const char *sdp,
		      const jn_call_ext_ops *ops, jn_call_ext **out, const char **code, char **msg);
/* A trickled candidate from the page ("candidate:...", NULL = done). */
void jn_call_ext_candidate(jn_call_ext *x, const char *cand);
/* A DTMF key from the page, sent to the other side. */
void jn_call_ext_dtmf(jn_call_ext *x, char digit);
/* Hangs up (if the call still runs) and frees the handle: no callback
 * after this. */
void jn_call_ext_hangup(jn_call_ext *x);

#endif
