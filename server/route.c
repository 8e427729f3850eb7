/* The dial plan: [route:NAME] sections compiled into a table, and per-user /
 * per-trunk call counters.
 *
 * Why a prefix index: a table of a thousand routes tried one regex after the
 * other costs a thousand regex matches for a number that only the last route
 * (or none) matches. Most dial plans anchor their patterns and start them
 * with literal digits or names (^0044, ^echo$, ^(alice|bob)$ starts with
 * nothing literal). At build time we take, from each pattern, the literal
 * text that every match must start with (conservatively: "" whenever the
 * pattern is not a plain ^literal... form we fully understand) and put the
 * route in a trie under that text. A lookup walks the dialled string down the
 * trie, marks the routes found on the way in a bitmap indexed by table
 * position, and tries only those, in table order. Routes with an empty prefix
 * sit at the root and are always tried, so a pattern the scan does not
 * understand costs speed, never correctness. A pattern that is literal text
 * from ^ to $ (DID tables: ^\+1555(0042)$) is compared as a string, with its
 * groups' positions known from the build, so it costs no regex match at all.
 * jn_route_lookup_linear() matches every regex in order; the unit tests and
 * the fuzzer check that both agree. */
#define JN_LOG_TAG "route"
#include "server/route.h"

#include <stdint.h>
#include <string.h>

#include "util/log.h"

typedef enum { FROM_ANY, FROM_USERS, FROM_USER, FROM_TRUNK } from_kind;

typedef struct {
	char *name;
	GRegex *re;
	gint64 priority;
	guint order;          /* position in the file */
	from_kind from;
	char *from_name;      /* FROM_USER / FROM_TRUNK */
	jn_route_target target;
	char *target_name;    /* template, may hold $N; "" for echo */
	bool target_refs;
	guint strip;
	char *prepend;        /* template, may hold $N */
	bool prepend_refs;
	char *prefix;         /* literal text every match starts with */
	size_t prefix_len;
	bool exact;           /* the pattern is ^literal$: matches prefix only */
	int groups;           /* capturing groups in the pattern */
	gint caps[10][2];     /* exact: where groups 1..9 sit in prefix (0 unused) */
	gint next;            /* next route (table index) in the same trie node */
} route;

/* Dialled strings are mostly digits and '+': those children are found by
 * direct index, anything else through the sibling list. */
#define DIRECT_CHILDREN 11

static int direct_slot(guchar c)
{
	return c >= '0' && c <= '9' ? c - '0' : c == '+' ? 10 : -1;
}

typedef struct {
	gint direct[DIRECT_CHILDREN]; /* children for '0'..'9', '+'; -1 = none */
	gint child, sibling;  /* node indices of the other children; -1 = none */
	gint first, last;     /* routes whose prefix ends here; -1 = none */
	guchar c;
} tnode;

struct jn_route_table {
	route *routes;
	guint n;
	GHashTable *users;    /* set of user names */
	GHashTable *trunks;   /* set of trunk names */
	GArray *nodes;        /* tnode; [0] is the root (empty prefix) */
};

/* ---- pattern analysis ---------------------------------------------------- */

/* The ']' that closes the character class opening at open ('['), or NULL.
 * "[]...]" and "[^]...]" hold a literal ']'; backslash escapes one char. */
static const char *class_end(const char *open)
{
	const char *s = open + 1;
	if (*s == '^')
		s++;
	if (*s == ']')
		s++;
	while (*s && *s != ']') {
		if (*s == '\\' && s[1])
			s++;
		s++;
	}
	return *s ? s : NULL;
}

/* Whether a scan that only tracks escapes, classes and parentheses sees the
 * pattern's top level correctly. Anything fancier (inline options such as
 * (?x) comments, \Q..\E quoting, POSIX classes, \cX, verbs, lookarounds)
 * makes us give up, which only costs the index. */
static bool pattern_simple(const char *p)
{
	if (strstr(p, "\\Q") || strstr(p, "\\c") || strstr(p, "[:") || strstr(p, "[.") ||
	    strstr(p, "[=") || strstr(p, "(*") || strchr(p, '\n'))
		return false;
	int depth = 0;
	for (const char *s = p; *s; s++) {
		if (*s == '\\') {
			if (!s[1])
				return false;
			s++;
		} else if (*s == '[') {
			if (!(s = class_end(s)))
				return false;
		} else if (*s == '(') {
			/* Plain, non-capturing and named groups only. */
			if (s[1] == '?' && !(s[2] == ':' || (s[2] == '<' && g_ascii_isalpha(s[3])) ||
					     (s[2] == 'P' && s[3] == '<')))
				return false;
			depth++;
		} else if (*s == ')') {
			if (--depth < 0)
				return false;
		} else if (*s == '|' && depth == 0) {
			return false; /* ^a|b: the second branch is not anchored */
		}
	}
	return depth == 0;
}

static bool plain_literal(guchar c)
{
	return g_ascii_isalnum(c) || (c && strchr("!\"%&',-/:;<=>@_~", c));
}

static bool quantifier(char c)
{
	return c == '?' || c == '*' || c == '+' || c == '{';
}

/* The ')' that closes the group opened at open, or NULL; *alt tells whether
 * the group has a '|' of its own (then its content is not required). Only
 * called on patterns pattern_simple() accepted. */
static const char *group_close(const char *open, bool *alt)
{
	int depth = 0;
	*alt = false;
	for (const char *s = open; *s; s++) {
		if (*s == '\\') {
			s++;
		} else if (*s == '[') {
			if (!(s = class_end(s)))
				return NULL;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')') {
			if (--depth == 0)
				return s;
		} else if (*s == '|' && depth == 1) {
			*alt = true;
		}
	}
	return NULL;
}

/* The literal text every match of pattern r->re's source p begins with
 * ("" if unknown). It reads through groups that must match exactly once and
 * have no '|' of their own, so ^\+1555(0042)$ gives "+15550042". When the
 * whole pattern is such a literal up to a final $, r->exact is set and
 * r->caps says where each capturing group lies in it. */
static void literal_prefix(const char *p, route *r)
{
	GString *out = g_string_new(NULL);
	int stack[32], depth = 0, ngroups = 0;
	for (int g = 0; g < 10; g++)
		r->caps[g][0] = r->caps[g][1] = -1;
	r->exact = false;
	if (p[0] != '^' || !pattern_simple(p))
		goto out;
	const char *s = p + 1;
	for (;;) {
		char c;
		const char *next;
		if (s[0] == ')') {
			/* end of a group we entered; its quantifier was checked */
			int g = stack[--depth];
			if (g > 0 && g < 10)
				r->caps[g][1] = (gint)out->len;
			s++;
			continue;
		}
		if (s[0] == '(') {
			bool alt;
			const char *close = group_close(s, &alt);
			if (!close || alt || quantifier(close[1]))
				break;
			const char *body = s + 1;
			int g = 0;
			if (depth == (int)G_N_ELEMENTS(stack))
				break;
			if (body[0] == '?' && body[1] == ':') {
				body += 2;
			} else if (body[0] != '?') {
				g = ++ngroups;
			} else {
				g = ++ngroups;
				/* (?<name> or (?P<name>: the name ends at the first '>' */
				const char *gt = strchr(body, '>');
				if (!gt || gt > close)
					break;
				body = gt + 1;
			}
			if (g > 0 && g < 10)
				r->caps[g][0] = (gint)out->len;
			stack[depth++] = g;
			s = body;
			continue;
		}
		if (s[0] == '\\' && s[1] && g_ascii_ispunct(s[1])) {
			c = s[1];
			next = s + 2;
		} else if (plain_literal((guchar)s[0])) {
			c = s[0];
			next = s + 1;
		} else {
			break;
		}
		/* A quantified character may be absent or repeated: stop before it. */
		if (quantifier(*next))
			break;
		g_string_append_c(out, c);
		s = next;
	}
	r->exact = depth == 0 && s[0] == '$' && s[1] == '\0';
out:
	r->prefix_len = out->len;
	r->prefix = g_string_free(out, FALSE);
}

/* Highest $N in a template, or -1 when it has none. */
static int max_ref(const char *tmpl)
{
	int max = -1;
	for (const char *s = tmpl; *s; s++) {
		if (s[0] == '$' && s[1] == '$')
			s++;
		else if (s[0] == '$' && g_ascii_isdigit(s[1]))
			max = MAX(max, s[1] - '0');
	}
	return max;
}

/* Expands $0..$9 (an unset group gives "") and $$ into buf. False when the
 * result does not fit in size bytes (with its NUL). */
static bool expand(const char *tmpl, const char *subject, gint caps[10][2],
		   char *buf, size_t size, size_t *outlen)
{
	size_t n = 0;
	for (const char *s = tmpl; *s; s++) {
		const char *piece = s;
		size_t plen = 1;
		if (s[0] == '$' && s[1] == '$') {
			s++;
		} else if (s[0] == '$' && g_ascii_isdigit(s[1])) {
			gint st = caps[s[1] - '0'][0], en = caps[s[1] - '0'][1];
			plen = 0;
			if (st >= 0 && en >= st) {
				piece = subject + st;
				plen = (size_t)(en - st);
			}
			s++;
		}
		if (n + plen >= size)
			return false;
		memcpy(buf + n, piece, plen);
		n += plen;
	}
	buf[n] = '\0';
	*outlen = n;
	return true;
}

/* Conference names become room keys, log fields and REST path segments. */
static bool conference_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > JN_ROUTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(s[i]) && !strchr("._+-", s[i]))
			return false;
	return true;
}

static bool target_ok(const jn_route_table *t, jn_route_target kind, const char *name, size_t len)
{
	switch (kind) {
	case JN_ROUTE_TO_USER:
		return len <= JN_ROUTE_NAME_MAX && g_hash_table_contains(t->users, name);
	case JN_ROUTE_TO_TRUNK:
		return len <= JN_ROUTE_NAME_MAX && g_hash_table_contains(t->trunks, name);
	case JN_ROUTE_TO_CONFERENCE:
		return conference_name_ok(name, len);
	case JN_ROUTE_TO_ECHO:
		return true;
	}
	return false;
}

/* ---- building ---------------------------------------------------------- */

static GHashTable *name_set(const jn_config *cfg, const char *kind)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	char **names = jn_config_instances(cfg, kind);
	for (int i = 0; names[i]; i++)
		g_hash_table_add(set, g_strdup(names[i]));
	g_strfreev(names);
	return set;
}

static void route_clear(route *r)
{
	g_free(r->name);
	if (r->re)
		g_regex_unref(r->re);
	g_free(r->from_name);
	g_free(r->target_name);
	g_free(r->prepend);
	g_free(r->prefix);
}

static void add_err(GPtrArray *errors, const char *route_name, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
static void add_err(GPtrArray *errors, const char *route_name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (errors)
		g_ptr_array_add(errors, g_strdup_printf("route:%s: %s", route_name, what));
	g_free(what);
}

/* Fills r from [route:NAME]; false (with errors appended) if unusable. */
static bool route_load(jn_route_table *t, const jn_config *cfg, const char *name,
		       route *r, GPtrArray *errors)
{
	char *sec = g_strconcat("route:", name, NULL);
	bool ok = false;
	GError *err = NULL;
	r->name = g_strdup(name);
	r->next = -1;

	const char *pat = jn_config_str(cfg, sec, "match");
	r->re = g_regex_new(pat, G_REGEX_OPTIMIZE, 0, &err);
	if (!r->re) {
		add_err(errors, name, "bad match: %s", err->message);
		g_error_free(err);
		goto out;
	}
	int groups = r->groups = g_regex_get_capture_count(r->re);
	literal_prefix(pat, r);
	r->priority = jn_config_int(cfg, sec, "priority");
	r->strip = (guint)jn_config_int(cfg, sec, "strip");

	const char *from = jn_config_str(cfg, sec, "from");
	if (!strcmp(from, "any")) {
		r->from = FROM_ANY;
	} else if (!strcmp(from, "user:*")) {
		r->from = FROM_USERS;
	} else if (g_str_has_prefix(from, "user:") && g_hash_table_contains(t->users, from + 5)) {
		r->from = FROM_USER;
		r->from_name = g_strdup(from + 5);
	} else if (g_str_has_prefix(from, "trunk:") && g_hash_table_contains(t->trunks, from + 6)) {
		r->from = FROM_TRUNK;
		r->from_name = g_strdup(from + 6);
	} else {
		add_err(errors, name, "from \"%s\" is not any, user:*, or an existing user:NAME / trunk:NAME", from);
		goto out;
	}

	const char *target = jn_config_str(cfg, sec, "target");
	const char *tname = "";
	if (!strcmp(target, "echo")) {
		r->target = JN_ROUTE_TO_ECHO;
	} else if (g_str_has_prefix(target, "user:")) {
		r->target = JN_ROUTE_TO_USER;
		tname = target + 5;
	} else if (g_str_has_prefix(target, "trunk:")) {
		r->target = JN_ROUTE_TO_TRUNK;
		tname = target + 6;
	} else if (g_str_has_prefix(target, "conference:")) {
		r->target = JN_ROUTE_TO_CONFERENCE;
		tname = target + 11;
	} else {
		add_err(errors, name, "target \"%s\" is not trunk:NAME, user:NAME, conference:NAME or echo", target);
		goto out;
	}
	r->target_name = g_strdup(tname);
	int ref = max_ref(tname);
	r->target_refs = ref >= 0;
	if (ref > groups) {
		add_err(errors, name, "target uses $%d but match has %d group%s", ref, groups,
			groups == 1 ? "" : "s");
		goto out;
	}
	if (r->target != JN_ROUTE_TO_ECHO && !*tname) {
		add_err(errors, name, "target \"%s\" names nothing", target);
		goto out;
	}
	if (!r->target_refs && !target_ok(t, r->target, tname, strlen(tname))) {
		add_err(errors, name, "target \"%s\" does not exist or is not a valid name", target);
		goto out;
	}

	r->prepend = g_strdup(jn_config_str(cfg, sec, "prepend"));
	ref = max_ref(r->prepend);
	r->prepend_refs = ref >= 0;
	if (ref > groups) {
		add_err(errors, name, "prepend uses $%d but match has %d group%s", ref, groups,
			groups == 1 ? "" : "s");
		goto out;
	}
	ok = true;
out:
	g_free(sec);
	return ok;
}

static int route_cmp(const void *a, const void *b)
{
	const route *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static gint trie_child(const jn_route_table *t, gint node, guchar c)
{
	const tnode *nodes = (const tnode *)(void *)t->nodes->data;
	int d = direct_slot(c);
	if (d >= 0)
		return nodes[node].direct[d];
	for (gint k = nodes[node].child; k >= 0; k = nodes[k].sibling)
		if (nodes[k].c == c)
			return k;
	return -1;
}

static tnode node_new(guchar c)
{
	tnode n = { .child = -1, .sibling = -1, .first = -1, .last = -1, .c = c };
	for (int i = 0; i < DIRECT_CHILDREN; i++)
		n.direct[i] = -1;
	return n;
}

static void trie_add(jn_route_table *t, guint idx)
{
	const char *p = t->routes[idx].prefix;
	gint node = 0;
	for (; *p; p++) {
		gint k = trie_child(t, node, (guchar)*p);
		if (k < 0) {
			tnode nn = node_new((guchar)*p);
			int d = direct_slot((guchar)*p);
			if (d < 0)
				nn.sibling = g_array_index(t->nodes, tnode, node).child;
			g_array_append_val(t->nodes, nn);
			k = (gint)t->nodes->len - 1;
			if (d >= 0)
				g_array_index(t->nodes, tnode, node).direct[d] = k;
			else
				g_array_index(t->nodes, tnode, node).child = k;
		}
		node = k;
	}
	/* Routes are added in table order, so each node's chain stays sorted. */
	tnode *n = &g_array_index(t->nodes, tnode, node);
	if (n->last >= 0)
		t->routes[n->last].next = (gint)idx;
	else
		n->first = (gint)idx;
	n->last = (gint)idx;
}

jn_route_table *jn_route_table_new(const jn_config *cfg, GPtrArray *errors)
{
	jn_route_table *t = g_new0(jn_route_table, 1);
	t->users = name_set(cfg, "user");
	t->trunks = name_set(cfg, "trunk");
	t->nodes = g_array_new(FALSE, FALSE, sizeof(tnode));
	tnode root = node_new(0);
	g_array_append_val(t->nodes, root);

	char **names = jn_config_instances(cfg, "route");
	guint count = g_strv_length(names);
	t->routes = g_new0(route, count ? count : 1);
	bool ok = true;
	for (guint i = 0; i < count; i++) {
		route *r = &t->routes[t->n];
		r->order = i;
		if (route_load(t, cfg, names[i], r, errors)) {
			t->n++;
		} else {
			route_clear(r);
			memset(r, 0, sizeof *r);
			ok = false;
		}
	}
	g_strfreev(names);
	if (!ok) {
		jn_route_table_free(t);
		return NULL;
	}
	qsort(t->routes, t->n, sizeof(route), route_cmp);
	for (guint i = 0; i < t->n; i++)
		trie_add(t, i);
	return t;
}

void jn_route_table_free(jn_route_table *t)
{
	if (!t)
		return;
	for (guint i = 0; i < t->n; i++)
		route_clear(&t->routes[i]);
	g_free(t->routes);
	g_hash_table_destroy(t->users);
	g_hash_table_destroy(t->trunks);
	g_array_free(t->nodes, TRUE);
	g_free(t);
}

guint jn_route_table_size(const jn_route_table *t)
{
	return t->n;
}

/* ---- lookup ------------------------------------------------------------ */

typedef struct {
	jn_route_party kind;
	const char *name;
	char dialled[JN_ROUTE_DIALLED_MAX + 1];
	size_t len;
	bool forbidden;      /* some matching route refused this caller */
} lookup_ctx;

/* Checks the hostile parts (the dialled string, the caller) once. */
static int lookup_prepare(const jn_route_table *t, jn_route_party kind, const char *name,
			  const char *dialled, gssize len, lookup_ctx *c)
{
	if (!dialled)
		return JN_ROUTE_EINVAL;
	size_t n = len < 0 ? strnlen(dialled, JN_ROUTE_DIALLED_MAX + 1) : (size_t)len;
	if (n > JN_ROUTE_DIALLED_MAX)
		return JN_ROUTE_EINVAL;
	for (size_t i = 0; i < n; i++) {
		guchar b = (guchar)dialled[i];
		if (b < 0x20 || b == 0x7f)
			return JN_ROUTE_EINVAL; /* also catches NUL inside len */
	}
	if (!g_utf8_validate(dialled, (gssize)n, NULL))
		return JN_ROUTE_EINVAL;
	memcpy(c->dialled, dialled, n);
	c->dialled[n] = '\0';
	c->len = n;
	c->kind = kind;
	c->name = name ? name : "";
	c->forbidden = false;
	switch (kind) {
	case JN_ROUTE_ANONYMOUS:
		return 0;
	case JN_ROUTE_USER:
		return name && g_hash_table_contains(t->users, name) ? 0 : JN_ROUTE_EFORBIDDEN;
	case JN_ROUTE_TRUNK:
		return name && g_hash_table_contains(t->trunks, name) ? 0 : JN_ROUTE_EFORBIDDEN;
	}
	return JN_ROUTE_EINVAL;
}

static bool caller_allowed(const route *r, const lookup_ctx *c)
{
	switch (r->from) {
	case FROM_ANY:
		return true;
	case FROM_USERS:
		return c->kind == JN_ROUTE_USER;
	case FROM_USER:
		return c->kind == JN_ROUTE_USER && !strcmp(c->name, r->from_name);
	case FROM_TRUNK:
		return c->kind == JN_ROUTE_TRUNK && !strcmp(c->name, r->from_name);
	}
	return false;
}

/* Whether r matches the dialled string; caps gets groups 0..9 (-1 unset).
 * An exact route (^literal$) is compared as a string when fast is set; the
 * reference path (fast unset) always asks PCRE, so tests can check both. */
static bool route_match(const route *r, const lookup_ctx *c, bool fast, gint caps[10][2])
{
	if (fast && r->exact) {
		if (c->len != r->prefix_len || memcmp(c->dialled, r->prefix, c->len) != 0)
			return false;
		memcpy(caps, r->caps, sizeof r->caps);
		caps[0][0] = 0;
		caps[0][1] = (gint)c->len;
		return true;
	}
	GMatchInfo *mi = NULL;
	bool hit = g_regex_match_full(r->re, c->dialled, (gssize)c->len, 0, 0, &mi, NULL);
	for (int g = 0; g < 10; g++) {
		caps[g][0] = caps[g][1] = -1;
		if (hit && g <= r->groups && (r->target_refs || r->prepend_refs))
			g_match_info_fetch_pos(mi, g, &caps[g][0], &caps[g][1]);
	}
	g_match_info_free(mi);
	return hit;
}

/* True when r takes the call (out filled). */
static bool try_route(const jn_route_table *t, const route *r, lookup_ctx *c, bool fast,
		      jn_route_result *out)
{
	bool allowed = caller_allowed(r, c);
	if (!allowed && c->forbidden)
		return false; /* already know the answer is 403 unless a later route takes it */
	gint caps[10][2];
	if (!route_match(r, c, fast, caps))
		return false;
	if (!allowed) {
		c->forbidden = true;
		return false;
	}
	size_t nlen = 0;
	if (r->target_refs) {
		if (!expand(r->target_name, c->dialled, caps, out->name, sizeof out->name, &nlen) ||
		    !target_ok(t, r->target, out->name, nlen))
			return false; /* $1 made no valid name: this route cannot take it */
	} else {
		g_strlcpy(out->name, r->target_name, sizeof out->name);
	}
	/* strip counts characters, so it never cuts a UTF-8 sequence. */
	const char *rest = c->dialled;
	for (guint i = 0; i < r->strip && *rest; i++)
		rest = g_utf8_next_char(rest);
	size_t plen = 0;
	if (!expand(r->prepend, c->dialled, caps, out->number, sizeof out->number, &plen))
		return false;
	size_t rlen = c->len - (size_t)(rest - c->dialled);
	if (plen + rlen >= sizeof out->number)
		return false;
	memcpy(out->number + plen, rest, rlen + 1);
	out->kind = r->target;
	out->route = r->name;
	return true;
}

static void mark_chain(const jn_route_table *t, gint first, uint64_t *bits, guint *lo, guint *hi)
{
	for (gint r = first; r >= 0; r = t->routes[r].next) {
		guint w = (guint)r >> 6;
		bits[w] |= (uint64_t)1 << ((guint)r & 63);
		*lo = MIN(*lo, w);
		*hi = MAX(*hi, w);
	}
}

int jn_route_lookup(const jn_route_table *t, jn_route_party caller_kind, const char *caller_name,
		    const char *dialled, gssize len, jn_route_result *out)
{
	lookup_ctx c;
	int rc = lookup_prepare(t, caller_kind, caller_name, dialled, len, &c);
	if (rc)
		return rc;
	/* Candidates: every route whose prefix is a prefix of the dialled
	 * string, as bits in table order (a stack bitmap up to 1024 routes). */
	uint64_t stack_bits[16];
	guint words = (t->n + 63) / 64;
	uint64_t *bits = words <= G_N_ELEMENTS(stack_bits) ? stack_bits : g_new(uint64_t, words);
	memset(bits, 0, words * sizeof *bits);
	guint lo = G_MAXUINT, hi = 0;
	const tnode *nodes = (const tnode *)(void *)t->nodes->data;
	gint node = 0;
	mark_chain(t, nodes[0].first, bits, &lo, &hi);
	for (size_t i = 0; i < c.len; i++) {
		node = trie_child(t, node, (guchar)c.dialled[i]);
		if (node < 0)
			break;
		mark_chain(t, nodes[node].first, bits, &lo, &hi);
	}
	rc = -1;
	for (guint w = lo; w <= hi && w < words && rc < 0; w++) {
		uint64_t word = bits[w];
		while (word) {
			guint idx = w * 64 + (guint)__builtin_ctzll(word);
			word &= word - 1;
			if (try_route(t, &t->routes[idx], &c, true, out)) {
				rc = 0;
				break;
			}
		}
	}
	if (bits != stack_bits)
		g_free(bits);
	if (rc < 0)
		rc = c.forbidden ? JN_ROUTE_EFORBIDDEN : JN_ROUTE_ENOROUTE;
	return rc;
}

int jn_route_lookup_linear(const jn_route_table *t, jn_route_party caller_kind,
			   const char *caller_name, const char *dialled, gssize len,
			   jn_route_result *out)
{
	lookup_ctx c;
	int rc = lookup_prepare(t, caller_kind, caller_name, dialled, len, &c);
	if (rc)
		return rc;
	for (guint i = 0; i < t->n; i++)
		if (try_route(t, &t->routes[i], &c, false, out))
			return 0;
	return c.forbidden ? JN_ROUTE_EFORBIDDEN : JN_ROUTE_ENOROUTE;
}

int jn_route_sip_status(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case JN_ROUTE_EFORBIDDEN:
		return 403;
	default:
		return 404;
	}
}

int jn_route_http_status(int rc)
{
	switch (rc) {
	case 0:
		return 200;
	case JN_ROUTE_EFORBIDDEN:
		return 403;
	case JN_ROUTE_EINVAL:
		return 400;
	default:
		return 404;
	}
}

const char *jn_route_error_code(int rc)
{
	switch (rc) {
	case 0:
		return NULL;
	case JN_ROUTE_EFORBIDDEN:
		return "forbidden";
	case JN_ROUTE_EINVAL:
		return "invalid_number";
	default:
		return "no_route";
	}
}

const char *jn_route_target_str(jn_route_target kind)
{
	switch (kind) {
	case JN_ROUTE_TO_USER:
		return "user";
	case JN_ROUTE_TO_TRUNK:
		return "trunk";
	case JN_ROUTE_TO_CONFERENCE:
		return "conference";
	case JN_ROUTE_TO_ECHO:
		return "echo";
	}
	return "?";
}

/* ---- call limits ------------------------------------------------------- */

typedef struct {
	guint max;
	guint active;
	bool known;   /* still in the config */
} slot;

struct jn_route_limits {
	GHashTable *users;   /* name -> slot */
	GHashTable *trunks;
};

static void limits_load(GHashTable *h, const jn_config *cfg, const char *kind)
{
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, h);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		slot *s = v;
		s->known = false;
		s->max = 0;
	}
	char **names = jn_config_instances(cfg, kind);
	for (int i = 0; names[i]; i++) {
		char *sec = g_strconcat(kind, ":", names[i], NULL);
		slot *s = g_hash_table_lookup(h, names[i]);
		if (!s) {
			s = g_new0(slot, 1);
			g_hash_table_insert(h, g_strdup(names[i]), s);
		}
		s->known = true;
		s->max = (guint)jn_config_int(cfg, sec, "max_calls");
		g_free(sec);
	}
	g_strfreev(names);
	g_hash_table_iter_init(&it, h);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		slot *s = v;
		if (!s->known && s->active == 0)
			g_hash_table_iter_remove(&it);
	}
}

jn_route_limits *jn_route_limits_new(const jn_config *cfg)
{
	jn_route_limits *l = g_new0(jn_route_limits, 1);
	l->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	l->trunks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	jn_route_limits_reload(l, cfg);
	return l;
}

void jn_route_limits_free(jn_route_limits *l)
{
	if (!l)
		return;
	g_hash_table_destroy(l->users);
	g_hash_table_destroy(l->trunks);
	g_free(l);
}

void jn_route_limits_reload(jn_route_limits *l, const jn_config *cfg)
{
	limits_load(l->users, cfg, "user");
	limits_load(l->trunks, cfg, "trunk");
}

static GHashTable *limits_table(const jn_route_limits *l, jn_route_party kind)
{
	return kind == JN_ROUTE_USER ? l->users : kind == JN_ROUTE_TRUNK ? l->trunks : NULL;
}

int jn_route_limits_acquire(jn_route_limits *l, jn_route_party kind, const char *name)
{
	GHashTable *h = limits_table(l, kind);
	if (!h || !name)
		return EINVAL;
	slot *s = g_hash_table_lookup(h, name);
	if (!s || !s->known)
		return ENOENT;
	if (s->active >= s->max)
		return EBUSY;
	s->active++;
	return 0;
}

int jn_route_limits_release(jn_route_limits *l, jn_route_party kind, const char *name)
{
	GHashTable *h = limits_table(l, kind);
	slot *s = h && name ? g_hash_table_lookup(h, name) : NULL;
	if (!s || s->active == 0) {
		jn_warn(NULL, "call limit released for %s:%s that held no call",
			kind == JN_ROUTE_TRUNK ? "trunk" : "user", name ? name : "(null)");
		return EINVAL;
	}
	s->active--;
	if (!s->known && s->active == 0)
		g_hash_table_remove(h, name);
	return 0;
}

guint jn_route_limits_active(const jn_route_limits *l, jn_route_party kind, const char *name)
{
	GHashTable *h = limits_table(l, kind);
	slot *s = h && name ? g_hash_table_lookup(h, name) : NULL;
	return s ? s->active : 0;
}
