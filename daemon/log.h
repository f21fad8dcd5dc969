/* Leveled logging to stderr. Under systemd (JOURNAL_STREAM set) each line
 * carries a "<N>" priority prefix that journald turns into the log level;
 * elsewhere lines get a level word. The daemon logs; libraries never do. */
#ifndef INFERD_LOG_H
#define INFERD_LOG_H

#include "config.h"

void inferd_log_init(int level);
void inferd_log_level_set(int level);
void inferd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) inferd_log(INFERD_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  inferd_log(INFERD_LOG_WARN, __VA_ARGS__)
#define log_info(...)  inferd_log(INFERD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) inferd_log(INFERD_LOG_DEBUG, __VA_ARGS__)

#endif
