/*
 * Logging to standard error, which lighttpd, spawn-fcgi and systemd collect. One line
 * per event, prefixed with the program name and pid. Never pass a secret (keys,
 * passwords, tokens) to these functions.
 */
#ifndef HD_LOG_H
#define HD_LOG_H

enum hd_log_level { HD_LOG_ERROR, HD_LOG_WARN, HD_LOG_INFO, HD_LOG_DEBUG, HD_LOG__MAX };

/* Sets the program name used in every line (the pointer is kept) and the level. */
void hd_log_setup(const char *program, enum hd_log_level level);
/* Parses "error", "warn", "info" or "debug"; returns 0 and sets *out, or -1. */
int hd_log_level_parse(const char *s, enum hd_log_level *out);
void hd_log(enum hd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define hd_log_error(...) hd_log(HD_LOG_ERROR, __VA_ARGS__)
#define hd_log_warn(...) hd_log(HD_LOG_WARN, __VA_ARGS__)
#define hd_log_info(...) hd_log(HD_LOG_INFO, __VA_ARGS__)
#define hd_log_debug(...) hd_log(HD_LOG_DEBUG, __VA_ARGS__)

#endif
