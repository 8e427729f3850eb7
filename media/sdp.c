/* sdp: the parser and slice helpers (see sdp.h).
 *
 * Two passes over the text. The first splits lines, enforces the caps and
 * counts what each array needs (m-lines, formats, candidates, ...); then one
 * refcounted block is allocated holding the view, every array and a copy of
 * the text, and the second pass fills the arrays with slices into that copy.
 * So a parse costs one allocation however many lines the SDP has, and the
 * view lives exactly as long as its text.
 *
 * Policy on bad input: the structure (v=, o=, s=, t=, c=, m=) and the
 * attributes whose misreading would be unsafe (fingerprint, setup, ptime,
 * rtcp, sctp-port) are errors (EBADMSG). An attribute we model but cannot
 * read (an rtpmap without a clock rate, a candidate with a missing field, a
 * crypto line without a key, an odd extmap or ssrc) is kept as an unknown
 * attribute instead, so its format, candidate or key is just not usable: RFC 8839 asks agents to ignore candidates they cannot
 * use, and an unusable crypto line only means that key is not offered. */
#include "media/sdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- slice helpers ---- */

static sdp_str mk(const char *p, size_t l)
{
	return (sdp_str){ p, l };
}

bool sdp_str_eq(sdp_str s, const char *c)
{
	size_t n = strlen(c);
	return s.l == n && memcmp(s.p, c, n) == 0;
}

bool sdp_str_ieq(sdp_str s, const char *c)
{
	size_t n = strlen(c);
	return s.l == n && g_ascii_strncasecmp(s.p, c, n) == 0;
}

char *sdp_str_dup(sdp_str s)
{
	return g_strndup(s.p, s.l);
}

bool sdp_str_u32(sdp_str s, uint32_t max, uint32_t *v)
{
	if (s.l == 0 || s.l > 10)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < s.l; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (x > max)
		return false;
	*v = (uint32_t)x;
	return true;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static sdp_str trim(sdp_str s)
{
	while (s.l && is_ws(s.p[0])) {
		s.p++;
		s.l--;
	}
	while (s.l && is_ws(s.p[s.l - 1]))
		s.l--;
	return s;
}

/* Takes the next space-separated token off *rest; false when none is left. */
static bool next_tok(sdp_str *rest, sdp_str *tok)
{
	size_t i = 0;
	while (i < rest->l && is_ws(rest->p[i]))
		i++;
	size_t b = i;
	while (i < rest->l && !is_ws(rest->p[i]))
		i++;
	if (i == b) {
		*rest = mk(rest->p + i, 0);
		return false;
	}
	*tok = mk(rest->p + b, i - b);
	*rest = mk(rest->p + i, rest->l - i);
	return true;
}

/* Splits s at the first c: head before, tail after (tail empty if none). */
static bool split_at(sdp_str s, char c, sdp_str *head, sdp_str *tail)
{
	const char *q = memchr(s.p, c, s.l);
	if (!q) {
		*head = s;
		*tail = mk(s.p + s.l, 0);
		return false;
	}
	*head = mk(s.p, (size_t)(q - s.p));
	*tail = mk(q + 1, s.l - (size_t)(q - s.p) - 1);
	return true;
}

bool sdp_fmtp_next(sdp_str *rest, sdp_str *key, sdp_str *val)
{
	while (rest->l) {
		sdp_str seg, tail;
		split_at(*rest, ';', &seg, &tail);
		*rest = tail;
		seg = trim(seg);
		if (!seg.l)
			continue;
		sdp_str k, v;
		if (split_at(seg, '=', &k, &v)) {
			*key = trim(k);
			*val = trim(v);
		} else {
			*key = mk(seg.p, 0);
			*val = seg;
		}
		return true;
	}
	return false;
}

bool sdp_fmtp_get(sdp_str fmtp, const char *key, sdp_str *val)
{
	sdp_str k, v;
	while (sdp_fmtp_next(&fmtp, &k, &v)) {
		if (k.l && sdp_str_ieq(k, key)) {
			if (val)
				*val = v;
			return true;
		}
	}
	return false;
}

const sdp_fmt *sdp_media_fmt(const sdp_media *m, unsigned pt)
{
	for (size_t i = 0; i < m->n_fmts; i++)
		if (m->fmts[i].pt == pt)
			return &m->fmts[i];
	return NULL;
}

const sdp_attr *sdp_attr_find(const sdp_session *s, const sdp_media *m, const char *name)
{
	const sdp_attr *a = m ? m->attrs : s->attrs;
	size_t n = m ? m->n_attrs : s->n_attrs;
	for (size_t i = 0; i < n; i++)
		if (sdp_str_eq(a[i].name, name))
			return &a[i];
	return NULL;
}

const char *sdp_dir_name(sdp_dir d)
{
	switch (d) {
	case SDP_DIR_SENDONLY:
		return "sendonly";
	case SDP_DIR_RECVONLY:
		return "recvonly";
	case SDP_DIR_INACTIVE:
		return "inactive";
	default:
		return "sendrecv";
	}
}

const char *sdp_setup_name(sdp_setup s)
{
	switch (s) {
	case SDP_SETUP_ACTPASS:
		return "actpass";
	case SDP_SETUP_ACTIVE:
		return "active";
	case SDP_SETUP_PASSIVE:
		return "passive";
	case SDP_SETUP_HOLDCONN:
		return "holdconn";
	default:
		return "";
	}
}

static const struct {
	sdp_proto proto;
	const char *name;
} protos[] = {
	{ SDP_PROTO_RTP_AVP, "RTP/AVP" },
	{ SDP_PROTO_RTP_AVPF, "RTP/AVPF" },
	{ SDP_PROTO_RTP_SAVP, "RTP/SAVP" },
	{ SDP_PROTO_RTP_SAVPF, "RTP/SAVPF" },
	{ SDP_PROTO_UDP_TLS_RTP_SAVP, "UDP/TLS/RTP/SAVP" },
	{ SDP_PROTO_UDP_TLS_RTP_SAVPF, "UDP/TLS/RTP/SAVPF" },
	{ SDP_PROTO_TCP_TLS_RTP_SAVPF, "TCP/TLS/RTP/SAVPF" },
	{ SDP_PROTO_UDP_DTLS_SCTP, "UDP/DTLS/SCTP" },
	{ SDP_PROTO_TCP_DTLS_SCTP, "TCP/DTLS/SCTP" },
	{ SDP_PROTO_DTLS_SCTP, "DTLS/SCTP" },
};

const char *sdp_proto_name(sdp_proto p)
{
	for (size_t i = 0; i < G_N_ELEMENTS(protos); i++)
		if (protos[i].proto == p)
			return protos[i].name;
	return "";
}

static bool proto_is_rtp(sdp_proto p)
{
	return p >= SDP_PROTO_RTP_AVP && p <= SDP_PROTO_TCP_TLS_RTP_SAVPF;
}

int sdp_sip_status(int code)
{
	switch (code) {
	case 0:
		return 200;
	case EBADMSG:
	case EMSGSIZE:
		return 400;
	case ENOTSUP:
		return 488;
	default:
		return 500;
	}
}

/* ---- pass 1: lines and counts ---- */

typedef struct {
	size_t lines, media, fmts, cands, extmaps, ssrcs, cryptos, fbs, attrs;
} counts;

/* Cuts the next line off [*pos, end): strips CR, returns false at the end. */
static bool next_line(const char **pos, const char *end, sdp_str *line)
{
	if (*pos >= end)
		return false;
	const char *b = *pos;
	const char *nl = memchr(b, '\n', (size_t)(end - b));
	const char *e = nl ? nl : end;
	*pos = nl ? nl + 1 : end;
	if (e > b && e[-1] == '\r')
		e--;
	*line = mk(b, (size_t)(e - b));
	return true;
}

/* Attribute names we model. Looked up by length first, so most lines cost
 * a few integer compares and one memcmp (the parser's hottest loop). */
typedef enum {
	A_UNKNOWN = 0,
	A_SENDRECV, A_SENDONLY, A_RECVONLY, A_INACTIVE,
	A_CANDIDATE, A_RTCP_FB, A_RTPMAP, A_FMTP, A_EXTMAP, A_SSRC, A_CRYPTO,
	A_ICE_UFRAG, A_ICE_PWD, A_ICE_OPTIONS, A_FINGERPRINT, A_SETUP, A_ICE_LITE,
	A_GROUP, A_MSID_SEMANTIC, A_MID, A_RTCP_MUX, A_RTCP_RSIZE, A_END_OF_CANDIDATES,
	A_MSID, A_PTIME, A_MAXPTIME, A_SCTP_PORT, A_RTCP,
} attr_id;

#define ANAME(s, id) { s, sizeof s - 1, id }
static const struct {
	const char *name;
	uint8_t len;
	uint8_t id;
} attr_names[] = {
	ANAME("rtcp-fb", A_RTCP_FB), ANAME("rtpmap", A_RTPMAP), ANAME("fmtp", A_FMTP),
	ANAME("candidate", A_CANDIDATE), ANAME("extmap", A_EXTMAP), ANAME("ssrc", A_SSRC),
	ANAME("sendrecv", A_SENDRECV), ANAME("sendonly", A_SENDONLY), ANAME("recvonly", A_RECVONLY),
	ANAME("inactive", A_INACTIVE), ANAME("crypto", A_CRYPTO), ANAME("ice-ufrag", A_ICE_UFRAG),
	ANAME("ice-pwd", A_ICE_PWD), ANAME("ice-options", A_ICE_OPTIONS),
	ANAME("fingerprint", A_FINGERPRINT), ANAME("setup", A_SETUP), ANAME("ice-lite", A_ICE_LITE),
	ANAME("group", A_GROUP), ANAME("msid-semantic", A_MSID_SEMANTIC), ANAME("mid", A_MID),
	ANAME("rtcp-mux", A_RTCP_MUX), ANAME("rtcp-rsize", A_RTCP_RSIZE),
	ANAME("end-of-candidates", A_END_OF_CANDIDATES), ANAME("msid", A_MSID),
	ANAME("ptime", A_PTIME), ANAME("maxptime", A_MAXPTIME), ANAME("sctp-port", A_SCTP_PORT),
	ANAME("rtcp", A_RTCP),
};

static attr_id attr_lookup(sdp_str name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(attr_names); i++)
		if (attr_names[i].len == name.l && memcmp(attr_names[i].name, name.p, name.l) == 0)
			return (attr_id)attr_names[i].id;
	return A_UNKNOWN;
}

/* The name of an a= line: up to the first ':'. */
static sdp_str attr_name(sdp_str line, sdp_str *value)
{
	sdp_str body = mk(line.p + 2, line.l - 2), name;
	split_at(body, ':', &name, value);
	return name;
}

typedef struct {
	sdp_error *err;
	unsigned line;
	size_t mline; /* 1-based m-line number, 0 at session level */
} ctx;

static int fail(ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, int code, const char *fmt, ...)
{
	if (!c->err)
		return code;
	c->err->line = c->line;
	char what[80];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (c->mline)
		snprintf(c->err->reason, sizeof c->err->reason, "m-line %zu: %s", c->mline, what);
	else if (!c->line)
		snprintf(c->err->reason, sizeof c->err->reason, "%s", what);
	else
		snprintf(c->err->reason, sizeof c->err->reason, "line %u: %s", c->line, what);
	return code;
}

/* "a=NAME:" or "a=NAME" at the start of line; NAME a literal, so the
 * compiler inlines the compare (this runs on every line of the first pass). */
#define HAS_ATTR(line, name)                                                       \
	((line).l >= 2 + sizeof name - 1 && memcmp((line).p + 2, name, sizeof name - 1) == 0 && \
	 ((line).l == 2 + sizeof name - 1 || (line).p[2 + sizeof name - 1] == ':'))

static int count_pass(const char *buf, size_t len, counts *n, ctx *c)
{
	const char *pos = buf, *end = buf + len;
	sdp_str line;
	memset(n, 0, sizeof *n);
	while (next_line(&pos, end, &line)) {
		c->line++;
		if (++n->lines > SDP_MAX_LINES)
			return fail(c, EMSGSIZE, "more than %u lines", SDP_MAX_LINES);
		if (line.l == 0)
			continue;
		if (line.l < 2 || line.p[1] != '=')
			return fail(c, EBADMSG, "not a type=value line");
		/* RFC 8866 §9: no CR inside a line (NUL: see sdp_parse). Refusing
		 * them means no slice can smuggle a line break into an SDP we print. */
		if (memchr(line.p, '\r', line.l))
			return fail(c, EBADMSG, "CR or NUL inside a line");
		if (line.p[0] == 'm') {
			if (++n->media > SDP_MAX_MEDIA)
				return fail(c, EMSGSIZE, "more than %u m-lines", SDP_MAX_MEDIA);
			sdp_str rest = mk(line.p + 2, line.l - 2), tok;
			size_t t = 0;
			while (next_tok(&rest, &tok))
				t++;
			if (t > 3 + SDP_MAX_FMTS)
				return fail(c, EMSGSIZE, "more than %u formats", SDP_MAX_FMTS);
			if (t > 3)
				n->fmts += t - 3;
		} else if (line.p[0] == 'a') {
			n->attrs++; /* every a= line may end up unknown */
			if (HAS_ATTR(line, "rtcp-fb"))
				n->fbs++;
			else if (HAS_ATTR(line, "candidate"))
				n->cands++;
			else if (HAS_ATTR(line, "extmap"))
				n->extmaps++;
			else if (HAS_ATTR(line, "ssrc"))
				n->ssrcs++;
			else if (HAS_ATTR(line, "crypto"))
				n->cryptos++;
		}
	}
	c->line = 0;
	return 0;
}

/* ---- pass 2: fields ---- */

typedef struct {
	ctx c;
	sdp_session *s;
	sdp_media *m; /* current section, NULL at session level */
	sdp_fmt *fmt_pool;
	sdp_candidate *cand_pool;
	sdp_extmap *extmap_pool;
	sdp_ssrc *ssrc_pool;
	sdp_crypto *crypto_pool;
	sdp_rtcp_fb *fb_pool;
	sdp_attr *attr_pool;
	size_t fmt_used, cand_used, extmap_used, ssrc_used, crypto_used, fb_used, attr_used;
	uint8_t pt_index[128]; /* pt -> 1 + index in m->fmts; 0 = not on m-line */
	bool seen_v, seen_o, seen_s, seen_t;
} parser;

static int parse_conn(parser *p, sdp_str v, sdp_conn *out)
{
	sdp_str net, at, addr;
	if (!next_tok(&v, &net) || !next_tok(&v, &at) || !next_tok(&v, &addr))
		return fail(&p->c, EBADMSG, "bad c= line");
	if (!sdp_str_eq(net, "IN"))
		return fail(&p->c, EBADMSG, "c=: bad network type");
	if (sdp_str_eq(at, "IP4"))
		out->ip6 = false;
	else if (sdp_str_eq(at, "IP6"))
		out->ip6 = true;
	else
		return fail(&p->c, EBADMSG, "c=: bad address type");
	sdp_str host, ttl;
	split_at(addr, '/', &host, &ttl);
	if (!host.l)
		return fail(&p->c, EBADMSG, "c=: bad address");
	out->addr = host;
	out->present = true;
	return 0;
}

static int parse_origin(parser *p, sdp_str v)
{
	sdp_str user, id, ver, net, at, addr;
	if (!next_tok(&v, &user) || !next_tok(&v, &id) || !next_tok(&v, &ver) ||
	    !next_tok(&v, &net) || !next_tok(&v, &at) || !next_tok(&v, &addr))
		return fail(&p->c, EBADMSG, "bad o= line");
	p->s->origin_user = user;
	p->s->sess_id = id;
	p->s->sess_version = ver;
	p->s->origin_addr = addr;
	return 0;
}

static sdp_proto proto_of(sdp_str s)
{
	for (size_t i = 0; i < G_N_ELEMENTS(protos); i++)
		if (sdp_str_eq(s, protos[i].name))
			return protos[i].proto;
	return SDP_PROTO_OTHER;
}

static sdp_media_type media_type_of(sdp_str s)
{
	if (sdp_str_eq(s, "audio"))
		return SDP_MEDIA_AUDIO;
	if (sdp_str_eq(s, "video"))
		return SDP_MEDIA_VIDEO;
	if (sdp_str_eq(s, "application"))
		return SDP_MEDIA_APPLICATION;
	if (sdp_str_eq(s, "text"))
		return SDP_MEDIA_TEXT;
	if (sdp_str_eq(s, "message"))
		return SDP_MEDIA_MESSAGE;
	return SDP_MEDIA_OTHER;
}

static int parse_mline(parser *p, sdp_str v)
{
	sdp_media *m = &p->s->media[p->s->n_media++];
	p->m = m;
	p->c.mline = p->s->n_media;
	memset(p->pt_index, 0, sizeof p->pt_index);
	m->cands = p->cand_pool + p->cand_used;
	m->extmaps = p->extmap_pool + p->extmap_used;
	m->ssrcs = p->ssrc_pool + p->ssrc_used;
	m->cryptos = p->crypto_pool + p->crypto_used;
	m->fbs = p->fb_pool + p->fb_used;
	m->attrs = p->attr_pool + p->attr_used;
	m->fmts = p->fmt_pool + p->fmt_used;

	sdp_str type, port, proto;
	if (!next_tok(&v, &type) || !next_tok(&v, &port) || !next_tok(&v, &proto))
		return fail(&p->c, EBADMSG, "bad m= line");
	m->type = media_type_of(type);
	m->type_str = type;
	sdp_str pnum, pcount;
	uint32_t x;
	m->port_count = 1;
	if (split_at(port, '/', &pnum, &pcount)) {
		if (!sdp_str_u32(pcount, 65535, &x) || x == 0)
			return fail(&p->c, EBADMSG, "bad port count");
		m->port_count = (uint16_t)x;
	}
	if (!sdp_str_u32(pnum, 65535, &x))
		return fail(&p->c, EBADMSG, "bad port");
	m->port = (uint16_t)x;
	m->proto = proto_of(proto);
	m->proto_str = proto;
	m->fmt_str = trim(v);
	if (!proto_is_rtp(m->proto))
		return 0;
	sdp_str tok;
	while (next_tok(&v, &tok)) {
		if (!sdp_str_u32(tok, 127, &x))
			return fail(&p->c, EBADMSG, "bad payload type");
		if (p->pt_index[x])
			continue; /* listed twice: keep the first */
		sdp_fmt *f = &m->fmts[m->n_fmts++];
		f->pt = (uint8_t)x;
		f->channels = 1;
		p->pt_index[x] = (uint8_t)m->n_fmts;
		p->fmt_used++;
	}
	return 0;
}

/* The format of the current section with payload type ptstr, or NULL
 * (not a number, or not on the m-line). */
static sdp_fmt *fmt_for(parser *p, sdp_str ptstr)
{
	uint32_t pt;
	if (!p->m || !sdp_str_u32(ptstr, 127, &pt) || !p->pt_index[pt])
		return NULL;
	return &p->m->fmts[p->pt_index[pt] - 1];
}

/* a=rtpmap:PT name/rate[/channels]; false when unreadable (kept raw). A
 * dynamic PT whose rtpmap is unreadable is then simply an unknown codec. */
static bool parse_rtpmap(parser *p, sdp_str v)
{
	sdp_str ptstr, rest, name, rate, chans, r2;
	if (!p->m || !next_tok(&v, &ptstr) || !next_tok(&v, &rest))
		return false;
	sdp_fmt *f = fmt_for(p, ptstr);
	if (!f)
		return false; /* bad PT, or PT not on the m-line */
	split_at(rest, '/', &name, &r2);
	bool has_ch = split_at(r2, '/', &rate, &chans);
	uint32_t r, ch = 1;
	if (!name.l || !sdp_str_u32(rate, 10000000, &r) || r == 0 ||
	    (has_ch && (!sdp_str_u32(chans, 255, &ch) || ch == 0)))
		return false;
	f->has_rtpmap = true;
	f->name = name;
	f->rate = r;
	f->channels = (uint8_t)ch;
	return true;
}

/* a=fmtp:PT params; false when the PT is not a format of this section. */
static bool parse_fmtp(parser *p, sdp_str v)
{
	sdp_str ptstr;
	if (!p->m || !next_tok(&v, &ptstr))
		return false;
	sdp_fmt *f = fmt_for(p, ptstr);
	if (!f)
		return false;
	f->fmtp = trim(v);
	return true;
}

static bool parse_rtcp_fb(parser *p, sdp_str v)
{
	sdp_str ptstr, type;
	if (!p->m || !next_tok(&v, &ptstr) || !next_tok(&v, &type))
		return false;
	sdp_rtcp_fb *fb = &p->m->fbs[p->m->n_fbs];
	uint32_t pt;
	if (sdp_str_eq(ptstr, "*"))
		fb->pt = -1;
	else if (sdp_str_u32(ptstr, 127, &pt))
		fb->pt = (int)pt;
	else
		return false;
	fb->type = type;
	fb->param = trim(v);
	p->m->n_fbs++;
	p->fb_used++;
	return true;
}

static bool parse_candidate(parser *p, sdp_str v)
{
	if (!p->m)
		return false;
	sdp_candidate *k = &p->m->cands[p->m->n_cands];
	memset(k, 0, sizeof *k);
	k->line = trim(v);
	k->generation = -1;
	sdp_str comp, prio, port, typ, type;
	uint32_t x;
	if (!next_tok(&v, &k->foundation) || !next_tok(&v, &comp) ||
	    !next_tok(&v, &k->transport) || !next_tok(&v, &prio) || !next_tok(&v, &k->addr) ||
	    !next_tok(&v, &port) || !next_tok(&v, &typ) || !next_tok(&v, &type))
		return false;
	if (!sdp_str_u32(comp, 256, &x) || x == 0)
		return false;
	k->component = (uint16_t)x;
	if (!sdp_str_u32(prio, UINT32_MAX, &k->priority))
		return false;
	if (!sdp_str_u32(port, 65535, &x))
		return false;
	k->port = (uint16_t)x;
	if (!sdp_str_eq(typ, "typ"))
		return false;
	k->tcp = sdp_str_ieq(k->transport, "tcp");
	k->type_str = type;
	k->type = sdp_str_eq(type, "host")	? SDP_CAND_HOST
		  : sdp_str_eq(type, "srflx") ? SDP_CAND_SRFLX
		  : sdp_str_eq(type, "prflx") ? SDP_CAND_PRFLX
		  : sdp_str_eq(type, "relay") ? SDP_CAND_RELAY
					      : SDP_CAND_OTHER;
	sdp_str name, val;
	while (next_tok(&v, &name)) {
		if (!next_tok(&v, &val))
			return false; /* extensions come in name/value pairs */
		if (sdp_str_eq(name, "raddr")) {
			k->raddr = val;
		} else if (sdp_str_eq(name, "rport")) {
			if (!sdp_str_u32(val, 65535, &x))
				return false;
			k->rport = (uint16_t)x;
			k->has_rport = true;
		} else if (sdp_str_eq(name, "generation")) {
			if (!sdp_str_u32(val, INT32_MAX, &x))
				return false;
			k->generation = (int32_t)x;
		} else if (sdp_str_eq(name, "tcptype")) {
			k->tcptype = val;
		}
	}
	p->m->n_cands++;
	p->cand_used++;
	return true;
}

static bool parse_extmap(parser *p, sdp_str v)
{
	if (!p->m)
		return false; /* session-level extmap: kept as unknown */
	sdp_extmap *e = &p->m->extmaps[p->m->n_extmaps];
	sdp_str idd, id, d;
	uint32_t x;
	if (!next_tok(&v, &idd) || !next_tok(&v, &e->uri))
		return false;
	e->dir = SDP_DIR_UNSET;
	if (split_at(idd, '/', &id, &d)) {
		if (sdp_str_eq(d, "sendrecv"))
			e->dir = SDP_DIR_SENDRECV;
		else if (sdp_str_eq(d, "sendonly"))
			e->dir = SDP_DIR_SENDONLY;
		else if (sdp_str_eq(d, "recvonly"))
			e->dir = SDP_DIR_RECVONLY;
		else if (sdp_str_eq(d, "inactive"))
			e->dir = SDP_DIR_INACTIVE;
		else
			return false;
	}
	if (!sdp_str_u32(id, 4096, &x) || x == 0)
		return false;
	e->id = (uint16_t)x;
	e->attrs = trim(v);
	p->m->n_extmaps++;
	p->extmap_used++;
	return true;
}

static bool parse_ssrc(parser *p, sdp_str v)
{
	if (!p->m)
		return false;
	sdp_ssrc *s = &p->m->ssrcs[p->m->n_ssrcs];
	sdp_str id, rest = v;
	if (!next_tok(&rest, &id) || !sdp_str_u32(id, UINT32_MAX, &s->ssrc))
		return false;
	rest = trim(rest);
	if (!rest.l)
		return false;
	split_at(rest, ':', &s->attr, &s->value);
	p->m->n_ssrcs++;
	p->ssrc_used++;
	return true;
}

/* RFC 4568 §9.1: tag SP suite SP key-params *(";" key-params) [SP params] */
static bool parse_crypto(parser *p, sdp_str v)
{
	if (!p->m)
		return false;
	sdp_crypto *k = &p->m->cryptos[p->m->n_cryptos];
	memset(k, 0, sizeof *k);
	sdp_str tag, kp, method, info, first, dummy;
	if (!next_tok(&v, &tag) || !next_tok(&v, &k->suite) || !next_tok(&v, &kp))
		return false;
	if (tag.l > 9 || !sdp_str_u32(tag, 999999999, &k->tag))
		return false;
	k->params = trim(v);
	split_at(kp, ';', &first, &dummy); /* further keys are not used */
	if (!split_at(first, ':', &method, &info) || !sdp_str_ieq(method, "inline"))
		return false;
	sdp_str key, rest, life, mki;
	split_at(info, '|', &key, &rest);
	if (!key.l)
		return false;
	k->key = key;
	if (rest.l) {
		split_at(rest, '|', &life, &mki);
		/* a lone "N:L" field is the MKI (the lifetime never has ':') */
		if (!mki.l && memchr(life.p, ':', life.l)) {
			mki = life;
			life = mk(life.p, 0);
		}
		k->lifetime = life;
		k->mki = mki;
	}
	p->m->n_cryptos++;
	p->crypto_used++;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_fingerprint(parser *p, sdp_str v, sdp_fingerprint *f)
{
	sdp_str hash, hex;
	if (!next_tok(&v, &hash) || !next_tok(&v, &hex))
		return fail(&p->c, EBADMSG, "bad fingerprint");
	f->hash = hash;
	f->len = 0;
	size_t i = 0;
	while (i < hex.l) {
		int hi = i + 1 < hex.l ? hexval(hex.p[i]) : -1;
		int lo = i + 1 < hex.l ? hexval(hex.p[i + 1]) : -1;
		if (hi < 0 || lo < 0 || f->len >= SDP_MAX_FINGERPRINT)
			return fail(&p->c, EBADMSG, "bad fingerprint");
		f->bytes[f->len++] = (uint8_t)(hi << 4 | lo);
		i += 2;
		if (i < hex.l && hex.p[i++] != ':')
			return fail(&p->c, EBADMSG, "bad fingerprint");
		if (i == hex.l && hex.p[i - 1] == ':')
			return fail(&p->c, EBADMSG, "bad fingerprint");
	}
	if (!f->len)
		return fail(&p->c, EBADMSG, "bad fingerprint");
	f->present = true;
	return 0;
}

static int parse_setup(parser *p, sdp_str v, sdp_setup *out)
{
	v = trim(v);
	if (sdp_str_eq(v, "actpass"))
		*out = SDP_SETUP_ACTPASS;
	else if (sdp_str_eq(v, "active"))
		*out = SDP_SETUP_ACTIVE;
	else if (sdp_str_eq(v, "passive"))
		*out = SDP_SETUP_PASSIVE;
	else if (sdp_str_eq(v, "holdconn"))
		*out = SDP_SETUP_HOLDCONN;
	else
		return fail(&p->c, EBADMSG, "bad setup");
	return 0;
}

static bool has_trickle(sdp_str v)
{
	sdp_str tok;
	while (next_tok(&v, &tok))
		if (sdp_str_eq(tok, "trickle"))
			return true;
	return false;
}

static int parse_uint_attr(parser *p, sdp_str v, uint32_t max, const char *what, uint32_t *out)
{
	sdp_str tok;
	if (!next_tok(&v, &tok) || !sdp_str_u32(tok, max, out))
		return fail(&p->c, EBADMSG, "bad %s", what);
	return 0;
}

static int parse_group(parser *p, sdp_str v, bool *keep_raw)
{
	sdp_str sem, mid;
	if (!next_tok(&v, &sem) || !sdp_str_eq(sem, "BUNDLE") || p->s->has_bundle) {
		*keep_raw = true;
		return 0;
	}
	p->s->has_bundle = true;
	while (next_tok(&v, &mid)) {
		if (p->s->n_bundle >= SDP_MAX_MEDIA)
			return fail(&p->c, EMSGSIZE, "too many BUNDLE mids");
		p->s->bundle[p->s->n_bundle++] = mid;
	}
	return 0;
}

static int parse_attr(parser *p, sdp_str line)
{
	sdp_str v, name = attr_name(line, &v);
	sdp_session *s = p->s;
	sdp_media *m = p->m;
	bool raw = false;
	int rc = 0;
	uint32_t x = 0;
	attr_id id = attr_lookup(name);

	/* session-only and media-only attributes in the wrong place: unknown */
	if ((!m && id >= A_MID) || (m && (id == A_ICE_LITE || id == A_GROUP || id == A_MSID_SEMANTIC)))
		id = A_UNKNOWN;
	switch (id) {
	case A_SENDRECV:
	case A_SENDONLY:
	case A_RECVONLY:
	case A_INACTIVE: {
		sdp_dir d = (sdp_dir)(SDP_DIR_SENDRECV + (id - A_SENDRECV));
		if (m) {
			m->dir = d;
			m->dir_explicit = true;
		} else {
			s->dir = d;
		}
		break;
	}
	case A_CANDIDATE:
		raw = !parse_candidate(p, v);
		break;
	case A_RTCP_FB:
		raw = !parse_rtcp_fb(p, v);
		break;
	case A_RTPMAP:
		raw = !parse_rtpmap(p, v);
		break;
	case A_FMTP:
		raw = !parse_fmtp(p, v);
		break;
	case A_EXTMAP:
		raw = !parse_extmap(p, v);
		break;
	case A_SSRC:
		raw = !parse_ssrc(p, v);
		break;
	case A_CRYPTO:
		raw = !parse_crypto(p, v);
		break;
	case A_ICE_UFRAG:
		*(m ? &m->ice_ufrag : &s->ice_ufrag) = trim(v);
		break;
	case A_ICE_PWD:
		*(m ? &m->ice_pwd : &s->ice_pwd) = trim(v);
		break;
	case A_ICE_OPTIONS:
		if (has_trickle(v))
			*(m ? &m->ice_trickle : &s->ice_trickle) = true;
		break;
	case A_FINGERPRINT:
		rc = parse_fingerprint(p, v, m ? &m->fingerprint : &s->fingerprint);
		break;
	case A_SETUP:
		rc = parse_setup(p, v, m ? &m->setup : &s->setup);
		break;
	case A_ICE_LITE:
		s->ice_lite = true;
		break;
	case A_GROUP:
		rc = parse_group(p, v, &raw);
		break;
	case A_MSID_SEMANTIC:
		s->msid_semantic = trim(v);
		break;
	case A_MID: {
		sdp_str tok, rest = v;
		m->mid = next_tok(&rest, &tok) ? tok : trim(v);
		if (next_tok(&rest, &tok))
			return fail(&p->c, EBADMSG, "bad mid"); /* a token (RFC 5888) */
		break;
	}
	case A_RTCP_MUX:
		m->rtcp_mux = true;
		break;
	case A_RTCP_RSIZE:
		m->rtcp_rsize = true;
		break;
	case A_END_OF_CANDIDATES:
		m->end_of_candidates = true;
		break;
	case A_MSID:
		m->msid = trim(v);
		break;
	case A_PTIME:
		rc = parse_uint_attr(p, v, 10000, "ptime", &x);
		m->ptime = x;
		break;
	case A_MAXPTIME:
		rc = parse_uint_attr(p, v, 10000, "maxptime", &x);
		m->maxptime = x;
		break;
	case A_SCTP_PORT:
		rc = parse_uint_attr(p, v, 65535, "sctp-port", &x);
		m->sctp_port = (uint16_t)x;
		break;
	case A_RTCP: {
		sdp_str port, net, at, addr;
		rc = parse_uint_attr(p, v, 65535, "rtcp", &x);
		m->rtcp_port = (uint16_t)x;
		next_tok(&v, &port);
		if (!rc && next_tok(&v, &net) && next_tok(&v, &at) && next_tok(&v, &addr))
			m->rtcp_addr = addr;
		break;
	}
	case A_UNKNOWN:
		raw = true;
		break;
	}
	if (rc)
		return rc;
	if (raw) {
		sdp_attr *a = &p->attr_pool[p->attr_used++];
		a->name = name;
		a->value = v;
		if (m)
			m->n_attrs++;
		else
			s->n_attrs++;
	}
	return 0;
}

static int parse_line(parser *p, sdp_str line)
{
	sdp_str v = mk(line.p + 2, line.l - 2);
	uint32_t x;
	switch (line.p[0]) {
	case 'v':
		if (p->seen_v || !sdp_str_u32(v, 0, &x))
			return fail(&p->c, EBADMSG, "bad v= line");
		p->seen_v = true;
		return 0;
	case 'o':
		if (p->m || p->seen_o)
			return fail(&p->c, EBADMSG, "misplaced o= line");
		p->seen_o = true;
		return parse_origin(p, v);
	case 's':
		if (p->m)
			return fail(&p->c, EBADMSG, "misplaced s= line");
		p->seen_s = true;
		p->s->name = v;
		return 0;
	case 't':
		p->seen_t = true;
		return 0;
	case 'c':
		return parse_conn(p, v, p->m ? &p->m->conn : &p->s->conn);
	case 'm':
		return parse_mline(p, v);
	case 'a':
		return parse_attr(p, line);
	default:
		return 0; /* b= i= u= e= p= z= k= r= and unknown types: ignored */
	}
}

/* Media-level values fall back to the session's (RFC 8866 §5, RFC 8839). */
static int resolve(parser *p)
{
	sdp_session *s = p->s;
	for (size_t i = 0; i < s->n_media; i++) {
		sdp_media *m = &s->media[i];
		p->c.mline = i + 1;
		if (!m->conn.present)
			m->conn = s->conn;
		if (!m->conn.present && m->port != 0)
			return fail(&p->c, EBADMSG, "no c= line");
		if (!m->ice_ufrag.l)
			m->ice_ufrag = s->ice_ufrag;
		if (!m->ice_pwd.l)
			m->ice_pwd = s->ice_pwd;
		if (s->ice_trickle)
			m->ice_trickle = true;
		if (!m->fingerprint.present)
			m->fingerprint = s->fingerprint;
		if (m->setup == SDP_SETUP_UNSET)
			m->setup = s->setup;
		if (!m->dir_explicit)
			m->dir = s->dir != SDP_DIR_UNSET ? s->dir : SDP_DIR_SENDRECV;
	}
	return 0;
}

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

int sdp_parse(const char *buf, size_t len, sdp_session **out, sdp_error *err)
{
	parser p = { .c = { .err = err } };
	counts n;
	int rc;
	*out = NULL;
	if (err) {
		err->line = 0;
		err->reason[0] = '\0';
	}
	if (len > SDP_MAX_SIZE)
		return fail(&p.c, EMSGSIZE, "SDP larger than %u bytes", SDP_MAX_SIZE);
	if ((rc = count_pass(buf, len, &n, &p.c)))
		return rc;
	const char *nul = len ? memchr(buf, '\0', len) : NULL;
	if (nul) {
		const char *q = buf;
		for (p.c.line = 1; (q = memchr(q, '\n', (size_t)(nul - q))); q++)
			p.c.line++;
		return fail(&p.c, EBADMSG, "CR or NUL inside a line");
	}

	size_t off_media = ALIGN8(sizeof(sdp_session));
	size_t off_fmts = off_media + ALIGN8(n.media * sizeof(sdp_media));
	size_t off_cands = off_fmts + ALIGN8(n.fmts * sizeof(sdp_fmt));
	size_t off_ext = off_cands + ALIGN8(n.cands * sizeof(sdp_candidate));
	size_t off_ssrc = off_ext + ALIGN8(n.extmaps * sizeof(sdp_extmap));
	size_t off_crypto = off_ssrc + ALIGN8(n.ssrcs * sizeof(sdp_ssrc));
	size_t off_fb = off_crypto + ALIGN8(n.cryptos * sizeof(sdp_crypto));
	size_t off_attr = off_fb + ALIGN8(n.fbs * sizeof(sdp_rtcp_fb));
	size_t off_text = off_attr + ALIGN8(n.attrs * sizeof(sdp_attr));
	char *blk = g_atomic_rc_box_alloc0(off_text + len + 1);
	sdp_session *s = (sdp_session *)blk;
	char *text = blk + off_text;
	if (len)
		memcpy(text, buf, len);
	s->text = mk(text, len);
	s->media = (sdp_media *)(blk + off_media);
	p.s = s;
	p.fmt_pool = (sdp_fmt *)(blk + off_fmts);
	p.cand_pool = (sdp_candidate *)(blk + off_cands);
	p.extmap_pool = (sdp_extmap *)(blk + off_ext);
	p.ssrc_pool = (sdp_ssrc *)(blk + off_ssrc);
	p.crypto_pool = (sdp_crypto *)(blk + off_crypto);
	p.fb_pool = (sdp_rtcp_fb *)(blk + off_fb);
	p.attr_pool = (sdp_attr *)(blk + off_attr);
	s->attrs = p.attr_pool;

	const char *pos = text, *end = text + len;
	sdp_str line;
	while (next_line(&pos, end, &line)) {
		p.c.line++;
		if (line.l == 0)
			continue;
		if (!p.seen_v && line.p[0] != 'v') {
			rc = fail(&p.c, EBADMSG, "SDP must start with v=");
			goto out;
		}
		if ((rc = parse_line(&p, line)))
			goto out;
	}
	p.c.line = 0;
	p.c.mline = 0;
	if (!p.seen_v) {
		rc = fail(&p.c, EBADMSG, "empty SDP");
		goto out;
	}
	if (!p.seen_o || !p.seen_s || !p.seen_t) {
		rc = fail(&p.c, EBADMSG, "missing %s= line", !p.seen_o ? "o" : !p.seen_s ? "s" : "t");
		goto out;
	}
	rc = resolve(&p);
out:
	if (rc)
		g_atomic_rc_box_release(blk);
	else
		*out = s;
	return rc;
}

sdp_session *sdp_ref(sdp_session *s)
{
	return g_atomic_rc_box_acquire(s);
}

sdp_session *sdp_unref(sdp_session *s)
{
	if (s)
		g_atomic_rc_box_release(s);
	return NULL;
}
