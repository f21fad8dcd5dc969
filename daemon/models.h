/* Loaded models: each is a compiled backend model with its own bounded queue
 * and one worker thread per instance. The loop thread only pushes jobs and
 * collects completions; workers decode images, run kernels and encode the
 * response frame. */
#ifndef INFERD_MODELS_H
#define INFERD_MODELS_H

#include "config.h"
#include "inferd_backend.h"
#include "inferd_proto.h"
#include "stats.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct inferd_job;

struct inferd_server;

/* Backends known to the daemon: plugins loaded on first use and kept open
 * until shutdown (unload order: models, then backend close, then dlclose). */
struct backend_slot {
    char *name;
    struct inferd_plugin plugin;
    struct inferd_backend *be;
    bool tried;
    int rc;          /* open result */
    char error[512]; /* why it cannot be used */
};

struct backend_set {
    char *plugin_path; /* colon-separated folders */
    struct backend_slot slots[8];
    int nslots;
};

/* A tensor as the model expects it (compiled shapes are static). */
struct inferd_io_spec {
    char *name;
    int dtype; /* enum ir_dtype, numbered as enum inferd_dtype */
    int ndim;
    int64_t dims[IR_MAX_DIMS];
    size_t nbytes;
    bool softmax_done; /* output produced by a Softmax node: scores are probabilities */
};

/* Per-model counters, updated from the loop and the workers. */
struct served_model_stats {
    uint64_t requests; /* accepted into the queue or refused */
    uint64_t ok;
    uint64_t errors[32]; /* by error index (models.c: error_index) */
    int64_t in_flight;   /* queued or running */
    struct inferd_hist queue_us, compute_us, total_us;
};

enum served_model_state {
    SERVED_MODEL_READY = 0,
    SERVED_MODEL_FAILED, /* could not load on any backend: requests get backend_failed */
};

/* A model as the daemon serves it (the backend's compiled model inside). */
struct served_model {
    struct inferd_model_conf conf; /* deep copy */
    int state;                     /* enum served_model_state */
    char reason[512];              /* why failed, or why a fallback is in use */
    const char *backend_name;      /* the backend it runs on (NULL when failed) */
    struct backend_slot *backend;
    struct inferd_model *compiled; /* the backend's compiled model */
    struct inferd_io_spec *inputs, *outputs;
    int ninputs, noutputs;
    int image_input; /* index of the input images feed, -1 when none */
    int image_width, image_height, image_channels;
    char **labels;
    int nlabels;

    /* queue: ring of jobs, guarded by lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct inferd_job **ring;
    int ring_cap, ring_head, ring_len;
    bool stopping;
    bool joined; /* retired: workers joined (set on the loop thread) */
    pthread_t *threads;
    int nthreads;

    struct served_model_stats stats;
    struct inferd_server *server; /* where completions go */
};

int backend_set_init(struct backend_set *b, const char *plugin_path);
/* Closes every opened backend and unloads the plugins; models released first. */
void backend_set_close(struct backend_set *b);

/* Loads one model per its config on its backend or a fallback. A model that
 * loads nowhere is returned anyway in state FAILED with the reason (health
 * reports it); only -ENOMEM fails the call. Workers are not started yet. */
int served_model_load(struct backend_set *b, const struct inferd_conf *conf,
                      const struct inferd_model_conf *mc, struct served_model **out);
/* Starts the worker threads; completions are handed to server. */
int served_model_start(struct served_model *m, struct inferd_server *server);
/* Queues a job: 0, or INFERD_E_BUSY when the queue is full, or
 * INFERD_E_SHUTTING_DOWN when the model is stopping. */
int served_model_submit(struct served_model *m, struct inferd_job *job);
/* Stops accepting, lets the workers finish every queued job, joins them. */
void served_model_stop(struct served_model *m);
/* Releases the compiled model and everything else. Call after stop. */
void served_model_free(struct served_model *m);
/* True when two configs would load the same model (reload keeps it). */
bool served_model_conf_same(const struct inferd_model_conf *a, const struct inferd_model_conf *b);

/* Counts a finished job in the model's stats. */
void served_model_account(struct served_model *m, const struct inferd_job *job);

/* Small index for an error code in stats.errors[]. */
int stats_error_index(int code);
/* Error code for an index (inverse of stats_error_index); 0 past the end. */
int stats_error_at(int index);

#endif
