/* Replies to the text commands, built from the server's state in the loop
 * thread. Each returns a malloc'd, NUL-terminated reply ending in "\n"
 * (NULL when memory runs out). */
#ifndef INFERD_STATUS_H
#define INFERD_STATUS_H

#include "server.h"

const char *status_health_word(const struct inferd_server *s);
char *status_health(const struct inferd_server *s);
char *status_stats(const struct inferd_server *s);
char *status_models(const struct inferd_server *s);
char *status_version(const struct inferd_server *s);
char *status_metrics(const struct inferd_server *s);

#endif
