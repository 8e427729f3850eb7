/* sip_msg_int: internals shared by sip_msg*.c. Not a public header. */
#ifndef SIP_MSG_INT_H
#define SIP_MSG_INT_H

#include "sip/sip_pl.h"

/* 1 for RFC 3261 token characters. */
extern const unsigned char sip_tokch[256];

/* Validates ";name[=value]..." from p to end; see sip_msg_hdr.c. */
int sip_params_scan(const char *p, const char *end, sip_pl *params);

#endif
