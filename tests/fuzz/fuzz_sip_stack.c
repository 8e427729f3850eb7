/* Fuzzes the stack's receive path: parse, request checks, transactions,
 * OPTIONS/REGISTER/CANCEL handling and response building. The first byte
 * picks the transport (UDP, or a TCP-like flow) and whether the message is
 * delivered twice (a retransmission); the rest is the message. Replies go to
 * a transport that drops them. A fresh stack per input keeps runs
 * independent and lets LeakSanitizer see what a message leaves behind. */
#include <stdint.h>
#include <string.h>

#include "sip/sip_stack.h"

static int drop_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len)
{
	(void)tp; (void)flow; (void)to; (void)data; (void)len;
	return 0;
}

static void drop_destroy(sip_transport *tp)
{
	(void)tp;
}

static const sip_transport_ops drop_ops = { .send = drop_send, .destroy = drop_destroy };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	sip_stack_user users[] = { { .name = "alice", .password = "pw" } };
	sip_stack_opts o = { .realm = "fuzz", .users = users, .n_users = 1 };
	char *err = NULL;
	sip_stack *s = sip_stack_new(&o, &err);
	if (!s)
		return 0;
	sip_transport tp = { .ops = &drop_ops, .kind = (mode & 1) ? SIP_TP_TCP : SIP_TP_UDP, .max_message = 65535 };
	jn_addr_parse("127.0.0.1:5060", 0, &tp.local);
	sip_peer p = { .tp = &tp };
	jn_addr_parse("127.0.0.2:5070", 0, &p.remote);
	p.local = tp.local;
	if (mode & 1)
		p.flow = sip_flow_new(&tp, &tp, &p.remote, &p.local);
	int times = (mode & 2) ? 2 : 1;
	for (int i = 0; i < times; i++)
		sip_stack_receive(s, &p, (const char *)data + 1, size - 1);
	sip_stack_free(s);
	if (p.flow) {
		sip_flow_detach(p.flow);
		sip_flow_unref(p.flow);
	}
	return 0;
}
