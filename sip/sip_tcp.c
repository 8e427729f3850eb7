#include "sip/sip_tcp.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sip/sip_frame.h"

#define JN_LOG_TAG "sip"
#include "util/log.h"

typedef struct sip_tcp sip_tcp;

typedef struct {
	sip_tcp *t;
	int fd;
	guint rwatch, wwatch;
	sip_flow *flow;
	GByteArray *rx, *tx;
	sip_frame fr;
	gint64 last_active;
	bool connecting;
	int busy;         /* inside the receive callback */
	bool dead;        /* closed while busy: free on the way out */
	char *key;        /* remote address text, for reuse */
} tcp_conn;

struct sip_tcp {
	sip_transport base;
	int lfd;
	guint lwatch, sweep;
	unsigned max_connections, idle_s;
	GHashTable *conns;  /* tcp_conn* set */
	GHashTable *byaddr; /* "ip:port" -> tcp_conn* */
};

static void conn_close(tcp_conn *c, const char *why);

static void conn_free(tcp_conn *c)
{
	g_byte_array_unref(c->rx);
	g_byte_array_unref(c->tx);
	g_free(c->key);
	g_free(c);
}

static void conn_close(tcp_conn *c, const char *why)
{
	sip_tcp *t = c->t;
	if (c->fd < 0)
		return;
	jn_debug(NULL, "SIP TCP flow %" G_GUINT64_FORMAT " closed: %s", sip_flow_id(c->flow), why);
	if (c->rwatch)
		g_source_remove(c->rwatch);
	if (c->wwatch)
		g_source_remove(c->wwatch);
	c->rwatch = c->wwatch = 0;
	close(c->fd);
	c->fd = -1;
	if (t->base.closed)
		t->base.closed(t->base.user, c->flow);
	sip_flow_detach(c->flow);
	c->flow = sip_flow_unref(c->flow);
	if (g_hash_table_lookup(t->byaddr, c->key) == c)
		g_hash_table_remove(t->byaddr, c->key);
	g_hash_table_remove(t->conns, c);
	if (c->busy)
		c->dead = true;
	else
		conn_free(c);
}

static gboolean conn_writable(gint fd, GIOCondition cond, gpointer data);

static int conn_flush(tcp_conn *c)
{
	while (c->tx->len) {
		ssize_t n = send(c->fd, c->tx->data, c->tx->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			g_byte_array_remove_range(c->tx, 0, (guint)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return n < 0 ? errno : EPIPE;
	}
	/* The write watch removes itself once the buffer drains. */
	if (c->tx->len && !c->wwatch)
		c->wwatch = g_unix_fd_add(c->fd, G_IO_OUT, conn_writable, c);
	return 0;
}

static gboolean conn_writable(gint fd, GIOCondition cond, gpointer data)
{
	tcp_conn *c = data;
	(void)fd;
	(void)cond;
	if (c->connecting) {
		int e = 0;
		socklen_t el = sizeof e;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			c->wwatch = 0;
			conn_close(c, strerror(e));
			return G_SOURCE_REMOVE;
		}
		c->connecting = false;
		jn_addr local;
		local.len = sizeof local.ss;
		getsockname(c->fd, (struct sockaddr *)&local.ss, &local.len);
		*(jn_addr *)sip_flow_local(c->flow) = local;
	}
	int rc = conn_flush(c);
	if (rc) {
		c->wwatch = 0;
		conn_close(c, strerror(rc));
		return G_SOURCE_REMOVE;
	}
	if (c->tx->len)
		return G_SOURCE_CONTINUE;
	c->wwatch = 0;
	return G_SOURCE_REMOVE;
}

static void conn_deliver(tcp_conn *c)
{
	sip_tcp *t = c->t;
	size_t n;
	c->busy++;
	while (!c->dead && c->fd >= 0) {
		sip_frame_result r = sip_frame_next(&c->fr, (const char *)c->rx->data, c->rx->len, &n);
		if (r == SIP_FRAME_MORE)
			break;
		if (r == SIP_FRAME_ERROR) {
			t->base.rx_errors++;
			conn_close(c, c->fr.err == EMSGSIZE ? "message too large" : "unframeable input");
			break;
		}
		if (r == SIP_FRAME_MSG) {
			sip_peer p = { .tp = &t->base, .flow = c->flow };
			p.remote = *sip_flow_remote(c->flow);
			p.local = *sip_flow_local(c->flow);
			t->base.rx_messages++;
			t->base.recv(t->base.user, &p, (const char *)c->rx->data, n);
		} else if (r == SIP_FRAME_PING) {
			/* RFC 5626 §4.4.1: a double CRLF ping gets a single CRLF pong. */
			g_byte_array_append(c->tx, (const guint8 *)"\r\n", 2);
			if (conn_flush(c) != 0) {
				conn_close(c, "write failed");
				break;
			}
		}
		if (c->fd >= 0)
			g_byte_array_remove_range(c->rx, 0, (guint)n);
	}
	if (--c->busy == 0 && c->dead)
		conn_free(c);
}

static gboolean conn_readable(gint fd, GIOCondition cond, gpointer data)
{
	tcp_conn *c = data;
	guint8 buf[16384];
	(void)cond;
	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->rwatch = 0;
		conn_close(c, n == 0 ? "peer closed" : strerror(errno));
		return G_SOURCE_REMOVE;
	}
	c->last_active = g_get_monotonic_time();
	g_byte_array_append(c->rx, buf, (guint)n);
	bool keep = true;
	c->busy++;
	conn_deliver(c);
	if (c->dead || c->fd < 0)
		keep = false;
	if (--c->busy == 0 && c->dead) {
		conn_free(c);
		return G_SOURCE_REMOVE;
	}
	if (!keep) {
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static tcp_conn *conn_new(sip_tcp *t, int fd, const jn_addr *remote, const jn_addr *local)
{
	char ab[80];
	tcp_conn *c = g_new0(tcp_conn, 1);
	c->t = t;
	c->fd = fd;
	c->rx = g_byte_array_new();
	c->tx = g_byte_array_new();
	sip_frame_init(&c->fr, t->base.max_message);
	c->last_active = g_get_monotonic_time();
	c->flow = sip_flow_new(&t->base, c, remote, local);
	c->key = g_strdup(jn_addr_str(remote, ab, sizeof ab));
	c->rwatch = g_unix_fd_add(fd, G_IO_IN, conn_readable, c);
	g_hash_table_add(t->conns, c);
	g_hash_table_replace(t->byaddr, c->key, c);
	return c;
}

static gboolean on_accept(gint lfd, GIOCondition cond, gpointer data)
{
	sip_tcp *t = data;
	(void)cond;
	for (int i = 0; i < 64; i++) {
		jn_addr remote, local;
		remote.len = sizeof remote.ss;
		int fd = accept4(lfd, (struct sockaddr *)&remote.ss, &remote.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		if (g_hash_table_size(t->conns) >= t->max_connections) {
			jn_warn(NULL, "SIP TCP: %u connections open; refusing another", t->max_connections);
			close(fd);
			continue;
		}
		local.len = sizeof local.ss;
		getsockname(fd, (struct sockaddr *)&local.ss, &local.len);
		tcp_conn *c = conn_new(t, fd, &remote, &local);
		jn_debug(NULL, "SIP TCP flow %" G_GUINT64_FORMAT " from %s", sip_flow_id(c->flow), c->key);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_sweep(gpointer data)
{
	sip_tcp *t = data;
	gint64 now = g_get_monotonic_time(), idle = (gint64)t->idle_s * G_USEC_PER_SEC;
	GList *all = g_hash_table_get_keys(t->conns);
	for (GList *i = all; i; i = i->next) {
		tcp_conn *c = i->data;
		if (now - c->last_active >= idle)
			conn_close(c, "idle");
	}
	g_list_free(all);
	return G_SOURCE_CONTINUE;
}

static tcp_conn *connect_to(sip_tcp *t, const jn_addr *to, int *err)
{
	if (g_hash_table_size(t->conns) >= t->max_connections) {
		*err = EMFILE;
		return NULL;
	}
	int fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	if (connect(fd, (const struct sockaddr *)&to->ss, to->len) < 0 && errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return NULL;
	}
	jn_addr local = { .len = sizeof local.ss };
	getsockname(fd, (struct sockaddr *)&local.ss, &local.len);
	tcp_conn *c = conn_new(t, fd, to, &local);
	c->connecting = true;
	c->wwatch = g_unix_fd_add(fd, G_IO_OUT, conn_writable, c);
	return c;
}

static int tcp_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len)
{
	sip_tcp *t = (sip_tcp *)tp;
	tcp_conn *c = NULL;
	int err = 0;
	if (flow) {
		if (sip_flow_transport(flow) != tp || !(c = sip_flow_conn(flow)))
			return ENOTCONN;
	} else {
		char ab[80];
		if (!to || !to->len)
			return EDESTADDRREQ;
		c = g_hash_table_lookup(t->byaddr, jn_addr_str(to, ab, sizeof ab));
		if (!c && !(c = connect_to(t, to, &err)))
			return err;
	}
	g_byte_array_append(c->tx, (const guint8 *)data, (guint)len);
	c->last_active = g_get_monotonic_time();
	if (c->connecting)
		return 0;
	err = conn_flush(c);
	if (err)
		conn_close(c, strerror(err));
	return err;
}

static void tcp_destroy(sip_transport *tp)
{
	sip_tcp *t = (sip_tcp *)tp;
	GList *all = g_hash_table_get_keys(t->conns);
	for (GList *i = all; i; i = i->next)
		conn_close(i->data, "shutting down");
	g_list_free(all);
	if (t->lwatch)
		g_source_remove(t->lwatch);
	if (t->sweep)
		g_source_remove(t->sweep);
	if (t->lfd >= 0)
		close(t->lfd);
	g_hash_table_unref(t->conns);
	g_hash_table_unref(t->byaddr);
	g_free(t);
}

static const sip_transport_ops tcp_ops = { .send = tcp_send, .destroy = tcp_destroy };

sip_transport *sip_tcp_new(const sip_tp_opts *o, char **err)
{
	char buf[160];
	jn_addr a;
	if (jn_addr_parse(o->listen, 0, &a) != 0) {
		*err = g_strdup_printf("SIP TCP listen \"%s\" is not an IP address with port", o->listen);
		return NULL;
	}
	int fd = jn_net_listen(SOCK_STREAM, &a, buf, sizeof buf);
	if (fd < 0) {
		*err = g_strdup_printf("cannot listen for SIP/TCP on %s", buf);
		return NULL;
	}
	a.len = sizeof a.ss;
	getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
	sip_tcp *t = g_new0(sip_tcp, 1);
	t->base.ops = &tcp_ops;
	t->base.kind = SIP_TP_TCP;
	t->base.local = a;
	t->base.recv = o->recv;
	t->base.closed = o->closed;
	t->base.user = o->user;
	t->base.max_message = o->max_message ? o->max_message : 65535;
	t->max_connections = o->max_connections ? o->max_connections : 4096;
	t->idle_s = o->idle_timeout_s ? o->idle_timeout_s : 300;
	t->lfd = fd;
	t->conns = g_hash_table_new(NULL, NULL);
	t->byaddr = g_hash_table_new(g_str_hash, g_str_equal);
	t->lwatch = g_unix_fd_add(fd, G_IO_IN, on_accept, t);
	t->sweep = g_timeout_add_seconds(1, on_sweep, t);
	return &t->base;
}

unsigned sip_tcp_connections(const sip_transport *tcp)
{
	return g_hash_table_size(((const sip_tcp *)tcp)->conns);
}
