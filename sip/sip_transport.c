#include "sip/sip_transport.h"

#include <errno.h>
#include <glib.h>
#include <strings.h>

struct sip_flow {
	gint refs;
	sip_transport *tp;
	void *conn;
	jn_addr remote, local;
	uint64_t id;
};

static const char *const tp_names[SIP_TP_COUNT] = { "UDP", "TCP", "TLS", "WS", "WSS" };

const char *sip_tp_name(sip_tp_kind kind)
{
	return kind < SIP_TP_COUNT ? tp_names[kind] : "?";
}

bool sip_tp_reliable(sip_tp_kind kind)
{
	return kind != SIP_TP_UDP;
}

bool sip_tp_parse(const char *tok, size_t len, sip_tp_kind *out)
{
	for (int k = 0; k < SIP_TP_COUNT; k++) {
		if (strlen(tp_names[k]) == len && strncasecmp(tok, tp_names[k], len) == 0) {
			*out = (sip_tp_kind)k;
			return true;
		}
	}
	return false;
}

int sip_transport_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len)
{
	if (!tp)
		return EINVAL;
	int rc = tp->ops->send(tp, flow, to, data, len);
	if (rc == 0)
		tp->tx_messages++;
	else
		tp->tx_errors++;
	return rc;
}

void sip_transport_free(sip_transport *tp)
{
	if (tp)
		tp->ops->destroy(tp);
}

sip_flow *sip_flow_new(sip_transport *tp, void *conn, const jn_addr *remote, const jn_addr *local)
{
	sip_flow *f = g_new0(sip_flow, 1);
	f->refs = 1;
	f->tp = tp;
	f->conn = conn;
	f->remote = *remote;
	f->local = *local;
	f->id = ++tp->next_flow_id;
	return f;
}

sip_flow *sip_flow_ref(sip_flow *f)
{
	g_atomic_int_inc(&f->refs);
	return f;
}

sip_flow *sip_flow_unref(sip_flow *f)
{
	if (f && g_atomic_int_dec_and_test(&f->refs))
		g_free(f);
	return NULL;
}

void sip_flow_detach(sip_flow *f)
{
	/* The transport may be freed after this: holders only see a dead flow. */
	f->conn = NULL;
	f->tp = NULL;
}

void *sip_flow_conn(const sip_flow *f)
{
	return f->conn;
}

sip_transport *sip_flow_transport(const sip_flow *f)
{
	return f->tp;
}

const jn_addr *sip_flow_remote(const sip_flow *f)
{
	return &f->remote;
}

const jn_addr *sip_flow_local(const sip_flow *f)
{
	return &f->local;
}

uint64_t sip_flow_id(const sip_flow *f)
{
	return f->id;
}
