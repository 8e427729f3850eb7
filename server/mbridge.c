#define JN_LOG_TAG "mbridge"
#include "server/mbridge.h"

#include <errno.h>
#include <string.h>

#include "server/workers.h"
#include "util/log.h"

#define TICK_US 20000u

typedef struct {
	rtc_rtp *rtp;
	rtc_pc *pc;
	char *codec, *fmtp;
	uint64_t send_errors;
	bool timed_out;
} side_state;

struct jn_mbridge {
	jn_mbridge_opts o;
	char *id;
	media_bridge *br;
	side_state side[2];
	GSource *timer;		/* only while ticking; ready time set by arm() */
	bool ticking;		/* 20 ms ticks: transcoding or a digit to send */
	struct mb_clock *clock;	/* the context's, for media timeouts */
	GList clock_link;	/* in clock->due while clock_linked (data = this) */
	bool clock_linked;
	gint64 clock_due;
	uint64_t next_tick_us;
	media_bridge_out out;
	uint8_t rx_buf[RTC_RTP_BUF]; /* rtc_pc packets, copied once */
	uint8_t tx_buf[RTC_RTP_BUF]; /* encoded packets, with room for SRTP */
};

typedef struct {
	void (*fn)(void *user, const char *id, int side);
	void *user;
	char *id;
	int side;
} timeout_msg;

static uint64_t now_us(void)
{
	return (uint64_t)g_get_monotonic_time();
}

static gboolean deliver_timeout(gpointer data)
{
	timeout_msg *m = data;
	m->fn(m->user, m->id, m->side);
	g_free(m->id);
	g_free(m);
	return G_SOURCE_REMOVE;
}

static void send_one(jn_mbridge *b, const media_bridge_pkt *p, uint8_t *in_buf, size_t in_cap)
{
	side_state *s = &b->side[p->leg & 1];
	uint8_t *buf = p->data;
	size_t cap = in_cap;

	/* A relayed packet is the caller's buffer (room for SRTP); an encoded
	 * one is the bridge's: copy it where the tag fits. */
	if (buf != in_buf) {
		if (p->len > sizeof b->tx_buf - RTC_RTP_TRAILER) {
			s->send_errors++;
			return;
		}
		memcpy(b->tx_buf, p->data, p->len);
		buf = b->tx_buf;
		cap = sizeof b->tx_buf;
	}
	int rc = EAGAIN;
	if (s->rtp)
		rc = rtc_rtp_send(s->rtp, buf, p->len, cap);
	else if (s->pc)
		rc = rtc_pc_send_rtp(s->pc, buf, p->len, cap);
	if (rc)
		s->send_errors++;
}

static void flush(jn_mbridge *b, uint8_t *in_buf, size_t in_cap)
{
	media_bridge_out *out = &b->out;
	for (unsigned i = 0; i < out->count; i++)
		send_one(b, &out->pkt[i], in_buf, in_cap);
	if (b->o.digit)
		for (unsigned i = 0; i < out->n_digits; i++)
			b->o.digit(b->o.user, out->digits[i].from_leg, out->digits[i].digit,
				   out->digits[i].end, out->digits[i].duration_ms);
}

static void push(jn_mbridge *b, int side, uint8_t *buf, size_t len, size_t cap)
{
	if (media_bridge_push(b->br, side, buf, len, now_us(), &b->out))
		return; /* counted by the bridge */
	flush(b, buf, cap);
}

static void on_rtp_side0(void *user, uint8_t *buf, size_t len, size_t cap)
{
	push(user, 0, buf, len, cap);
}

static void on_rtp_side1(void *user, uint8_t *buf, size_t len, size_t cap)
{
	push(user, 1, buf, len, cap);
}

static void check_timeout(jn_mbridge *b, uint64_t now)
{
	if (!b->o.media_timeout_ms || !b->o.timeout)
		return;
	for (int i = 0; i < 2; i++) {
		side_state *s = &b->side[i];
		if (s->timed_out)
			continue;
		if (media_bridge_idle_us(b->br, i, now) < (uint64_t)b->o.media_timeout_ms * 1000u)
			continue;
		s->timed_out = true;
		jn_info(b->id, "media timeout on side %d (%u ms)", i, b->o.media_timeout_ms);
		timeout_msg *m = g_new(timeout_msg, 1);
		*m = (timeout_msg){ b->o.timeout, b->o.user, g_strdup(b->id), i };
		jn_core_post(deliver_timeout, m);
	}
}

/* When check_timeout could next fire: the earliest moment a side that has
 * not timed out yet reaches media_timeout_ms of silence; -1 for never.
 * Packets only push it later, so a timer armed for it may fire early:
 * it then re-arms, about once per media_timeout_ms on a live call. */
static gint64 timeout_due(jn_mbridge *b, uint64_t now)
{
	gint64 due = -1;
	if (!b->o.media_timeout_ms || !b->o.timeout)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (b->side[i].timed_out)
			continue;
		uint64_t t = now - media_bridge_idle_us(b->br, i, now) + (uint64_t)b->o.media_timeout_ms * 1000u;
		if (due < 0 || (gint64)t < due)
			due = (gint64)t;
	}
	return due;
}

/* The media timeouts of the bridges that do not tick share one source per
 * context: a queue sorted by due time that sets its ready time. GLib walks
 * every source of a context on each wake-up, so a source per relayed call
 * made every packet on the worker cost more with each call. Bridges share
 * media_timeout_ms, so an insert walks a step or two from the tail. */
typedef struct mb_clock {
	GSource src;
	GQueue due;	/* jn_mbridge by clock_due, earliest first */
	unsigned users; /* bridges on this context */
} mb_clock;

static void clock_set(mb_clock *c)
{
	gint64 t = c->due.head ? ((jn_mbridge *)c->due.head->data)->clock_due : -1;
	if (g_source_get_ready_time(&c->src) != t)
		g_source_set_ready_time(&c->src, t);
}

static void clock_unlink(jn_mbridge *b)
{
	if (b->clock_linked)
		g_queue_unlink(&b->clock->due, &b->clock_link);
	b->clock_linked = false;
}

static void clock_insert(jn_mbridge *b, gint64 due)
{
	mb_clock *c = b->clock;
	GList *l = c->due.tail;
	b->clock_due = due;
	while (l && ((jn_mbridge *)l->data)->clock_due > due)
		l = l->prev;
	if (l)
		g_queue_insert_after_link(&c->due, l, &b->clock_link);
	else
		g_queue_push_head_link(&c->due, &b->clock_link);
	b->clock_linked = true;
	if (c->due.head == &b->clock_link)
		clock_set(c);
}

static gboolean on_tick(gpointer data);

static gboolean timer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	(void)src;
	return cb(data);
}

/* A bare source driven by its ready time alone. */
static GSourceFuncs timer_funcs = {
	.dispatch = timer_dispatch,
};

/* Sets when the bridge runs next: its own source every 20 ms while
 * ticking; otherwise its place in the clock at the next possible media
 * timeout (or nowhere). */
static void arm(jn_mbridge *b, uint64_t now)
{
	if (b->ticking) {
		clock_unlink(b);
		if (!b->timer) {
			b->timer = g_source_new(&timer_funcs, sizeof(GSource));
			g_source_set_name(b->timer, "jn_mbridge tick");
			g_source_set_callback(b->timer, on_tick, b, NULL);
			g_source_set_ready_time(b->timer, (gint64)b->next_tick_us);
			g_source_attach(b->timer, b->o.context);
		} else if (g_source_get_ready_time(b->timer) != (gint64)b->next_tick_us) {
			g_source_set_ready_time(b->timer, (gint64)b->next_tick_us);
		}
		return;
	}
	if (b->timer) { /* may be the source being dispatched: GLib holds it */
		g_source_destroy(b->timer);
		g_source_unref(b->timer);
		b->timer = NULL;
	}
	gint64 due = timeout_due(b, now);
	if (b->clock_linked && due == b->clock_due)
		return;
	clock_unlink(b);
	if (due >= 0)
		clock_insert(b, due);
}

static gboolean clock_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	mb_clock *c = (mb_clock *)src;
	uint64_t now = now_us();
	(void)cb;
	(void)data;

	/* Each bridge due is moved on (or out) before the next: one pass. */
	for (unsigned n = c->due.length; n && c->due.head; n--) {
		jn_mbridge *b = c->due.head->data;
		if (b->clock_due > (gint64)now)
			break;
		clock_unlink(b);
		check_timeout(b, now);
		arm(b, now);
	}
	clock_set(c);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs clock_funcs = {
	.dispatch = clock_dispatch,
};

/* The context's clock, found through the context itself (no global table). */
static mb_clock *clock_get(GMainContext *ctx)
{
	GSource *s = g_main_context_find_source_by_funcs_user_data(ctx, &clock_funcs, &clock_funcs);
	if (!s) {
		s = g_source_new(&clock_funcs, sizeof(mb_clock));
		g_queue_init(&((mb_clock *)s)->due);
		g_source_set_name(s, "jn_mbridge clock");
		g_source_set_callback(s, NULL, &clock_funcs, NULL); /* the key for the lookup */
		g_source_set_ready_time(s, -1);
		g_source_attach(s, ctx);
		g_source_unref(s); /* the context holds it until the last bridge goes */
	}
	mb_clock *c = (mb_clock *)s;
	c->users++;
	return c;
}

static void clock_put(jn_mbridge *b)
{
	mb_clock *c = b->clock;
	if (!c)
		return;
	clock_unlink(b);
	b->clock = NULL;
	if (--c->users == 0)
		g_source_destroy(&c->src);
}

static gboolean on_tick(gpointer data)
{
	jn_mbridge *b = data;
	uint64_t now = now_us();

	if (b->ticking) {
		unsigned sent = 0;
		/* GLib timers fire late under load: catch up on the ticks
		 * missed (a few at most) so the decoding paths keep 20 ms per
		 * tick. */
		for (int n = 0; n < 4 && now >= b->next_tick_us; n++) {
			media_bridge_tick(b->br, now, &b->out);
			sent += b->out.count;
			flush(b, NULL, 0);
			b->next_tick_us += TICK_US;
		}
		if (now >= b->next_tick_us)
			b->next_tick_us = now + TICK_US;
		/* A relay ticks only to send key presses: a tick with nothing
		 * to send means the last press is done. */
		if (media_bridge_is_relay(b->br) && !sent)
			b->ticking = false;
	}
	check_timeout(b, now);
	arm(b, now);
	return G_SOURCE_CONTINUE;
}

/* Starts 20 ms ticks now (a key press to send on a relay). */
static void start_ticks(jn_mbridge *b)
{
	uint64_t now = now_us();
	if (b->ticking)
		return;
	b->ticking = true;
	b->next_tick_us = now;
	arm(b, now);
}

int jn_mbridge_new(const jn_mbridge_opts *o, jn_mbridge **out)
{
	jn_mbridge *b = g_new0(jn_mbridge, 1);
	media_bridge_leg legs[2];

	*out = NULL;
	b->o = *o;
	b->id = g_strdup(o->id ? o->id : "");
	b->o.id = b->id;
	for (int i = 0; i < 2; i++) {
		legs[i] = o->side[i];
		b->side[i].codec = g_strdup(o->side[i].codec);
		b->side[i].fmtp = g_strdup(o->side[i].fmtp);
		legs[i].codec = b->side[i].codec;
		legs[i].fmtp = b->side[i].fmtp;
		b->o.side[i] = legs[i];
	}
	int rc = media_bridge_create(&legs[0], &legs[1], &b->br);
	if (rc) {
		jn_warn(b->id, "cannot bridge %s and %s (%d)", o->side[0].codec ? o->side[0].codec : "?",
			o->side[1].codec ? o->side[1].codec : "?", rc);
		jn_mbridge_free(b);
		return rc;
	}
	jn_info(b->id, "bridge %s <-> %s (%s)", legs[0].codec, legs[1].codec,
		media_bridge_is_relay(b->br) ? "relay" : "transcode");
	uint64_t now = now_us();
	b->ticking = !media_bridge_is_relay(b->br);
	/* A relay's tick at once (it generates nothing yet) marks the
	 * bridge's start, from which a side that never sends is timed out;
	 * a transcoder's first tick does that 20 ms later, as it always did. */
	if (!b->ticking)
		media_bridge_tick(b->br, now, &b->out);
	b->next_tick_us = now + TICK_US;
	b->clock_link.data = b;
	b->clock = clock_get(o->context);
	arm(b, now);
	*out = b;
	return 0;
}

jn_mbridge *jn_mbridge_free(jn_mbridge *b)
{
	if (!b)
		return NULL;
	if (b->timer) {
		g_source_destroy(b->timer);
		g_source_unref(b->timer);
	}
	clock_put(b);
	for (int i = 0; i < 2; i++) {
		if (b->side[i].rtp)
			rtc_rtp_set_receiver(b->side[i].rtp, NULL, NULL);
		g_free(b->side[i].codec);
		g_free(b->side[i].fmtp);
	}
	media_bridge_free(b->br);
	g_free(b->id);
	g_free(b);
	return NULL;
}

void jn_mbridge_attach_rtp(jn_mbridge *b, int side, rtc_rtp *leg)
{
	side &= 1;
	b->side[side].rtp = leg;
	b->side[side].pc = NULL;
	rtc_rtp_set_receiver(leg, side ? on_rtp_side1 : on_rtp_side0, b);
}

void jn_mbridge_attach_pc(jn_mbridge *b, int side, rtc_pc *leg)
{
	side &= 1;
	if (b->side[side].rtp)
		rtc_rtp_set_receiver(b->side[side].rtp, NULL, NULL);
	b->side[side].rtp = NULL;
	b->side[side].pc = leg;
}

void jn_mbridge_rx(jn_mbridge *b, int side, const uint8_t *buf, size_t len)
{
	if (len > sizeof b->rx_buf - RTC_RTP_TRAILER)
		return;
	memcpy(b->rx_buf, buf, len);
	push(b, side & 1, b->rx_buf, len, sizeof b->rx_buf);
}

int jn_mbridge_send_digit(jn_mbridge *b, int to_side, char digit, unsigned duration_ms)
{
	int rc = media_bridge_send_digit(b->br, to_side, digit, duration_ms);
	if (!rc)
		start_ticks(b);
	return rc;
}

void jn_mbridge_get_stats(const jn_mbridge *b, jn_mbridge_stats *st)
{
	memset(st, 0, sizeof *st);
	st->relay = media_bridge_is_relay(b->br);
	for (int i = 0; i < 2; i++) {
		media_bridge_stats ms;
		media_bridge_get_stats(b->br, i, &ms);
		st->codec[i] = ms.codec;
		st->rx_packets[i] = ms.rx_packets;
		st->tx_packets[i] = ms.tx_packets;
		st->rx_dropped[i] = ms.rx_dropped;
		st->send_errors[i] = b->side[i].send_errors;
		st->decoded[i] = ms.decoded;
		st->concealed[i] = ms.concealed;
		st->lost[i] = ms.lost;
		st->jitter_ms[i] = ms.jitter_ms;
		st->timed_out[i] = b->side[i].timed_out;
	}
}

media_bridge *jn_mbridge_media(jn_mbridge *b)
{
	return b->br;
}
