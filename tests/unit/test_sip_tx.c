/* Transaction layer: timers on a fake clock, sends captured by a fake
 * transport. Times are RFC 3261 defaults (T1 500, T2 4000, T4 5000 ms). */
#include <glib.h>
#include <string.h>

#include "sip/sip_tx.h"

/* --- fake clock: a list of pending timers, fired in due order ---------- */
typedef struct {
	guint64 due;
	sip_timer_fn fn;
	void *arg;
	guint64 seq;
} ftimer;

typedef struct {
	guint64 now, seq;
	GList *timers;
} fclock;

static void *fc_start(void *self, unsigned ms, sip_timer_fn fn, void *arg)
{
	fclock *c = self;
	ftimer *t = g_new0(ftimer, 1);
	t->due = c->now + ms;
	t->fn = fn;
	t->arg = arg;
	t->seq = c->seq++;
	c->timers = g_list_append(c->timers, t);
	return t;
}

static void fc_cancel(void *self, void *h)
{
	fclock *c = self;
	c->timers = g_list_remove(c->timers, h);
	g_free(h);
}

static ftimer *fc_earliest(fclock *c)
{
	ftimer *best = NULL;
	for (GList *i = c->timers; i; i = i->next) {
		ftimer *t = i->data;
		if (!best || t->due < best->due || (t->due == best->due && t->seq < best->seq))
			best = t;
	}
	return best;
}

/* Advances to now + ms, firing every timer due on the way. */
static void fc_advance(fclock *c, guint64 ms)
{
	guint64 end = c->now + ms;
	ftimer *t;
	while ((t = fc_earliest(c)) && t->due <= end) {
		c->now = t->due;
		c->timers = g_list_remove(c->timers, t);
		sip_timer_fn fn = t->fn;
		void *arg = t->arg;
		g_free(t);
		fn(arg);
	}
	c->now = end;
}

/* --- fake transport: records (time, bytes) of every send --------------- */
typedef struct {
	sip_transport base;
	fclock *clock;
	GPtrArray *sent;  /* "T:bytes" strings */
	int fail;
} ftp;

static int ftp_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len)
{
	ftp *f = (ftp *)tp;
	(void)flow;
	(void)to;
	if (f->fail)
		return f->fail;
	g_ptr_array_add(f->sent, g_strdup_printf("%" G_GUINT64_FORMAT ":%.*s", f->clock->now, (int)len, data));
	return 0;
}

static void ftp_destroy(sip_transport *tp)
{
	(void)tp;
}

static const sip_transport_ops ftp_ops = { .send = ftp_send, .destroy = ftp_destroy };

typedef struct {
	fclock clock;
	ftp tp;
	sip_tx_layer *l;
	sip_tx_dest dest;
	/* what the owner saw */
	GArray *statuses;
	int events[3];
	int acks_built;
} fixture;

static int make_ack(void *user, const char *req, size_t req_len, const char *resp, size_t resp_len, GByteArray *out)
{
	fixture *fx = user;
	(void)req; (void)req_len; (void)resp; (void)resp_len;
	fx->acks_built++;
	g_byte_array_append(out, (const guint8 *)"ACK", 3);
	return 0;
}

static void fx_setup(fixture *fx, sip_tp_kind kind)
{
	memset(fx, 0, sizeof *fx);
	fx->tp.base.ops = &ftp_ops;
	fx->tp.base.kind = kind;
	fx->tp.clock = &fx->clock;
	fx->tp.sent = g_ptr_array_new_with_free_func(g_free);
	jn_addr_parse("127.0.0.1:5070", 0, &fx->dest.addr);
	fx->dest.tp = &fx->tp.base;
	sip_tx_opts o = { .clock = { fc_start, fc_cancel, &fx->clock }, .t1 = 500, .t2 = 4000, .t4 = 5000,
			  .make_ack = make_ack, .user = fx };
	fx->l = sip_tx_layer_new(&o);
	fx->statuses = g_array_new(FALSE, FALSE, sizeof(int));
}

static void fx_teardown(fixture *fx)
{
	sip_tx_layer_free(fx->l);
	g_assert_null(fx->clock.timers); /* every timer was cancelled */
	g_ptr_array_free(fx->tp.sent, TRUE);
	g_array_free(fx->statuses, TRUE);
}

static void on_resp(void *user, sip_tx *tx, int status, const char *data, size_t len)
{
	fixture *fx = user;
	(void)tx; (void)data; (void)len;
	g_array_append_val(fx->statuses, status);
}

static void on_ev(void *user, sip_tx *tx, sip_tx_event ev)
{
	fixture *fx = user;
	(void)tx;
	fx->events[ev]++;
}

/* The times (ms) at which sends happened, as "0,500,1500". */
static char *send_times(fixture *fx)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < fx->tp.sent->len; i++) {
		const char *e = g_ptr_array_index(fx->tp.sent, i);
		g_string_append_len(s, e, strchr(e, ':') - e);
		if (i + 1 < fx->tp.sent->len)
			g_string_append_c(s, ',');
	}
	return g_string_free(s, FALSE);
}

static void assert_times(fixture *fx, const char *want)
{
	char *got = send_times(fx);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

static void test_client_nict_udp_timeout(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_client_new(fx.l, "b1|OPTIONS", false, &fx.dest, "OPTIONS", 7, on_resp, &fx);
	g_assert_nonnull(tx);
	fc_advance(&fx.clock, 40000);
	/* Timer E: 500, 1000, 2000, then T2 = 4000; Timer F at 64*T1 = 32 s. */
	assert_times(&fx, "0,500,1500,3500,7500,11500,15500,19500,23500,27500,31500");
	g_assert_cmpuint(fx.statuses->len, ==, 1);
	g_assert_cmpint(g_array_index(fx.statuses, int, 0), ==, 408);
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	fx_teardown(&fx);
}

static void test_client_nict_proceeding_then_final(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_client_new(fx.l, "b2|REGISTER", false, &fx.dest, "REGISTER", 8, on_resp, &fx);
	fc_advance(&fx.clock, 600); /* one retransmission at 500 */
	g_assert_false(sip_tx_client_receive(tx, 100, "100", 3));
	g_assert_cmpint(sip_tx_get_state(tx), ==, SIP_TX_PROCEEDING);
	/* The armed E still fires at 1500; in Proceeding it is then reset to T2. */
	fc_advance(&fx.clock, 5000);
	assert_times(&fx, "0,500,1500,5500");
	g_assert_false(sip_tx_client_receive(tx, 200, "200", 3));
	g_assert_cmpint(sip_tx_get_state(tx), ==, SIP_TX_COMPLETED);
	/* A retransmitted 200 is absorbed in Completed. */
	g_assert_true(sip_tx_client_receive(tx, 200, "200", 3));
	g_assert_cmpuint(fx.statuses->len, ==, 2);
	fc_advance(&fx.clock, 4999);
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 1);
	fc_advance(&fx.clock, 1); /* Timer K = T4 */
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	fx_teardown(&fx);
}

static void test_client_ict_udp(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_client_new(fx.l, "b3|INVITE", true, &fx.dest, "INVITE", 6, on_resp, &fx);
	fc_advance(&fx.clock, 4000);
	/* Timer A doubles without a cap: 500, 1000, 2000... */
	assert_times(&fx, "0,500,1500,3500");
	g_assert_false(sip_tx_client_receive(tx, 486, "486", 3));
	g_assert_cmpint(fx.acks_built, ==, 1);
	g_assert_cmpuint(fx.tp.sent->len, ==, 5);
	g_assert_true(g_str_has_suffix(g_ptr_array_index(fx.tp.sent, 4), ":ACK"));
	/* A retransmitted 486 gets the same ACK again, is not passed up. */
	g_assert_true(sip_tx_client_receive(tx, 486, "486", 3));
	g_assert_cmpuint(fx.tp.sent->len, ==, 6);
	g_assert_cmpuint(fx.statuses->len, ==, 1);
	fc_advance(&fx.clock, 31999);
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 1);
	fc_advance(&fx.clock, 1); /* Timer D = 32 s */
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	fx_teardown(&fx);
}

static void test_client_ict_timeout_and_2xx(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx_client_new(fx.l, "b4|INVITE", true, &fx.dest, "INVITE", 6, on_resp, &fx);
	fc_advance(&fx.clock, 40000);
	/* Timer B at 64*T1 = 32 s ends it: 0.5+1+2+4+8+16 = 31.5 s last resend. */
	assert_times(&fx, "0,500,1500,3500,7500,15500,31500");
	g_assert_cmpint(g_array_index(fx.statuses, int, 0), ==, 408);
	fx_teardown(&fx);

	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_client_new(fx.l, "b5|INVITE", true, &fx.dest, "INVITE", 6, on_resp, &fx);
	g_assert_false(sip_tx_client_receive(tx, 180, "180", 3));
	fc_advance(&fx.clock, 10000); /* no resends after a 1xx */
	g_assert_cmpuint(fx.tp.sent->len, ==, 1);
	g_assert_false(sip_tx_client_receive(tx, 200, "200", 3));
	g_assert_cmpint(sip_tx_get_state(tx), ==, SIP_TX_ACCEPTED);
	/* RFC 6026: 2xx retransmissions still go up (the TU ACKs each). */
	g_assert_false(sip_tx_client_receive(tx, 200, "200", 3));
	g_assert_cmpuint(fx.statuses->len, ==, 3);
	g_assert_cmpint(fx.acks_built, ==, 0);
	fc_advance(&fx.clock, 32000); /* Timer M */
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	fx_teardown(&fx);
}

static void test_client_reliable_no_retransmit(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_TCP);
	sip_tx *tx = sip_tx_client_new(fx.l, "b6|OPTIONS", false, &fx.dest, "OPTIONS", 7, on_resp, &fx);
	fc_advance(&fx.clock, 20000);
	g_assert_cmpuint(fx.tp.sent->len, ==, 1);
	g_assert_false(sip_tx_client_receive(tx, 200, "200", 3));
	/* Timer K is zero over TCP: gone right away. */
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	fx_teardown(&fx);
}

static void test_server_nist_absorb(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_server_new(fx.l, "s1", false, &fx.dest, on_ev, &fx);
	g_assert_null(sip_tx_server_new(fx.l, "s1", false, &fx.dest, on_ev, &fx));
	g_assert_true(sip_tx_server_find(fx.l, "s1") == tx);
	/* A retransmission in Trying: nothing to resend yet, still absorbed. */
	g_assert_true(sip_tx_server_receive(tx, false));
	g_assert_cmpuint(fx.tp.sent->len, ==, 0);
	g_assert_cmpint(sip_tx_respond(tx, 200, "200 OK", 6), ==, 0);
	g_assert_cmpint(sip_tx_respond(tx, 200, "200 OK", 6), ==, EINVAL);
	fc_advance(&fx.clock, 1000);
	g_assert_true(sip_tx_server_receive(tx, false)); /* resends the 200 */
	g_assert_cmpuint(fx.tp.sent->len, ==, 2);
	g_assert_true(g_str_has_suffix(g_ptr_array_index(fx.tp.sent, 1), ":200 OK"));
	fc_advance(&fx.clock, 30999);
	g_assert_nonnull(sip_tx_server_find(fx.l, "s1"));
	fc_advance(&fx.clock, 1); /* Timer J = 64*T1 after the final */
	g_assert_null(sip_tx_server_find(fx.l, "s1"));
	g_assert_cmpint(fx.events[SIP_TX_EV_TERMINATED], ==, 1);
	fx_teardown(&fx);
}

static void test_server_ist_non2xx(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_server_new(fx.l, "s2", true, &fx.dest, on_ev, &fx);
	g_assert_cmpint(sip_tx_respond(tx, 100, "100", 3), ==, 0);
	g_assert_true(sip_tx_server_receive(tx, false)); /* INVITE again: 100 again */
	g_assert_cmpuint(fx.tp.sent->len, ==, 2);
	fx.clock.now = 1000;
	g_assert_cmpint(sip_tx_respond(tx, 486, "486", 3), ==, 0);
	fc_advance(&fx.clock, 8000);
	/* Timer G: 500, 1000, 2000, 4000 (capped at T2) after the 486. */
	assert_times(&fx, "0,0,1000,1500,2500,4500,8500");
	g_assert_true(sip_tx_server_receive(tx, true)); /* ACK: Confirmed */
	g_assert_cmpint(sip_tx_get_state(tx), ==, SIP_TX_CONFIRMED);
	g_assert_true(sip_tx_server_receive(tx, true)); /* ACK again: absorbed */
	g_assert_true(sip_tx_server_receive(tx, false)); /* INVITE again: nothing */
	fc_advance(&fx.clock, 20000);
	g_assert_cmpuint(fx.tp.sent->len, ==, 7);
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0); /* Timer I = T4 */
	g_assert_cmpint(fx.events[SIP_TX_EV_TIMEOUT], ==, 0);
	fx_teardown(&fx);
}

static void test_server_ist_no_ack(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_server_new(fx.l, "s3", true, &fx.dest, on_ev, &fx);
	sip_tx_respond(tx, 480, "480", 3);
	fc_advance(&fx.clock, 40000);
	/* G until H (32 s): 0, .5, 1.5, 3.5, 7.5, 11.5 ... 31.5 */
	assert_times(&fx, "0,500,1500,3500,7500,11500,15500,19500,23500,27500,31500");
	g_assert_cmpint(fx.events[SIP_TX_EV_TIMEOUT], ==, 1);
	g_assert_cmpint(fx.events[SIP_TX_EV_TERMINATED], ==, 1);
	fx_teardown(&fx);
}

static void test_server_ist_2xx(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_server_new(fx.l, "s4", true, &fx.dest, on_ev, &fx);
	sip_tx_respond(tx, 200, "200", 3);
	g_assert_cmpint(sip_tx_get_state(tx), ==, SIP_TX_ACCEPTED);
	fc_advance(&fx.clock, 2000);
	assert_times(&fx, "0,500,1500");
	/* An ACK with the INVITE's branch in Accepted is for the TU. */
	g_assert_false(sip_tx_server_receive(tx, true));
	sip_tx_server_acked(tx);
	fc_advance(&fx.clock, 10000);
	g_assert_cmpuint(fx.tp.sent->len, ==, 3);
	g_assert_true(sip_tx_server_receive(tx, false)); /* INVITE again: 2xx again */
	g_assert_cmpuint(fx.tp.sent->len, ==, 4);
	fc_advance(&fx.clock, 20000); /* Timer L */
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	fx_teardown(&fx);
}

static void test_server_reliable(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_TCP);
	sip_tx *tx = sip_tx_server_new(fx.l, "s5", true, &fx.dest, on_ev, &fx);
	sip_tx_respond(tx, 486, "486", 3);
	fc_advance(&fx.clock, 5000);
	g_assert_cmpuint(fx.tp.sent->len, ==, 1); /* no Timer G over TCP */
	g_assert_true(sip_tx_server_receive(tx, true));
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0); /* Timer I = 0 */
	tx = sip_tx_server_new(fx.l, "s6", false, &fx.dest, on_ev, &fx);
	sip_tx_respond(tx, 200, "200", 3);
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0); /* Timer J = 0 */
	fx_teardown(&fx);
}

static void test_transport_error(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *tx = sip_tx_server_new(fx.l, "s7", false, &fx.dest, on_ev, &fx);
	fx.tp.fail = ECONNREFUSED;
	g_assert_cmpint(sip_tx_respond(tx, 200, "200", 3), ==, ECONNREFUSED);
	g_assert_cmpint(fx.events[SIP_TX_EV_TRANSPORT_ERROR], ==, 1);
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	/* Client: a failing first send gives NULL and leaves nothing behind. */
	g_assert_null(sip_tx_client_new(fx.l, "c7|OPTIONS", false, &fx.dest, "X", 1, on_resp, &fx));
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	fx_teardown(&fx);
}

/* CANCEL matching lives in the stack (it looks the INVITE up by key): here
 * the INVITE's transaction answers 487 while the CANCEL's own answers 200. */
static void test_cancel(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx *inv = sip_tx_server_new(fx.l, "z9hG4bKc|127.0.0.1:5070|INVITE", true, &fx.dest, on_ev, &fx);
	sip_tx_respond(inv, 180, "180", 3);
	sip_tx *found = sip_tx_server_find(fx.l, "z9hG4bKc|127.0.0.1:5070|INVITE");
	g_assert_true(found == inv);
	sip_tx *can = sip_tx_server_new(fx.l, "z9hG4bKc|127.0.0.1:5070|CANCEL", false, &fx.dest, on_ev, &fx);
	g_assert_nonnull(can);
	g_assert_cmpint(sip_tx_respond(can, 200, "200", 3), ==, 0);
	g_assert_cmpint(sip_tx_respond(inv, 487, "487", 3), ==, 0);
	g_assert_true(sip_tx_server_receive(inv, true));
	fc_advance(&fx.clock, 40000);
	g_assert_cmpuint(sip_tx_layer_count(fx.l), ==, 0);
	g_assert_cmpint(fx.events[SIP_TX_EV_TERMINATED], ==, 2);
	fx_teardown(&fx);
}

/* Freeing a layer with live transactions tells each owner and cancels all timers. */
static void test_layer_free(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	sip_tx_client_new(fx.l, "c8|INVITE", true, &fx.dest, "INVITE", 6, on_resp, &fx);
	sip_tx *s = sip_tx_server_new(fx.l, "s8", true, &fx.dest, on_ev, &fx);
	sip_tx_respond(s, 500, "500", 3);
	fx_teardown(&fx);
	g_assert_cmpint(fx.events[SIP_TX_EV_TERMINATED], ==, 1);
}

/* The real-clock timers: one GSource, fired in due order, cancellable. */
static void record(void *arg)
{
	GString *s = arg;
	g_string_append_c(s, (char)('0' + s->len % 10));
}

typedef struct {
	GString *order;
	char tag;
} tagged;

static void record_tag(void *arg)
{
	tagged *t = arg;
	g_string_append_c(t->order, t->tag);
}

static void test_glib_timers(void)
{
	sip_timers *t = sip_timers_new();
	sip_clock c = sip_timers_clock(t);
	GString *order = g_string_new(NULL);
	tagged a = { order, 'a' }, b = { order, 'b' }, x = { order, 'x' }, d = { order, 'd' };
	c.start(c.self, 30, record_tag, &a);
	c.start(c.self, 10, record_tag, &b);
	void *hx = c.start(c.self, 5, record_tag, &x);
	c.start(c.self, 10, record_tag, &d); /* same due time as b: after it */
	g_assert_cmpuint(sip_timers_pending(t), ==, 4);
	c.cancel(c.self, hx);
	g_assert_cmpuint(sip_timers_pending(t), ==, 3);
	while (sip_timers_pending(t))
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(order->str, ==, "bda");
	/* Freeing with timers pending cancels them. */
	c.start(c.self, 100000, record, order);
	sip_timers_free(t);
	g_assert_cmpstr(order->str, ==, "bda");
	g_string_free(order, TRUE);
}

/* A closed connection fails what waits on it with 503 at once: a request
 * bound to the flow, one sent by address to the flow's peer (its new
 * outbound connection); not one to another peer, nor one already final,
 * nor a server transaction. */
static void test_flow_closed(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_TCP);
	jn_addr local, other;
	jn_addr_parse("127.0.0.1:5060", 0, &local);
	jn_addr_parse("127.0.0.1:5071", 0, &other);
	sip_flow *flow = sip_flow_new(&fx.tp.base, &fx, &fx.dest.addr, &local);
	sip_tx_dest on_flow = fx.dest, to_other = fx.dest;
	on_flow.flow = flow;
	to_other.addr = other;
	g_assert_nonnull(sip_tx_client_new(fx.l, "f1|OPTIONS", false, &on_flow, "O1", 2, on_resp, &fx));
	sip_tx *inv = sip_tx_client_new(fx.l, "f2|INVITE", true, &fx.dest, "I2", 2, on_resp, &fx);
	g_assert_nonnull(inv);
	g_assert_false(sip_tx_client_receive(inv, 180, "180", 3));
	g_assert_nonnull(sip_tx_client_new(fx.l, "f3|OPTIONS", false, &to_other, "O3", 2, on_resp, &fx));
	sip_tx *done = sip_tx_client_new(fx.l, "f4|INVITE", true, &on_flow, "I4", 2, on_resp, &fx);
	g_assert_false(sip_tx_client_receive(done, 200, "200", 3)); /* ACCEPTED: final */
	g_assert_nonnull(sip_tx_server_new(fx.l, "s5", false, &on_flow, on_ev, &fx));
	g_assert_cmpuint(fx.statuses->len, ==, 2);
	g_assert_cmpuint(sip_tx_layer_flow_closed(fx.l, flow), ==, 2);
	g_assert_cmpuint(fx.statuses->len, ==, 4);
	g_assert_cmpint(g_array_index(fx.statuses, int, 2), ==, 503);
	g_assert_cmpint(g_array_index(fx.statuses, int, 3), ==, 503);
	g_assert_null(sip_tx_client_find(fx.l, "f1|OPTIONS"));
	g_assert_null(sip_tx_client_find(fx.l, "f2|INVITE"));
	g_assert_nonnull(sip_tx_client_find(fx.l, "f3|OPTIONS"));
	g_assert_nonnull(sip_tx_client_find(fx.l, "f4|INVITE"));
	g_assert_nonnull(sip_tx_server_find(fx.l, "s5"));
	/* Over UDP there are no connections: nothing waits on a flow's peer. */
	sip_flow_detach(flow);
	sip_flow_unref(flow);
	fx_teardown(&fx);
}

static void test_flow_closed_udp(void)
{
	fixture fx;
	fx_setup(&fx, SIP_TP_UDP);
	jn_addr local;
	jn_addr_parse("127.0.0.1:5060", 0, &local);
	sip_flow *flow = sip_flow_new(&fx.tp.base, &fx, &fx.dest.addr, &local);
	g_assert_nonnull(sip_tx_client_new(fx.l, "u1|OPTIONS", false, &fx.dest, "O1", 2, on_resp, &fx));
	g_assert_cmpuint(sip_tx_layer_flow_closed(fx.l, flow), ==, 0);
	g_assert_cmpuint(fx.statuses->len, ==, 0);
	sip_flow_detach(flow);
	sip_flow_unref(flow);
	fx_teardown(&fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_tx/client/nict-udp-timeout", test_client_nict_udp_timeout);
	g_test_add_func("/sip_tx/client/nict-proceeding", test_client_nict_proceeding_then_final);
	g_test_add_func("/sip_tx/client/ict-udp", test_client_ict_udp);
	g_test_add_func("/sip_tx/client/ict-timeout-2xx", test_client_ict_timeout_and_2xx);
	g_test_add_func("/sip_tx/client/reliable", test_client_reliable_no_retransmit);
	g_test_add_func("/sip_tx/server/nist-absorb", test_server_nist_absorb);
	g_test_add_func("/sip_tx/server/ist-non2xx", test_server_ist_non2xx);
	g_test_add_func("/sip_tx/server/ist-no-ack", test_server_ist_no_ack);
	g_test_add_func("/sip_tx/server/ist-2xx", test_server_ist_2xx);
	g_test_add_func("/sip_tx/server/reliable", test_server_reliable);
	g_test_add_func("/sip_tx/transport-error", test_transport_error);
	g_test_add_func("/sip_tx/cancel", test_cancel);
	g_test_add_func("/sip_tx/flow-closed", test_flow_closed);
	g_test_add_func("/sip_tx/flow-closed-udp", test_flow_closed_udp);
	g_test_add_func("/sip_tx/layer-free", test_layer_free);
	g_test_add_func("/sip_tx/glib-timers", test_glib_timers);
	return g_test_run();
}
