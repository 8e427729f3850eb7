/* jn_net: address parsing and listening sockets with errors a person can act on. */
#ifndef JN_NET_H
#define JN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
	struct sockaddr_storage ss;
	socklen_t len;
} jn_addr;

/* Parses "1.2.3.4:5060", "[::1]:5060", "host" (port = default_port).
 * Only IP literals: names are resolved elsewhere. Returns 0 or EINVAL. */
int jn_addr_parse(const char *text, uint16_t default_port, jn_addr *out);
/* Formats as "1.2.3.4:5060" or "[::1]:5060" into buf (>= 64 bytes). */
const char *jn_addr_str(const jn_addr *a, char *buf, size_t size);
uint16_t jn_addr_port(const jn_addr *a);
void jn_addr_set_port(jn_addr *a, uint16_t port);
bool jn_addr_equal(const jn_addr *a, const jn_addr *b);

/* Creates a non-blocking, close-on-exec socket bound to addr (SO_REUSEADDR
 * for TCP), listening when type is SOCK_STREAM. Returns the fd, or -errno
 * with a one-line reason in err (e.g. "127.0.0.1:5060: Address already in use"). */
int jn_net_listen(int type, const jn_addr *addr, char *err, size_t errsize);

#endif
