/* Served models: loading with backend fallback, the bounded queue, workers. */
#include "models.h"

#include "inferd_error.h"
#include "job.h"
#include "log.h"
#include "model.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABELS_MAX    100000
#define LABEL_LEN_MAX 1024

/* --- backends ----------------------------------------------------------- */

int backend_set_init(struct backend_set *b, const char *plugin_path)
{
    memset(b, 0, sizeof(*b));
    b->plugin_path = strdup(plugin_path);
    return b->plugin_path ? 0 : -ENOMEM;
}

void backend_set_close(struct backend_set *b)
{
    for (int i = 0; i < b->nslots; i++) {
        struct backend_slot *s = &b->slots[i];
        if (s->be) s->plugin.api->close(s->be);
        if (s->plugin.handle) inferd_backend_unload(&s->plugin);
        free(s->name);
    }
    free(b->plugin_path);
    memset(b, 0, sizeof(*b));
}

/* The opened backend called name, opening it on first use. */
static struct backend_slot *backend_get(struct backend_set *b, const struct inferd_conf *conf,
                                        const char *name)
{
    for (int i = 0; i < b->nslots; i++)
        if (strcmp(b->slots[i].name, name) == 0) return &b->slots[i];
    if (b->nslots == (int)(sizeof(b->slots) / sizeof(b->slots[0]))) return NULL;
    struct backend_slot *s = &b->slots[b->nslots];
    memset(s, 0, sizeof(*s));
    s->name = strdup(name);
    if (!s->name) return NULL;
    b->nslots++;
    s->tried = true;
    s->rc = inferd_backend_load_path(b->plugin_path, name, &s->plugin, s->error, sizeof(s->error));
    if (s->rc == 0) {
        s->rc = s->plugin.api->open(inferd_conf_backend_opts(conf, name), &s->be, s->error,
                                    sizeof(s->error));
        if (s->rc < 0) inferd_backend_unload(&s->plugin);
    }
    if (s->rc < 0)
        log_warn("backend %s unavailable: %s", name, s->error);
    else
        log_info("backend %s: %s", name, s->plugin.api->description);
    return s;
}

/* --- loading ------------------------------------------------------------ */

static int labels_read(struct served_model *m, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "labels %s: %s", path, strerror(errno));
        return -errno;
    }
    char line[LABEL_LEN_MAX + 2];
    int rc = 0, cap = 0;
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (m->nlabels == LABELS_MAX) {
            snprintf(err, errlen, "labels %s: more than %d lines", path, LABELS_MAX);
            rc = INFERD_E_BAD_CONFIG;
            break;
        }
        if (m->nlabels == cap) {
            cap = cap ? cap * 2 : 64;
            char **l = realloc(m->labels, sizeof(char *) * (size_t)cap);
            if (!l) {
                rc = -ENOMEM;
                break;
            }
            m->labels = l;
        }
        if (!(m->labels[m->nlabels] = strdup(line))) {
            rc = -ENOMEM;
            break;
        }
        m->nlabels++;
    }
    fclose(f);
    return rc;
}

static int io_spec_fill(struct inferd_io_spec *spec, const struct ir_graph *g, int v)
{
    const struct ir_value *val = &g->values[v];
    spec->name = strdup(val->name);
    if (!spec->name) return -ENOMEM;
    spec->dtype = val->dtype;
    spec->ndim = val->shape.ndim;
    memcpy(spec->dims, val->shape.dims, sizeof(spec->dims));
    spec->nbytes = (size_t)ir_shape_numel(&val->shape) * ir_dtype_size(val->dtype);
    if (val->producer >= 0 && strcmp(g->nodes[val->producer].op_type, "Softmax") == 0)
        spec->softmax_done = true;
    return 0;
}

/* The input images feed: a 4-D float input, [1, C, H, W] or [1, H, W, C]. */
static int image_spec_decide(struct served_model *m, char *err, size_t errlen)
{
    const struct inferd_image_conf *im = &m->conf.image;
    m->image_input = -1;
    int candidate = -1;
    for (int i = 0; i < m->ninputs; i++)
        if (m->inputs[i].dtype == IR_DT_F32 && m->inputs[i].ndim == 4 &&
            m->inputs[i].dims[0] == 1) {
            if (candidate >= 0) { /* several: images need an explicit config */
                candidate = -2;
                break;
            }
            candidate = i;
        }
    if (candidate < 0) {
        if (im->present) {
            snprintf(err, errlen, "image preprocessing configured but the model has %s",
                     candidate == -2 ? "several 4-D inputs" : "no [1,C,H,W] float input");
            return INFERD_E_BAD_CONFIG;
        }
        return 0;
    }
    const int64_t *d = m->inputs[candidate].dims;
    int c = (int)(im->layout == INFERD_NHWC ? d[3] : d[1]);
    int h = (int)(im->layout == INFERD_NHWC ? d[1] : d[2]);
    int w = (int)(im->layout == INFERD_NHWC ? d[2] : d[3]);
    if (c != 1 && c != 3) {
        if (im->present) {
            snprintf(err, errlen, "image input '%s' has %d channels (1 or 3 supported)",
                     m->inputs[candidate].name, c);
            return INFERD_E_BAD_CONFIG;
        }
        return 0;
    }
    if (im->present && im->width && (im->width != w || im->height != h)) {
        snprintf(err, errlen, "image.size [%d, %d] does not match the model input %dx%d", im->width,
                 im->height, w, h);
        return INFERD_E_BAD_CONFIG;
    }
    if ((im->nmean > 1 && im->nmean != c) || (im->nstd > 1 && im->nstd != c)) {
        snprintf(err, errlen, "image mean/std have %d/%d entries for %d channels", im->nmean,
                 im->nstd, c);
        return INFERD_E_BAD_CONFIG;
    }
    m->image_input = candidate;
    m->image_width = w;
    m->image_height = h;
    m->image_channels = c;
    return 0;
}

static int conf_copy(struct inferd_model_conf *dst, const struct inferd_model_conf *src)
{
    *dst = *src;
    dst->name = strdup(src->name);
    dst->path = strdup(src->path);
    dst->backend = strdup(src->backend);
    dst->labels = src->labels ? strdup(src->labels) : NULL;
    dst->fallback = calloc((size_t)src->nfallback + 1, sizeof(char *));
    if (!dst->name || !dst->path || !dst->backend || (src->labels && !dst->labels) ||
        !dst->fallback)
        return -ENOMEM;
    for (int i = 0; i < src->nfallback; i++)
        if (!(dst->fallback[i] = strdup(src->fallback[i]))) return -ENOMEM;
    return 0;
}

/* Loads the graph and compiles it on backend slot s. The graph is loaded
 * afresh for each backend tried: compile() may take buffers over. */
static int model_compile_on(struct served_model *m, struct backend_slot *s, char *err,
                            size_t errlen)
{
    struct ir_graph *g = NULL;
    struct ir_import_opts opts = { 0 };
    int rc = ir_model_load(m->conf.path, &opts, &g, err, errlen);
    if (rc < 0) return rc;
    if (!m->inputs) {
        m->ninputs = g->ninputs;
        m->noutputs = g->noutputs;
        m->inputs = calloc((size_t)g->ninputs + 1, sizeof(*m->inputs));
        m->outputs = calloc((size_t)g->noutputs + 1, sizeof(*m->outputs));
        if (!m->inputs || !m->outputs) rc = -ENOMEM;
        for (int i = 0; rc == 0 && i < g->ninputs; i++)
            rc = io_spec_fill(&m->inputs[i], g, g->inputs[i]);
        for (int i = 0; rc == 0 && i < g->noutputs; i++)
            rc = io_spec_fill(&m->outputs[i], g, g->outputs[i]);
        if (rc < 0) {
            ir_graph_free(g);
            return rc;
        }
    }
    rc = s->plugin.api->compile(s->be, g, m->conf.instances, NULL, &m->compiled, err, errlen);
    ir_graph_free(g);
    return rc;
}

int served_model_load(struct backend_set *b, const struct inferd_conf *conf,
                      const struct inferd_model_conf *mc, struct served_model **out)
{
    struct served_model *m = calloc(1, sizeof(*m));
    if (!m) return -ENOMEM;
    m->image_input = -1;
    int rc = conf_copy(&m->conf, mc);
    if (rc == 0 && pthread_mutex_init(&m->lock, NULL) != 0) rc = -ENOMEM;
    if (rc == 0 && pthread_cond_init(&m->cond, NULL) != 0) rc = -ENOMEM;
    if (rc == 0 && !(m->ring = calloc((size_t)mc->max_queue, sizeof(*m->ring)))) rc = -ENOMEM;
    if (rc < 0) {
        served_model_free(m);
        return rc;
    }
    m->ring_cap = mc->max_queue;

    char why[1024] = "";
    size_t off = 0;
    for (int i = -1; i < mc->nfallback && !m->compiled; i++) {
        const char *name = i < 0 ? mc->backend : mc->fallback[i];
        struct backend_slot *s = backend_get(b, conf, name);
        char err[768] = "";
        if (!s) {
            rc = -ENOMEM;
            snprintf(err, sizeof(err), "no room for another backend");
        } else if (s->rc < 0) {
            rc = s->rc;
            snprintf(err, sizeof(err), "%s", s->error);
        } else {
            rc = model_compile_on(m, s, err, sizeof(err));
            if (rc == 0) {
                m->backend = s;
                m->backend_name = s->name;
            }
        }
        if (rc < 0) {
            int n = snprintf(why + off, sizeof(why) - off, "%s%s: %s", off ? "; " : "", name, err);
            if (n > 0) off = off + (size_t)n < sizeof(why) ? off + (size_t)n : sizeof(why) - 1;
            if (rc == -ENOMEM) break;
        }
    }
    if (m->compiled) {
        char err[512] = "";
        rc = image_spec_decide(m, err, sizeof(err));
        if (rc == 0 && mc->labels) rc = labels_read(m, mc->labels, err, sizeof(err));
        if (rc < 0) {
            m->backend->plugin.api->release(m->compiled);
            m->compiled = NULL;
            snprintf(why, sizeof(why), "%s", err);
        } else if (why[0]) {
            /* a long reason is cut short on purpose: say so to the compiler */
            int n = snprintf(m->reason, sizeof(m->reason), "running on fallback %s (%s)",
                             m->backend_name, why);
            (void)n;
        }
    }
    if (!m->compiled) {
        m->state = SERVED_MODEL_FAILED;
        int n =
            snprintf(m->reason, sizeof(m->reason), "%s", why[0] ? why : "no backend could load it");
        (void)n; /* cut short on purpose */
        m->backend_name = NULL;
        m->backend = NULL;
        if (rc == -ENOMEM) {
            served_model_free(m);
            return -ENOMEM;
        }
    }
    *out = m;
    return 0;
}

/* --- queue and workers -------------------------------------------------- */

struct worker_arg {
    struct served_model *m;
    int instance;
};

static void *worker_main(void *p)
{
    struct worker_arg arg = *(struct worker_arg *)p;
    free(p);
    struct served_model *m = arg.m;
    struct worker_ctx *w = worker_ctx_new(m, arg.instance);
    for (;;) {
        pthread_mutex_lock(&m->lock);
        while (m->ring_len == 0 && !m->stopping) pthread_cond_wait(&m->cond, &m->lock);
        if (m->ring_len == 0) { /* stopping and drained */
            pthread_mutex_unlock(&m->lock);
            break;
        }
        struct inferd_job *job = m->ring[m->ring_head];
        m->ring_head = (m->ring_head + 1) % m->ring_cap;
        m->ring_len--;
        pthread_mutex_unlock(&m->lock);
        if (w) {
            job_process(w, job);
        } else {
            job->status = -ENOMEM;
            snprintf(job->message, sizeof(job->message), "worker has no memory");
        }
        server_job_done(m->server, job);
    }
    worker_ctx_free(w);
    return NULL;
}

int served_model_start(struct served_model *m, struct inferd_server *server)
{
    m->server = server;
    if (m->state != SERVED_MODEL_READY) return 0;
    m->threads = calloc((size_t)m->conf.instances, sizeof(pthread_t));
    if (!m->threads) return -ENOMEM;
    for (int i = 0; i < m->conf.instances; i++) {
        struct worker_arg *arg = malloc(sizeof(*arg));
        if (!arg) return -ENOMEM;
        arg->m = m;
        arg->instance = i;
        int rc = pthread_create(&m->threads[i], NULL, worker_main, arg);
        if (rc != 0) {
            free(arg);
            return -rc;
        }
        m->nthreads++;
    }
    return 0;
}

int served_model_submit(struct served_model *m, struct inferd_job *job)
{
    pthread_mutex_lock(&m->lock);
    int rc = 0;
    if (m->stopping)
        rc = INFERD_E_SHUTTING_DOWN;
    else if (m->ring_len == m->ring_cap)
        rc = INFERD_E_BUSY;
    if (rc == 0) {
        m->ring[(m->ring_head + m->ring_len) % m->ring_cap] = job;
        m->ring_len++;
        __atomic_fetch_add(&m->stats.in_flight, 1, __ATOMIC_RELAXED);
        pthread_cond_signal(&m->cond);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void served_model_stop(struct served_model *m)
{
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < m->nthreads; i++) pthread_join(m->threads[i], NULL);
    m->nthreads = 0;
}

void served_model_free(struct served_model *m)
{
    if (!m) return;
    if (m->compiled && m->backend) m->backend->plugin.api->release(m->compiled);
    for (int i = 0; m->inputs && i < m->ninputs; i++) free(m->inputs[i].name);
    for (int i = 0; m->outputs && i < m->noutputs; i++) free(m->outputs[i].name);
    free(m->inputs);
    free(m->outputs);
    for (int i = 0; i < m->nlabels; i++) free(m->labels[i]);
    free(m->labels);
    free(m->ring);
    free(m->threads);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    struct inferd_model_conf *c = &m->conf;
    free(c->name);
    free(c->path);
    free(c->backend);
    for (int i = 0; c->fallback && i < c->nfallback; i++) free(c->fallback[i]);
    free(c->fallback);
    free(c->labels);
    free(m);
}

static bool str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool served_model_conf_same(const struct inferd_model_conf *a, const struct inferd_model_conf *b)
{
    if (!str_same(a->name, b->name) || !str_same(a->path, b->path) ||
        !str_same(a->backend, b->backend) || !str_same(a->labels, b->labels) ||
        a->nfallback != b->nfallback || a->instances != b->instances ||
        a->max_queue != b->max_queue || a->timeout_ms != b->timeout_ms || a->topk != b->topk ||
        memcmp(&a->image, &b->image, sizeof(a->image)) != 0)
        return false;
    for (int i = 0; i < a->nfallback; i++)
        if (!str_same(a->fallback[i], b->fallback[i])) return false;
    return true;
}

/* --- stats -------------------------------------------------------------- */

static const int error_codes[] = {
    INFERD_E_BAD_FRAME,       INFERD_E_TOO_LARGE,      INFERD_E_UNSUPPORTED_VERSION,
    INFERD_E_MODEL_NOT_FOUND, INFERD_E_BAD_INPUT,      INFERD_E_BUSY,
    INFERD_E_TIMEOUT,         INFERD_E_BACKEND_FAILED, INFERD_E_SHUTTING_DOWN,
    INFERD_E_INTERNAL,
};

int stats_error_index(int code)
{
    for (size_t i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
        if (error_codes[i] == code) return (int)i;
    return (int)(sizeof(error_codes) / sizeof(error_codes[0])) - 1; /* internal */
}

int stats_error_at(int index)
{
    if (index < 0 || index >= (int)(sizeof(error_codes) / sizeof(error_codes[0]))) return 0;
    return error_codes[index];
}

void served_model_account(struct served_model *m, const struct inferd_job *job)
{
    struct served_model_stats *st = &m->stats;
    __atomic_fetch_add(&st->requests, 1, __ATOMIC_RELAXED);
    if (job->status == 0)
        __atomic_fetch_add(&st->ok, 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_add(&st->errors[stats_error_index(job->status)], 1, __ATOMIC_RELAXED);
    if (job->t_start) {
        inferd_hist_add(&st->queue_us, job->t_start - job->t_arrive);
        if (job->status == 0) inferd_hist_add(&st->compute_us, job->t_done - job->t_start);
    }
    if (job->t_done) inferd_hist_add(&st->total_us, job->t_done - job->t_arrive);
}
