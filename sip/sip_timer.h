/* sip_timer: session timers (RFC 4028) as pure decisions: parsing
 * Session-Expires and Min-SE, what a UAS answers to an INVITE or UPDATE,
 * what a UAC puts in its request and takes from the 2xx, and when the
 * refresher refreshes and the other side gives up. The call layer owns
 * the actual timers and requests.
 *
 * Intervals are seconds; the two deadlines are milliseconds. */
#ifndef SIP_TIMER_H
#define SIP_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/sip_build.h"
#include "sip/sip_msg.h"
#include "sip/sip_pl.h"

/* The floor RFC 4028 §4 sets for Min-SE, and the usual interval. */
#define SIP_TIMER_MIN_SE 90
#define SIP_TIMER_DEFAULT_SE 1800
/* The option tag for Supported / Require. */
#define SIP_TIMER_TAG "timer"

typedef enum {
	SIP_TIMER_REFRESHER_NONE = 0, /* not said (a request may leave it to the UAS) */
	SIP_TIMER_REFRESHER_UAC,
	SIP_TIMER_REFRESHER_UAS,
} sip_timer_refresher;

typedef struct {
	uint32_t delta;                /* seconds */
	sip_timer_refresher refresher;
} sip_session_expires;

/* Parses a Session-Expires value ("1800;refresher=uac"). A delta of 0, or
 * a refresher other than uac/uas, is EINVAL. 0 or EINVAL. */
int sip_timer_parse_se(sip_pl in, sip_session_expires *out);
/* Parses a Min-SE value ("90", params ignored). 0 or EINVAL. */
int sip_timer_parse_min_se(sip_pl in, uint32_t *out);

/* Our side's settings (zeroes: 1800 and 90). */
typedef struct {
	uint32_t session_expires; /* the interval we ask for */
	uint32_t min_se;          /* the smallest we accept (raised to 90) */
	bool uas_insert;          /* as UAS, run a timer even when the request asked none */
} sip_timer_cfg;

/* What a UAS does with an INVITE / UPDATE (RFC 4028 §9). */
typedef struct {
	uint16_t status;        /* 0: go on; 422: answer 422 with Min-SE: min_se; 400: bad headers */
	uint32_t min_se;        /* for the 422 */
	bool active;            /* the 2xx carries Session-Expires and a timer runs */
	uint32_t interval;      /* seconds */
	sip_timer_refresher refresher;
	bool require_timer;     /* the 2xx needs "Require: timer" (the UAC supports it) */
} sip_timer_uas;

/* Decides the UAS answer to req from its Session-Expires, Min-SE and
 * Supported, and cfg. 0 (see out->status), or EINVAL if req is NULL. */
int sip_timer_uas_decide(const sip_msg *req, const sip_timer_cfg *cfg, sip_timer_uas *out);
/* Appends the header lines of that answer: for 422 "Min-SE: N\r\n"; for an
 * active timer "Session-Expires: N;refresher=uac|uas\r\n" and, when due,
 * "Require: timer\r\n"; nothing otherwise. */
void sip_timer_uas_put_headers(sip_buf *b, const sip_timer_uas *a);

/* Appends what a UAC's INVITE carries (§7.1): "Session-Expires: N\r\n"
 * (refresher left to the UAS) and "Min-SE: M\r\n". The caller also lists
 * "timer" in its Supported header. */
void sip_timer_uac_put_headers(sip_buf *b, const sip_timer_cfg *cfg);
/* A 422 came back (§7.3): raises cfg's interval and Min-SE to the
 * response's Min-SE so the retried INVITE is accepted. 0, or EINVAL when
 * the 422 has no usable Min-SE (then give up). */
int sip_timer_uac_after_422(const sip_msg *resp, sip_timer_cfg *cfg);

/* The timer a dialog runs after a 2xx. */
typedef struct {
	bool active;
	uint32_t interval;              /* seconds */
	sip_timer_refresher refresher;
} sip_timer_session;

/* What the UAC's 2xx says (§7.2): a Session-Expires gives the interval and
 * the refresher (uac when the UAS left it out); none means no timer.
 * 0 or EINVAL (a malformed Session-Expires). */
int sip_timer_uac_result(const sip_msg *resp, sip_timer_session *out);

/* Whether we send the refreshes, given the session's refresher and whether
 * we were the UAC of the transaction that set it. */
bool sip_timer_we_refresh(sip_timer_refresher r, bool we_were_uac);
/* When the refresher sends its re-INVITE / UPDATE: half the interval (ms). */
uint64_t sip_timer_refresh_ms(uint32_t interval);
/* When the other side gives up and sends BYE with no refresh seen (§10):
 * interval - min(32, interval / 3) seconds, in ms. */
uint64_t sip_timer_expire_ms(uint32_t interval);
/* "uac", "uas" or "". */
const char *sip_timer_refresher_name(sip_timer_refresher r);

#endif
