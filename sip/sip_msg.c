/* sip_msg: the SIP message parser (RFC 3261 §7, §25) and its header
 * accessors.
 *
 * One pass finds the start line and the header lines in a private copy of
 * the bytes (unfolding continuation lines in place); a second pass parses
 * the hot headers. Everything is collected on the stack and copied into one
 * exactly-sized array block at the end, so a message costs two allocations
 * whatever its header count. */
#include "sip/sip_msg.h"
#include "sip/sip_msg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	char *c;		/* the copy */
	const char *end;
	const char *orig;	/* caller's buffer, for err slices */
	sip_parse_err *err;
	sip_msg *m;
	sip_hdr hdrs[SIP_MSG_MAX_HDRS];
	size_t nh;
	sip_via via[SIP_MSG_MAX_VIA];
	size_t nvia;
	sip_contact contact[SIP_MSG_MAX_ADDRS];
	size_t ncontact;
	sip_addr route[SIP_MSG_MAX_ADDRS];
	size_t nroute;
	sip_addr rr[SIP_MSG_MAX_ADDRS];
	size_t nrr;
} pctx;

/* Records why parsing failed; returns code for a one-line "return fail()". */
static int fail(pctx *x, int code, uint16_t status, const char *reason)
{
	x->err->status = status;
	snprintf(x->err->reason, sizeof(x->err->reason), "%s", reason);
	return code;
}

static int fail_hdr(pctx *x, sip_hdr_id id, const char *what)
{
	x->err->status = 400;
	snprintf(x->err->reason, sizeof(x->err->reason), "%s %s header", what,
		 sip_hdr_name(id));
	return EINVAL;
}

static sip_pl rebase(const pctx *x, sip_pl pl)
{
	if (!pl.p)
		return pl;
	return (sip_pl){ x->orig + (pl.p - x->c), pl.l };
}

/* Copies the raw Via/From/To/Call-ID/CSeq values seen so far into err,
 * so the caller can answer a broken request (RFC 3261 §8.2.6). */
static void salvage(pctx *x)
{
	sip_parse_err *e = x->err;

	e->n_via = 0;
	for (size_t i = 0; i < x->nh; i++) {
		const sip_hdr *h = &x->hdrs[i];

		switch (h->id) {
		case SIP_HDR_VIA:
			if (e->n_via < SIP_MSG_MAX_VIA)
				e->via[e->n_via++] = rebase(x, h->value);
			break;
		case SIP_HDR_FROM:
			if (!e->from.p)
				e->from = rebase(x, h->value);
			break;
		case SIP_HDR_TO:
			if (!e->to.p)
				e->to = rebase(x, h->value);
			break;
		case SIP_HDR_CALL_ID:
			if (!e->call_id.p)
				e->call_id = rebase(x, h->value);
			break;
		case SIP_HDR_CSEQ:
			if (!e->cseq.p)
				e->cseq = rebase(x, h->value);
			break;
		default:
			break;
		}
	}
}

static int parse_version(sip_pl v)
{
	const char *p = v.p, *end = sip_pl_end(v), *s;

	if (v.l < 7 || !sip_pl_casecmp((sip_pl){ p, 4 }, "SIP/"))
		return EINVAL;
	p += 4;
	s = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == s || p == end || *p != '.')
		return EINVAL;
	s = ++p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == s || p != end)
		return EINVAL;
	return sip_pl_eq_str((sip_pl){ v.p + 4, 3 }, "2.0") && v.l == 7 ? 0 : EPROTONOSUPPORT;
}

static bool ruri_scheme_known(sip_pl u)
{
	return u.l >= 4 && (sip_pl_casecmp((sip_pl){ u.p, 4 }, "sip:") ||
			    sip_pl_casecmp((sip_pl){ u.p, 4 }, "tel:") ||
			    (u.l >= 5 && sip_pl_casecmp((sip_pl){ u.p, 5 }, "sips:")));
}

/* absoluteURI: scheme ":" then non-space, non-control characters. */
static bool ruri_other_ok(sip_pl u)
{
	size_t i;

	if (!u.l || !(((u.p[0] | 0x20) >= 'a' && (u.p[0] | 0x20) <= 'z')))
		return false;
	for (i = 1; i < u.l && u.p[i] != ':'; i++)
		if (!(((u.p[i] | 0x20) >= 'a' && (u.p[i] | 0x20) <= 'z') ||
		      (u.p[i] >= '0' && u.p[i] <= '9') || u.p[i] == '+' || u.p[i] == '-' ||
		      u.p[i] == '.'))
			return false;
	if (i >= u.l - 1)
		return false;
	for (; i < u.l; i++)
		if ((unsigned char)u.p[i] <= ' ' || u.p[i] == 0x7f || u.p[i] == '<' || u.p[i] == '>')
			return false;
	return true;
}

static int parse_start(pctx *x, const char *s, const char *e)
{
	sip_msg *m = x->m;
	const char *p, *q;
	int err;

	if (e - s > 4 && sip_pl_casecmp((sip_pl){ s, 4 }, "SIP/")) {
		uint32_t code = 0;

		/* Status-Line: SIP-Version SP Status-Code SP Reason-Phrase */
		m->is_request = false;
		x->err->is_request = false;
		p = memchr(s, ' ', (size_t)(e - s));
		if (!p)
			return fail(x, EINVAL, 0, "Bad status line");
		m->version = (sip_pl){ s, (size_t)(p - s) };
		err = parse_version(m->version);
		if (err)
			return fail(x, err, 0, "Unsupported SIP version");
		q = ++p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p - q != 3 || sip_pl_u32((sip_pl){ q, 3 }, &code) || code < 100 || code > 699)
			return fail(x, EINVAL, 0, "Bad status code");
		m->status = (uint16_t)code;
		/* RFC 4475 §3.1.1.13: the SP before an empty reason is
		 * required; a line ending right after the code is accepted. */
		if (p < e) {
			if (*p != ' ')
				return fail(x, EINVAL, 0, "Bad status line");
			p++;
		}
		m->reason = (sip_pl){ p, (size_t)(e - p) };
		for (; p < e; p++)
			if ((unsigned char)*p < ' ' && *p != '\t')
				return fail(x, EINVAL, 0, "Bad reason phrase");
		return 0;
	}

	/* Request-Line: Method SP Request-URI SP SIP-Version, single SPs */
	m->is_request = true;
	x->err->is_request = true;
	p = s;
	while (p < e && sip_tokch[(unsigned char)*p])
		p++;
	if (p == s || p == e || *p != ' ')
		return fail(x, EINVAL, 400, "Bad request line");
	m->method_pl = (sip_pl){ s, (size_t)(p - s) };
	m->method = sip_method_from_pl(m->method_pl);
	q = ++p;
	while (p < e && *p != ' ')
		p++;
	if (p == q || p == e)
		return fail(x, EINVAL, 400, "Bad request line");
	m->ruri_pl = (sip_pl){ q, (size_t)(p - q) };
	m->version = (sip_pl){ p + 1, (size_t)(e - p - 1) };
	err = parse_version(m->version);
	if (err == EPROTONOSUPPORT)
		return fail(x, err, 505, "Version Not Supported");
	if (err)
		return fail(x, err, 400, "Bad request line");
	if (ruri_scheme_known(m->ruri_pl)) {
		if (sip_uri_parse(m->ruri_pl, &m->ruri))
			return fail(x, EINVAL, 400, "Bad Request-URI");
		/* A Request-URI may not carry headers (RFC 3261 §19.1.5). */
		if (m->ruri.headers.p)
			return fail(x, EINVAL, 400, "Headers in Request-URI");
		m->ruri_parsed = true;
	} else if (!ruri_other_ok(m->ruri_pl)) {
		return fail(x, EINVAL, 400, "Bad Request-URI");
	}
	return 0;
}

static inline bool is_lws(char c)
{
	return c == ' ' || c == '\t';
}

/* Finds the header lines, unfolding continuations in the copy. Sets
 * *body to the first byte after the empty line. */
static int split_lines(pctx *x, char *p, const char **body)
{
	char *end = (char *)x->end;
	sip_hdr *cur = NULL;

	for (;;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *le, *s;

		if (!nl)
			return fail(x, EINVAL, 400, "Missing end of headers");
		le = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
		if (le - p > SIP_MSG_MAX_LINE)
			return fail(x, EMSGSIZE, 513, "Header line too long");
		if (le == p) {
			*body = nl + 1;
			break;
		}
		if (is_lws(*p)) {
			/* Folded line: the CRLF before it becomes spaces so
			 * the value stays one slice. */
			if (!cur)
				return fail(x, EINVAL, 400, "Continuation without header");
			for (s = (char *)sip_pl_end(cur->value); s < p; s++)
				*s = ' ';
			cur->value.l = (size_t)(le - cur->value.p);
		} else {
			if (x->nh == SIP_MSG_MAX_HDRS)
				return fail(x, EMSGSIZE, 513, "Too many header lines");
			cur = &x->hdrs[x->nh];
			s = p;
			while (s < le && sip_tokch[(unsigned char)*s])
				s++;
			cur->name = (sip_pl){ p, (size_t)(s - p) };
			while (s < le && is_lws(*s))
				s++;
			if (cur->name.l == 0 || s == le || *s != ':')
				return fail(x, EINVAL, 400, "Malformed header line");
			s++;
			cur->value = (sip_pl){ s, (size_t)(le - s) };
			cur->id = sip_hdr_id_from_pl(cur->name);
			x->nh++;
		}
		p = nl + 1;
	}
	for (size_t i = 0; i < x->nh; i++)
		x->hdrs[i].value = sip_pl_trim(x->hdrs[i].value);
	return 0;
}

static int parse_cseq(pctx *x, sip_pl v)
{
	const char *p = v.p, *end = sip_pl_end(v), *s = p;
	sip_cseq *c = &x->m->cseq;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (sip_pl_u32((sip_pl){ s, (size_t)(p - s) }, &c->num) || c->num > 0x7fffffffu)
		return fail_hdr(x, SIP_HDR_CSEQ, "Bad");
	if (p == end || !is_lws(*p))
		return fail_hdr(x, SIP_HDR_CSEQ, "Bad");
	while (p < end && is_lws(*p))
		p++;
	s = p;
	while (p < end && sip_tokch[(unsigned char)*p])
		p++;
	if (p == s || p != end)
		return fail_hdr(x, SIP_HDR_CSEQ, "Bad");
	c->method_pl = (sip_pl){ s, (size_t)(p - s) };
	c->method = sip_method_from_pl(c->method_pl);
	return 0;
}

/* Call-ID = word [ "@" word ]; word is token plus ( ) < > : \ " / [ ] ? { } */
static bool callid_ok(sip_pl v)
{
	if (!v.l)
		return false;
	for (size_t i = 0; i < v.l; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (!sip_tokch[c] && !strchr("()<>:\\\"/[]?{}@", c))
			return false;
	}
	return true;
}

/* delta-seconds; values over 2^32-1 saturate (RFC 3261 §25.1 allows any
 * digit count; we clamp rather than reject). */
static int parse_delta(sip_pl v, int64_t *out)
{
	uint32_t n;
	int err = sip_pl_u32(sip_pl_trim(v), &n);

	if (err == ERANGE) {
		*out = UINT32_MAX;
		return 0;
	}
	if (err)
		return err;
	*out = n;
	return 0;
}

static int parse_contacts(pctx *x, sip_pl v)
{
	sip_pl rest = v, el;

	while (sip_pl_list_next(&rest, &el)) {
		sip_contact *c;
		sip_pl params, pn, pv;

		if (x->ncontact == SIP_MSG_MAX_ADDRS)
			return fail(x, EMSGSIZE, 513, "Too many Contact values");
		c = &x->contact[x->ncontact++];
		memset(c, 0, sizeof(*c));
		c->expires = -1;
		c->reg_id = -1;
		if (el.l == 1 && el.p[0] == '*') {
			c->star = true;
			c->addr.value = el;
			continue;
		}
		if (sip_addr_parse(el, &c->addr))
			return fail_hdr(x, SIP_HDR_CONTACT, "Bad");
		params = c->addr.params;
		while (sip_param_next(&params, &pn, &pv)) {
			if (c->expires < 0 && SIP_PL_CASEEQ_LIT(pn, "expires")) {
				if (parse_delta(pv, &c->expires))
					return fail_hdr(x, SIP_HDR_CONTACT, "Bad expires in");
			} else if (!c->instance.p && SIP_PL_CASEEQ_LIT(pn, "+sip.instance")) {
				c->instance = pv;
			} else if (c->reg_id < 0 && SIP_PL_CASEEQ_LIT(pn, "reg-id")) {
				uint32_t r;

				if (sip_pl_u32(pv, &r) || r > INT32_MAX)
					return fail_hdr(x, SIP_HDR_CONTACT, "Bad reg-id in");
				c->reg_id = (int32_t)r;
			} else if (!c->q.p && SIP_PL_CASEEQ_LIT(pn, "q")) {
				c->q = pv;
			}
		}
	}
	return 0;
}

static int parse_addrs(pctx *x, sip_hdr_id id, sip_pl v, sip_addr *arr, size_t *n)
{
	sip_pl rest = v, el;

	while (sip_pl_list_next(&rest, &el)) {
		if (*n == SIP_MSG_MAX_ADDRS)
			return fail(x, EMSGSIZE, 513, "Too many Route values");
		if (sip_addr_parse(el, &arr[*n]))
			return fail_hdr(x, id, "Bad");
		(*n)++;
	}
	return 0;
}

static int parse_hot(pctx *x)
{
	sip_msg *m = x->m;
	bool seen_from = false, seen_to = false, seen_cid = false, seen_cseq = false;
	bool seen_mf = false, seen_exp = false, seen_ct = false;

	for (size_t i = 0; i < x->nh; i++) {
		const sip_hdr *h = &x->hdrs[i];
		sip_pl v = h->value, rest, el;
		uint32_t n;
		int err;

		switch (h->id) {
		case SIP_HDR_VIA:
			rest = v;
			if (!v.l)
				return fail_hdr(x, h->id, "Bad");
			while (sip_pl_list_next(&rest, &el)) {
				if (x->nvia == SIP_MSG_MAX_VIA)
					return fail(x, EMSGSIZE, 513, "Too many Via values");
				if (sip_via_parse(el, &x->via[x->nvia]))
					return fail_hdr(x, h->id, "Bad");
				x->nvia++;
			}
			break;
		case SIP_HDR_FROM:
		case SIP_HDR_TO:
			if (h->id == SIP_HDR_FROM ? seen_from : seen_to)
				return fail_hdr(x, h->id, "Multiple");
			*(h->id == SIP_HDR_FROM ? &seen_from : &seen_to) = true;
			if (sip_addr_parse(v, h->id == SIP_HDR_FROM ? &m->from : &m->to))
				return fail_hdr(x, h->id, "Bad");
			break;
		case SIP_HDR_CALL_ID:
			if (seen_cid)
				return fail_hdr(x, h->id, "Multiple");
			seen_cid = true;
			if (!callid_ok(v))
				return fail_hdr(x, h->id, "Bad");
			m->call_id = v;
			break;
		case SIP_HDR_CSEQ:
			if (seen_cseq)
				return fail_hdr(x, h->id, "Multiple");
			seen_cseq = true;
			err = parse_cseq(x, v);
			if (err)
				return err;
			break;
		case SIP_HDR_MAX_FORWARDS:
			if (seen_mf)
				return fail_hdr(x, h->id, "Multiple");
			seen_mf = true;
			if (sip_pl_u32(v, &n) || n > 255)
				return fail_hdr(x, h->id, "Bad");
			m->max_forwards = (int32_t)n;
			break;
		case SIP_HDR_EXPIRES:
			if (seen_exp)
				return fail_hdr(x, h->id, "Multiple");
			seen_exp = true;
			if (parse_delta(v, &m->expires))
				return fail_hdr(x, h->id, "Bad");
			break;
		case SIP_HDR_CONTENT_LENGTH:
			if (m->content_length >= 0)
				return fail_hdr(x, h->id, "Multiple");
			err = sip_pl_u32(v, &n);
			if (err || n > SIP_MSG_MAX_LEN)
				return fail_hdr(x, h->id, "Bad");
			m->content_length = n;
			break;
		case SIP_HDR_CONTENT_TYPE:
			if (seen_ct)
				return fail_hdr(x, h->id, "Multiple");
			seen_ct = true;
			m->content_type = v;
			break;
		case SIP_HDR_CONTACT:
			err = parse_contacts(x, v);
			if (err)
				return err;
			break;
		case SIP_HDR_ROUTE:
			err = parse_addrs(x, h->id, v, x->route, &x->nroute);
			if (err)
				return err;
			break;
		case SIP_HDR_RECORD_ROUTE:
			err = parse_addrs(x, h->id, v, x->rr, &x->nrr);
			if (err)
				return err;
			break;
		case SIP_HDR_EVENT:
			if (!m->event.p)
				m->event = v;
			break;
		case SIP_HDR_REFER_TO:
			if (!m->refer_to.p)
				m->refer_to = v;
			break;
		case SIP_HDR_REPLACES:
			if (!m->replaces.p)
				m->replaces = v;
			break;
		default:
			break;
		}
	}
	if (!x->nvia)
		return fail(x, EINVAL, 400, "Missing Via header");
	if (!seen_from)
		return fail(x, EINVAL, 400, "Missing From header");
	if (!seen_to)
		return fail(x, EINVAL, 400, "Missing To header");
	if (!seen_cid)
		return fail(x, EINVAL, 400, "Missing Call-ID header");
	if (!seen_cseq)
		return fail(x, EINVAL, 400, "Missing CSeq header");
	/* "*" is only valid alone (RFC 3261 §10.2.2). */
	for (size_t i = 0; i < x->ncontact; i++)
		if (x->contact[i].star && x->ncontact > 1)
			return fail_hdr(x, SIP_HDR_CONTACT, "Bad");
	return 0;
}

/* Moves the stack arrays into one block owned by the message. */
static int finish(pctx *x)
{
	sip_msg *m = x->m;
	size_t sz = x->nh * sizeof(sip_hdr) + x->nvia * sizeof(sip_via) +
		    x->ncontact * sizeof(sip_contact) + (x->nroute + x->nrr) * sizeof(sip_addr);
	char *blk, *p;

	blk = malloc(sz ? sz : 1);
	if (!blk)
		return fail(x, ENOMEM, 500, "Out of memory");
	p = blk;
#define MOVE(dst, src, n, type) do { \
		dst = (type *)(void *)p; \
		if (n) memcpy(p, src, (n) * sizeof(type)); \
		p += (n) * sizeof(type); \
	} while (0)
	MOVE(m->hdrs, x->hdrs, x->nh, const sip_hdr);
	MOVE(m->via, x->via, x->nvia, const sip_via);
	MOVE(m->contact, x->contact, x->ncontact, const sip_contact);
	MOVE(m->route, x->route, x->nroute, const sip_addr);
	MOVE(m->record_route, x->rr, x->nrr, const sip_addr);
#undef MOVE
	m->n_hdrs = x->nh;
	m->n_via = x->nvia;
	m->n_contact = x->ncontact;
	m->n_route = x->nroute;
	m->n_record_route = x->nrr;
	return 0;
}

int sip_msg_parse(const char *buf, size_t len, sip_msg **out, sip_parse_err *err)
{
	sip_parse_err local_err;
	pctx *x;
	sip_msg *m;
	char *c, *p, *nl, *le;
	const char *body = NULL;
	int rc;

	*out = NULL;
	if (!err)
		err = &local_err;
	/* Not a memset: the Via array is large and filled only on failure. */
	err->status = 400;
	err->reason[0] = '\0';
	err->is_request = false;
	err->n_via = 0;
	err->from = err->to = err->call_id = err->cseq = SIP_PL_NULL;
	if (len > SIP_MSG_MAX_LEN) {
		err->status = 513;
		snprintf(err->reason, sizeof(err->reason), "Message Too Large");
		return EMSGSIZE;
	}
	/* The struct and the copy share one allocation. */
	m = malloc(sizeof(*m) + len + 1);
	x = malloc(sizeof(*x));
	if (!m || !x) {
		free(m);
		free(x);
		err->status = 500;
		snprintf(err->reason, sizeof(err->reason), "Out of memory");
		return ENOMEM;
	}
	memset(m, 0, sizeof(*m));
	c = (char *)(m + 1);
	if (len)
		memcpy(c, buf, len);
	c[len] = '\0';	/* never relied on; makes debugging printable */
	m->buf = c;
	m->len = len;
	m->refs_ = 1;
	m->max_forwards = -1;
	m->expires = -1;
	m->content_length = -1;
	x->c = c;
	x->end = c + len;
	x->orig = buf;
	x->err = err;
	x->m = m;
	x->nh = x->nvia = x->ncontact = x->nroute = x->nrr = 0;

	/* RFC 3261 §7.5: CRLFs before the start line are ignored. */
	p = c;
	while (p < x->end && (*p == '\r' || *p == '\n'))
		p++;
	nl = memchr(p, '\n', (size_t)(x->end - p));
	if (p == x->end || !nl) {
		rc = fail(x, EINVAL, 0, "No start line");
		goto out;
	}
	le = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
	if (le - p > SIP_MSG_MAX_LINE) {
		rc = fail(x, EMSGSIZE, 513, "Start line too long");
		goto out;
	}
	rc = parse_start(x, p, le);
	if (rc)
		goto out;
	rc = split_lines(x, nl + 1, &body);
	if (rc)
		goto out;
	rc = parse_hot(x);
	if (rc)
		goto out;
	if (m->content_length >= 0) {
		if ((size_t)(x->end - body) < (size_t)m->content_length) {
			rc = fail(x, EINVAL, 400, "Content-Length larger than message");
			goto out;
		}
		/* Octets after the body are ignored (RFC 3261 §18.3). */
		m->body = (sip_pl){ body, (size_t)m->content_length };
	} else {
		m->body = (sip_pl){ body, (size_t)(x->end - body) };
	}
	if (m->is_request && !sip_pl_eq(m->cseq.method_pl, m->method_pl)) {
		/* RFC 4475 §3.1.2.18 prefers 501 for an unknown method. */
		rc = fail(x, EINVAL, m->method == SIP_METHOD_UNKNOWN ? 501 : 400,
			  "CSeq method does not match");
		goto out;
	}
	rc = finish(x);
out:
	if (rc) {
		salvage(x);
		if (!m->is_request && m->version.p)
			err->status = 0;	/* broken responses are dropped */
		free(m);
	} else {
		*out = m;
	}
	free(x);
	return rc;
}

sip_msg *sip_msg_ref(sip_msg *m)
{
	if (m)
		__atomic_add_fetch(&m->refs_, 1, __ATOMIC_RELAXED);
	return m;
}

sip_msg *sip_msg_unref(sip_msg *m)
{
	if (m && __atomic_sub_fetch(&m->refs_, 1, __ATOMIC_ACQ_REL) == 0) {
		free((void *)m->hdrs);
		free(m);
	}
	return NULL;
}

static bool hdr_match(const sip_hdr *h, sip_hdr_id id, const char *name)
{
	if (id != SIP_HDR_OTHER)
		return h->id == id;
	return name && h->id == SIP_HDR_OTHER && sip_pl_casecmp(h->name, name);
}

const sip_hdr *sip_msg_hdr(const sip_msg *m, sip_hdr_id id, const char *name)
{
	if (id == SIP_HDR_OTHER && name)
		id = sip_hdr_id_from_pl(sip_pl_cstr(name));
	for (size_t i = 0; i < m->n_hdrs; i++)
		if (hdr_match(&m->hdrs[i], id, name))
			return &m->hdrs[i];
	return NULL;
}

size_t sip_msg_hdr_count(const sip_msg *m, sip_hdr_id id, const char *name)
{
	size_t n = 0;

	if (id == SIP_HDR_OTHER && name)
		id = sip_hdr_id_from_pl(sip_pl_cstr(name));
	for (size_t i = 0; i < m->n_hdrs; i++)
		if (hdr_match(&m->hdrs[i], id, name))
			n++;
	return n;
}

void sip_hdr_iter_init(sip_hdr_iter *it, const sip_msg *m, sip_hdr_id id,
		       const char *name, bool split)
{
	memset(it, 0, sizeof(*it));
	if (id == SIP_HDR_OTHER && name)
		id = sip_hdr_id_from_pl(sip_pl_cstr(name));
	it->m = m;
	it->id = id;
	it->name = name;
	it->split = split;
}

bool sip_hdr_iter_next(sip_hdr_iter *it, sip_pl *value)
{
	for (;;) {
		if (it->split && it->rest.l && sip_pl_list_next(&it->rest, value))
			return true;
		while (it->idx < it->m->n_hdrs && !hdr_match(&it->m->hdrs[it->idx], it->id, it->name))
			it->idx++;
		if (it->idx >= it->m->n_hdrs)
			return false;
		it->rest = it->m->hdrs[it->idx++].value;
		if (!it->split) {
			*value = it->rest;
			it->rest.l = 0;
			return true;
		}
	}
}

bool sip_msg_has_token(const sip_msg *m, sip_hdr_id id, const char *tok)
{
	sip_hdr_iter it;
	sip_pl v;

	sip_hdr_iter_init(&it, m, id, NULL, true);
	while (sip_hdr_iter_next(&it, &v))
		if (sip_pl_casecmp(v, tok))
			return true;
	return false;
}
