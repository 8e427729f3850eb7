#include "sip/sip_ws.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>

#define JN_LOG_TAG "sip"
#include "util/log.h"

typedef struct sip_ws sip_ws;

typedef struct {
	sip_ws *w;
	struct lws *wsi;
	sip_flow *flow;
	GByteArray *rx;  /* fragments of the message being received */
	GQueue out;      /* GByteArray each, LWS_PRE bytes of headroom first */
	bool text;       /* answer in the frame type the client uses */
} ws_conn;

struct sip_ws {
	sip_transport base;   /* WS */
	sip_transport secure; /* WSS: connections that came through the TLS vhost */
	unsigned max_connections;
	GHashTable *conns; /* ws_conn* set */
};

static void conn_free(ws_conn *c)
{
	GByteArray *b;
	if (c->flow && c->w->base.closed)
		c->w->base.closed(c->w->base.user, c->flow);
	if (c->flow) {
		sip_flow_detach(c->flow);
		c->flow = sip_flow_unref(c->flow);
	}
	while ((b = g_queue_pop_head(&c->out)))
		g_byte_array_unref(b);
	if (c->rx)
		g_byte_array_unref(c->rx);
	g_free(c);
}

static void addr_of(int fd, bool peer, jn_addr *a)
{
	memset(a, 0, sizeof *a);
	a->len = sizeof a->ss;
	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a->ss, &a->len) < 0)
		a->len = 0;
}

static int on_established(sip_ws *w, struct lws *wsi, ws_conn **slot)
{
	if (g_hash_table_size(w->conns) >= w->max_connections) {
		jn_warn(NULL, "SIP WS: %u connections open; refusing another", w->max_connections);
		return -1;
	}
	ws_conn *c = g_new0(ws_conn, 1);
	jn_addr remote, local;
	int fd = lws_get_socket_fd(wsi);
	addr_of(fd, true, &remote);
	addr_of(fd, false, &local);
	c->w = w;
	c->wsi = wsi;
	c->text = true;
	c->flow = sip_flow_new(lws_is_ssl(wsi) ? &w->secure : &w->base, c, &remote, &local);
	g_queue_init(&c->out);
	g_hash_table_add(w->conns, c);
	*slot = c;
	char rb[80];
	jn_debug(NULL, "SIP %s flow %" G_GUINT64_FORMAT " from %s", sip_tp_name(sip_flow_transport(c->flow)->kind),
		 sip_flow_id(c->flow), jn_addr_str(&remote, rb, sizeof rb));
	return 0;
}

static int on_receive(ws_conn *c, const void *in, size_t len)
{
	sip_ws *w = c->w;
	struct lws *wsi = c->wsi;
	bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi) &&
			     !lws_remaining_packet_payload(wsi);

	if (first && (!c->rx || c->rx->len == 0))
		c->text = !lws_frame_is_binary(wsi);
	if (!c->rx)
		c->rx = g_byte_array_new();
	if (c->rx->len + len > w->base.max_message) {
		w->base.rx_errors++;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
		return -1;
	}
	/* The common case, a whole message in one frame, skips the copy. */
	sip_transport *tp = sip_flow_transport(c->flow);
	if (last && c->rx->len == 0) {
		sip_peer p = { .tp = tp, .flow = c->flow };
		p.remote = *sip_flow_remote(c->flow);
		p.local = *sip_flow_local(c->flow);
		tp->rx_messages++;
		w->base.recv(w->base.user, &p, in, len);
		return 0;
	}
	g_byte_array_append(c->rx, in, (guint)len);
	if (!last)
		return 0;
	sip_peer p = { .tp = tp, .flow = c->flow };
	p.remote = *sip_flow_remote(c->flow);
	p.local = *sip_flow_local(c->flow);
	tp->rx_messages++;
	GByteArray *msg = c->rx;
	c->rx = NULL;
	w->base.recv(w->base.user, &p, (const char *)msg->data, msg->len);
	g_byte_array_unref(msg);
	return 0;
}

static int on_writeable(ws_conn *c)
{
	GByteArray *b = g_queue_pop_head(&c->out);
	if (!b)
		return 0;
	size_t len = b->len - LWS_PRE;
	int n = lws_write(c->wsi, b->data + LWS_PRE, len, c->text ? LWS_WRITE_TEXT : LWS_WRITE_BINARY);
	g_byte_array_unref(b);
	if (n < (int)len)
		return -1;
	if (!g_queue_is_empty(&c->out))
		lws_callback_on_writable(c->wsi);
	return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	const struct lws_protocols *proto = lws_get_protocol(wsi);
	sip_ws *w = proto ? proto->user : NULL;
	ws_conn **slot = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		return on_established(w, wsi, slot);
	case LWS_CALLBACK_RECEIVE:
		return *slot ? on_receive(*slot, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return *slot ? on_writeable(*slot) : -1;
	case LWS_CALLBACK_CLOSED:
		if (*slot) {
			g_hash_table_remove(w->conns, *slot);
			conn_free(*slot);
			*slot = NULL;
		}
		return 0;
	default:
		return 0;
	}
}

static int ws_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len)
{
	(void)to;
	if (!flow || sip_flow_transport(flow) != tp)
		return ENOTCONN;
	ws_conn *c = sip_flow_conn(flow);
	if (!c)
		return ENOTCONN;
	GByteArray *b = g_byte_array_sized_new((guint)(LWS_PRE + len));
	g_byte_array_set_size(b, LWS_PRE);
	g_byte_array_append(b, (const guint8 *)data, (guint)len);
	g_queue_push_tail(&c->out, b);
	lws_callback_on_writable(c->wsi);
	return 0;
}

static void ws_destroy(sip_transport *tp)
{
	sip_ws *w = (sip_ws *)tp;
	GHashTableIter it;
	gpointer k;
	/* Normally empty: the lws context is destroyed first and closes all. */
	g_hash_table_iter_init(&it, w->conns);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		ws_conn *c = k;
		g_hash_table_iter_steal(&it);
		conn_free(c);
	}
	g_hash_table_unref(w->conns);
	g_free(w);
}

static const sip_transport_ops ws_ops = { .send = ws_send, .destroy = ws_destroy };

/* The WSS face is part of the WS transport: freeing it alone does nothing. */
static void wss_destroy(sip_transport *tp)
{
	(void)tp;
}

static const sip_transport_ops wss_ops = { .send = ws_send, .destroy = wss_destroy };

sip_transport *sip_ws_new(const sip_tp_opts *o)
{
	sip_ws *w = g_new0(sip_ws, 1);
	w->base.ops = &ws_ops;
	w->base.kind = SIP_TP_WS;
	if (o->listen)
		jn_addr_parse(o->listen, 0, &w->base.local);
	w->base.recv = o->recv;
	w->base.closed = o->closed;
	w->base.user = o->user;
	w->base.max_message = o->max_message ? o->max_message : 65535;
	w->max_connections = o->max_connections ? o->max_connections : 4096;
	w->secure = w->base;
	w->secure.ops = &wss_ops;
	w->secure.kind = SIP_TP_WSS;
	w->conns = g_hash_table_new(NULL, NULL);
	return &w->base;
}

struct lws_protocols sip_ws_protocol(sip_transport *ws)
{
	struct lws_protocols p;
	memset(&p, 0, sizeof p);
	p.name = "sip";
	p.callback = ws_callback;
	p.per_session_data_size = sizeof(ws_conn *);
	p.rx_buffer_size = ws->max_message;
	p.user = ws;
	return p;
}

sip_transport *sip_ws_secure(sip_transport *ws)
{
	return &((sip_ws *)ws)->secure;
}

unsigned sip_ws_connections(const sip_transport *ws)
{
	return g_hash_table_size(((const sip_ws *)ws)->conns);
}
