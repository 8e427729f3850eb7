#include "sip/sip_info.h"

#include <errno.h>

static const char signals[] = "0123456789*#ABCDR";

int sip_info_event(char signal)
{
	if (signal >= 'a' && signal <= 'd')
		signal = (char)(signal - 'a' + 'A');
	else if (signal == 'r')
		signal = 'R';
	for (int i = 0; signals[i]; i++)
		if (signals[i] == signal)
			return i;
	return -1;
}

char sip_info_signal(int event)
{
	return event >= 0 && event < (int)sizeof signals - 1 ? signals[event] : '\0';
}

sip_info_kind sip_info_kind_of(sip_pl ct)
{
	if (!ct.p)
		return SIP_INFO_NONE;
	const char *semi = memchr(ct.p, ';', ct.l);
	sip_pl t = sip_pl_trim((sip_pl){ ct.p, semi ? (size_t)(semi - ct.p) : ct.l });
	if (SIP_PL_CASEEQ_LIT(t, SIP_INFO_RELAY_TYPE))
		return SIP_INFO_RELAY;
	if (SIP_PL_CASEEQ_LIT(t, SIP_INFO_DTMF_TYPE))
		return SIP_INFO_DTMF;
	return SIP_INFO_NONE;
}

/* One signal value: a single character, or an event code "0".."16". */
static int signal_of(sip_pl v, char *out)
{
	v = sip_pl_trim(v);
	int ev = -1;
	if (v.l == 1) {
		ev = sip_info_event(v.p[0]);
	} else if (v.l == 2 && v.p[0] == '1' && v.p[1] >= '0' && v.p[1] <= '6') {
		ev = 10 + (v.p[1] - '0');
	}
	if (ev < 0)
		return EINVAL;
	*out = sip_info_signal(ev);
	return 0;
}

/* dtmf-relay: "Name=value" lines in any order, names without case, blanks
 * around '=', CRLF or LF. Only the first Signal and Duration count. */
static int parse_relay(sip_pl body, char *signal, uint32_t *duration_ms)
{
	const char *p = body.p, *end = body.p + body.l;
	bool have_sig = false, have_dur = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		sip_pl line = sip_pl_trim((sip_pl){ p, (size_t)(le - p) });
		p = nl ? nl + 1 : end;
		const char *eq = line.l ? memchr(line.p, '=', line.l) : NULL;
		if (!eq)
			continue;
		sip_pl name = sip_pl_trim((sip_pl){ line.p, (size_t)(eq - line.p) });
		sip_pl val = sip_pl_trim((sip_pl){ eq + 1, (size_t)(line.p + line.l - eq - 1) });
		if (!have_sig && SIP_PL_CASEEQ_LIT(name, "Signal")) {
			if (signal_of(val, signal) != 0)
				return EINVAL;
			have_sig = true;
		} else if (!have_dur && SIP_PL_CASEEQ_LIT(name, "Duration")) {
			uint32_t d;
			/* A bad Duration does not void the signal: it stays unknown. */
			if (val.l && val.l <= 10 && sip_pl_u32(val, &d) == 0) {
				*duration_ms = d == 0 ? 1 : d > 60000 ? 60000 : d;
				have_dur = true;
			}
		}
	}
	return have_sig ? 0 : EINVAL;
}

int sip_info_parse(sip_pl content_type, sip_pl body, char *signal, uint32_t *duration_ms)
{
	sip_info_kind k = sip_info_kind_of(content_type);
	*duration_ms = 0;
	*signal = '\0';
	if (k == SIP_INFO_NONE)
		return ENOTSUP;
	if (!body.p || body.l == 0 || body.l > SIP_INFO_MAX_BODY)
		return EINVAL;
	if (k == SIP_INFO_DTMF)
		return signal_of(body, signal);
	int rc = parse_relay(body, signal, duration_ms);
	if (rc)
		*signal = '\0';
	return rc;
}

static int checked(char signal, char *out)
{
	int ev = sip_info_event(signal);
	if (ev < 0 || ev > 15)
		return EINVAL;
	*out = sip_info_signal(ev);
	return 0;
}

int sip_info_put_relay(sip_buf *b, char signal, uint32_t duration_ms)
{
	char s;
	if (checked(signal, &s) != 0)
		return EINVAL;
	sip_buf_puts(b, "Signal=");
	sip_buf_put(b, &s, 1);
	sip_buf_puts(b, "\r\nDuration=");
	sip_buf_put_u32(b, duration_ms ? duration_ms : 100);
	sip_buf_puts(b, "\r\n");
	return 0;
}

int sip_info_put_dtmf(sip_buf *b, char signal)
{
	char s;
	if (checked(signal, &s) != 0)
		return EINVAL;
	sip_buf_put(b, &s, 1);
	return 0;
}
