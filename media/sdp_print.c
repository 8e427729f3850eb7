/* sdp_print: the SDP generator (see sdp.h). Lines in RFC 8866 order:
 * session v o s c t and attributes, then each media section with m, c and
 * its attributes. Every line ends in CRLF. Text fields must not contain
 * CR or LF, which would inject lines: they are refused with EINVAL. */
#include "media/sdp.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static bool clean(const char *s)
{
	return !s || !strpbrk(s, "\r\n");
}

static const char *media_name(sdp_media_type t)
{
	switch (t) {
	case SDP_MEDIA_AUDIO:
		return "audio";
	case SDP_MEDIA_VIDEO:
		return "video";
	case SDP_MEDIA_APPLICATION:
		return "application";
	case SDP_MEDIA_TEXT:
		return "text";
	case SDP_MEDIA_MESSAGE:
		return "message";
	default:
		return NULL;
	}
}

static void conn(GString *o, const char *addr)
{
	g_string_append_printf(o, "c=IN %s %s\r\n", strchr(addr, ':') ? "IP6" : "IP4", addr);
}

static bool media_clean(const sdp_media_desc *m)
{
	if (!clean(m->proto_str) || !clean(m->fmt_str) || !clean(m->addr) || !clean(m->mid) ||
	    !clean(m->ice_ufrag) || !clean(m->ice_pwd) || !clean(m->fingerprint))
		return false;
	for (size_t i = 0; i < m->n_candidates; i++)
		if (!clean(m->candidates[i]))
			return false;
	for (size_t i = 0; i < m->n_cryptos; i++)
		if (!clean(m->cryptos[i]))
			return false;
	for (size_t i = 0; i < m->n_extra; i++)
		if (!clean(m->extra[i]))
			return false;
	for (size_t i = 0; i < m->n_fmts; i++) {
		if (!clean(m->fmts[i].name) || !clean(m->fmts[i].fmtp))
			return false;
		for (const char *const *fb = m->fmts[i].rtcp_fb; fb && *fb; fb++)
			if (!clean(*fb))
				return false;
	}
	return true;
}

static void print_media(const sdp_media_desc *m, GString *o)
{
	const char *proto = m->proto != SDP_PROTO_OTHER ? sdp_proto_name(m->proto) : m->proto_str;
	const char *type = m->type != SDP_MEDIA_OTHER ? media_name(m->type) : m->type_str;
	g_string_append_printf(o, "m=%s %u %s", type, m->port, proto);
	if (m->n_fmts)
		for (size_t i = 0; i < m->n_fmts; i++)
			g_string_append_printf(o, " %u", m->fmts[i].pt);
	else if (m->fmt_str)
		g_string_append_printf(o, " %s", m->fmt_str);
	g_string_append(o, "\r\n");
	if (m->addr)
		conn(o, m->addr);
	if (m->rtcp_port)
		g_string_append_printf(o, "a=rtcp:%u\r\n", m->rtcp_port);
	for (size_t i = 0; i < m->n_candidates; i++)
		g_string_append_printf(o, "a=candidate:%s\r\n", m->candidates[i]);
	if (m->end_of_candidates)
		g_string_append(o, "a=end-of-candidates\r\n");
	if (m->ice_ufrag)
		g_string_append_printf(o, "a=ice-ufrag:%s\r\n", m->ice_ufrag);
	if (m->ice_pwd)
		g_string_append_printf(o, "a=ice-pwd:%s\r\n", m->ice_pwd);
	if (m->ice_trickle)
		g_string_append(o, "a=ice-options:trickle\r\n");
	if (m->fingerprint)
		g_string_append_printf(o, "a=fingerprint:%s\r\n", m->fingerprint);
	if (m->setup != SDP_SETUP_UNSET)
		g_string_append_printf(o, "a=setup:%s\r\n", sdp_setup_name(m->setup));
	if (m->mid)
		g_string_append_printf(o, "a=mid:%s\r\n", m->mid);
	if (m->dir != SDP_DIR_UNSET)
		g_string_append_printf(o, "a=%s\r\n", sdp_dir_name(m->dir));
	if (m->rtcp_mux)
		g_string_append(o, "a=rtcp-mux\r\n");
	if (m->rtcp_rsize)
		g_string_append(o, "a=rtcp-rsize\r\n");
	for (size_t i = 0; i < m->n_fmts; i++) {
		const sdp_fmt_desc *f = &m->fmts[i];
		if (f->name) {
			g_string_append_printf(o, "a=rtpmap:%u %s/%" PRIu32, f->pt, f->name, f->rate);
			if (f->channels > 1)
				g_string_append_printf(o, "/%u", f->channels);
			g_string_append(o, "\r\n");
		}
		for (const char *const *fb = f->rtcp_fb; fb && *fb; fb++)
			g_string_append_printf(o, "a=rtcp-fb:%u %s\r\n", f->pt, *fb);
		if (f->fmtp)
			g_string_append_printf(o, "a=fmtp:%u %s\r\n", f->pt, f->fmtp);
	}
	if (m->ptime)
		g_string_append_printf(o, "a=ptime:%u\r\n", m->ptime);
	if (m->maxptime)
		g_string_append_printf(o, "a=maxptime:%u\r\n", m->maxptime);
	for (size_t i = 0; i < m->n_cryptos; i++)
		g_string_append_printf(o, "a=crypto:%s\r\n", m->cryptos[i]);
	if (m->sctp_port)
		g_string_append_printf(o, "a=sctp-port:%u\r\n", m->sctp_port);
	for (size_t i = 0; i < m->n_extra; i++)
		g_string_append_printf(o, "a=%s\r\n", m->extra[i]);
}

int sdp_print(const sdp_desc *d, GString *out)
{
	if (!clean(d->origin_user) || !clean(d->origin_addr) || !clean(d->name) ||
	    !clean(d->addr) || !clean(d->msid_semantic) || d->n_media > SDP_MAX_MEDIA ||
	    d->n_bundle > SDP_MAX_MEDIA)
		return EINVAL;
	for (size_t i = 0; i < d->n_bundle; i++)
		if (!clean(d->bundle[i]) || strchr(d->bundle[i], ' '))
			return EINVAL;
	for (size_t i = 0; i < d->n_media; i++) {
		const sdp_media_desc *m = &d->media[i];
		bool typed = m->type != SDP_MEDIA_OTHER ? media_name(m->type) != NULL
						       : (m->type_str && *m->type_str && !strchr(m->type_str, ' '));
		if (!typed || !media_clean(m) || !clean(m->type_str) || m->n_fmts > SDP_MAX_FMTS ||
		    (m->proto == SDP_PROTO_OTHER && (!m->proto_str || !*m->proto_str)))
			return EINVAL;
	}
	const char *oaddr = d->origin_addr ? d->origin_addr : "127.0.0.1";
	g_string_append(out, "v=0\r\n");
	g_string_append_printf(out, "o=%s %" PRIu64 " %" PRIu64 " IN %s %s\r\n",
			       d->origin_user ? d->origin_user : "-", d->sess_id, d->sess_version,
			       strchr(oaddr, ':') ? "IP6" : "IP4", oaddr);
	g_string_append_printf(out, "s=%s\r\n", d->name && *d->name ? d->name : "-");
	if (d->addr)
		conn(out, d->addr);
	g_string_append(out, "t=0 0\r\n");
	if (d->ice_lite)
		g_string_append(out, "a=ice-lite\r\n");
	if (d->n_bundle) {
		g_string_append(out, "a=group:BUNDLE");
		for (size_t i = 0; i < d->n_bundle; i++)
			g_string_append_printf(out, " %s", d->bundle[i]);
		g_string_append(out, "\r\n");
	}
	if (d->msid_semantic)
		g_string_append_printf(out, "a=msid-semantic:%s\r\n", d->msid_semantic);
	for (size_t i = 0; i < d->n_media; i++)
		print_media(&d->media[i], out);
	return 0;
}
