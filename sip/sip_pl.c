/* sip_pl: slice helpers shared by the SIP parsers. */
#include "sip/sip_pl.h"

#include <errno.h>
#include <glib.h>

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

bool sip_pl_eq(sip_pl a, sip_pl b)
{
	return a.l == b.l && (a.l == 0 || memcmp(a.p, b.p, a.l) == 0);
}

bool sip_pl_eq_str(sip_pl a, const char *s)
{
	return sip_pl_eq(a, sip_pl_cstr(s));
}

bool sip_pl_caseeq(sip_pl a, sip_pl b)
{
	if (a.l != b.l)
		return false;
	for (size_t i = 0; i < a.l; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return false;
	return true;
}

bool sip_pl_casecmp(sip_pl a, const char *s)
{
	size_t i;

	for (i = 0; i < a.l; i++) {
		if (s[i] == '\0' || lower(a.p[i]) != lower(s[i]))
			return false;
	}
	return s[i] == '\0';
}

int sip_pl_u32(sip_pl a, uint32_t *out)
{
	uint64_t v = 0;

	if (a.l == 0)
		return EINVAL;
	for (size_t i = 0; i < a.l; i++) {
		if (a.p[i] < '0' || a.p[i] > '9')
			return EINVAL;
		v = v * 10 + (uint64_t)(a.p[i] - '0');
		if (v > UINT32_MAX)
			return ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

sip_pl sip_pl_trim(sip_pl a)
{
	while (a.l && is_ws(a.p[0])) {
		a.p++;
		a.l--;
	}
	while (a.l && is_ws(a.p[a.l - 1]))
		a.l--;
	return a;
}

char *sip_pl_strcpy(sip_pl a, char *buf, size_t cap)
{
	size_t n;

	if (cap == 0)
		return buf;
	n = a.l < cap - 1 ? a.l : cap - 1;
	if (n)
		memcpy(buf, a.p, n);
	buf[n] = '\0';
	return buf;
}

char *sip_pl_strdup(sip_pl a)
{
	char *s = g_malloc(a.l + 1);

	if (a.l)
		memcpy(s, a.p, a.l);
	s[a.l] = '\0';
	return s;
}

/* Params are "name[=value]" separated by ';'. Values may be quoted strings
 * that contain ';', so the scan tracks quotes. */
bool sip_param_next(sip_pl *rest, sip_pl *name, sip_pl *val)
{
	const char *p = rest->p, *end = sip_pl_end(*rest);

	while (p < end) {
		const char *s, *ne;

		while (p < end && (*p == ';' || is_ws(*p)))
			p++;
		if (p >= end)
			break;
		s = p;
		while (p < end && *p != ';' && *p != '=' && !is_ws(*p))
			p++;
		ne = p;
		while (p < end && is_ws(*p))
			p++;
		*name = (sip_pl){ s, (size_t)(ne - s) };
		if (p < end && *p == '=') {
			const char *vs, *ve;
			bool q = false;

			p++;
			while (p < end && is_ws(*p))
				p++;
			vs = p;
			while (p < end) {
				if (q && *p == '\\' && p + 1 < end) {
					p += 2;
					continue;
				}
				if (*p == '"')
					q = !q;
				else if (!q && *p == ';')
					break;
				p++;
			}
			ve = p > end ? end : p;
			while (ve > vs && is_ws(ve[-1]))
				ve--;
			*val = (sip_pl){ vs, (size_t)(ve - vs) };
		} else {
			*val = (sip_pl){ ne, 0 };
			while (p < end && *p != ';')
				p++;
		}
		if (p > end)
			p = end;
		rest->p = p;
		rest->l = (size_t)(end - p);
		return true;
	}
	return false;
}

bool sip_param_get(sip_pl params, const char *name, sip_pl *val)
{
	sip_pl n, v;

	while (sip_param_next(&params, &n, &v)) {
		if (sip_pl_casecmp(n, name)) {
			if (val)
				*val = v;
			return true;
		}
	}
	return false;
}

bool sip_pl_list_next(sip_pl *rest, sip_pl *elem)
{
	const char *p = rest->p, *end = sip_pl_end(*rest);

	for (;;) {
		const char *s;
		bool q = false;
		int angle = 0;

		while (p < end && (*p == ',' || is_ws(*p)))
			p++;
		/* Most values hold one element: no comma, no state to track. */
		if (p < end && !memchr(p, ',', (size_t)(end - p))) {
			*elem = sip_pl_trim((sip_pl){ p, (size_t)(end - p) });
			rest->p = end;
			rest->l = 0;
			return elem->l != 0;
		}
		if (p >= end) {
			rest->p = end;
			rest->l = 0;
			return false;
		}
		s = p;
		while (p < end) {
			if (q) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == '"')
					q = false;
			} else if (*p == '"') {
				q = true;
			} else if (*p == '<') {
				angle = 1;
			} else if (*p == '>') {
				angle = 0;
			} else if (*p == ',' && !angle) {
				break;
			}
			p++;
		}
		*elem = sip_pl_trim((sip_pl){ s, (size_t)(p - s) });
		rest->p = p;
		rest->l = (size_t)(end - p);
		if (elem->l)
			return true;
	}
}
