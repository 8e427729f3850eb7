/* sip_tcp: SIP over TCP (RFC 3261 §18), and over TLS. Listens on one address, accepts up
 * to max_connections, connects out on demand (and reuses a connection to
 * the same address), frames the byte stream with sip_frame, answers CRLF
 * keep-alive pings (RFC 5626 §4.4.1) and closes connections idle for
 * idle_timeout_s. Each connection is a flow. */
#ifndef SIP_TCP_H
#define SIP_TCP_H

#include "sip/sip_transport.h"

/* Opens the listener on o->listen. NULL with *err set to one line naming
 * the address. */
sip_transport *sip_tcp_new(const sip_tp_opts *o, char **err);
/* SIP over TLS (RFC 3261 §26.2): the same stream transport with OpenSSL
 * (TLS 1.2 at least) on accepted connections, using a PEM certificate
 * chain and key. Outbound connections are opened only toward addresses
 * named with sip_tls_set_peer() (the name their certificate is checked
 * against); sending elsewhere without a flow fails with ENOTCONN. */
sip_transport *sip_tls_new(const sip_tp_opts *o, const char *cert, const char *key, char **err);
/* Declares who is at `to` for outbound TLS: connections opened there check
 * the peer's certificate against host (a DNS name, or an IP literal
 * checked as an address), with SNI for names, against the CA certificates
 * in ca_file ("" or NULL = the system store; the first call's file is the
 * one used). verify false turns the check off (warned once). label names
 * the peer in logs (a trunk). A later call for the same address replaces
 * the earlier one. 0, or EINVAL when tls is not a TLS transport, or EIO
 * when the CA file cannot be loaded. */
int sip_tls_set_peer(sip_transport *tls, const jn_addr *to, const char *host, bool verify,
		     const char *ca_file, const char *label);
/* Open connections now (accepted and outbound). */
unsigned sip_tcp_connections(const sip_transport *tcp);

#endif
