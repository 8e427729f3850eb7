/* sip_build: request and response writers over a capped growable buffer. */
#include "sip/sip_build.h"

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void sip_buf_init(sip_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : SIP_MSG_MAX_LEN;
}

void sip_buf_free(sip_buf *b)
{
	g_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

void sip_buf_reset(sip_buf *b)
{
	b->len = 0;
	b->err = 0;
}

/* Makes room for n more bytes (+1 for a NUL kept after the data, so the
 * result can be logged as a string). */
static bool grow(sip_buf *b, size_t n)
{
	size_t want;

	if (b->err)
		return false;
	if (n > b->max || b->len + n > b->max) {
		b->err = ENOSPC;
		return false;
	}
	want = b->len + n + 1;
	if (want <= b->cap)
		return true;
	if (want < 512)
		want = 512;
	if (want < b->cap * 2)
		want = b->cap * 2;
	b->p = g_realloc(b->p, want);
	b->cap = want;
	return true;
}

void sip_buf_put(sip_buf *b, const void *p, size_t n)
{
	if (!grow(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sip_buf_puts(sip_buf *b, const char *s)
{
	sip_buf_put(b, s, strlen(s));
}

void sip_buf_put_pl(sip_buf *b, sip_pl pl)
{
	sip_buf_put(b, pl.p, pl.l);
}

void sip_buf_put_u32(sip_buf *b, uint32_t v)
{
	char tmp[10];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sip_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void sip_buf_hdr(sip_buf *b, const char *name, sip_pl value)
{
	sip_buf_puts(b, name);
	sip_buf_put(b, ": ", 2);
	sip_buf_put_pl(b, value);
	sip_buf_put(b, "\r\n", 2);
}

void sip_buf_printf(sip_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* 64 URL- and token-safe characters, so 6 random bits map to one. */
static const char tok_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.";

void sip_build_token(char *out, size_t len)
{
	size_t i = 0;

	while (i < len) {
		guint32 r = g_random_int();

		for (int k = 0; k < 5 && i < len; k++, r >>= 6)
			out[i++] = tok_chars[r & 63];
	}
	out[len] = '\0';
}

void sip_build_branch(char out[SIP_BRANCH_LEN + 1])
{
	memcpy(out, "z9hG4bK", 7);
	sip_build_token(out + 7, SIP_BRANCH_LEN - 7);
}

const char *sip_reason_phrase(uint16_t code)
{
	switch (code) {
	case 100: return "Trying";
	case 180: return "Ringing";
	case 181: return "Call Is Being Forwarded";
	case 182: return "Queued";
	case 183: return "Session Progress";
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Notification";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Moved Temporarily";
	case 305: return "Use Proxy";
	case 380: return "Alternative Service";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 412: return "Conditional Request Failed";
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 421: return "Extension Required";
	case 422: return "Session Interval Too Small";
	case 423: return "Interval Too Brief";
	case 439: return "First Hop Lacks Outbound Support";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 485: return "Ambiguous";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 489: return "Bad Event";
	case 491: return "Request Pending";
	case 493: return "Undecipherable";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	default: return "";
	}
}

static void put_status_line(sip_buf *b, uint16_t code, const char *reason)
{
	if (!reason || !*reason)
		reason = sip_reason_phrase(code);
	if (!*reason)
		reason = code < 200 ? "Trying" : code < 300 ? "OK" : "Error";
	sip_buf_put(b, "SIP/2.0 ", 8);
	sip_buf_put_u32(b, code);
	sip_buf_put(b, " ", 1);
	sip_buf_puts(b, reason);
	sip_buf_put(b, "\r\n", 2);
}

static void put_to(sip_buf *b, sip_pl to, bool has_tag, const char *to_tag)
{
	sip_buf_put(b, "To: ", 4);
	sip_buf_put_pl(b, to);
	if (!has_tag && to_tag && *to_tag) {
		sip_buf_put(b, ";tag=", 5);
		sip_buf_puts(b, to_tag);
	}
	sip_buf_put(b, "\r\n", 2);
}

static void put_tail(sip_buf *b, const char *extra, const char *ctype, sip_pl body)
{
	if (extra)
		sip_buf_puts(b, extra);
	if (body.l && ctype) {
		sip_buf_put(b, "Content-Type: ", 14);
		sip_buf_puts(b, ctype);
		sip_buf_put(b, "\r\n", 2);
	}
	sip_buf_put(b, "Content-Length: ", 16);
	sip_buf_put_u32(b, (uint32_t)body.l);
	sip_buf_put(b, "\r\n\r\n", 4);
	sip_buf_put_pl(b, body);
}

int sip_build_response(sip_buf *b, const sip_msg *req, uint16_t code,
		       const char *reason, const sip_resp_opts *opts)
{
	static const sip_resp_opts none;
	sip_hdr_iter it;
	sip_pl v;

	if (!opts)
		opts = &none;
	put_status_line(b, code, reason);
	/* Via lines are copied as received, in order (RFC 3261 §8.2.6.2). */
	sip_hdr_iter_init(&it, req, SIP_HDR_VIA, NULL, false);
	while (sip_hdr_iter_next(&it, &v))
		sip_buf_hdr(b, "Via", v);
	sip_buf_hdr(b, "From", req->from.value);
	put_to(b, req->to.value, sip_pl_isset(req->to.tag), code > 100 ? opts->to_tag : NULL);
	sip_buf_hdr(b, "Call-ID", req->call_id);
	sip_buf_put(b, "CSeq: ", 6);
	sip_buf_put_u32(b, req->cseq.num);
	sip_buf_put(b, " ", 1);
	sip_buf_put_pl(b, req->cseq.method_pl);
	sip_buf_put(b, "\r\n", 2);
	if (opts->record_route) {
		sip_hdr_iter_init(&it, req, SIP_HDR_RECORD_ROUTE, NULL, false);
		while (sip_hdr_iter_next(&it, &v))
			sip_buf_hdr(b, "Record-Route", v);
	}
	put_tail(b, opts->extra, opts->content_type, opts->body);
	return b->err;
}

int sip_build_error_response(sip_buf *b, const sip_parse_err *err, const char *to_tag)
{
	sip_addr to;
	bool has_tag;

	if (!err->status || !err->is_request || !err->n_via || !err->from.p || !err->to.p ||
	    !err->call_id.p || !err->cseq.p)
		return EINVAL;
	/* The saved values are raw: refuse ones that would break the
	 * response framing. */
	for (size_t i = 0; i <= err->n_via + 3; i++) {
		sip_pl v = i < err->n_via ? err->via[i] :
			   i == err->n_via ? err->from :
			   i == err->n_via + 1 ? err->to :
			   i == err->n_via + 2 ? err->call_id : err->cseq;

		if (memchr(v.p, '\r', v.l) || memchr(v.p, '\n', v.l))
			return EINVAL;
	}
	has_tag = sip_addr_parse(err->to, &to) == 0 && sip_pl_isset(to.tag);
	put_status_line(b, err->status, err->reason);
	for (size_t i = 0; i < err->n_via; i++)
		sip_buf_hdr(b, "Via", err->via[i]);
	sip_buf_hdr(b, "From", err->from);
	put_to(b, err->to, has_tag, to_tag);
	sip_buf_hdr(b, "Call-ID", err->call_id);
	sip_buf_hdr(b, "CSeq", err->cseq);
	put_tail(b, NULL, NULL, SIP_PL_NULL);
	return b->err;
}

int sip_build_request(sip_buf *b, const sip_req_opts *o,
		      char branch_out[SIP_BRANCH_LEN + 1])
{
	const char *mname = o->method == SIP_METHOD_UNKNOWN ? o->method_name :
			    sip_method_name(o->method);
	const char *cname;
	char br[SIP_BRANCH_LEN + 1];
	const char *branch = o->branch;

	if (!mname || !*mname || !o->ruri || !o->via_transport || !o->via_host ||
	    !o->from || !o->to || !o->call_id)
		return EINVAL;
	cname = o->cseq_method == SIP_METHOD_UNKNOWN ? mname : sip_method_name(o->cseq_method);
	if (!branch) {
		sip_build_branch(br);
		branch = br;
		if (branch_out)
			memcpy(branch_out, br, sizeof(br));
	}
	sip_buf_puts(b, mname);
	sip_buf_put(b, " ", 1);
	sip_buf_puts(b, o->ruri);
	sip_buf_put(b, " SIP/2.0\r\nVia: SIP/2.0/", 23);
	sip_buf_puts(b, o->via_transport);
	sip_buf_put(b, " ", 1);
	sip_buf_puts(b, o->via_host);
	if (o->via_port) {
		sip_buf_put(b, ":", 1);
		sip_buf_put_u32(b, o->via_port);
	}
	sip_buf_put(b, ";branch=", 8);
	sip_buf_puts(b, branch);
	if (o->rport)
		sip_buf_put(b, ";rport", 6);
	sip_buf_put(b, "\r\nMax-Forwards: ", 16);
	sip_buf_put_u32(b, o->max_forwards ? o->max_forwards : 70);
	sip_buf_put(b, "\r\nFrom: ", 8);
	sip_buf_puts(b, o->from);
	sip_buf_put(b, "\r\nTo: ", 6);
	sip_buf_puts(b, o->to);
	sip_buf_put(b, "\r\nCall-ID: ", 11);
	sip_buf_puts(b, o->call_id);
	sip_buf_put(b, "\r\nCSeq: ", 8);
	sip_buf_put_u32(b, o->cseq);
	sip_buf_put(b, " ", 1);
	sip_buf_puts(b, cname);
	sip_buf_put(b, "\r\n", 2);
	if (o->contact) {
		sip_buf_put(b, "Contact: ", 9);
		sip_buf_puts(b, o->contact);
		sip_buf_put(b, "\r\n", 2);
	}
	put_tail(b, o->extra, o->content_type, o->body);
	return b->err;
}
