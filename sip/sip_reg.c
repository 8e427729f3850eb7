/* sip_reg: the registrar's binding store (see sip_reg.h). Implementation in progress. */
#include "sip/sip_reg.h"

#include <errno.h>

sip_reg *sip_reg_new(const sip_reg_opts *opts)
{
	(void)opts;
	return NULL;
}

void sip_reg_free(sip_reg *r)
{
	(void)r;
}
