#include "sip/sip_tx.h"

#include <errno.h>
#include <string.h>

#define JN_LOG_TAG "sip"
#include "util/log.h"

struct sip_tx_layer {
	sip_tx_opts o;
	sip_timers *own_timers; /* when the caller gave no clock */
	GHashTable *client, *server; /* key -> sip_tx* */
};

struct sip_tx {
	sip_tx_layer *l;
	char *key;
	bool client, invite, reliable;
	sip_tx_state state;
	sip_tx_dest dest;
	GByteArray *req;  /* client: the request */
	GByteArray *last; /* server: last response; client INVITE: the ACK */
	int last_status;
	void *t_retx;     /* A, E, G, or the 2xx resend */
	unsigned retx_ms;
	void *t_end;      /* B, F, H, D, I, J, K, L, M */
	sip_tx_response_fn rcb;
	sip_tx_event_fn ecb;
	void *user;
	void *data;
	GDestroyNotify data_free;
	int busy;         /* inside an owner callback */
	bool doomed;      /* terminated while busy: free on the way out */
	int sending;      /* inside tx_send: its own return code reports a failure */
};

/* --- timers on the GLib loop ------------------------------------------- */

typedef struct {
	gint64 due;        /* monotonic µs */
	guint64 seq;       /* FIFO among equal due times */
	sip_timer_fn fn;
	void *arg;
	GSequenceIter *it;
} wtimer;

typedef struct {
	GSource src;
	sip_timers *t;
} timer_source;

struct sip_timers {
	GSequence *q;      /* wtimer*, earliest first; owns them */
	timer_source *src;
	guint64 seq;
};

static gint wtimer_cmp(gconstpointer a, gconstpointer b, gpointer u)
{
	const wtimer *x = a, *y = b;
	(void)u;
	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Each g_source_set_ready_time wakes the loop (an eventfd write), and a
 * transaction adds or removes timers on every message: outside dispatch
 * the ready time only moves earlier; a wake-up that finds nothing due
 * costs one dispatch, which sets it exactly. */
static void timers_rearm(sip_timers *t, bool exact)
{
	GSequenceIter *first = g_sequence_get_begin_iter(t->q);
	gint64 when = g_sequence_iter_is_end(first) ? -1 : ((wtimer *)g_sequence_get(first))->due;
	gint64 cur = g_source_get_ready_time(&t->src->src);
	if (cur != when && (exact || (when != -1 && (cur == -1 || when < cur))))
		g_source_set_ready_time(&t->src->src, when);
}

static gboolean timers_dispatch(GSource *src, GSourceFunc cb, gpointer ud)
{
	sip_timers *t = ((timer_source *)src)->t;
	gint64 now = g_get_monotonic_time();
	(void)cb;
	(void)ud;
	/* Bounded per wake-up so a burst of expiries cannot starve sockets. */
	for (int n = 0; n < 4096; n++) {
		GSequenceIter *first = g_sequence_get_begin_iter(t->q);
		if (g_sequence_iter_is_end(first))
			break;
		wtimer *w = g_sequence_get(first);
		if (w->due > now)
			break;
		sip_timer_fn fn = w->fn;
		void *arg = w->arg;
		g_sequence_remove(first); /* frees w: handles die when they fire */
		fn(arg);
	}
	timers_rearm(t, true);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = { NULL, NULL, timers_dispatch, NULL, NULL, NULL };

sip_timers *sip_timers_new(void)
{
	sip_timers *t = g_new0(sip_timers, 1);
	t->q = g_sequence_new(g_free);
	t->src = (timer_source *)g_source_new(&timer_source_funcs, sizeof(timer_source));
	t->src->t = t;
	g_source_set_name(&t->src->src, "sip timers");
	g_source_set_ready_time(&t->src->src, -1);
	g_source_attach(&t->src->src, NULL);
	return t;
}

void sip_timers_free(sip_timers *t)
{
	if (!t)
		return;
	g_source_destroy(&t->src->src);
	g_source_unref(&t->src->src);
	g_sequence_free(t->q);
	g_free(t);
}

static void *timers_start(void *self, unsigned ms, sip_timer_fn fn, void *arg)
{
	sip_timers *t = self;
	wtimer *w = g_new(wtimer, 1);
	w->due = g_get_monotonic_time() + (gint64)ms * 1000;
	w->seq = t->seq++;
	w->fn = fn;
	w->arg = arg;
	w->it = g_sequence_insert_sorted(t->q, w, wtimer_cmp, NULL);
	if (g_sequence_iter_is_begin(w->it))
		timers_rearm(t, false);
	return w;
}

static void timers_cancel(void *self, void *handle)
{
	sip_timers *t = self;
	wtimer *w = handle;
	bool first = g_sequence_iter_is_begin(w->it);
	g_sequence_remove(w->it);
	if (first)
		timers_rearm(t, false);
}

sip_clock sip_timers_clock(sip_timers *t)
{
	sip_clock c = { .start = timers_start, .cancel = timers_cancel, .self = t };
	return c;
}

unsigned sip_timers_pending(const sip_timers *t)
{
	return (unsigned)g_sequence_get_length(t->q);
}

/* --- helpers -------------------------------------------------------------- */

static const char *const state_names[] = {
	"Calling", "Trying", "Proceeding", "Completed", "Confirmed", "Accepted", "Terminated",
};

const char *sip_tx_state_name(sip_tx_state s)
{
	return s <= SIP_TX_TERMINATED ? state_names[s] : "?";
}

static void disarm(sip_tx *tx, void **slot)
{
	if (*slot) {
		tx->l->o.clock.cancel(tx->l->o.clock.self, *slot);
		*slot = NULL;
	}
}

static void arm(sip_tx *tx, void **slot, unsigned ms, sip_timer_fn fn)
{
	disarm(tx, slot);
	*slot = tx->l->o.clock.start(tx->l->o.clock.self, ms, fn, tx);
}

static unsigned t1(const sip_tx *tx) { return tx->l->o.t1; }
static unsigned t2(const sip_tx *tx) { return tx->l->o.t2; }
static unsigned t4(const sip_tx *tx) { return tx->l->o.t4; }

static void tx_free(sip_tx *tx)
{
	GHashTable *h = tx->client ? tx->l->client : tx->l->server;
	if (g_hash_table_lookup(h, tx->key) == tx)
		g_hash_table_remove(h, tx->key);
	if (tx->ecb)
		tx->ecb(tx->user, tx, SIP_TX_EV_TERMINATED);
	if (tx->data_free)
		tx->data_free(tx->data);
	sip_flow_unref(tx->dest.flow);
	if (tx->req)
		g_byte_array_unref(tx->req);
	if (tx->last)
		g_byte_array_unref(tx->last);
	g_free(tx->key);
	g_free(tx);
}

static void terminate(sip_tx *tx)
{
	tx->state = SIP_TX_TERMINATED;
	disarm(tx, &tx->t_retx);
	disarm(tx, &tx->t_end);
	if (tx->busy)
		tx->doomed = true;
	else
		tx_free(tx);
}

/* Callbacks into the owner may re-enter (respond, or terminate the layer's
 * view of this tx); freeing waits until the outermost call returns. */
static void enter(sip_tx *tx) { tx->busy++; }
static bool leave(sip_tx *tx)
{
	if (--tx->busy == 0 && tx->doomed) {
		tx_free(tx);
		return false;
	}
	return true;
}

static void emit(sip_tx *tx, sip_tx_event ev)
{
	if (!tx->ecb)
		return;
	enter(tx);
	tx->ecb(tx->user, tx, ev);
	leave(tx);
}

static int tx_send_now(sip_tx *tx, const GByteArray *b)
{
	sip_flow *f = tx->dest.flow;
	if (f && sip_flow_conn(f))
		return sip_transport_send(sip_flow_transport(f), f, &tx->dest.addr, (const char *)b->data, b->len);
	if (!tx->dest.tp)
		return ENOTCONN;
	/* The flow is gone: §18.2.2 falls back to the address (a new
	 * connection for TCP/TLS; WS cannot reconnect and fails). */
	return sip_transport_send(tx->dest.tp, NULL, &tx->dest.addr, (const char *)b->data, b->len);
}

/* A failed write may close the connection synchronously, and the close
 * fails the flow's transactions (sip_tx_layer_flow_closed): the one
 * sending is skipped there, since its caller handles the error code. */
static int tx_send(sip_tx *tx, const GByteArray *b)
{
	tx->sending++;
	int rc = tx_send_now(tx, b);
	tx->sending--;
	return rc;
}

static GByteArray *bytes(const char *data, size_t len)
{
	GByteArray *b = g_byte_array_sized_new((guint)len);
	g_byte_array_append(b, (const guint8 *)data, (guint)len);
	return b;
}

static sip_tx *tx_new(sip_tx_layer *l, const char *key, bool client, bool invite, const sip_tx_dest *d)
{
	sip_tx *tx = g_new0(sip_tx, 1);
	tx->l = l;
	tx->key = g_strdup(key);
	tx->client = client;
	tx->invite = invite;
	tx->dest = *d;
	if (d->flow)
		tx->dest.flow = sip_flow_ref(d->flow);
	sip_transport *tp = d->flow && sip_flow_transport(d->flow) ? sip_flow_transport(d->flow) : d->tp;
	tx->reliable = tp && sip_tp_reliable(tp->kind);
	g_hash_table_insert(client ? l->client : l->server, tx->key, tx);
	return tx;
}

/* --- server transactions --------------------------------------------------- */

static void server_retx_fire(void *arg)
{
	sip_tx *tx = arg;
	tx->t_retx = NULL;
	if (!tx->last)
		return;
	/* Timer G (non-2xx) or the 2xx resend: T1, doubling, capped at T2. */
	tx_send(tx, tx->last);
	tx->retx_ms = MIN(tx->retx_ms * 2, t2(tx));
	arm(tx, &tx->t_retx, tx->retx_ms, server_retx_fire);
}

static void server_end_fire(void *arg)
{
	sip_tx *tx = arg;
	tx->t_end = NULL;
	if (tx->invite && tx->state == SIP_TX_COMPLETED) {
		/* Timer H: the ACK never came. */
		enter(tx);
		emit(tx, SIP_TX_EV_TIMEOUT);
		if (!leave(tx))
			return;
	}
	/* Timer I, J or L. */
	terminate(tx);
}

sip_tx *sip_tx_server_new(sip_tx_layer *l, const char *key, bool invite, const sip_tx_dest *d,
			  sip_tx_event_fn ev, void *user)
{
	if (g_hash_table_contains(l->server, key))
		return NULL;
	sip_tx *tx = tx_new(l, key, false, invite, d);
	tx->state = invite ? SIP_TX_PROCEEDING : SIP_TX_TRYING;
	tx->ecb = ev;
	tx->user = user;
	return tx;
}

sip_tx *sip_tx_server_find(sip_tx_layer *l, const char *key)
{
	return g_hash_table_lookup(l->server, key);
}

bool sip_tx_server_receive(sip_tx *tx, bool ack)
{
	if (ack) {
		if (!tx->invite)
			return true;
		if (tx->state == SIP_TX_COMPLETED) {
			tx->state = SIP_TX_CONFIRMED;
			disarm(tx, &tx->t_retx);
			if (tx->reliable)
				terminate(tx);
			else
				arm(tx, &tx->t_end, t4(tx), server_end_fire); /* Timer I */
			return true;
		}
		/* In ACCEPTED an ACK with the INVITE's branch is the TU's. */
		return tx->state != SIP_TX_ACCEPTED;
	}
	/* A retransmitted request: resend what we last said (§17.2.1/2). */
	if (tx->last && tx->state != SIP_TX_CONFIRMED && tx->state != SIP_TX_TERMINATED)
		tx_send(tx, tx->last);
	return true;
}

int sip_tx_respond(sip_tx *tx, int status, const char *data, size_t len)
{
	if (tx->client || status < 100 || status > 699)
		return EINVAL;
	bool final = status >= 200;
	switch (tx->state) {
	case SIP_TX_TRYING:
	case SIP_TX_PROCEEDING:
		break;
	case SIP_TX_ACCEPTED:
		if (status >= 200 && status < 300)
			break; /* the TU's own 2xx retransmission */
		return EINVAL;
	default:
		return EINVAL;
	}
	if (tx->last)
		g_byte_array_unref(tx->last);
	tx->last = bytes(data, len);
	tx->last_status = status;
	int rc = tx_send(tx, tx->last);
	if (rc != 0) {
		jn_debug(NULL, "transaction %s: sending %d failed: %s", tx->key, status, strerror(rc));
		enter(tx);
		emit(tx, SIP_TX_EV_TRANSPORT_ERROR);
		terminate(tx);
		leave(tx);
		return rc;
	}
	if (!final) {
		tx->state = SIP_TX_PROCEEDING;
		return 0;
	}
	if (!tx->invite) {
		tx->state = SIP_TX_COMPLETED;
		if (tx->reliable)
			terminate(tx);
		else
			arm(tx, &tx->t_end, 64 * t1(tx), server_end_fire); /* Timer J */
		return 0;
	}
	if (status < 300) {
		if (tx->state == SIP_TX_ACCEPTED)
			return 0;
		tx->state = SIP_TX_ACCEPTED;
		arm(tx, &tx->t_end, 64 * t1(tx), server_end_fire); /* Timer L */
	} else {
		tx->state = SIP_TX_COMPLETED;
		arm(tx, &tx->t_end, 64 * t1(tx), server_end_fire); /* Timer H */
	}
	if (!tx->reliable) {
		tx->retx_ms = t1(tx);
		arm(tx, &tx->t_retx, tx->retx_ms, server_retx_fire); /* Timer G */
	}
	return 0;
}

void sip_tx_server_acked(sip_tx *tx)
{
	if (!tx->client && tx->state == SIP_TX_ACCEPTED)
		disarm(tx, &tx->t_retx);
}

/* --- client transactions ----------------------------------------------------- */

static void pass_up(sip_tx *tx, int status, const char *data, size_t len)
{
	if (!tx->rcb)
		return;
	enter(tx);
	tx->rcb(tx->user, tx, status, data, len);
	leave(tx);
}

static void client_fail(sip_tx *tx, int status)
{
	enter(tx);
	tx->last_status = status;
	if (tx->rcb)
		tx->rcb(tx->user, tx, status, NULL, 0);
	terminate(tx);
	leave(tx);
}

static void client_retx_fire(void *arg)
{
	sip_tx *tx = arg;
	tx->t_retx = NULL;
	if (tx_send(tx, tx->req) != 0) {
		client_fail(tx, 503);
		return;
	}
	if (tx->invite) {
		tx->retx_ms *= 2; /* Timer A: doubles without a cap */
	} else if (tx->state == SIP_TX_PROCEEDING) {
		tx->retx_ms = t2(tx); /* Timer E after a 1xx */
	} else {
		tx->retx_ms = MIN(tx->retx_ms * 2, t2(tx));
	}
	arm(tx, &tx->t_retx, tx->retx_ms, client_retx_fire);
}

static void client_end_fire(void *arg)
{
	sip_tx *tx = arg;
	tx->t_end = NULL;
	if (tx->state == SIP_TX_CALLING || tx->state == SIP_TX_TRYING ||
	    (!tx->invite && tx->state == SIP_TX_PROCEEDING)) {
		client_fail(tx, 408); /* Timer B or F */
		return;
	}
	terminate(tx); /* Timer D, K or M */
}

sip_tx *sip_tx_client_new(sip_tx_layer *l, const char *key, bool invite, const sip_tx_dest *d,
			  const char *req, size_t len, sip_tx_response_fn cb, void *user)
{
	if (g_hash_table_contains(l->client, key))
		return NULL;
	sip_tx *tx = tx_new(l, key, true, invite, d);
	tx->state = invite ? SIP_TX_CALLING : SIP_TX_TRYING;
	tx->req = bytes(req, len);
	tx->rcb = cb;
	tx->user = user;
	if (tx_send(tx, tx->req) != 0) {
		/* Report asynchronously-safe: the caller gets the tx back only if
		 * it lives, so tell it through the callback and return NULL. */
		tx->rcb = NULL;
		terminate(tx);
		return NULL;
	}
	if (!tx->reliable) {
		tx->retx_ms = t1(tx);
		arm(tx, &tx->t_retx, tx->retx_ms, client_retx_fire); /* Timer A / E */
	}
	arm(tx, &tx->t_end, 64 * t1(tx), client_end_fire); /* Timer B / F */
	return tx;
}

sip_tx *sip_tx_client_find(sip_tx_layer *l, const char *key)
{
	return g_hash_table_lookup(l->client, key);
}

static void client_final_invite(sip_tx *tx, const char *data, size_t len)
{
	sip_tx_layer *l = tx->l;
	GByteArray *ack = g_byte_array_new();
	if (l->o.make_ack &&
	    l->o.make_ack(l->o.user, (const char *)tx->req->data, tx->req->len, data, len, ack) == 0) {
		if (tx->last)
			g_byte_array_unref(tx->last);
		tx->last = ack;
		tx_send(tx, tx->last);
	} else {
		g_byte_array_unref(ack);
	}
}

bool sip_tx_client_receive(sip_tx *tx, int status, const char *data, size_t len)
{
	if (!tx->client || status < 100 || status > 699)
		return true;
	bool provisional = status < 200, ok = status >= 200 && status < 300;

	switch (tx->state) {
	case SIP_TX_CALLING:
	case SIP_TX_TRYING:
	case SIP_TX_PROCEEDING:
		break;
	case SIP_TX_COMPLETED:
		/* A retransmitted final: resend the ACK (INVITE), else absorb. */
		if (tx->invite && !provisional && !ok && tx->last)
			tx_send(tx, tx->last);
		return true;
	case SIP_TX_ACCEPTED:
		if (!ok)
			return true;
		pass_up(tx, status, data, len); /* the TU ACKs every 2xx */
		return false;
	default:
		return true;
	}
	tx->last_status = status;
	if (provisional) {
		tx->state = SIP_TX_PROCEEDING;
		if (tx->invite) {
			disarm(tx, &tx->t_retx);
			disarm(tx, &tx->t_end);
		}
		pass_up(tx, status, data, len);
		return false;
	}
	disarm(tx, &tx->t_retx);
	disarm(tx, &tx->t_end);
	enter(tx);
	if (tx->invite && ok) {
		tx->state = SIP_TX_ACCEPTED;
		arm(tx, &tx->t_end, 64 * t1(tx), client_end_fire); /* Timer M */
	} else {
		tx->state = SIP_TX_COMPLETED;
		if (tx->invite)
			client_final_invite(tx, data, len);
		if (tx->reliable)
			tx->doomed = true; /* Timer D / K are zero */
		else if (tx->invite)
			arm(tx, &tx->t_end, MAX(64 * t1(tx), 32000), client_end_fire); /* Timer D */
		else
			arm(tx, &tx->t_end, t4(tx), client_end_fire); /* Timer K */
	}
	if (tx->rcb)
		tx->rcb(tx->user, tx, status, data, len);
	if (tx->doomed)
		tx->state = SIP_TX_TERMINATED;
	leave(tx);
	return false;
}

/* --- common --------------------------------------------------------------- */

sip_tx_layer *sip_tx_layer_new(const sip_tx_opts *o)
{
	sip_tx_layer *l = g_new0(sip_tx_layer, 1);
	l->o = *o;
	if (!l->o.t1)
		l->o.t1 = 500;
	if (!l->o.t2)
		l->o.t2 = 4000;
	if (!l->o.t4)
		l->o.t4 = 5000;
	if (!l->o.clock.start) {
		l->own_timers = sip_timers_new();
		l->o.clock = sip_timers_clock(l->own_timers);
	}
	l->client = g_hash_table_new(g_str_hash, g_str_equal);
	l->server = g_hash_table_new(g_str_hash, g_str_equal);
	return l;
}

static void free_all(GHashTable *h)
{
	GList *all = g_hash_table_get_values(h);
	for (GList *i = all; i; i = i->next) {
		sip_tx *tx = i->data;
		tx->busy = 0;
		terminate(tx);
	}
	g_list_free(all);
}

void sip_tx_layer_free(sip_tx_layer *l)
{
	if (!l)
		return;
	free_all(l->client);
	free_all(l->server);
	g_hash_table_unref(l->client);
	g_hash_table_unref(l->server);
	sip_timers_free(l->own_timers);
	g_free(l);
}

unsigned sip_tx_layer_count(const sip_tx_layer *l)
{
	return g_hash_table_size(l->client) + g_hash_table_size(l->server);
}

/* Whether tx is waiting on the connection of flow: bound to that flow,
 * or sent by address (no live flow of its own) over the flow's stream
 * transport to the flow's peer, which is how a new outbound TCP/TLS
 * connection is found again. */
static bool waits_on(const sip_tx *tx, sip_flow *flow)
{
	if (tx->dest.flow == flow)
		return true;
	if (tx->dest.flow && sip_flow_conn(tx->dest.flow))
		return false;
	sip_transport *tp = sip_flow_transport(flow);
	return tp && tx->dest.tp == tp && sip_tp_reliable(tp->kind) &&
	       jn_addr_equal(&tx->dest.addr, sip_flow_remote(flow));
}

unsigned sip_tx_layer_flow_closed(sip_tx_layer *l, sip_flow *flow)
{
	/* Owners' callbacks may start or end transactions: pick the victims
	 * first, then look each up again by key before failing it. */
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, l->client);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		sip_tx *tx = v;
		bool waiting = tx->state == SIP_TX_CALLING || tx->state == SIP_TX_TRYING ||
			       tx->state == SIP_TX_PROCEEDING;
		if (waiting && !tx->sending && !tx->doomed && waits_on(tx, flow))
			g_ptr_array_add(keys, g_strdup(k));
	}
	unsigned n = 0;
	for (guint i = 0; i < keys->len; i++) {
		sip_tx *tx = g_hash_table_lookup(l->client, keys->pdata[i]);
		if (!tx || tx->sending || tx->doomed || tx->state == SIP_TX_TERMINATED)
			continue;
		jn_debug(NULL, "transaction %s: connection %" G_GUINT64_FORMAT " closed", tx->key, sip_flow_id(flow));
		client_fail(tx, 503);
		n++;
	}
	g_ptr_array_free(keys, TRUE);
	return n;
}

void sip_tx_detach(sip_tx *tx)
{
	tx->rcb = NULL;
	tx->ecb = NULL;
}

sip_tx_state sip_tx_get_state(const sip_tx *tx) { return tx->state; }
bool sip_tx_is_invite(const sip_tx *tx) { return tx->invite; }
bool sip_tx_is_client(const sip_tx *tx) { return tx->client; }
int sip_tx_last_status(const sip_tx *tx) { return tx->last_status; }
const char *sip_tx_key(const sip_tx *tx) { return tx->key; }
const sip_tx_dest *sip_tx_get_dest(const sip_tx *tx) { return &tx->dest; }

const char *sip_tx_request(const sip_tx *tx, size_t *len)
{
	if (!tx->req) {
		*len = 0;
		return NULL;
	}
	*len = tx->req->len;
	return (const char *)tx->req->data;
}

void sip_tx_set_data(sip_tx *tx, void *data, GDestroyNotify free_fn)
{
	if (tx->data_free)
		tx->data_free(tx->data);
	tx->data = data;
	tx->data_free = free_fn;
}

void *sip_tx_get_data(const sip_tx *tx)
{
	return tx->data;
}
