/* Fuzz target: sip_info's DTMF body parser, under both content types.
 * A parsed signal is one of 0-9 * # A-D R, its duration within 0..60000,
 * and (but for R) it prints back to a body that parses to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(sip_pl ct, sip_pl body)
{
	char s, s2;
	uint32_t d, d2;
	if (sip_info_parse(ct, body, &s, &d) != 0)
		return;
	if (sip_info_event(s) < 0 || d > 60000 || !strchr("0123456789*#ABCDR", s))
		abort();
	if (s == 'R')
		return;
	sip_buf b;
	sip_buf_init(&b, 0);
	if (sip_info_put_relay(&b, s, d) != 0)
		abort();
	if (sip_info_parse(SIP_PL(SIP_INFO_RELAY_TYPE), (sip_pl){ b.p, b.len }, &s2, &d2) != 0 || s2 != s ||
	    d2 != (d ? d : 100))
		abort();
	sip_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sip_pl body = { (const char *)data, size };
	check(SIP_PL(SIP_INFO_RELAY_TYPE), body);
	check(SIP_PL(SIP_INFO_DTMF_TYPE), body);
	/* The first line as a Content-Type, the rest as the body. */
	const char *nl = memchr(data, '\n', size);
	if (nl) {
		size_t n = (size_t)(nl - (const char *)data);
		check((sip_pl){ (const char *)data, n }, (sip_pl){ nl + 1, size - n - 1 });
	}
	return 0;
}
