/* rtc-hold-peer: one rtc_pc in echo mode driven over stdin/stdout, so
 * tests/e2e/rtc-hold.test.mjs can make Chromium the peer of our re-offers
 * (hold, resume) without the call layer. One JSON object per line:
 *   in:  {"offer": SDP}      the first: a new connection; later: rtc_pc_update
 *        {"reoffer": DIR}    "sendonly", "recvonly", "inactive", "sendrecv"
 *        {"answer": SDP}     the answer to our re-offer
 *        {"stats": true}
 *   out: {"answer": SDP}, {"offer": SDP}, {"ok": true}, {"error": TEXT},
 *        {"state": "connected" | "closed", "reason": TEXT},
 *        {"stats": {...}}
 * Logs go to stderr; EOF on stdin ends it. */
#include <errno.h>
#include <glib-unix.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "media/sdp.h"
#include "util/log.h"
#include "webrtc/rtc_dtls.h"
#include "webrtc/rtc_pc.h"

typedef struct {
	GMainLoop *loop;
	rtc_dtls_cert *cert;
	rtc_pc *pc;
	GString *in;
} peer;

static void emit(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

static void emit_error(int rc, const char *what)
{
	emit(json_pack("{s:s,s:i}", "error", what ? what : "?", "code", rc));
}

static void on_answer(void *user, const char *sdp)
{
	(void)user;
	emit(json_pack("{s:s}", "answer", sdp));
}

static void on_state(void *user, rtc_pc_state st, const char *reason)
{
	(void)user;
	if (st == RTC_PC_CONNECTED)
		emit(json_pack("{s:s}", "state", "connected"));
	else if (st == RTC_PC_CLOSED)
		emit(json_pack("{s:s,s:s}", "state", "closed", "reason", reason ? reason : ""));
}

static bool dir_from_name(const char *n, sdp_dir *d)
{
	static const sdp_dir all[] = { SDP_DIR_SENDRECV, SDP_DIR_SENDONLY, SDP_DIR_RECVONLY, SDP_DIR_INACTIVE };
	for (size_t i = 0; n && i < G_N_ELEMENTS(all); i++)
		if (!strcmp(n, sdp_dir_name(all[i]))) {
			*d = all[i];
			return true;
		}
	return false;
}

static sdp_session *parse_sdp(const char *text)
{
	sdp_session *s = NULL;
	sdp_error e;
	if (!text || sdp_parse(text, strlen(text), &s, &e)) {
		emit_error(EBADMSG, text ? e.reason : "no SDP");
		return NULL;
	}
	return s;
}

static void on_offer(peer *p, const char *text)
{
	static const char *const addrs[] = { "127.0.0.1", NULL };
	sdp_session *s = parse_sdp(text);
	char *err = NULL;
	int rc;
	if (!s)
		return;
	if (!p->pc) {
		rtc_pc_opts o = { .cert = p->cert, .context = g_main_context_default(), .local_addresses = addrs, .port_min = 44000,
				  .port_max = 44999, .echo = true, .id = "hold", .answer = on_answer,
				  .state = on_state, .user = p };
		rc = rtc_pc_new_from_offer(&o, s, &p->pc, &err);
		if (!rc)
			rtc_pc_add_remote_candidate(p->pc, NULL); /* the page sends gathered offers */
	} else {
		rc = rtc_pc_update(p->pc, s, &err);
	}
	if (rc)
		emit_error(rc, err);
	g_free(err);
	sdp_unref(s);
}

static void on_line(peer *p, const char *line)
{
	json_error_t je;
	json_t *j = json_loads(line, 0, &je);
	char *err = NULL, *sdp = NULL;
	const char *v;
	sdp_dir d;
	int rc;
	if (!j) {
		emit_error(EINVAL, je.text);
		return;
	}
	if ((v = json_string_value(json_object_get(j, "offer")))) {
		on_offer(p, v);
	} else if ((v = json_string_value(json_object_get(j, "reoffer")))) {
		if (!p->pc || !dir_from_name(v, &d))
			emit_error(EINVAL, "no connection or bad direction");
		else if ((rc = rtc_pc_reoffer(p->pc, d, &sdp, &err)))
			emit_error(rc, err);
		else
			emit(json_pack("{s:s}", "offer", sdp));
	} else if ((v = json_string_value(json_object_get(j, "answer")))) {
		sdp_session *s = parse_sdp(v);
		if (s && !p->pc)
			emit_error(EINVAL, "no connection");
		else if (s && (rc = rtc_pc_set_answer(p->pc, s, &err)))
			emit_error(rc, err);
		else if (s)
			emit(json_pack("{s:b}", "ok", 1));
		sdp_unref(s);
	} else if (json_object_get(j, "stats")) {
		rtc_pc_stats st = { 0 };
		if (p->pc)
			rtc_pc_get_stats(p->pc, &st);
		emit(json_pack("{s:{s:I,s:I,s:I,s:I,s:I,s:s,s:s}}", "stats", "rtp_in", (json_int_t)st.rtp_in,
			       "rtp_out", (json_int_t)st.rtp_out, "rtp_held", (json_int_t)st.rtp_held,
			       "srtp_errors", (json_int_t)st.srtp_errors, "rtcp_in", (json_int_t)st.rtcp_in,
			       "local_dir", p->pc ? sdp_dir_name(rtc_pc_local_dir(p->pc)) : "",
			       "remote_dir", p->pc ? sdp_dir_name(rtc_pc_remote_dir(p->pc)) : ""));
	} else {
		emit_error(EINVAL, "unknown command");
	}
	g_free(err);
	g_free(sdp);
	json_decref(j);
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer data)
{
	peer *p = data;
	char buf[4096];
	(void)cond;
	ssize_t n = read(fd, buf, sizeof buf);
	if (n <= 0) {
		g_main_loop_quit(p->loop);
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(p->in, buf, n);
	char *nl;
	while ((nl = memchr(p->in->str, '\n', p->in->len))) {
		*nl = '\0';
		if (nl > p->in->str)
			on_line(p, p->in->str);
		g_string_erase(p->in, 0, nl - p->in->str + 1);
	}
	return G_SOURCE_CONTINUE;
}

int main(void)
{
	peer p = { 0 };
	char *err = NULL;
	jn_log_set_fd(2);
	if (rtc_dtls_cert_new(NULL, NULL, NULL, &p.cert, &err)) {
		fprintf(stderr, "certificate: %s\n", err);
		return 1;
	}
	p.loop = g_main_loop_new(NULL, FALSE);
	p.in = g_string_new(NULL);
	g_unix_fd_add(0, G_IO_IN | G_IO_HUP, on_stdin, &p);
	g_main_loop_run(p.loop);
	rtc_pc_free(p.pc);
	rtc_dtls_cert_unref(p.cert);
	g_string_free(p.in, TRUE);
	g_main_loop_unref(p.loop);
	return 0;
}
