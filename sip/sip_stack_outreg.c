#include "sip/sip_stack_outreg.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sip/sip_auth.h"
#include "sip/sip_resolve.h"
#include "sip/sip_stack.h"
#include "sip/sip_tcp.h"

#define JN_LOG_TAG "sip"
#include "util/log.h"

#define RETRY_MIN_S 30
#define RETRY_MAX_S 600
#define RESOLVE_TIMEOUT_S 10

/* --- trunk hosts that are names (RFC 3263 through sip_resolve) ------------ */

/* Starts resolving a trunk's host for its configured transport. port 0
 * means SRV first; an explicit port means A/AAAA only. */
static sip_resolve_query *trunk_resolve(const char *host, uint16_t port, sip_tp_kind kind,
					sip_resolve_fn fn, void *user)
{
	sip_resolve_opts ro = { .host = host, .port = port, .has_transport = true,
				.transport = kind, .sips = kind == SIP_TP_TLS,
				.timeout_s = RESOLVE_TIMEOUT_S };
	return sip_resolve_start(&ro, fn, user);
}

/* Picks the target to use after `skip` failures: only those our transport
 * can reach (same transport, same address family as its socket), in the
 * resolver's failover order, wrapping around. False if none fits. */
static bool trunk_pick(sip_stack *s, sip_tp_kind kind, const sip_resolve_target *t, size_t n,
		       unsigned skip, jn_addr *out)
{
	sip_transport *tp = sip_stack_transport(s, kind);
	size_t fit[SIP_RESOLVE_MAX_TARGETS], nf = 0;
	for (size_t i = 0; tp && i < n && nf < G_N_ELEMENTS(fit); i++)
		if (t[i].transport == kind && t[i].addr.ss.ss_family == tp->local.ss.ss_family)
			fit[nf++] = i;
	if (nf == 0)
		return false;
	*out = t[fit[skip % nf]].addr;
	return true;
}

/* Over TLS the transport learns which name the trunk's certificate must
 * carry before it connects (the configured host, also when SRV picked the
 * address: RFC 5922 §4). 0 or errno. */
static int trunk_tls_peer(sip_stack *s, sip_tp_kind kind, const jn_addr *to, const char *host,
			  bool no_verify, const char *ca_file, const char *name)
{
	if (kind != SIP_TP_TLS)
		return 0;
	return sip_tls_set_peer(sip_stack_transport(s, kind), to, host, !no_verify, ca_file, name);
}

static const char *resolve_error(int err)
{
	return err == ENOENT ? "no address for that name" : err == ETIMEDOUT ? "DNS timed out" : strerror(err);
}

struct sip_outreg {
	sip_stack *s;
	sip_outreg_opts o;
	char *name, *host, *username, *password, *domain;
	jn_addr to;
	bool addr_ok;
	bool by_name;         /* host is a name: resolve each round */
	sip_resolve_query *rq;
	unsigned fails;       /* consecutive failed rounds: picks the failover target */
	char *aor, *from, *to_hdr, *call_id, *contact_uri, *contact;
	uint32_t cseq;
	unsigned asked, granted, retry_s;
	sip_outreg_state state;
	int last_status;
	bool answered;        /* this REGISTER already carries credentials */
	char *auth_line;      /* "Authorization: ...\r\n" for the resend */
	sip_tx *tx;
	guint timer;
};

static const char *const state_names[] = { "registering", "registered", "failed" };

const char *sip_outreg_state_name(sip_outreg_state st)
{
	return st <= SIP_OUTREG_FAILED ? state_names[st] : "?";
}

static void send_register(sip_outreg *r);

static void set_state(sip_outreg *r, sip_outreg_state st, int status)
{
	bool changed = r->state != st;
	r->state = st;
	r->last_status = status;
	if (changed)
		jn_info(NULL, "trunk %s: %s (%d)", r->name, sip_outreg_state_name(st), status);
	if (r->o.on_state)
		r->o.on_state(r->o.user, r, st, status);
}

static gboolean round_start(gpointer p);

static void schedule(sip_outreg *r, unsigned secs)
{
	if (r->timer)
		g_source_remove(r->timer);
	r->timer = g_timeout_add_seconds(secs ? secs : 1, round_start, r);
}

static void fail(sip_outreg *r, int status)
{
	r->fails++;
	set_state(r, SIP_OUTREG_FAILED, status);
	r->retry_s = r->retry_s ? MIN(r->retry_s * 2, RETRY_MAX_S) : RETRY_MIN_S;
	schedule(r, r->retry_s);
}

/* Picks the challenge we can answer among every WWW-/Proxy-Authenticate. */
static bool answer_challenge(sip_outreg *r, const sip_msg *m, bool proxy)
{
	char uri[300];
	snprintf(uri, sizeof uri, "sip:%s", r->domain);
	sip_auth_client_opts ao = { .username = r->username, .password = r->password,
				    .method = "REGISTER", .uri = uri };
	char *line = sip_stack_auth_line(m, proxy, &ao);
	if (!line)
		return false;
	g_free(r->auth_line);
	r->auth_line = line;
	return true;
}

/* Seconds the registrar granted: our Contact's expires, else Expires. */
static unsigned granted_expiry(sip_outreg *r, const sip_msg *m)
{
	for (size_t i = 0; i < m->n_contact; i++) {
		const sip_contact *c = &m->contact[i];
		if (c->expires >= 0 && sip_pl_eq_str(c->addr.uri_pl, r->contact_uri))
			return (unsigned)c->expires;
	}
	if (m->expires >= 0)
		return (unsigned)m->expires;
	return r->asked;
}

static void on_response(void *user, sip_tx *tx, int status, const char *data, size_t len)
{
	sip_outreg *r = user;
	if (status < 200)
		return;
	sip_tx_detach(tx);
	r->tx = NULL;
	sip_msg *m = NULL;
	if (data && sip_msg_parse(data, len, &m, NULL) != 0)
		m = NULL;
	if ((status == 401 || status == 407) && m && !r->answered && answer_challenge(r, m, status == 407)) {
		r->answered = true;
		sip_msg_unref(m);
		send_register(r);
		return;
	}
	if (status == 423 && m) {
		const sip_hdr *h = sip_msg_hdr(m, SIP_HDR_MIN_EXPIRES, NULL);
		uint32_t min;
		if (h && sip_pl_u32(sip_pl_trim(h->value), &min) == 0 && min > r->asked) {
			r->asked = min;
			sip_msg_unref(m);
			send_register(r);
			return;
		}
	}
	if (status >= 200 && status < 300 && m) {
		r->granted = granted_expiry(r, m);
		r->retry_s = 0;
		r->fails = 0;
		set_state(r, SIP_OUTREG_REGISTERED, status);
		/* Refresh ahead of expiry: 30 s early for long grants, halfway for short ones. */
		schedule(r, r->granted > 60 ? r->granted - 30 : MAX(r->granted / 2, 1u));
		sip_msg_unref(m);
		return;
	}
	sip_msg_unref(m);
	jn_warn(NULL, "trunk %s: REGISTER failed with %d", r->name, status);
	fail(r, status);
}

static void send_register(sip_outreg *r)
{
	if (!r->addr_ok) {
		fail(r, 0);
		return;
	}
	if (r->state != SIP_OUTREG_REGISTERED)
		set_state(r, SIP_OUTREG_REGISTERING, r->last_status);
	char expires[64];
	snprintf(expires, sizeof expires, "Expires: %u\r\n", r->asked);
	char *extra = g_strconcat(expires, r->answered && r->auth_line ? r->auth_line : "", NULL);
	char ruri[300];
	snprintf(ruri, sizeof ruri, "sip:%s", r->domain);
	sip_req_opts q = {
		.method = SIP_METHOD_REGISTER, .ruri = ruri, .from = r->from, .to = r->to_hdr,
		.call_id = r->call_id, .cseq = ++r->cseq, .contact = r->contact, .extra = extra,
	};
	int rc = trunk_tls_peer(r->s, r->o.transport, &r->to, r->host, r->o.tls_no_verify, r->o.tls_ca_file, r->name);
	if (rc == 0)
		rc = sip_stack_send_request(r->s, r->o.transport, NULL, &r->to, &q, on_response, r, &r->tx);
	g_free(extra);
	if (rc != 0) {
		jn_warn(NULL, "trunk %s: cannot send REGISTER: %s", r->name, strerror(rc));
		fail(r, 503);
	}
}

static void outreg_resolved(void *user, int err, const sip_resolve_target *t, size_t n)
{
	sip_outreg *r = user;
	r->rq = NULL;
	if (err) {
		jn_warn(NULL, "trunk %s: cannot resolve \"%s\": %s", r->name, r->host, resolve_error(err));
		fail(r, 503);
		return;
	}
	r->addr_ok = trunk_pick(r->s, r->o.transport, t, n, r->fails, &r->to);
	if (!r->addr_ok)
		jn_warn(NULL, "trunk %s: \"%s\" has no address our %s transport can reach", r->name,
			r->host, sip_resolve_srv_prefix(r->o.transport));
	send_register(r);
}

/* The refresh (or retry) round starts without credentials; a challenge
 * gets one answer per round. A name is resolved again for every round, so
 * DNS changes are followed and a failed target gives way to the next. */
static gboolean round_start(gpointer p)
{
	sip_outreg *r = p;
	r->timer = 0;
	r->answered = false;
	if (r->by_name && sip_stack_transport(r->s, r->o.transport)) {
		sip_resolve_cancel(r->rq);
		r->rq = trunk_resolve(r->host, r->o.port, r->o.transport, outreg_resolved, r);
		return G_SOURCE_REMOVE;
	}
	send_register(r);
	return G_SOURCE_REMOVE;
}

sip_outreg *sip_outreg_new(sip_stack *s, const sip_outreg_opts *o)
{
	sip_outreg *r = g_new0(sip_outreg, 1);
	r->s = s;
	r->o = *o;
	r->name = g_strdup(o->name ? o->name : "?");
	r->host = g_strdup(o->host ? o->host : "");
	r->username = g_strdup(o->username ? o->username : "");
	r->password = g_strdup(o->password ? o->password : "");
	r->domain = g_strdup(o->domain && *o->domain ? o->domain : r->host);
	r->asked = o->expires ? o->expires : 600;
	r->addr_ok = jn_addr_parse(r->host, o->port ? o->port : (o->transport == SIP_TP_TLS ? 5061 : 5060), &r->to) == 0;
	r->by_name = !r->addr_ok && *r->host;

	sip_transport *tp = sip_stack_transport(s, o->transport);
	char local[80] = "0.0.0.0:0";
	if (tp)
		jn_addr_str(&tp->local, local, sizeof local);
	else
		r->addr_ok = false;
	char tag[17], cid[25];
	sip_build_token(tag, 16);
	sip_build_token(cid, 24);
	r->aor = g_strdup_printf("sip:%s@%s", r->username, r->domain);
	r->from = g_strdup_printf("<%s>;tag=%s", r->aor, tag);
	r->to_hdr = g_strdup_printf("<%s>", r->aor);
	r->call_id = g_strdup(cid);
	r->contact_uri = g_strdup_printf("sip:%s@%s%s", r->username, local,
					 o->transport == SIP_TP_TCP ? ";transport=tcp" :
					 o->transport == SIP_TP_TLS ? ";transport=tls" : "");
	r->contact = g_strdup_printf("<%s>", r->contact_uri);
	r->state = SIP_OUTREG_REGISTERING;
	r->timer = g_idle_add(round_start, r);
	return r;
}

void sip_outreg_free(sip_outreg *r)
{
	if (!r)
		return;
	if (r->tx)
		sip_tx_detach(r->tx);
	if (r->timer)
		g_source_remove(r->timer);
	sip_resolve_cancel(r->rq);
	g_free(r->name);
	g_free(r->host);
	g_free(r->username);
	g_free(r->password);
	g_free(r->domain);
	g_free(r->aor);
	g_free(r->from);
	g_free(r->to_hdr);
	g_free(r->call_id);
	g_free(r->contact_uri);
	g_free(r->contact);
	g_free(r->auth_line);
	g_free(r);
}

sip_outreg_state sip_outreg_get_state(const sip_outreg *r) { return r->state; }
int sip_outreg_last_status(const sip_outreg *r) { return r->last_status; }
unsigned sip_outreg_granted(const sip_outreg *r) { return r->granted; }

/* --- OPTIONS keepalive ----------------------------------------------------- */

struct sip_optping {
	sip_stack *s;
	sip_optping_opts o;
	char *name, *host, *domain, *from, *to_hdr, *ruri;
	jn_addr to;
	bool addr_ok, reachable, known;
	bool by_name;         /* host is a name: resolve before each OPTIONS */
	sip_resolve_query *rq;
	int last_rerr;        /* last resolution error, logged once per change */
	unsigned fails;
	int last_status;
	uint32_t cseq;
	sip_tx *tx;
	guint timer;
};

/* up: something answered (any status); else a timeout or transport error. */
static void ping_result(sip_optping *p, bool up, int status)
{
	if (!p->known || up != p->reachable)
		jn_info(NULL, "trunk %s: %s (%d)", p->name, up ? "reachable" : "unreachable", status);
	p->known = true;
	p->reachable = up;
	p->last_status = status;
	if (p->o.on_state)
		p->o.on_state(p->o.user, p, up, status);
}

static void ping_response(void *user, sip_tx *tx, int status, const char *data, size_t len)
{
	sip_optping *p = user;
	(void)len;
	if (status < 200)
		return;
	sip_tx_detach(tx);
	p->tx = NULL;
	/* 408/503 without bytes are the transaction's own verdicts. */
	p->fails = data ? 0 : p->fails + 1;
	ping_result(p, data != NULL, status);
}

static void ping_send(sip_optping *p)
{
	if (!p->addr_ok) {
		ping_result(p, false, 503);
		return;
	}
	char cid[25];
	sip_build_token(cid, 24);
	sip_req_opts q = {
		.method = SIP_METHOD_OPTIONS, .ruri = p->ruri, .from = p->from, .to = p->to_hdr,
		.call_id = cid, .cseq = ++p->cseq, .extra = "Accept: application/sdp\r\n",
	};
	if (trunk_tls_peer(p->s, p->o.transport, &p->to, p->host, p->o.tls_no_verify, p->o.tls_ca_file, p->name) != 0 ||
	    sip_stack_send_request(p->s, p->o.transport, NULL, &p->to, &q, ping_response, p, &p->tx) != 0) {
		p->tx = NULL;
		p->fails++;
		ping_result(p, false, 503);
	}
}

static void ping_resolved(void *user, int err, const sip_resolve_target *t, size_t n)
{
	sip_optping *p = user;
	p->rq = NULL;
	if (err != p->last_rerr && err)
		jn_warn(NULL, "trunk %s: cannot resolve \"%s\": %s", p->name, p->host, resolve_error(err));
	p->last_rerr = err;
	p->addr_ok = !err && trunk_pick(p->s, p->o.transport, t, n, p->fails, &p->to);
	ping_send(p);
}

static gboolean ping_fire(gpointer user)
{
	sip_optping *p = user;
	if (p->tx || p->rq) /* the last one is still out: let its timeout decide */
		return G_SOURCE_CONTINUE;
	if (p->by_name)
		p->rq = trunk_resolve(p->host, p->o.port, p->o.transport, ping_resolved, p);
	else
		ping_send(p);
	return G_SOURCE_CONTINUE;
}

static gboolean ping_first(gpointer user)
{
	sip_optping *p = user;
	ping_fire(p);
	p->timer = g_timeout_add_seconds(p->o.interval_s ? p->o.interval_s : 30, ping_fire, p);
	return G_SOURCE_REMOVE;
}

sip_optping *sip_optping_new(sip_stack *s, const sip_optping_opts *o)
{
	sip_optping *p = g_new0(sip_optping, 1);
	p->s = s;
	p->o = *o;
	p->name = g_strdup(o->name ? o->name : "?");
	const char *host = o->host ? o->host : "";
	p->host = g_strdup(host);
	p->domain = g_strdup(o->domain && *o->domain ? o->domain : host);
	p->addr_ok = jn_addr_parse(host, o->port ? o->port : (o->transport == SIP_TP_TLS ? 5061 : 5060), &p->to) == 0 &&
		     sip_stack_transport(s, o->transport) != NULL;
	p->by_name = jn_addr_parse(host, 5060, &(jn_addr){ 0 }) != 0 && *host &&
		     sip_stack_transport(s, o->transport) != NULL;
	char tag[17];
	sip_build_token(tag, 16);
	p->from = g_strdup_printf("<sip:ping@%s>;tag=%s", p->domain, tag);
	p->to_hdr = g_strdup_printf("<sip:%s>", p->domain);
	char ab[80];
	if (p->by_name && o->port)
		p->ruri = g_strdup_printf("sip:%s:%u", host, o->port);
	else if (p->by_name)
		p->ruri = g_strdup_printf("sip:%s", host);
	else
		p->ruri = p->addr_ok ? g_strdup_printf("sip:%s", jn_addr_str(&p->to, ab, sizeof ab)) : g_strdup("sip:invalid");
	p->timer = g_idle_add(ping_first, p);
	return p;
}

void sip_optping_free(sip_optping *p)
{
	if (!p)
		return;
	if (p->tx)
		sip_tx_detach(p->tx);
	if (p->timer)
		g_source_remove(p->timer);
	sip_resolve_cancel(p->rq);
	g_free(p->name);
	g_free(p->host);
	g_free(p->domain);
	g_free(p->from);
	g_free(p->to_hdr);
	g_free(p->ruri);
	g_free(p);
}

bool sip_optping_reachable(const sip_optping *p) { return p->reachable; }
int sip_optping_last_status(const sip_optping *p) { return p->last_status; }
