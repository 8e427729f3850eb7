/* sdp: parser and slice helpers (see sdp.h). Implementation in progress. */
#include "media/sdp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sdp_parse(const char *buf, size_t len, sdp_session **out, sdp_error *err)
{
	(void)buf;
	(void)len;
	*out = NULL;
	if (err)
		snprintf(err->reason, sizeof err->reason, "not implemented");
	return EBADMSG;
}

sdp_session *sdp_ref(sdp_session *s)
{
	return s;
}

sdp_session *sdp_unref(sdp_session *s)
{
	(void)s;
	return NULL;
}
