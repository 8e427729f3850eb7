/* Fuzz target: the SIP URI parser and comparison. A parsed URI must equal
 * itself, and every slice must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(sip_pl pl, const char *p, size_t n)
{
	if (pl.p && (pl.p < p || pl.p + pl.l > p + n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	sip_uri u, u2;
	char buf[256];
	size_t n;
	sip_pl v;
	size_t half;

	if (sip_uri_parse((sip_pl){ p, size }, &u) == 0) {
		inside(u.user, p, size);
		inside(u.password, p, size);
		inside(u.host, p, size);
		inside(u.params, p, size);
		inside(u.headers, p, size);
		if (sip_uri_cmp(&u, &u) != 0)
			abort();
		(void)sip_uri_unescape(u.user, buf, sizeof(buf), &n);
		(void)sip_uri_param(&u, "transport", &v);
		(void)sip_uri_header(&u, "subject", &v);
	}
	/* Two URIs from the two halves: comparison must be symmetric. */
	half = size / 2;
	if (sip_uri_parse((sip_pl){ p, half }, &u) == 0 &&
	    sip_uri_parse((sip_pl){ p + half, size - half }, &u2) == 0) {
		if ((sip_uri_cmp(&u, &u2) == 0) != (sip_uri_cmp(&u2, &u) == 0))
			abort();
	}
	return 0;
}
