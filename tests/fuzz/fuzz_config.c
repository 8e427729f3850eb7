/* Fuzz target: the INI config loader and validator (GKeyFile + our line scan,
 * per-key checks, cross-section rules). Any input must give a config or a
 * list of errors, never a crash. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	jn_config *cfg = jn_config_load_data((const char *)data, size, "fuzz.conf", errors);
	if (cfg) {
		/* Walk every value the schema knows for the fixed sections. */
		for (const jn_cfg_key *k = jn_config_schema(); k->key; k++) {
			if (k->section[0] && k->section[strlen(k->section) - 1] == ':')
				continue;
			(void)jn_config_str(cfg, k->section, k->key);
		}
		char **users = jn_config_instances(cfg, "user");
		g_strfreev(users);
		jn_config_free(cfg);
	}
	g_ptr_array_free(errors, TRUE);
	return 0;
}
