/* Fuzz target: the SIP message parser. Any input must parse or fail with a
 * status; a parsed request must give a response that parses back, and a
 * failed one must give an error response or a clean refusal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_build.h"
#include "sip/sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const sip_msg *m)
{
	sip_hdr_iter it;
	sip_pl v;
	sip_addr a;
	sip_via via;
	size_t n = 0;

	for (size_t i = 0; i < m->n_hdrs; i++) {
		sip_hdr_iter_init(&it, m, m->hdrs[i].id, m->hdrs[i].id ? NULL : "x-a", true);
		while (sip_hdr_iter_next(&it, &v)) {
			if (v.p < m->buf || v.p + v.l > m->buf + m->len)
				abort();
			n++;
		}
	}
	sip_hdr_iter_init(&it, m, SIP_HDR_REFER_TO, NULL, false);
	while (sip_hdr_iter_next(&it, &v))
		(void)sip_addr_parse(v, &a);
	sip_hdr_iter_init(&it, m, SIP_HDR_VIA, NULL, true);
	while (sip_hdr_iter_next(&it, &v))
		if (sip_via_parse(v, &via))
			abort();	/* the parser accepted it already */
	if (m->ruri_parsed && sip_uri_cmp(&m->ruri, &m->ruri) != 0)
		abort();
	(void)sip_msg_has_token(m, SIP_HDR_SUPPORTED, "outbound");
	if (m->body.p < m->buf || m->body.p + m->body.l > m->buf + m->len)
		abort();
	(void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sip_msg *m = NULL, *r = NULL;
	sip_parse_err err;
	sip_buf b;
	int rc;

	rc = sip_msg_parse((const char *)data, size, &m, &err);
	sip_buf_init(&b, 0);
	if (rc == 0) {
		walk(m);
		if (m->is_request) {
			sip_resp_opts o = { .to_tag = "fz", .record_route = true, .body = SIP_PL("x") };

			if (sip_build_response(&b, m, 488, NULL, &o) == 0) {
				if (sip_msg_parse(b.p, b.len, &r, NULL) != 0)
					abort();	/* our own output must parse */
				if (r->n_via != m->n_via || r->cseq.num != m->cseq.num ||
				    r->n_record_route != m->n_record_route)
					abort();
				r = sip_msg_unref(r);
			}
		}
		m = sip_msg_unref(m);
	} else {
		if (m)
			abort();
		if (err.status && sip_build_error_response(&b, &err, "fz") == 0 &&
		    b.len < 8)
			abort();
	}
	sip_buf_free(&b);
	return 0;
}
