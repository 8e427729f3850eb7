#define JN_LOG_TAG "rtp"
#include "webrtc/rtc_rtp.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/latch.h"
#include "media/rtp.h"
#include "util/log.h"
#include "webrtc/rtc_int.h"
#include "webrtc/rtc_srtp.h"

#define KEY_LEN 30 /* 16-byte key || 14-byte salt for both suites */
#define POLL_BATCH 64
#define RX_PER_WAKE 1 /* datagrams read per socket per readiness report */

/* One epoll set per GMainContext for every leg's sockets.
 *
 * With one GLib fd source per socket, each wake-up of a worker made GLib
 * poll() every socket of every leg on it: the kernel walks all of them per
 * packet, so a relayed packet cost grew with the number of calls (most of
 * the CPU at 100 calls). The legs of a context share one epoll fd instead,
 * watched by a single source: a wake-up costs the sockets that are ready.
 * The source is found again through the context itself
 * (g_main_context_find_source_by_funcs_user_data), so there is no global
 * table; it goes away with the last socket.
 *
 * The legs' RTCP report timers live there too, in one queue sorted by due
 * time that sets the source's ready time: GLib walks every source of a
 * context on every wake-up, so a timeout source per leg made each relayed
 * packet cost more with every call on the worker. */
typedef struct {
	GSource src;
	int epfd;
	gpointer epfd_tag;
	unsigned users;		/* sockets registered */
	GQueue timers;		/* rtc_rtp by rtcp_due, earliest first */
	/* The batch being dispatched: a leg freed from another leg's callback
	 * clears its entries here so they are skipped. */
	struct epoll_event ev[POLL_BATCH];
	int n, next;
} rtp_poller;

struct rtc_rtp {
	rtc_rtp_opts o;
	char *id;
	int fd[2];	   /* RTP, RTCP (-1 with mux) */
	rtp_poller *poller; /* the context's; registered fds: fd[i] >= 0 */
	GList rtcp_link;   /* in poller->timers while linked (data = this) */
	bool rtcp_linked;
	gint64 rtcp_due;   /* monotonic us of the next report */
	unsigned rtcp_ms;
	uint16_t port;
	bool have_remote;
	bool rtcp_mux;
	bool rtcp_given;   /* the SDP named an RTCP address (a=rtcp) */
	media_latch latch;
	jn_addr rtcp_dest;
	/* SDES */
	uint8_t local_key[3][KEY_LEN]; /* ours, one per suite (by rtc_rtp_suite) */
	bool have_local[3];
	uint8_t remote_key[KEY_LEN];
	rtc_rtp_suite remote_suite, tx_suite;
	bool have_remote_key, remote_changed;
	srtp_t tx, rx;
	/* receive side */
	rtp_rx_stats rx_stats;
	bool rx_started;
	uint32_t lsr;	   /* middle 32 bits of the peer's last SR */
	uint64_t lsr_us;   /* when it came */
	/* send side */
	uint32_t tx_ssrc;
	uint32_t tx_ts;
	uint64_t tx_ts_us;
	uint32_t tx_packets, tx_octets;
	bool sent_since_report;
	bool echo;	   /* send every received packet back (the echo target) */
	bool no_send;	   /* held: rtc_rtp_send drops */
	rtc_seq seq;
	uint32_t echo_ssrc;
	rtc_rtp_stats st;
	uint8_t buf[RTC_RTP_BUF];
	uint8_t rtcp_buf[512 + RTC_RTP_TRAILER];
};

/* ---- SRTP (our own sessions: rtc_srtp has no _32 suite) ---- */

const char *rtc_rtp_suite_name(rtc_rtp_suite s)
{
	switch (s) {
	case RTC_RTP_AES_CM_128_HMAC_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
	case RTC_RTP_AES_CM_128_HMAC_SHA1_32: return "AES_CM_128_HMAC_SHA1_32";
	default: return "";
	}
}

rtc_rtp_suite rtc_rtp_suite_from_name(const char *name, size_t len)
{
	for (int s = RTC_RTP_AES_CM_128_HMAC_SHA1_80; s <= RTC_RTP_AES_CM_128_HMAC_SHA1_32; s++) {
		const char *n = rtc_rtp_suite_name((rtc_rtp_suite)s);
		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return (rtc_rtp_suite)s;
	}
	return RTC_RTP_SUITE_NONE;
}

static void srtp_drop(rtc_rtp *r)
{
	if (r->tx)
		srtp_dealloc(r->tx);
	if (r->rx)
		srtp_dealloc(r->rx);
	r->tx = r->rx = NULL;
	r->st.srtp = false;
}

static int srtp_session(rtc_rtp_suite suite, const uint8_t *key, bool inbound, srtp_t *out)
{
	srtp_policy_t pol;
	uint8_t k[KEY_LEN];

	memset(&pol, 0, sizeof pol);
	if (suite == RTC_RTP_AES_CM_128_HMAC_SHA1_32)
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
	else
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
	/* RFC 4568 6.2.1: SRTCP always uses the 80-bit tag. */
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	memcpy(k, key, KEY_LEN);
	pol.key = k;
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.window_size = 1024;
	pol.allow_repeat_tx = 1;
	int rc = srtp_create(out, &pol) == srtp_err_status_ok ? 0 : EIO;
	memset(k, 0, sizeof k);
	return rc;
}

/* Keys both directions once the peer's key is known and we have ours for
 * its suite. Our key per suite never changes, so the outbound session is
 * made again only when the suite changes; the inbound one when the peer's
 * key does (a re-INVITE may rekey). */
static int srtp_start(rtc_rtp *r)
{
	rtc_rtp_suite s = r->remote_suite;

	if (!r->have_remote_key || !r->have_local[s])
		return 0;
	if (rtc_srtp_global_init())
		return EIO;
	if (!r->tx || r->tx_suite != s) {
		if (r->tx)
			srtp_dealloc(r->tx);
		r->tx = NULL;
		if (srtp_session(s, r->local_key[s], false, &r->tx))
			goto fail;
		r->tx_suite = s;
	}
	if (!r->rx || r->remote_changed) {
		if (r->rx)
			srtp_dealloc(r->rx);
		r->rx = NULL;
		if (srtp_session(s, r->remote_key, true, &r->rx))
			goto fail;
		r->remote_changed = false;
	}
	r->st.srtp = true;
	return 0;
fail:
	srtp_drop(r);
	return EIO;
}

int rtc_rtp_crypto_local(rtc_rtp *r, unsigned tag, rtc_rtp_suite suite, char *line, size_t size)
{
	char b64[64];
	gint state = 0, save = 0;
	gsize n;

	if (suite != RTC_RTP_AES_CM_128_HMAC_SHA1_80 && suite != RTC_RTP_AES_CM_128_HMAC_SHA1_32)
		return EINVAL;
	if (!r->have_local[suite]) {
		if (RAND_bytes(r->local_key[suite], KEY_LEN) != 1)
			return EIO;
		r->have_local[suite] = true;
	}
	n = g_base64_encode_step(r->local_key[suite], KEY_LEN, FALSE, b64, &state, &save);
	n += g_base64_encode_close(FALSE, b64 + n, &state, &save);
	b64[n] = 0;
	int w = snprintf(line, size, "%u %s inline:%s", tag, rtc_rtp_suite_name(suite), b64);
	if (w < 0 || (size_t)w >= size)
		return ENOSPC;
	return srtp_start(r);
}

void rtc_rtp_crypto_off(rtc_rtp *r)
{
	srtp_drop(r);
	r->have_remote_key = false;
	memset(r->remote_key, 0, sizeof r->remote_key);
}

int rtc_rtp_crypto_remote(rtc_rtp *r, const char *value, unsigned *tag, rtc_rtp_suite *suite)
{
	const char *p = value, *e;
	char *end;
	uint8_t key[48];
	gint state = 0;
	guint save = 0;

	unsigned long t = strtoul(p, &end, 10);
	if (end == p || *end != ' ' || t > 999999999)
		return EINVAL;
	p = end;
	while (*p == ' ')
		p++;
	e = strchr(p, ' ');
	if (!e)
		return EINVAL;
	rtc_rtp_suite s = rtc_rtp_suite_from_name(p, (size_t)(e - p));
	if (s == RTC_RTP_SUITE_NONE)
		return ENOTSUP;
	p = e;
	while (*p == ' ')
		p++;
	if (strncmp(p, "inline:", 7) != 0)
		return EINVAL;
	p += 7;
	size_t klen = strcspn(p, "| ;");
	if (klen != 40) /* 30 bytes in base64 */
		return EINVAL;
	for (size_t i = 0; i < klen; i++)
		if (!g_ascii_isalnum(p[i]) && p[i] != '+' && p[i] != '/')
			return EINVAL;
	if (g_base64_decode_step(p, klen, key, &state, &save) != KEY_LEN)
		return EINVAL;
	p += klen;
	/* |lifetime is fine; an MKI (a second '|' or "n:m") would need one
	 * key per MKI, and ';' means several keys: not supported. */
	if (*p == ';')
		return ENOTSUP;
	while (*p == '|') {
		p++;
		size_t l = strcspn(p, "| ");
		if (memchr(p, ':', l))
			return ENOTSUP;
		p += l;
	}
	/* Session parameters that weaken SRTP are refused. */
	if (strstr(p, "UNENCRYPTED") || strstr(p, "UNAUTHENTICATED") || strstr(p, "KDR="))
		return ENOTSUP;
	if (!r->have_remote_key || r->remote_suite != s || memcmp(r->remote_key, key, KEY_LEN))
		r->remote_changed = true;
	memcpy(r->remote_key, key, KEY_LEN);
	memset(key, 0, sizeof key);
	r->remote_suite = s;
	r->have_remote_key = true;
	if (tag)
		*tag = (unsigned)t;
	if (suite)
		*suite = s;
	/* An answerer has no key for the suite yet: SRTP starts with its
	 * rtc_rtp_crypto_local. */
	return srtp_start(r);
}

/* ---- receive ---- */

static uint64_t now_us(void)
{
	return (uint64_t)g_get_monotonic_time();
}

static void on_rtp(rtc_rtp *r, uint8_t *buf, size_t len, const jn_addr *from)
{
	rtp_hdr h;

	/* With SRTP the header is checked after unprotect: before it, the
	 * padding count (the payload's last byte) is still ciphertext. */
	if (!r->rx && rtp_parse(buf, len, &h)) {
		r->st.bad_in++;
		return;
	}
	if (r->rx) {
		if (len < RTP_HEADER_MIN) {
			r->st.bad_in++;
			return;
		}
		int l = (int)len;
		if (srtp_unprotect(r->rx, buf, &l) != srtp_err_status_ok) {
			r->st.srtp_errors++;
			return;
		}
		len = (size_t)l;
		if (rtp_parse(buf, len, &h)) {
			r->st.bad_in++;
			return;
		}
	} else if (r->have_remote_key) {
		r->st.srtp_errors++; /* the peer keyed SRTP, we have no key for its suite yet */
		return;
	}
	uint64_t now = now_us();
	media_latch_result lr = media_latch_rx(&r->latch, from, h.ssrc, now);
	if (lr == MEDIA_LATCH_FOREIGN) {
		r->st.foreign_in++;
		return;
	}
	if (lr == MEDIA_LATCH_MOVED) {
		char a[64];
		r->st.latch_moves++;
		jn_info(r->id, "rtp latched to %s", jn_addr_str(from, a, sizeof a));
		if (!r->rtcp_given) {
			r->rtcp_dest = *from;
			if (!r->rtcp_mux)
				jn_addr_set_port(&r->rtcp_dest, (uint16_t)(jn_addr_port(from) + 1));
		}
	}
	if (!r->rx_started || h.ssrc != r->rx_stats.ssrc) {
		rtp_rx_stats_init(&r->rx_stats, h.ssrc);
		r->rx_started = true;
	}
	uint32_t arrival = (uint32_t)(now * r->o.clock_rate / 1000000u);
	rtp_rx_stats_update(&r->rx_stats, h.seq, h.ts, arrival);
	r->st.rtp_in++;
	r->st.bytes_in += len;
	if (r->echo) {
		/* Under our own SSRC: the peer must not see its own stream come
		 * back (RFC 3550 §8.2 would call it a loop or a collision). */
		rtp_set_ssrc(buf, r->echo_ssrc);
		rtc_rtp_send(r, buf, len, sizeof r->buf);
		return;
	}
	if (r->o.rtp)
		r->o.rtp(r->o.user, buf, len, sizeof r->buf);
}

static void on_rtcp(rtc_rtp *r, uint8_t *buf, size_t len, const jn_addr *from)
{
	if (len < 8) {
		r->st.bad_in++;
		return;
	}
	if (r->rx) {
		int l = (int)len;
		if (srtp_unprotect_rtcp(r->rx, buf, &l) != srtp_err_status_ok) {
			r->st.srtp_errors++;
			return;
		}
		len = (size_t)l;
	}
	if (rtcp_validate_compound(buf, len)) {
		r->st.bad_in++;
		return;
	}
	/* Only the latched peer (or, without latching, anyone) may move RTCP. */
	if (r->latch.enabled && r->latch.latched && !r->rtcp_given) {
		const jn_addr *d = media_latch_dest(&r->latch);
		bool same_host = d->ss.ss_family == from->ss.ss_family;
		if (same_host && from->ss.ss_family == AF_INET)
			same_host = ((const struct sockaddr_in *)&d->ss)->sin_addr.s_addr ==
				    ((const struct sockaddr_in *)&from->ss)->sin_addr.s_addr;
		else if (same_host)
			same_host = memcmp(&((const struct sockaddr_in6 *)&d->ss)->sin6_addr,
					   &((const struct sockaddr_in6 *)&from->ss)->sin6_addr,
					   sizeof(struct in6_addr)) == 0;
		if (!same_host) {
			r->st.foreign_in++;
			return;
		}
		r->rtcp_dest = *from;
	}
	r->st.rtcp_in++;
	rtcp_iter it;
	rtcp_pkt p;
	rtcp_iter_init(&it, buf, len);
	while (rtcp_iter_next(&it, &p) == 0) {
		rtcp_report rep;
		if (p.pt == RTCP_SR && rtcp_report_parse(&p, &rep) == 0) {
			r->lsr = (uint32_t)(rep.ntp >> 16);
			r->lsr_us = now_us();
		}
	}
}

static void on_readable(rtc_rtp *r, int fd)
{
	bool rtcp_sock = fd == r->fd[1];

	/* One datagram per readiness: the epoll set is level-triggered, so a
	 * socket with more queued is reported again at once, and a socket read
	 * empty (the usual case: a packet every 20-30 ms) costs no second
	 * recvfrom that only says EAGAIN. */
	for (int i = 0; i < RX_PER_WAKE; i++) {
		jn_addr from;
		from.len = sizeof from.ss;
		ssize_t n = recvfrom(fd, r->buf, 1500, MSG_TRUNC, (struct sockaddr *)&from.ss, &from.len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			/* ICMP port unreachable from an earlier send: keep going. */
			continue;
		}
		if (n > 1500) { /* cut short: not a packet we can use */
			r->st.bad_in++;
			continue;
		}
		size_t len = (size_t)n;
		rtp_demux_kind k = rtp_demux(r->buf, len);
		if (k == RTP_DEMUX_RTCP && (rtcp_sock || r->rtcp_mux))
			on_rtcp(r, r->buf, len, &from);
		else if (k == RTP_DEMUX_RTP && !rtcp_sock)
			on_rtp(r, r->buf, len, &from);
		else
			r->st.bad_in++;
	}
}

/* ---- send ---- */

static int send_to(rtc_rtp *r, int fd, const uint8_t *buf, size_t len, const jn_addr *to)
{
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)&to->ss, to->len) < 0) {
		r->st.send_errors++;
		return EIO;
	}
	return 0;
}

int rtc_rtp_send(rtc_rtp *r, uint8_t *buf, size_t len, size_t cap)
{
	if (!r->have_remote)
		return EAGAIN;
	if (len < RTP_HEADER_MIN || len > cap)
		return EINVAL;
	if (r->have_remote_key && !r->tx)
		return EAGAIN; /* never plain to a peer that keyed SRTP */
	if (r->no_send) {
		r->st.held++;
		rtc_seq_pause(&r->seq);
		return 0;
	}
	uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]), out = rtc_seq_out(&r->seq, seq);
	if (out != seq)
		rtp_set_seq(buf, out);
	uint32_t ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
	uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	size_t payload = len - RTP_HEADER_MIN;
	if (r->tx) {
		if (len + SRTP_MAX_TRAILER_LEN > cap)
			return ENOSPC;
		int l = (int)len;
		if (srtp_protect(r->tx, buf, &l) != srtp_err_status_ok) {
			r->st.send_errors++;
			return EIO;
		}
		len = (size_t)l;
	}
	int rc = send_to(r, r->fd[0], buf, len, media_latch_dest(&r->latch));
	if (rc)
		return rc;
	rtc_seq_sent(&r->seq, out);
	if (ssrc != r->tx_ssrc) {
		r->tx_ssrc = ssrc;
		r->tx_packets = r->tx_octets = 0;
	}
	r->tx_ts = ts;
	r->tx_ts_us = now_us();
	r->tx_packets++;
	r->tx_octets += (uint32_t)payload;
	r->sent_since_report = true;
	r->st.rtp_out++;
	r->st.bytes_out += len;
	return 0;
}

static uint64_t ntp_now(void)
{
	int64_t us = g_get_real_time();
	uint64_t sec = (uint64_t)(us / 1000000) + 2208988800u;
	uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000u;
	return sec << 32 | frac;
}

static void on_rtcp_timer(rtc_rtp *r)
{
	rtcp_report_block blk;
	unsigned nb = 0;
	size_t n = 0, cap = sizeof r->rtcp_buf - RTC_RTP_TRAILER;
	uint32_t ssrc = r->tx_ssrc ? r->tx_ssrc : 0x4a4e0001u;

	if (!r->have_remote)
		return;
	if (r->rx_started) {
		rtp_rx_stats_report(&r->rx_stats, &blk);
		if (r->lsr_us) {
			blk.lsr = r->lsr;
			blk.dlsr = (uint32_t)((now_us() - r->lsr_us) * 65536u / 1000000u);
		}
		nb = 1;
	}
	if (r->sent_since_report) {
		rtcp_report sr = { .ssrc = ssrc, .has_sender_info = true, .ntp = ntp_now() };
		uint64_t el = now_us() - r->tx_ts_us;
		sr.rtp_ts = r->tx_ts + (uint32_t)(el * r->o.clock_rate / 1000000u);
		sr.packet_count = r->tx_packets;
		sr.octet_count = r->tx_octets;
		n = rtcp_write_sr(r->rtcp_buf, cap, &sr, &blk, nb);
	} else {
		n = rtcp_write_rr(r->rtcp_buf, cap, ssrc, &blk, nb);
	}
	r->sent_since_report = false;
	if (!n)
		return;
	n += rtcp_write_sdes_cname(r->rtcp_buf + n, cap - n, ssrc, r->id, MIN(strlen(r->id), 64u));
	if (r->tx) {
		int l = (int)n;
		if (srtp_protect_rtcp(r->tx, r->rtcp_buf, &l) != srtp_err_status_ok)
			return;
		n = (size_t)l;
	}
	if (send_to(r, r->rtcp_mux ? r->fd[0] : r->fd[1], r->rtcp_buf, n, &r->rtcp_dest) == 0)
		r->st.rtcp_out++;
}

/* ---- setup ---- */

static void on_rtcp_timer(rtc_rtp *r);

/* Queues the leg's next report at rtcp_due, keeping the queue sorted: legs
 * share an interval, so the walk from the tail is short. */
static void timer_insert(rtp_poller *p, rtc_rtp *r)
{
	GList *l = p->timers.tail;
	while (l && ((rtc_rtp *)l->data)->rtcp_due > r->rtcp_due)
		l = l->prev;
	if (l)
		g_queue_insert_after_link(&p->timers, l, &r->rtcp_link);
	else
		g_queue_push_head_link(&p->timers, &r->rtcp_link);
	r->rtcp_linked = true;
}

static void timer_unlink(rtc_rtp *r)
{
	if (r->poller && r->rtcp_linked)
		g_queue_unlink(&r->poller->timers, &r->rtcp_link);
	r->rtcp_linked = false;
}

/* The source wakes for the earliest report (a leg gone from the head only
 * makes it wake early: it then finds nothing due). */
static void timer_arm(rtp_poller *p)
{
	gint64 t = p->timers.head ? ((rtc_rtp *)p->timers.head->data)->rtcp_due : -1;
	if (g_source_get_ready_time(&p->src) != t)
		g_source_set_ready_time(&p->src, t);
}

static void run_timers(rtp_poller *p)
{
	gint64 now = g_get_monotonic_time();
	/* Each leg due is moved on before its report: one pass at most. */
	for (unsigned n = p->timers.length; n && p->timers.head; n--) {
		rtc_rtp *r = p->timers.head->data;
		if (r->rtcp_due > now)
			break;
		g_queue_unlink(&p->timers, &r->rtcp_link);
		r->rtcp_due += (gint64)r->rtcp_ms * 1000;
		if (r->rtcp_due <= now) /* late: no burst of reports */
			r->rtcp_due = now + (gint64)r->rtcp_ms * 1000;
		timer_insert(p, r);
		on_rtcp_timer(r);
	}
	timer_arm(p);
}

static gboolean poller_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	rtp_poller *p = (rtp_poller *)src;
	(void)cb;
	(void)data;

	/* Woken by the ready time (a report due, or the head left early). */
	gint64 rt = g_source_get_ready_time(src);
	if (rt >= 0 && rt <= g_source_get_time(src))
		run_timers(p);
	if (!(g_source_query_unix_fd(src, p->epfd_tag) & G_IO_IN))
		return G_SOURCE_CONTINUE;
	p->n = epoll_wait(p->epfd, p->ev, POLL_BATCH, 0);
	for (p->next = 0; p->next < p->n; p->next++) {
		uintptr_t v = (uintptr_t)p->ev[p->next].data.ptr;
		rtc_rtp *r = (rtc_rtp *)(v & ~(uintptr_t)1);
		if (r)
			on_readable(r, r->fd[v & 1]);
	}
	p->n = p->next = 0;
	return G_SOURCE_CONTINUE;
}

static void poller_finalize(GSource *src)
{
	rtp_poller *p = (rtp_poller *)src;
	if (p->epfd >= 0)
		close(p->epfd);
}

static GSourceFuncs poller_funcs = {
	.dispatch = poller_dispatch,
	.finalize = poller_finalize,
};

/* The context's poller, made on first use. NULL if epoll fails. */
static rtp_poller *poller_get(GMainContext *ctx)
{
	GSource *s = g_main_context_find_source_by_funcs_user_data(ctx, &poller_funcs, &poller_funcs);
	if (s)
		return (rtp_poller *)s;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return NULL;
	s = g_source_new(&poller_funcs, sizeof(rtp_poller));
	rtp_poller *p = (rtp_poller *)s;
	p->epfd = epfd;
	g_source_set_name(s, "rtc_rtp poller");
	/* Not blocked while it dispatches: blocking removes and re-adds the
	 * fd, and each change wakes the context through its eventfd.
	 * The callbacks never iterate the context. */
	g_source_set_can_recurse(s, TRUE);
	/* The user data is only the key for find_source_by_funcs_user_data. */
	g_source_set_callback(s, NULL, &poller_funcs, NULL);
	p->epfd_tag = g_source_add_unix_fd(s, epfd, G_IO_IN);
	g_queue_init(&p->timers);
	g_source_set_ready_time(s, -1);
	g_source_attach(s, ctx);
	g_source_unref(s); /* the context holds it until poller_put drops the last fd */
	return p;
}

static int poller_add(rtc_rtp *r, int i)
{
	struct epoll_event ev = { .events = EPOLLIN };
	ev.data.ptr = (void *)((uintptr_t)r | (uintptr_t)i);
	if (!r->poller && !(r->poller = poller_get(r->o.context)))
		return errno ? errno : EIO;
	if (epoll_ctl(r->poller->epfd, EPOLL_CTL_ADD, r->fd[i], &ev) < 0)
		return errno;
	r->poller->users++;
	return 0;
}

/* Unregisters and closes the leg's sockets; skips its pending events. */
static void poller_remove(rtc_rtp *r)
{
	rtp_poller *p = r->poller;

	for (int i = 0; i < 2; i++) {
		if (r->fd[i] < 0)
			continue;
		if (p && epoll_ctl(p->epfd, EPOLL_CTL_DEL, r->fd[i], NULL) == 0)
			p->users--;
		close(r->fd[i]);
		r->fd[i] = -1;
	}
	if (!p)
		return;
	for (int k = p->next + 1; k < p->n; k++)
		if (((uintptr_t)p->ev[k].data.ptr & ~(uintptr_t)1) == (uintptr_t)r)
			p->ev[k].data.ptr = NULL;
	if (!p->users)
		g_source_destroy(&p->src); /* finalized once its dispatch, if any, returns */
	r->poller = NULL;
}

/* Binds RTP on an even port of the range and RTCP on the next one. */
static int bind_pair(rtc_rtp *r, const jn_addr *base, char *err, size_t errsize)
{
	unsigned lo = r->o.port_min, hi = r->o.port_max;
	bool any = lo == 0 && hi == 0;
	unsigned tries, start = 0, span = 0;

	if (!any) {
		if (lo < 1024 || hi > 65534 || lo > hi)
			return snprintf(err, errsize, "bad rtp port range %u..%u", lo, hi), EINVAL;
		lo += lo & 1;
		span = (hi - lo) / 2 + 1;
		start = g_random_int_range(0, (gint32)span);
	}
	tries = any ? 32 : span;
	int last = EADDRINUSE;
	for (unsigned i = 0; i < tries; i++) {
		jn_addr a = *base;
		jn_addr_set_port(&a, any ? 0 : (uint16_t)(lo + 2 * ((start + i) % span)));
		int fd = jn_net_listen(SOCK_DGRAM, &a, err, errsize);
		if (fd < 0) {
			last = -fd;
			continue;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		uint16_t port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							       : ((struct sockaddr_in6 *)&ss)->sin6_port);
		if (r->o.rtcp_mux) {
			r->fd[0] = fd;
			r->port = port;
			return 0;
		}
		if (port & 1 || port == 65535) {
			close(fd);
			continue;
		}
		jn_addr_set_port(&a, (uint16_t)(port + 1));
		int fd2 = jn_net_listen(SOCK_DGRAM, &a, err, errsize);
		if (fd2 < 0) {
			close(fd);
			last = -fd2;
			continue;
		}
		r->fd[0] = fd;
		r->fd[1] = fd2;
		r->port = port;
		return 0;
	}
	if (!any)
		snprintf(err, errsize, "no free rtp port pair in %u..%u", r->o.port_min, r->o.port_max);
	return last;
}

int rtc_rtp_new(const rtc_rtp_opts *o, rtc_rtp **out, char **err)
{
	char e[160] = "";
	jn_addr base;

	*out = NULL;
	if (jn_addr_parse(o->address ? o->address : "0.0.0.0", 0, &base)) {
		*err = g_strdup_printf("bad rtp address %s", o->address ? o->address : "");
		return EINVAL;
	}
	rtc_rtp *r = g_new0(rtc_rtp, 1);
	r->o = *o;
	r->id = g_strdup(o->id ? o->id : "rtp");
	r->o.id = r->id;
	if (!r->o.clock_rate)
		r->o.clock_rate = 8000;
	r->fd[0] = r->fd[1] = -1;
	r->rtcp_mux = o->rtcp_mux;
	r->rtcp_link.data = r;
	int rc = bind_pair(r, &base, e, sizeof e);
	if (rc) {
		*err = g_strdup(e);
		rtc_rtp_free(r);
		return rc;
	}
	media_latch_init(&r->latch, &base, o->latching, o->latch_hold_ms);
	for (int i = 0; i < 2 && !rc; i++)
		if (r->fd[i] >= 0)
			rc = poller_add(r, i);
	if (rc) {
		*err = g_strdup_printf("cannot watch the rtp sockets: %s", g_strerror(rc));
		rtc_rtp_free(r);
		return rc;
	}
	r->rtcp_ms = o->rtcp_interval_ms ? o->rtcp_interval_ms : 5000;
	r->rtcp_due = g_get_monotonic_time() + (gint64)r->rtcp_ms * 1000;
	timer_insert(r->poller, r);
	if (r->poller->timers.head == &r->rtcp_link)
		timer_arm(r->poller);
	*out = r;
	return 0;
}

void rtc_rtp_free(rtc_rtp *r)
{
	if (!r)
		return;
	timer_unlink(r);
	poller_remove(r);
	srtp_drop(r);
	memset(r->local_key, 0, sizeof r->local_key);
	memset(r->remote_key, 0, sizeof r->remote_key);
	g_free(r->id);
	g_free(r);
}

void rtc_rtp_set_send(rtc_rtp *r, bool on)
{
	r->no_send = !on;
}

void rtc_rtp_set_echo(rtc_rtp *r, bool on)
{
	if (on && !r->echo_ssrc)
		do
			r->echo_ssrc = g_random_int();
		while (!r->echo_ssrc);
	r->echo = on;
}

void rtc_rtp_set_receiver(rtc_rtp *r, rtc_rtp_rx_fn fn, void *user)
{
	r->o.rtp = fn;
	r->o.user = user;
}

uint16_t rtc_rtp_local_port(const rtc_rtp *r)
{
	return r->port;
}

int rtc_rtp_set_remote(rtc_rtp *r, const jn_addr *rtp, const jn_addr *rtcp, bool rtcp_mux)
{
	if (!rtp || rtp->ss.ss_family != r->latch.dest.ss.ss_family || !jn_addr_port(rtp))
		return EINVAL;
	r->rtcp_mux = rtcp_mux || r->fd[1] < 0;
	r->rtcp_given = rtcp != NULL;
	if (rtcp) {
		r->rtcp_dest = *rtcp;
	} else {
		r->rtcp_dest = *rtp;
		if (!r->rtcp_mux)
			jn_addr_set_port(&r->rtcp_dest, (uint16_t)(jn_addr_port(rtp) + 1));
	}
	if (r->have_remote)
		media_latch_reset(&r->latch, rtp);
	else
		media_latch_init(&r->latch, rtp, r->o.latching, r->o.latch_hold_ms);
	r->have_remote = true;
	return 0;
}

void rtc_rtp_set_clock_rate(rtc_rtp *r, unsigned clock_rate)
{
	r->o.clock_rate = clock_rate ? clock_rate : 8000;
}

const jn_addr *rtc_rtp_remote(const rtc_rtp *r)
{
	return r->have_remote ? media_latch_dest(&r->latch) : NULL;
}

void rtc_rtp_get_stats(const rtc_rtp *r, rtc_rtp_stats *st)
{
	*st = r->st;
	st->latch_moves = r->latch.moves;
	if (r->rx_started) {
		st->lost = rtp_rx_stats_lost(&r->rx_stats);
		st->jitter = rtp_rx_stats_jitter(&r->rx_stats);
		st->remote_ssrc = r->rx_stats.ssrc;
	}
}
