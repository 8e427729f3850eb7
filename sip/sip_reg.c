/* sip_reg: the registrar's binding store (see sip_reg.h and
 * docs/sip-auth-registrar.md).
 *
 * Users live in a hash table by AOR; each holds a small array of bindings
 * (capped by max_per_user), so per-user work is a short linear scan. A
 * REGISTER is applied in two passes: the first checks everything that can
 * refuse it (423, out-of-order CSeq, caps) without touching the store, the
 * second changes it, so a refused request leaves nothing half done.
 *
 * A second index maps each flow to its bindings, so a closing connection
 * (a browser tab gone) costs its own bindings only, not a scan of all. */
#include "sip/sip_reg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct reg_user reg_user;

typedef struct {
	sip_reg_binding v;    /* the view handed out; strings below are owned */
	char *uri, *call_id, *instance, *source, *path, *user_agent;
	reg_user *owner;
	bool dead;            /* removed during the current apply */
} binding;

struct reg_user {
	char *aor;
	GPtrArray *bindings;  /* binding * */
};

struct sip_reg {
	sip_reg_opts o;
	GHashTable *users;    /* aor -> reg_user * */
	GHashTable *by_flow;  /* flow -> GPtrArray of binding * */
	unsigned nbindings;
	uint64_t next_expiry; /* never later than the earliest expiry */
	sip_reg_stats st;
};

static void flow_index_add(sip_reg *r, binding *b)
{
	if (!b->v.flow)
		return;
	GPtrArray *a = g_hash_table_lookup(r->by_flow, b->v.flow);
	if (!a) {
		a = g_ptr_array_new();
		g_hash_table_insert(r->by_flow, b->v.flow, a);
	}
	g_ptr_array_add(a, b);
}

static void flow_index_del(sip_reg *r, binding *b)
{
	GPtrArray *a = b->v.flow ? g_hash_table_lookup(r->by_flow, b->v.flow) : NULL;
	if (!a)
		return;
	g_ptr_array_remove_fast(a, b);
	if (a->len == 0)
		g_hash_table_remove(r->by_flow, b->v.flow);
}

static void binding_free(sip_reg *r, binding *b)
{
	flow_index_del(r, b);
	if (b->v.flow && r->o.flow_unref)
		r->o.flow_unref(b->v.flow);
	g_free(b->uri);
	g_free(b->call_id);
	g_free(b->instance);
	g_free(b->source);
	g_free(b->path);
	g_free(b->user_agent);
	g_free(b);
}

static void user_free(sip_reg *r, reg_user *u)
{
	for (guint i = 0; i < u->bindings->len; i++)
		binding_free(r, g_ptr_array_index(u->bindings, i));
	g_ptr_array_free(u->bindings, TRUE);
	g_free(u->aor);
	g_free(u);
}

sip_reg *sip_reg_new(const sip_reg_opts *opts)
{
	sip_reg *r = g_new0(sip_reg, 1);
	if (opts)
		r->o = *opts;
	if (!r->o.default_expires)
		r->o.default_expires = 3600;
	if (!r->o.min_expires)
		r->o.min_expires = 60;
	if (!r->o.max_expires)
		r->o.max_expires = 7200;
	if (r->o.max_expires < r->o.min_expires)
		r->o.max_expires = r->o.min_expires;
	if (!r->o.max_per_user)
		r->o.max_per_user = 10;
	if (!r->o.max_bindings)
		r->o.max_bindings = 100000;
	r->users = g_hash_table_new(g_str_hash, g_str_equal);
	r->by_flow = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					   (GDestroyNotify)g_ptr_array_unref);
	r->next_expiry = UINT64_MAX;
	return r;
}

void sip_reg_free(sip_reg *r)
{
	if (!r)
		return;
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, r->users);
	while (g_hash_table_iter_next(&it, NULL, &v))
		user_free(r, v);
	g_hash_table_destroy(r->users);
	g_hash_table_destroy(r->by_flow);
	g_free(r);
}

static bool pl_eq(sip_pl a, sip_pl b)
{
	return a.l == b.l && (a.l == 0 || memcmp(a.p, b.p, a.l) == 0);
}

static bool pl_eq_cstr(sip_pl a, const char *s)
{
	return s && pl_eq(a, sip_pl_cstr(s));
}

/* +sip.instance as stored: without the surrounding quotes. */
static sip_pl instance_value(sip_pl in)
{
	if (in.p && in.l >= 2 && in.p[0] == '"' && in.p[in.l - 1] == '"')
		return (sip_pl){ in.p + 1, in.l - 2 };
	return in;
}

/* qvalue (RFC 3261 §25.1) to thousandths: "0", "0.5", "1.000". -1 when
 * absent, -2 when malformed. */
static int parse_q(sip_pl q)
{
	if (!q.p)
		return -1;
	if (q.l == 0 || (q.p[0] != '0' && q.p[0] != '1'))
		return -2;
	int v = (q.p[0] - '0') * 1000;
	if (q.l == 1)
		return v;
	if (q.p[1] != '.' || q.l > 5)
		return -2;
	int scale = 100;
	for (size_t i = 2; i < q.l; i++, scale /= 10) {
		if (q.p[i] < '0' || q.p[i] > '9')
			return -2;
		v += (q.p[i] - '0') * scale;
	}
	return v > 1000 ? -2 : v;
}

static void drop_expired(sip_reg *r, reg_user *u, uint64_t now)
{
	for (guint i = u->bindings->len; i-- > 0;) {
		binding *b = g_ptr_array_index(u->bindings, i);
		if (b->v.expires_at <= now) {
			g_ptr_array_remove_index(u->bindings, i);
			binding_free(r, b);
			r->nbindings--;
			r->st.expired++;
		}
	}
}

/* The binding a contact refers to (§10.3 step 6, RFC 5626 §6): by
 * instance and reg-id, by instance alone, else by URI. */
static binding *find_binding(sip_reg *r, reg_user *u, const sip_reg_contact *c)
{
	if (!u)
		return NULL;
	sip_pl inst = instance_value(c->instance);
	for (guint i = 0; i < u->bindings->len; i++) {
		binding *b = g_ptr_array_index(u->bindings, i);
		if (b->dead)
			continue;
		if (inst.p && inst.l) {
			if (pl_eq_cstr(inst, b->instance) && b->v.reg_id == (c->reg_id >= 0 ? c->reg_id : -1))
				return b;
			continue;
		}
		sip_pl bu = sip_pl_cstr(b->uri);
		if (r->o.uri_equal ? r->o.uri_equal(bu, c->uri) : pl_eq(bu, c->uri))
			return b;
	}
	return NULL;
}

/* §10.3 step 7: the same Call-ID must bring a higher CSeq. */
static bool out_of_order(const binding *b, const sip_reg_request *req)
{
	return pl_eq_cstr(req->call_id, b->call_id) && req->cseq <= b->v.cseq;
}

static void set_str(char **dst, const char *src)
{
	g_free(*dst);
	*dst = src ? g_strdup(src) : NULL;
}

static void binding_set(sip_reg *r, binding *b, const char *aor, const sip_reg_contact *c,
			const sip_reg_request *req, uint64_t expires_at, int q)
{
	g_free(b->uri);
	b->uri = g_strndup(c->uri.p, c->uri.l);
	g_free(b->call_id);
	b->call_id = g_strndup(req->call_id.p ? req->call_id.p : "", req->call_id.l);
	sip_pl inst = instance_value(c->instance);
	g_free(b->instance);
	b->instance = inst.p && inst.l ? g_strndup(inst.p, inst.l) : NULL;
	set_str(&b->source, req->source);
	set_str(&b->path, req->path);
	set_str(&b->user_agent, req->user_agent);
	bool new_flow = b->v.flow != req->flow;
	if (new_flow) {
		flow_index_del(r, b);
		if (req->flow && r->o.flow_ref)
			r->o.flow_ref(req->flow);
		if (b->v.flow && r->o.flow_unref)
			r->o.flow_unref(b->v.flow);
	}
	b->v = (sip_reg_binding){
		.aor = aor,
		.uri = b->uri,
		.expires_at = expires_at,
		.registered_at = b->v.registered_at,
		.q = q,
		.call_id = b->call_id,
		.cseq = req->cseq,
		.instance = b->instance,
		.reg_id = b->instance && c->reg_id >= 0 ? c->reg_id : -1,
		.flow = req->flow,
		.source = b->source,
		.path = b->path,
		.user_agent = b->user_agent,
	};
	if (new_flow)
		flow_index_add(r, b);
	if (expires_at < r->next_expiry)
		r->next_expiry = expires_at;
}

static void user_compact(sip_reg *r, reg_user *u)
{
	for (guint i = u->bindings->len; i-- > 0;) {
		binding *b = g_ptr_array_index(u->bindings, i);
		if (b->dead) {
			g_ptr_array_remove_index(u->bindings, i);
			binding_free(r, b);
			r->nbindings--;
		}
	}
}

static void user_drop_if_empty(sip_reg *r, reg_user *u)
{
	if (u && u->bindings->len == 0) {
		g_hash_table_remove(r->users, u->aor);
		user_free(r, u);
	}
}

static int fail(sip_reg_outcome *out, uint64_t *counter, int rc, const char *reason)
{
	(*counter)++;
	out->reason = reason;
	return rc;
}

int sip_reg_apply(sip_reg *r, const char *aor, const sip_reg_request *req, uint64_t now,
		  sip_reg_outcome *out)
{
	sip_reg_outcome dummy;
	if (!out)
		out = &dummy;
	memset(out, 0, sizeof *out);
	out->min_expires = r->o.min_expires;
	r->st.registers++;
	if (!aor || !aor[0] || !req || (req->n_contacts && !req->contacts))
		return fail(out, &r->st.rejected_bad, EINVAL, "Bad request");

	if (req->n_contacts > SIP_REG_MAX_CONTACTS)
		return fail(out, &r->st.rejected_bad, EINVAL, "Too many Contacts");

	reg_user *u = g_hash_table_lookup(r->users, aor);
	if (u) {
		drop_expired(r, u, now);
		if (u->bindings->len == 0) {
			user_drop_if_empty(r, u);
			u = NULL;
		}
	}

	if (req->star) {
		/* §10.3 step 6: "*" only alone and only with Expires: 0. */
		if (req->n_contacts || req->expires != 0)
			return fail(out, &r->st.rejected_bad, EINVAL, "Invalid Contact *");
		for (guint i = 0; u && i < u->bindings->len; i++)
			if (out_of_order(g_ptr_array_index(u->bindings, i), req))
				return fail(out, &r->st.rejected_order, EALREADY, "Out of order CSeq");
		for (guint i = 0; u && i < u->bindings->len; i++)
			((binding *)g_ptr_array_index(u->bindings, i))->dead = true;
		if (u) {
			out->removed = u->bindings->len;
			r->st.removed += u->bindings->len;
			user_compact(r, u);
			user_drop_if_empty(r, u);
		}
		return 0;
	}

	/* Pass 1: everything that can refuse the request. */
	uint64_t *exp = g_newa(uint64_t, req->n_contacts + 1);
	int *qs = g_newa(int, req->n_contacts + 1);
	long adds = 0;
	for (size_t i = 0; i < req->n_contacts; i++) {
		const sip_reg_contact *c = &req->contacts[i];
		if (!c->uri.p || c->uri.l == 0 || c->uri.l > 2048)
			return fail(out, &r->st.rejected_bad, EINVAL, "Bad Contact");
		if (c->instance.p && c->instance.l > 256)
			return fail(out, &r->st.rejected_bad, EINVAL, "Bad +sip.instance");
		qs[i] = parse_q(c->q);
		if (qs[i] == -2)
			return fail(out, &r->st.rejected_bad, EINVAL, "Bad q value");
		int64_t e = c->expires >= 0 ? c->expires : req->expires >= 0 ? req->expires
					      : (int64_t)r->o.default_expires;
		if (e > 0 && e < (int64_t)r->o.min_expires)
			return fail(out, &r->st.rejected_brief, ERANGE, "Interval Too Brief");
		if (e > (int64_t)r->o.max_expires)
			e = r->o.max_expires;
		exp[i] = (uint64_t)e;
		if (c->reg_id >= 0 && c->instance.p && c->instance.l)
			out->outbound = true;
		binding *b = find_binding(r, u, c);
		if (b && out_of_order(b, req))
			return fail(out, &r->st.rejected_order, EALREADY, "Out of order CSeq");
		if (!b && e > 0)
			adds++;
		else if (b && e == 0)
			adds--;
	}
	long have = u ? (long)u->bindings->len : 0;
	if (adds > 0 && (have + adds > (long)r->o.max_per_user ||
			 (long)r->nbindings + adds > (long)r->o.max_bindings))
		return fail(out, &r->st.rejected_cap, ENOSPC, "Too many registrations");

	/* Pass 2: change the store. */
	for (size_t i = 0; i < req->n_contacts; i++) {
		const sip_reg_contact *c = &req->contacts[i];
		binding *b = find_binding(r, u, c);
		if (exp[i] == 0) {
			if (b) {
				b->dead = true;
				out->removed++;
				r->st.removed++;
			}
			continue;
		}
		if (!u) {
			u = g_new0(reg_user, 1);
			u->aor = g_strdup(aor);
			u->bindings = g_ptr_array_new();
			g_hash_table_insert(r->users, u->aor, u);
		}
		if (b) {
			/* A new flow or a new Call-ID for the same instance/reg-id is a
			 * client that reconnected or restarted: its old binding goes. */
			bool replaced = b->v.flow != req->flow || !pl_eq_cstr(req->call_id, b->call_id);
			if (replaced) {
				out->replaced++;
				r->st.replaced++;
			} else {
				out->refreshed++;
				r->st.refreshed++;
			}
			if (replaced)
				b->v.registered_at = now;
		} else {
			b = g_new0(binding, 1);
			b->owner = u;
			b->v.registered_at = now;
			g_ptr_array_add(u->bindings, b);
			r->nbindings++;
			out->added++;
			r->st.added++;
		}
		binding_set(r, b, u->aor, c, req, now + exp[i], qs[i]);
	}
	if (u) {
		user_compact(r, u);
		user_drop_if_empty(r, u);
	}
	return 0;
}

/* Best first: higher q (absent counts as 1.0), then the newest. */
static gint binding_cmp(gconstpointer a, gconstpointer b)
{
	const sip_reg_binding *x = *(const sip_reg_binding *const *)a;
	const sip_reg_binding *y = *(const sip_reg_binding *const *)b;
	int qx = x->q < 0 ? 1000 : x->q, qy = y->q < 0 ? 1000 : y->q;
	if (qx != qy)
		return qy - qx;
	if (x->registered_at != y->registered_at)
		return x->registered_at < y->registered_at ? 1 : -1;
	return 0;
}

size_t sip_reg_lookup(sip_reg *r, const char *aor, uint64_t now,
		      const sip_reg_binding **out, size_t max)
{
	reg_user *u = aor ? g_hash_table_lookup(r->users, aor) : NULL;
	if (!u)
		return 0;
	const sip_reg_binding **all = g_new(const sip_reg_binding *, u->bindings->len + 1);
	size_t n = 0;
	for (guint i = 0; i < u->bindings->len; i++) {
		binding *b = g_ptr_array_index(u->bindings, i);
		if (b->v.expires_at > now)
			all[n++] = &b->v;
	}
	qsort(all, n, sizeof *all, binding_cmp);
	for (size_t i = 0; i < n && i < max && out; i++)
		out[i] = all[i];
	g_free(all);
	return n;
}

void sip_reg_contact_header(sip_reg *r, const char *aor, uint64_t now, GString *out)
{
	reg_user *u = aor ? g_hash_table_lookup(r->users, aor) : NULL;
	if (!u)
		return;
	const sip_reg_binding **v = g_new(const sip_reg_binding *, u->bindings->len + 1);
	size_t n = sip_reg_lookup(r, aor, now, v, u->bindings->len);
	for (size_t i = 0; i < n; i++) {
		const sip_reg_binding *b = v[i];
		if (i)
			g_string_append(out, ", ");
		g_string_append_printf(out, "<%s>;expires=%" G_GUINT64_FORMAT, b->uri, b->expires_at - now);
		if (b->q >= 0)
			g_string_append_printf(out, ";q=%d.%03d", b->q / 1000, b->q % 1000);
		if (b->instance)
			g_string_append_printf(out, ";+sip.instance=\"%s\"", b->instance);
		if (b->reg_id >= 0)
			g_string_append_printf(out, ";reg-id=%" G_GINT64_FORMAT, b->reg_id);
	}
	g_free(v);
}

/* Removes the bindings pred selects from every user, calling fn first. */
static size_t remove_where(sip_reg *r, bool (*pred)(const binding *, const void *), const void *arg,
			   sip_reg_binding_fn fn, void *user)
{
	size_t n = 0;
	uint64_t next = UINT64_MAX;
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, r->users);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		reg_user *u = v;
		for (guint i = u->bindings->len; i-- > 0;) {
			binding *b = g_ptr_array_index(u->bindings, i);
			if (!pred(b, arg)) {
				if (b->v.expires_at < next)
					next = b->v.expires_at;
				continue;
			}
			if (fn)
				fn(user, &b->v);
			g_ptr_array_remove_index(u->bindings, i);
			binding_free(r, b);
			r->nbindings--;
			n++;
		}
		if (u->bindings->len == 0) {
			g_hash_table_iter_remove(&it);
			user_free(r, u);
		}
	}
	r->next_expiry = next;
	return n;
}

static bool expired_pred(const binding *b, const void *arg)
{
	return b->v.expires_at <= *(const uint64_t *)arg;
}

size_t sip_reg_expire(sip_reg *r, uint64_t now, sip_reg_binding_fn fn, void *user)
{
	if (now < r->next_expiry)
		return 0;
	size_t n = remove_where(r, expired_pred, &now, fn, user);
	r->st.expired += n;
	return n;
}

uint64_t sip_reg_next_expiry(const sip_reg *r)
{
	return r->nbindings ? r->next_expiry : UINT64_MAX;
}

size_t sip_reg_flow_closed(sip_reg *r, void *flow, sip_reg_binding_fn fn, void *user)
{
	GPtrArray *a = flow ? g_hash_table_lookup(r->by_flow, flow) : NULL;
	if (!a)
		return 0;
	/* binding_free edits the index: work on a copy. */
	guint n = a->len;
	binding **v = g_memdup2(a->pdata, n * sizeof *v);
	for (guint i = 0; i < n; i++) {
		binding *b = v[i];
		reg_user *u = b->owner;
		if (fn)
			fn(user, &b->v);
		g_ptr_array_remove(u->bindings, b);
		binding_free(r, b);
		r->nbindings--;
		user_drop_if_empty(r, u);
	}
	g_free(v);
	r->st.flow_closed += n;
	return n;
}

size_t sip_reg_remove_aor(sip_reg *r, const char *aor)
{
	reg_user *u = aor ? g_hash_table_lookup(r->users, aor) : NULL;
	if (!u)
		return 0;
	size_t n = u->bindings->len;
	r->nbindings -= (unsigned)n;
	r->st.removed += n;
	g_hash_table_remove(r->users, u->aor);
	user_free(r, u);
	return n;
}

void sip_reg_foreach(sip_reg *r, sip_reg_binding_fn fn, void *user)
{
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, r->users);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		reg_user *u = v;
		for (guint i = 0; i < u->bindings->len; i++)
			fn(user, &((binding *)g_ptr_array_index(u->bindings, i))->v);
	}
}

void sip_reg_get_stats(const sip_reg *r, sip_reg_stats *out)
{
	*out = r->st;
	out->users = g_hash_table_size(r->users);
	out->bindings = r->nbindings;
}
