/* Answers to the text commands: health, stats, models, version (one line of
 * JSON each) and metrics (Prometheus text). */
#include "status.h"

#include "inferd_backend.h"
#include "inferd_config.h"
#include "inferd_error.h"
#include "inferd_proto.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *json_line(cJSON *root)
{
    char *s = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!s) return NULL;
    size_t len = strlen(s);
    char *line = realloc(s, len + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[len] = '\n';
    line[len + 1] = 0;
    return line;
}

static double uptime_s(const struct inferd_server *s)
{
    return (double)(inferd_now_us() - s->started_us) / 1e6;
}

const char *status_health_word(const struct inferd_server *s)
{
    if (s->shutting_down) return "stopping";
    if (s->starting) return "starting";
    for (int i = 0; i < s->nmodels; i++)
        if (s->models[i]->state != SERVED_MODEL_READY || s->models[i]->reason[0]) return "degraded";
    return "ok";
}

char *status_health(const struct inferd_server *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", status_health_word(s));
    cJSON *reasons = cJSON_AddArrayToObject(root, "reasons");
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    for (int i = 0; i < s->nmodels; i++) {
        const struct served_model *m = s->models[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->conf.name);
        cJSON_AddStringToObject(o, "state", m->state == SERVED_MODEL_READY ? "ready" : "failed");
        if (m->backend_name)
            cJSON_AddStringToObject(o, "backend", m->backend_name);
        else
            cJSON_AddNullToObject(o, "backend");
        cJSON_AddStringToObject(o, "configured_backend", m->conf.backend);
        if (m->reason[0]) {
            cJSON_AddStringToObject(o, "reason", m->reason);
            char line[700];
            snprintf(line, sizeof(line), "model %s: %s", m->conf.name, m->reason);
            cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
        }
        cJSON_AddItemToArray(models, o);
    }
    if (s->starting) cJSON_AddItemToArray(reasons, cJSON_CreateString("loading models"));
    cJSON_AddNumberToObject(root, "uptime_s", uptime_s(s));
    return json_line(root);
}

static cJSON *percentiles(const struct inferd_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "p50", (double)inferd_hist_quantile(h, 0.50));
    cJSON_AddNumberToObject(o, "p90", (double)inferd_hist_quantile(h, 0.90));
    cJSON_AddNumberToObject(o, "p99", (double)inferd_hist_quantile(h, 0.99));
    uint64_t n = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
    cJSON_AddNumberToObject(
        o, "mean", n ? (double)__atomic_load_n(&h->sum_us, __ATOMIC_RELAXED) / (double)n : 0.0);
    return o;
}

char *status_stats(const struct inferd_server *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "uptime_s", uptime_s(s));
    cJSON *c = cJSON_AddObjectToObject(root, "connections");
    cJSON_AddNumberToObject(c, "current", s->nconns);
    cJSON_AddNumberToObject(c, "total", (double)s->conns_total);
    cJSON_AddNumberToObject(root, "bytes_in", (double)s->bytes_in);
    cJSON_AddNumberToObject(root, "bytes_out", (double)s->bytes_out);
    cJSON_AddNumberToObject(root, "bad_frames", (double)s->frames_bad);
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    for (int i = 0; i < s->nmodels; i++) {
        struct served_model *m = s->models[i];
        const struct served_model_stats *st = &m->stats;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->conf.name);
        cJSON_AddNumberToObject(o, "requests",
                                (double)__atomic_load_n(&st->requests, __ATOMIC_RELAXED));
        cJSON_AddNumberToObject(o, "ok", (double)__atomic_load_n(&st->ok, __ATOMIC_RELAXED));
        cJSON *errs = cJSON_AddObjectToObject(o, "errors");
        for (int e = 0; stats_error_at(e); e++) {
            uint64_t n = __atomic_load_n(&st->errors[e], __ATOMIC_RELAXED);
            if (n) cJSON_AddNumberToObject(errs, inferd_error_name(stats_error_at(e)), (double)n);
        }
        cJSON_AddNumberToObject(o, "in_flight",
                                (double)__atomic_load_n(&st->in_flight, __ATOMIC_RELAXED));
        pthread_mutex_lock(&m->lock);
        int depth = m->ring_len;
        pthread_mutex_unlock(&m->lock);
        cJSON_AddNumberToObject(o, "queue_depth", depth);
        cJSON_AddNumberToObject(o, "queue_capacity", m->ring_cap);
        cJSON *lat = cJSON_AddObjectToObject(o, "latency_us");
        cJSON_AddItemToObject(lat, "queue", percentiles(&st->queue_us));
        cJSON_AddItemToObject(lat, "compute", percentiles(&st->compute_us));
        cJSON_AddItemToObject(lat, "total", percentiles(&st->total_us));
        cJSON_AddItemToArray(models, o);
    }
    return json_line(root);
}

static cJSON *io_list(const struct inferd_io_spec *io, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", io[i].name);
        const char *dt = inferd_dtype_name(io[i].dtype);
        cJSON_AddStringToObject(o, "datatype", dt ? dt : "UNKNOWN");
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < io[i].ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)io[i].dims[d]));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

char *status_models(const struct inferd_server *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    for (int i = 0; i < s->nmodels; i++) {
        const struct served_model *m = s->models[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->conf.name);
        cJSON_AddStringToObject(o, "state", m->state == SERVED_MODEL_READY ? "ready" : "failed");
        if (m->backend_name)
            cJSON_AddStringToObject(o, "backend", m->backend_name);
        else
            cJSON_AddNullToObject(o, "backend");
        cJSON_AddItemToObject(o, "inputs", io_list(m->inputs, m->inputs ? m->ninputs : 0));
        cJSON_AddItemToObject(o, "outputs", io_list(m->outputs, m->outputs ? m->noutputs : 0));
        if (m->image_input >= 0) {
            cJSON *im = cJSON_AddObjectToObject(o, "image");
            cJSON_AddStringToObject(im, "input", m->inputs[m->image_input].name);
            cJSON_AddNumberToObject(im, "width", m->image_width);
            cJSON_AddNumberToObject(im, "height", m->image_height);
            cJSON_AddNumberToObject(im, "channels", m->image_channels);
        } else {
            cJSON_AddNullToObject(o, "image");
        }
        cJSON_AddNumberToObject(o, "labels", m->nlabels);
        cJSON_AddNumberToObject(o, "topk", m->conf.topk);
        cJSON_AddNumberToObject(o, "instances", m->conf.instances);
        cJSON_AddNumberToObject(o, "max_queue", m->conf.max_queue);
        cJSON_AddItemToArray(models, o);
    }
    return json_line(root);
}

char *status_version(const struct inferd_server *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", INFERD_VERSION);
    cJSON_AddNumberToObject(root, "protocol", INFERD_PROTO_VERSION);
    cJSON_AddNumberToObject(root, "backend_abi", INFERD_BACKEND_ABI);
    cJSON_AddBoolToObject(root, "systemd_notify", INFERD_HAVE_SYSTEMD);
    cJSON *b = cJSON_AddArrayToObject(root, "backends");
    for (int i = 0; i < s->backends.nslots; i++)
        if (s->backends.slots[i].be)
            cJSON_AddItemToArray(b, cJSON_CreateString(s->backends.slots[i].name));
    return json_line(root);
}

/* Prometheus text exposition; ends with "# EOF"-free plain text. */
char *status_metrics(const struct inferd_server *s)
{
    size_t cap = 4096 + (size_t)s->nmodels * 2048, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int n_ = snprintf(buf + len, cap - len, __VA_ARGS__);                                      \
        if (n_ > 0) len = len + (size_t)n_ < cap ? len + (size_t)n_ : cap - 1;                     \
    } while (0)
    EMIT("# TYPE inferd_up gauge\ninferd_up{status=\"%s\"} 1\n", status_health_word(s));
    EMIT("# TYPE inferd_uptime_seconds gauge\ninferd_uptime_seconds %.3f\n", uptime_s(s));
    EMIT("# TYPE inferd_connections gauge\ninferd_connections %d\n", s->nconns);
    EMIT("# TYPE inferd_bytes_in_total counter\ninferd_bytes_in_total %llu\n",
         (unsigned long long)s->bytes_in);
    EMIT("# TYPE inferd_bytes_out_total counter\ninferd_bytes_out_total %llu\n",
         (unsigned long long)s->bytes_out);
    EMIT("# TYPE inferd_requests_total counter\n");
    for (int i = 0; i < s->nmodels; i++) {
        const struct served_model *m = s->models[i];
        EMIT("inferd_requests_total{model=\"%s\",result=\"ok\"} %llu\n", m->conf.name,
             (unsigned long long)__atomic_load_n(&m->stats.ok, __ATOMIC_RELAXED));
        for (int e = 0; stats_error_at(e); e++)
            EMIT("inferd_requests_total{model=\"%s\",result=\"%s\"} %llu\n", m->conf.name,
                 inferd_error_name(stats_error_at(e)),
                 (unsigned long long)__atomic_load_n(&m->stats.errors[e], __ATOMIC_RELAXED));
    }
    EMIT("# TYPE inferd_latency_microseconds summary\n");
    for (int i = 0; i < s->nmodels; i++) {
        const struct served_model *m = s->models[i];
        static const double qs[] = { 0.5, 0.9, 0.99 };
        for (int q = 0; q < 3; q++)
            EMIT("inferd_latency_microseconds{model=\"%s\",quantile=\"%g\"} %llu\n", m->conf.name,
                 qs[q], (unsigned long long)inferd_hist_quantile(&m->stats.total_us, qs[q]));
    }
    EMIT("# EOF\n");
#undef EMIT
    return buf;
}
