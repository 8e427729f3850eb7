/* sip_uri: parses and compares sip:, sips: and tel: URIs (RFC 3261 §19.1,
 * RFC 3966). The parsed view is slices into the caller's text. */
#ifndef SIP_URI_H
#define SIP_URI_H

#include "sip/sip_pl.h"

typedef enum {
	SIP_URI_SIP = 0,
	SIP_URI_SIPS,
	SIP_URI_TEL,
} sip_uri_scheme;

typedef struct {
	sip_pl whole;		/* the text that was parsed */
	sip_uri_scheme scheme;
	sip_pl user;		/* still %-escaped; for tel: the number */
	sip_pl password;	/* set only if a ':' password was present */
	sip_pl host;		/* IPv6 references without the brackets */
	bool host_ipv6;
	uint16_t port;		/* 0 when absent */
	sip_pl params;		/* after the first ';', up to '?' (no leading ';') */
	sip_pl headers;		/* after '?' (no '?') */
	/* Frequent parameters, looked up once (unset slice when absent). */
	sip_pl transport;
	sip_pl maddr;
	sip_pl user_param;	/* user=phone|ip */
	bool lr;
	bool ob;		/* RFC 5626 outbound */
} sip_uri;

/* Parses a URI; every slice in *out points into in. 0 or EINVAL. */
int sip_uri_parse(sip_pl in, sip_uri *out);
/* Compares two URIs by the RFC 3261 §19.1.4 rules (tel: by number and
 * params); returns 0 when equivalent, non-zero otherwise. */
int sip_uri_cmp(const sip_uri *a, const sip_uri *b);
/* Looks up a URI parameter (see sip_param_get). */
bool sip_uri_param(const sip_uri *u, const char *name, sip_pl *val);
/* Looks up a URI header (?name=value&...), value still escaped. */
bool sip_uri_header(const sip_uri *u, const char *name, sip_pl *val);
/* Decodes %HH escapes of in into out (cap bytes); *outlen gets the length.
 * 0, EINVAL on a bad escape, ENOSPC if out is too small. */
int sip_uri_unescape(sip_pl in, char *out, size_t cap, size_t *outlen);

#endif
