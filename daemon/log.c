#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int log_level = INFERD_LOG_INFO;
static int log_journal; /* stderr goes to journald */

void inferd_log_init(int level)
{
    const char *js = getenv("JOURNAL_STREAM");
    log_journal = js && *js;
    atomic_store(&log_level, level);
}

void inferd_log_level_set(int level)
{
    atomic_store(&log_level, level);
}

void inferd_log(int level, const char *fmt, ...)
{
    static const char *const words[] = { "error", "warning", "info", "debug" };
    static const int syslog_prio[] = { 3, 4, 6, 7 };
    if (level > atomic_load(&log_level) || level < 0 || level > INFERD_LOG_DEBUG) return;
    char line[2048];
    int off;
    if (log_journal) {
        off = snprintf(line, sizeof(line), "<%d>", syslog_prio[level]);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        off = snprintf(line, sizeof(line),
                       "%04d-%02d-%02d %02d:%02d:%02d.%03ld inferd %s: ", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       ts.tv_nsec / 1000000, words[level]);
    }
    if (off < 0 || (size_t)off >= sizeof(line)) off = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
    va_end(ap);
    /* One write per line so lines from worker threads never interleave. */
    size_t len = strnlen(line, sizeof(line) - 2);
    for (size_t i = (size_t)off; i < len; i++)
        if (line[i] == '\n') line[i] = ' ';
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}
