/* Fuzz target: sip_xfer's parsers (Refer-To with an escaped Replaces,
 * Replaces, sipfrag). Every slice must lie inside the input or the decode
 * buffer; a parsed Replaces printed back must parse to the same values. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_xfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(sip_pl pl, const char *p, size_t n)
{
	if (pl.p && (pl.p < p || pl.p + pl.l > p + n))
		abort();
}

static void replaces_inside(const sip_replaces *r, const char *p, size_t n)
{
	inside(r->call_id, p, n);
	inside(r->to_tag, p, n);
	inside(r->from_tag, p, n);
	if (!r->call_id.l || !r->to_tag.l || !r->from_tag.l)
		abort();
}

/* Prints r and parses it back: the same three values. */
static void roundtrip(const sip_replaces *r)
{
	char *cid = sip_pl_strdup(r->call_id), *tt = sip_pl_strdup(r->to_tag), *ft = sip_pl_strdup(r->from_tag);
	sip_buf b;
	sip_replaces r2;
	sip_buf_init(&b, 0);
	sip_xfer_put_replaces(&b, cid, tt, ft, r->early_only);
	if (!b.err) {
		if (sip_xfer_parse_replaces((sip_pl){ b.p, b.len }, &r2) != 0)
			abort();
		if (!sip_pl_eq(r2.call_id, r->call_id) || !sip_pl_eq(r2.to_tag, r->to_tag) ||
		    !sip_pl_eq(r2.from_tag, r->from_tag) || r2.early_only != r->early_only)
			abort();
	}
	sip_buf_free(&b);
	g_free(cid);
	g_free(tt);
	g_free(ft);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	sip_pl in = { p, size };
	char buf[512];
	sip_refer_to rt;
	sip_replaces r;
	uint16_t st;

	if (sip_xfer_parse_refer_to(in, &rt, buf, sizeof buf) == 0) {
		inside(rt.target, p, size);
		inside(rt.addr.uri_pl, p, size);
		if (!rt.target.l || rt.target.p != rt.addr.uri_pl.p || rt.target.l > rt.addr.uri_pl.l)
			abort();
		if (rt.has_replaces)
			replaces_inside(&rt.replaces, buf, sizeof buf);
	}
	if (sip_xfer_parse_replaces(in, &r) == 0) {
		replaces_inside(&r, p, size);
		roundtrip(&r);
	}
	if (sip_xfer_parse_sipfrag(in, &st) == 0 && (st < 100 || st > 699))
		abort();
	return 0;
}
