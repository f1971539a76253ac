/* See log.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/log.h"

static const char *log_ident = "xiscsi";
static enum log_level log_level_cur = LOG_LVL_INFO;
static enum log_sink log_sink_cur = LOG_SINK_STDERR;

static const struct {
	const char *name;
	int syslog_prio;
} log_levels[] = {
        [LOG_LVL_ERROR] = {"error", LOG_ERR},
        [LOG_LVL_WARN] = {"warn", LOG_WARNING},
        [LOG_LVL_INFO] = {"info", LOG_INFO},
        [LOG_LVL_DEBUG] = {"debug", LOG_DEBUG},
};

void log_setup(const char *ident, enum log_level level, enum log_sink sink)
{
	if (ident)
		log_ident = ident;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	log_level_cur = level;
	log_sink_cur = sink;
	if (sink == LOG_SINK_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

enum log_level log_get_level(void)
{
	return log_level_cur;
}

bool log_enabled(enum log_level level)
{
	return level <= log_level_cur;
}

int log_level_parse(const char *s, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcmp(s, log_levels[i].name) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n, m;

	if (!log_enabled(level))
		return;
	if (log_sink_cur == LOG_SINK_SYSLOG) {
		vsyslog(log_levels[level].syslog_prio, fmt, ap);
		return;
	}
	/* One write per line so that lines from several threads do not interleave. */
	n = snprintf(line, sizeof(line), "%s: %s: ", log_ident, log_levels[level].name);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
