/* The daemon's event loop: listeners (Unix stream socket, nanomsg raw REP
 * sockets), connections, framing, routing to models, completions from the
 * workers, health/stats text commands, signals, reload and shutdown. */
#ifndef INFERD_SERVER_H
#define INFERD_SERVER_H

#include "config.h"
#include "models.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct inferd_job;
struct conn;
struct nn_endpoint;

struct inferd_server {
    uv_loop_t *loop;
    struct inferd_conf *conf;
    char *conf_path;
    struct backend_set backends;

    struct served_model **models;
    int nmodels;
    struct served_model **retired; /* dropped by a reload, draining */
    int nretired;

    uv_pipe_t unix_listener;
    bool unix_listening;
    struct nn_endpoint *nn;
    int nnn;

    struct conn *conns; /* doubly linked list of open connections */
    int nconns;

    /* completions from workers */
    uv_async_t done_async;
    pthread_mutex_t done_lock;
    struct inferd_job *done_head, *done_tail;

    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t drain_timer;
    bool shutting_down;
    bool drained; /* shutdown: every job answered, handles closing */
    bool starting;
    bool loading;        /* a model load runs in the background */
    bool reload_pending; /* SIGHUP arrived during a load */
    int exit_code;

    /* global stats */
    uint64_t started_us;
    uint64_t conns_total;
    uint64_t bytes_in, bytes_out;
    uint64_t frames_bad;
};

/* Loads the config's models and opens the listeners. */
int server_init(struct inferd_server *s, uv_loop_t *loop, struct inferd_conf *conf,
                const char *conf_path, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT has drained everything; returns the exit code. */
int server_run(struct inferd_server *s);
/* Frees what init took (after run returned). */
void server_free(struct inferd_server *s);

/* Called by workers (any thread): hands a finished job to the loop thread. */
void server_job_done(struct inferd_server *s, struct inferd_job *job);

/* During shutdown: finishes it once nothing is owed to anyone. */
void server_shutdown_progress(struct inferd_server *s);

/* The served model called name, or NULL. */
struct served_model *server_model_find(struct inferd_server *s, const char *name, size_t len);

#endif
