/* sip_outreg: outbound registration to a trunk (RFC 3261 §10.2): REGISTER
 * with digest auth when challenged (401/407), refresh before the granted
 * expiry, 423 handled by asking for Min-Expires, retry with backoff after a
 * failure (30 s doubling to 10 min). The state is visible to the core
 * through a callback and sip_outreg_get_state(). A trunk host that is a
 * name is resolved per RFC 3263 (sip_resolve) at the start of every round;
 * after a failed round the next target in failover order is used. */
#ifndef SIP_STACK_OUTREG_H
#define SIP_STACK_OUTREG_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/sip_transport.h"

typedef struct sip_stack sip_stack;
typedef struct sip_outreg sip_outreg;

typedef enum {
	SIP_OUTREG_REGISTERING = 0,
	SIP_OUTREG_REGISTERED,
	SIP_OUTREG_FAILED,      /* retrying after a backoff */
} sip_outreg_state;

typedef void (*sip_outreg_state_fn)(void *user, sip_outreg *r, sip_outreg_state st, int status);

typedef struct {
	const char *name;       /* the trunk's name, for logs */
	const char *host;       /* IP literal or DNS name */
	uint16_t port;          /* 0 = none: SRV for a name, else 5060 */
	sip_tp_kind transport;  /* UDP, TCP or TLS (TLS needs [sip] tls_listen) */
	bool tls_no_verify;     /* TLS: do not check the certificate against host */
	const char *tls_ca_file; /* TLS: CA certificates; NULL/"" = the system store */
	const char *username;
	const char *password;
	const char *domain;     /* AOR host; NULL/"" = host */
	unsigned expires;       /* asked for; 0 = 600 */
	sip_outreg_state_fn on_state; /* may be NULL */
	void *user;
} sip_outreg_opts;

/* Starts registering now. Never NULL; a bad host shows as FAILED. */
sip_outreg *sip_outreg_new(sip_stack *s, const sip_outreg_opts *o);
/* Stops (no un-REGISTER is sent) and frees. NULL is fine. */
void sip_outreg_free(sip_outreg *r);
sip_outreg_state sip_outreg_get_state(const sip_outreg *r);
/* The last final status (0 before any; 408 timeout, 503 transport error). */
int sip_outreg_last_status(const sip_outreg *r);
/* Seconds granted by the registrar in the last 200 (0 if none). */
unsigned sip_outreg_granted(const sip_outreg *r);
const char *sip_outreg_state_name(sip_outreg_state st);

/* sip_optping: OPTIONS keepalive to a trunk every interval_s seconds. Any
 * response means the trunk is reachable (even 404 or 405: something
 * answered); a timeout (408) or transport error marks it unreachable. The
 * state changes are logged and given to on_state. */
typedef struct sip_optping sip_optping;
typedef void (*sip_optping_fn)(void *user, sip_optping *p, bool reachable, int status);

typedef struct {
	const char *name;
	const char *host;       /* IP literal or DNS name */
	uint16_t port;          /* 0 = none: SRV for a name, else 5060 */
	sip_tp_kind transport;
	bool tls_no_verify;     /* as in sip_outreg_opts */
	const char *tls_ca_file;
	const char *domain;     /* Request-URI / To host; NULL/"" = host */
	unsigned interval_s;    /* > 0 */
	sip_optping_fn on_state; /* may be NULL */
	void *user;
} sip_optping_opts;

/* Sends the first OPTIONS at once, then every interval_s. */
sip_optping *sip_optping_new(sip_stack *s, const sip_optping_opts *o);
void sip_optping_free(sip_optping *p);
/* Whether the last OPTIONS got an answer (false before the first). */
bool sip_optping_reachable(const sip_optping *p);
int sip_optping_last_status(const sip_optping *p);

#endif
