#include "server/channel.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "media/sdp.h"
#include "sip/sip_auth.h"
#include "util/log.h"
#include "webrtc/rtc_pc.h"

#define JN_LOG_TAG "channel"
#define MAX_MESSAGE (256u * 1024u)

struct jn_channel {
	jn_channel_opts o;
	char **addrs;
	char *stun, *turn, *turn_user, *turn_pass;
	unsigned conns;
};

/* One call. Shared by the core (conn, call_id) and its worker (pc); each
 * field has one owning thread, and posts carry a reference. */
typedef struct {
	gint ref;
	jn_channel *ch;
	jn_channel_conn *conn; /* core thread; NULL once detached */
	char call_id[24];
	char *mid;
	jn_worker *wk;
	sdp_session *offer;
	rtc_pc *pc;   /* worker thread */
	bool stopped; /* worker thread */
} sess;

struct jn_channel_conn {
	jn_channel *ch;
	void (*send)(void *user, const char *json);
	void *user;
	sess *call;
	char login[65];	  /* the [user:NAME] that logged in, "" none */
	jn_call_ext *ext; /* a call through the call layer (SIP targets) */
	char *ext_mid;
};

static sess *sess_ref(sess *s)
{
	g_atomic_int_inc(&s->ref);
	return s;
}

static void sess_unref(sess *s)
{
	if (!s || !g_atomic_int_dec_and_test(&s->ref))
		return;
	sdp_unref(s->offer);
	g_free(s->mid);
	g_free(s);
}

/* ---- replies (core thread) ---- */

static void send_obj(jn_channel_conn *cc, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s)
		cc->send(cc->user, s);
	free(s);
}

static void send_error(jn_channel_conn *cc, const char *code, const char *msg)
{
	jn_debug(cc->call ? cc->call->call_id : NULL, "error %s: %s", code, msg);
	send_obj(cc, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", msg));
}

/* ---- worker side ---- */

typedef struct {
	sess *s;
	int kind; /* EV_* */
	char *text;
} event;

enum { EV_ANSWER, EV_CANDIDATE, EV_CONNECTED, EV_CLOSED, EV_FAILED, EV_STATS, EV_REOFFER_FAILED };

static void detach(sess *s);
static void ext_drop(jn_channel_conn *cc);
static void call_through_layer(jn_channel_conn *cc, const char *to, const char *sdp);

static gboolean on_core_event(gpointer data)
{
	event *ev = data;
	sess *s = ev->s;
	jn_channel_conn *cc = s->conn;
	if (cc) {
		switch (ev->kind) {
		case EV_ANSWER:
			send_obj(cc, json_pack("{s:s,s:s,s:s}", "type", "answer", "call_id", s->call_id, "sdp", ev->text));
			break;
		case EV_CANDIDATE:
			send_obj(cc, json_pack("{s:s,s:o,s:s}", "type", "candidate", "candidate",
					       ev->text ? json_string(ev->text) : json_null(), "sdpMid", s->mid));
			break;
		case EV_CONNECTED:
			send_obj(cc, json_pack("{s:s,s:s,s:s}", "type", "state", "call_id", s->call_id, "state", "connected"));
			break;
		case EV_REOFFER_FAILED:
			send_error(cc, "offer_failed", ev->text);
			break;
		case EV_STATS:
			cc->send(cc->user, ev->text);
			break;
		case EV_FAILED:
			send_error(cc, "media_failed", ev->text);
			detach(s);
			break;
		case EV_CLOSED:
			send_obj(cc, json_pack("{s:s,s:s,s:s}", "type", "hangup", "call_id", s->call_id, "reason",
					       ev->text ? ev->text : ""));
			detach(s);
			break;
		}
	}
	g_free(ev->text);
	sess_unref(s);
	g_free(ev);
	return G_SOURCE_REMOVE;
}

static void post_event(sess *s, int kind, const char *text)
{
	event *ev = g_new0(event, 1);
	ev->s = sess_ref(s);
	ev->kind = kind;
	ev->text = g_strdup(text);
	jn_core_post(on_core_event, ev);
}

static void pc_answer(void *user, const char *sdp)
{
	post_event(user, EV_ANSWER, sdp);
}

static void pc_candidate(void *user, const char *cand)
{
	post_event(user, EV_CANDIDATE, cand);
}

static void pc_state(void *user, rtc_pc_state st, const char *reason)
{
	if (st == RTC_PC_CONNECTED)
		post_event(user, EV_CONNECTED, NULL);
	else if (st == RTC_PC_CLOSED)
		post_event(user, EV_CLOSED, reason);
}

static gboolean w_start(gpointer data)
{
	sess *s = data;
	jn_channel *ch = s->ch;
	if (!s->stopped) {
		rtc_pc_opts po = {
			.cert = ch->o.cert, .context = jn_worker_context(s->wk),
			.local_addresses = (const char *const *)ch->addrs, .port_min = ch->o.port_min,
			.port_max = ch->o.port_max, .stun_server = ch->stun, .turn_server = ch->turn,
			.turn_username = ch->turn_user, .turn_password = ch->turn_pass,
			.consent_timeout = ch->o.consent_timeout, .echo = true, .id = s->call_id,
			.answer = pc_answer, .candidate = pc_candidate, .state = pc_state, .user = s,
		};
		char *err = NULL;
		if (rtc_pc_new_from_offer(&po, s->offer, &s->pc, &err)) {
			post_event(s, EV_FAILED, err);
			g_free(err);
		}
	}
	sess_unref(s);
	return G_SOURCE_REMOVE;
}

static gboolean w_stop(gpointer data)
{
	sess *s = data;
	s->stopped = true;
	rtc_pc_free(s->pc);
	s->pc = NULL;
	jn_worker_add_load(s->wk, -1);
	sess_unref(s);
	return G_SOURCE_REMOVE;
}

typedef struct {
	sess *s;
	char *cand; /* NULL: end of candidates */
} cand_job;

static gboolean w_candidate(gpointer data)
{
	cand_job *j = data;
	if (j->s->pc && rtc_pc_add_remote_candidate(j->s->pc, j->cand))
		jn_debug(j->s->call_id, "remote candidate ignored");
	sess_unref(j->s);
	g_free(j->cand);
	g_free(j);
	return G_SOURCE_REMOVE;
}

typedef struct {
	sess *s;
	sdp_session *offer;
} offer_job;

static gboolean w_offer(gpointer data)
{
	offer_job *j = data;
	char *err = NULL;
	if (j->s->pc && rtc_pc_update(j->s->pc, j->offer, &err))
		post_event(j->s, EV_REOFFER_FAILED, err);
	g_free(err);
	sdp_unref(j->offer);
	sess_unref(j->s);
	g_free(j);
	return G_SOURCE_REMOVE;
}

static gboolean w_stats(gpointer data)
{
	sess *s = data;
	if (s->pc) {
		rtc_pc_stats st;
		rtc_pc_get_stats(s->pc, &st);
		json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "type", "stats",
				      "call_id", s->call_id, "packets_in", (json_int_t)st.rtp_in,
				      "packets_out", (json_int_t)st.rtp_out, "bytes_in", (json_int_t)st.bytes_in,
				      "bytes_out", (json_int_t)st.bytes_out, "rtcp_in", (json_int_t)st.rtcp_in, "rtcp_out", (json_int_t)st.rtcp_out,
				      "srtp_errors", (json_int_t)st.srtp_errors, "selected_pair", st.pair,
				      "ice_state", st.ice_state, "dtls_state", st.dtls_state,
				      "srtp_profile", st.srtp_profile, "codec", st.codec);
		char *text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		post_event(s, EV_STATS, text);
		free(text);
	}
	sess_unref(s);
	return G_SOURCE_REMOVE;
}

/* Unlinks the call from its connection (core) and frees its peer
 * connection on the worker. The worker's ref is dropped there. */
static void detach(sess *s)
{
	if (!s->conn)
		return;
	s->conn->call = NULL;
	s->conn = NULL;
	jn_info(s->call_id, "call ended");
	jn_worker_post(s->wk, w_stop, s); /* takes the conn's reference */
}

/* ---- dispatcher (core thread) ---- */

static void on_call(jn_channel_conn *cc, json_t *msg)
{
	const char *to = json_string_value(json_object_get(msg, "to"));
	json_t *jsdp = json_object_get(msg, "sdp");
	if (cc->call || cc->ext) {
		send_error(cc, "busy", "this connection already has a call; hang up first");
		return;
	}
	if (!json_is_string(jsdp)) {
		send_error(cc, "missing_sdp", "\"sdp\" must be the offer's SDP text");
		return;
	}
	if (to && strcmp(to, "echo") && cc->ch->o.calls) {
		call_through_layer(cc, to, json_string_value(jsdp));
		return;
	}
	if (!to || strcmp(to, "echo")) {
		char *m = g_strdup_printf("unknown target \"%.64s\" (this build serves \"echo\")", to ? to : "");
		send_error(cc, "unknown_target", m);
		g_free(m);
		return;
	}
	sdp_session *offer = NULL;
	sdp_error serr;
	int rc = sdp_parse(json_string_value(jsdp), json_string_length(jsdp), &offer, &serr);
	if (rc) {
		char *m = g_strdup_printf("line %u: %s", serr.line, serr.reason);
		send_error(cc, "bad_sdp", m);
		g_free(m);
		return;
	}
	if (!cc->ch->o.workers) {
		sdp_unref(offer);
		send_error(cc, "unavailable", "no media workers");
		return;
	}
	sess *s = g_new0(sess, 1);
	s->ref = 1;
	s->ch = cc->ch;
	s->offer = offer;
	guint32 r1 = g_random_int(), r2 = g_random_int();
	g_snprintf(s->call_id, sizeof s->call_id, "c%08x%04x", r1, r2 & 0xffff);
	for (size_t i = 0; i < offer->n_media; i++)
		if (offer->media[i].type == SDP_MEDIA_AUDIO) {
			s->mid = sdp_str_dup(offer->media[i].mid);
			break;
		}
	if (!s->mid)
		s->mid = g_strdup("0");
	s->wk = jn_workers_pick(cc->ch->o.workers);
	jn_worker_add_load(s->wk, 1);
	s->conn = cc;
	cc->call = s;
	jn_info(s->call_id, "call to %s on worker %u", to, jn_worker_index(s->wk));
	jn_worker_post(s->wk, w_start, sess_ref(s));
}

static void on_candidate(jn_channel_conn *cc, json_t *msg)
{
	json_t *jc = json_object_get(msg, "candidate");
	const char *c = NULL;
	if (json_is_object(jc)) /* a whole RTCIceCandidateInit */
		jc = json_object_get(jc, "candidate");
	if (json_is_string(jc))
		c = json_string_value(jc);
	else if (jc && !json_is_null(jc)) {
		send_error(cc, "bad_candidate", "\"candidate\" must be a string or null");
		return;
	}
	if (!cc->call && !cc->ext)
		return; /* late trickle after a hangup: nothing to do */
	if (c && g_str_has_prefix(c, "a="))
		c += 2;
	if (c && *c && !g_str_has_prefix(c, "candidate:")) {
		send_error(cc, "bad_candidate", "a candidate starts with \"candidate:\"");
		return;
	}
	if (c && !*c)
		c = NULL;
	if (cc->ext) {
		jn_call_ext_candidate(cc->ext, c);
		return;
	}
	cand_job *j = g_new0(cand_job, 1);
	j->s = sess_ref(cc->call);
	j->cand = g_strdup(c);
	jn_worker_post(cc->call->wk, w_candidate, j);
}

static void on_hangup(jn_channel_conn *cc, json_t *msg)
{
	(void)msg;
	if (cc->call)
		detach(cc->call);
	ext_drop(cc);
}

/* A new offer on the call (ICE restart, or any renegotiation). */
static void on_offer(jn_channel_conn *cc, json_t *msg)
{
	json_t *jsdp = json_object_get(msg, "sdp");
	if (!cc->call) {
		send_error(cc, "no_call", "no call on this connection (start one with \"call\")");
		return;
	}
	if (!json_is_string(jsdp)) {
		send_error(cc, "missing_sdp", "\"sdp\" must be the offer's SDP text");
		return;
	}
	sdp_session *offer = NULL;
	sdp_error serr;
	if (sdp_parse(json_string_value(jsdp), json_string_length(jsdp), &offer, &serr)) {
		char *m = g_strdup_printf("line %u: %s", serr.line, serr.reason);
		send_error(cc, "bad_sdp", m);
		g_free(m);
		return;
	}
	offer_job *j = g_new0(offer_job, 1);
	j->s = sess_ref(cc->call);
	j->offer = offer;
	jn_worker_post(cc->call->wk, w_offer, j);
}

static void on_stats(jn_channel_conn *cc, json_t *msg)
{
	(void)msg;
	if (!cc->call) {
		send_error(cc, "no_call", "no call on this connection");
		return;
	}
	jn_worker_post(cc->call->wk, w_stats, sess_ref(cc->call));
}

/* ---- calls through the call layer (targets other than echo) ---- */

static void ext_drop(jn_channel_conn *cc)
{
	jn_call_ext *x = cc->ext;
	cc->ext = NULL;
	g_free(cc->ext_mid);
	cc->ext_mid = NULL;
	jn_call_ext_hangup(x);
}

static void x_answer(void *user, const char *call_id, const char *sdp)
{
	send_obj(user, json_pack("{s:s,s:s,s:s}", "type", "answer", "call_id", call_id, "sdp", sdp));
}

static void x_progress(void *user, const char *call_id, const char *state)
{
	send_obj(user, json_pack("{s:s,s:s,s:s}", "type", "state", "call_id", call_id, "state", state));
}

static void x_candidate(void *user, const char *call_id, const char *cand)
{
	jn_channel_conn *cc = user;
	(void)call_id;
	send_obj(cc, json_pack("{s:s,s:o,s:s}", "type", "candidate", "candidate", cand ? json_string(cand) : json_null(),
			       "sdpMid", cc->ext_mid ? cc->ext_mid : "0"));
}

static void x_ended(void *user, const char *call_id, int code, const char *reason)
{
	jn_channel_conn *cc = user;
	send_obj(cc, json_pack("{s:s,s:s,s:i,s:s}", "type", "hangup", "call_id", call_id, "code", code, "reason",
			       reason ? reason : ""));
	ext_drop(cc);
}

static void x_dtmf(void *user, const char *call_id, char digit)
{
	char d[2] = { digit, 0 };
	send_obj(user, json_pack("{s:s,s:s,s:s}", "type", "dtmf", "call_id", call_id, "digit", d));
}

static void call_through_layer(jn_channel_conn *cc, const char *to, const char *sdp)
{
	if (!*cc->login) {
		send_error(cc, "not_logged_in", "send {\"type\":\"login\",\"user\":...,\"password\":...} first");
		return;
	}
	jn_call_ext_ops ops = { .answer = x_answer, .progress = x_progress, .candidate = x_candidate,
				.ended = x_ended, .dtmf = x_dtmf, .user = cc };
	const char *code = NULL;
	char *msg = NULL;
	int st = jn_call_ext_place(cc->ch->o.calls, cc->login, to, sdp, &ops, &cc->ext, &code, &msg);
	if (st) {
		send_error(cc, code, msg);
		g_free(msg);
		return;
	}
	sdp_session *s = NULL;
	if (!sdp_parse(sdp, strlen(sdp), &s, NULL))
		for (size_t i = 0; i < s->n_media && !cc->ext_mid; i++)
			if (s->media[i].type == SDP_MEDIA_AUDIO)
				cc->ext_mid = sdp_str_dup(s->media[i].mid);
	sdp_unref(s);
}

/* Equal in time that does not depend on where they differ. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0;
}

/* {"type":"login","user":NAME,"password":PW}: a [user:NAME] and its SIP
 * password (checked against password or ha1_md5). The same error for an
 * unknown user and a wrong password. */
static void on_login(jn_channel_conn *cc, json_t *msg)
{
	const char *user = json_string_value(json_object_get(msg, "user"));
	const char *pw = json_string_value(json_object_get(msg, "password"));
	const jn_config *cfg = cc->ch->o.cfg;
	if (!cfg) {
		send_error(cc, "unavailable", "this channel serves only echo");
		return;
	}
	if (!user || !pw || strlen(user) > 64 || strlen(pw) > 256) {
		send_error(cc, "bad_credentials", "\"user\" and \"password\" are required");
		return;
	}
	char sec[80];
	g_snprintf(sec, sizeof sec, "user:%s", user);
	char **users = jn_config_instances(cfg, "user");
	bool known = users && g_strv_contains((const char *const *)users, user);
	g_strfreev(users);
	char ha1[SIP_AUTH_HEX_MAX], want[SIP_AUTH_HEX_MAX] = "";
	const char *realm = jn_config_str(cfg, "sip", "realm");
	/* the same work for unknown users: no timing hint */
	sip_auth_ha1(SIP_AUTH_ALG_MD5, user, realm, pw, ha1);
	if (known) {
		const char *stored = jn_config_str(cfg, sec, "password");
		if (*stored)
			sip_auth_ha1(SIP_AUTH_ALG_MD5, user, realm, stored, want);
		else
			g_strlcpy(want, jn_config_str(cfg, sec, "ha1_md5"), sizeof want);
		for (char *p = want; *p; p++)
			*p = g_ascii_tolower(*p);
	}
	if (!known || !*want || !same_secret(ha1, want)) {
		jn_info(NULL, "channel login refused for \"%.64s\"", user);
		send_error(cc, "bad_credentials", "wrong user or password");
		return;
	}
	g_strlcpy(cc->login, user, sizeof cc->login);
	send_obj(cc, json_pack("{s:s,s:s}", "type", "login", "user", user));
}

/* {"type":"dtmf","digit":"5"}: a key to the other side of the call. */
static void on_dtmf(jn_channel_conn *cc, json_t *msg)
{
	const char *d = json_string_value(json_object_get(msg, "digit"));
	if (!d || strlen(d) != 1 || !strchr("0123456789*#ABCDabcd", d[0])) {
		send_error(cc, "bad_digit", "\"digit\" is one of 0-9 * # A-D");
		return;
	}
	if (!cc->ext) {
		send_error(cc, "no_call", "no SIP call on this connection");
		return;
	}
	jn_call_ext_dtmf(cc->ext, g_ascii_toupper(d[0]));
}

static const struct {
	const char *type;
	void (*fn)(jn_channel_conn *cc, json_t *msg);
} handlers[] = {
	{ "call", on_call },
	{ "candidate", on_candidate },
	{ "end-of-candidates", on_candidate },
	{ "hangup", on_hangup },
	{ "stats", on_stats },
	{ "offer", on_offer },
	{ "login", on_login },
	{ "dtmf", on_dtmf },
};

void jn_channel_conn_recv(jn_channel_conn *cc, const char *msg, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		char *m = g_strdup_printf("bad JSON at %d:%d: %s", jerr.line, jerr.column, jerr.text);
		send_error(cc, "bad_json", m);
		g_free(m);
		return;
	}
	const char *type = json_string_value(json_object_get(j, "type"));
	size_t i;
	for (i = 0; type && i < G_N_ELEMENTS(handlers); i++)
		if (!strcmp(type, handlers[i].type)) {
			handlers[i].fn(cc, j);
			break;
		}
	if (!json_is_object(j))
		send_error(cc, "bad_json", "a message is a JSON object");
	else if (!type || i == G_N_ELEMENTS(handlers)) {
		char *m = g_strdup_printf("unknown message type \"%.32s\"", type ? type : "");
		send_error(cc, "unknown_type", m);
		g_free(m);
	}
	json_decref(j);
}

jn_channel_conn *jn_channel_conn_new(jn_channel *c, void (*send)(void *user, const char *json), void *user)
{
	jn_channel_conn *cc = g_new0(jn_channel_conn, 1);
	cc->ch = c;
	cc->send = send;
	cc->user = user;
	c->conns++;
	return cc;
}

void jn_channel_conn_free(jn_channel_conn *cc)
{
	if (!cc)
		return;
	if (cc->call)
		detach(cc->call);
	ext_drop(cc);
	cc->ch->conns--;
	g_free(cc);
}

/* ---- channel ---- */

jn_channel *jn_channel_new(const jn_channel_opts *o)
{
	jn_channel *c = g_new0(jn_channel, 1);
	c->o = *o;
	if (o->cert)
		c->o.cert = rtc_dtls_cert_ref(o->cert);
	c->addrs = g_strdupv((char **)o->local_addresses);
	c->o.local_addresses = NULL;
	c->stun = g_strdup(o->stun_server);
	c->turn = g_strdup(o->turn_server);
	c->turn_user = g_strdup(o->turn_username);
	c->turn_pass = g_strdup(o->turn_password);
	return c;
}

void jn_channel_free(jn_channel *c)
{
	if (!c)
		return;
	rtc_dtls_cert_unref(c->o.cert);
	g_strfreev(c->addrs);
	g_free(c->stun);
	g_free(c->turn);
	g_free(c->turn_user);
	g_free(c->turn_pass);
	g_free(c);
}

/* ---- WebSocket glue ---- */

typedef struct {
	struct lws *wsi;
	jn_channel_conn *conn;
	GString *rx;
	GQueue *tx; /* JSON strings waiting for WRITEABLE */
	bool too_big;
} pss;

static void ws_send(void *user, const char *json)
{
	pss *p = user;
	g_queue_push_tail(p->tx, g_strdup(json));
	lws_callback_on_writable(p->wsi);
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	pss *p = user;
	const struct lws_protocols *proto = lws_get_protocol(wsi);
	jn_channel *ch = proto ? proto->user : NULL;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		p->wsi = wsi;
		p->rx = g_string_new(NULL);
		p->tx = g_queue_new();
		p->conn = jn_channel_conn_new(ch, ws_send, p);
		break;
	case LWS_CALLBACK_RECEIVE:
		if (!p->conn)
			break;
		if (p->rx->len + len > MAX_MESSAGE)
			p->too_big = true;
		else
			g_string_append_len(p->rx, in, (gssize)len);
		if (lws_is_final_fragment(wsi)) {
			if (p->too_big)
				ws_send(p, "{\"type\":\"error\",\"code\":\"too_big\",\"message\":\"message over 256 KiB\"}");
			else
				jn_channel_conn_recv(p->conn, p->rx->str, p->rx->len);
			g_string_truncate(p->rx, 0);
			p->too_big = false;
		}
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		char *s = p->tx ? g_queue_pop_head(p->tx) : NULL;
		if (!s)
			break;
		size_t n = strlen(s);
		unsigned char *buf = g_malloc(LWS_PRE + n);
		memcpy(buf + LWS_PRE, s, n);
		int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
		g_free(buf);
		g_free(s);
		if (w < (int)n)
			return -1;
		if (!g_queue_is_empty(p->tx))
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLOSED:
		jn_channel_conn_free(p->conn);
		p->conn = NULL;
		if (p->rx)
			g_string_free(p->rx, TRUE);
		p->rx = NULL;
		if (p->tx)
			g_queue_free_full(p->tx, g_free);
		p->tx = NULL;
		break;
	default:
		break;
	}
	return 0;
}

struct lws_protocols jn_channel_protocol(jn_channel *c)
{
	struct lws_protocols p;
	memset(&p, 0, sizeof p);
	p.name = "junction";
	p.callback = ws_callback;
	p.per_session_data_size = sizeof(pss);
	p.user = c;
	return p;
}
