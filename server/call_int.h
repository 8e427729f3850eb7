/* call_int.h: what the call layer's files share (server/call.c,
 * call_leg.c, call_media.c). Not a public header.
 *
 * A call is a B2BUA: two legs joined by one media bridge. Leg `a` is the
 * caller's (we are its UAS); the callee's legs are UAC legs we place: one
 * toward a trunk, or one per registered contact of a user (a parallel
 * fork: the first to answer becomes `b`, the others are cancelled). A
 * leg's media is a browser peer connection (rtc_pc: WebRTC offers, WS
 * contacts) or a plain RTP leg (rtc_rtp: SIP phones and trunks).
 *
 * Threads: the core owns the SIP side of every leg; the call's worker owns
 * the media (pc, rtp, the bridge). They talk only through posted closures,
 * each holding a reference on the call. Legs live as long as their call. */
#ifndef JN_CALL_INT_H
#define JN_CALL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "media/sdp.h"
#include "server/call.h"
#include "server/cdr.h"
#include "server/mbridge.h"
#include "server/route.h"
#include "sip/sip_dialog.h"
#include "sip/sip_resolve.h"
#include "sip/sip_timer.h"
#include "webrtc/rtc_pc.h"
#include "webrtc/rtc_rtp.h"

#define CALL_MAX_CODECS 6
#define CALL_MAX_BRANCHES 8

typedef struct call call;
typedef struct call_leg call_leg;

/* A trunk from the config, recognised by its address for calls it sends. */
typedef struct {
	char *name;
	jn_addr addr;	/* when host is an IP literal */
	bool have_addr;
	bool port_set;	/* [trunk:] port given: match the source port too */
} call_trunk_def;

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
	GHashTable *calls; /* "Call-ID|remote tag" -> call_leg (until the call ends) */
	GHashTable *all;   /* every call not yet ended (a set; JSON-channel calls too) */
	GHashTable *pins;  /* user name -> call_pin: a user's calls share a worker */
	guint live;        /* calls not yet finished (their worker side included) */
	bool draining;
	void (*drained)(void *user);
	void *drained_user;
	guint drained_idle;
	GString *scratch;
	guint ack_wait_ms; /* 64*T1: how long a 200 waits for its ACK (§13.3.1.4) */
	guint ring_ms;	   /* no answer after this: CANCEL, 480 */
	const jn_config *cfg;
	char *domain;
	char *rtp_addr;
	unsigned rtp_port_min, rtp_port_max;
	sdp_codec codecs[CALL_MAX_CODECS]; /* [media] codecs */
	size_t n_codecs;
	call_trunk_def *trunks;
	size_t n_trunks;
};

typedef enum { LEG_UAS, LEG_UAC } leg_role;
enum { CALL_SRTP_OFF = 0, CALL_SRTP_OPTIONAL, CALL_SRTP_REQUIRED };
typedef enum { LM_RTP, LM_WEBRTC } leg_media;

typedef enum {
	LS_NEW = 0,   /* media being made on the worker */
	LS_CALLING,   /* UAC: INVITE sent; UAS: waiting for the callee */
	LS_ANSWERED,  /* UAS: 200 sent, waiting for the ACK */
	LS_UP,	      /* confirmed */
	LS_DONE,      /* failed, cancelled, lost or hung up */
} leg_state;

struct call_leg {
	call *c;
	char name[4];	   /* "a", "b1", "b2": logs */
	leg_role role;
	leg_media media;
	leg_state state;
	char *peer;	   /* "user:erin", "trunk:itsp", "contact" for logs */
	jn_route_party party; /* who is at this leg, for the dial plan (transfers) */
	char who[JN_ROUTE_NAME_MAX + 1];
	bool xfer;	   /* a branch placed for a transfer */
	char trunk[JN_ROUTE_NAME_MAX + 1]; /* the trunk section, "" if none */
	bool limit_trunk;  /* holds a slot of trunk's max_calls */
	/* where its SIP goes */
	sip_tp_kind kind;
	sip_flow *flow;	   /* referenced; NULL for UDP */
	jn_addr remote, local;
	sip_dialog *dlg;
	char *key;	   /* in cl->calls */
	/* UAS */
	sip_tx *inv_tx;	   /* until a final response is sent */
	sip_msg *inv;
	guint ack_timer;
	/* an in-dialog offer (re-INVITE, UPDATE) waiting for our answer */
	sip_tx *upd_tx;
	bool upd_invite;
	/* UAC */
	char *ruri, *from, *to_hdr, *call_id, *contact, *host;
	char *username, *password, *auth_line;
	uint32_t cseq;
	bool auth_tried, cancel_wanted, early;
	sip_tx *tx;	   /* our pending INVITE (first or re-INVITE) */
	sip_tx *acked_tx;  /* the last one a 2xx answered (repeated 2xx: ACK again) */
	uint32_t acked_cseq;
	bool reinvite;	   /* tx is a re-INVITE */
	sdp_dir pending_dir;
	bool reoffer_wait; /* a browser leg's re-offer is being made */
	/* a caller leg that is no SIP dialog (the JSON channel; call_ext.c) */
	bool ext;
	jn_call_ext_ops ext_ops; /* zeroed once the page's handle is gone */
	bool ext_answered;	 /* our SDP went to the page */
	char *offer_text;	 /* the caller's offer as text (desc) */
	bool trickle;		 /* more candidates may come (no end-of-candidates yet) */
	/* session timer (RFC 4028; call_timer.c) */
	sip_timer_cfg st_cfg;	/* st_cfg.session_expires 0: we ask for none */
	guint st_source;	/* refresh (we refresh) or expiry (they do) */
	uint32_t st_interval;	/* the running session's, 0 = none */
	bool st_we_refresh;
	unsigned st_422;	/* 422s answered (a bound on retries) */
	char *st_resp;		/* header lines for our 2xx (UAS side) */
	bool tls_verify;
	sip_resolve_query *resolve;
	unsigned redirects;
	/* negotiation */
	sdp_session *offer;	/* UAS: the caller's offer */
	sdp_codec codecs[CALL_MAX_CODECS];
	size_t n_codecs;
	bool dtmf_info;		/* send DTMF to this leg as SIP INFO */
	int srtp;		/* CALL_SRTP_*: SDES toward this RTP leg */
	char sdes_key[64];	/* our base64 key||salt (AES_CM_128_HMAC_SHA1_80) */
	uint16_t rtp_port;
	char *local_sdp;	/* our SDP toward the leg (answer or offer) */
	uint64_t sdp_version;
	sdp_dir remote_dir;	/* what the peer's last SDP said */
	sdp_dir local_dir;	/* what we tell it (hold passed across) */
	bool answered_sdp;	/* the remote answer was applied */
	media_bridge_leg desc;
	char codec[16], fmtp[256];
	bool have_desc;
	/* worker side */
	rtc_pc *pc;
	rtc_rtp *rtp;
	jn_mbridge *w_mb;	/* the bridge it is attached to (worker), NULL none */
	int w_side;		/* its side there, -1 none */
	bool w_resume;		/* w_seq/w_ts: where our stream to it goes on */
	uint16_t w_seq;
	uint32_t w_ts;
	bool w_stopped;
	/* final counters for the CDR (copied on the worker) */
	bool have_stats;
	jn_cdr_leg st;
	char st_codec[32];
};

typedef enum {
	CS_SETUP = 0, /* a's INVITE not answered yet */
	CS_UP,	      /* a answered */
	CS_ENDED,
} call_state;

struct call {
	gint ref;
	jn_call_layer *cl; /* core thread only; NULL after shutdown */
	char id[24];
	call_state state;
	call_leg *a, *b;   /* b: the callee that answered (or gives early media) */
	call_leg *legs[CALL_MAX_BRANCHES + 2]; /* all legs, owned */
	size_t n_legs;
	bool echo;
	jn_route_party party;
	char caller[JN_ROUTE_NAME_MAX + 1];	/* user or trunk name */
	char *caller_number, *dialled, *route_name, *target, *number, *display;
	jn_route_target tkind;
	int64_t start_us, answer_us;
	bool limit_caller, limit_callee;
	bool pin_caller, pin_callee; /* counted in cl->pins */
	char callee_user[JN_ROUTE_NAME_MAX + 1];
	guint ring_timer;
	guint gone_timer;    /* a browser closed DTLS: its BYE may follow */
	int best_code;	    /* best failure among branches */
	call_leg *xfer_from; /* a blind transfer in progress: the leg that sent REFER */
	bool xfer_from_gone; /* it hung up meanwhile */
	uint32_t xfer_cseq;  /* its REFER's CSeq (NOTIFY id) */
	int xfer_best;
	char *transfer;	     /* for the record: what the last transfer did */
	char xfer_number[JN_ROUTE_DIALLED_MAX + 1];
	jn_cdr_cause cause;
	int sip_code;
	char *reason;
	/* worker side */
	jn_worker *wk;
	bool stopped;
	bool shutdown;	    /* the core is gone: post nothing back */
	jn_mbridge *mb;
	call_leg *w_leg[2];  /* the legs on mb's sides (worker) */
	bool have_mst;
	jn_mbridge_stats mst;
	char mcodec[2][16];
};

/* Events posted from a worker to the core. */
enum {
	EV_ANSWER,     /* leg's pc answered the offer: text = SDP */
	EV_OFFER,      /* leg's pc made its offer: text = SDP */
	EV_RTP_READY,  /* leg's RTP port is bound: text = port */
	EV_FAILED,     /* leg's media could not be made: text = why */
	EV_CLOSED,     /* leg's media ended (consent lost, DTLS closed) */
	EV_DIGIT,      /* a DTMF key for a SIP INFO leg: text = "digit duration" */
	EV_REOFFER,    /* leg's pc made a re-offer: text = SDP, NULL = it could not */
	EV_CANDIDATE,  /* leg's pc found a late local candidate (ext legs) */
	EV_FINISHED,   /* the worker freed everything: write the record */
};

/* ---- call.c ---- */
call *call_ref(call *c);
void call_unref(call *c);
void call_respond(jn_call_layer *cl, sip_tx *tx, uint16_t code, const char *reason);
/* Ends the call: every live leg is hung up (BYE, CANCEL or a final
 * response) except `by`, which already settled its side; the worker then
 * frees the media and the record is written. */
void call_end(call *c, call_leg *by, jn_cdr_cause cause, int code, const char *reason);
/* From the worker: posts an EV_* about leg (may be NULL) to the core. */
void call_post_event(call *c, call_leg *leg, int kind, const char *text);
/* The leg bridged to l (a <-> b), or NULL. */
call_leg *call_other(call *c, call_leg *l);
/* Places the callee legs for a target (a trunk, or every contact of a
 * user), bridged later to peer. Returns how many legs were placed; 0 with
 * code and why set when none could be. */
size_t call_place(call *c, jn_route_target kind, const char *name, const char *number, const call_leg *peer,
		  bool xfer, int *code, const char **why);
/* Applies a callee's SDP answer (from a 18x or the 2xx) once. */
bool call_apply_answer(call *c, call_leg *l, const sip_msg *m);

/* ---- call_xfer.c ---- */
/* A REFER in l's dialog: blind transfer (RFC 3515). */
void call_xfer_refer(call_leg *x, sip_tx *tx, const sip_msg *req);
/* A transfer branch answered (dialog made, ACK sent) or failed. */
void call_xfer_answered(call *c, call_leg *l, const sip_msg *m);
void call_xfer_failed(call *c, call_leg *l, int status);
/* The transferor hung up (BYE) while its transfer is pending. */
void call_xfer_transferor_gone(call *c);

/* A callee leg's INVITE got a provisional (m parsed). */
void call_branch_progress(call *c, call_leg *l, int status, const sip_msg *m);
/* A callee leg answered 2xx (dialog made, ACK sent). */
void call_branch_answered(call *c, call_leg *l, const sip_msg *m);
/* The better of two failure statuses among parallel branches (RFC 3261
 * §16.7, simplified): a 6xx wins, then 486, then the lowest; 0 = none yet. */
int call_better_status(int best, int status);
/* A callee leg failed (final >= 300, transport, media). */
void call_branch_failed(call *c, call_leg *l, int status, const char *why);

/* ---- call_leg.c (core thread) ---- */
call_leg *leg_new(call *c, leg_role role, leg_media media, const char *name);
void leg_free(call_leg *l);
/* Starts the leg's media on the worker (EV_ANSWER/EV_OFFER/EV_RTP_READY). */
void leg_start_media(call_leg *l);
/* UAC toward trunk:NAME calling number; peer is the leg it will be
 * bridged to (its codec goes first). false when the trunk's max_calls is
 * reached. */
bool leg_setup_trunk(call_leg *l, const char *trunk, const char *number, const call_leg *peer);
/* UAC toward one registered contact of user `user`. */
void leg_setup_contact(call_leg *l, const char *user, const char *uri, sip_tp_kind kind, sip_flow *flow,
		       const jn_addr *to, const call_leg *peer);
/* Sends a refer NOTIFY with a sipfrag "SIP/2.0 code reason" in l's dialog. */
void leg_notify_sipfrag(call_leg *l, uint32_t refer_cseq, uint16_t code, const char *reason, bool terminated);
/* The media is ready (offer made, or RTP port bound): send the INVITE. */
void leg_send_invite(call_leg *l);
/* UAS: sends 18x/200 with our SDP to a's INVITE. */
bool leg_progress(call_leg *l, uint16_t code, const char *sdp);
bool leg_answer(call_leg *l, const char *sdp);
/* Hangs a leg up the way its state wants (when send): BYE, CANCEL, or
 * (UAS, not answered) the final response code; then forgets its dialog,
 * timers and trunk slot. */
void leg_hangup(call_leg *l, bool send, uint16_t code, const char *reason);
/* Moves the codec named first to the front of the leg's list. */
void leg_prefer(call_leg *l, const char *first);
/* Fills out from config codec names; returns how many. */
size_t call_codecs_from_list(char **names, sdp_codec *out, size_t cap);
/* An in-dialog request for l (after dialog checks). */
void leg_request(call_leg *l, sip_tx *tx, const sip_msg *req);
/* The worker answered an in-dialog offer (pc update). */
void leg_update_answered(call_leg *l, const char *sdp);
/* Our SDP toward an RTP leg: an offer (dir) or an answer to offer. */
char *leg_rtp_sdp(call_leg *l, const sdp_session *offer, sdp_dir dir, sdp_neg *neg, char **err);
/* Sends INFO with a DTMF key to l. */
void leg_send_info_digit(call_leg *l, char digit, unsigned duration_ms);
/* Passes a hold/resume across: a re-INVITE to l with direction dir. */
void leg_reinvite(call_leg *l, sdp_dir dir);
/* Sends a re-INVITE with our offer sdp (taken) to l. */
void leg_send_reinvite(call_leg *l, char *sdp, sdp_dir dir);
/* The leg as a CDR leg kind. */
const char *leg_kind_str(const call_leg *l);

/* ---- call_ext.c: the JSON channel's side of a leg ---- */
void ext_progress(call_leg *l, uint16_t code, const char *sdp);
void ext_ended(call_leg *l, int code, const char *reason);
void ext_dtmf(call_leg *l, char digit);
/* The far side held ("held") or resumed ("resumed") the page's call. */
void ext_direction(call_leg *l, sdp_dir dir);
/* A new call with its caller leg `a` (call.c), the route looked up and the
 * caller's limit slot (and the callee user's when callee_held) held. */
call *call_new_from(jn_call_layer *cl, const char *id, jn_route_party party, const char *who,
		    const char *caller_number, const char *dialled, const jn_route_result *rr, bool callee_held,
		    leg_media am, int64_t start_us);
/* Files the new call and starts the caller leg's media. */
void call_start(call *c);

/* ---- call_timer.c: session timers (RFC 4028) ---- */
/* Appends what our INVITE / re-INVITE to l carries (Supported, Session-Expires, Min-SE). */
void leg_timer_request_headers(call_leg *l, GString *extra);
/* Our INVITE / re-INVITE to l got a 2xx: (re)starts the session's timer. */
void leg_timer_after_2xx(call_leg *l, const sip_msg *resp);
/* Our INVITE got 422: true when it should be sent again with a larger interval. */
bool leg_timer_after_422(call_leg *l, const sip_msg *resp);
/* An INVITE / re-INVITE / UPDATE from l: 0 to go on (l->st_resp holds the
 * 2xx's header lines), else the status to answer (422 with l->st_resp). */
int leg_timer_on_request(call_leg *l, const sip_msg *req);
/* Answers tx with the status leg_timer_on_request gave (422 + Min-SE, 400). */
void leg_respond_timer_error(call_leg *l, sip_tx *tx, const sip_msg *req);
/* Starts the leg's running session timer again (after it moved call). */
void leg_timer_restart(call_leg *l);
/* Stops the leg's timer. */
void leg_timer_stop(call_leg *l);

/* ---- call_media.c (worker jobs, posted from the core) ---- */
void media_start(call_leg *l, bool echo);
/* The remote's SDP answer to our offer (UAC) or the peer's RTP address
 * (after our answer): sets the leg's remote side. */
void media_set_remote(call_leg *l, const char *sdp);
/* Joins two legs (their descs must be set); replaces any bridge. */
void media_bridge_legs(call *c, call_leg *x, call_leg *y);
/* An in-dialog offer for a WebRTC leg (answer through EV_ANSWER). */
void media_pc_update(call_leg *l, sdp_session *offer);
/* A re-offer from a browser leg with direction dir (EV_REOFFER), and
 * forgetting one the browser refused. */
void media_reoffer(call_leg *l, sdp_dir dir);
void media_reoffer_cancel(call_leg *l);
/* A key to send to leg l as RFC 4733. */
void media_send_digit(call *c, call_leg *l, char digit, unsigned duration_ms);
/* A trickled remote candidate for a browser leg (NULL = end). */
void media_add_candidate(call_leg *l, const char *cand);
/* Takes c's legs out of its bridge and frees it (before a leg of c joins
 * another call's bridge: attended transfer). */
void media_unbridge(call *c);
/* Frees one leg's media (a cancelled branch). */
void media_stop_leg(call_leg *l);
/* Frees every leg's media and the bridge; EV_FINISHED follows. */
void media_stop_call(call *c);
/* Reads the desc a leg negotiated from an SDP (ours and theirs). */
bool media_desc_from_sdp(call_leg *l, const char *ours, const char *theirs);

#endif
