#include "sip/sip_udp.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define JN_LOG_TAG "sip"
#include "util/log.h"

/* Datagrams taken per recvmmsg(2) call, and calls per wake-up: a burst is
 * drained in few system calls without starving the rest of the loop. */
#define UDP_BATCH 16
#define UDP_ROUNDS 8

typedef struct {
	sip_transport base;
	int fd;
	guint watch;
	char *bufs;            /* UDP_BATCH buffers of max_message + 1 bytes */
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	/* Answers produced while a received batch is handled leave together
	 * in one sendmmsg(2): system calls are the dearest part of a request. */
	bool batching;
	unsigned n_out;
	GByteArray *out[UDP_BATCH];
	struct mmsghdr omsgs[UDP_BATCH];
	struct iovec oiov[UDP_BATCH];
	struct sockaddr_storage oto[UDP_BATCH];
	socklen_t otolen[UDP_BATCH];
} sip_udp;

static void udp_flush(sip_udp *u)
{
	unsigned done = 0;
	for (unsigned i = 0; i < u->n_out; i++) {
		u->oiov[i].iov_base = u->out[i]->data;
		u->oiov[i].iov_len = u->out[i]->len;
		memset(&u->omsgs[i].msg_hdr, 0, sizeof u->omsgs[i].msg_hdr);
		u->omsgs[i].msg_hdr.msg_iov = &u->oiov[i];
		u->omsgs[i].msg_hdr.msg_iovlen = 1;
		u->omsgs[i].msg_hdr.msg_name = &u->oto[i];
		u->omsgs[i].msg_hdr.msg_namelen = u->otolen[i];
	}
	while (done < u->n_out) {
		int n = sendmmsg(u->fd, u->omsgs + done, u->n_out - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Skip the one that failed (like a lost datagram) and go on. */
			u->base.tx_errors++;
			done++;
			continue;
		}
		done += (unsigned)n;
	}
	for (unsigned i = 0; i < u->n_out; i++)
		g_byte_array_set_size(u->out[i], 0);
	u->n_out = 0;
}

static bool is_keepalive(const char *p, size_t len)
{
	if (len > 4)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

static gboolean udp_readable(gint fd, GIOCondition cond, gpointer data)
{
	sip_udp *u = data;
	size_t bsize = u->base.max_message + 1;
	(void)cond;

	u->batching = true;
	for (int round = 0; round < UDP_ROUNDS; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			u->iov[i].iov_base = u->bufs + (size_t)i * bsize;
			u->iov[i].iov_len = bsize;
			memset(&u->msgs[i].msg_hdr, 0, sizeof u->msgs[i].msg_hdr);
			u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
			u->msgs[i].msg_hdr.msg_iovlen = 1;
			u->msgs[i].msg_hdr.msg_name = &u->from[i];
			u->msgs[i].msg_hdr.msg_namelen = sizeof u->from[i];
		}
		int n = recvmmsg(fd, u->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				jn_debug(NULL, "UDP recvmmsg: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			sip_peer p = { .tp = &u->base, .flow = NULL, .local = u->base.local };
			size_t len = u->msgs[i].msg_len;
			if (len > u->base.max_message || (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				u->base.rx_errors++;
				continue;
			}
			/* Single CRLFs are keep-alives (RFC 5626 §4.4.2 uses STUN, but
			 * many phones send bare CRLF over UDP): nothing to do. */
			if (is_keepalive(u->iov[i].iov_base, len))
				continue;
			memcpy(&p.remote.ss, &u->from[i], sizeof p.remote.ss);
			p.remote.len = u->msgs[i].msg_hdr.msg_namelen;
			u->base.rx_messages++;
			u->base.recv(u->base.user, &p, u->iov[i].iov_base, len);
		}
		if (u->n_out)
			udp_flush(u);
		if (n < UDP_BATCH)
			break;
	}
	u->batching = false;
	return G_SOURCE_CONTINUE;
}

static int udp_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len)
{
	sip_udp *u = (sip_udp *)tp;
	(void)flow;
	if (!to || !to->len)
		return EDESTADDRREQ;
	if (u->batching) {
		if (u->n_out == UDP_BATCH)
			udp_flush(u);
		unsigned i = u->n_out++;
		if (!u->out[i])
			u->out[i] = g_byte_array_sized_new(1024);
		g_byte_array_append(u->out[i], (const guint8 *)data, (guint)len);
		memcpy(&u->oto[i], &to->ss, to->len);
		u->otolen[i] = to->len;
		return 0;
	}
	for (;;) {
		ssize_t n = sendto(u->fd, data, len, 0, (const struct sockaddr *)&to->ss, to->len);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return errno;
	}
}

static void udp_destroy(sip_transport *tp)
{
	sip_udp *u = (sip_udp *)tp;
	if (u->watch)
		g_source_remove(u->watch);
	if (u->fd >= 0)
		close(u->fd);
	for (unsigned i = 0; i < UDP_BATCH; i++)
		if (u->out[i])
			g_byte_array_unref(u->out[i]);
	g_free(u->bufs);
	g_free(u);
}

static const sip_transport_ops udp_ops = { .send = udp_send, .destroy = udp_destroy };

sip_transport *sip_udp_new(const sip_tp_opts *o, char **err)
{
	char buf[160];
	jn_addr a;

	if (jn_addr_parse(o->listen, 0, &a) != 0) {
		*err = g_strdup_printf("SIP UDP listen \"%s\" is not an IP address with port", o->listen);
		return NULL;
	}
	int fd = jn_net_listen(SOCK_DGRAM, &a, buf, sizeof buf);
	if (fd < 0) {
		*err = g_strdup_printf("cannot listen for SIP/UDP on %s", buf);
		return NULL;
	}
	/* A larger receive buffer rides out bursts (registration storms). */
	int rcv = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	a.len = sizeof a.ss;
	getsockname(fd, (struct sockaddr *)&a.ss, &a.len);

	sip_udp *u = g_new0(sip_udp, 1);
	u->base.ops = &udp_ops;
	u->base.kind = SIP_TP_UDP;
	u->base.local = a;
	u->base.recv = o->recv;
	u->base.user = o->user;
	u->base.max_message = o->max_message ? o->max_message : 65535;
	u->fd = fd;
	u->bufs = g_malloc((u->base.max_message + 1) * UDP_BATCH);
	u->watch = g_unix_fd_add(fd, G_IO_IN, udp_readable, u);
	return &u->base;
}
