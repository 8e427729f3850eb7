/* call_int.h: what server/call.c and server/call_trunk.c share (the call
 * layer's structs and a few helpers). Not a public header. */
#ifndef JN_CALL_INT_H
#define JN_CALL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "server/call.h"
#include "server/cdr.h"
#include "server/route.h"
#include "sip/sip_dialog.h"
#include "webrtc/rtc_pc.h"

typedef struct call_trunk call_trunk;

struct jn_call_layer {
	sip_stack *sip;
	jn_workers *workers;
	jn_route_table *routes;
	jn_route_limits *limits;
	jn_cdr *cdr;
	rtc_dtls_cert *cert;
	char **addrs;
	char *stun, *turn, *turn_user, *turn_pass;
	unsigned port_min, port_max, consent_timeout;
	GHashTable *calls; /* "Call-ID|from-tag" -> call (until it ends) */
	guint live;        /* calls not yet finished (their worker side included) */
	bool draining;
	void (*drained)(void *user);
	void *drained_user;
	guint drained_idle;
	GString *scratch;
	guint ack_wait_ms; /* 64*T1: how long a 200 waits for its ACK (§13.3.1.4) */
	const jn_config *cfg; /* trunk sections, read when a call starts */
	char *rtp_addr;
	unsigned rtp_port_min, rtp_port_max;
};

typedef enum {
	CS_INVITED = 0, /* waiting for the worker's answer */
	CS_ANSWERED,    /* 200 sent, waiting for the ACK */
	CS_CONFIRMED,   /* ACK came */
	CS_ENDED,
} call_state;

/* One call. The core owns the SIP side; the worker owns pc. Posts carry a
 * reference. */
typedef struct {
	gint ref;
	jn_call_layer *cl; /* core thread only; NULL after shutdown */
	char id[24];
	char *key;
	call_state state;
	sip_tx *inv_tx;    /* until a final response is sent */
	sip_tx *reinv_tx;  /* a re-INVITE waiting for the worker's answer */
	sip_msg *inv;
	sip_tp_kind kind;
	sip_flow *flow;    /* referenced; NULL for UDP */
	jn_addr remote, local;
	sip_dialog *dlg;
	char user[65];
	char *caller_number, *dialled, *route_name, *number;
	int64_t start_us, answer_us;
	bool limit_held;
	guint ack_timer;   /* while CS_ANSWERED */
	jn_cdr_cause cause;
	int sip_code;
	char *reason;
	/* worker side */
	jn_worker *wk;
	sdp_session *offer;
	rtc_pc *pc;
	bool stopped;
	bool shutdown; /* the core is gone: post nothing back */
	rtc_pc_stats st; /* its strings are cleared: they point into the pc */
	char codec[32];
	bool have_stats;
	call_trunk *t; /* trunk:NAME calls: the SIP leg toward the trunk and its media */
} call;

/* Events posted from a worker to the core (call_post_event). */
enum { EV_ANSWER, EV_FAILED, EV_CLOSED, EV_FINISHED, EV_RTP_READY };

call *call_ref(call *c);
void call_unref(call *c);
/* Answers a server transaction (logs a failure). */
void call_respond(jn_call_layer *cl, sip_tx *tx, uint16_t code, const char *reason);
/* Ends the call on the core side (the SIP side already settled). */
void call_end(jn_call_layer *cl, call *c, jn_cdr_cause cause, int code, const char *reason);
/* From the worker: posts an EV_* with a copied text to the core. */
void call_post_event(call *c, int kind, const char *text);
/* rtc_pc callbacks (worker thread) shared by every browser leg: the answer
 * and a closed connection become core events. */
void call_pc_answer(void *user, const char *sdp);
void call_pc_state(void *user, rtc_pc_state st, const char *reason);
/* Sends the 200 with sdp to the browser's INVITE; false if it failed (the
 * call is then ended). */
bool call_answer_browser(jn_call_layer *cl, call *c, const char *sdp);
/* Sends a 183 with sdp (early media) to the browser's INVITE: its ICE and
 * DTLS can start while the callee rings. */
bool call_progress_browser(jn_call_layer *cl, call *c, const char *sdp);
/* Sends our BYE in the browser's dialog. */
void call_send_bye(jn_call_layer *cl, call *c);

/* ---- server/call_trunk.c ---- */

/* Core: starts a trunk:NAME call (browser leg + RTP leg on c->wk, then the
 * INVITE to the trunk). c is in the table, its offer parsed. */
void call_trunk_start(jn_call_layer *cl, call *c, const char *trunk);
/* Core: an event for a trunk call (EV_ANSWER while invited, EV_RTP_READY);
 * true when handled. */
bool call_trunk_event(jn_call_layer *cl, call *c, int kind, const char *text);
/* Core: the call ends; BYE or CANCEL the trunk unless it ended the call. */
void call_trunk_end(jn_call_layer *cl, call *c);
/* Core: whether req is an in-dialog request of the trunk leg; handles it. */
bool call_trunk_request(jn_call_layer *cl, sip_tx *tx, const sip_msg *req);
/* Worker: frees the bridge and the RTP leg (before the pc). */
void call_trunk_w_stop(call *c);
/* Core: fills the CDR's target, media and leg b. */
void call_trunk_cdr(const call *c, jn_cdr_record *r);
/* Frees the trunk state (last reference). */
void call_trunk_free(call_trunk *t);

#endif
