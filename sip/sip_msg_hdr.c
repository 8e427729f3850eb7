/* sip_msg_hdr: header names, methods, and the value parsers shared by the
 * message parser (Via, name-addr, generic params). */
#include "sip/sip_msg.h"
#include "sip/sip_msg_int.h"

#include <errno.h>

/* RFC 3261 §25.1 token characters: alphanum - . ! % * _ + ` ' ~ */
const unsigned char sip_tokch[256] = {
	['0' ... '9'] = 1, ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1,
	['-'] = 1, ['.'] = 1, ['!'] = 1, ['%'] = 1, ['*'] = 1, ['_'] = 1,
	['+'] = 1, ['`'] = 1, ['\''] = 1, ['~'] = 1,
};

static const char *const method_names[] = {
	[SIP_METHOD_UNKNOWN] = "",
	[SIP_METHOD_INVITE] = "INVITE",
	[SIP_METHOD_ACK] = "ACK",
	[SIP_METHOD_BYE] = "BYE",
	[SIP_METHOD_CANCEL] = "CANCEL",
	[SIP_METHOD_OPTIONS] = "OPTIONS",
	[SIP_METHOD_REGISTER] = "REGISTER",
	[SIP_METHOD_PRACK] = "PRACK",
	[SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
	[SIP_METHOD_NOTIFY] = "NOTIFY",
	[SIP_METHOD_PUBLISH] = "PUBLISH",
	[SIP_METHOD_INFO] = "INFO",
	[SIP_METHOD_REFER] = "REFER",
	[SIP_METHOD_MESSAGE] = "MESSAGE",
	[SIP_METHOD_UPDATE] = "UPDATE",
};

sip_method sip_method_from_pl(sip_pl name)
{
	for (size_t i = 1; i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (sip_pl_eq_str(name, method_names[i]))
			return (sip_method)i;
	return SIP_METHOD_UNKNOWN;
}

const char *sip_method_name(sip_method m)
{
	if ((size_t)m >= sizeof(method_names) / sizeof(method_names[0]))
		return "";
	return method_names[m];
}

typedef struct {
	const char *name;
	char compact;
	unsigned char len;
} hdr_name;

static const hdr_name hdr_names[SIP_HDR__COUNT] = {
	[SIP_HDR_OTHER] = { "", 0, 0 },
	[SIP_HDR_VIA] = { "Via", 'v', 3 },
	[SIP_HDR_FROM] = { "From", 'f', 4 },
	[SIP_HDR_TO] = { "To", 't', 2 },
	[SIP_HDR_CALL_ID] = { "Call-ID", 'i', 7 },
	[SIP_HDR_CSEQ] = { "CSeq", 0, 4 },
	[SIP_HDR_MAX_FORWARDS] = { "Max-Forwards", 0, 12 },
	[SIP_HDR_CONTACT] = { "Contact", 'm', 7 },
	[SIP_HDR_EXPIRES] = { "Expires", 0, 7 },
	[SIP_HDR_CONTENT_LENGTH] = { "Content-Length", 'l', 14 },
	[SIP_HDR_CONTENT_TYPE] = { "Content-Type", 'c', 12 },
	[SIP_HDR_CONTENT_ENCODING] = { "Content-Encoding", 'e', 16 },
	[SIP_HDR_ROUTE] = { "Route", 0, 5 },
	[SIP_HDR_RECORD_ROUTE] = { "Record-Route", 0, 12 },
	[SIP_HDR_REQUIRE] = { "Require", 0, 7 },
	[SIP_HDR_SUPPORTED] = { "Supported", 'k', 9 },
	[SIP_HDR_PROXY_REQUIRE] = { "Proxy-Require", 0, 13 },
	[SIP_HDR_UNSUPPORTED] = { "Unsupported", 0, 11 },
	[SIP_HDR_ALLOW] = { "Allow", 0, 5 },
	[SIP_HDR_ALLOW_EVENTS] = { "Allow-Events", 'u', 12 },
	[SIP_HDR_ACCEPT] = { "Accept", 0, 6 },
	[SIP_HDR_AUTHORIZATION] = { "Authorization", 0, 13 },
	[SIP_HDR_PROXY_AUTHORIZATION] = { "Proxy-Authorization", 0, 19 },
	[SIP_HDR_WWW_AUTHENTICATE] = { "WWW-Authenticate", 0, 16 },
	[SIP_HDR_PROXY_AUTHENTICATE] = { "Proxy-Authenticate", 0, 18 },
	[SIP_HDR_AUTHENTICATION_INFO] = { "Authentication-Info", 0, 19 },
	[SIP_HDR_EVENT] = { "Event", 'o', 5 },
	[SIP_HDR_SUBSCRIPTION_STATE] = { "Subscription-State", 0, 18 },
	[SIP_HDR_REFER_TO] = { "Refer-To", 'r', 8 },
	[SIP_HDR_REFERRED_BY] = { "Referred-By", 'b', 11 },
	[SIP_HDR_REPLACES] = { "Replaces", 0, 8 },
	[SIP_HDR_SUBJECT] = { "Subject", 's', 7 },
	[SIP_HDR_SESSION_EXPIRES] = { "Session-Expires", 'x', 15 },
	[SIP_HDR_MIN_SE] = { "Min-SE", 0, 6 },
	[SIP_HDR_MIN_EXPIRES] = { "Min-Expires", 0, 11 },
	[SIP_HDR_RSEQ] = { "RSeq", 0, 4 },
	[SIP_HDR_RACK] = { "RAck", 0, 4 },
	[SIP_HDR_PATH] = { "Path", 0, 4 },
	[SIP_HDR_SERVICE_ROUTE] = { "Service-Route", 0, 13 },
	[SIP_HDR_USER_AGENT] = { "User-Agent", 0, 10 },
	[SIP_HDR_SERVER] = { "Server", 0, 6 },
	[SIP_HDR_DATE] = { "Date", 0, 4 },
	[SIP_HDR_TIMESTAMP] = { "Timestamp", 0, 9 },
	[SIP_HDR_WARNING] = { "Warning", 0, 7 },
	[SIP_HDR_RETRY_AFTER] = { "Retry-After", 0, 11 },
	[SIP_HDR_ACCEPT_CONTACT] = { "Accept-Contact", 'a', 14 },
	[SIP_HDR_REJECT_CONTACT] = { "Reject-Contact", 'j', 14 },
	[SIP_HDR_REQUEST_DISPOSITION] = { "Request-Disposition", 'd', 19 },
	[SIP_HDR_IDENTITY] = { "Identity", 'y', 8 },
	[SIP_HDR_SIP_ETAG] = { "SIP-ETag", 0, 8 },
	[SIP_HDR_SIP_IF_MATCH] = { "SIP-If-Match", 0, 12 },
	[SIP_HDR_P_ASSERTED_IDENTITY] = { "P-Asserted-Identity", 0, 19 },
	[SIP_HDR_CALL_INFO] = { "Call-Info", 0, 9 },
	[SIP_HDR_REASON] = { "Reason", 0, 6 },
};

static inline char lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* lit is lower case and n bytes long. */
static inline bool caseeq_n(const char *p, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lc(p[i]) != lit[i])
			return false;
	return true;
}

sip_hdr_id sip_hdr_id_from_pl(sip_pl name)
{
	if (name.l == 0)
		return SIP_HDR_OTHER;
	if (name.l == 1) {
		char c = lc(name.p[0]);

		for (int i = 1; i < SIP_HDR__COUNT; i++)
			if (hdr_names[i].compact == c)
				return (sip_hdr_id)i;
		return SIP_HDR_OTHER;
	}
	/* Generated from hdr_names: the length picks a handful of
	 * candidates, most of which differ in the first byte. */
	switch (name.l) {
	case 2:
		if (caseeq_n(name.p, "to", 2))
			return SIP_HDR_TO;
		break;
	case 3:
		if (caseeq_n(name.p, "via", 3))
			return SIP_HDR_VIA;
		break;
	case 4:
		if (caseeq_n(name.p, "from", 4))
			return SIP_HDR_FROM;
		if (caseeq_n(name.p, "cseq", 4))
			return SIP_HDR_CSEQ;
		if (caseeq_n(name.p, "rseq", 4))
			return SIP_HDR_RSEQ;
		if (caseeq_n(name.p, "rack", 4))
			return SIP_HDR_RACK;
		if (caseeq_n(name.p, "path", 4))
			return SIP_HDR_PATH;
		if (caseeq_n(name.p, "date", 4))
			return SIP_HDR_DATE;
		break;
	case 5:
		if (caseeq_n(name.p, "route", 5))
			return SIP_HDR_ROUTE;
		if (caseeq_n(name.p, "allow", 5))
			return SIP_HDR_ALLOW;
		if (caseeq_n(name.p, "event", 5))
			return SIP_HDR_EVENT;
		break;
	case 6:
		if (caseeq_n(name.p, "accept", 6))
			return SIP_HDR_ACCEPT;
		if (caseeq_n(name.p, "min-se", 6))
			return SIP_HDR_MIN_SE;
		if (caseeq_n(name.p, "server", 6))
			return SIP_HDR_SERVER;
		if (caseeq_n(name.p, "reason", 6))
			return SIP_HDR_REASON;
		break;
	case 7:
		if (caseeq_n(name.p, "call-id", 7))
			return SIP_HDR_CALL_ID;
		if (caseeq_n(name.p, "contact", 7))
			return SIP_HDR_CONTACT;
		if (caseeq_n(name.p, "expires", 7))
			return SIP_HDR_EXPIRES;
		if (caseeq_n(name.p, "require", 7))
			return SIP_HDR_REQUIRE;
		if (caseeq_n(name.p, "subject", 7))
			return SIP_HDR_SUBJECT;
		if (caseeq_n(name.p, "warning", 7))
			return SIP_HDR_WARNING;
		break;
	case 8:
		if (caseeq_n(name.p, "refer-to", 8))
			return SIP_HDR_REFER_TO;
		if (caseeq_n(name.p, "replaces", 8))
			return SIP_HDR_REPLACES;
		if (caseeq_n(name.p, "identity", 8))
			return SIP_HDR_IDENTITY;
		if (caseeq_n(name.p, "sip-etag", 8))
			return SIP_HDR_SIP_ETAG;
		break;
	case 9:
		if (caseeq_n(name.p, "supported", 9))
			return SIP_HDR_SUPPORTED;
		if (caseeq_n(name.p, "timestamp", 9))
			return SIP_HDR_TIMESTAMP;
		if (caseeq_n(name.p, "call-info", 9))
			return SIP_HDR_CALL_INFO;
		break;
	case 10:
		if (caseeq_n(name.p, "user-agent", 10))
			return SIP_HDR_USER_AGENT;
		break;
	case 11:
		if (caseeq_n(name.p, "unsupported", 11))
			return SIP_HDR_UNSUPPORTED;
		if (caseeq_n(name.p, "referred-by", 11))
			return SIP_HDR_REFERRED_BY;
		if (caseeq_n(name.p, "min-expires", 11))
			return SIP_HDR_MIN_EXPIRES;
		if (caseeq_n(name.p, "retry-after", 11))
			return SIP_HDR_RETRY_AFTER;
		break;
	case 12:
		if (caseeq_n(name.p, "max-forwards", 12))
			return SIP_HDR_MAX_FORWARDS;
		if (caseeq_n(name.p, "content-type", 12))
			return SIP_HDR_CONTENT_TYPE;
		if (caseeq_n(name.p, "record-route", 12))
			return SIP_HDR_RECORD_ROUTE;
		if (caseeq_n(name.p, "allow-events", 12))
			return SIP_HDR_ALLOW_EVENTS;
		if (caseeq_n(name.p, "sip-if-match", 12))
			return SIP_HDR_SIP_IF_MATCH;
		break;
	case 13:
		if (caseeq_n(name.p, "proxy-require", 13))
			return SIP_HDR_PROXY_REQUIRE;
		if (caseeq_n(name.p, "authorization", 13))
			return SIP_HDR_AUTHORIZATION;
		if (caseeq_n(name.p, "service-route", 13))
			return SIP_HDR_SERVICE_ROUTE;
		break;
	case 14:
		if (caseeq_n(name.p, "content-length", 14))
			return SIP_HDR_CONTENT_LENGTH;
		if (caseeq_n(name.p, "accept-contact", 14))
			return SIP_HDR_ACCEPT_CONTACT;
		if (caseeq_n(name.p, "reject-contact", 14))
			return SIP_HDR_REJECT_CONTACT;
		break;
	case 15:
		if (caseeq_n(name.p, "session-expires", 15))
			return SIP_HDR_SESSION_EXPIRES;
		break;
	case 16:
		if (caseeq_n(name.p, "content-encoding", 16))
			return SIP_HDR_CONTENT_ENCODING;
		if (caseeq_n(name.p, "www-authenticate", 16))
			return SIP_HDR_WWW_AUTHENTICATE;
		break;
	case 18:
		if (caseeq_n(name.p, "proxy-authenticate", 18))
			return SIP_HDR_PROXY_AUTHENTICATE;
		if (caseeq_n(name.p, "subscription-state", 18))
			return SIP_HDR_SUBSCRIPTION_STATE;
		break;
	case 19:
		if (caseeq_n(name.p, "proxy-authorization", 19))
			return SIP_HDR_PROXY_AUTHORIZATION;
		if (caseeq_n(name.p, "authentication-info", 19))
			return SIP_HDR_AUTHENTICATION_INFO;
		if (caseeq_n(name.p, "request-disposition", 19))
			return SIP_HDR_REQUEST_DISPOSITION;
		if (caseeq_n(name.p, "p-asserted-identity", 19))
			return SIP_HDR_P_ASSERTED_IDENTITY;
		break;
	default:
		break;
	}
	return SIP_HDR_OTHER;
}

const char *sip_hdr_name(sip_hdr_id id)
{
	if ((int)id <= 0 || id >= SIP_HDR__COUNT)
		return "";
	return hdr_names[id].name;
}

static inline bool is_lws(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_lws(const char *p, const char *end)
{
	while (p < end && is_lws(*p))
		p++;
	return p;
}

static const char *skip_token(const char *p, const char *end)
{
	while (p < end && sip_tokch[(unsigned char)*p])
		p++;
	return p;
}

/* A quoted string starting at p ('"'): returns the byte after the closing
 * quote, or NULL when it is not closed. */
static const char *skip_quoted(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* Validates "*( SEMI generic-param )" starting at p (which is at ';' or
 * end) with LWS allowed around ';' and '='. *params gets the list without
 * the first ';', trimmed. 0 or EINVAL. */
int sip_params_scan(const char *p, const char *end, sip_pl *params)
{
	const char *first = NULL, *last = p;

	*params = SIP_PL_NULL;
	p = skip_lws(p, end);
	while (p < end) {
		const char *t;

		if (*p != ';')
			return EINVAL;
		p = skip_lws(p + 1, end);
		if (!first)
			first = p;
		t = skip_token(p, end);
		if (t == p)
			return EINVAL;
		p = skip_lws(t, end);
		last = t;
		if (p < end && *p == '=') {
			p = skip_lws(p + 1, end);
			if (p < end && *p == '"') {
				t = skip_quoted(p, end);
				if (!t)
					return EINVAL;
			} else if (p < end && *p == '[') {
				t = memchr(p, ']', (size_t)(end - p));
				if (!t)
					return EINVAL;
				t++;
			} else {
				/* token, or a bare IPv6 address (RFC 3261
				 * via-received), hence ':' too */
				t = p;
				while (t < end && (sip_tokch[(unsigned char)*t] || *t == ':'))
					t++;
				if (t == p)
					return EINVAL;
			}
			last = t;
			p = skip_lws(t, end);
		}
	}
	if (first)
		*params = (sip_pl){ first, (size_t)(last - first) };
	return 0;
}

static bool uri_scheme_ok(sip_pl u)
{
	size_t i = 0;

	if (u.l < 2 || !((u.p[0] | 0x20) >= 'a' && (u.p[0] | 0x20) <= 'z'))
		return false;
	for (i = 1; i < u.l && u.p[i] != ':'; i++) {
		char c = u.p[i];

		if (!(sip_tokch[(unsigned char)c] && c != '!' && c != '%' && c != '*' &&
		      c != '_' && c != '`' && c != '\'' && c != '~'))
			return false;
	}
	return i < u.l - 1;
}

static int addr_uri(sip_pl u, sip_addr *out)
{
	if (u.l >= 4 && (sip_pl_casecmp((sip_pl){ u.p, 4 }, "sip:") ||
			 sip_pl_casecmp((sip_pl){ u.p, 4 }, "tel:") ||
			 (u.l >= 5 && sip_pl_casecmp((sip_pl){ u.p, 5 }, "sips:")))) {
		if (sip_uri_parse(u, &out->uri))
			return EINVAL;
		out->uri_parsed = true;
		return 0;
	}
	/* Other schemes (RFC 4475 §3.3.4) are kept as text. */
	for (size_t i = 0; i < u.l; i++)
		if ((unsigned char)u.p[i] <= ' ' || u.p[i] == '<' || u.p[i] == '>' || u.p[i] == '"')
			return EINVAL;
	return uri_scheme_ok(u) ? 0 : EINVAL;
}

int sip_addr_parse(sip_pl in, sip_addr *out)
{
	const char *p, *end, *s;
	int err;

	memset(out, 0, sizeof(*out));
	in = sip_pl_trim(in);
	out->value = in;
	if (in.l == 0)
		return EINVAL;
	p = in.p;
	end = sip_pl_end(in);
	if (*p == '"') {
		s = skip_quoted(p, end);
		if (!s)
			return EINVAL;
		out->display = (sip_pl){ p + 1, (size_t)(s - p - 2) };
		p = skip_lws(s, end);
		if (p == end || *p != '<')
			return EINVAL;
	} else if (*p != '<') {
		/* Either "token *(LWS token) <uri>" or a bare addr-spec. */
		const char *lt = NULL;

		for (s = p; s < end; s++) {
			if (*s == '<') {
				lt = s;
				break;
			}
			if (*s == ';' || *s == '"' || *s == ',')
				break;
		}
		if (lt) {
			const char *q = p, *dend = p;

			while (q < lt) {
				const char *t = skip_token(q, lt);

				if (t == q)
					return EINVAL;
				dend = t;
				q = skip_lws(t, lt);
			}
			out->display = (sip_pl){ p, (size_t)(dend - p) };
			p = lt;
		} else {
			/* addr-spec: the URI ends at the first ';' or LWS, so
			 * it may not hold URI params or headers (RFC 3261
			 * §20: those need <>). */
			s = p;
			while (s < end && *s != ';' && !is_lws(*s))
				s++;
			out->uri_pl = (sip_pl){ p, (size_t)(s - p) };
			if (memchr(p, '?', (size_t)(s - p)) || memchr(p, ',', (size_t)(s - p)))
				return EINVAL;
			err = addr_uri(out->uri_pl, out);
			if (err)
				return err;
			p = s;
			goto params;
		}
	}
	/* p at '<' */
	s = memchr(p, '>', (size_t)(end - p));
	if (!s)
		return EINVAL;
	out->uri_pl = (sip_pl){ p + 1, (size_t)(s - p - 1) };
	err = addr_uri(out->uri_pl, out);
	if (err)
		return err;
	p = s + 1;
params:
	err = sip_params_scan(p, end, &out->params);
	if (err)
		return err;
	if (out->params.l && sip_param_get(out->params, "tag", &out->tag) && out->tag.l == 0)
		return EINVAL;
	return 0;
}

int sip_via_parse(sip_pl in, sip_via *out)
{
	const char *p, *end, *s, *hs;
	uint32_t v;
	int err;

	memset(out, 0, sizeof(*out));
	in = sip_pl_trim(in);
	out->value = in;
	p = in.p;
	end = sip_pl_end(in);
	/* sent-protocol: name SLASH version SLASH transport, LWS allowed */
	for (int part = 0;; part++) {
		s = skip_token(p, end);
		if (s == p)
			return EINVAL;
		if (part == 2)
			break;
		p = skip_lws(s, end);
		if (p == end || *p != '/')
			return EINVAL;
		p = skip_lws(p + 1, end);
	}
	out->transport = (sip_pl){ p, (size_t)(s - p) };
	p = skip_lws(s, end);
	if (p == s)
		return EINVAL;
	/* sent-by */
	hs = p;
	if (p < end && *p == '[') {
		s = memchr(p, ']', (size_t)(end - p));
		if (!s || s == p + 1)
			return EINVAL;
		for (const char *q = p + 1; q < s; q++)
			if (!((*q >= '0' && *q <= '9') || ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'f') ||
			      *q == ':' || *q == '.'))
				return EINVAL;
		out->host = (sip_pl){ p + 1, (size_t)(s - p - 1) };
		out->host_ipv6 = true;
		p = s + 1;
	} else {
		s = p;
		while (s < end && (((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') ||
				   (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			s++;
		if (s == p)
			return EINVAL;
		out->host = (sip_pl){ p, (size_t)(s - p) };
		p = s;
	}
	out->sent_by = (sip_pl){ hs, (size_t)(p - hs) };
	s = skip_lws(p, end);
	if (s < end && *s == ':') {
		const char *ps;

		p = skip_lws(s + 1, end);
		ps = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (sip_pl_u32((sip_pl){ ps, (size_t)(p - ps) }, &v) || v == 0 || v > 65535)
			return EINVAL;
		out->port = (uint16_t)v;
		out->sent_by = (sip_pl){ hs, (size_t)(p - hs) };
	}
	err = sip_params_scan(p, end, &out->params);
	if (err)
		return err;
	if (out->params.l) {
		sip_pl rest = out->params, n, pv;

		/* One pass; the first occurrence of a name wins. */
		while (sip_param_next(&rest, &n, &pv)) {
			if (!out->branch.p && SIP_PL_CASEEQ_LIT(n, "branch")) {
				out->branch = pv;
			} else if (!out->received.p && SIP_PL_CASEEQ_LIT(n, "received")) {
				out->received = pv;
			} else if (!out->maddr.p && SIP_PL_CASEEQ_LIT(n, "maddr")) {
				out->maddr = pv;
			} else if (!out->rport && SIP_PL_CASEEQ_LIT(n, "rport")) {
				out->rport = true;
				if (pv.l) {
					if (sip_pl_u32(pv, &v) || v == 0 || v > 65535)
						return EINVAL;
					out->rport_val = (uint16_t)v;
				}
			}
		}
	}
	return 0;
}
