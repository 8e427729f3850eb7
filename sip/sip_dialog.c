#include "sip/sip_dialog.h"

#include <errno.h>
#include <string.h>

struct sip_dialog {
	char *call_id, *local_tag, *remote_tag;
	char *local_uri, *remote_uri, *remote_target;
	GPtrArray *routes;   /* char*, the order requests use */
	uint32_t local_cseq, remote_cseq;
	bool remote_cseq_set;
	bool uac, early;     /* our side; made by a 1xx and no 2xx yet */
	char *from, *to;     /* built From / To values */
	char *contact;       /* our Contact value for target refreshes, or NULL */
};

static char *pl_dup(sip_pl p)
{
	return sip_pl_strdup(p);
}

static sip_dialog *dialog_new(sip_pl call_id, sip_pl local_tag, sip_pl remote_tag, sip_pl local_uri,
			      sip_pl remote_uri, sip_pl target)
{
	sip_dialog *d = g_new0(sip_dialog, 1);
	d->call_id = pl_dup(call_id);
	d->local_tag = pl_dup(local_tag);
	d->remote_tag = pl_dup(remote_tag);
	d->local_uri = pl_dup(local_uri);
	d->remote_uri = pl_dup(remote_uri);
	d->remote_target = pl_dup(target);
	d->routes = g_ptr_array_new_with_free_func(g_free);
	d->from = g_strdup_printf("<%s>;tag=%s", d->local_uri, d->local_tag);
	d->to = g_strdup_printf("<%s>;tag=%s", d->remote_uri, d->remote_tag);
	return d;
}

/* A Record-Route value without its display name: "<uri;params>" kept whole
 * so the lr flag and other URI params travel on. */
static char *route_entry(const sip_addr *a)
{
	return g_strdup_printf("<%.*s>", (int)a->uri_pl.l, a->uri_pl.p);
}

sip_dialog *sip_dialog_new_uas(const sip_msg *req, const char *local_tag)
{
	if (!sip_pl_isset(req->from.tag) || req->n_contact == 0 || req->contact[0].star || !local_tag)
		return NULL;
	sip_dialog *d = dialog_new(req->call_id, sip_pl_cstr(local_tag), req->from.tag, req->to.uri_pl,
				   req->from.uri_pl, req->contact[0].addr.uri_pl);
	for (size_t i = 0; i < req->n_record_route; i++)
		g_ptr_array_add(d->routes, route_entry(&req->record_route[i]));
	d->remote_cseq = req->cseq.num;
	d->remote_cseq_set = true;
	d->local_cseq = g_random_int_range(1, 1 << 20);
	return d;
}

sip_dialog *sip_dialog_new_uac(const sip_msg *req, const sip_msg *resp)
{
	if (!sip_pl_isset(resp->to.tag) || resp->n_contact == 0 || resp->contact[0].star ||
	    !sip_pl_isset(req->from.tag))
		return NULL;
	sip_dialog *d = dialog_new(req->call_id, req->from.tag, resp->to.tag, req->from.uri_pl,
				   req->to.uri_pl, resp->contact[0].addr.uri_pl);
	for (size_t i = resp->n_record_route; i-- > 0;)
		g_ptr_array_add(d->routes, route_entry(&resp->record_route[i]));
	d->local_cseq = req->cseq.num;
	d->uac = true;
	d->early = resp->status < 200;
	return d;
}

bool sip_dialog_is_early(const sip_dialog *d)
{
	return d->early;
}

void sip_dialog_receive_response(sip_dialog *d, const sip_msg *resp)
{
	if (resp->is_request || resp->status < 101 || resp->status >= 300)
		return;
	bool confirm = d->early && resp->status >= 200 && resp->cseq.method == SIP_METHOD_INVITE;
	if (confirm) {
		/* §13.2.2.4: the 2xx that confirms an early dialog sets the
		 * route set again, from its own Record-Route. */
		g_ptr_array_set_size(d->routes, 0);
		for (size_t i = resp->n_record_route; i-- > 0;)
			g_ptr_array_add(d->routes, route_entry(&resp->record_route[i]));
		d->early = false;
	}
	/* §12.2.1.2: a 2xx to a target refresh (re-INVITE, UPDATE) changes
	 * the remote target; in an early dialog every reliable answer may. */
	bool refresh = resp->cseq.method == SIP_METHOD_INVITE || resp->cseq.method == SIP_METHOD_UPDATE;
	if (refresh && (resp->status >= 200 || d->early) && resp->n_contact > 0 && !resp->contact[0].star) {
		g_free(d->remote_target);
		d->remote_target = pl_dup(resp->contact[0].addr.uri_pl);
	}
}

void sip_dialog_set_local_contact(sip_dialog *d, const char *contact)
{
	g_free(d->contact);
	d->contact = contact && *contact ? g_strdup(contact) : NULL;
}

void sip_dialog_free(sip_dialog *d)
{
	if (!d)
		return;
	g_free(d->call_id);
	g_free(d->local_tag);
	g_free(d->remote_tag);
	g_free(d->local_uri);
	g_free(d->remote_uri);
	g_free(d->remote_target);
	g_free(d->from);
	g_free(d->to);
	g_free(d->contact);
	g_ptr_array_free(d->routes, TRUE);
	g_free(d);
}

const char *sip_dialog_call_id(const sip_dialog *d) { return d->call_id; }
const char *sip_dialog_local_tag(const sip_dialog *d) { return d->local_tag; }
const char *sip_dialog_remote_tag(const sip_dialog *d) { return d->remote_tag; }
const char *sip_dialog_remote_target(const sip_dialog *d) { return d->remote_target; }
size_t sip_dialog_route_count(const sip_dialog *d) { return d->routes->len; }

const char *sip_dialog_route(const sip_dialog *d, size_t i)
{
	return i < d->routes->len ? g_ptr_array_index(d->routes, i) : NULL;
}

bool sip_dialog_matches(const sip_dialog *d, const sip_msg *req)
{
	return sip_pl_eq_str(req->call_id, d->call_id) && sip_pl_eq_str(req->to.tag, d->local_tag) &&
	       sip_pl_eq_str(req->from.tag, d->remote_tag);
}

int sip_dialog_receive(sip_dialog *d, const sip_msg *req)
{
	if (req->method == SIP_METHOD_ACK || req->method == SIP_METHOD_CANCEL)
		return 0;
	if (d->remote_cseq_set && req->cseq.num <= d->remote_cseq)
		return EINVAL;
	d->remote_cseq = req->cseq.num;
	d->remote_cseq_set = true;
	/* §12.2.2: target refresh requests may change the remote target. */
	if ((req->method == SIP_METHOD_INVITE || req->method == SIP_METHOD_UPDATE) && req->n_contact > 0 &&
	    !req->contact[0].star) {
		g_free(d->remote_target);
		d->remote_target = pl_dup(req->contact[0].addr.uri_pl);
	}
	return 0;
}

/* The URI inside "<...>" of a route entry. */
static sip_pl route_uri(const char *entry)
{
	sip_pl p = sip_pl_cstr(entry);
	if (p.l >= 2 && p.p[0] == '<' && p.p[p.l - 1] == '>') {
		p.p++;
		p.l -= 2;
	}
	return p;
}

static bool is_loose(const char *entry)
{
	sip_uri u;
	return sip_uri_parse(route_uri(entry), &u) == 0 && u.lr;
}

void sip_dialog_fill_request(sip_dialog *d, sip_method m, sip_req_opts *o, GString *scratch)
{
	const char *caller_extra = o->extra;
	char *keep = caller_extra ? g_strdup(caller_extra) : NULL;
	g_string_truncate(scratch, 0);
	o->method = m;
	o->from = d->from;
	o->to = d->to;
	o->call_id = d->call_id;
	if (m != SIP_METHOD_ACK && m != SIP_METHOD_CANCEL)
		o->cseq = ++d->local_cseq;
	/* Target refreshes (RFC 3261 §12.2.1.1, RFC 3311) and REFER / NOTIFY
	 * (RFC 3515, RFC 6665) must carry a Contact. */
	bool wants_contact = m == SIP_METHOD_INVITE || m == SIP_METHOD_UPDATE || m == SIP_METHOD_REFER ||
			     m == SIP_METHOD_NOTIFY || m == SIP_METHOD_SUBSCRIBE;
	if (!o->contact && wants_contact)
		o->contact = d->contact;
	size_t first = 0;
	if (d->routes->len == 0 || is_loose(g_ptr_array_index(d->routes, 0))) {
		o->ruri = d->remote_target;
	} else {
		/* A strict router (§12.2.1.1): it becomes the Request-URI and
		 * the remote target goes last in the Route set. */
		sip_pl u = route_uri(g_ptr_array_index(d->routes, 0));
		g_string_append_len(scratch, u.p, (gssize)u.l);
		g_string_append_c(scratch, '\0');
		first = 1;
	}
	size_t routes_at = scratch->len;
	for (size_t i = first; i < d->routes->len; i++)
		g_string_append_printf(scratch, "Route: %s\r\n", (char *)g_ptr_array_index(d->routes, i));
	if (first)
		g_string_append_printf(scratch, "Route: <%s>\r\n", d->remote_target);
	if (keep)
		g_string_append(scratch, keep);
	g_free(keep);
	/* Pointers into scratch only once it stops growing. */
	if (first)
		o->ruri = scratch->str;
	o->extra = scratch->str + routes_at;
}

int sip_dialog_next_hop(const sip_dialog *d, jn_addr *out)
{
	sip_pl target = d->routes->len ? route_uri(g_ptr_array_index(d->routes, 0)) : sip_pl_cstr(d->remote_target);
	sip_uri u;
	if (sip_uri_parse(target, &u) != 0 || !u.host.l || u.host.l > 64)
		return EINVAL;
	char host[80];
	sip_pl_strcpy(u.host, host, sizeof host);
	if (jn_addr_parse(host, 0, out) != 0)
		return EINVAL;
	jn_addr_set_port(out, u.port ? u.port : 5060);
	return 0;
}
