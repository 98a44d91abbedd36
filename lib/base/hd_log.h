/*
 * Logging to standard error, which lighttpd, spawn-fcgi, systemd or herald-worker's
 * --log file collect. One line per event, each written with one write(2): an RFC 3339
 * UTC timestamp with milliseconds, the program name and pid, the level, the id of
 * the request the thread serves (if any), the message. Or, with log_format = json,
 * the same as one JSON object per line. Never pass a secret (keys, passwords,
 * tokens) to these functions. Nothing here allocates.
 */
#ifndef HD_LOG_H
#define HD_LOG_H

#include <stdint.h>

enum hd_log_level { HD_LOG_ERROR, HD_LOG_WARN, HD_LOG_INFO, HD_LOG_DEBUG, HD_LOG__MAX };
enum hd_log_format { HD_LOG_TEXT, HD_LOG_JSON, HD_LOG_FORMAT__MAX };

/* The names the configuration file uses, indexed by the enums above. */
extern const char *const hd_log_level_names[HD_LOG__MAX];
extern const char *const hd_log_format_names[HD_LOG_FORMAT__MAX];

/* Request ids: HD_REQUEST_ID_LEN lowercase hex characters. */
#define HD_REQUEST_ID_LEN 12

/* Sets the program name used in every line (the pointer is kept) and the level. */
void hd_log_setup(const char *program, enum hd_log_level level);
void hd_log_set_format(enum hd_log_format format);
/* Parses "error", "warn", "info" or "debug"; returns 0 and sets *out, or -1. */
int hd_log_level_parse(const char *s, enum hd_log_level *out);
/* The request the calling thread serves from now on (a copy of id is kept), or none
 * (NULL): every line the thread logs meanwhile carries its id. */
void hd_log_set_request(const char *id);
/* The line every request ends with (info): method, route (the endpoint's path
 * pattern, never the request's own path, which may carry anything; NULL when no
 * endpoint matched), status and time taken. */
void hd_log_request(const char *method, const char *route, int status, int64_t usec);
void hd_log(enum hd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define hd_log_error(...) hd_log(HD_LOG_ERROR, __VA_ARGS__)
#define hd_log_warn(...) hd_log(HD_LOG_WARN, __VA_ARGS__)
#define hd_log_info(...) hd_log(HD_LOG_INFO, __VA_ARGS__)
#define hd_log_debug(...) hd_log(HD_LOG_DEBUG, __VA_ARGS__)

#endif
