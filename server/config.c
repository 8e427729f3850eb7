/* Configuration loading and validation. GKeyFile reads the values; a line
 * scan of our own keeps each key's line number (GKeyFile forgets them) and
 * reports syntax errors with the line they are on. */
#include "server/config.h"

#include <errno.h>
#include <string.h>

#include "util/net.h"

struct jn_config {
	GKeyFile *kf;
	char *source;
	GHashTable *lines;   /* "section\nkey" or "section" -> line number */
	GPtrArray *sections; /* section names in file order */
	GHashTable *values;  /* "section\nkey" -> trimmed value, owned, filled on first read */
};

static const char *const fixed_sections[] = {
	"general", "sip", "websocket", "webrtc", "media", "api", NULL
};
static const char *const named_kinds[] = { "user", "trunk", "route", NULL };

static const char *schema_section(const char *section, char *buf, size_t size)
{
	const char *colon = strchr(section, ':');
	if (!colon)
		return section;
	size_t n = (size_t)(colon - section) + 1;
	if (n >= size)
		n = size - 1;
	memcpy(buf, section, n);
	buf[n] = '\0';
	return buf;
}

static const jn_cfg_key *find_key(const char *section, const char *key)
{
	char buf[64];
	const char *sec = schema_section(section, buf, sizeof buf);
	for (const jn_cfg_key *k = jn_config_schema(); k->key; k++)
		if (strcmp(k->section, sec) == 0 && strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

unsigned jn_config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 1000;
	unsigned row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned sub = prev + (g_ascii_tolower(a[i - 1]) != g_ascii_tolower(b[j - 1]));
			unsigned del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = MIN(sub, MIN(del, ins));
			prev = cur;
		}
	}
	return row[lb];
}

static const char *closest_key(const char *section, const char *key)
{
	char buf[64];
	const char *sec = schema_section(section, buf, sizeof buf);
	const char *best = NULL;
	unsigned best_d = 1000;
	for (const jn_cfg_key *k = jn_config_schema(); k->key; k++) {
		if (strcmp(k->section, sec) != 0)
			continue;
		unsigned d = jn_config_distance(key, k->key);
		if (d < best_d) {
			best_d = d;
			best = k->key;
		}
	}
	return best;
}

static bool section_known(const char *section)
{
	for (int i = 0; fixed_sections[i]; i++)
		if (strcmp(section, fixed_sections[i]) == 0)
			return true;
	const char *colon = strchr(section, ':');
	if (!colon || !colon[1])
		return false;
	for (int i = 0; named_kinds[i]; i++)
		if (strlen(named_kinds[i]) == (size_t)(colon - section) &&
		    strncmp(section, named_kinds[i], (size_t)(colon - section)) == 0)
			return true;
	return false;
}

static const char *closest_section(const char *section)
{
	static char best[64];
	unsigned best_d = 1000;
	const char *colon = strchr(section, ':');
	best[0] = '\0';
	if (colon) {
		char kind[64];
		g_strlcpy(kind, section, MIN(sizeof kind, (size_t)(colon - section) + 1));
		for (int i = 0; named_kinds[i]; i++) {
			unsigned d = jn_config_distance(kind, named_kinds[i]);
			if (d < best_d) {
				best_d = d;
				g_snprintf(best, sizeof best, "%s%s", named_kinds[i], colon);
			}
		}
	} else {
		for (int i = 0; fixed_sections[i]; i++) {
			unsigned d = jn_config_distance(section, fixed_sections[i]);
			if (d < best_d) {
				best_d = d;
				g_strlcpy(best, fixed_sections[i], sizeof best);
			}
		}
	}
	return best;
}

static char *line_key(const char *section, const char *key)
{
	return key ? g_strdup_printf("%s\n%s", section, key) : g_strdup(section);
}

static int line_of(const jn_config *cfg, const char *section, const char *key)
{
	char *k = line_key(section, key);
	int line = GPOINTER_TO_INT(g_hash_table_lookup(cfg->lines, k));
	g_free(k);
	return line;
}

static void add_error(GPtrArray *errors, const jn_config *cfg, int line,
		      const char *key, const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static void add_error(GPtrArray *errors, const jn_config *cfg, int line,
		      const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(errors, g_strdup_printf("%s:%d: %s: %s", cfg->source, line,
						key ? key : "(file)", what));
	g_free(what);
}

/* Finds line numbers and catches lines GKeyFile would reject with no line. */
static void scan_lines(jn_config *cfg, const char *data, gsize len, GPtrArray *errors)
{
	char **lines = g_strsplit(data, "\n", -1);
	char *section = NULL;
	for (int i = 0; lines[i]; i++) {
		int lineno = i + 1;
		char *l = g_strstrip(lines[i]);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');
			if (!end || end[1] != '\0' || end == l + 1) {
				add_error(errors, cfg, lineno, NULL, "malformed section header \"%s\"", l);
				continue;
			}
			g_free(section);
			section = g_strndup(l + 1, (gsize)(end - l - 1));
			if (g_hash_table_contains(cfg->lines, section))
				add_error(errors, cfg, lineno, section, "section appears twice");
			else
				g_ptr_array_add(cfg->sections, g_strdup(section));
			g_hash_table_replace(cfg->lines, g_strdup(section), GINT_TO_POINTER(lineno));
			continue;
		}
		char *eq = strchr(l, '=');
		if (!eq) {
			add_error(errors, cfg, lineno, NULL, "expected \"key = value\" or \"[section]\", got \"%s\"", l);
			continue;
		}
		if (!section) {
			add_error(errors, cfg, lineno, NULL, "key before any [section]");
			continue;
		}
		*eq = '\0';
		char *key = g_strstrip(l);
		char *k = line_key(section, key);
		if (g_hash_table_contains(cfg->lines, k))
			add_error(errors, cfg, lineno, key, "set twice in [%s]", section);
		g_hash_table_replace(cfg->lines, k, GINT_TO_POINTER(lineno));
	}
	(void)len;
	g_free(section);
	g_strfreev(lines);
}

static bool parse_bool(const char *v, bool *out)
{
	if (!g_ascii_strcasecmp(v, "true") || !g_ascii_strcasecmp(v, "yes") ||
	    !g_ascii_strcasecmp(v, "on") || !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!g_ascii_strcasecmp(v, "false") || !g_ascii_strcasecmp(v, "no") ||
	    !g_ascii_strcasecmp(v, "off") || !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

static bool in_choices(const char *choices, const char *v)
{
	char **c = g_strsplit(choices, "|", -1);
	bool ok = false;
	for (int i = 0; c[i] && !ok; i++)
		ok = g_ascii_strcasecmp(c[i], v) == 0;
	g_strfreev(c);
	return ok;
}

static void check_value(jn_config *cfg, const char *section, const jn_cfg_key *k,
			const char *v, GPtrArray *errors)
{
	int line = line_of(cfg, section, k->key);
	switch (k->type) {
	case JN_CFG_STRING:
		break;
	case JN_CFG_INT: {
		char *end;
		errno = 0;
		gint64 n = g_ascii_strtoll(v, &end, 10);
		if (!*v || *end || errno)
			add_error(errors, cfg, line, k->key, "\"%s\" is not a whole number", v);
		else if (n < k->min || n > k->max)
			add_error(errors, cfg, line, k->key, "%s is out of range (%" G_GINT64_FORMAT
				  "..%" G_GINT64_FORMAT ")", v, k->min, k->max);
		break;
	}
	case JN_CFG_BOOL: {
		bool b;
		if (!parse_bool(v, &b))
			add_error(errors, cfg, line, k->key, "\"%s\" is not true or false", v);
		break;
	}
	case JN_CFG_ENUM:
		if (!in_choices(k->choices, v))
			add_error(errors, cfg, line, k->key, "\"%s\" is not one of %s", v, k->choices);
		break;
	case JN_CFG_ADDR: {
		jn_addr a;
		if (*v && jn_addr_parse(v, 0, &a) != 0)
			add_error(errors, cfg, line, k->key,
				  "\"%s\" is not an IP address with port (e.g. 127.0.0.1:5060 or [::1]:5060)", v);
		else if (*v && jn_addr_port(&a) == 0)
			add_error(errors, cfg, line, k->key, "\"%s\" needs a port", v);
		break;
	}
	case JN_CFG_REGEX: {
		GError *err = NULL;
		GRegex *re = g_regex_new(v, 0, 0, &err);
		if (!re) {
			add_error(errors, cfg, line, k->key, "bad regular expression: %s", err->message);
			g_error_free(err);
		} else {
			g_regex_unref(re);
		}
		break;
	}
	case JN_CFG_LIST:
		if (k->choices) {
			char **items = g_strsplit(v, ",", -1);
			for (int i = 0; items[i]; i++) {
				char *it = g_strstrip(items[i]);
				if (*it && !in_choices(k->choices, it))
					add_error(errors, cfg, line, k->key, "\"%s\" is not one of %s", it, k->choices);
			}
			g_strfreev(items);
		}
		break;
	}
}

static bool instance_exists(const jn_config *cfg, const char *ref)
{
	return g_key_file_has_group(cfg->kf, ref);
}

/* Rules that span keys: required keys, references between sections. */
static void check_section_rules(jn_config *cfg, const char *section, GPtrArray *errors)
{
	int line = line_of(cfg, section, NULL);
	if (g_str_has_prefix(section, "user:")) {
		if (!jn_config_has(cfg, section, "password") && !jn_config_has(cfg, section, "ha1_md5") &&
		    !jn_config_has(cfg, section, "ha1_sha256"))
			add_error(errors, cfg, line, section, "needs password, ha1_md5 or ha1_sha256");
	} else if (g_str_has_prefix(section, "trunk:")) {
		if (!*jn_config_str(cfg, section, "host"))
			add_error(errors, cfg, line, section, "needs host");
		if (jn_config_bool(cfg, section, "register") && !*jn_config_str(cfg, section, "username"))
			add_error(errors, cfg, line_of(cfg, section, "register"), "register",
				  "register = true needs username and password");
	} else if (g_str_has_prefix(section, "route:")) {
		if (!jn_config_has(cfg, section, "match"))
			add_error(errors, cfg, line, section, "needs match");
		const char *t = jn_config_str(cfg, section, "target");
		int tl = line_of(cfg, section, "target");
		if (!*t) {
			add_error(errors, cfg, line, section, "needs target");
		} else if (!strcmp(t, "echo")) {
		} else if (g_str_has_prefix(t, "conference:") && t[11]) {
		} else if ((g_str_has_prefix(t, "user:") || g_str_has_prefix(t, "trunk:")) && strchr(t, ':')[1]) {
			if (!strchr(t, '$') && !instance_exists(cfg, t))
				add_error(errors, cfg, tl, "target", "no [%s] section", t);
		} else {
			add_error(errors, cfg, tl, "target",
				  "\"%s\" is not trunk:NAME, user:NAME, conference:NAME or echo", t);
		}
		const char *f = jn_config_str(cfg, section, "from");
		int fl = line_of(cfg, section, "from");
		if (!strcmp(f, "any") || !strcmp(f, "user:*")) {
		} else if ((g_str_has_prefix(f, "user:") || g_str_has_prefix(f, "trunk:")) && strchr(f, ':')[1]) {
			if (!instance_exists(cfg, f))
				add_error(errors, cfg, fl, "from", "no [%s] section", f);
		} else {
			add_error(errors, cfg, fl, "from", "\"%s\" is not user:*, user:NAME, trunk:NAME or any", f);
		}
	} else if (!strcmp(section, "webrtc")) {
		if (jn_config_int(cfg, section, "port_min") > jn_config_int(cfg, section, "port_max"))
			add_error(errors, cfg, line_of(cfg, section, "port_min"), "port_min", "is above port_max");
	} else if (!strcmp(section, "media")) {
		if (jn_config_int(cfg, section, "rtp_port_min") > jn_config_int(cfg, section, "rtp_port_max"))
			add_error(errors, cfg, line_of(cfg, section, "rtp_port_min"), "rtp_port_min",
				  "is above rtp_port_max");
	} else if (!strcmp(section, "sip")) {
		if (*jn_config_str(cfg, section, "tls_listen") && !*jn_config_str(cfg, section, "tls_certificate"))
			add_error(errors, cfg, line_of(cfg, section, "tls_listen"), "tls_listen",
				  "needs tls_certificate and tls_private_key");
	}
}

static jn_config *config_new(const char *source)
{
	jn_config *cfg = g_new0(jn_config, 1);
	cfg->kf = g_key_file_new();
	cfg->source = g_strdup(source);
	cfg->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	cfg->sections = g_ptr_array_new_with_free_func(g_free);
	cfg->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return cfg;
}

jn_config *jn_config_load_data(const char *data, gsize len, const char *name, GPtrArray *errors)
{
	jn_config *cfg = config_new(name);
	guint before = errors->len;
	GError *err = NULL;
	char *text = g_strndup(data, len);

	if (strlen(text) != len)
		add_error(errors, cfg, 0, NULL, "contains a NUL byte");
	else if (!g_utf8_validate(text, -1, NULL))
		add_error(errors, cfg, 0, NULL, "is not valid UTF-8");
	else
		scan_lines(cfg, text, len, errors);
	if (errors->len == before &&
	    !g_key_file_load_from_data(cfg->kf, text, len, G_KEY_FILE_NONE, &err)) {
		add_error(errors, cfg, 0, NULL, "%s", err->message);
		g_error_free(err);
	}
	g_free(text);
	if (errors->len != before)
		goto out;

	for (guint i = 0; i < cfg->sections->len; i++) {
		const char *sec = g_ptr_array_index(cfg->sections, i);
		if (!section_known(sec)) {
			const char *near = closest_section(sec);
			add_error(errors, cfg, line_of(cfg, sec, NULL), sec,
				  "unknown section%s%s%s", *near ? " (did you mean [" : "", near,
				  *near ? "]?)" : "");
			continue;
		}
		gsize n = 0;
		char **keys = g_key_file_get_keys(cfg->kf, sec, &n, NULL);
		for (gsize j = 0; j < n; j++) {
			const jn_cfg_key *k = find_key(sec, keys[j]);
			if (!k) {
				const char *near = closest_key(sec, keys[j]);
				add_error(errors, cfg, line_of(cfg, sec, keys[j]), keys[j],
					  "unknown key in [%s]%s%s%s", sec, near ? " (did you mean " : "",
					  near ? near : "", near ? "?)" : "");
				continue;
			}
			char *v = g_key_file_get_string(cfg->kf, sec, keys[j], NULL);
			check_value(cfg, sec, k, v ? v : "", errors);
			g_free(v);
		}
		g_strfreev(keys);
	}
	if (errors->len == before)
		for (guint i = 0; i < cfg->sections->len; i++)
			check_section_rules(cfg, g_ptr_array_index(cfg->sections, i), errors);
out:
	if (errors->len != before) {
		jn_config_free(cfg);
		return NULL;
	}
	return cfg;
}

jn_config *jn_config_load_file(const char *path, GPtrArray *errors)
{
	char *data = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(path, &data, &len, &err)) {
		g_ptr_array_add(errors, g_strdup_printf("%s:0: (file): %s", path, err->message));
		g_error_free(err);
		return NULL;
	}
	jn_config *cfg = jn_config_load_data(data, len, path, errors);
	g_free(data);
	return cfg;
}

void jn_config_free(jn_config *cfg)
{
	if (!cfg)
		return;
	g_key_file_free(cfg->kf);
	g_hash_table_destroy(cfg->lines);
	g_ptr_array_free(cfg->sections, TRUE);
	g_hash_table_destroy(cfg->values);
	g_free(cfg->source);
	g_free(cfg);
}

/* Values are cached in the config so callers get const strings that live as
 * long as the config (a reload frees the old values with the old config). */
static const char *value_of(const jn_config *cfg, const char *section, const char *key)
{
	const jn_cfg_key *k = find_key(section, key);
	if (!k) {
		g_critical("config: no key %s in [%s] in the schema", key, section);
		return "";
	}
	char *id = line_key(section, key);
	const char *cached = g_hash_table_lookup(cfg->values, id);
	if (cached) {
		g_free(id);
		return cached;
	}
	char *v = g_key_file_get_string(cfg->kf, section, key, NULL);
	if (!v) {
		g_free(id);
		return k->def;
	}
	g_strstrip(v);
	g_hash_table_insert(cfg->values, id, v);
	return v;
}

const char *jn_config_str(const jn_config *cfg, const char *section, const char *key)
{
	return value_of(cfg, section, key);
}

int64_t jn_config_int(const jn_config *cfg, const char *section, const char *key)
{
	return g_ascii_strtoll(value_of(cfg, section, key), NULL, 10);
}

bool jn_config_bool(const jn_config *cfg, const char *section, const char *key)
{
	bool b = false;
	parse_bool(value_of(cfg, section, key), &b);
	return b;
}

char **jn_config_list(const jn_config *cfg, const char *section, const char *key)
{
	const char *v = value_of(cfg, section, key);
	char **items = g_strsplit(v, ",", -1);
	GPtrArray *out = g_ptr_array_new();
	for (int i = 0; items[i]; i++) {
		char *it = g_strstrip(items[i]);
		if (*it)
			g_ptr_array_add(out, g_strdup(it));
	}
	g_strfreev(items);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

bool jn_config_has(const jn_config *cfg, const char *section, const char *key)
{
	return g_key_file_has_key(cfg->kf, section, key, NULL);
}

char **jn_config_instances(const jn_config *cfg, const char *kind)
{
	GPtrArray *out = g_ptr_array_new();
	size_t kl = strlen(kind);
	for (guint i = 0; i < cfg->sections->len; i++) {
		const char *s = g_ptr_array_index(cfg->sections, i);
		if (strncmp(s, kind, kl) == 0 && s[kl] == ':')
			g_ptr_array_add(out, g_strdup(s + kl + 1));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

const char *jn_config_source(const jn_config *cfg)
{
	return cfg->source;
}
