#include "util/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = JN_LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

void jn_log_set_level(jn_log_level level) { atomic_store(&log_level, (int)level); }
jn_log_level jn_log_get_level(void) { return (jn_log_level)atomic_load(&log_level); }
void jn_log_set_fd(int fd) { atomic_store(&log_fd, fd); }

bool jn_log_parse_level(const char *name, jn_log_level *out)
{
	if (!name)
		return false;
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (jn_log_level)i;
			return true;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = JN_LOG_WARN;
		return true;
	}
	return false;
}

void jn_log_vwrite(jn_log_level level, const char *tag, const char *id,
		   const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (!jn_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	r = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %-5s [%s]%s%s%s ",
		     tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     level_names[level <= JN_LOG_TRACE ? level : JN_LOG_TRACE],
		     tag ? tag : "-", id ? " (" : "", id ? id : "", id ? ")" : "");
	n = r > 0 ? (size_t)r : 0;
	if (n < sizeof line) {
		r = vsnprintf(line + n, sizeof line - n, fmt, ap);
		n += r > 0 ? (size_t)r : 0;
	}
	if (n >= sizeof line - 1)
		n = sizeof line - 2; /* truncated: keep the line whole */
	line[n++] = '\n';
	/* Control characters from peers (SIP reason phrases, user names) must
	 * not forge extra log lines. */
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	ssize_t w = write(atomic_load(&log_fd), line, n);
	(void)w;
}

void jn_log_write(jn_log_level level, const char *tag, const char *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	jn_log_vwrite(level, tag, id, fmt, ap);
	va_end(ap);
}
