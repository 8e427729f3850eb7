/* sip_auth: digest authentication (see sip_auth.h). Implementation in progress. */
#include "sip/sip_auth.h"

#include <errno.h>
#include <string.h>

int sip_auth_parse(const char *p, size_t len, sip_auth_hdr *out)
{
	(void)p;
	(void)len;
	memset(out, 0, sizeof *out);
	return ENOTSUP;
}
