/* Daemon lifecycle on the libuv loop: model loading off the loop thread,
 * completions from workers, SIGHUP reload, SIGTERM/SIGINT drain and exit,
 * sd_notify. */
#include "inferd_config.h"

#include "inferd_error.h"
#include "job.h"
#include "log.h"
#include "server_int.h"
#include "status.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if INFERD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static void notify(const char *state)
{
#if INFERD_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void notify_status(struct inferd_server *s)
{
    char buf[256];
    int ready = 0;
    for (int i = 0; i < s->nmodels; i++) ready += s->models[i]->state == SERVED_MODEL_READY;
    snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s: %d of %d models ready", status_health_word(s),
             ready, s->nmodels);
    notify(buf);
}

struct served_model *server_model_find(struct inferd_server *s, const char *name, size_t len)
{
    for (int i = 0; i < s->nmodels; i++)
        if (strlen(s->models[i]->conf.name) == len &&
            memcmp(s->models[i]->conf.name, name, len) == 0)
            return s->models[i];
    return NULL;
}

/* --- completions -------------------------------------------------------- */

void server_job_done(struct inferd_server *s, struct inferd_job *job)
{
    pthread_mutex_lock(&s->done_lock);
    job->next = NULL;
    if (s->done_tail)
        s->done_tail->next = job;
    else
        s->done_head = job;
    s->done_tail = job;
    pthread_mutex_unlock(&s->done_lock);
    uv_async_send(&s->done_async);
}

static void retired_collect(struct inferd_server *s);

static void done_cb(uv_async_t *a)
{
    struct inferd_server *s = a->data;
    pthread_mutex_lock(&s->done_lock);
    struct inferd_job *job = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->done_lock);
    while (job) {
        struct inferd_job *next = job->next;
        dispatch_job_deliver(s, job);
        job = next;
    }
    retired_collect(s);
    if (s->shutting_down) server_shutdown_progress(s);
}

/* --- loading and reloading ------------------------------------------------ */

struct load_work {
    uv_work_t req;
    struct inferd_server *s;
    struct inferd_conf *conf; /* the config being loaded (taken over) */
    struct served_model **models;
    bool reload;
};

static void load_work_cb(uv_work_t *req)
{
    struct load_work *w = req->data;
    for (int i = 0; i < w->conf->nmodels; i++) {
        if (w->models[i]) continue; /* kept from the running config */
        const struct inferd_model_conf *mc = &w->conf->models[i];
        int rc = served_model_load(&w->s->backends, w->conf, mc, &w->models[i]);
        if (rc < 0) log_error("model %s: %s", mc->name, inferd_strerror(rc));
    }
}

struct retire_work {
    uv_work_t req;
    struct served_model *m;
};

static void retire_work_cb(uv_work_t *req)
{
    struct retire_work *w = req->data;
    served_model_stop(w->m); /* drains its queue: joins the workers */
}

static void retire_after_cb(uv_work_t *req, int status)
{
    struct retire_work *w = req->data;
    struct inferd_server *s = w->req.loop->data;
    (void)status;
    w->m->joined = true;
    free(w);
    retired_collect(s);
    if (s->shutting_down) server_shutdown_progress(s);
}

/* Frees retired models whose workers are joined and whose jobs are delivered. */
static void retired_collect(struct inferd_server *s)
{
    for (int i = 0; i < s->nretired;) {
        struct served_model *m = s->retired[i];
        if (m->joined && __atomic_load_n(&m->stats.in_flight, __ATOMIC_RELAXED) == 0) {
            log_info("model %s: unloaded", m->conf.name);
            served_model_free(m);
            s->retired[i] = s->retired[--s->nretired];
        } else {
            i++;
        }
    }
}

static void model_retire(struct inferd_server *s, struct served_model *m)
{
    struct served_model **r = realloc(s->retired, sizeof(*r) * (size_t)(s->nretired + 1));
    if (!r) {
        log_error("model %s: no memory to unload it; it stays loaded", m->conf.name);
        return;
    }
    s->retired = r;
    struct retire_work *w = calloc(1, sizeof(*w));
    if (!w) {
        /* No memory to stop it in the background: stop it here. */
        served_model_stop(m);
        m->joined = true;
        s->retired[s->nretired++] = m;
        return;
    }
    s->retired[s->nretired++] = m;
    w->m = m;
    w->req.data = w;
    uv_queue_work(s->loop, &w->req, retire_work_cb, retire_after_cb);
}

static void model_log(const struct served_model *m)
{
    if (m->state != SERVED_MODEL_READY) {
        log_error("model %s: failed to load: %s", m->conf.name, m->reason);
        return;
    }
    log_info("model %s: ready on %s, %d instance%s%s%s", m->conf.name, m->backend_name,
             m->conf.instances, m->conf.instances == 1 ? "" : "s", m->reason[0] ? "; " : "",
             m->reason);
}

static int reload_start(struct inferd_server *s);

static void load_after_cb(uv_work_t *req, int status)
{
    struct load_work *w = req->data;
    struct inferd_server *s = w->s;
    (void)status;
    s->loading = false;
    if (s->shutting_down) {
        /* Stopped while loading: drop what was loaded for nothing. */
        for (int i = 0; i < w->conf->nmodels; i++) {
            bool kept = false;
            for (int k = 0; k < s->nmodels; k++) kept |= s->models[k] == w->models[i];
            if (!kept) served_model_free(w->models[i]);
        }
        if (w->reload) inferd_conf_free(w->conf);
        free(w->models);
        free(w);
        server_shutdown_progress(s);
        return;
    }
    for (int i = 0; i < w->conf->nmodels; i++) {
        struct served_model *m = w->models[i];
        if (!m || m->server) continue; /* NULL: out of memory (logged); kept ones run already */
        int rc = served_model_start(m, s);
        if (rc < 0) {
            m->state = SERVED_MODEL_FAILED;
            snprintf(m->reason, sizeof(m->reason), "cannot start workers: %s", inferd_strerror(rc));
        }
        model_log(m);
    }
    /* Compact out models that failed to allocate at all. */
    int n = 0;
    for (int i = 0; i < w->conf->nmodels; i++)
        if (w->models[i]) w->models[n++] = w->models[i];
    struct served_model **old = s->models;
    int nold = s->nmodels;
    s->models = w->models;
    s->nmodels = n;
    for (int i = 0; i < nold; i++) {
        bool kept = false;
        for (int k = 0; k < n; k++) kept |= s->models[k] == old[i];
        if (!kept) model_retire(s, old[i]);
    }
    free(old);
    if (w->reload) {
        inferd_conf_free(s->conf);
        s->conf = w->conf;
        inferd_log_level_set(s->conf->log_level);
        log_info("configuration reloaded from %s", s->conf_path);
    }
    s->starting = false;
    notify_status(s);
    free(w);
    if (s->reload_pending) {
        s->reload_pending = false;
        reload_start(s);
    }
}

/* Loads conf's models in the background; models[i] already set are kept. */
static int load_start(struct inferd_server *s, struct inferd_conf *conf,
                      struct served_model **models, bool reload)
{
    struct load_work *w = calloc(1, sizeof(*w));
    if (!w) return -ENOMEM;
    w->s = s;
    w->conf = conf;
    w->models = models;
    w->reload = reload;
    w->req.data = w;
    int rc = uv_queue_work(s->loop, &w->req, load_work_cb, load_after_cb);
    if (rc < 0) {
        free(w);
        return rc;
    }
    s->loading = true;
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int reload_start(struct inferd_server *s)
{
    if (s->loading) {
        s->reload_pending = true;
        return 0;
    }
    char err[1024];
    struct inferd_conf *conf = NULL;
    notify("RELOADING=1");
    int rc = inferd_conf_load(s->conf_path, &conf, err, sizeof(err));
    if (rc < 0) {
        log_error("reload refused, keeping the running configuration: %s", err);
        notify_status(s);
        return rc;
    }
    bool listen_same = str_eq(conf->unix_path, s->conf->unix_path) &&
                       conf->unix_mode == s->conf->unix_mode && conf->nnanomsg == s->conf->nnanomsg;
    for (int i = 0; listen_same && i < conf->nnanomsg; i++)
        listen_same = strcmp(conf->nanomsg[i], s->conf->nanomsg[i]) == 0;
    if (!listen_same) log_warn("reload: listener changes take effect after a restart");
    if (!str_eq(conf->plugin_dir, s->conf->plugin_dir) ||
        conf->max_frame_bytes != s->conf->max_frame_bytes)
        log_warn("reload: plugin_dir and max_frame_bytes changes take effect after a restart");
    /* Keep the listener settings the sockets were opened with. */
    conf->max_frame_bytes = s->conf->max_frame_bytes;
    struct served_model **models = calloc((size_t)conf->nmodels + 1, sizeof(*models));
    if (!models) {
        inferd_conf_free(conf);
        return -ENOMEM;
    }
    for (int i = 0; i < conf->nmodels; i++)
        for (int k = 0; k < s->nmodels; k++) {
            struct served_model *m = s->models[k];
            bool taken = false;
            for (int j = 0; j < i; j++) taken |= models[j] == m;
            if (!taken && m->state == SERVED_MODEL_READY &&
                served_model_conf_same(&m->conf, &conf->models[i])) {
                models[i] = m;
                break;
            }
        }
    rc = load_start(s, conf, models, true);
    if (rc < 0) {
        free(models);
        inferd_conf_free(conf);
        log_error("reload failed: %s", inferd_strerror(rc));
        notify_status(s);
    }
    return rc;
}

/* --- shutdown ----------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Called whenever something finishes during shutdown (a job, a load, a
 * connection): once every job is answered, no load runs and every connection
 * has closed, the loop's own handles close, which ends uv_run. */
void server_shutdown_progress(struct inferd_server *s)
{
    if (s->loading) return;
    for (int i = 0; i < s->nmodels; i++)
        if (__atomic_load_n(&s->models[i]->stats.in_flight, __ATOMIC_RELAXED) > 0) return;
    for (int i = 0; i < s->nretired; i++)
        if (__atomic_load_n(&s->retired[i]->stats.in_flight, __ATOMIC_RELAXED) > 0) return;
    if (s->nconns > 0) return; /* each closes once quiet with nothing owed */
    if (s->drained) return;
    s->drained = true;
    nn_endpoints_close(s);
    uv_close((uv_handle_t *)&s->sig_term, handle_closed);
    uv_close((uv_handle_t *)&s->sig_int, handle_closed);
    uv_close((uv_handle_t *)&s->sig_hup, handle_closed);
    /* Closing the last handle restores the default action; a repeated
     * signal between here and exit must not kill the process with it. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    /* Workers are idle now (nothing in flight); join them before the async
     * handle they post to goes away. */
    for (int i = 0; i < s->nmodels; i++) served_model_stop(s->models[i]);
    uv_close((uv_handle_t *)&s->done_async, handle_closed);
}

static void shutdown_start(struct inferd_server *s, const char *why)
{
    if (s->shutting_down) {
        log_info("%s: already stopping", why);
        return;
    }
    s->shutting_down = true;
    notify("STOPPING=1");
    int64_t in_flight = 0;
    for (int i = 0; i < s->nmodels; i++)
        in_flight += __atomic_load_n(&s->models[i]->stats.in_flight, __ATOMIC_RELAXED);
    log_info("%s: stopping; %lld request%s in flight", why, (long long)in_flight,
             in_flight == 1 ? "" : "s");
    unix_close(s);
    nn_endpoints_stop_receiving(s);
    conns_drain(s);
    server_shutdown_progress(s);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct inferd_server *s = h->data;
    if (signum == SIGHUP) {
        if (!s->shutting_down) reload_start(s);
        return;
    }
    shutdown_start(s, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* --- init / run / free -------------------------------------------------- */

int server_init(struct inferd_server *s, uv_loop_t *loop, struct inferd_conf *conf,
                const char *conf_path, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    loop->data = s;
    s->conf = conf;
    s->started_us = inferd_now_us();
    s->starting = true;
    s->conf_path = strdup(conf_path ? conf_path : "");
    if (!s->conf_path) return -ENOMEM;

    char path[8192];
    const char *env = getenv("INFERD_PLUGIN_PATH");
    if (conf->plugin_dir)
        snprintf(path, sizeof(path), "%s", conf->plugin_dir);
    else if (env && *env)
        snprintf(path, sizeof(path), "%s", env);
    else
        snprintf(path, sizeof(path), "%s:%s", INFERD_PLUGINDIR, INFERD_BUILD_PLUGIN_PATH);
    int rc = backend_set_init(&s->backends, path);
    if (rc < 0) return rc;

    pthread_mutex_init(&s->done_lock, NULL);
    uv_async_init(loop, &s->done_async, done_cb);
    s->done_async.data = s;
    uv_signal_init(loop, &s->sig_term);
    uv_signal_init(loop, &s->sig_int);
    uv_signal_init(loop, &s->sig_hup);
    s->sig_term.data = s->sig_int.data = s->sig_hup.data = s;
    uv_signal_start(&s->sig_term, signal_cb, SIGTERM);
    uv_signal_start(&s->sig_int, signal_cb, SIGINT);
    uv_signal_start(&s->sig_hup, signal_cb, SIGHUP);
    signal(SIGPIPE, SIG_IGN);

    if ((rc = unix_listen(s, err, errlen)) < 0) return rc;
    if ((rc = nn_endpoints_open(s, err, errlen)) < 0) return rc;

    struct served_model **models = calloc((size_t)conf->nmodels + 1, sizeof(*models));
    if (!models) return -ENOMEM;
    rc = load_start(s, conf, models, false);
    if (rc < 0) free(models);
    notify("STATUS=loading models");
    return rc;
}

int server_run(struct inferd_server *s)
{
    uv_run(s->loop, UV_RUN_DEFAULT);
    return s->exit_code;
}

void server_free(struct inferd_server *s)
{
    for (int i = 0; i < s->nmodels; i++) {
        served_model_stop(s->models[i]);
        served_model_free(s->models[i]);
    }
    free(s->models);
    for (int i = 0; i < s->nretired; i++) {
        served_model_stop(s->retired[i]);
        served_model_free(s->retired[i]);
    }
    free(s->retired);
    backend_set_close(&s->backends);
    nn_endpoints_free(s);
    pthread_mutex_destroy(&s->done_lock);
    inferd_conf_free(s->conf);
    free(s->conf_path);
}
