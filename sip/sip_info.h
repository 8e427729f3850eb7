/* sip_info: DTMF carried in SIP INFO requests, the way trunks and JsSIP
 * send it: "application/dtmf-relay" bodies ("Signal=5\r\nDuration=160\r\n")
 * and the bare "application/dtmf" ("5"). Pure parsing and printing; the
 * call layer maps the signals to and from RFC 4733 events.
 *
 * JsSIP reads only the first two lines of a dtmf-relay body, Signal then
 * Duration, and only upper-case signals (its newDTMF fires for nothing
 * else): sip_info_put_relay writes exactly that. */
#ifndef SIP_INFO_H
#define SIP_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/sip_build.h"
#include "sip/sip_pl.h"

#define SIP_INFO_RELAY_TYPE "application/dtmf-relay"
#define SIP_INFO_DTMF_TYPE "application/dtmf"
/* Longest body we read (a cap on hostile input). */
#define SIP_INFO_MAX_BODY 1024

typedef enum {
	SIP_INFO_NONE = 0,  /* some other Content-Type: not DTMF */
	SIP_INFO_RELAY,     /* application/dtmf-relay */
	SIP_INFO_DTMF,      /* application/dtmf */
} sip_info_kind;

/* The DTMF kind of a Content-Type value (parameters ignored, any case). */
sip_info_kind sip_info_kind_of(sip_pl content_type);

/* Parses an INFO body of content_type into one signal: '0'-'9', '*', '#',
 * 'A'-'D' (lower case is raised), or 'R' (flash, JsSIP sends it); "10" to
 * "16" are read as the RFC 4733 codes of '*', '#', 'A'-'D' and flash.
 * *duration_ms gets the Duration (clamped to 1..60000), 0 when absent
 * (application/dtmf never has one). 0, ENOTSUP (not a DTMF type), or
 * EINVAL (no valid signal). */
int sip_info_parse(sip_pl content_type, sip_pl body, char *signal, uint32_t *duration_ms);

/* Appends an application/dtmf-relay body: "Signal=S\r\nDuration=D\r\n"
 * (duration 0: 100 ms, JsSIP's default). EINVAL for a signal outside
 * 0-9 * # A-D (lower case is raised). */
int sip_info_put_relay(sip_buf *b, char signal, uint32_t duration_ms);
/* Appends an application/dtmf body ("5"). EINVAL as above. */
int sip_info_put_dtmf(sip_buf *b, char signal);

/* The RFC 4733 event code of a signal (0-15; 16 for 'R'), -1 if none. */
int sip_info_event(char signal);
/* The signal of an RFC 4733 event code 0-16, '\0' if none. */
char sip_info_signal(int event);

#endif
