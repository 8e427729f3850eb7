#include "sip/sip_stack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "sip/sip_auth.h"
#include "sip/sip_tcp.h"
#include "sip/sip_udp.h"
#include "sip/sip_ws.h"

#define JN_LOG_TAG "sip"
#include "util/log.h"

#define ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"
/* What a dialog handler serves in dialogs (RFC 3311, 6086, 3515). */
#define ALLOW_DIALOG ", UPDATE, INFO, REFER, NOTIFY"
/* Option tags we accept in Require and list in Supported: replaces
 * (RFC 3891) and timer (RFC 4028) are the call layer's, with sip_xfer and
 * sip_timer. */
#define SUPPORTED "outbound, path, replaces, timer"
#define ACCEPT "application/sdp"

typedef struct {
	char ha1[SIP_AUTH_ALG_COUNT][SIP_AUTH_HEX_MAX]; /* "" when not stored */
} user_cred;

struct sip_stack {
	sip_stack_opts o;
	char *domain, *realm, *user_agent, *server_hdr;
	sip_transport *tp[SIP_TP_COUNT];
	sip_tx_layer *txl;
	sip_auth_server *auth;
	sip_reg *reg;
	GHashTable *users; /* name -> user_cred */
	guint expire_timer;
	sip_stack_request_fn invite_fn, dialog_fn, cancel_fn;
	void *invite_user, *dialog_user, *cancel_user;
	sip_stack_stats st;
	sip_buf out;       /* scratch for building */
	GHashTable *outregs; /* trunk name -> sip_outreg */
	GHashTable *pings;   /* trunk name -> sip_optping */
	GHashTable *accepted; /* "Call-ID|CSeq|From-tag" -> INVITE sip_tx in Accepted */
	sip_stack_request_fn message_fn;   /* out-of-dialog MESSAGE (sip_stack_on_message) */
	void *message_user;
	sip_stack_registered_fn registered_fn; /* after a successful REGISTER */
	void *registered_user;
	void (*flow_closed_fn)(void *user, sip_flow *flow); /* a connection went away */
	void *flow_closed_user;
};

/* What the stack keeps with a server transaction. */
typedef struct {
	sip_msg *req;
	jn_addr src;       /* where it came from (received / rport) */
	bool rport;
	char to_tag[17];
	char *ack_key;     /* set while the INVITE waits for the ACK of its 2xx */
} srv_data;

static void srv_data_free(gpointer p)
{
	srv_data *d = p;
	sip_msg_unref(d->req);
	g_free(d->ack_key);
	g_free(d);
}

static uint64_t now_s(void)
{
	return (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC);
}

/* --- Via / addresses ---------------------------------------------------- */

static void addr_ip(const jn_addr *a, char *buf, size_t cap)
{
	if (a->ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, buf, (socklen_t)cap);
	else if (a->ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, buf, (socklen_t)cap);
	else
		snprintf(buf, cap, "0.0.0.0");
}

/* RFC 3261 §18.2.2 with RFC 3581: where a response goes. Reliable: back
 * over the flow (the address is the fallback). UDP: the source IP, and the
 * source port when the Via asked for rport, else the sent-by port. */
static void response_dest(const sip_msg *req, const sip_peer *from, sip_tx_dest *d)
{
	memset(d, 0, sizeof *d);
	d->tp = from->tp;
	d->flow = from->flow;
	d->addr = from->remote;
	if (from->flow || req->n_via == 0)
		return;
	const sip_via *v = &req->via[0];
	if (!v->rport)
		jn_addr_set_port(&d->addr, v->port ? v->port : 5060);
}

/* The §17.2.3 key: branch + sent-by + method (ACK matches its INVITE). For
 * RFC 2543 peers without the magic cookie, Call-ID + CSeq + From tag + Via. */
static char *server_key(const sip_msg *m, sip_method as)
{
	const sip_via *v = &m->via[0];
	const char *meth = sip_method_name(as);
	char mbuf[32];
	if (!*meth)
		meth = sip_pl_strcpy(m->method_pl, mbuf, sizeof mbuf);
	if (v->branch.l > 7 && memcmp(v->branch.p, "z9hG4bK", 7) == 0)
		return g_strdup_printf("%.*s|%.*s|%s", (int)v->branch.l, v->branch.p, (int)v->sent_by.l,
				       v->sent_by.p, meth);
	return g_strdup_printf("2543|%.*s|%u|%.*s|%.*s|%s", (int)m->call_id.l, m->call_id.p, m->cseq.num,
			       (int)m->from.tag.l, m->from.tag.p, (int)v->value.l, v->value.p, meth);
}

static char *client_key(sip_pl branch, sip_method m, sip_pl method_pl)
{
	const char *meth = m == SIP_METHOD_ACK ? "INVITE" : sip_method_name(m);
	if (!*meth)
		return g_strdup_printf("%.*s|%.*s", (int)branch.l, branch.p, (int)method_pl.l, method_pl.p);
	return g_strdup_printf("%.*s|%s", (int)branch.l, branch.p, meth);
}

/* The builder copies every Via as received; RFC 3581 wants received= and
 * rport=PORT on the top one. Rewrite that value in the built bytes. */
static void patch_top_via(sip_buf *b, const sip_msg *req, const srv_data *d)
{
	if (req->n_via == 0 || !d->src.len)
		return;
	const sip_via *v = &req->via[0];
	char ip[INET6_ADDRSTRLEN];
	addr_ip(&d->src, ip, sizeof ip);
	char host[INET6_ADDRSTRLEN + 1];
	sip_pl_strcpy(v->host, host, sizeof host);
	bool differs = strcmp(host, ip) != 0;
	if (!differs && !v->rport)
		return;
	GString *nv = g_string_sized_new(v->value.l + 64);
	/* The via-parm up to its parameters, then every param but received/rport. */
	size_t head = v->params.p ? (size_t)(v->params.p - v->value.p) : v->value.l;
	if (head > 0 && v->params.p && v->value.p[head - 1] == ';')
		head--;
	g_string_append_len(nv, v->value.p, (gssize)head);
	sip_pl rest = v->params;
	while (rest.l) {
		const char *semi = memchr(rest.p, ';', rest.l);
		sip_pl one = { rest.p, semi ? (size_t)(semi - rest.p) : rest.l };
		rest.p += one.l + (semi ? 1 : 0);
		rest.l -= one.l + (semi ? 1 : 0);
		sip_pl name = one;
		const char *eq = memchr(one.p, '=', one.l);
		if (eq)
			name.l = (size_t)(eq - one.p);
		name = sip_pl_trim(name);
		if (sip_pl_casecmp(name, "received") || sip_pl_casecmp(name, "rport") || !one.l)
			continue;
		g_string_append_c(nv, ';');
		g_string_append_len(nv, one.p, (gssize)one.l);
	}
	g_string_append_printf(nv, ";received=%s", ip);
	if (v->rport)
		g_string_append_printf(nv, ";rport=%u", jn_addr_port(&d->src));
	/* Find the top Via value after the status line. */
	char *start = memchr(b->p, '\n', b->len);
	char *at = start ? memmem(start, b->len - (size_t)(start - b->p), v->value.p, v->value.l) : NULL;
	if (at) {
		size_t off = (size_t)(at - b->p), tail = b->len - off - v->value.l;
		char *copy = g_memdup2(at + v->value.l, tail);
		b->len = off;
		sip_buf_put(b, nv->str, nv->len);
		sip_buf_put(b, copy, tail);
		g_free(copy);
	}
	g_string_free(nv, TRUE);
}

/* --- responses ----------------------------------------------------------- */

/* The ACK of a 2xx has its own branch (§13.2.2.4): it finds its INVITE by
 * Call-ID, CSeq number and From tag. */
static char *ack_key(const sip_msg *m)
{
	return g_strdup_printf("%.*s|%u|%.*s", (int)m->call_id.l, m->call_id.p, m->cseq.num,
			       (int)m->from.tag.l, m->from.tag.p);
}

static void tx_event(void *user, sip_tx *tx, sip_tx_event ev)
{
	sip_stack *s = user;
	srv_data *d = sip_tx_get_data(tx);
	if (ev == SIP_TX_EV_TERMINATED && d && d->ack_key && g_hash_table_lookup(s->accepted, d->ack_key) == tx)
		g_hash_table_remove(s->accepted, d->ack_key);
	if (ev == SIP_TX_EV_TRANSPORT_ERROR)
		s->st.send_errors++;
	else if (ev == SIP_TX_EV_TIMEOUT)
		jn_debug(NULL, "transaction %s: no ACK for the final response", sip_tx_key(tx));
}

const char *sip_stack_tx_to_tag(const sip_tx *tx)
{
	const srv_data *d = sip_tx_get_data(tx);
	return d && !sip_tx_is_client(tx) ? d->to_tag : "";
}

int sip_stack_respond(sip_stack *s, sip_tx *tx, uint16_t code, const char *reason, const sip_resp_opts *opts)
{
	srv_data *d = sip_tx_get_data(tx);
	if (!d || sip_tx_is_client(tx))
		return EINVAL;
	sip_resp_opts ro = { 0 };
	if (opts)
		ro = *opts;
	char *extra = g_strconcat(s->server_hdr, ro.extra ? ro.extra : "", NULL);
	ro.extra = extra;
	if (code > 100 && !sip_pl_isset(d->req->to.tag)) {
		if (!d->to_tag[0])
			sip_build_token(d->to_tag, 16);
		ro.to_tag = d->to_tag;
	}
	sip_buf_reset(&s->out);
	int rc = sip_build_response(&s->out, d->req, code, reason, &ro);
	g_free(extra);
	if (rc == 0 && s->out.err == 0)
		patch_top_via(&s->out, d->req, d);
	if (rc != 0 || s->out.err)
		return rc ? rc : s->out.err;
	/* A non-INVITE (or failed) transaction may be freed by the respond
	 * below; a 2xx'd INVITE stays in Accepted (Timer L). */
	bool invite = sip_tx_is_invite(tx);
	rc = sip_tx_respond(tx, code, s->out.p, s->out.len);
	if (rc == 0 && invite && code >= 200 && code < 300 && !d->ack_key) {
		d->ack_key = ack_key(d->req);
		g_hash_table_replace(s->accepted, g_strdup(d->ack_key), tx);
	}
	return rc;
}

const sip_msg *sip_stack_tx_request(const sip_tx *tx)
{
	srv_data *d = sip_tx_get_data(tx);
	return d ? d->req : NULL;
}

static void respond_simple(sip_stack *s, sip_tx *tx, uint16_t code, const char *reason, const char *extra)
{
	sip_resp_opts ro = { .extra = extra };
	int rc = sip_stack_respond(s, tx, code, reason, &ro);
	if (rc != 0)
		jn_debug(NULL, "cannot answer %u: %s", code, strerror(rc));
}

/* --- registrar ------------------------------------------------------------- */

static bool ha1_lookup(void *user, const char *username, sip_auth_alg alg, char ha1[SIP_AUTH_HEX_MAX])
{
	sip_stack *s = user;
	user_cred *c = g_hash_table_lookup(s->users, username);
	if (alg == SIP_AUTH_ALG_MD5_SESS)
		alg = SIP_AUTH_ALG_MD5;
	else if (alg == SIP_AUTH_ALG_SHA256_SESS)
		alg = SIP_AUTH_ALG_SHA256;
	if (!c || !c->ha1[alg][0])
		return false;
	memcpy(ha1, c->ha1[alg], SIP_AUTH_HEX_MAX);
	return true;
}

static void challenge(sip_stack *s, sip_tx *tx, bool stale)
{
	GString *ex = g_string_new(NULL);
	char buf[1024];
	size_t len;
	unsigned n = sip_auth_server_challenge_count(s->auth);
	for (unsigned i = 0; i < n; i++) {
		if (sip_auth_server_challenge(s->auth, i, stale, now_s(), buf, sizeof buf, &len) == 0)
			g_string_append_printf(ex, "WWW-Authenticate: %.*s\r\n", (int)len, buf);
	}
	s->st.registers_challenged++;
	respond_simple(s, tx, 401, NULL, ex->str);
	g_string_free(ex, TRUE);
}

static void handle_register(sip_stack *s, sip_tx *tx, const sip_msg *m, const sip_peer *from)
{
	const sip_hdr *auth = sip_msg_hdr(m, SIP_HDR_AUTHORIZATION, NULL);
	if (!auth) {
		challenge(s, tx, false);
		return;
	}
	sip_auth_info info;
	sip_auth_result r = sip_auth_server_verify(s->auth, auth->value.p, auth->value.l, "REGISTER",
						   m->ruri_pl.p, m->ruri_pl.l, ha1_lookup, s, now_s(), &info);
	switch (r) {
	case SIP_AUTH_OK:
		break;
	case SIP_AUTH_MALFORMED:
		s->st.registers_rejected++;
		respond_simple(s, tx, 400, "Malformed Authorization header", NULL);
		return;
	case SIP_AUTH_WRONG_PASSWORD:
	case SIP_AUTH_UNKNOWN_USER:
		s->st.registers_rejected++;
		jn_info(NULL, "REGISTER from %.*s: bad credentials (%s)", (int)m->from.uri_pl.l, m->from.uri_pl.p,
			sip_auth_result_name(r));
		respond_simple(s, tx, 403, "Bad credentials", NULL);
		return;
	case SIP_AUTH_NO_CREDENTIALS:
	default:
		challenge(s, tx, sip_auth_result_stale(r));
		return;
	}
	/* The credential's user must be the one whose bindings change. */
	char to_user[256];
	sip_pl_strcpy(m->to.uri.user, to_user, sizeof to_user);
	if (strcmp(to_user, info.username) != 0) {
		s->st.registers_rejected++;
		respond_simple(s, tx, 403, "Authenticated user does not match To", NULL);
		return;
	}

	sip_reg_contact cs[SIP_MSG_MAX_ADDRS];
	size_t n = 0;
	bool star = false;
	for (size_t i = 0; i < m->n_contact && n < G_N_ELEMENTS(cs); i++) {
		const sip_contact *c = &m->contact[i];
		if (c->star) {
			star = true;
			continue;
		}
		cs[n].uri = c->addr.uri_pl;
		cs[n].expires = c->expires;
		cs[n].q = c->q;
		cs[n].instance = c->instance;
		cs[n].reg_id = c->reg_id;
		n++;
	}
	char source[96], ab[80];
	snprintf(source, sizeof source, "%s %s", sip_tp_name(from->tp->kind), jn_addr_str(&from->remote, ab, sizeof ab));
	char *ua = NULL;
	const sip_hdr *uah = sip_msg_hdr(m, SIP_HDR_USER_AGENT, NULL);
	if (uah)
		ua = sip_pl_strdup(uah->value);
	sip_reg_request rq = {
		.call_id = m->call_id, .cseq = m->cseq.num, .expires = m->expires, .star = star,
		.contacts = cs, .n_contacts = n, .flow = from->flow, .source = source, .user_agent = ua,
	};
	sip_reg_outcome out;
	int rc = sip_reg_apply(s->reg, info.username, &rq, now_s(), &out);
	g_free(ua);
	if (rc == 0) {
		GString *ex = g_string_new(NULL);
		GString *ct = g_string_new(NULL);
		sip_reg_contact_header(s->reg, info.username, now_s(), ct);
		if (ct->len)
			g_string_append_printf(ex, "Contact: %s\r\n", ct->str);
		s->st.registers_ok++;
		jn_debug(NULL, "REGISTER %s: +%u ~%u -%u over %s", info.username, out.added, out.refreshed,
			 out.removed, source);
		respond_simple(s, tx, 200, NULL, ex->str);
		g_string_free(ct, TRUE);
		g_string_free(ex, TRUE);
		if (s->registered_fn)
			s->registered_fn(s->registered_user, s, info.username);
		return;
	}
	s->st.registers_rejected++;
	if (rc == ERANGE) {
		char ex[64];
		snprintf(ex, sizeof ex, "Min-Expires: %u\r\n", out.min_expires);
		respond_simple(s, tx, 423, NULL, ex);
	} else if (rc == EINVAL) {
		respond_simple(s, tx, 400, out.reason ? out.reason : "Bad Contact", NULL);
	} else if (rc == EALREADY) {
		respond_simple(s, tx, 500, out.reason ? out.reason : "Out of order CSeq", "Retry-After: 1\r\n");
	} else {
		respond_simple(s, tx, 403, out.reason ? out.reason : "Too many registrations", NULL);
	}
}

static gboolean expire_tick(gpointer p)
{
	sip_stack *s = p;
	sip_reg_expire(s->reg, now_s(), NULL, NULL);
	return G_SOURCE_CONTINUE;
}

static void reg_flow_ref(void *f) { sip_flow_ref(f); }
static void reg_flow_unref(void *f) { sip_flow_unref(f); }

static void on_flow_closed(void *user, sip_flow *flow)
{
	sip_stack *s = user;
	size_t n = sip_reg_flow_closed(s->reg, flow, NULL, NULL);
	if (n)
		jn_debug(NULL, "flow %" G_GUINT64_FORMAT " closed: %zu bindings removed", sip_flow_id(flow), n);
	/* Requests waiting on it get their 503 now, not after Timer B/F. */
	unsigned f = sip_tx_layer_flow_closed(s->txl, flow);
	if (f)
		jn_debug(NULL, "flow %" G_GUINT64_FORMAT " closed: %u transactions failed", sip_flow_id(flow), f);
	if (s->flow_closed_fn)
		s->flow_closed_fn(s->flow_closed_user, flow);
}

/* --- requests ---------------------------------------------------------------- */

/* Methods only meaningful inside a dialog: a dialog handler gets them,
 * outside a dialog they meet 481 (like BYE). */
static bool dialog_method(sip_method m)
{
	return m == SIP_METHOD_UPDATE || m == SIP_METHOD_INFO || m == SIP_METHOD_REFER || m == SIP_METHOD_NOTIFY;
}

static bool method_allowed(const sip_stack *s, sip_method m)
{
	switch (m) {
	case SIP_METHOD_INVITE:
	case SIP_METHOD_ACK:
	case SIP_METHOD_CANCEL:
	case SIP_METHOD_BYE:
	case SIP_METHOD_OPTIONS:
	case SIP_METHOD_REGISTER:
		return true;
	case SIP_METHOD_MESSAGE:
		return s->message_fn != NULL;
	default:
		return s->dialog_fn != NULL && dialog_method(m);
	}
}

const char *sip_stack_allow(const sip_stack *s)
{
	/* Four fixed strings rather than a buffer: callers keep the pointer. */
	if (s->dialog_fn)
		return s->message_fn ? ALLOW ALLOW_DIALOG ", MESSAGE" : ALLOW ALLOW_DIALOG;
	return s->message_fn ? ALLOW ", MESSAGE" : ALLOW;
}

const char *sip_stack_supported(const sip_stack *s)
{
	(void)s;
	return SUPPORTED;
}

/* Require / Proxy-Require tokens we do not support (§8.2.2.3): comma list in out. */
static bool unsupported_requires(const sip_msg *m, GString *out)
{
	sip_hdr_iter it;
	sip_pl v;
	sip_hdr_iter_init(&it, m, SIP_HDR_REQUIRE, NULL, true);
	while (sip_hdr_iter_next(&it, &v)) {
		v = sip_pl_trim(v);
		if (sip_pl_casecmp(v, "outbound") || sip_pl_casecmp(v, "path") || sip_pl_casecmp(v, "replaces") ||
		    sip_pl_casecmp(v, "timer"))
			continue;
		if (out->len)
			g_string_append(out, ", ");
		g_string_append_len(out, v.p, (gssize)v.l);
	}
	return out->len > 0;
}

static void handle_cancel(sip_stack *s, sip_tx *tx, const sip_msg *m, const sip_peer *from)
{
	char *key = server_key(m, SIP_METHOD_INVITE);
	sip_tx *inv = sip_tx_server_find(s->txl, key);
	g_free(key);
	if (!inv) {
		respond_simple(s, tx, 481, NULL, NULL);
		return;
	}
	/* §9.2: a matched CANCEL gets 200 even when the INVITE already has
	 * its final answer; then it changes nothing. */
	respond_simple(s, tx, 200, NULL, NULL);
	if (sip_tx_last_status(inv) >= 200)
		return;
	srv_data *d = sip_tx_get_data(inv);
	if (s->cancel_fn) {
		s->cancel_fn(s->cancel_user, s, inv, d->req, from);
	} else {
		respond_simple(s, inv, 487, NULL, NULL);
	}
}

static void handle_request(sip_stack *s, sip_msg *m, const sip_peer *from)
{
	s->st.rx_requests++;
	if (m->n_via == 0)
		return; /* the parser rejects these; be safe */

	if (m->method == SIP_METHOD_ACK) {
		char *key = server_key(m, SIP_METHOD_INVITE);
		sip_tx *inv = sip_tx_server_find(s->txl, key);
		g_free(key);
		if (inv && sip_tx_server_receive(inv, true)) {
			s->st.absorbed++;
			return;
		}
		/* An ACK for a 2xx stops that 2xx's retransmissions, then goes
		 * to the dialog: the core's. */
		char *ak = ack_key(m);
		sip_tx *acc = g_hash_table_lookup(s->accepted, ak);
		g_free(ak);
		if (acc)
			sip_tx_server_acked(acc);
		if (s->dialog_fn && sip_pl_isset(m->to.tag))
			s->dialog_fn(s->dialog_user, s, NULL, m, from);
		return;
	}

	char *key = server_key(m, m->method);
	sip_tx *tx = sip_tx_server_find(s->txl, key);
	if (tx) {
		g_free(key);
		sip_tx_server_receive(tx, false);
		s->st.absorbed++;
		return;
	}
	sip_tx_dest dest;
	response_dest(m, from, &dest);
	tx = sip_tx_server_new(s->txl, key, m->method == SIP_METHOD_INVITE, &dest, tx_event, s);
	g_free(key);
	if (!tx)
		return;
	srv_data *d = g_new0(srv_data, 1);
	d->req = sip_msg_ref(m);
	d->src = from->remote;
	d->rport = m->via[0].rport;
	sip_tx_set_data(tx, d, srv_data_free);

	/* §8.2: method, then Max-Forwards, then extensions, then the request. */
	char allow[160];
	g_snprintf(allow, sizeof allow, "Allow: %s\r\n", sip_stack_allow(s));
	if (m->method == SIP_METHOD_UNKNOWN) {
		respond_simple(s, tx, 501, NULL, allow);
		return;
	}
	if (!method_allowed(s, m->method)) {
		respond_simple(s, tx, 405, NULL, allow);
		return;
	}
	if (m->max_forwards == 0) {
		respond_simple(s, tx, 483, NULL, NULL);
		return;
	}
	if (m->method != SIP_METHOD_CANCEL) {
		GString *un = g_string_new(NULL);
		if (unsupported_requires(m, un)) {
			char *ex = g_strdup_printf("Unsupported: %s\r\n", un->str);
			respond_simple(s, tx, 420, NULL, ex);
			g_free(ex);
			g_string_free(un, TRUE);
			return;
		}
		g_string_free(un, TRUE);
	}
	if (m->method == SIP_METHOD_CANCEL) {
		handle_cancel(s, tx, m, from);
		return;
	}
	if (m->method == SIP_METHOD_INVITE)
		respond_simple(s, tx, 100, NULL, NULL); /* stop INVITE retransmissions now */
	if (sip_pl_isset(m->to.tag) && m->method != SIP_METHOD_OPTIONS) {
		/* In-dialog: the dialogs live in the core. */
		if (s->dialog_fn)
			s->dialog_fn(s->dialog_user, s, tx, m, from);
		else
			respond_simple(s, tx, 481, NULL, NULL);
		return;
	}
	switch (m->method) {
	case SIP_METHOD_OPTIONS: {
		char hdrs[256];
		g_snprintf(hdrs, sizeof hdrs, "%sAccept: " ACCEPT "\r\nSupported: " SUPPORTED "\r\n", allow);
		respond_simple(s, tx, 200, NULL, hdrs);
		return;
	}
	case SIP_METHOD_REGISTER:
		handle_register(s, tx, m, from);
		return;
	case SIP_METHOD_MESSAGE:
		s->message_fn(s->message_user, s, tx, m, from); /* set: else 405 above */
		return;
	case SIP_METHOD_INVITE:
		if (s->invite_fn)
			s->invite_fn(s->invite_user, s, tx, m, from);
		else
			respond_simple(s, tx, 480, "No call handler", NULL);
		return;
	default:
		/* BYE outside any dialog, and the like. */
		respond_simple(s, tx, 481, NULL, NULL);
		return;
	}
}

static void handle_response(sip_stack *s, sip_msg *m)
{
	s->st.rx_responses++;
	if (m->n_via == 0 || !sip_pl_isset(m->via[0].branch)) {
		s->st.bad_responses++;
		return;
	}
	char *key = client_key(m->via[0].branch, m->cseq.method, m->cseq.method_pl);
	sip_tx *tx = sip_tx_client_find(s->txl, key);
	g_free(key);
	if (!tx) {
		s->st.stray_responses++;
		return;
	}
	if (sip_tx_client_receive(tx, m->status, m->buf, m->len))
		s->st.absorbed++;
}

/* Answers a request the parser rejected (§8.2.6 needs Via, From, To,
 * Call-ID, CSeq to be present; else it is dropped). */
static void answer_parse_error(sip_stack *s, const sip_peer *from, const sip_parse_err *pe)
{
	char tag[17];
	sip_build_token(tag, 16);
	sip_buf_reset(&s->out);
	if (sip_build_error_response(&s->out, pe, tag) != 0 || s->out.err)
		return;
	/* No transaction: the peer retransmits and gets the same answer. */
	jn_addr to = from->remote;
	if (sip_transport_send(from->tp, from->flow, &to, s->out.p, s->out.len) != 0)
		s->st.send_errors++;
}

static void on_recv(void *user, const sip_peer *from, const char *data, size_t len)
{
	sip_stack *s = user;
	sip_msg *m = NULL;
	sip_parse_err pe;
	memset(&pe, 0, sizeof pe);
	int rc = sip_msg_parse(data, len, &m, &pe);
	if (rc != 0) {
		char ab[80];
		if (pe.is_request && pe.status) {
			s->st.bad_requests++;
			jn_debug(NULL, "bad request from %s %s: %u %s", sip_tp_name(from->tp->kind),
				 jn_addr_str(&from->remote, ab, sizeof ab), pe.status, pe.reason);
			answer_parse_error(s, from, &pe);
		} else {
			if (!pe.is_request)
				s->st.bad_responses++;
			jn_debug(NULL, "dropped unparsable message from %s: %s", jn_addr_str(&from->remote, ab, sizeof ab),
				 pe.reason[0] ? pe.reason : strerror(rc));
		}
		return;
	}
	if (m->is_request)
		handle_request(s, m, from);
	else
		handle_response(s, m);
	sip_msg_unref(m);
}

void sip_stack_receive(sip_stack *s, const sip_peer *from, const char *data, size_t len)
{
	on_recv(s, from, data, len);
}

/* --- client requests ------------------------------------------------------- */

/* ACK for a non-2xx (§17.1.1.3) and CANCEL (§9.1) are built the same way
 * from the INVITE: its Request-URI, top Via, From, Call-ID, CSeq number and
 * Route set; only the method and the To (the response's, with its tag, for
 * the ACK) differ. */
static void build_from_invite(sip_buf *b, const sip_msg *inv, const char *method, sip_pl to)
{
	sip_buf_init(b, 0);
	sip_buf_puts(b, method);
	sip_buf_puts(b, " ");
	sip_buf_put_pl(b, inv->ruri_pl);
	sip_buf_puts(b, " SIP/2.0\r\n");
	sip_buf_hdr(b, "Via", inv->via[0].value);
	sip_buf_puts(b, "Max-Forwards: 70\r\n");
	sip_buf_hdr(b, "From", inv->from.value);
	sip_buf_hdr(b, "To", to);
	sip_buf_hdr(b, "Call-ID", inv->call_id);
	sip_buf_puts(b, "CSeq: ");
	sip_buf_put_u32(b, inv->cseq.num);
	sip_buf_puts(b, " ");
	sip_buf_puts(b, method);
	sip_buf_puts(b, "\r\n");
	for (size_t i = 0; i < inv->n_route; i++)
		sip_buf_hdr(b, "Route", inv->route[i].value);
	sip_buf_puts(b, "Content-Length: 0\r\n\r\n");
}

/* The ACK for a non-2xx (§17.1.1.3); To from the response. */
static int make_ack(void *user, const char *req, size_t req_len, const char *resp, size_t resp_len, GByteArray *out)
{
	(void)user;
	sip_msg *rq = NULL, *rs = NULL;
	int rc = sip_msg_parse(req, req_len, &rq, NULL);
	if (rc == 0)
		rc = sip_msg_parse(resp, resp_len, &rs, NULL);
	if (rc == 0 && rq->n_via == 0)
		rc = EINVAL;
	if (rc == 0) {
		sip_buf b;
		build_from_invite(&b, rq, "ACK", rs->to.value);
		if (b.err == 0)
			g_byte_array_append(out, (const guint8 *)b.p, (guint)b.len);
		rc = b.err;
		sip_buf_free(&b);
	}
	sip_msg_unref(rq);
	sip_msg_unref(rs);
	return rc;
}

/* Fills in the Via of req for transport tp (or flow) and builds it into
 * s->out. 0 or errno; branch gets the branch used. */
static int build_request(sip_stack *s, sip_transport *tp, sip_flow *flow, sip_req_opts *req,
			 char branch[SIP_BRANCH_LEN + 1])
{
	char host[INET6_ADDRSTRLEN + 2], ip[INET6_ADDRSTRLEN];
	const jn_addr *local = flow ? sip_flow_local(flow) : &tp->local;
	addr_ip(local, ip, sizeof ip);
	if (local->ss.ss_family == AF_INET6)
		snprintf(host, sizeof host, "[%s]", ip);
	else
		snprintf(host, sizeof host, "%s", ip);
	req->via_transport = sip_tp_name(tp->kind);
	req->via_host = host;
	req->via_port = jn_addr_port(local);
	req->branch = NULL;
	req->rport = true;
	sip_buf_reset(&s->out);
	int rc = sip_build_request(&s->out, req, branch);
	return rc ? rc : s->out.err;
}

static sip_transport *pick_transport(sip_stack *s, sip_tp_kind kind, sip_flow *flow)
{
	return flow && sip_flow_transport(flow) ? sip_flow_transport(flow) : sip_stack_transport(s, kind);
}

int sip_stack_send_request(sip_stack *s, sip_tp_kind kind, sip_flow *flow, const jn_addr *to,
			   sip_req_opts *req, sip_tx_response_fn cb, void *user, sip_tx **txp)
{
	sip_transport *tp = pick_transport(s, kind, flow);
	if (txp)
		*txp = NULL;
	if (!tp)
		return ENOTCONN;
	char branch[SIP_BRANCH_LEN + 1];
	int rc = build_request(s, tp, flow, req, branch);
	if (rc != 0)
		return rc;
	sip_method cm = req->cseq_method != SIP_METHOD_UNKNOWN ? req->cseq_method : req->method;
	char *key = client_key(sip_pl_cstr(branch), cm, sip_pl_cstr(req->method_name));
	sip_tx_dest d = { .tp = tp, .flow = flow, .addr = *to };
	sip_tx *tx = sip_tx_client_new(s->txl, key, cm == SIP_METHOD_INVITE, &d, s->out.p, s->out.len, cb, user);
	g_free(key);
	if (txp)
		*txp = tx;
	return tx ? 0 : ECONNREFUSED;
}

int sip_stack_send_stateless(sip_stack *s, sip_tp_kind kind, sip_flow *flow, const jn_addr *to,
			     sip_req_opts *req)
{
	sip_transport *tp = pick_transport(s, kind, flow);
	if (!tp)
		return ENOTCONN;
	char branch[SIP_BRANCH_LEN + 1];
	int rc = build_request(s, tp, flow, req, branch);
	if (rc != 0)
		return rc;
	return sip_transport_send(tp, flow && sip_flow_conn(flow) ? flow : NULL, to, s->out.p, s->out.len);
}

int sip_stack_cancel(sip_stack *s, sip_tx *invite, sip_tx_response_fn cb, void *user)
{
	if (!sip_tx_is_client(invite) || !sip_tx_is_invite(invite) ||
	    (sip_tx_get_state(invite) != SIP_TX_CALLING && sip_tx_get_state(invite) != SIP_TX_PROCEEDING))
		return EINVAL;
	size_t len;
	const char *raw = sip_tx_request(invite, &len);
	sip_msg *rq = NULL;
	int rc = sip_msg_parse(raw, len, &rq, NULL);
	if (rc != 0)
		return rc;
	sip_buf b;
	build_from_invite(&b, rq, "CANCEL", rq->to.value);
	rc = b.err;
	if (rc == 0) {
		char *key = client_key(rq->via[0].branch, SIP_METHOD_CANCEL, SIP_PL("CANCEL"));
		sip_tx *tx = sip_tx_client_new(s->txl, key, false, sip_tx_get_dest(invite), b.p, b.len, cb, user);
		g_free(key);
		rc = tx ? 0 : ECONNREFUSED;
	}
	sip_buf_free(&b);
	sip_msg_unref(rq);
	return rc;
}

/* --- lifecycle --------------------------------------------------------------- */

static int add_user(sip_stack *s, const sip_stack_user *u, char **err)
{
	user_cred *c = g_new0(user_cred, 1);
	if (u->ha1_md5 && *u->ha1_md5)
		g_strlcpy(c->ha1[SIP_AUTH_ALG_MD5], u->ha1_md5, SIP_AUTH_HEX_MAX);
	else if (u->password && *u->password)
		sip_auth_ha1(SIP_AUTH_ALG_MD5, u->name, s->realm, u->password, c->ha1[SIP_AUTH_ALG_MD5]);
	if (u->ha1_sha256 && *u->ha1_sha256)
		g_strlcpy(c->ha1[SIP_AUTH_ALG_SHA256], u->ha1_sha256, SIP_AUTH_HEX_MAX);
	else if (u->password && *u->password)
		sip_auth_ha1(SIP_AUTH_ALG_SHA256, u->name, s->realm, u->password, c->ha1[SIP_AUTH_ALG_SHA256]);
	if (!c->ha1[SIP_AUTH_ALG_MD5][0] && !c->ha1[SIP_AUTH_ALG_SHA256][0]) {
		/* A user with no credential could never register: not an error
		 * here (the core may use it for calls only), just not a login. */
		jn_debug(NULL, "user %s has no password or HA1: cannot register", u->name);
	}
	g_hash_table_replace(s->users, g_strdup(u->name), c);
	(void)err;
	return 0;
}

sip_stack *sip_stack_new(const sip_stack_opts *o, char **err)
{
	sip_stack *s = g_new0(sip_stack, 1);
	s->o = *o;
	s->domain = g_strdup(o->domain ? o->domain : "127.0.0.1");
	s->realm = g_strdup(o->realm && *o->realm ? o->realm : s->domain);
	s->user_agent = g_strdup(o->user_agent && *o->user_agent ? o->user_agent : "Junction");
	s->server_hdr = g_strdup_printf("Server: %s\r\n", s->user_agent);
	sip_buf_init(&s->out, 0);

	sip_tx_opts to = { .clock = o->clock, .t1 = o->t1, .t2 = o->t2, .t4 = o->t4, .make_ack = make_ack,
			   .user = s };
	s->txl = sip_tx_layer_new(&to);

	unsigned algs = 0;
	if (o->auth_algorithms) {
		for (size_t i = 0; o->auth_algorithms[i]; i++) {
			sip_auth_alg a;
			if (sip_auth_alg_parse(o->auth_algorithms[i], strlen(o->auth_algorithms[i]), &a))
				algs |= SIP_AUTH_ALG_BIT(a);
		}
	}
	sip_auth_server_opts ao = { .realm = s->realm, .nonce_lifetime_s = o->nonce_lifetime_s, .algs = algs };
	s->auth = sip_auth_server_new(&ao);
	if (!s->auth) {
		*err = g_strdup("SIP digest authentication: bad realm or algorithms");
		goto fail;
	}
	sip_reg_opts ro = {
		.default_expires = o->default_expires, .min_expires = o->min_expires,
		.max_expires = o->max_expires, .flow_ref = reg_flow_ref, .flow_unref = reg_flow_unref,
	};
	s->reg = sip_reg_new(&ro);
	s->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (size_t i = 0; i < o->n_users; i++)
		if (add_user(s, &o->users[i], err) != 0)
			goto fail;

	sip_tp_opts tpo = {
		.recv = on_recv, .closed = on_flow_closed, .user = s, .max_message = o->max_message,
		.max_connections = o->max_connections, .idle_timeout_s = o->tcp_idle_timeout_s,
	};
	if (o->udp_listen && *o->udp_listen) {
		tpo.listen = o->udp_listen;
		if (!(s->tp[SIP_TP_UDP] = sip_udp_new(&tpo, err)))
			goto fail;
	}
	if (o->tcp_listen && *o->tcp_listen) {
		tpo.listen = o->tcp_listen;
		if (!(s->tp[SIP_TP_TCP] = sip_tcp_new(&tpo, err)))
			goto fail;
	}
	if (o->tls_listen && *o->tls_listen) {
		tpo.listen = o->tls_listen;
		if (!(s->tp[SIP_TP_TLS] = sip_tls_new(&tpo, o->tls_certificate, o->tls_private_key, err)))
			goto fail;
	}
	if (o->ws) {
		tpo.listen = o->ws_listen;
		s->tp[SIP_TP_WS] = sip_ws_new(&tpo);
		s->tp[SIP_TP_WSS] = sip_ws_secure(s->tp[SIP_TP_WS]);
	}
	s->expire_timer = g_timeout_add_seconds(5, expire_tick, s);
	s->accepted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s->outregs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sip_outreg_free);
	for (size_t i = 0; i < o->n_trunks; i++)
		g_hash_table_replace(s->outregs, g_strdup(o->trunks[i].name), sip_outreg_new(s, &o->trunks[i]));
	s->pings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sip_optping_free);
	for (size_t i = 0; i < o->n_pings; i++)
		g_hash_table_replace(s->pings, g_strdup(o->pings[i].name), sip_optping_new(s, &o->pings[i]));
	return s;
fail:
	sip_stack_free(s);
	return NULL;
}

void sip_stack_free(sip_stack *s)
{
	if (!s)
		return;
	if (s->expire_timer)
		g_source_remove(s->expire_timer);
	if (s->outregs)
		g_hash_table_unref(s->outregs); /* before the transactions they wait on */
	if (s->pings)
		g_hash_table_unref(s->pings);
	/* Transactions first (they hold flows and send on transports). */
	sip_tx_layer_free(s->txl);
	if (s->accepted)
		g_hash_table_unref(s->accepted);
	for (int k = 0; k < SIP_TP_COUNT; k++) {
		if (s->tp[k])
			s->tp[k]->closed = NULL;
	}
	sip_reg_free(s->reg);
	/* Backwards: the WSS face lives inside the WS transport. */
	for (int k = SIP_TP_COUNT - 1; k >= 0; k--)
		sip_transport_free(s->tp[k]);
	sip_auth_server_free(s->auth);
	if (s->users)
		g_hash_table_unref(s->users);
	sip_buf_free(&s->out);
	g_free(s->domain);
	g_free(s->realm);
	g_free(s->user_agent);
	g_free(s->server_hdr);
	g_free(s);
}

void sip_stack_on_invite(sip_stack *s, sip_stack_request_fn fn, void *user)
{
	s->invite_fn = fn;
	s->invite_user = user;
}

void sip_stack_on_dialog_request(sip_stack *s, sip_stack_request_fn fn, void *user)
{
	s->dialog_fn = fn;
	s->dialog_user = user;
}

void sip_stack_on_cancel(sip_stack *s, sip_stack_request_fn fn, void *user)
{
	s->cancel_fn = fn;
	s->cancel_user = user;
}

struct lws_protocols sip_stack_ws_protocol(sip_stack *s)
{
	return sip_ws_protocol(s->tp[SIP_TP_WS]);
}

sip_outreg *sip_stack_outreg(sip_stack *s, const char *name)
{
	return g_hash_table_lookup(s->outregs, name);
}

sip_optping *sip_stack_optping(sip_stack *s, const char *name)
{
	return g_hash_table_lookup(s->pings, name);
}

sip_reg *sip_stack_registrar(sip_stack *s)
{
	return s->reg;
}

sip_transport *sip_stack_transport(sip_stack *s, sip_tp_kind kind)
{
	return kind < SIP_TP_COUNT ? s->tp[kind] : NULL;
}

void sip_stack_get_stats(const sip_stack *s, sip_stack_stats *out)
{
	*out = s->st;
	out->transactions = sip_tx_layer_count(s->txl);
}

/* --- INVITE authentication (for the call layer) ---------------------------- */

int sip_stack_authenticate(sip_stack *s, sip_tx *tx, const sip_msg *req, char *user, size_t cap)
{
	sip_hdr_iter it;
	sip_pl v = { 0 };
	sip_hdr_iter_init(&it, req, SIP_HDR_PROXY_AUTHORIZATION, NULL, false);
	bool have = sip_hdr_iter_next(&it, &v);
	sip_auth_info info;
	sip_auth_result r = SIP_AUTH_NO_CREDENTIALS;
	if (have)
		r = sip_auth_server_verify(s->auth, v.p, v.l, sip_method_name(req->method), req->ruri_pl.p,
					   req->ruri_pl.l, ha1_lookup, s, now_s(), &info);
	switch (r) {
	case SIP_AUTH_OK:
		if (strlen(info.username) >= cap)
			break;
		memcpy(user, info.username, strlen(info.username) + 1);
		return 0;
	case SIP_AUTH_MALFORMED:
		respond_simple(s, tx, 400, "Malformed Proxy-Authorization header", NULL);
		return EACCES;
	case SIP_AUTH_WRONG_PASSWORD:
	case SIP_AUTH_UNKNOWN_USER:
		jn_info(NULL, "%s from %.*s: bad credentials (%s)", sip_method_name(req->method),
			(int)req->from.uri_pl.l, req->from.uri_pl.p, sip_auth_result_name(r));
		respond_simple(s, tx, 403, "Bad credentials", NULL);
		return EACCES;
	default: {
		GString *ex = g_string_new(NULL);
		if (sip_auth_server_challenge_headers(s->auth, true, sip_auth_result_stale(r), now_s(), ex) == 0)
			respond_simple(s, tx, 407, NULL, ex->str);
		else
			respond_simple(s, tx, 500, "Cannot make a challenge", NULL);
		g_string_free(ex, TRUE);
		return EACCES;
	}
	}
	respond_simple(s, tx, 403, "User name too long", NULL);
	return EACCES;
}

/* --- MESSAGE and registration hooks (for server/message.c) ------------------ */

void sip_stack_on_message(sip_stack *s, sip_stack_request_fn fn, void *user)
{
	s->message_fn = fn;
	s->message_user = user;
}

void sip_stack_on_registered(sip_stack *s, sip_stack_registered_fn fn, void *user)
{
	s->registered_fn = fn;
	s->registered_user = user;
}

void sip_stack_on_flow_closed(sip_stack *s, void (*fn)(void *user, sip_flow *flow), void *user)
{
	s->flow_closed_fn = fn;
	s->flow_closed_user = user;
}

/* --- answering challenges (client side) ------------------------------------ */

char *sip_stack_auth_line(const sip_msg *resp, bool proxy, const sip_auth_client_opts *o)
{
	sip_auth_hdr ch[8];
	size_t n = 0;
	sip_hdr_iter it;
	sip_pl v;
	sip_hdr_iter_init(&it, resp, proxy ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE, NULL, false);
	while (n < G_N_ELEMENTS(ch) && sip_hdr_iter_next(&it, &v))
		if (sip_auth_parse(v.p, v.l, &ch[n]) == 0)
			n++;
	int i = sip_auth_client_choose(ch, n);
	if (i < 0)
		return NULL;
	char buf[2048];
	size_t len;
	if (sip_auth_client_answer(&ch[i], o, buf, sizeof buf, &len) != 0)
		return NULL;
	return g_strdup_printf("%s: %.*s\r\n", proxy ? "Proxy-Authorization" : "Authorization", (int)len, buf);
}
