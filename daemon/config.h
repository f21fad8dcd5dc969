/* Daemon configuration: a JSON file (cJSON), validated against one table per
 * object, so unknown keys and bad values are refused with the key path and
 * what was expected: `models[1].backend: unknown backend "cdua" (known: cpu,
 * cuda, fpga)`. Relative paths resolve against the config file's folder. */
#ifndef INFERD_DAEMON_CONFIG_H
#define INFERD_DAEMON_CONFIG_H

#include "inferd_backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INFERD_CONF_NAME_MAX 64

enum inferd_channel_order { INFERD_RGB = 0, INFERD_BGR = 1 };
enum inferd_layout { INFERD_NCHW = 0, INFERD_NHWC = 1 };
enum inferd_log_level { INFERD_LOG_ERROR = 0, INFERD_LOG_WARN, INFERD_LOG_INFO, INFERD_LOG_DEBUG };

struct inferd_image_conf {
    bool present;
    int width, height; /* 0 = take them from the model's input shape */
    int nmean, nstd;   /* 1 (applies to every channel) or the channel count */
    float mean[3], std[3];
    int channel_order; /* enum inferd_channel_order */
    int layout;        /* enum inferd_layout */
};

struct inferd_model_conf {
    char *name;
    char *path; /* absolute or relative to the config file, resolved */
    char *backend;
    char **fallback;
    int nfallback;
    int instances;
    int max_queue;
    int timeout_ms; /* 0 = limits.request_timeout_ms */
    struct inferd_image_conf image;
    char *labels; /* path or NULL */
    int topk;
};

struct inferd_backend_conf {
    char *name;
    struct inferd_kv *opts; /* ends with a NULL key; strings owned */
    int nopts;
};

struct inferd_conf {
    char *path; /* the file it came from (NULL when parsed from memory) */
    char *unix_path;
    unsigned unix_mode;
    char **nanomsg;
    int nnanomsg;
    char *plugin_dir; /* NULL = the built-in folder */
    struct inferd_backend_conf *backends;
    int nbackends;
    struct inferd_model_conf *models;
    int nmodels;
    uint64_t max_frame_bytes;
    int max_clients;
    int idle_timeout_ms;    /* 0 = never */
    int request_timeout_ms; /* default per-request deadline */
    int log_level;          /* enum inferd_log_level */
};

/* Reads and validates a config file. */
int inferd_conf_load(const char *path, struct inferd_conf **out, char *err, size_t errlen);
/* Validates config text; base_dir resolves relative paths (NULL = as written). */
int inferd_conf_parse(const char *text, size_t len, const char *base_dir, struct inferd_conf **out,
                      char *err, size_t errlen);
/* Accepts NULL and half-built configs. */
void inferd_conf_free(struct inferd_conf *c);

/* The options for backend `name` (empty list when the config names none). */
const struct inferd_kv *inferd_conf_backend_opts(const struct inferd_conf *c, const char *name);

#endif
