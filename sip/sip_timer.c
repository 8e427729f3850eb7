#include "sip/sip_timer.h"

#include <errno.h>

/* The leading delta-seconds of a value with optional ";params"; the
 * params go to *params. */
static int delta_and_params(sip_pl in, uint32_t *delta, sip_pl *params)
{
	in = sip_pl_trim(in);
	if (!in.p || in.l == 0)
		return EINVAL;
	const char *semi = memchr(in.p, ';', in.l);
	sip_pl num = sip_pl_trim((sip_pl){ in.p, semi ? (size_t)(semi - in.p) : in.l });
	if (num.l == 0 || num.l > 10 || sip_pl_u32(num, delta) != 0)
		return EINVAL;
	*params = semi ? (sip_pl){ semi, (size_t)(in.p + in.l - semi) } : SIP_PL_NULL;
	return 0;
}

int sip_timer_parse_se(sip_pl in, sip_session_expires *out)
{
	sip_pl params, val;
	memset(out, 0, sizeof *out);
	if (delta_and_params(in, &out->delta, &params) != 0 || out->delta == 0)
		return EINVAL;
	if (params.p && sip_param_get(params, "refresher", &val)) {
		if (SIP_PL_CASEEQ_LIT(val, "uac"))
			out->refresher = SIP_TIMER_REFRESHER_UAC;
		else if (SIP_PL_CASEEQ_LIT(val, "uas"))
			out->refresher = SIP_TIMER_REFRESHER_UAS;
		else
			return EINVAL;
	}
	return 0;
}

int sip_timer_parse_min_se(sip_pl in, uint32_t *out)
{
	sip_pl params;
	return delta_and_params(in, out, &params);
}

static uint32_t cfg_min_se(const sip_timer_cfg *cfg)
{
	uint32_t m = cfg && cfg->min_se ? cfg->min_se : SIP_TIMER_MIN_SE;
	return m < SIP_TIMER_MIN_SE ? SIP_TIMER_MIN_SE : m;
}

static uint32_t cfg_se(const sip_timer_cfg *cfg)
{
	uint32_t s = cfg && cfg->session_expires ? cfg->session_expires : SIP_TIMER_DEFAULT_SE;
	uint32_t m = cfg_min_se(cfg);
	return s < m ? m : s;
}

/* The first header of id as one value; unset when absent, and *many set
 * when it appears more than once (a malformed request, §9 asks for 400). */
static sip_pl single(const sip_msg *m, sip_hdr_id id, bool *many)
{
	*many = sip_msg_hdr_count(m, id, NULL) > 1;
	const sip_hdr *h = sip_msg_hdr(m, id, NULL);
	return h ? h->value : SIP_PL_NULL;
}

int sip_timer_uas_decide(const sip_msg *req, const sip_timer_cfg *cfg, sip_timer_uas *out)
{
	memset(out, 0, sizeof *out);
	if (!req)
		return EINVAL;
	bool many_se, many_min;
	sip_pl se_pl = single(req, SIP_HDR_SESSION_EXPIRES, &many_se);
	sip_pl min_pl = single(req, SIP_HDR_MIN_SE, &many_min);
	bool supported = sip_msg_has_token(req, SIP_HDR_SUPPORTED, SIP_TIMER_TAG) ||
			 sip_msg_has_token(req, SIP_HDR_REQUIRE, SIP_TIMER_TAG);
	uint32_t our_min = cfg_min_se(cfg), their_min = SIP_TIMER_MIN_SE;
	if (many_se || many_min) {
		out->status = 400;
		return 0;
	}
	if (min_pl.p && (sip_timer_parse_min_se(min_pl, &their_min) != 0 || their_min == 0)) {
		out->status = 400;
		return 0;
	}
	if (their_min < SIP_TIMER_MIN_SE)
		their_min = SIP_TIMER_MIN_SE;
	sip_session_expires se;
	if (se_pl.p) {
		if (sip_timer_parse_se(se_pl, &se) != 0) {
			out->status = 400;
			return 0;
		}
		if (se.delta < our_min) {
			/* §9: too brief for us; the UAC retries with our floor. */
			out->status = 422;
			out->min_se = our_min > their_min ? our_min : their_min;
			return 0;
		}
		/* We may shorten it toward what we like, never under either
		 * side's Min-SE. */
		uint32_t want = cfg_se(cfg), floor = our_min > their_min ? our_min : their_min;
		out->interval = se.delta;
		if (want < out->interval)
			out->interval = want < floor ? floor : want;
		out->refresher = se.refresher;
	} else if (cfg && cfg->uas_insert) {
		uint32_t floor = our_min > their_min ? our_min : their_min;
		out->interval = cfg_se(cfg) < floor ? floor : cfg_se(cfg);
	} else {
		return 0; /* no timer asked, none wanted */
	}
	out->active = true;
	/* §9: a UAC without timer support cannot refresh: we do. Otherwise,
	 * left to us, the UAC refreshes (it asked for the timer). */
	if (!supported)
		out->refresher = SIP_TIMER_REFRESHER_UAS;
	else if (out->refresher == SIP_TIMER_REFRESHER_NONE)
		out->refresher = SIP_TIMER_REFRESHER_UAC;
	out->require_timer = supported;
	return 0;
}

void sip_timer_uas_put_headers(sip_buf *b, const sip_timer_uas *a)
{
	if (a->status == 422) {
		sip_buf_puts(b, "Min-SE: ");
		sip_buf_put_u32(b, a->min_se);
		sip_buf_puts(b, "\r\n");
		return;
	}
	if (a->status || !a->active)
		return;
	sip_buf_puts(b, "Session-Expires: ");
	sip_buf_put_u32(b, a->interval);
	sip_buf_puts(b, ";refresher=");
	sip_buf_puts(b, sip_timer_refresher_name(a->refresher));
	sip_buf_puts(b, "\r\n");
	if (a->require_timer)
		sip_buf_puts(b, "Require: timer\r\n");
}

void sip_timer_uac_put_headers(sip_buf *b, const sip_timer_cfg *cfg)
{
	sip_buf_puts(b, "Session-Expires: ");
	sip_buf_put_u32(b, cfg_se(cfg));
	sip_buf_puts(b, "\r\nMin-SE: ");
	sip_buf_put_u32(b, cfg_min_se(cfg));
	sip_buf_puts(b, "\r\n");
}

int sip_timer_uac_after_422(const sip_msg *resp, sip_timer_cfg *cfg)
{
	const sip_hdr *h = resp ? sip_msg_hdr(resp, SIP_HDR_MIN_SE, NULL) : NULL;
	uint32_t m;
	if (!h || sip_timer_parse_min_se(h->value, &m) != 0 || m == 0)
		return EINVAL;
	/* A 422 that asks for no more than we sent cannot help: retrying
	 * would loop. Else §7.3: retry with its Min-SE, and at least that. */
	if (m <= cfg_se(cfg))
		return EINVAL;
	cfg->min_se = m;
	cfg->session_expires = m;
	return 0;
}

int sip_timer_uac_result(const sip_msg *resp, sip_timer_session *out)
{
	memset(out, 0, sizeof *out);
	const sip_hdr *h = resp ? sip_msg_hdr(resp, SIP_HDR_SESSION_EXPIRES, NULL) : NULL;
	if (!h)
		return 0;
	sip_session_expires se;
	if (sip_timer_parse_se(h->value, &se) != 0)
		return EINVAL;
	out->active = true;
	out->interval = se.delta;
	out->refresher = se.refresher ? se.refresher : SIP_TIMER_REFRESHER_UAC;
	return 0;
}

bool sip_timer_we_refresh(sip_timer_refresher r, bool we_were_uac)
{
	return we_were_uac ? r == SIP_TIMER_REFRESHER_UAC : r == SIP_TIMER_REFRESHER_UAS;
}

uint64_t sip_timer_refresh_ms(uint32_t interval)
{
	return (uint64_t)interval * 500;
}

uint64_t sip_timer_expire_ms(uint32_t interval)
{
	uint64_t ms = (uint64_t)interval * 1000, third = ms / 3;
	return ms - (third < 32000 ? third : 32000);
}

const char *sip_timer_refresher_name(sip_timer_refresher r)
{
	switch (r) {
	case SIP_TIMER_REFRESHER_UAC:
		return "uac";
	case SIP_TIMER_REFRESHER_UAS:
		return "uas";
	default:
		return "";
	}
}
