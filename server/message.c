#include "server/message.h"

#include <errno.h>
#include <string.h>

#include "server/route.h"
#include "sip/sip_uri.h"
#define JN_LOG_TAG "msg"
#include "util/log.h"

/* --- store ---------------------------------------------------------------- */

typedef struct {
	char *from, *content_type, *body;
	size_t body_len;
} stored;

struct jn_msg_store {
	GHashTable *users; /* user name -> GQueue of stored*, oldest first */
	size_t max_per_user, max_total, total;
};

static void stored_free(stored *m)
{
	g_free(m->from);
	g_free(m->content_type);
	g_free(m->body);
	g_free(m);
}

static void queue_free(gpointer p)
{
	g_queue_free_full(p, (GDestroyNotify)stored_free);
}

jn_msg_store *jn_msg_store_new(size_t max_per_user, size_t max_total)
{
	jn_msg_store *st = g_new0(jn_msg_store, 1);
	st->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, queue_free);
	st->max_per_user = max_per_user ? max_per_user : 100;
	st->max_total = max_total ? max_total : 10000;
	return st;
}

void jn_msg_store_free(jn_msg_store *st)
{
	if (!st)
		return;
	g_hash_table_destroy(st->users);
	g_free(st);
}

int jn_msg_store_put(jn_msg_store *st, const char *to, const char *from, const char *content_type,
		     const char *body, size_t body_len)
{
	if (st->total >= st->max_total)
		return ENOSPC;
	GQueue *q = g_hash_table_lookup(st->users, to);
	if (q && q->length >= st->max_per_user)
		return ENOSPC;
	if (!q) {
		q = g_queue_new();
		g_hash_table_insert(st->users, g_strdup(to), q);
	}
	stored *m = g_new0(stored, 1);
	m->from = g_strdup(from);
	m->content_type = g_strdup(content_type ? content_type : "");
	m->body = g_malloc(body_len + 1);
	if (body_len)
		memcpy(m->body, body, body_len);
	m->body[body_len] = 0;
	m->body_len = body_len;
	g_queue_push_tail(q, m);
	st->total++;
	return 0;
}

size_t jn_msg_store_count(const jn_msg_store *st, const char *to)
{
	if (!to)
		return st->total;
	GQueue *q = g_hash_table_lookup(st->users, to);
	return q ? q->length : 0;
}

size_t jn_msg_store_flush(jn_msg_store *st, const char *to, jn_msg_deliver_fn fn, void *user)
{
	char *key = NULL;
	GQueue *q = NULL;
	/* Steal the queue first: fn may store again for the same user. */
	if (!g_hash_table_steal_extended(st->users, to, (gpointer *)&key, (gpointer *)&q))
		return 0;
	size_t n = 0;
	stored *m;
	while ((m = g_queue_pop_head(q))) {
		st->total--;
		jn_msg_stored v = { m->from, m->content_type, m->body, m->body_len };
		if (fn)
			fn(user, to, &v);
		stored_free(m);
		n++;
	}
	g_queue_free(q);
	g_free(key);
	return n;
}

/* --- the MESSAGE handler --------------------------------------------------- */

struct jn_msg_layer {
	sip_stack *sip;
	jn_route_table *routes;
	jn_msg_store *store;
	char *domain;
};

static uint64_t now_s(void)
{
	return (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC);
}

bool jn_binding_dest(const sip_reg_binding *b, sip_tp_kind *kind, jn_addr *to)
{
	if (b->flow) {
		*kind = sip_flow_transport(b->flow)->kind;
		*to = *sip_flow_remote(b->flow);
		return true;
	}
	if (!b->source)
		return false;
	const char *sp = strchr(b->source, ' ');
	if (!sp || !sip_tp_parse(b->source, (size_t)(sp - b->source), kind))
		return false;
	return jn_addr_parse(sp + 1, 5060, to) == 0;
}

/* One contact to send to, copied out of the registrar: its views are only
 * valid until the store changes, and a send may close a flow. */
typedef struct {
	char *uri;
	sip_tp_kind kind;
	jn_addr to;
	sip_flow *flow; /* referenced, or NULL */
} dest;

/* Sends one MESSAGE to every live contact of user `to`. Returns how many
 * went out. */
static size_t deliver(jn_msg_layer *ml, const char *to, const char *from, const char *ctype,
		      const char *body, size_t body_len)
{
	const sip_reg_binding *bs[16];
	size_t n = sip_reg_lookup(sip_stack_registrar(ml->sip), to, now_s(), bs, G_N_ELEMENTS(bs));
	if (n > G_N_ELEMENTS(bs))
		n = G_N_ELEMENTS(bs);
	dest ds[G_N_ELEMENTS(bs)];
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (!jn_binding_dest(bs[i], &ds[nd].kind, &ds[nd].to))
			continue;
		ds[nd].uri = g_strdup(bs[i]->uri);
		ds[nd].flow = bs[i]->flow ? sip_flow_ref(bs[i]->flow) : NULL;
		nd++;
	}
	char *from_hdr = g_strdup_printf("<sip:%s@%s>;tag=%08x", from, ml->domain, g_random_int());
	char *to_hdr = g_strdup_printf("<sip:%s@%s>", to, ml->domain);
	size_t sent = 0;
	for (size_t i = 0; i < nd; i++) {
		char call_id[40];
		g_snprintf(call_id, sizeof call_id, "m%08x%08x@junction", g_random_int(), g_random_int());
		sip_req_opts o = {
			.method = SIP_METHOD_MESSAGE, .ruri = ds[i].uri, .rport = true, .from = from_hdr,
			.to = to_hdr, .call_id = call_id, .cseq = 1,
			.content_type = ctype && *ctype ? ctype : NULL, .body = { body, body_len },
		};
		int rc = sip_stack_send_request(ml->sip, ds[i].kind, ds[i].flow, &ds[i].to, &o, NULL, NULL, NULL);
		if (rc)
			jn_info(NULL, "MESSAGE to %s at %s: cannot send (%s)", to, ds[i].uri, g_strerror(rc));
		else
			sent++;
		g_free(ds[i].uri);
		if (ds[i].flow)
			sip_flow_unref(ds[i].flow);
	}
	g_free(from_hdr);
	g_free(to_hdr);
	return sent;
}

static void respond(jn_msg_layer *ml, sip_tx *tx, uint16_t code, const char *reason)
{
	sip_stack_respond(ml->sip, tx, code, reason, NULL);
}

static void on_message(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	jn_msg_layer *ml = user;
	(void)s;
	(void)from;
	char who[65];
	if (sip_stack_authenticate(ml->sip, tx, req, who, sizeof who))
		return;
	if (req->body.l > JN_MSG_MAX_BODY) {
		respond(ml, tx, 413, NULL);
		return;
	}
	char dialled[JN_ROUTE_DIALLED_MAX + 1] = "";
	size_t dl = 0;
	if (!req->ruri_parsed || sip_uri_unescape(req->ruri.user, dialled, sizeof dialled, &dl))
		dl = 0;
	dialled[dl] = 0;
	jn_route_result rr;
	int rc = jn_route_lookup(ml->routes, JN_ROUTE_USER, who, dialled, (gssize)dl, &rr);
	if (rc) {
		respond(ml, tx, (uint16_t)jn_route_sip_status(rc),
			rc == JN_ROUTE_EFORBIDDEN ? "Forbidden" : "Not Found");
		return;
	}
	if (rr.kind != JN_ROUTE_TO_USER) {
		respond(ml, tx, 480, "Messages reach users only");
		return;
	}
	char *ctype = sip_pl_isset(req->content_type) ? sip_pl_strdup(req->content_type) : g_strdup("");
	if (deliver(ml, rr.name, who, ctype, req->body.p, req->body.l) > 0) {
		jn_info(NULL, "MESSAGE from %s to %s (route %s): sent", who, rr.name, rr.route);
		respond(ml, tx, 202, NULL);
	} else if (jn_msg_store_put(ml->store, rr.name, who, ctype, req->body.p, req->body.l) == 0) {
		jn_info(NULL, "MESSAGE from %s to %s (route %s): stored (%zu waiting)", who, rr.name, rr.route,
			jn_msg_store_count(ml->store, rr.name));
		respond(ml, tx, 202, NULL);
	} else {
		jn_info(NULL, "MESSAGE from %s to %s: store full", who, rr.name);
		respond(ml, tx, 480, "Message store full");
	}
	g_free(ctype);
}

static void flush_one(void *user, const char *to, const jn_msg_stored *m)
{
	jn_msg_layer *ml = user;
	if (deliver(ml, to, m->from, m->content_type, m->body, m->body_len) == 0 &&
	    jn_msg_store_put(ml->store, to, m->from, m->content_type, m->body, m->body_len))
		jn_warn(NULL, "stored MESSAGE for %s lost: no contact and store full", to);
}

static void on_registered(void *user, sip_stack *s, const char *aor)
{
	jn_msg_layer *ml = user;
	(void)s;
	if (!jn_msg_store_count(ml->store, aor))
		return;
	size_t n = jn_msg_store_flush(ml->store, aor, flush_one, ml);
	jn_info(NULL, "%s registered: %zu stored messages delivered", aor, n);
}

jn_msg_layer *jn_msg_new(const jn_msg_opts *o, char **err)
{
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	jn_route_table *rt = jn_route_table_new(o->cfg, errors);
	if (!rt) {
		*err = g_strdup_printf("messages: %s",
				       errors->len ? (char *)g_ptr_array_index(errors, 0) : "bad dial plan");
		g_ptr_array_free(errors, TRUE);
		return NULL;
	}
	g_ptr_array_free(errors, TRUE);
	jn_msg_layer *ml = g_new0(jn_msg_layer, 1);
	ml->sip = o->sip;
	ml->routes = rt;
	ml->store = jn_msg_store_new(o->max_per_user, o->max_total);
	const char *dom = jn_config_str(o->cfg, "sip", "domain");
	ml->domain = g_strdup(dom && *dom ? dom : "junction.invalid");
	sip_stack_on_message(ml->sip, on_message, ml);
	sip_stack_on_registered(ml->sip, on_registered, ml);
	return ml;
}

void jn_msg_free(jn_msg_layer *ml)
{
	if (!ml)
		return;
	sip_stack_on_message(ml->sip, NULL, NULL);
	sip_stack_on_registered(ml->sip, NULL, NULL);
	jn_route_table_free(ml->routes);
	jn_msg_store_free(ml->store);
	g_free(ml->domain);
	g_free(ml);
}

jn_msg_store *jn_msg_layer_store(jn_msg_layer *ml)
{
	return ml->store;
}
