/* sip_frame: SIP message boundaries on stream transports.
 *
 * The head is scanned line by line (memchr for LF, so CRLF and bare LF
 * both end lines) and Content-Length is picked up on the way; once the
 * empty line is found the total size is known and the body is waited for
 * without looking at it. */
#include "sip/sip_frame.h"
#include "sip/sip_msg.h"

#include <errno.h>
#include <string.h>

void sip_frame_init(sip_frame *f, size_t max_msg)
{
	memset(f, 0, sizeof(*f));
	f->max_msg = max_msg ? max_msg : SIP_MSG_MAX_LEN;
	f->clen = -1;
}

static void reset(sip_frame *f)
{
	f->scanned = 0;
	f->need = 0;
	f->line_start = 0;
	f->clen = -1;
}

static sip_frame_result error(sip_frame *f, int err)
{
	f->err = err;
	return SIP_FRAME_ERROR;
}

static inline char lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* If line is a Content-Length header (full or compact name), parses it
 * into *clen. Returns 0, or EBADMSG for a bad or conflicting value. */
static int check_clen(const char *s, const char *e, long long *clen)
{
	static const char name[] = "content-length";
	const char *p = s;
	long long v = 0;
	size_t i;

	for (i = 0; i < sizeof(name) - 1 && p < e && lc(*p) == name[i]; i++)
		p++;
	if (i != sizeof(name) - 1) {
		if (!(e - s >= 1 && lc(*s) == 'l'))
			return 0;
		p = s + 1;
	}
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p == e || *p != ':')
		return 0;
	p++;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (p == e)
		return EBADMSG;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return EBADMSG;
		v = v * 10 + (*p - '0');
		if (v > SIP_MSG_MAX_LEN * 16LL)
			return EBADMSG;
	}
	if (*clen >= 0 && *clen != v)
		return EBADMSG;
	*clen = v;
	return 0;
}

sip_frame_result sip_frame_next(sip_frame *f, const char *buf, size_t len, size_t *n)
{
	*n = 0;
	if (f->need) {
		if (len < f->need)
			return SIP_FRAME_MORE;
		*n = f->need;
		reset(f);
		return SIP_FRAME_MSG;
	}
	if (f->scanned == 0 && len > 0 && (buf[0] == '\r' || buf[0] == '\n')) {
		/* Keep-alives between messages (RFC 5626 §3.5.1). */
		if (len >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0) {
			*n = 4;
			return SIP_FRAME_PING;
		}
		/* "\r\n" alone may be the first half of a ping split across
		 * reads: wait. A real pong then waits for the next bytes, which
		 * costs nothing (a pong needs no answer). */
		if (len < 4 && memcmp(buf, "\r\n\r\n", len) == 0)
			return SIP_FRAME_MORE;
		if (buf[0] == '\n') {
			*n = 1;
			return SIP_FRAME_PONG;
		}
		if (len < 2 || (len == 3 && buf[1] == '\n' && buf[2] == '\r'))
			return SIP_FRAME_MORE;
		if (buf[1] != '\n')
			return error(f, EBADMSG);
		*n = 2;
		return SIP_FRAME_PONG;
	}
	while (f->scanned < len) {
		const char *nl = memchr(buf + f->scanned, '\n', len - f->scanned);
		const char *s = buf + f->line_start, *e;

		if (!nl) {
			f->scanned = len;
			break;
		}
		e = (nl > s && nl[-1] == '\r') ? nl - 1 : nl;
		f->scanned = f->line_start = (size_t)(nl - buf) + 1;
		if (e == s) {
			if (f->clen < 0)
				return error(f, EBADMSG);	/* required on streams */
			f->need = f->scanned + (size_t)f->clen;
			if (f->need > f->max_msg)
				return error(f, EMSGSIZE);
			if (len < f->need)
				return SIP_FRAME_MORE;
			*n = f->need;
			reset(f);
			return SIP_FRAME_MSG;
		}
		if (s == buf) {
			/* A start line begins with a method token or "SIP/". */
			if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
				return error(f, EBADMSG);
		} else if (check_clen(s, e, &f->clen)) {
			return error(f, EBADMSG);
		}
	}
	if (f->scanned > f->max_msg)
		return error(f, EMSGSIZE);
	return SIP_FRAME_MORE;
}
