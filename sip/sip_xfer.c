#include "sip/sip_xfer.h"

#include <errno.h>
#include <glib.h>

/* token (RFC 3261 §25.1): what a tag is made of. */
static bool is_token(sip_pl v)
{
	if (v.l == 0)
		return false;
	for (size_t i = 0; i < v.l; i++) {
		char c = v.p[i];
		if (!g_ascii_isalnum(c) && (c == '\0' || !strchr("-.!%*_+`'~", c)))
			return false;
	}
	return true;
}

int sip_xfer_parse_replaces(sip_pl in, sip_replaces *out)
{
	memset(out, 0, sizeof *out);
	in = sip_pl_trim(in);
	if (!in.p || in.l == 0 || in.l > SIP_XFER_MAX)
		return EINVAL;
	const char *end = in.p + in.l, *semi = memchr(in.p, ';', in.l);
	sip_pl cid = sip_pl_trim((sip_pl){ in.p, (size_t)((semi ? semi : end) - in.p) });
	if (cid.l == 0)
		return EINVAL;
	/* callid = word [ "@" word ]: no whitespace, commas or quotes inside. */
	for (size_t i = 0; i < cid.l; i++) {
		unsigned char c = (unsigned char)cid.p[i];
		if (c <= ' ' || c >= 0x7f || c == ',' || c == '"' || c == '<' || c == '>')
			return EINVAL;
	}
	out->call_id = cid;
	if (!semi)
		return EINVAL;
	sip_pl rest = { semi, (size_t)(end - semi) }, name, val;
	bool to = false, from = false;
	while (sip_param_next(&rest, &name, &val)) {
		if (SIP_PL_CASEEQ_LIT(name, "to-tag")) {
			if (to || !is_token(val))
				return EINVAL;
			out->to_tag = val;
			to = true;
		} else if (SIP_PL_CASEEQ_LIT(name, "from-tag")) {
			if (from || !is_token(val))
				return EINVAL;
			out->from_tag = val;
			from = true;
		} else if (SIP_PL_CASEEQ_LIT(name, "early-only")) {
			out->early_only = true;
		}
	}
	return to && from ? 0 : EINVAL;
}

int sip_xfer_parse_refer_to(sip_pl in, sip_refer_to *out, char *buf, size_t cap)
{
	memset(out, 0, sizeof *out);
	in = sip_pl_trim(in);
	if (!in.p || in.l == 0)
		return EINVAL;
	if (in.l > SIP_XFER_MAX)
		return EMSGSIZE;
	if (sip_addr_parse(in, &out->addr) != 0)
		return EINVAL;
	sip_pl u = out->addr.uri_pl;
	if (u.l == 0)
		return EINVAL;
	const char *q = memchr(u.p, '?', u.l);
	out->target = (sip_pl){ u.p, q ? (size_t)(q - u.p) : u.l };
	if (out->target.l == 0)
		return EINVAL;
	sip_pl rv;
	if (!out->addr.uri_parsed || !sip_uri_header(&out->addr.uri, "Replaces", &rv))
		return 0;
	size_t n = 0;
	int rc = sip_uri_unescape(rv, buf, cap, &n);
	if (rc == ENOSPC)
		return EMSGSIZE;
	if (rc)
		return EINVAL;
	if (sip_xfer_parse_replaces((sip_pl){ buf, n }, &out->replaces) != 0)
		return EINVAL;
	out->has_replaces = true;
	return 0;
}

void sip_xfer_put_replaces(sip_buf *b, const char *call_id, const char *to_tag, const char *from_tag,
			   bool early_only)
{
	sip_buf_puts(b, call_id);
	sip_buf_puts(b, ";to-tag=");
	sip_buf_puts(b, to_tag);
	sip_buf_puts(b, ";from-tag=");
	sip_buf_puts(b, from_tag);
	if (early_only)
		sip_buf_puts(b, ";early-only");
}

void sip_xfer_put_sipfrag(sip_buf *b, uint16_t status, const char *reason)
{
	if (!reason || !*reason)
		reason = sip_reason_phrase(status);
	sip_buf_puts(b, "SIP/2.0 ");
	sip_buf_put_u32(b, status);
	sip_buf_puts(b, " ");
	sip_buf_puts(b, *reason ? reason : "Unknown");
	sip_buf_puts(b, "\r\n");
}

int sip_xfer_parse_sipfrag(sip_pl body, uint16_t *status)
{
	/* "SIP/2.0" SP 3DIGIT SP reason: the version compared without case. */
	if (!body.p || body.l < 11 || !sip_pl_casecmp((sip_pl){ body.p, 8 }, "SIP/2.0 "))
		return EINVAL;
	const char *d = body.p + 8;
	uint16_t v = 0;
	for (int i = 0; i < 3; i++) {
		if (d[i] < '0' || d[i] > '9')
			return EINVAL;
		v = (uint16_t)(v * 10 + (d[i] - '0'));
	}
	if (v < 100 || v > 699 || (body.l > 11 && d[3] != ' ' && d[3] != '\r' && d[3] != '\n'))
		return EINVAL;
	*status = v;
	return 0;
}

void sip_xfer_put_notify_headers(sip_buf *b, uint32_t refer_cseq, bool terminated, uint32_t expires)
{
	sip_buf_puts(b, "Event: refer");
	if (refer_cseq) {
		sip_buf_puts(b, ";id=");
		sip_buf_put_u32(b, refer_cseq);
	}
	if (terminated) {
		sip_buf_puts(b, "\r\nSubscription-State: terminated;reason=noresource\r\n");
	} else {
		sip_buf_puts(b, "\r\nSubscription-State: active;expires=");
		sip_buf_put_u32(b, expires);
		sip_buf_puts(b, "\r\n");
	}
}
