/* Fuzz target: sip_timer. The input is split at the first NUL byte: the
 * first part goes to the Session-Expires and Min-SE parsers, the second
 * is parsed as a SIP message and handed to the UAS and UAC decisions.
 * Checks the RFC 4028 invariants: a UAS never accepts an interval under
 * its Min-SE, never answers 422 with a Min-SE under 90, and the give-up
 * deadline never comes before the refresh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_timer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nul = memchr(p, '\0', size);
	size_t head = nul ? (size_t)(nul - p) : size;
	sip_session_expires se;
	uint32_t v;

	if (sip_timer_parse_se((sip_pl){ p, head }, &se) == 0) {
		if (se.delta == 0 || se.refresher > SIP_TIMER_REFRESHER_UAS)
			abort();
		if (sip_timer_expire_ms(se.delta) < sip_timer_refresh_ms(se.delta))
			abort();
	}
	(void)sip_timer_parse_min_se((sip_pl){ p, head }, &v);
	if (!nul)
		return 0;

	sip_msg *m = NULL;
	if (sip_msg_parse(nul + 1, size - head - 1, &m, NULL) != 0)
		return 0;
	sip_timer_cfg cfg = { .session_expires = 1800, .min_se = 120, .uas_insert = (size & 1) != 0 };
	sip_timer_uas a;
	sip_buf b;
	sip_buf_init(&b, 0);
	if (m->is_request && sip_timer_uas_decide(m, &cfg, &a) == 0) {
		if (a.status == 422 && a.min_se < 120)
			abort();
		if (a.status == 0 && a.active && (a.interval < 120 || a.refresher == SIP_TIMER_REFRESHER_NONE))
			abort();
		if (a.status != 0 && a.status != 400 && a.status != 422)
			abort();
		sip_timer_uas_put_headers(&b, &a);
	}
	if (!m->is_request) {
		sip_timer_session s;
		if (sip_timer_uac_result(m, &s) == 0 && s.active && (s.interval == 0 || !s.refresher))
			abort();
		uint32_t before = 1800;
		if (sip_timer_uac_after_422(m, &cfg) == 0 && cfg.session_expires <= before)
			abort();
		sip_timer_uac_put_headers(&b, &cfg);
	}
	sip_buf_free(&b);
	sip_msg_unref(m);
	return 0;
}
