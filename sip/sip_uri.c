/* sip_uri: sip:, sips: and tel: URI parsing and RFC 3261 §19.1.4 comparison. */
#include "sip/sip_uri.h"

#include <errno.h>

/* Character classes of RFC 3261 §25.1, one table lookup per byte. */
enum {
	C_ALNUM = 1,	/* alphanum */
	C_MARK = 2,	/* - _ . ! ~ * ' ( ) */
	C_USER = 4,	/* user-unreserved: & = + $ , ; ? / */
	C_PASS = 8,	/* password extras: & = + $ , */
	C_PARAM = 16,	/* param-unreserved: [ ] / : & + $ */
	C_HNV = 32,	/* hnv-unreserved: [ ] / ? : + $ */
};

/* Generated from the sets above; indexed by byte value. */
static const unsigned char cls[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  2,  0,  0, 60,  0, 28,  2,  2,  2,  2, 60, 12,  2,  2, 52,
	 1,  1,  1,  1,  1,  1,  1,  1,  1,  1, 48,  4,  0, 12,  0, 36,
	 0,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
	 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1, 48,  0, 48,  0,  2,
	 0,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
	 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  0,  0,  0,  2,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

static inline bool is_cls(char c, unsigned m)
{
	return (cls[(unsigned char)c] & m) != 0;
}

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Scans chars of class m or %HH escapes from p; returns where it stopped,
 * or NULL on a broken escape. */
static const char *scan(const char *p, const char *end, unsigned m)
{
	while (p < end) {
		if (*p == '%') {
			if (end - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0)
				return NULL;
			p += 3;
		} else if (is_cls(*p, m)) {
			p++;
		} else {
			break;
		}
	}
	return p;
}

static int parse_port(const char *p, const char *end, uint16_t *port)
{
	uint32_t v = 0;

	if (p == end || end - p > 5)
		return EINVAL;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return EINVAL;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* host[:port] ending at end. IPv6 references keep their brackets out of
 * *host. */
static int parse_hostport(const char *p, const char *end, sip_pl *host,
			  bool *v6, uint16_t *port)
{
	const char *h;

	*v6 = false;
	*port = 0;
	if (p < end && *p == '[') {
		h = ++p;
		while (p < end && (hexval(*p) >= 0 || *p == ':' || *p == '.'))
			p++;
		if (p == end || *p != ']' || p == h)
			return EINVAL;
		*host = (sip_pl){ h, (size_t)(p - h) };
		*v6 = true;
		p++;
	} else {
		h = p;
		while (p < end && (is_cls(*p, C_ALNUM) || *p == '-' || *p == '.' || *p == '_'))
			p++;
		if (p == h)
			return EINVAL;
		*host = (sip_pl){ h, (size_t)(p - h) };
	}
	if (p == end)
		return 0;
	if (*p != ':')
		return EINVAL;
	return parse_port(p + 1, end, port);
}

int sip_uri_parse(sip_pl in, sip_uri *out)
{
	const char *p = in.p, *end = sip_pl_end(in), *s, *hend;
	int err;

	memset(out, 0, sizeof(*out));
	out->whole = in;
	if (in.l < 4 || !in.p)
		return EINVAL;
	if (in.l > 4 && sip_pl_casecmp((sip_pl){ p, 5 }, "sips:")) {
		out->scheme = SIP_URI_SIPS;
		p += 5;
	} else if (sip_pl_casecmp((sip_pl){ p, 4 }, "sip:")) {
		out->scheme = SIP_URI_SIP;
		p += 4;
	} else if (sip_pl_casecmp((sip_pl){ p, 4 }, "tel:")) {
		out->scheme = SIP_URI_TEL;
		p += 4;
		s = p;
		while (p < end && *p != ';')
			p++;
		if (p == s)
			return EINVAL;
		out->user = (sip_pl){ s, (size_t)(p - s) };
		if (p < end) {
			out->params = (sip_pl){ p + 1, (size_t)(end - p - 1) };
			s = scan(p + 1, end, C_ALNUM | C_MARK | C_PARAM | C_USER);
			if (s != end)
				return EINVAL;
		}
		return 0;
	} else {
		return EINVAL;
	}

	/* userinfo: the user part may hold ';' and '?', so it is found by
	 * scanning userinfo characters up to an '@'. */
	s = scan(p, end, C_ALNUM | C_MARK | C_USER);
	if (!s)
		return EINVAL;
	if (s < end && (*s == '@' || *s == ':')) {
		const char *u_end = s, *pw = NULL;

		if (*s == ':') {
			pw = s + 1;
			s = scan(pw, end, C_ALNUM | C_MARK | C_PASS);
			if (!s)
				return EINVAL;
		}
		if (s < end && *s == '@') {
			out->user = (sip_pl){ p, (size_t)(u_end - p) };
			if (pw)
				out->password = (sip_pl){ pw, (size_t)(s - pw) };
			if (u_end == p)
				return EINVAL;
			p = s + 1;
		}
	}

	/* hostport ends at ';' or '?' */
	hend = p;
	if (hend < end && *hend == '[') {
		while (hend < end && *hend != ']')
			hend++;
	}
	while (hend < end && *hend != ';' && *hend != '?')
		hend++;
	err = parse_hostport(p, hend, &out->host, &out->host_ipv6, &out->port);
	if (err)
		return err;
	p = hend;
	if (p < end && *p == ';') {
		/* uri-parameters: each ";" pname [ "=" pvalue ], pname
		 * non-empty */
		s = p;
		while (s < end && *s == ';') {
			const char *n = s + 1;

			s = scan(n, end, C_ALNUM | C_MARK | C_PARAM);
			if (!s || s == n)
				return EINVAL;
			if (s < end && *s == '=') {
				n = s + 1;
				s = scan(n, end, C_ALNUM | C_MARK | C_PARAM);
				if (!s || s == n)
					return EINVAL;
			}
		}
		out->params = (sip_pl){ p + 1, (size_t)(s - p - 1) };
		p = s;
	}
	if (p < end && *p == '?') {
		/* headers: hname "=" hvalue *( "&" hname "=" hvalue ) */
		s = p;
		do {
			const char *n = s + 1;

			s = scan(n, end, C_ALNUM | C_MARK | C_HNV);
			if (!s || s == n || s == end || *s != '=')
				return EINVAL;
			s = scan(s + 1, end, C_ALNUM | C_MARK | C_HNV);
			if (!s)
				return EINVAL;
		} while (s < end && *s == '&');
		out->headers = (sip_pl){ p + 1, (size_t)(s - p - 1) };
		p = s;
	}
	if (p != end)
		return EINVAL;
	if (out->params.l) {
		sip_pl rest = out->params, n, v;

		/* One pass; the first occurrence of a name wins. */
		while (sip_param_next(&rest, &n, &v)) {
			if (!out->transport.p && SIP_PL_CASEEQ_LIT(n, "transport"))
				out->transport = v;
			else if (!out->maddr.p && SIP_PL_CASEEQ_LIT(n, "maddr"))
				out->maddr = v;
			else if (!out->user_param.p && SIP_PL_CASEEQ_LIT(n, "user"))
				out->user_param = v;
			else if (SIP_PL_CASEEQ_LIT(n, "lr"))
				out->lr = true;
			else if (SIP_PL_CASEEQ_LIT(n, "ob"))
				out->ob = true;
		}
	}
	return 0;
}

bool sip_uri_param(const sip_uri *u, const char *name, sip_pl *val)
{
	return sip_param_get(u->params, name, val);
}

bool sip_uri_header(const sip_uri *u, const char *name, sip_pl *val)
{
	const char *p = u->headers.p, *end = sip_pl_end(u->headers);

	while (p < end) {
		const char *s = p, *eq = NULL;

		while (p < end && *p != '&') {
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (eq && sip_pl_casecmp((sip_pl){ s, (size_t)(eq - s) }, name)) {
			if (val)
				*val = (sip_pl){ eq + 1, (size_t)(p - eq - 1) };
			return true;
		}
		if (p < end)
			p++;
	}
	return false;
}

int sip_uri_unescape(sip_pl in, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < in.l; i++) {
		char c = in.p[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= in.l)
				return EINVAL;
			hi = hexval(in.p[i + 1]);
			lo = hexval(in.p[i + 2]);
			if (hi < 0 || lo < 0)
				return EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (n >= cap)
			return ENOSPC;
		out[n++] = c;
	}
	*outlen = n;
	return 0;
}

/* Reads one possibly-escaped char at *i, advancing; -1 at the end. */
static int next_ch(sip_pl a, size_t *i)
{
	int c;

	if (*i >= a.l)
		return -1;
	c = (unsigned char)a.p[*i];
	if (c == '%' && *i + 2 < a.l && hexval(a.p[*i + 1]) >= 0 && hexval(a.p[*i + 2]) >= 0) {
		c = hexval(a.p[*i + 1]) * 16 + hexval(a.p[*i + 2]);
		*i += 3;
	} else {
		*i += 1;
	}
	return c;
}

/* Compares with escapes decoded; fold chooses case-insensitivity. */
static bool esc_eq(sip_pl a, sip_pl b, bool fold)
{
	size_t i = 0, j = 0;

	for (;;) {
		int x = next_ch(a, &i), y = next_ch(b, &j);

		if (fold) {
			if (x >= 'A' && x <= 'Z')
				x += 32;
			if (y >= 'A' && y <= 'Z')
				y += 32;
		}
		if (x != y)
			return false;
		if (x < 0)
			return true;
	}
}

/* Walks params "a=b;c": calls back per name/value. */
typedef struct {
	sip_pl name, val;
	const char *p, *end;
} param_it;

static bool param_next(param_it *it)
{
	const char *s, *eq = NULL;

	while (it->p < it->end && *it->p == ';')
		it->p++;
	if (it->p >= it->end)
		return false;
	s = it->p;
	while (it->p < it->end && *it->p != ';' && *it->p != '&') {
		if (*it->p == '=' && !eq)
			eq = it->p;
		it->p++;
	}
	if (eq) {
		it->name = (sip_pl){ s, (size_t)(eq - s) };
		it->val = (sip_pl){ eq + 1, (size_t)(it->p - eq - 1) };
	} else {
		it->name = (sip_pl){ s, (size_t)(it->p - s) };
		it->val = (sip_pl){ it->p, 0 };
	}
	if (it->p < it->end)
		it->p++;
	return true;
}

/* Finds a param by escaped-insensitive name. */
static bool find_param(sip_pl list, sip_pl name, sip_pl *val, bool amp)
{
	param_it it = { .p = list.p, .end = sip_pl_end(list) };

	(void)amp;
	while (param_next(&it)) {
		if (esc_eq(it.name, name, true)) {
			*val = it.val;
			return true;
		}
	}
	return false;
}

static bool is_special_param(sip_pl n)
{
	static const char *const sp[] = { "user", "ttl", "method", "maddr", "transport" };

	for (size_t i = 0; i < sizeof(sp) / sizeof(sp[0]); i++)
		if (esc_eq(n, sip_pl_cstr(sp[i]), true))
			return true;
	return false;
}

/* RFC 3261 §19.1.4: params present in both must match; user, ttl, method,
 * maddr and transport must match when present in either. */
static bool params_eq(sip_pl a, sip_pl b)
{
	param_it it = { .p = a.p, .end = sip_pl_end(a) };
	sip_pl v;

	while (param_next(&it)) {
		sip_pl va;

		/* A repeated name counts by its first value on both sides,
		 * which keeps the comparison reflexive. */
		find_param(a, it.name, &va, false);
		if (find_param(b, it.name, &v, false)) {
			if (!esc_eq(va, v, true))
				return false;
		} else if (is_special_param(it.name)) {
			return false;
		}
	}
	it = (param_it){ .p = b.p, .end = sip_pl_end(b) };
	while (param_next(&it))
		if (is_special_param(it.name) && !find_param(a, it.name, &v, false))
			return false;
	return true;
}

/* Every header must be present in both with equal values. */
static bool headers_sub(sip_pl a, sip_pl b)
{
	param_it it = { .p = a.p, .end = sip_pl_end(a) };
	sip_pl v;

	while (param_next(&it)) {
		sip_pl va;

		find_param(a, it.name, &va, true);
		if (!find_param(b, it.name, &v, true) || !esc_eq(va, v, false))
			return false;
	}
	return true;
}

/* tel: numbers compare without visual separators. */
static bool tel_eq(sip_pl a, sip_pl b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a.l && strchr("-.()", a.p[i]))
			i++;
		while (j < b.l && strchr("-.()", b.p[j]))
			j++;
		if (i == a.l || j == b.l)
			return i == a.l && j == b.l;
		if ((a.p[i] | 0x20) != (b.p[j] | 0x20))
			return false;
		i++;
		j++;
	}
}

int sip_uri_cmp(const sip_uri *a, const sip_uri *b)
{
	if (a->scheme != b->scheme)
		return 1;
	if (a->scheme == SIP_URI_TEL)
		return tel_eq(a->user, b->user) && params_eq(a->params, b->params) ? 0 : 1;
	if (!esc_eq(a->user, b->user, false))
		return 1;
	if (sip_pl_isset(a->password) != sip_pl_isset(b->password) ||
	    !esc_eq(a->password, b->password, false))
		return 1;
	if (a->host_ipv6 != b->host_ipv6 || !esc_eq(a->host, b->host, true))
		return 1;
	if (a->port != b->port)
		return 1;
	if (!params_eq(a->params, b->params))
		return 1;
	if (!headers_sub(a->headers, b->headers) || !headers_sub(b->headers, a->headers))
		return 1;
	return 0;
}
