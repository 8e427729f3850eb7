/* sip_udp: SIP over UDP, one socket per listen address, read in batches
 * with recvmmsg(2). Datagrams larger than max_message are dropped and
 * counted (rx_errors). */
#ifndef SIP_UDP_H
#define SIP_UDP_H

#include "sip/sip_transport.h"

/* Opens the socket on o->listen and starts reading on the default GLib
 * main context. NULL with *err set to one line naming the address. */
sip_transport *sip_udp_new(const sip_tp_opts *o, char **err);

#endif
