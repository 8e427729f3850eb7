/* jn_config: the daemon's INI configuration (GLib GKeyFile).
 *
 * Every key is declared in one schema table (config_schema.c) with its type,
 * default and limits, so the embedded defaults, validation, --check-config
 * and conf/junction.conf all describe the same set. Sections are fixed
 * ("general", "sip", ...) or named instances ("user:alice", "trunk:itsp",
 * "route:out"). A loaded config is immutable and read from the core thread. */
#ifndef JN_CONFIG_H
#define JN_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct jn_config jn_config;

typedef enum {
	JN_CFG_STRING,
	JN_CFG_INT,
	JN_CFG_BOOL,
	JN_CFG_ENUM,   /* one of choices ("a|b|c") */
	JN_CFG_ADDR,   /* IP literal with port, "" allowed where the default is "" */
	JN_CFG_REGEX,  /* a GRegex pattern */
	JN_CFG_LIST,   /* comma-separated list; choices limit the items when set */
} jn_cfg_type;

typedef struct {
	const char *section; /* "sip", or "user:" for every [user:NAME] */
	const char *key;
	jn_cfg_type type;
	const char *def;     /* embedded default, as text */
	int64_t min, max;    /* JN_CFG_INT limits */
	const char *choices; /* JN_CFG_ENUM / JN_CFG_LIST: "a|b|c" */
	const char *doc;     /* one line for --help and conf/junction.conf */
} jn_cfg_key;

/* The schema, terminated by an entry with key == NULL. */
const jn_cfg_key *jn_config_schema(void);

/* The demo sections used when junction starts without --config. */
extern const char jn_config_demo[];

/* Loads and validates. On failure returns NULL and appends one string per
 * problem to errors, each "FILE:LINE: key: what is wrong". Warnings (none
 * fatal) are appended to warnings when non-NULL. */
jn_config *jn_config_load_file(const char *path, GPtrArray *errors);
jn_config *jn_config_load_data(const char *data, gsize len, const char *name,
			       GPtrArray *errors);
void jn_config_free(jn_config *cfg);

/* Values with defaults applied. section is the full name ("user:alice").
 * Asking for a key the schema lacks is a programming error (g_critical). */
const char *jn_config_str(const jn_config *cfg, const char *section, const char *key);
int64_t jn_config_int(const jn_config *cfg, const char *section, const char *key);
bool jn_config_bool(const jn_config *cfg, const char *section, const char *key);
/* A list key split on commas, trimmed; free with g_strfreev. */
char **jn_config_list(const jn_config *cfg, const char *section, const char *key);
/* Whether the file set the key (rather than the default applying). */
bool jn_config_has(const jn_config *cfg, const char *section, const char *key);
/* Names of the instances of a named section kind ("user" -> {"alice",...}),
 * in file order; free with g_strfreev. */
char **jn_config_instances(const jn_config *cfg, const char *kind);
/* Where the config came from ("(embedded)" or the file path). */
const char *jn_config_source(const jn_config *cfg);

/* Edit distance, exposed for tests ("did you mean" suggestions). */
unsigned jn_config_distance(const char *a, const char *b);

#endif
