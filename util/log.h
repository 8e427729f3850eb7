/* jn_log: levelled, tagged log lines on stderr.
 *
 * One line per call, written with a single write(2) so lines from the core
 * thread and media workers never interleave. Every line carries a module tag
 * and, where there is one, the call or session id it concerns. */
#ifndef JN_LOG_H
#define JN_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum {
	JN_LOG_ERROR = 0,
	JN_LOG_WARN,
	JN_LOG_INFO,
	JN_LOG_DEBUG,
	JN_LOG_TRACE,
} jn_log_level;

/* Sets the most verbose level that is printed (default JN_LOG_INFO). */
void jn_log_set_level(jn_log_level level);
jn_log_level jn_log_get_level(void);
/* Parses "error|warn|info|debug|trace"; returns false on anything else. */
bool jn_log_parse_level(const char *name, jn_log_level *out);
/* Sends lines to fd instead of stderr (tests capture them this way). */
void jn_log_set_fd(int fd);

/* Writes one line: "TIME LEVEL [tag] (id) message". id may be NULL. */
void jn_log_write(jn_log_level level, const char *tag, const char *id,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void jn_log_vwrite(jn_log_level level, const char *tag, const char *id,
		   const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static inline bool jn_log_enabled(jn_log_level level)
{
	return level <= jn_log_get_level();
}

/* Each module defines JN_LOG_TAG before using these. */
#define JN_LOG_(lvl, id, ...) \
	do { if (jn_log_enabled(lvl)) jn_log_write(lvl, JN_LOG_TAG, id, __VA_ARGS__); } while (0)
#define jn_error(id, ...) JN_LOG_(JN_LOG_ERROR, id, __VA_ARGS__)
#define jn_warn(id, ...)  JN_LOG_(JN_LOG_WARN, id, __VA_ARGS__)
#define jn_info(id, ...)  JN_LOG_(JN_LOG_INFO, id, __VA_ARGS__)
#define jn_debug(id, ...) JN_LOG_(JN_LOG_DEBUG, id, __VA_ARGS__)
#define jn_trace(id, ...) JN_LOG_(JN_LOG_TRACE, id, __VA_ARGS__)

#endif
