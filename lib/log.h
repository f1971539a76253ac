/*
 * Tiny logging: four levels, to stderr or syslog, chosen once at start-up
 * (log_setup before any thread starts; afterwards it is only read).
 */
#ifndef XI_LOG_H
#define XI_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

enum log_sink {
	LOG_SINK_STDERR = 0,
	LOG_SINK_SYSLOG,
};

/* ident: program name shown with each line (kept by pointer, not copied). */
void log_setup(const char *ident, enum log_level level, enum log_sink sink);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

/* "error", "warn", "info", "debug" -> level; 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
/* Arguments are not evaluated unless debug is on. */
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_LVL_DEBUG))                                                    \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
